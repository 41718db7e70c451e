"""Admin routes for a community's staff: invite a facilitator or technician (a one-use code,
valid 7 days, sent to the bot with the residents' words), list them, make one a resident
again. Contacts' names are shown here only for staff (the name the invitation gave, or the
one they chat under)."""

from __future__ import annotations

from typing import Literal

from fastapi import HTTPException, Response, status
from pydantic import BaseModel, Field, field_validator
from sqlmodel import select

from api.access import PrincipalDep, by_slug, manage, read, write
from api.auth import admin_router
from api.deps import ClockDep, IdPath, SessionDep, community_or_404
from api.errors import error_responses
from api.schemas import IsoDateTime, OptionalIsoDateTime
from core.clock import as_utc
from core.models import ChannelIdentity, Contact, Role
from core.staff import back_to_resident, create_invite, staff_of

router = admin_router("staff")


class StaffInviteRequest(BaseModel):
    role: Literal["facilitator", "technician"]
    name: str | None = Field(default=None, max_length=80,
                             description="how the bot will call them, if you like")

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class StaffInviteOut(BaseModel):
    code: str = Field(description="to send to the bot: JOIN CODE (SMS, WhatsApp) or "
                                  "/start CODE (Telegram); one use")
    expires_at: IsoDateTime


class StaffMember(BaseModel):
    contact_id: int
    role: str
    name: str | None
    locale: str
    channels: list[str] = Field(description="the channels they use (no addresses)")
    joined_at: OptionalIsoDateTime


@router.post("/communities/{slug}/staff-invites", status_code=status.HTTP_201_CREATED,
             response_model=StaffInviteOut, responses=error_responses(404),
             dependencies=[write(by_slug)])
def invite_staff(slug: str, body: StaffInviteRequest, session: SessionDep, clock: ClockDep,
                 principal: PrincipalDep) -> StaffInviteOut:
    """A code that makes its sender a facilitator or technician of this community, once they
    confirm; one use, valid 7 days."""
    community = community_or_404(session, slug)
    invite = create_invite(session, community, Role(body.role), clock(), name=body.name,
                           created_by=principal.name)
    assert invite.expires_at is not None
    return StaffInviteOut(code=invite.code, expires_at=as_utc(invite.expires_at).isoformat())


@router.get("/communities/{slug}/staff", response_model=list[StaffMember],
            responses=error_responses(404), dependencies=[read(by_slug)])
def list_staff(slug: str, session: SessionDep) -> list[StaffMember]:
    community = community_or_404(session, slug)
    members = staff_of(session, community.id or 0)
    channels: dict[int, set[str]] = {}
    if members:
        for identity in session.exec(select(ChannelIdentity).where(
                ChannelIdentity.contact_id.in_([m.id for m in members]))  # type: ignore[union-attr]
                ).all():
            channels.setdefault(identity.contact_id or 0, set()).add(identity.channel)
    return [StaffMember(contact_id=m.id or 0, role=m.role, name=m.name, locale=m.locale,
                        channels=sorted(channels.get(m.id or 0, ())),
                        joined_at=as_utc(m.consented_at).isoformat() if m.consented_at else None)
            for m in members]


@router.delete("/communities/{slug}/staff/{contact_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=error_responses(404),
               dependencies=[manage(by_slug)])
def remove_staff(slug: str, contact_id: IdPath, session: SessionDep) -> Response:
    """Back to resident: they keep their membership, household and answers."""
    community = community_or_404(session, slug)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.community_id != community.id or contact.role == Role.RESIDENT:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no staff member {contact_id} in {slug!r}")
    back_to_resident(session, contact)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
