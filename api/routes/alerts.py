"""Admin routes for alerts: plan, read (timeline, delivery counts, replies), cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.engine import Engine

from api.auth import require_admin
from api.deps import community_or_404, get_clock, get_engine
from core.alerts import (
    Alert,
    AlertKind,
    AlertPlanError,
    AlertSettings,
    alert_settings,
    alert_summary,
    cancel_alert,
    plan_alert,
)
from core.clock import Clock
from core.db import session_scope

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(require_admin)])


class AlertPlanRequest(BaseModel):
    starts_at: datetime = Field(description="ISO-8601 with a UTC offset")
    duration_minutes: int = Field(description="1 to 1440")
    kind: Literal["planned", "surprise"]
    cluster: str | None = None
    record_only: bool = False

    @field_validator("starts_at")
    @classmethod
    def _needs_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("starts_at needs a UTC offset, e.g. 2026-12-03T17:00:00+01:00")
        return value


def _plan_error(exc: AlertPlanError) -> HTTPException:
    code = status.HTTP_409_CONFLICT if exc.code == "overlap" else \
        status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(code, str(exc))


@router.post("/communities/{slug}/alerts", status_code=status.HTTP_201_CREATED)
def create_alert(slug: str, request: AlertPlanRequest,
                 engine: Annotated[Engine, Depends(get_engine)],
                 clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    with session_scope(engine) as session:
        community = community_or_404(session, slug)
        try:
            alert = plan_alert(session, community, starts_at=request.starts_at,
                               duration_minutes=request.duration_minutes,
                               kind=AlertKind(request.kind), now=clock(),
                               cluster_name=request.cluster, record_only=request.record_only)
        except AlertPlanError as exc:
            raise _plan_error(exc) from None
        return alert_summary(session, alert)


@router.get("/alerts/{alert_id}")
def read_alert(alert_id: int, engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    with session_scope(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
        return alert_summary(session, alert)


@router.post("/alerts/{alert_id}/cancel")
def cancel(alert_id: int, engine: Annotated[Engine, Depends(get_engine)],
           clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    with session_scope(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
        try:
            cancel_alert(session, alert, clock())
        except AlertPlanError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return alert_summary(session, alert)


class AlertSettingsBody(BaseModel):
    """Timeline offsets in minutes; any field left out keeps its current value."""

    planned_notice_minutes: int | None = Field(default=None, ge=31, le=7 * 24 * 60)
    last_notice_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    questionnaire_delay_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    reminder_delay_minutes: int | None = Field(default=None, ge=60, le=14 * 24 * 60)
    grace_minutes: int | None = Field(default=None, ge=1, le=48 * 60)


def _settings_view(settings: AlertSettings) -> dict[str, int]:
    return {name: int(getattr(settings, name)) for name in AlertSettingsBody.model_fields}


@router.get("/communities/{slug}/alert-settings")
def read_alert_settings(slug: str, engine: Annotated[Engine, Depends(get_engine)]
                        ) -> dict[str, int]:
    with session_scope(engine) as session:
        community = community_or_404(session, slug)
        return _settings_view(alert_settings(session, community.id or 0))


@router.put("/communities/{slug}/alert-settings")
def update_alert_settings(slug: str, body: AlertSettingsBody,
                          engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, int]:
    """Applies to alerts planned from now on; planned ones keep their timeline."""
    with session_scope(engine) as session:
        community = community_or_404(session, slug)
        settings = alert_settings(session, community.id or 0)
        for name, value in body.model_dump(exclude_none=True).items():
            setattr(settings, name, value)
        if settings.last_notice_minutes >= settings.planned_notice_minutes:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "last_notice_minutes must be shorter than "
                                "planned_notice_minutes")
        session.add(settings)
        session.flush()
        return _settings_view(settings)
