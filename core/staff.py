"""Staff are invited, not seeded: a one-use code, valid 7 days, that makes whoever sends it
(``JOIN CODE`` or ``/start CODE``, the residents' words) a facilitator or technician of one
community, once they have confirmed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from core.clock import as_utc
from core.codes import new_code
from core.communities import community_by_join_code
from core.models import Community, Contact, Role, _fk, _utc_column

INVITE_LIFETIME = timedelta(days=7)
INVITE_CODE_LENGTH = 8
STAFF_ROLES = (Role.FACILITATOR, Role.TECHNICIAN)


class StaffInvite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = _fk("community.id", nullable=False)
    role: str
    # The name staff will be greeted by; optional (the chat's display name otherwise).
    name: str | None = None
    code: str = Field(unique=True, index=True)
    created_at: datetime | None = _utc_column()
    expires_at: datetime | None = _utc_column()
    used_at: datetime | None = _utc_column()
    used_by: int | None = _fk("contact.id", ondelete="SET NULL")
    # Who made it: a token's name, or "chat:<contact id>" for a facilitator in the chat.
    created_by: str | None = None


class InviteStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class InviteView:
    code: str
    community_id: int
    community_name: str
    role: Role
    name: str | None
    status: InviteStatus


def create_invite(session: Session, community: Community, role: Role, now: datetime,
                  name: str | None = None, created_by: str | None = None) -> StaffInvite:
    if role not in STAFF_ROLES:
        raise ValueError("staff are facilitators or technicians")
    assert community.id is not None
    while True:
        code = new_code(INVITE_CODE_LENGTH)
        # Never a code a community already joins with: the same words reach both.
        if invite_by_code(session, code) is None and community_by_join_code(session, code) is None:
            break
    invite = StaffInvite(community_id=community.id, role=role.value, name=name, code=code,
                         created_at=now, expires_at=now + INVITE_LIFETIME,
                         created_by=created_by)
    session.add(invite)
    session.flush()
    return invite


def invite_by_code(session: Session, code: str) -> StaffInvite | None:
    return session.exec(select(StaffInvite).where(StaffInvite.code == code.upper())).first()


def invite_view(session: Session, code: str, now: datetime) -> InviteView | None:
    invite = invite_by_code(session, code)
    if invite is None:
        return None
    community = session.get(Community, invite.community_id)
    assert community is not None
    return InviteView(code=invite.code, community_id=invite.community_id,
                      community_name=community.name, role=Role(invite.role), name=invite.name,
                      status=_status(invite, now))


def _status(invite: StaffInvite, now: datetime) -> InviteStatus:
    if invite.used_at is not None:
        return InviteStatus.USED
    if invite.expires_at is None or as_utc(invite.expires_at) <= now:
        return InviteStatus.EXPIRED
    return InviteStatus.VALID


def claim_invite(session: Session, code: str, contact: Contact, now: datetime
                 ) -> StaffInvite | None:
    """Use the code for this contact (of its community): the contact gets the invite's role.
    None when the code is unknown, expired, used (even a moment ago, by someone else) or
    for another community."""
    invite = invite_by_code(session, code)
    if invite is None or invite.community_id != contact.community_id:
        return None
    # One use, even when two people send the code at the same moment.
    claimed = session.exec(
        update(StaffInvite)
        .where(col(StaffInvite.id) == invite.id, col(StaffInvite.used_at).is_(None),
               col(StaffInvite.expires_at) > now)
        .values(used_at=now, used_by=contact.id)
        # The row is read back below; SQLite's naive times cannot be compared in Python.
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return None
    session.refresh(invite)
    contact.role = invite.role
    if invite.name:  # the name staff were invited under: how the team knows them
        contact.name = invite.name
    session.add(contact)
    session.flush()
    return invite


def staff_of(session: Session, community_id: int) -> list[Contact]:
    return list(session.exec(select(Contact).where(
        Contact.community_id == community_id,
        col(Contact.role).in_([r.value for r in STAFF_ROLES])).order_by(col(Contact.id))).all())


def back_to_resident(session: Session, contact: Contact) -> None:
    contact.role = Role.RESIDENT.value
    session.add(contact)
    session.flush()
