"""The audit log over the API: admins read what was written, by which token, with what
outcome (``core/audit.py``; recorded by ``api/audit_log.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field
from sqlmodel import select

from api.access import by_query, manage
from api.auth import admin_router
from api.deps import SessionDep, community_or_404
from api.errors import error_responses
from api.schemas import OptionalIsoDateTime
from core.audit import audit_entries
from core.clock import as_utc
from core.models import Community

router = admin_router("audit")


class AuditEntryOut(BaseModel):
    at: OptionalIsoDateTime
    token: str = Field(description="the token's name")
    community: str | None
    method: str
    route: str = Field(description="the route's template, e.g. /api/v1/alerts/{alert_id}/cancel")
    target: str = Field(description="the ids the path named, e.g. alert_id=12")
    status: int = Field(description="the HTTP status it was answered with")


@router.get("/audit", response_model=list[AuditEntryOut], responses=error_responses(404),
            dependencies=[manage(by_query("community"))])
def audit(session: SessionDep,
          community: Annotated[str | None, Query(
              max_length=40, description="one community (its slug); a community's admin "
                                         "token must name its own")] = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[AuditEntryOut]:
    """Admin writes, latest first."""
    community_id = community_or_404(session, community).id if community else None
    slugs = {c.id: c.slug for c in session.exec(select(Community)).all()}
    return [AuditEntryOut(at=as_utc(e.at).isoformat() if e.at else None, token=e.token_name,
                          community=slugs.get(e.community_id), method=e.method,
                          route=e.route, target=e.target, status=e.status)
            for e in audit_entries(session, community_id, limit)]
