"""`voisins alert plan/show/cancel` with clear errors for bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.config import get_settings
from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("VOISINS_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        seed_demo(session)
    yield url
    get_settings.cache_clear()


def test_plan_show_cancel(cli_db: str) -> None:
    runner = CliRunner()
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    result = runner.invoke(app, ["alert", "plan", "--community", "demo", "--starts-at", start,
                                 "--duration", "120", "--kind", "planned"])
    assert result.exit_code == 0, result.output
    planned = json.loads(result.output)
    assert [s["stage"] for s in planned["timeline"]][:3] == ["notice_24h", "notice_30min",
                                                             "start"]
    shown = runner.invoke(app, ["alert", "show", str(planned["id"])])
    assert json.loads(shown.output)["id"] == planned["id"]
    cancelled = runner.invoke(app, ["alert", "cancel", str(planned["id"])])
    assert json.loads(cancelled.output)["status"] == "cancelled"


@pytest.mark.parametrize(("arguments", "reason"), [
    (["--starts-at", "tomorrow", "--duration", "60"], "not an ISO-8601"),
    (["--starts-at", "2020-01-01T10:00:00+01:00", "--duration", "60"], "in the past"),
    (["--starts-at", "2030-01-01T10:00:00+01:00", "--duration", "0"], "between 1 and 1440"),
])
def test_bad_plans_explain_themselves(cli_db: str, arguments: list[str], reason: str) -> None:
    result = CliRunner().invoke(app, ["alert", "plan", "--community", "demo", *arguments])
    assert result.exit_code == 2
    assert reason in result.output
