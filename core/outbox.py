"""The outbox: every outgoing message is a row first, with a dedupe key.

Scheduling twice or retrying never sends twice: the key is unique, and a row is claimed
before it is sent. The key is only a key: what a row is about is in its columns (contact,
subject, stage), and those are what we select and count by.

Every row has a deadline (``expires_at``) and an attempt cap: a message that can no longer
be true, or that failed ``MAX_ATTEMPTS`` times, ends ``expired``; it is never sent late.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.models import (
    ChannelIdentity,
    Contact,
    OutboxMessage,
    OutboxStatus,
    Priority,
    SubjectKind,
)

# A contact who stopped still gets the answer to their STOP, nothing else.
KIND_STOP_ACK = "stop_ack"
# A resident's chart: queued with what to draw, drawn by the dispatcher just before sending.
KIND_CHART = "chart"
KINDS_ALLOWED_AFTER_STOP = frozenset({KIND_STOP_ACK})
MAX_BACKOFF = timedelta(minutes=30)
# Real failures (not pacing) before a row is given up on as expired.
MAX_ATTEMPTS = 8
# How long a claimed row stays ours without a renewal; a dispatcher renews it while sending,
# so only a dead dispatcher's rows are taken back, one lease after their last renewal.
LEASE = timedelta(seconds=60)
# A message nobody gave a deadline to (a chat reply, a digest) is stale after a day.
DEFAULT_DEADLINE = timedelta(hours=24)
DEADLINES_BY_KIND = {"collective_result": timedelta(hours=48)}
# Rows expired (or taken back) per statement, so one pass never holds many row locks at once.
EXPIRE_BATCH = 1000


@dataclass(frozen=True)
class Subject:
    """What a row is about: an alert's start message is (alert, 42, "start")."""

    kind: SubjectKind
    id: int
    stage: str | None = None

    @classmethod
    def of(cls, row: OutboxMessage) -> Subject | None:
        if row.subject_kind is None or row.subject_id is None:
            return None
        return cls(SubjectKind(row.subject_kind), row.subject_id, row.stage)


def default_deadline(kind: str, due_at: datetime) -> datetime:
    return due_at + DEADLINES_BY_KIND.get(kind, DEFAULT_DEADLINE)


def enqueue(session: Session, *, dedupe_key: str, identity: ChannelIdentity, kind: str,
            payload: dict[str, Any], now: datetime, due_at: datetime | None = None,
            subject: Subject | None = None, priority: Priority = Priority.CHAT,
            expires_at: datetime | None = None) -> OutboxMessage | None:
    """Add a row unless one with the same key exists; returns the new row or None.

    A row whose deadline is already past when it is written is recorded ``expired``: it
    keeps its key (a replay sends nothing) and is counted, but never goes.
    """
    assert identity.id is not None
    due = due_at or now
    deadline = expires_at if expires_at is not None else default_deadline(kind, due)
    too_late = as_utc(deadline) <= as_utc(max(due, now))
    row = OutboxMessage(dedupe_key=dedupe_key, identity_id=identity.id,
                        contact_id=identity.contact_id, channel=identity.channel, kind=kind,
                        subject_kind=subject.kind.value if subject else None,
                        subject_id=subject.id if subject else None,
                        stage=subject.stage if subject else None, priority=int(priority),
                        payload=payload,
                        status=(OutboxStatus.EXPIRED if too_late else OutboxStatus.PENDING).value,
                        last_error="deadline passed before it was due" if too_late else None,
                        next_attempt_at=due, expires_at=deadline, created_at=now,
                        updated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def expire_overdue(session: Session, now: datetime) -> int:
    """Mark pending rows past their deadline ``expired``; returns how many.

    This covers rows no dispatcher claims (a channel without a sender) and rows whose
    backoff ran past their deadline. Another dispatcher's locked rows are skipped.
    """
    overdue = (select(OutboxMessage.id)
               .where(col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                      col(OutboxMessage.expires_at) <= now)
               .limit(EXPIRE_BATCH))
    if session.get_bind().dialect.name == "postgresql":
        overdue = overdue.with_for_update(skip_locked=True)
    ids = list(session.exec(overdue).all())
    if not ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids),
               col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.EXPIRED.value, last_error="deadline passed",
                updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_due(session: Session, now: datetime, limit: int = 100,
              channel: str | None = None, channels: Collection[str] | None = None,
              lease: timedelta = LEASE) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows as being sent (leased until ``now + lease``) and return
    them, most urgent first (``Priority``), then oldest first.

    Only rows of ``channel`` / ``channels`` are taken when given: a channel nobody can send
    on is left alone until its rows' deadlines. Claiming is not an attempt: ``attempts``
    counts failures only. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several dispatchers
    share the table; on SQLite there is one writer at a time, and the conditional update
    below is the guard.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING.value,
               or_(col(OutboxMessage.next_attempt_at).is_(None),
                   col(OutboxMessage.next_attempt_at) <= now),
               or_(col(OutboxMessage.expires_at).is_(None),
                   col(OutboxMessage.expires_at) > now))
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.next_attempt_at),
                  col(OutboxMessage.id))
        .limit(limit)
    )
    wanted = set(channels) if channels is not None else None
    if channel is not None:
        wanted = {channel} if wanted is None else wanted & {channel}
    if wanted is not None:
        if not wanted:
            return []
        query = query.where(col(OutboxMessage.channel).in_(sorted(wanted)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in session.exec(query).all()]
    if not ids:
        return []
    # One conditional update for the batch: a row another dispatcher took meanwhile is no
    # longer pending and is left out (RETURNING says which rows were really ours).
    claimed_ids = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids),
               col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.SENDING.value, leased_until=now + lease, updated_at=now)
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    ).scalars().all()
    if not claimed_ids:
        return []
    session.expire_all()
    return list(session.exec(select(OutboxMessage).where(
        col(OutboxMessage.id).in_(claimed_ids)).order_by(
        col(OutboxMessage.priority), col(OutboxMessage.next_attempt_at),
        col(OutboxMessage.id))).all())


def renew_leases(session: Session, row_ids: Collection[int], until: datetime) -> int:
    """Keep rows still being sent ours until ``until``."""
    if not row_ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(row_ids)),
               col(OutboxMessage.status) == OutboxStatus.SENDING.value)
        .values(leased_until=until)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def take_back_lapsed(session: Session, now: datetime) -> int:
    """Rows left "sending" by a dispatcher that died (their lease lapsed) go back in the
    queue, due now. Not a failure: ``attempts`` is unchanged.

    A row may have reached the provider just before the crash, so this can repeat at most
    the messages that were in flight; never more. Several dispatchers may take back at the
    same moment: on PostgreSQL each skips the rows another is taking back (locked), so two
    take-backs never wait on each other, let alone deadlock.
    """
    lapsed = (select(OutboxMessage.id)
              .where(col(OutboxMessage.status) == OutboxStatus.SENDING.value,
                     or_(col(OutboxMessage.leased_until).is_(None),
                         col(OutboxMessage.leased_until) <= now))
              .limit(EXPIRE_BATCH))
    if session.get_bind().dialect.name == "postgresql":
        lapsed = lapsed.with_for_update(skip_locked=True)
    ids = list(session.exec(lapsed).all())
    if not ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids),
               col(OutboxMessage.status) == OutboxStatus.SENDING.value,
               or_(col(OutboxMessage.leased_until).is_(None),
                   col(OutboxMessage.leased_until) <= now))
        .values(status=OutboxStatus.PENDING.value, next_attempt_at=now, leased_until=None,
                updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Recipient:
    identity: ChannelIdentity
    contact: Contact | None


def suppression_reason(row: OutboxMessage, recipient: Recipient) -> str | None:
    """Why this row must not go out now, or None if it may."""
    if row.contact_id is not None and recipient.contact is None:
        return "contact erased"
    if not recipient.identity.reachable:
        return f"unreachable: {recipient.identity.unreachable_reason or 'unknown'}"
    contact = recipient.contact
    if contact is not None and contact.opted_out_at is not None \
            and row.kind not in KINDS_ALLOWED_AFTER_STOP:
        return "contact stopped messages"
    return None


def recipients_of(session: Session, rows: list[OutboxMessage]) -> dict[int, Recipient]:
    """The recipient of each row (by row id) in two queries; erased identities are absent."""
    identities = {identity.id: identity for identity in session.exec(
        select(ChannelIdentity).where(
            col(ChannelIdentity.id).in_({row.identity_id for row in rows})))}
    contact_ids = {row.contact_id for row in rows if row.contact_id is not None}
    contacts = {contact.id: contact for contact in session.exec(
        select(Contact).where(col(Contact.id).in_(contact_ids)))} if contact_ids else {}
    found: dict[int, Recipient] = {}
    for row in rows:
        identity = identities.get(row.identity_id)
        if identity is not None and row.id is not None:
            contact = contacts.get(row.contact_id) if row.contact_id is not None else None
            found[row.id] = Recipient(identity=identity, contact=contact)
    return found


def recipient_of(session: Session, row: OutboxMessage) -> Recipient | None:
    identity = session.get(ChannelIdentity, row.identity_id)
    if identity is None:
        return None
    contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
    return Recipient(identity=identity, contact=contact)


def mark_many_sent(session: Session, sent: list[tuple[int, str | None]], now: datetime
                   ) -> None:
    """Record a batch of sends, (row id, provider id) each, as one executemany UPDATE."""
    if sent:
        session.execute(update(OutboxMessage), [
            {"id": row_id, "status": OutboxStatus.SENT.value, "provider_id": provider_id,
             "sent_at": now, "updated_at": now, "last_error": None, "leased_until": None}
            for row_id, provider_id in sent])


def _settle(session: Session, row: OutboxMessage, status: OutboxStatus, reason: str,
            now: datetime) -> None:
    row.status = status.value
    row.last_error = reason[:500]
    row.leased_until = None
    row.updated_at = now
    session.add(row)


def mark_suppressed(session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
    _settle(session, row, OutboxStatus.SUPPRESSED, reason, now)


def mark_expired(session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
    _settle(session, row, OutboxStatus.EXPIRED, reason, now)


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s... after the 1st, 2nd, 3rd failure, at most ``MAX_BACKOFF``."""
    return min(timedelta(seconds=2 ** min(max(attempts, 1), 12)), MAX_BACKOFF)


def retry_later(session: Session, row: OutboxMessage, error: str, now: datetime,
                retry_after: timedelta | None = None) -> bool:
    """A real failure: count it and back off (or wait the provider's ``retry_after``).

    Returns False when the row is given up on instead (``expired``): it reached
    ``MAX_ATTEMPTS``, or its next try would come after its deadline.
    """
    row.attempts += 1
    if row.attempts >= MAX_ATTEMPTS:
        mark_expired(session, row, f"gave up after {row.attempts} attempts: {error}", now)
        return False
    next_at = now + (retry_after or backoff(row.attempts))
    if row.expires_at is not None and next_at >= as_utc(row.expires_at):
        mark_expired(session, row, f"deadline passed while retrying: {error}", now)
        return False
    row.status = OutboxStatus.PENDING.value
    row.next_attempt_at = next_at
    row.last_error = error[:500]
    row.leased_until = None
    row.updated_at = now
    session.add(row)
    return True


def put_back(session: Session, row: OutboxMessage, wait: timedelta, now: datetime) -> None:
    """Pacing, not failure: the row goes back in the queue for its slot, ``attempts`` and
    the backoff untouched."""
    row.status = OutboxStatus.PENDING.value
    row.next_attempt_at = now + wait
    row.last_error = "paced"
    row.leased_until = None
    row.updated_at = now
    session.add(row)


def mark_failed(session: Session, row: OutboxMessage, error: str, now: datetime) -> None:
    row.attempts += 1
    _settle(session, row, OutboxStatus.FAILED, error, now)
