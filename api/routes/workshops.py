"""Admin routes for workshops: create (a draft), send, read (answers and delivery per
channel), move, cancel, and the attendees' CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session

from api.access import by_row, by_slug, write
from api.access import read as read_access
from api.auth import admin_router
from api.deps import ClockDep, IdPath, SessionDep, community_or_404
from api.errors import error_responses, unprocessable
from bot.rendering.workshops import WORDING, group_post
from core.audience import AudienceError, AudienceSpec
from core.models import Community
from core.workshop_tables import Workshop, WorkshopStage
from core.workshops import (
    MAX_CAPACITY,
    MAX_PLACE,
    WorkshopError,
    attendees_csv,
    cancel_workshop,
    create_workshop,
    move_workshop,
    workshop_summary,
)
from scheduler.workshops import send_invitations, tell

router = admin_router("workshops")
BY_WORKSHOP = by_row(Workshop, "workshop_id")
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _with_offset(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-12-03T18:00:00+01:00")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


class AudienceBody(BaseModel):
    """Who is invited; left out: the whole community. Criteria add up."""

    model_config = ConfigDict(extra="forbid")
    cluster: str | None = Field(default=None, max_length=200, description="a cluster's name")
    languages: list[str] = Field(default_factory=list, max_length=5,
                                 description="only residents reading one of these")
    came_to: list[int] = Field(default_factory=list, max_length=50,
                               description="only those who came to one of these workshops")


class WorkshopRequest(BaseModel):
    title: dict[str, str] = Field(description='language → title, e.g. {"fr": "Atelier"}')
    description: dict[str, str] = Field(default_factory=dict)
    place: str = Field(min_length=1, max_length=MAX_PLACE)
    starts_at: datetime = Field(description="ISO-8601 with a UTC offset")
    ends_at: datetime = Field(description="ISO-8601 with a UTC offset, within 24 h of the "
                                          "start")
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY,
                                 description="a Yes beyond it goes on the waiting list")
    audience: AudienceBody | None = None
    author_locale: str | None = Field(default=None, description="the facilitator's language "
                                      "(default: the community's, else the title's first)")
    follow_up: bool = Field(default=False, description='ask "Did you come? Was it useful?" '
                            "to those who said Yes, after the end")

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _offsets(cls, value: datetime) -> datetime | None:
        return _with_offset(value)


class MoveRequest(BaseModel):
    """A new time and/or place; who said Yes or Maybe (or waits) is told."""

    starts_at: datetime | None = None
    ends_at: datetime | None = Field(default=None, description="default: the same length")
    place: str | None = Field(default=None, min_length=1, max_length=MAX_PLACE)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _offsets(cls, value: datetime | None) -> datetime | None:
        return _with_offset(value)


class Rsvps(BaseModel):
    yes: int
    maybe: int
    no: int
    waiting: int


class ChannelDelivery(BaseModel):
    queued: int
    sent: int
    delivered: int
    failed: int
    held_back: int = Field(description="not sent on purpose (cancelled, stopped meanwhile)")
    expired: int = Field(description="not sent because the workshop had started")


class WorkshopStepOut(BaseModel):
    stage: str
    due_at: str | None
    status: str
    recipients: int
    last_error: str | None


class WorkshopOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    community_id: int
    status: str = Field(description="draft, sent or cancelled")
    title: dict[str, str]
    description: dict[str, str]
    author_locale: str
    place: str
    starts_at: str | None
    ends_at: str | None
    capacity: int | None
    audience: dict[str, Any]
    follow_up: bool
    revision: int = Field(description="how many times it was moved")
    recipients: int
    rsvps: Rsvps
    delivery: dict[str, ChannelDelivery] = Field(description="the invitations, per channel")
    steps: list[WorkshopStepOut]


class SentWorkshop(WorkshopOut):
    queued: int = Field(description="invitations queued by this request")


class ChangedWorkshop(WorkshopOut):
    told: int = Field(description="people told of the change")


def _workshop_or_404(session: Session, workshop_id: int) -> tuple[Workshop, Community]:
    workshop = session.get(Workshop, workshop_id)
    community = session.get(Community, workshop.community_id) if workshop else None
    if workshop is None or community is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workshop {workshop_id}")
    return workshop, community


def _error(exc: WorkshopError | AudienceError) -> HTTPException:
    if isinstance(exc, WorkshopError) and exc.code in ("sent", "cancelled", "over"):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return unprocessable(str(exc), ("body",))


@router.post("/communities/{slug}/workshops", status_code=status.HTTP_201_CREATED,
             response_model=WorkshopOut, responses=error_responses(404),
             dependencies=[write(by_slug)])
def create(slug: str, request: WorkshopRequest, session: SessionDep, clock: ClockDep
           ) -> dict[str, Any]:
    """A draft: nothing goes out before ``/send``."""
    community = community_or_404(session, slug)
    try:
        audience = AudienceSpec.from_json(request.audience.model_dump(exclude_defaults=True)
                                          if request.audience else None)
        workshop = create_workshop(
            session, community, title=request.title, description=request.description,
            place=request.place, starts_at=request.starts_at, ends_at=request.ends_at,
            now=clock(), capacity=request.capacity, audience=audience,
            author_locale=request.author_locale, follow_up=request.follow_up)
    except (WorkshopError, AudienceError) as exc:
        raise _error(exc) from None
    return workshop_summary(session, workshop)


@router.get("/workshops/{workshop_id}", response_model=WorkshopOut,
            responses=error_responses(404), dependencies=[read_access(BY_WORKSHOP)])
def read(workshop_id: IdPath, session: SessionDep) -> dict[str, Any]:
    """Answers (counts) and the invitations' delivery per channel."""
    workshop, _ = _workshop_or_404(session, workshop_id)
    return workshop_summary(session, workshop)


@router.post("/workshops/{workshop_id}/send", dependencies=[write(BY_WORKSHOP)],
             response_model=SentWorkshop,
             responses=error_responses(404, 409))
def send(workshop_id: IdPath, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Queue one invitation per person of the audience (the dispatcher sends them under
    each channel's rate limits); 409 when sent already, cancelled or started."""
    workshop, _ = _workshop_or_404(session, workshop_id)
    try:
        queued = send_invitations(session, workshop, WORDING, clock(), group_post=group_post)
    except (WorkshopError, AudienceError) as exc:
        raise _error(exc) from None
    return {**workshop_summary(session, workshop), "queued": queued}


@router.post("/workshops/{workshop_id}/move", dependencies=[write(BY_WORKSHOP)],
             response_model=ChangedWorkshop,
             responses=error_responses(404, 409))
def move(workshop_id: IdPath, request: MoveRequest, session: SessionDep, clock: ClockDep
         ) -> dict[str, Any]:
    """New time and/or place: reminders follow, and those who said Yes or Maybe (or wait
    for a place) are told."""
    workshop, community = _workshop_or_404(session, workshop_id)
    now = clock()
    try:
        to_tell = move_workshop(session, workshop, community, now,
                                starts_at=request.starts_at, ends_at=request.ends_at,
                                place=request.place)
    except WorkshopError as exc:
        raise _error(exc) from None
    told = tell(session, workshop, WorkshopStage.MOVED, to_tell, WORDING, now)
    return {**workshop_summary(session, workshop), "told": told}


@router.patch("/workshops/{workshop_id}", response_model=ChangedWorkshop,
              dependencies=[write(BY_WORKSHOP)],
              responses=error_responses(404, 409))
def patch(workshop_id: IdPath, request: MoveRequest, session: SessionDep, clock: ClockDep
          ) -> dict[str, Any]:
    """The same as ``/move``."""
    return move(workshop_id, request, session, clock)


@router.post("/workshops/{workshop_id}/cancel", dependencies=[write(BY_WORKSHOP)],
             response_model=ChangedWorkshop,
             responses=error_responses(404, 409))
def cancel(workshop_id: IdPath, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Call it off: reminders are dropped, invitations not sent yet are held back, and
    those who said Yes or Maybe (or wait for a place) are told. 409 once it is over."""
    workshop, _ = _workshop_or_404(session, workshop_id)
    now = clock()
    try:
        to_tell = cancel_workshop(session, workshop, now)
    except WorkshopError as exc:
        raise _error(exc) from None
    told = tell(session, workshop, WorkshopStage.CANCELLED, to_tell, WORDING, now)
    return {**workshop_summary(session, workshop), "told": told}


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


# Names of residents: for those who run the community (facilitators), not viewers.
@router.get("/workshops/{workshop_id}/attendees.csv", response_class=Response,
            dependencies=[write(BY_WORKSHOP)], responses={
    200: {"description": "name, language, answer, answered_at, waiting_rank, attended, "
                         "useful, comment: one row per resident who answered",
          "content": {"text/csv": {"schema": {"type": "string"}}}},
    **error_responses(404)})
def attendees(workshop_id: IdPath, session: SessionDep) -> CsvResponse:
    workshop, _ = _workshop_or_404(session, workshop_id)
    return CsvResponse(attendees_csv(session, workshop), headers={
        "Content-Disposition": f'attachment; filename="workshop-{workshop_id}.csv"'})
