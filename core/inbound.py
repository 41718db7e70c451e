"""Inbound idempotency: a provider may deliver the same webhook twice; we act once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.models import InboundEvent


def first_delivery(session: Session, channel: str, provider_id: str, now: datetime) -> bool:
    """Record the event; False if it was already recorded (a re-delivery)."""
    try:
        with session.begin_nested():
            session.add(InboundEvent(channel=channel, provider_id=provider_id, received_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True
