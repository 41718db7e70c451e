"""One scheduled message for one reader: its outbox row, and the conversation it opens.

The wording side (the bot) decides which conversation a message opens and which ones it may
take over (``ConversationOpening``); the scheduler only writes it, in the same transaction
as the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core import conversations, outbox
from core.clock import as_utc
from core.messages import ConversationOpening, RenderedMessage
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from core.outbox import Subject


def deliver(session: Session, message: RenderedMessage, identity: ChannelIdentity, *,
            dedupe_key: str, subject: Subject, priority: Priority, expires_at: datetime,
            now: datetime) -> OutboxMessage | None:
    """Enqueue ``message`` (None if it was written before). Its deadline is the stage's, or
    the message's own when that is sooner. An expired row opens no conversation."""
    assert identity.id is not None
    if message.expires_at is not None:
        expires_at = min(as_utc(expires_at), as_utc(message.expires_at))
    row = outbox.enqueue(session, dedupe_key=dedupe_key, identity=identity, kind=message.kind,
                         payload=message.payload, now=now, subject=subject, priority=priority,
                         expires_at=expires_at)
    if row is not None and row.status == OutboxStatus.PENDING.value \
            and message.opens is not None:
        open_conversation(session, identity.id, message.opens, now)
    return row


def open_conversation(session: Session, identity_id: int, opening: ConversationOpening,
                      now: datetime) -> None:
    """Let a typed "1" answer this message, unless the resident is in a conversation the
    message may not take over."""
    current = conversations.load_state(session, identity_id, now)
    if current.flow not in opening.replaces:
        return
    conversations.save_state(session, identity_id, opening.flow, opening.step,
                             dict(opening.data), now, opening.ttl)
