"""Admin routes for eco-gestures: the catalogue (list, create, new version) and the
commitments of a community, counted together (JSON) or as a pseudonymous table (CSV).

The catalogue is content: every gesture in every language, with its sources. An edit is a new
version; commitments keep the version their resident chose. Commitment figures follow the
privacy rule of every group figure: a gesture chosen by fewer than ``privacy_k`` households
shows no figure at all, and its check-in answers show once ``privacy_k`` households answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.access import any_token, by_slug, read, unscoped_admin
from api.auth import admin_router
from api.deps import ClockDep, SessionDep, community_or_404
from api.errors import error_responses
from core.gesture_content import (
    MAX_EFFORT,
    MAX_SLUG,
    Category,
    ContentError,
    Helps,
    parse_gesture,
)
from core.gesture_export import commitments_csv
from core.gestures import (
    CheckInAnswer,
    Gesture,
    catalogue,
    commitment_stats,
    commitment_tally,
    create_gesture,
    latest_gesture,
    new_gesture_version,
)

router = admin_router("gestures")

SLUG_PATTERN = r"^[a-z][a-z0-9_]*$"
GestureSlug = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=MAX_SLUG,
                                  description="the gesture's slug")]
Texts = Annotated[dict[str, str], Field(description="a text per language: fr, nl, en, ar, es")]


class SourceIn(BaseModel):
    publisher: str
    title: str
    url: str | None = Field(default=None, description="https://…")
    note: str | None = Field(default=None, description="what the figure rests on")


class GestureIn(BaseModel):
    """A gesture as in ``core/content/gestures/*.yaml``; every problem is reported at once."""

    slug: str = Field(pattern=SLUG_PATTERN, max_length=MAX_SLUG)
    category: Category
    helps: Helps = Field(description="when it makes a difference: during an alert, every "
                                     "day, or both")
    effort: int = Field(default=1, ge=1, le=MAX_EFFORT, description="1 is the easiest")
    common: bool = Field(default=False, description="many tenants already do it")
    text: Texts = Field(description="the gesture, at most 100 characters per language")
    why: Texts = Field(description="one line with an order of magnitude, at most 120")
    alert: Texts | None = Field(default=None, description="the short form for an alert "
                                "message (at most 60), required when it helps during an "
                                "alert, refused otherwise")
    sources: list[SourceIn] = Field(min_length=1)


class GestureOut(BaseModel):
    slug: str
    version: int
    category: Category
    helps: Helps
    effort: int
    common: bool
    text: dict[str, str]
    why: dict[str, str]
    alert: dict[str, str] | None
    sources: list[SourceIn]
    origin: str = Field(description="content (the files) or api")
    created_at: str | None = Field(description="ISO-8601: when this version was made")


def gesture_out(row: Gesture) -> GestureOut:
    return GestureOut(
        slug=row.slug, version=row.version, category=Category(row.category),
        helps=Helps(row.helps), effort=row.effort, common=row.common, text=dict(row.text),
        why=dict(row.why), alert=dict(row.alert_text) if row.alert_text else None,
        sources=[SourceIn.model_validate(source) for source in row.sources],
        origin=row.origin, created_at=row.created_at.isoformat() if row.created_at else None)


def _refused(exc: ContentError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [
        {"type": "gesture", "loc": ["body"], "msg": problem} for problem in exc.problems])


def _definition(body: GestureIn) -> Any:
    try:
        return parse_gesture(body.model_dump(exclude_none=True))
    except ContentError as exc:
        raise _refused(exc) from None


# The catalogue is content, the same for every community: any token reads it.
@router.get("/gestures", response_model=list[GestureOut], dependencies=[any_token()])
def list_gestures(session: SessionDep,
                  category: Annotated[Category | None, Query()] = None) -> list[GestureOut]:
    """The current catalogue (the latest version of each gesture), in the order residents
    see it, with every language and the sources."""
    return [gesture_out(row) for row in catalogue(session, category)]


@router.post("/gestures", status_code=status.HTTP_201_CREATED, response_model=GestureOut,
             responses=error_responses(409), dependencies=[unscoped_admin()])
def create(body: GestureIn, session: SessionDep, clock: ClockDep) -> GestureOut:
    """A new gesture (version 1)."""
    definition = _definition(body)
    if latest_gesture(session, body.slug, active_only=False) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"gesture {body.slug!r} exists already: use "
                            f"PUT /api/v1/gestures/{body.slug} for a new version")
    return gesture_out(create_gesture(session, definition, clock()))


@router.put("/gestures/{slug}", response_model=GestureOut, responses=error_responses(404),
            dependencies=[unscoped_admin()])
def update(slug: GestureSlug, body: GestureIn, session: SessionDep, clock: ClockDep
           ) -> GestureOut:
    """A new version; commitments already made keep the version they chose."""
    if body.slug != slug:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [
            {"type": "gesture", "loc": ["body", "slug"],
             "msg": f"the body says {body.slug!r}, the URL {slug!r}", "input": body.slug}])
    definition = _definition(body)
    if latest_gesture(session, slug, active_only=False) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no gesture {slug!r}: create it with POST first")
    return gesture_out(new_gesture_version(session, slug, definition, clock()))


# --------------------------------------------------------------------------------------------
# Commitments, counted together
# --------------------------------------------------------------------------------------------

class CheckInCounts(BaseModel):
    yes: int
    sometimes: int
    not_this_time: int
    stop: int = Field(description="\"stop this one\": the gesture was dropped")


class GestureCommitments(BaseModel):
    gesture: str
    withheld: bool = Field(description="chosen by fewer than min_group households: no figure")
    households: int | None = Field(description="households that have chosen it (now or "
                                               "before)")
    active_households: int | None = Field(description="households for whom it is active now")
    check_ins: CheckInCounts | None = Field(description="answers to \"did you manage to…?\"; "
                                            "null until min_group households answered")


class CommitmentsView(BaseModel):
    community: str
    min_group: int = Field(description="k: the community's privacy_k")
    households_with_gesture: int | None = Field(
        description="households with at least one active gesture; null below min_group")
    most_chosen: list[str] = Field(description="the most chosen gestures among those shown")
    gestures: list[GestureCommitments]


@router.get("/communities/{slug}/commitments", tags=["communities"],
            dependencies=[read(by_slug)],
            response_model=CommitmentsView, responses=error_responses(404))
def commitments(slug: str, session: SessionDep, clock: ClockDep) -> CommitmentsView:
    """Per gesture of the catalogue: how many households chose it and how their check-ins
    went, each figure only over at least ``privacy_k`` households."""
    community = community_or_404(session, slug)
    return _commitments_view(session, community.id or 0, community.slug,
                             community.privacy_k, clock())


def _commitments_view(session: Session, community_id: int, slug: str, k: int,
                      now: datetime) -> CommitmentsView:
    tally = commitment_tally(session, community_id, now, k)
    gestures = []
    for gesture, stats in commitment_stats(session, community_id, now, k).items():
        if stats is None:
            gestures.append(GestureCommitments(gesture=gesture, withheld=True, households=None,
                                               active_households=None, check_ins=None))
            continue
        counts = None
        if stats.check_ins is not None:
            counts = CheckInCounts(**{a.value: stats.check_ins.get(a.value, 0)
                                      for a in CheckInAnswer})
        gestures.append(GestureCommitments(
            gesture=gesture, withheld=False, households=stats.households,
            active_households=stats.active_households, check_ins=counts))
    return CommitmentsView(community=slug, min_group=k,
                           households_with_gesture=tally.households if tally else None,
                           most_chosen=list(tally.most_chosen) if tally else [],
                           gestures=gestures)


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


@router.get("/communities/{slug}/commitments.csv", tags=["communities"],
            dependencies=[read(by_slug)],
            response_class=Response,
            responses={200: {"description": "household (a pseudonym drawn afresh for each "
                                            "export), gesture, version, cadence, chosen_on, "
                                            "dropped_on, and check-in answers per commitment; "
                                            "only gestures chosen by privacy_k households",
                             "content": {"text/csv": {"schema": {"type": "string"}}}},
                       **error_responses(404)})
def commitments_table(slug: str, session: SessionDep, clock: ClockDep) -> CsvResponse:
    community = community_or_404(session, slug)
    text = commitments_csv(session, community.id or 0, clock(), community.privacy_k)
    return CsvResponse(text, headers={
        "Content-Disposition": f'attachment; filename="commitments-{community.slug}.csv"'})
