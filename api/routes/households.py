"""Admin routes for households: add one (with the code a resident types to link to it), many
from a CSV file (``core/household_import.py``), list.

An unknown cluster is created on the fly: a cluster is only a name (the homes behind one
low-voltage cabin), facilitators add cabins as they go, and a separate "create cluster" call
first would be ceremony. The answer echoes the cluster, and the list shows every household's
cluster, so a misspelt cabin is visible at once.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.access import by_slug, read, write
from api.auth import admin_router
from api.deps import ClockDep, SessionDep, community_or_404
from api.errors import error_responses, problem
from core.communities import add_cluster, add_household
from core.household_import import HouseholdImportError, households_csv, import_households
from core.metering import Meter
from core.models import Cluster, Community, Household

router = admin_router("households")


class HouseholdRequest(BaseModel):
    ref: str = Field(min_length=1, max_length=64, description="the facilitators' name, e.g. H03")
    cluster: str | None = Field(default=None, max_length=64,
                                description="e.g. a low-voltage cabin; created if new")

    @field_validator("ref", "cluster")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class HouseholdCreated(BaseModel):
    ref: str
    code: str = Field(description="what a resident types to link to this household")
    cluster: str | None


class HouseholdOut(HouseholdCreated):
    meters: list[str] = Field(description="the sensors of its meters")


def _cluster(session: Session, community: Community, name: str) -> Cluster:
    found = session.exec(select(Cluster).where(Cluster.community_id == community.id,
                                               Cluster.name == name)).first()
    return found or add_cluster(session, community, name)


@router.post("/communities/{slug}/households", status_code=status.HTTP_201_CREATED,
             dependencies=[write(by_slug)],
             response_model=HouseholdCreated, responses=error_responses(404, 409))
def create_household(slug: str, request: HouseholdRequest, session: SessionDep,
                     clock: ClockDep) -> HouseholdCreated:
    duplicate = HTTPException(status.HTTP_409_CONFLICT,
                              f"household {request.ref!r} already exists in {slug!r}")
    community = community_or_404(session, slug)
    if session.exec(select(Household).where(Household.community_id == community.id,
                                            Household.ref == request.ref)).first():
        raise duplicate
    try:
        cluster = _cluster(session, community, request.cluster) if request.cluster else None
        household = add_household(session, community, request.ref, cluster, clock=clock)
        session.flush()
    except IntegrityError:  # the same ref added at the same moment by another request
        raise duplicate from None
    return HouseholdCreated(ref=household.ref, code=household.code,
                            cluster=cluster.name if cluster else None)


@router.get("/communities/{slug}/households", response_model=list[HouseholdOut],
            dependencies=[read(by_slug)],
            responses=error_responses(404))
def list_households(slug: str, session: SessionDep) -> list[HouseholdOut]:
    community = community_or_404(session, slug)
    clusters = {c.id: c.name for c in session.exec(
        select(Cluster).where(Cluster.community_id == community.id)).all()}
    sensors: dict[int, list[str]] = {}
    for meter in session.exec(select(Meter).where(Meter.community_id == community.id)
                              .order_by(col(Meter.id))).all():
        sensors.setdefault(meter.household_id, []).append(meter.sensor)
    households = session.exec(select(Household).where(
        Household.community_id == community.id).order_by(col(Household.ref))).all()
    return [HouseholdOut(ref=h.ref, code=h.code, cluster=clusters.get(h.cluster_id),
                         meters=sensors.get(h.id or 0, [])) for h in households]


CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


@router.post("/communities/{slug}/households.csv", status_code=status.HTTP_201_CREATED,
             response_class=Response, dependencies=[write(by_slug)],
             responses={201: {"description": "ref,cluster,code,sensors: one line per household, "
                                             "with the code a resident types to link to it",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                        **error_responses(400, 404, 409, 415)},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_households_csv(slug: str, request: Request, session: SessionDep,
                                clock: ClockDep) -> CsvResponse:
    """Households in bulk: a text/csv body of ``ref,cluster[,sensor,role,sign]`` rows (a header
    line is optional). All or nothing: a 422 lists every bad row (``loc`` is ``["body", line,
    column]``) and nothing is imported. A home with several sensors takes one row each."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in CSV_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"send the households as text/csv, not {content_type}")
    body = await request.body()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "the body is not UTF-8 text: send a CSV file")
    community = community_or_404(session, slug)
    try:
        imported = import_households(session, community, text, clock=clock)
    except HouseholdImportError as refused:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [
            problem(f"line {p.line}: {p.reason}; nothing was imported",
                    ["body", p.line, *([p.column] if p.column else [])], "csv_row")
            for p in refused.problems]) from None
    except IntegrityError:  # the same refs or sensors imported at the same moment
        raise HTTPException(status.HTTP_409_CONFLICT, "some of these households or sensors "
                            "were added meanwhile: nothing was imported, try again") from None
    return CsvResponse(households_csv(imported), status_code=status.HTTP_201_CREATED,
                       headers={"Content-Disposition":
                                f'attachment; filename="{slug}-households.csv"'})
