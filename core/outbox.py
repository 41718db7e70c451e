"""The outbox: every outgoing message is a row first, with a dedupe key.

Scheduling twice or retrying never sends twice: the key is unique, and a row is claimed
before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.models import ChannelIdentity, Contact, OutboxMessage, OutboxStatus

# A contact who stopped still gets the answer to their STOP, nothing else.
KIND_STOP_ACK = "stop_ack"
# A resident's chart: queued with what to draw, drawn by the dispatcher just before sending.
KIND_CHART = "chart"
KINDS_ALLOWED_AFTER_STOP = frozenset({KIND_STOP_ACK})
MAX_BACKOFF = timedelta(minutes=30)


def enqueue(session: Session, *, dedupe_key: str, identity: ChannelIdentity, kind: str,
            payload: dict[str, Any], now: datetime, due_at: datetime | None = None
            ) -> OutboxMessage | None:
    """Add a row unless one with the same key exists; returns the new row or None."""
    assert identity.id is not None
    row = OutboxMessage(dedupe_key=dedupe_key, identity_id=identity.id,
                        contact_id=identity.contact_id, channel=identity.channel, kind=kind,
                        payload=payload, status=OutboxStatus.PENDING.value,
                        next_attempt_at=due_at or now, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def claim_due(session: Session, now: datetime, limit: int = 100,
              channel: str | None = None) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows as being sent and return them.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several dispatchers share the table; on
    SQLite there is one writer at a time, and the conditional update below is the guard.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING.value,
               or_(OutboxMessage.next_attempt_at.is_(None),  # type: ignore[union-attr]
                   OutboxMessage.next_attempt_at <= now))  # type: ignore[arg-type,operator]
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
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
        .values(status=OutboxStatus.SENDING.value, attempts=col(OutboxMessage.attempts) + 1,
                updated_at=now)
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    ).scalars().all()
    if not claimed_ids:
        return []
    session.expire_all()
    return list(session.exec(select(OutboxMessage).where(
        col(OutboxMessage.id).in_(claimed_ids)).order_by(
        col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))).all())


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
             "sent_at": now, "updated_at": now, "last_error": None}
            for row_id, provider_id in sent])


def mark_suppressed(session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
    row.status = OutboxStatus.SUPPRESSED.value
    row.last_error = reason
    row.updated_at = now
    session.add(row)


def retry_later(session: Session, row: OutboxMessage, error: str, now: datetime,
                retry_after: timedelta | None = None) -> None:
    """Capped exponential backoff, or the provider's own ``retry_after`` when it gives one."""
    delay = retry_after or min(timedelta(seconds=2 ** min(row.attempts, 12)), MAX_BACKOFF)
    row.status = OutboxStatus.PENDING.value
    row.next_attempt_at = now + delay
    row.last_error = error[:500]
    row.updated_at = now
    session.add(row)


def mark_failed(session: Session, row: OutboxMessage, error: str, now: datetime) -> None:
    row.status = OutboxStatus.FAILED.value
    row.last_error = error[:500]
    row.updated_at = now
    session.add(row)
