"""Delivery status callbacks: what became of a message after the provider took it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.channels.twilio_common import INVALID_TO, OUTSIDE_WINDOW, UNSUBSCRIBED
from bot.outbound.dispatch import reroute
from core import contacts
from core.models import ChannelIdentity, ChannelKind, Contact, OutboxMessage, OutboxStatus

# A later callback never takes a row back: "delivered" after "read" is stale news.
_RANK = {
    OutboxStatus.SENT.value: 1,
    OutboxStatus.DELIVERED.value: 2,
    OutboxStatus.READ.value: 3,
    OutboxStatus.FAILED.value: 4,
    OutboxStatus.UNDELIVERED.value: 4,
}
FINAL_FAILURES = frozenset({OutboxStatus.FAILED.value, OutboxStatus.UNDELIVERED.value})


def apply_delivery_status(session: Session, provider_id: str, status: str,
                          error_code: int | None, now: datetime) -> OutboxMessage | None:
    """Record ``status`` on the row sent as ``provider_id``; act on the errors that matter."""
    status = status.lower()
    if status not in _RANK:
        return None  # queued, sending, accepted...: nothing new to record
    row = session.exec(select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
                       ).first()
    if row is None:
        return None
    if row.status in FINAL_FAILURES or _RANK[status] <= _RANK.get(row.status, 0):
        return row
    row.status = status
    row.updated_at = now
    if status in FINAL_FAILURES:
        row.last_error = f"{status}: twilio {error_code}" if error_code else status
        _on_failure(session, row, error_code, now)
    session.add(row)
    return row


def _on_failure(session: Session, row: OutboxMessage, error_code: int | None,
                now: datetime) -> None:
    if error_code == OUTSIDE_WINDOW and row.channel == ChannelKind.WHATSAPP.value:
        # WhatsApp usually reports the closed 24 h window here, after accepting the message.
        reroute(session, row, ChannelKind.SMS.value, now)
        return
    if error_code in (UNSUBSCRIBED, INVALID_TO):
        identity = session.get(ChannelIdentity, row.identity_id)
        if identity is None:
            return
        identity.reachable = False
        identity.unreachable_reason = "opted_out" if error_code == UNSUBSCRIBED \
            else "invalid_number"
        session.add(identity)
        contact = session.get(Contact, row.contact_id) if row.contact_id else None
        if error_code == UNSUBSCRIBED and contact is not None and contact.opted_out_at is None:
            contacts.opt_out(session, contact, now)
