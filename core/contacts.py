"""Contacts: enrolment with consent, language, household link, stop/start and erasure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, select

from core.models import (
    ChannelIdentity,
    Community,
    Contact,
    ConversationState,
    Household,
    OutboxMessage,
    OutboxStatus,
    Role,
)


def enrol_contact(session: Session, identity: ChannelIdentity, community_id: int, locale: str,
                  consent_version: str, now: datetime, name: str | None = None,
                  role: Role = Role.RESIDENT) -> Contact:
    """Create the contact at the moment of consent, recording the consent text's version."""
    contact = Contact(community_id=community_id, locale=locale, name=name, role=role.value,
                      consented_at=now, consent_version=consent_version, created_at=now)
    session.add(contact)
    session.flush()
    identity.contact_id = contact.id
    session.add(identity)
    session.flush()
    return contact


def link_household(session: Session, contact: Contact, household_id: int) -> None:
    household = session.get(Household, household_id)
    if household is None or household.community_id != contact.community_id:
        raise ValueError("household not in the contact's community")
    contact.household_id = household_id
    session.add(contact)


def set_locale(session: Session, contact: Contact, locale: str) -> None:
    contact.locale = locale
    session.add(contact)


def opt_out(session: Session, contact: Contact, now: datetime) -> None:
    contact.opted_out_at = now
    session.add(contact)
    _suppress_pending(session, contact)


def opt_in(session: Session, contact: Contact) -> None:
    contact.opted_out_at = None
    session.add(contact)


def renew_consent(session: Session, contact: Contact, consent_version: str, now: datetime
                  ) -> None:
    """They agreed again, to the consent text named ``consent_version``."""
    contact.consent_version = consent_version
    contact.consented_at = now
    session.add(contact)


def _suppress_pending(session: Session, contact: Contact) -> None:
    session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.contact_id == contact.id,  # type: ignore[arg-type]
               OutboxMessage.status == OutboxStatus.PENDING.value)  # type: ignore[arg-type]
        .values(status=OutboxStatus.SUPPRESSED.value)
    )


def erase_contact(session: Session, contact: Contact) -> None:
    """Erase everything about a contact.

    The contact row, its conversation states and every outbox row for it go. The channel
    identities stay only as bare addresses with no name or link (like anyone who wrote once),
    so that the farewell that confirms the erasure can still be delivered.
    """
    identities = session.exec(
        select(ChannelIdentity).where(ChannelIdentity.contact_id == contact.id)
    ).all()
    identity_ids = [i.id for i in identities]
    # Rows from before consent carry no contact id but still belong to these addresses.
    session.exec(delete(OutboxMessage).where(
        or_(OutboxMessage.contact_id == contact.id,  # type: ignore[arg-type]
            OutboxMessage.identity_id.in_(identity_ids))))  # type: ignore[attr-defined]
    session.exec(delete(ConversationState).where(
        ConversationState.identity_id.in_(identity_ids)))  # type: ignore[attr-defined]
    for identity in identities:
        identity.contact_id = None
        identity.display_name = None
        identity.locale_hint = None
        session.add(identity)
    session.flush()
    session.delete(contact)
    session.flush()


def messages_sent_to(session: Session, contact_id: int) -> int:
    sent = (OutboxStatus.SENT.value, OutboxStatus.DELIVERED.value, OutboxStatus.READ.value)
    count = session.exec(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.contact_id == contact_id,
            OutboxMessage.status.in_(sent))  # type: ignore[attr-defined]
    ).one()
    return int(count)


def community_of(session: Session, contact: Contact) -> Community:
    community = session.get(Community, contact.community_id)
    assert community is not None
    return community
