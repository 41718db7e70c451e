"""Residents answer a workshop invitation at the terminal, in each of the five languages:
Yes, Maybe, No, a change of mind from "My invitations", and the waiting list's first person
getting the place that freed up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.channels.console import CHANNEL, render_text
from bot.conversation.inbox import handle_incoming
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from bot.rendering.workshops import WorkshopMessages
from core.communities import create_community
from core.config import SUPPORTED_LOCALES
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity
from core.messages import IncomingMessage
from core.models import ChannelIdentity, OutboxMessage
from core.workshops import create_workshop, rsvp_counts
from scheduler.workshops import send_invitations

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
STARTS = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
MY_INVITATIONS = "4"  # in a resident's menu (after My consumption, My gestures, the exercise)


class Screens:
    """What each terminal resident reads, by address."""

    def __init__(self) -> None:
        self.read: dict[str, list[str]] = {}

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        self.read.setdefault(identity.address, []).append(render_text(row.payload))
        return f"console-{row.id}"

    def last(self, address: str) -> str:
        return self.read[address][-1]


def _setup(engine: Engine, locale: str) -> int:
    with session_scope(engine) as session:
        community = create_community(session, "atelier", "L'Atelier", join_code="ATELIER",
                                     quiet_hours="00:00-00:00")
        assert community.id is not None
        for address in ("ana", "bob", "chris"):
            identity = touch_identity(session, CHANNEL, address, NOW)
            enrol_contact(session, identity, community.id, locale, "v1", NOW)
        workshop = create_workshop(
            session, community, title={"fr": "Atelier vélo", "nl": "Fietsatelier"},
            place="Salle des fêtes", starts_at=STARTS, ends_at=STARTS + timedelta(hours=2),
            now=NOW, capacity=1)
        send_invitations(session, workshop, WorkshopMessages(), NOW)
        assert workshop.id is not None
        return workshop.id


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_yes_maybe_no_change_of_mind_and_the_waiting_list(sqlite_engine: Engine,
                                                          locale: str) -> None:
    workshop_id = _setup(sqlite_engine, locale)
    t = translator(locale)
    screens = Screens()
    moments = iter(NOW + timedelta(minutes=n) for n in range(1, 100))

    def dispatch() -> None:
        dispatch_due(sqlite_engine, {CHANNEL: screens}, clock=lambda: NOW + timedelta(hours=1),
                     channel=CHANNEL)

    def says(address: str, text: str) -> str:
        at = next(moments)
        handle_incoming(sqlite_engine, IncomingMessage(CHANNEL, address, text, at.isoformat()
                                                       + address), clock=lambda: at)
        dispatch()
        return screens.last(address)

    dispatch()
    invitation = screens.last("ana")
    title = "Fietsatelier" if locale == "nl" else "Atelier vélo"
    for line in (t.gettext("Voisins: you are invited!"), title,
                 t.gettext("Where: {place}", place="Salle des fêtes"),
                 t.gettext("Will you come?"), f"1. {t.gettext('Yes')}",
                 f"2. {t.gettext('Maybe')}", f"3. {t.gettext('No')}"):
        assert line in invitation
    assert says("ana", "1").startswith(t.gettext("Thank you!").rstrip("!").rstrip())
    waiting = says("bob", "1")
    assert waiting.startswith(t.gettext(
        "It is full for now: you are number {rank} on the waiting list. "
        "We will tell you if a place frees up.", rank=1))
    assert says("chris", "3").startswith(t.gettext("Noted, thank you. Maybe next time!"))
    # Ana changes her mind from the menu.
    says("ana", "menu")
    asked = says("ana", MY_INVITATIONS)
    assert t.gettext("Your answer: {answer}. Will you come?", answer=t.gettext("Yes")) in asked
    assert says("ana", "2").startswith(t.gettext(
        "Noted: maybe. We will remind you the day before."))
    # Bob, first on the waiting list, gets the place and is told.
    promoted = screens.last("bob")
    assert promoted != waiting and title in promoted
    # Chris changes his mind too: it is full again, so he waits.
    says("chris", "menu")
    assert t.gettext("No") in says("chris", MY_INVITATIONS)
    assert says("chris", "1").startswith(t.gettext(
        "It is full for now: you are number {rank} on the waiting list. "
        "We will tell you if a place frees up.", rank=1))
    with session_scope(sqlite_engine) as session:
        assert rsvp_counts(session, workshop_id) == {"yes": 1, "maybe": 1, "no": 0,
                                                     "waiting": 1}
    # After the start, no more answers: said kindly.
    late = STARTS + timedelta(minutes=5)
    handle_incoming(sqlite_engine, IncomingMessage(CHANNEL, "ana", "menu", "late-1"),
                    clock=lambda: late)
    handle_incoming(sqlite_engine, IncomingMessage(CHANNEL, "ana", MY_INVITATIONS, "late-2"),
                    clock=lambda: late)
    dispatch_due(sqlite_engine, {CHANNEL: screens}, clock=lambda: late, channel=CHANNEL)
    assert screens.last("ana").startswith(t.gettext(
        "You have no open invitation at the moment."))
