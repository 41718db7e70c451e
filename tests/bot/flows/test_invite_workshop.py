"""A facilitator invites to a workshop in chat: title, when, where, capacity, who, a preview
in every language the audience reads with the reach and time to send, then confirm."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.conversation.inbox import handle_incoming
from bot.flows.base import InviteToWorkshop
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.contacts import enrol_contact
from core.db import session_scope
from core.demo import seed_demo
from core.groups import link_group
from core.identities import touch_identity
from core.messages import IncomingMessage
from core.models import Contact, OutboxMessage, Role, SubjectKind
from core.workshop_tables import Workshop
from tests.bot.flows.conversation import Conversation, member
from tests.fakes.community import CONSENT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels


def _facilitator(locale: str) -> Conversation:
    chat = member(locale, channel="telegram")
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    return chat


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_an_invitation_is_composed_with_a_preview_in_each_language(locale: str) -> None:
    t = translator(locale)
    chat = _facilitator(locale)
    chat.says("menu", at=NOW)
    assert chat.choice_keys[:4] == ["plan_alert", "share_kit", "invite_workshop", "send_news"]
    chat.says("3", at=NOW)
    assert chat.state.flow == "invite_workshop" and chat.state.step == "title"
    chat.says("Repair café", at=NOW)
    chat.says("soon", at=NOW)
    assert chat.state.step == "when"
    chat.says("tomorrow 18:00", at=NOW)
    assert chat.state.step == "where"
    chat.says("Salle B", at=NOW)
    assert chat.choice_keys == ["none"]
    chat.says("0", at=NOW)
    assert chat.state.step == "capacity"
    chat.says("12", at=NOW)
    assert chat.choice_keys == ["*", "cluster:Cabine A", "cluster:Cabine B"]
    chat.says("1", at=NOW)
    preview = chat.text
    assert "312" in preview and "240" in preview and "72" in preview
    for reader in ("ar", "fr", "nl"):
        invited = translator(reader).gettext("Voisins: you are invited!")
        assert f"[{reader}] {invited}\nRepair café" in preview
    assert "Salle B" in preview
    assert chat.choice_keys == ["yes", "no"]
    chat.says("1", at=NOW)
    assert chat.effects == [InviteToWorkshop(
        title="Repair café", locale=locale, starts_at="2026-12-02T18:00:00+01:00",
        ends_at="2026-12-02T20:00:00+01:00", place="Salle B", capacity=12, cluster=None)]
    assert t.gettext("Sending now. I will tell you how it goes.") in chat.text


def test_no_limit_and_cancel() -> None:
    chat = _facilitator("fr")
    for text in ("menu", "3", "Atelier vélo", "demain 17:00", "Cour", "1", "3", "2"):
        chat.says(text, at=NOW)
    assert chat.effects == []
    assert translator("fr").gettext("Nothing was sent.") in chat.text


def _console(engine: Engine, address: str, texts: list[str], start: datetime
             ) -> list[OutboxMessage]:
    rows: list[OutboxMessage] = []
    for index, text in enumerate(texts):
        at = start + timedelta(seconds=index)
        rows = handle_incoming(engine, IncomingMessage("console", address, text,
                                                       f"{address}-{index}-{text}-{start}"),
                               clock=functools.partial(lambda moment: moment, at))
    return rows


def test_over_the_terminal_the_invitation_goes_out_with_a_group_post_and_a_share_kit(
        sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with session_scope(engine) as session:
        community = seed_demo(session)
        assert community.id is not None
        for reader in SUPPORTED_LOCALES:
            identity = touch_identity(session, "console", f"reader-{reader}", NOW)
            enrol_contact(session, identity, community.id, reader, CONSENT, NOW)
        link_group(session, community.id, "-100555", "Voisins", None, NOW)
    rows = _console(engine, "demo-facilitator", ["menu", "3", "Repair café", "demain 18:00",
                                                 "Salle B", "2", "1"], NOW)
    preview = rows[-1].payload["text"]
    assert all(f"[{reader}]" in preview for reader in SUPPORTED_LOCALES)
    rows = _console(engine, "demo-facilitator", ["1"], NOW + timedelta(minutes=1))
    texts = [row.payload["text"] for row in rows]
    # The share kit for a WhatsApp group, one per language, then the menu.
    kits = [text for text in texts if "https://wa.me/?text=" in text]
    assert len(kits) == len(SUPPORTED_LOCALES)
    assert translator("fr").gettext("Sending now. I will tell you how it goes.") in texts[-1]
    with Session(engine) as session:
        workshop = session.exec(select(Workshop)).one()
        assert workshop.status == "sent" and workshop.capacity == 2
        facilitator = session.exec(select(Contact).where(
            Contact.role == Role.FACILITATOR.value)).one()
        assert workshop.created_by == facilitator.id
        invitations = session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.WORKSHOP.value,
            OutboxMessage.stage == "invitation")).all()
        people = [row for row in invitations if row.contact_id is not None]
        group = [row for row in invitations if row.contact_id is None]
        assert len(people) >= len(SUPPORTED_LOCALES)
        assert len(group) == 1 and group[0].payload["choices"] == []
        assert "Repair café" in group[0].payload["text"]
        assert not any(c.name and c.name in group[0].payload["text"] for c in session.exec(
            select(Contact).where(col(Contact.name).is_not(None))).all())
