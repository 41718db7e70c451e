"""Admin API tokens, stored hashed: a token is shown once, when it is made, and only its
SHA-256 is kept (tokens are 256 random bits, so a plain hash is enough: nothing to guess).

A token has a role and, optionally, a community:

- ``admin``: everything; with a community, everything about that community (its tokens,
  its audit log, its residents' data rights) and nothing about the others.
- ``facilitator``: reads and runs its community (alerts, campaigns, households, meters, staff
  invites); no tokens, no residents' data rights.
- ``viewer``: reads its community, writes nothing.

A facilitator or viewer token always names a community: unscoped, only an admin.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from core.clock import Clock, utc_now
from core.communities import community_by_slug
from core.models import Community, _fk, _utc_column

TOKEN_PREFIX = "vt_"
MAX_NAME_LENGTH = 80


class TokenRole(enum.StrEnum):
    ADMIN = "admin"
    FACILITATOR = "facilitator"
    VIEWER = "viewer"


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    community_id: int | None = _fk("community.id")
    role: str
    # SHA-256 of the token, hex: the token itself is never stored.
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime | None = _utc_column()
    revoked_at: datetime | None = _utc_column()
    last_used_at: datetime | None = _utc_column()


class TokenError(ValueError):
    """A token that cannot be made: the message says why."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is shown once and never again."""

    row: ApiToken
    community_slug: str | None
    secret: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str, role: TokenRole | str,
                 community_slug: str | None = None, clock: Clock = utc_now) -> NewToken:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"name must be 1 to {MAX_NAME_LENGTH} characters")
    try:
        role = TokenRole(role)
    except ValueError:
        raise TokenError("role must be admin, facilitator or viewer") from None
    community: Community | None = None
    if community_slug is not None:
        community = community_by_slug(session, community_slug)
        if community is None:
            raise TokenError(f"no community {community_slug!r}")
    elif role is not TokenRole.ADMIN:
        raise TokenError(f"a {role.value} token needs a community")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role.value, token_hash=token_hash(secret),
                   community_id=community.id if community else None, created_at=clock())
    session.add(row)
    session.flush()
    return NewToken(row=row, community_slug=community.slug if community else None,
                    secret=secret)


def token_for_secret(session: Session, secret: str) -> ApiToken | None:
    """The live (not revoked) token with this secret, if any."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    return session.exec(select(ApiToken).where(
        ApiToken.token_hash == token_hash(secret),
        col(ApiToken.revoked_at).is_(None))).first()


def revoke_token(session: Session, token: ApiToken, clock: Clock = utc_now) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock()
        session.add(token)
        session.flush()


def list_tokens(session: Session, community_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(col(ApiToken.id))
    if community_id is not None:
        query = query.where(ApiToken.community_id == community_id)
    return list(session.exec(query).all())
