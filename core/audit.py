"""The audit log: every admin write through the API, who (the token's name), what (method,
route, the ids in its path), when and how it ended (the HTTP status).

Only what the route's path names is kept, never a body: residents' answers, names or numbers
cannot end up here.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from core.models import _fk, _utc_column


class AuditEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = _utc_column(index=True)
    # The token's name when it was used ("bootstrap" for VOISINS_ADMIN_TOKEN): kept after
    # the token is revoked or deleted.
    token_name: str
    token_id: int | None = Field(default=None)
    community_id: int | None = _fk("community.id", ondelete="SET NULL")
    method: str
    route: str  # the route's template, e.g. /api/v1/alerts/{alert_id}/cancel
    target: str  # its path parameters, e.g. alert_id=12
    status: int


def record(session: Session, entry: AuditEntry) -> None:
    session.add(entry)
    session.flush()


def audit_entries(session: Session, community_id: int | None = None, limit: int = 500
                  ) -> list[AuditEntry]:
    """The latest entries first; one community's only when given."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if community_id is not None:
        query = query.where(AuditEntry.community_id == community_id)
    return list(session.exec(query).all())
