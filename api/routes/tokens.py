"""Admin routes for API tokens: make one (shown this once), list them (never the secret),
revoke one. An admin of one community manages that community's tokens only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import HTTPException, Request, Response, status
from pydantic import BaseModel, Field, field_validator
from sqlmodel import select

from api.access import PrincipalDep, any_token, by_row, manage
from api.auth import Level, admin_router
from api.deps import ClockDep, IdPath, SessionDep, community_or_404
from api.errors import error_responses, unprocessable
from api.schemas import OptionalIsoDateTime
from core.clock import as_utc
from core.models import Community
from core.tokens import (
    MAX_NAME_LENGTH,
    ApiToken,
    TokenError,
    create_token,
    list_tokens,
    revoke_token,
)

router = admin_router("tokens")


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH,
                      description="who or what uses it, e.g. 'Cité Jardin facilitators'")
    community: str | None = Field(default=None, max_length=40,
                                  description="its community's slug; none: every community "
                                              "(admin only)")
    role: Literal["admin", "facilitator", "viewer"] = Field(
        description="admin: everything (of its community); facilitator: reads and runs its "
                    "community; viewer: reads its community")

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class TokenOut(BaseModel):
    id: int
    name: str
    community: str | None
    role: str
    created_at: OptionalIsoDateTime
    revoked_at: OptionalIsoDateTime


class TokenCreated(BaseModel):
    id: int
    name: str
    community: str | None
    role: str
    token: str = Field(description="the token itself: shown this once, never again")


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated,
             dependencies=[any_token(Level.MANAGE)], responses=error_responses(404))
def make_token(body: TokenRequest, request: Request, session: SessionDep,
               principal: PrincipalDep, clock: ClockDep) -> TokenCreated:
    """A new token, shown once. A facilitator or viewer token names its community."""
    community_id = community_or_404(session, body.community).id if body.community else None
    if not principal.sees(community_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "this token may make tokens for its own community only")
    request.state.audited_community = community_id
    try:
        made = create_token(session, body.name, body.role, body.community, clock=clock)
    except TokenError as exc:
        raise unprocessable(str(exc), ("body",)) from None
    assert made.row.id is not None
    return TokenCreated(id=made.row.id, name=made.row.name, community=made.community_slug,
                        role=made.row.role, token=made.secret)


@router.get("/tokens", response_model=list[TokenOut], dependencies=[any_token(Level.MANAGE)])
def tokens(session: SessionDep, principal: PrincipalDep) -> list[TokenOut]:
    """The tokens this token may manage (its community's, or all), revoked ones included."""
    slugs = {c.id: c.slug for c in session.exec(select(Community)).all()}
    return [TokenOut(id=row.id or 0, name=row.name, community=slugs.get(row.community_id),
                     role=row.role, created_at=_iso(row.created_at),
                     revoked_at=_iso(row.revoked_at))
            for row in list_tokens(session, principal.community_id)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=error_responses(404),
               dependencies=[manage(by_row(ApiToken, "token_id", "token"))])
def revoke(token_id: IdPath, session: SessionDep, clock: ClockDep) -> Response:
    """The token stops working at once; it stays listed, with ``revoked_at``."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id}")
    revoke_token(session, row, clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


