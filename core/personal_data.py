"""What we store about one person, read in one place: the chat's "My data" shows it
(``bot/flows/my_data.py``) and the admin API exports it (``GET /api/v1/contacts/{id}/export``).

Their questionnaire answers are not part of it: residents are promised that only they see
their answers, and an export goes through an admin's hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from core.contacts import messages_sent_to
from core.models import ChannelIdentity, Community, Contact, Household


@dataclass(frozen=True)
class ChannelView:
    channel: str
    address: str


@dataclass(frozen=True)
class StoredFacts:
    """Everything stored about a contact, for "my data"."""

    name: str | None
    locale: str
    role: str
    community_name: str
    household_ref: str | None
    consented_at: datetime | None
    consent_version: str | None
    channels: tuple[ChannelView, ...]
    messages_sent: int


def stored_facts(session: Session, contact_id: int) -> StoredFacts | None:
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    community = session.get(Community, contact.community_id)
    household = session.get(Household, contact.household_id) if contact.household_id else None
    identities = session.exec(
        select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id)
    ).all()
    return StoredFacts(
        name=contact.name, locale=contact.locale, role=contact.role,
        community_name=community.name if community else "",
        household_ref=household.ref if household else None,
        consented_at=contact.consented_at, consent_version=contact.consent_version,
        channels=tuple(ChannelView(i.channel, i.address) for i in identities),
        messages_sent=messages_sent_to(session, contact_id),
    )
