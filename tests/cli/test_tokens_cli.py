"""`voisins token create/list/revoke`: the token printed once, stored hashed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app
from core.config import get_settings
from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo
from core.tokens import ApiToken, token_for_secret


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


def test_create_prints_the_token_once_and_revoke_stops_it(cli_db: str) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["token", "create", "--name", "Cité Jardin", "--community",
                               "demo", "--role", "facilitator"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("vt_") and len(secret) > 40
    engine = make_engine(cli_db)
    with session_scope(engine) as session:
        row = token_for_secret(session, secret)
        assert row is not None and row.role == "facilitator"
        assert secret not in str(session.exec(select(ApiToken)).all())
        token_id = row.id
    listed = runner.invoke(app, ["token", "list"])
    assert "Cité Jardin\tfacilitator\tdemo" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["token", "revoke", str(token_id)]).exit_code == 0
    with session_scope(engine) as session:
        assert token_for_secret(session, secret) is None


@pytest.mark.parametrize(("arguments", "reason"), [
    (["--name", "x", "--role", "viewer"], "needs a community"),
    (["--name", "x", "--role", "admin", "--community", "nowhere"], "no community 'nowhere'"),
])
def test_bad_tokens_are_refused_with_a_reason(cli_db: str, arguments: list[str],
                                              reason: str) -> None:
    result = CliRunner().invoke(app, ["token", "create", *arguments])
    assert result.exit_code == 2
    assert reason in result.output
