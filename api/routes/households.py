"""Admin routes for households: add one (with the code a resident types to link to it), list.

An unknown cluster is created on the fly: a cluster is only a name (the homes behind one
low-voltage cabin), facilitators add cabins as they go, and a separate "create cluster" call
first would be ceremony. The answer echoes the cluster, and the list shows every household's
cluster, so a misspelt cabin is visible at once.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.access import by_slug, read, write
from api.auth import admin_router
from api.deps import ClockDep, SessionDep, community_or_404
from api.errors import error_responses
from core.communities import add_cluster, add_household
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
