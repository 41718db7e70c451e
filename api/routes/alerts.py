"""Admin routes for alerts: plan, read (timeline, delivery counts, replies), cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import HTTPException, status
from pydantic import BaseModel, Field, field_validator

from api.access import by_row, by_slug, read, write
from api.auth import admin_router
from api.deps import ClockDep, IdPath, SessionDep, community_or_404
from api.errors import error_responses, unprocessable
from api.schemas import IsoDateTime
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

router = admin_router("alerts")
BY_ALERT = by_row(Alert, "alert_id")

MIN_DURATION_MINUTES, MAX_DURATION_MINUTES = 1, 24 * 60
# Alerts are planned for the grid of these decades; a year outside is a typo (and past year
# 9999 a date no longer adds up).
FIRST_YEAR, LAST_YEAR = 2000, 2099


class AlertPlanRequest(BaseModel):
    starts_at: datetime = Field(description="ISO-8601 with a UTC offset, years 2000 to 2099")
    duration_minutes: int = Field(description="1 to 1440", json_schema_extra={
        "minimum": MIN_DURATION_MINUTES, "maximum": MAX_DURATION_MINUTES})
    kind: Literal["planned", "surprise"]
    cluster: str | None = None
    record_only: bool = False
    drill: bool = Field(default=False, description="an exercise: it runs like a real alert, "
                        "and every message and result says it is an exercise")

    @field_validator("starts_at")
    @classmethod
    def _needs_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("starts_at needs a UTC offset, e.g. 2026-12-03T17:00:00+01:00")
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"starts_at must be between {FIRST_YEAR} and {LAST_YEAR}")
        return value

    @field_validator("duration_minutes")
    @classmethod
    def _duration(cls, value: int) -> int:
        # Checked here and not only by the planner: 1e30 minutes overflows any date first.
        if not MIN_DURATION_MINUTES <= value <= MAX_DURATION_MINUTES:
            raise ValueError("duration_minutes must be between 1 and 1440 (24 hours)")
        return value


class Delivery(BaseModel):
    queued: int
    sent: int
    delivered: int
    failed: int
    # Not sent because its moment had passed (a notice after the start, …): never sent late.
    expired: int


class TimelineStep(BaseModel):
    stage: str
    due_at: IsoDateTime
    status: str
    recipients: int
    delivery: Delivery
    # A step that raised is retried with backoff, then marked "failed" with the reason.
    attempts: int
    last_error: str | None


class AlertOut(BaseModel):
    """An alert with its timeline, delivery counts per stage and replies per intent."""

    id: int
    status: str
    kind: str
    starts_at: IsoDateTime
    ends_at: IsoDateTime
    duration_minutes: int
    cluster_id: int | None
    record_only: bool
    drill: bool = Field(description="an exercise, not a real grid alert")
    timeline: list[TimelineStep]
    replies: dict[str, int]


def _plan_error(exc: AlertPlanError) -> HTTPException:
    if exc.code == "overlap":
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return unprocessable(str(exc), ("body",))


def _alert_or_404(session: SessionDep, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    return alert


@router.post("/communities/{slug}/alerts", status_code=status.HTTP_201_CREATED,
             dependencies=[write(by_slug)],
             response_model=AlertOut, responses=error_responses(404, 409))
def create_alert(slug: str, request: AlertPlanRequest, session: SessionDep,
                 clock: ClockDep) -> dict[str, Any]:
    community = community_or_404(session, slug)
    try:
        alert = plan_alert(session, community, starts_at=request.starts_at,
                           duration_minutes=request.duration_minutes,
                           kind=AlertKind(request.kind), now=clock(),
                           cluster_name=request.cluster, record_only=request.record_only,
                           drill=request.drill)
    except AlertPlanError as exc:
        raise _plan_error(exc) from None
    return alert_summary(session, alert)


@router.get("/alerts/{alert_id}", response_model=AlertOut, responses=error_responses(404),
            dependencies=[read(BY_ALERT)])
def read_alert(alert_id: IdPath, session: SessionDep) -> dict[str, Any]:
    return alert_summary(session, _alert_or_404(session, alert_id))


@router.post("/alerts/{alert_id}/cancel", response_model=AlertOut, dependencies=[write(BY_ALERT)],
             responses=error_responses(404, 409))
def cancel(alert_id: IdPath, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    alert = _alert_or_404(session, alert_id)
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


class AlertSettingsOut(BaseModel):
    """A community's timeline offsets, in minutes."""

    planned_notice_minutes: int
    last_notice_minutes: int
    questionnaire_delay_minutes: int
    reminder_delay_minutes: int
    grace_minutes: int


def _settings_view(settings: AlertSettings) -> AlertSettingsOut:
    return AlertSettingsOut(**{name: int(getattr(settings, name))
                               for name in AlertSettingsOut.model_fields})


@router.get("/communities/{slug}/alert-settings", response_model=AlertSettingsOut,
            dependencies=[read(by_slug)],
            responses=error_responses(404))
def read_alert_settings(slug: str, session: SessionDep) -> AlertSettingsOut:
    community = community_or_404(session, slug)
    return _settings_view(alert_settings(session, community.id or 0))


@router.put("/communities/{slug}/alert-settings", response_model=AlertSettingsOut,
            dependencies=[write(by_slug)],
            responses=error_responses(404))
def update_alert_settings(slug: str, body: AlertSettingsBody, session: SessionDep
                          ) -> AlertSettingsOut:
    """Applies to alerts planned from now on; planned ones keep their timeline."""
    community = community_or_404(session, slug)
    settings = alert_settings(session, community.id or 0)
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(settings, name, value)
    if settings.last_notice_minutes >= settings.planned_notice_minutes:
        raise unprocessable("last_notice_minutes must be shorter than planned_notice_minutes",
                            ("body", "last_notice_minutes"))
    session.add(settings)
    session.flush()
    return _settings_view(settings)
