"""`voisins broadcast create/send/show/cancel`, with its progress bar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.cli import app
from api.cli.progress import bar, progress_lines
from bot.rendering.broadcasts import broadcast_message
from core.config import get_settings
from core.contacts import enrol_contact
from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo
from core.identities import touch_identity
from core.models import OutboxMessage
from core.outbox import mark_many_sent
from scheduler.broadcasts import run_due_broadcasts
from tests.fakes.community import CONSENT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("VOISINS_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        community = seed_demo(session)
        assert community.id is not None
        for index, channel in enumerate(["sms", "sms", "telegram", "whatsapp"]):
            address = f"+3247000010{index}" if channel != "telegram" else "5550001"
            identity = touch_identity(session, channel, address, NOW)
            enrol_contact(session, identity, community.id, "nl", CONSENT, NOW)
    engine.dispose()
    yield url
    get_settings.cache_clear()


def test_bars() -> None:
    assert bar(0, 10, 10) == "[..........]"
    assert bar(5, 10, 10) == "[#####.....]"
    assert bar(0, 0, 4) == "[####]"
    lines = progress_lines("sending", {
        "total": 312, "waiting": 129, "sent": 180, "failed": 3, "held_back": 0,
        "by_channel": {"telegram": {"total": 240, "waiting": 0},
                       "sms": {"total": 72, "waiting": 129 - 0 - 69}}})
    assert lines[0].startswith("sending   [") and "59%" in lines[0]
    assert "sent 180 of 312, 3 failed, 129 waiting" in lines[0]
    assert lines[1].endswith("240/240") and lines[2].endswith(" 12/72")


def test_create_send_show_cancel(cli_db: str) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["broadcast", "create", "--community", "demo",
                               "--text", "nl=Repair café zaterdag", "--text",
                               "fr=Repair café samedi"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["status"] == "draft" and created["source_locale"] == "nl"
    sent = runner.invoke(app, ["broadcast", "send", str(created["id"])])
    assert sent.exit_code == 0 and "scheduled" in sent.output
    engine = make_engine(cli_db)
    run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW)
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.contact_id).is_not(None)).order_by(
            col(OutboxMessage.channel))).all()
    with session_scope(engine) as session:
        mark_many_sent(session, [(rows[0].id or 0, None)], NOW)  # one SMS
    engine.dispose()
    shown = runner.invoke(app, ["broadcast", "show", str(created["id"])])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith(f"broadcast {created['id']} (nl): Repair café zaterdag")
    assert lines[1].startswith("sending") and "sent 1 of 4, 3 waiting" in lines[1]
    assert any(line.strip().startswith("sms") and line.endswith("1/2") for line in lines)
    as_json = json.loads(runner.invoke(app, ["broadcast", "show", "--json",
                                             str(created["id"])]).output)
    assert as_json["delivery"]["by_channel"]["sms"]["sent"] == 1
    cancelled = runner.invoke(app, ["broadcast", "cancel", str(created["id"])])
    assert cancelled.exit_code == 0 and "3 message(s) held back" in cancelled.output
    assert "cancelled" in runner.invoke(app, ["broadcast", "show", str(created["id"])]).output


def test_clear_errors(cli_db: str) -> None:
    runner = CliRunner()
    for args, reason in (
            (["broadcast", "show", "999"], "no broadcast 999"),
            (["broadcast", "create", "--community", "nowhere", "--text", "fr=x"],
             "no community"),
            (["broadcast", "create", "--community", "demo", "--text", "hello"], "LANG=TEXT"),
            (["broadcast", "create", "--community", "demo", "--text", "xx=hi"],
             "unknown language")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and reason in result.output, result.output
