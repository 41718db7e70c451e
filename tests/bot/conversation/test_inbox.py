"""The inbox end to end on a real database: idempotency, expiry, stop and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.inbox import handle_incoming
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from core import conversations, outbox
from core.communities import create_community
from core.config import get_settings
from core.db import session_scope
from core.demo import seed_demo
from core.identities import identity_for
from core.messages import IncomingMessage
from core.models import (
    ChannelIdentity,
    Contact,
    ConversationState,
    Household,
    InboundEvent,
    OutboxMessage,
    OutboxStatus,
)
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        self.sent.append((identity.address, row.payload["text"]))
        return f"fake-{row.id}"


def _msg(text: str, pid: str, address: str = "+32 470 12 34 56", channel: str = "sms"
         ) -> IncomingMessage:
    return IncomingMessage(channel=channel, address=address, text=text, provider_id=pid)


def _enrol(engine: Engine, address: str = "+32 470 12 34 56", at: datetime = T0) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: at)
    for index, text in enumerate(["JOIN VOISINS", "3", "yes", "MAISON02"]):
        handle_incoming(engine, _msg(text, f"{address}-e{index}", address), clock=lambda: at)


def test_enrolment_stores_contact_with_consent_and_household(engine: Engine) -> None:
    _enrol(engine)
    with Session(engine) as session:
        identity = identity_for(session, "sms", "0470123456")
        assert identity is not None and identity.address == "+32470123456"
        contact = session.get(Contact, identity.contact_id)
        assert contact is not None
        assert contact.locale == "en"
        assert contact.consent_version == get_settings().consent_version
        assert contact.consented_at is not None and contact.household_id is not None


def test_second_delivery_of_the_same_event_gets_no_second_reply(engine: Engine) -> None:
    _enrol(engine)
    first = handle_incoming(engine, _msg("menu", "SM-dup"), clock=lambda: T0)
    again = handle_incoming(engine, _msg("menu", "SM-dup"), clock=lambda: T0)
    assert len(first) == 1 and again == []
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("reply:sms:SM-dup"))).all()
        assert len(rows) == 1
        events = session.exec(select(InboundEvent).where(InboundEvent.provider_id == "SM-dup"))
        assert len(events.all()) == 1


def test_expired_conversation_resumes_politely(engine: Engine) -> None:
    _enrol(engine)
    handle_incoming(engine, _msg("language", "l1"), clock=lambda: T0)
    later = T0 + timedelta(hours=73)
    rows = handle_incoming(engine, _msg("2", "l2"), clock=lambda: later)
    text = rows[0].payload["text"]
    assert text.startswith("Our last conversation was a while ago")
    with Session(engine) as session:
        contact = session.exec(select(Contact)).all()
        assert all(c.locale != "nl" for c in contact if c.role == "resident")


def test_outbox_never_sends_to_a_stopped_contact(engine: Engine) -> None:
    _enrol(engine)
    with session_scope(engine) as session:
        identity = identity_for(session, "sms", "+32470123456")
        assert identity is not None
        outbox.enqueue(session, dedupe_key="alert:1:start:x", identity=identity, kind="alert",
                       payload={"text": "Alert!"}, now=T0, due_at=T0 + timedelta(hours=1))
    handle_incoming(engine, _msg("ARRET", "stop1"), clock=lambda: T0)
    sender = RecordingSender()
    dispatch_due(engine, {"sms": sender}, clock=lambda: T0 + timedelta(hours=2))
    texts = [text for _, text in sender.sent]
    assert "Alert!" not in texts
    assert any("START" in text for text in texts)  # the STOP acknowledgement itself goes
    with Session(engine) as session:
        alert = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == "alert:1:start:x")).one()
        assert alert.status == OutboxStatus.SUPPRESSED.value
        # Rows enqueued after the STOP are refused at send time too.
        identity = identity_for(session, "sms", "+32470123456")
        assert identity is not None
        outbox.enqueue(session, dedupe_key="late", identity=identity, kind="alert",
                       payload={"text": "Late"}, now=T0)
        session.commit()
    dispatch_due(engine, {"sms": sender}, clock=lambda: T0 + timedelta(hours=3))
    assert "Late" not in [text for _, text in sender.sent]


def test_forget_me_erases_and_outbox_sends_nothing_more(engine: Engine) -> None:
    _enrol(engine)
    with session_scope(engine) as session:
        identity = identity_for(session, "sms", "+32470123456")
        assert identity is not None
        outbox.enqueue(session, dedupe_key="survey:1:x", identity=identity, kind="survey",
                       payload={"text": "Survey"}, now=T0, due_at=T0 + timedelta(hours=1))
    for index, text in enumerate(["menu", "8", "1"]):  # 8: Erase my data
        handle_incoming(engine, _msg(text, f"f{index}"), clock=lambda: T0)
    sender = RecordingSender()
    # Within a day: a chat reply (the farewell) older than that would have expired.
    dispatch_due(engine, {"sms": sender}, clock=lambda: T0 + timedelta(hours=2))
    assert "Survey" not in [text for _, text in sender.sent]
    assert sender.sent[-1][1].startswith("Done: your data has been erased.")
    with Session(engine) as session:
        assert [c.role for c in session.exec(select(Contact)).all()].count("resident") == 0
        identity = identity_for(session, "sms", "+32470123456")
        assert identity is not None and identity.contact_id is None
        assert identity.display_name is None
        assert session.exec(select(ConversationState)).all() == []
        leftovers = session.exec(select(OutboxMessage).where(
            OutboxMessage.identity_id == identity.id)).all()
        assert [row.kind for row in leftovers] == ["farewell"]


def test_permanent_failure_marks_identity_unreachable(engine: Engine) -> None:
    from bot.outbound.dispatch import PermanentSendError

    class Blocked:
        def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
            raise PermanentSendError("Forbidden: bot was blocked by the user", "blocked")

    _enrol(engine)
    report = dispatch_due(engine, {"sms": Blocked()}, clock=lambda: T0)
    assert report.failed >= 1
    with Session(engine) as session:
        identity = identity_for(session, "sms", "+32470123456")
        assert identity is not None and not identity.reachable


def test_transient_failure_is_retried_later(engine: Engine) -> None:
    from bot.outbound.dispatch import TransientSendError

    class Flaky:
        calls = 0

        def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise TransientSendError("429", retry_after=timedelta(seconds=30))
            return "ok"

    with session_scope(engine) as session:
        create_community(session, "c", "C", join_code="CCC")
    handle_incoming(engine, _msg("hello", "h1"), clock=lambda: T0)
    assert dispatch_due(engine, {"sms": Flaky()}, clock=lambda: T0).retried == 1
    assert dispatch_due(engine, {"sms": Flaky()}, clock=lambda: T0).sent == 0
    assert dispatch_due(engine, {"sms": Flaky()},
                        clock=lambda: T0 + timedelta(seconds=31)).sent == 1


def _identity_id(engine: Engine, address: str = "+32470123456") -> int:
    with Session(engine) as session:
        identity = identity_for(session, "sms", address)
        assert identity is not None and identity.id is not None
        return identity.id


@pytest.mark.parametrize(("flow", "step", "data"), [
    ("questionnaire", "answer", {"questionnaire_id": "first", "asked": 3}),
    ("plan_alert", "teleport", {}),
    ("a_flow_from_an_older_version", "wherever", {"x": 1}),
])
def test_a_damaged_stored_state_resumes_politely(engine: Engine, flow: str, step: str,
                                                 data: dict[str, object]) -> None:
    _enrol(engine)
    with session_scope(engine) as session:
        conversations.save_state(session, _identity_id(engine), flow, step, data, T0,
                                 timedelta(hours=1))
    rows = handle_incoming(engine, _msg("1", "damaged"), clock=lambda: T0)
    assert rows[0].payload["text"].startswith(
        "Sorry, I lost track of our conversation, so let's start again.")
    with Session(engine) as session:
        stored = session.exec(select(ConversationState)).one()
        assert stored.flow == "menu"


def test_a_household_code_later_through_the_inbox(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
    for index, text in enumerate(["JOIN VOISINS", "1", "oui", "passer", "maison05"]):
        rows = handle_incoming(engine, _msg(text, f"later-{index}"), clock=lambda: T0)
    assert rows[0].payload["text"].startswith("C'est fait : votre logement est relié (H05).")
    other = "+32 470 99 88 77"
    for index, text in enumerate(["JOIN VOISINS", "1", "oui", "passer",
                                  "JOIN VOISINS MAISON06"]):
        handle_incoming(engine, _msg(text, f"join-{index}", other), clock=lambda: T0)
    with Session(engine) as session:
        linked = {identity.address: household.code for identity, contact, household in
                  session.exec(select(ChannelIdentity, Contact, Household).where(
                      ChannelIdentity.contact_id == Contact.id,
                      Contact.household_id == Household.id)).all()}
    assert linked == {"+32470123456": "MAISON05", "+32470998877": "MAISON06"}


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_by_sms_a_chart_ends_with_the_hint(engine: Engine, fake_twilio: FakeTwilio,
                                           locale: str) -> None:
    from bot.channels.senders import build_senders
    from core.communities import community_by_slug
    from tests.bot.channels.conftest import settings_for
    from tests.fakes.energy import meter_every_household, seed_energy

    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
        community = community_by_slug(session, "demo")
        assert community is not None and community.id is not None
        community_id = community.id
    households = meter_every_household(engine, community_id)
    seed_energy(engine, households, T0 - timedelta(weeks=9), T0)
    number = str(["fr", "nl", "en", "ar", "es"].index(locale) + 1)
    for index, text in enumerate(["JOIN VOISINS", number, "1", "MAISON01", "menu", "1", "1",
                                  "3"]):
        handle_incoming(engine, _msg(text, f"sms-chart-{index}"), clock=lambda: T0)
    dispatch_due(engine, build_senders(engine, settings_for(twilio=fake_twilio),
                                       clock=lambda: T0), clock=lambda: T0, limit=100)
    bodies = fake_twilio.bodies_to("+32470123456")
    t = translator(locale)
    hint, menu_title = t.gettext("Send MENU for options."), t.gettext("What would you like to do?")
    # The chart's caption, then the hint; "3" typed after it brings the menu, nothing else.
    assert bodies[-2].endswith(hint)
    assert bodies[-1].startswith(menu_title) and t.gettext("Change language") in bodies[-1]
    with Session(engine) as session:
        assert session.exec(select(ConversationState)).one().flow == "menu"
