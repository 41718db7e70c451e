"""The inbox end to end on a real database: idempotency, expiry, stop and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.inbox import handle_incoming
from bot.outbound.dispatch import dispatch_due
from core import outbox
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
    InboundEvent,
    OutboxMessage,
    OutboxStatus,
)

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
    for index, text in enumerate(["menu", "4", "1"]):
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
