"""The facilitator watches a broadcast go: one Telegram message edited as the counts move,
one follow-up elsewhere when done, and a cancellation that holds back what waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels.telegram import TelegramSender
from bot.outbound.dispatch import dispatch_due
from bot.rendering.broadcasts import broadcast_message, progress_text
from core.broadcasts import Broadcast, cancel_broadcast, create_broadcast, send_broadcast
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity
from core.models import Community, Contact, OutboxMessage, OutboxStatus, Role
from core.outbox import mark_many_sent
from scheduler.broadcasts import run_due_broadcasts
from scheduler.progress import KIND_PROGRESS, report_progress
from tests.fakes.community import CONSENT, seed_residents
from tests.fakes.telegram_api import FakeTelegram

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _start(engine: Engine, channel: str, address: str, locale: str = "en") -> int:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = session.exec(select(Community)).one()
        assert community.id is not None
        identity = touch_identity(session, channel, address, NOW)
        facilitator = enrol_contact(session, identity, community.id, locale, CONSENT, NOW)
        facilitator.role = Role.FACILITATOR.value
        broadcast = create_broadcast(session, community, {"en": "Bring a cup."}, NOW,
                                     created_by=facilitator.id)
        send_broadcast(session, broadcast, NOW)
        assert broadcast.id is not None
        broadcast_id = broadcast.id
    run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW)
    return broadcast_id


def _residents_rows(engine: Engine, broadcast_id: int) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_id == broadcast_id, OutboxMessage.stage == "news",
            col(OutboxMessage.contact_id).is_not(None))).all())


def _progress_rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == KIND_PROGRESS).order_by(col(OutboxMessage.id))).all())


def _tick(engine: Engine, at: datetime) -> int:
    return report_progress(engine, progress_text, clock=lambda: at)


def test_on_telegram_one_message_is_edited_as_the_broadcast_goes(
        engine: Engine, fake_telegram: FakeTelegram) -> None:
    broadcast_id = _start(engine, "telegram", "4242", "en")
    sender = TelegramSender(fake_telegram.token, fake_telegram.api_url)
    assert _tick(engine, NOW) == 1
    assert _tick(engine, NOW) == 0  # nothing moved: nothing new
    later = NOW + timedelta(seconds=2)
    # Telegram goes first (the facilitator's message and two residents), SMS and WhatsApp
    # have no sender here.
    dispatch_due(engine, {"telegram": sender}, clock=lambda: later)
    first = fake_telegram.calls("sendMessage")
    assert any(call.fields.get("text") == "Sent 0 of 6…" for call in first)
    assert _tick(engine, later) == 1
    dispatch_due(engine, {"telegram": sender}, clock=lambda: later + timedelta(seconds=2))
    edits = fake_telegram.calls("editMessageText")
    assert [edit.fields["text"] for edit in edits] == ["Sent 2 of 6…"]
    progress = _progress_rows(engine)
    assert edits[0].fields["message_id"] == int((progress[0].provider_id or "").split(":")[1])
    waiting = [row for row in _residents_rows(engine, broadcast_id)
               if row.status == OutboxStatus.PENDING.value]
    with session_scope(engine) as session:
        mark_many_sent(session, [(row.id or 0, None) for row in waiting[:-1]], later)
        last = session.get(OutboxMessage, waiting[-1].id)
        assert last is not None
        last.status = OutboxStatus.FAILED.value
    end = later + timedelta(seconds=10)
    assert _tick(engine, end) == 1
    dispatch_due(engine, {"telegram": sender}, clock=lambda: end)
    assert [e.fields["text"] for e in fake_telegram.calls("editMessageText")][-1] == \
        "Done: sent 5 of 6 (1 failed)."
    with Session(engine) as session:
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.status == "sent"
    assert _tick(engine, end + timedelta(seconds=5)) == 0  # finished: reported no more
    assert len(fake_telegram.calls("sendMessage")) == len(first)  # edits only


def test_on_sms_one_follow_up_when_everything_went(engine: Engine) -> None:
    broadcast_id = _start(engine, "sms", "+32470999999", "fr")
    assert _tick(engine, NOW) == 0
    rows = _residents_rows(engine, broadcast_id)
    with session_scope(engine) as session:
        mark_many_sent(session, [(row.id or 0, None) for row in rows[:3]], NOW)
    assert _tick(engine, NOW) == 0
    with session_scope(engine) as session:
        mark_many_sent(session, [(row.id or 0, None) for row in rows[3:]], NOW)
    assert _tick(engine, NOW) == 1
    assert _tick(engine, NOW) == 0
    [follow_up] = _progress_rows(engine)
    assert follow_up.channel == "sms" and "6" in follow_up.payload["text"]
    assert "edit_message" not in follow_up.payload


def test_cancelling_mid_way_holds_back_what_waits_and_says_so(engine: Engine) -> None:
    broadcast_id = _start(engine, "sms", "+32470999999", "en")
    rows = _residents_rows(engine, broadcast_id)
    with session_scope(engine) as session:
        mark_many_sent(session, [(row.id or 0, None) for row in rows[:2]], NOW)
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert cancel_broadcast(session, broadcast, NOW) == 4
    statuses = sorted(row.status for row in _residents_rows(engine, broadcast_id))
    assert statuses == ["cancelled"] * 4 + ["sent"] * 2
    # The dispatcher has nothing of it left to send.
    report = dispatch_due(engine, {}, clock=lambda: NOW + timedelta(seconds=1))
    assert report.total == 0
    assert _tick(engine, NOW) == 1
    assert _progress_rows(engine)[0].payload["text"] == "Cancelled: 2 of 6 sent, 4 held back."


def test_a_facilitator_who_stopped_is_not_told(engine: Engine) -> None:
    broadcast_id = _start(engine, "sms", "+32470999999", "en")
    rows = _residents_rows(engine, broadcast_id)
    with session_scope(engine) as session:
        facilitator = session.exec(select(Contact).where(
            Contact.role == Role.FACILITATOR.value)).one()
        facilitator.opted_out_at = NOW
        mark_many_sent(session, [(row.id or 0, None) for row in rows], NOW)
    assert _tick(engine, NOW) == 0
    with Session(engine) as session:
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.status == "sent"


def test_a_workshop_invitation_is_reported_the_same_way(engine: Engine) -> None:
    from core import outbox
    from core.models import ChannelIdentity, SubjectKind
    from core.outbox import Subject
    from core.workshop_tables import Workshop, WorkshopStatus

    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = session.exec(select(Community)).one()
        assert community.id is not None
        identity = touch_identity(session, "sms", "+32470999999", NOW)
        facilitator = enrol_contact(session, identity, community.id, "en", CONSENT, NOW)
        facilitator.role = Role.FACILITATOR.value
        workshop = Workshop(community_id=community.id, created_by=facilitator.id,
                            title={"en": "Repair café"}, place="Room B",
                            starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3),
                            status=WorkshopStatus.SENT.value, sent_at=NOW)
        session.add(workshop)
        session.flush()
        assert workshop.id is not None
        for resident in residents[:3]:
            reader = session.exec(select(ChannelIdentity).where(
                ChannelIdentity.contact_id == resident.contact_id)).one()
            outbox.enqueue(session, dedupe_key=f"ws:{resident.contact_id}", identity=reader,
                           kind="workshop_invitation", payload={"text": "Come!"}, now=NOW,
                           subject=Subject(SubjectKind.WORKSHOP, workshop.id, "invitation"))
    assert _tick(engine, NOW) == 0  # by SMS: only when done
    rows = [row for row in _progress_rows(engine)]
    assert rows == []
    with Session(engine) as session:
        waiting = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "workshop_invitation")).all()
    with session_scope(engine) as session:
        mark_many_sent(session, [(row.id or 0, None) for row in waiting], NOW)
    assert _tick(engine, NOW) == 1
    assert _progress_rows(engine)[0].payload["text"] == "Done: sent 3 of 3."
