"""Channel identities: one address on one channel, known from the first message."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from core.models import ChannelIdentity, ChannelKind
from core.phone import normalise_phone

PHONE_CHANNELS = frozenset({ChannelKind.SMS.value, ChannelKind.WHATSAPP.value})


def canonical_address(channel: str, address: str) -> str:
    """Phone numbers become E.164 so "0470 12 34 56" and "+32470123456" are one person."""
    if channel in PHONE_CHANNELS:
        return normalise_phone(address)
    return address.strip()


def identity_for(session: Session, channel: str, address: str) -> ChannelIdentity | None:
    canonical = canonical_address(channel, address)
    return session.exec(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                      ChannelIdentity.address == canonical)
    ).first()


def touch_identity(session: Session, channel: str, address: str, now: datetime,
                   display_name: str | None = None, locale_hint: str | None = None
                   ) -> ChannelIdentity:
    """Find or create the identity and note that the person just wrote (WhatsApp's window)."""
    identity = identity_for(session, channel, address)
    if identity is None:
        identity = ChannelIdentity(channel=channel, address=canonical_address(channel, address),
                                   created_at=now)
    identity.last_inbound_at = now
    # Writing to us means they can be reached again (e.g. after unblocking the bot).
    identity.reachable = True
    identity.unreachable_reason = None
    if display_name:
        identity.display_name = display_name[:100]
    if locale_hint:
        identity.locale_hint = locale_hint[:16]
    session.add(identity)
    session.flush()
    return identity
