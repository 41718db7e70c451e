"""`voisins workshop show ID`: the invitations' progress bar, per channel, and the answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.cli import app
from bot.rendering.workshops import WORDING
from core.config import get_settings
from core.contacts import enrol_contact
from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo
from core.identities import touch_identity
from core.models import OutboxMessage, SubjectKind
from core.outbox import mark_many_sent
from core.workshops import create_workshop
from scheduler.workshops import send_invitations
from tests.fakes.community import CONSENT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def workshop_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("VOISINS_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        community = seed_demo(session)
        assert community.id is not None
        for index, channel in enumerate(["sms", "sms", "telegram"]):
            address = f"+3247000020{index}" if channel != "telegram" else "5550201"
            identity = touch_identity(session, channel, address, NOW)
            enrol_contact(session, identity, community.id, "fr", CONSENT, NOW)
        workshop = create_workshop(session, community, title={"fr": "Atelier factures"},
                                   place="Salle commune", starts_at=NOW + timedelta(days=7),
                                   ends_at=NOW + timedelta(days=7, hours=2), now=NOW)
        send_invitations(session, workshop, WORDING, NOW)
        assert workshop.id is not None
        made = workshop.id
    with Session(engine) as session:
        first = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.subject_kind) == SubjectKind.WORKSHOP.value,
            col(OutboxMessage.channel) == "telegram")).first()
        assert first is not None and first.id is not None
    with session_scope(engine) as session:
        mark_many_sent(session, [(first.id, None)], NOW)
    engine.dispose()
    yield made
    get_settings.cache_clear()


def test_show_draws_the_progress_bar_per_channel_and_the_answers(workshop_id: int) -> None:
    shown = CliRunner().invoke(app, ["workshop", "show", str(workshop_id)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith(f"workshop {workshop_id} (sent): Atelier factures")
    assert lines[1].startswith("sending   [") and "sent 1 of " in lines[1]
    assert any(line.strip().startswith("telegram") and line.endswith("1/1") for line in lines)
    assert any(line.strip().startswith("sms") and "0/2" in line for line in lines)
    assert lines[-1].startswith("answers   ") and "yes 0" in lines[-1]
    as_json = json.loads(CliRunner().invoke(
        app, ["workshop", "show", str(workshop_id), "--json"]).output)
    assert as_json["delivery"]["by_channel"]["sms"] == {
        "total": 2, "waiting": 2, "sent": 0, "failed": 0, "held_back": 0}


def test_an_unknown_workshop_is_a_clear_error(workshop_id: int) -> None:
    shown = CliRunner().invoke(app, ["workshop", "show", str(workshop_id + 99)])
    assert shown.exit_code == 2 and "no workshop" in shown.output
