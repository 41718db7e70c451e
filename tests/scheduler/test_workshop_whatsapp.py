"""A workshop invitation to WhatsApp readers outside their 24-hour window, through the
Twilio fake: the approved template for invitations (ContentSid per language) where one is
configured, else the invitation goes by SMS, as alerts do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.senders import build_senders
from bot.outbound.dispatch import dispatch_due
from bot.rendering.workshops import WorkshopMessages
from core.communities import community_by_slug
from core.db import session_scope
from core.models import OutboxMessage
from core.workshops import create_workshop
from scheduler.workshops import send_invitations
from tests.bot.channels.conftest import settings_for
from tests.fakes.community import seed_residents
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
STARTS = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
TEMPLATES = {"workshop_invitation": {"ar": "HXworkshopar"}}


def test_invitation_by_template_or_by_sms_outside_the_window(
        sqlite_engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> None:
    # Enrolled two days before: every WhatsApp window is closed.
    seed_residents(sqlite_engine, NOW - timedelta(days=2))
    with session_scope(sqlite_engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        workshop = create_workshop(session, community, title={"fr": "Atelier vélo"},
                                   place="Salle des fêtes", starts_at=STARTS,
                                   ends_at=STARTS + timedelta(hours=2), now=NOW)
        send_invitations(session, workshop, WorkshopMessages(), NOW)
    settings = settings_for(fake_telegram, fake_twilio, whatsapp_templates=json.dumps(TEMPLATES))
    for _ in range(2):
        dispatch_due(sqlite_engine, build_senders(sqlite_engine, settings, clock=lambda: NOW),
                     clock=lambda: NOW, limit=100)
    # Arabic: the invitation template, its variables the title, the time and the place.
    (arabic,) = [m for m in fake_twilio.sent if m.to == "whatsapp:+32470000003"]
    assert arabic.content_sid == "HXworkshopar"
    variables = json.loads(arabic.content_variables or "{}")
    assert variables["1"] == "Atelier vélo" and "الخميس" in variables["2"]
    assert variables["3"] == "Salle des fêtes"
    # Dutch: no template, so by SMS, with the numbered answers.
    assert not [m for m in fake_twilio.sent if m.to == "whatsapp:+32470000006"]
    dutch = "\n".join(fake_twilio.bodies_to("+32470000006"))
    assert "Atelier vélo" in dutch and "1. Ja" in dutch
    with Session(sqlite_engine) as session:
        stages = {(row.channel, row.stage, row.status) for row in session.exec(
            select(OutboxMessage).where(OutboxMessage.contact_id == 6))}
    assert ("whatsapp", "invitation", "failed") in stages
    assert ("sms", "invitation", "sent") in stages
