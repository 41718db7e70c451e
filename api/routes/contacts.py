"""Residents' data rights over the admin API: the list of a community's contacts (no names,
no numbers), one person's data (the chat's "My data", whole), and erasure (the chat's "Forget
me"). The audit log records an erasure by the contact's id only."""

from __future__ import annotations

from fastapi import HTTPException, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.access import by_row, by_slug, manage
from api.auth import admin_router
from api.deps import IdPath, SessionDep, community_or_404
from api.errors import error_responses
from api.schemas import OptionalIsoDateTime
from core.clock import as_utc
from core.contacts import erase_contact
from core.models import ChannelIdentity, Contact
from core.personal_data import stored_facts

router = admin_router("contacts")
BY_CONTACT = by_row(Contact, "contact_id", "contact")


class ContactOut(BaseModel):
    id: int
    role: str
    locale: str
    channels: list[str] = Field(description="the channels they use (no addresses)")
    consent_version: str | None = Field(description="the version of the consent text they "
                                                    "agreed to")
    consented_at: OptionalIsoDateTime
    stopped: bool = Field(description="sent STOP: gets no messages")


class ChannelOut(BaseModel):
    channel: str
    address: str


class ContactExport(BaseModel):
    """Everything stored about the person, as "My data" shows it in the chat (their answers
    are theirs alone and are not exported)."""

    id: int
    name: str | None
    locale: str
    role: str
    community: str
    household: str | None
    consented_at: OptionalIsoDateTime
    consent_version: str | None
    channels: list[ChannelOut]
    messages_sent: int


@router.get("/communities/{slug}/contacts", response_model=list[ContactOut],
            responses=error_responses(404), dependencies=[manage(by_slug)])
def list_contacts(slug: str, session: SessionDep) -> list[ContactOut]:
    community = community_or_404(session, slug)
    contacts = session.exec(select(Contact).where(Contact.community_id == community.id)
                            .order_by(col(Contact.id))).all()
    channels: dict[int, set[str]] = {}
    for identity in session.exec(select(ChannelIdentity).where(
            col(ChannelIdentity.contact_id).in_([c.id for c in contacts]))).all():
        channels.setdefault(identity.contact_id or 0, set()).add(identity.channel)
    return [ContactOut(id=c.id or 0, role=c.role, locale=c.locale,
                       channels=sorted(channels.get(c.id or 0, ())),
                       consent_version=c.consent_version,
                       consented_at=as_utc(c.consented_at).isoformat() if c.consented_at
                       else None, stopped=c.opted_out_at is not None)
            for c in contacts]


@router.get("/contacts/{contact_id}/export", response_model=ContactExport,
            responses=error_responses(404), dependencies=[manage(BY_CONTACT)])
def export_contact(contact_id: IdPath, session: SessionDep) -> ContactExport:
    facts = stored_facts(session, contact_id)
    if facts is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id}")
    return ContactExport(
        id=contact_id, name=facts.name, locale=facts.locale, role=facts.role,
        community=facts.community_name, household=facts.household_ref,
        consented_at=as_utc(facts.consented_at).isoformat() if facts.consented_at else None,
        consent_version=facts.consent_version,
        channels=[ChannelOut(channel=c.channel, address=c.address) for c in facts.channels],
        messages_sent=facts.messages_sent)


@router.delete("/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=error_responses(404),
               dependencies=[manage(BY_CONTACT)])
def erase(contact_id: IdPath, session: SessionDep) -> Response:
    """The same erasure as "Forget me" in the chat: the contact, its conversations and its
    messages go; its addresses stay bare (no name, no link). No message is sent."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id}")
    erase_contact(session, contact)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
