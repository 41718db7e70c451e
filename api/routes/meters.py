"""Admin routes for meters: configure a sensor, import readings (CSV), check meter health.

A meter's household is named by its ref (as in the households routes); a household that does
not exist is a 422 with the reason, like any other bad field of the body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.access import by_slug, read, write
from api.auth import admin_router
from api.deps import ClockDep, SessionDep, SettingsDep, community_or_404, get_engine
from api.errors import error_responses, unprocessable
from api.limits import spool_body
from api.schemas import IsoDateTime, OptionalIsoDateTime
from core.clock import as_utc
from core.metering import Meter
from core.models import Household
from meters.health import (
    SILENT_AFTER,
    Flag,
    MeterHealth,
    community_meter_health,
    fill_last_seen,
)
from meters.ingest import ImportReport, UnknownCommunity, import_readings
from meters.sources.csv_import import UnrecognisedFormat, detect_format
from meters.store import add_meter

router = admin_router("meters")

CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")


class MeterRequest(BaseModel):
    sensor: str = Field(min_length=1, max_length=128, description="the Flukso sensor id")
    household: str = Field(min_length=1, description="the household's ref, e.g. H03")
    role: Literal["consumption", "production", "net"]
    sign: Literal[1, -1] = Field(default=1, description="-1 for a clamp wired the wrong way")
    phase: Literal[1, 2, 3] | None = None


class MeterOut(BaseModel):
    sensor: str
    household: str = Field(description="the household's ref")
    role: str
    sign: int
    phase: int | None


class RowErrorOut(BaseModel):
    row: int = Field(description="1-based line of the file (the header is line 1)")
    sensor: str | None
    reason: str


class ImportReportOut(BaseModel):
    """What an import did: rejected rows are counted, the first ones listed with a reason."""

    accepted: int
    rejected: int
    errors: list[RowErrorOut]
    rejected_by_reason: dict[str, int]
    ignored_columns: list[str]
    out_of_order: int
    households: list[int]
    slots_written: int
    format: str


class MeterHealthItem(BaseModel):
    sensor: str
    household: str | None = Field(description="the household's ref")
    role: str | None
    ok: bool
    flags: list[str]
    last_seen: OptionalIsoDateTime
    reasons: list[str] = Field(description="why it needs a look, for a technician")


class MeterHealthOut(BaseModel):
    community: str
    checked_at: IsoDateTime
    flagged: int
    meters: list[MeterHealthItem]


def _meter_out(meter: Meter, household_ref: str) -> MeterOut:
    return MeterOut(sensor=meter.sensor, household=household_ref, role=meter.role,
                    sign=meter.sign, phase=meter.phase)


@router.post("/communities/{slug}/meters", status_code=status.HTTP_201_CREATED,
             dependencies=[write(by_slug)],
             response_model=MeterOut, responses=error_responses(404, 409))
def create_meter(slug: str, request: MeterRequest, session: SessionDep,
                 clock: ClockDep) -> MeterOut:
    sensor = request.sensor.strip()
    duplicate = HTTPException(status.HTTP_409_CONFLICT,
                              f"sensor {sensor!r} is already configured as a meter")
    community = community_or_404(session, slug)
    household = session.exec(select(Household).where(
        Household.community_id == community.id,
        Household.ref == request.household.strip())).first()
    if household is None:
        raise unprocessable(f"unknown household {request.household!r} in {slug!r}: "
                            "add it first (POST .../households)", ("body", "household"))
    if session.exec(select(Meter).where(Meter.sensor == sensor)).first() is not None:
        raise duplicate
    try:
        meter = add_meter(session, household, sensor, role=request.role, sign=request.sign,
                          phase=request.phase, clock=clock)
        session.flush()
    except IntegrityError:
        raise duplicate from None
    return _meter_out(meter, household.ref)


@router.get("/communities/{slug}/meters", response_model=list[MeterOut],
            dependencies=[read(by_slug)],
            responses=error_responses(404))
def list_meters(slug: str, session: SessionDep) -> list[MeterOut]:
    community = community_or_404(session, slug)
    rows = session.exec(select(Meter, Household).join(
        Household, col(Household.id) == Meter.household_id).where(
        Meter.community_id == community.id).order_by(col(Household.ref), col(Meter.id))
    ).all()
    return [_meter_out(meter, household.ref) for meter, household in rows]


@router.post("/communities/{slug}/readings", response_model=ImportReportOut,
             dependencies=[write(by_slug)],
             responses=error_responses(400, 404, 413, 415), openapi_extra={"requestBody": {
                 "required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_csv(slug: str, request: Request,
                     engine: Annotated[Engine, Depends(get_engine)], clock: ClockDep,
                     settings: SettingsDep, sensor_prefix: str | None = None) -> ImportReport:
    """Readings as a text/csv body: ``sensor,timestamp,watts`` or the Flukso wide export.

    ``sensor_prefix`` names a single home's wide export (its file name, e.g. ``CDB011``).
    Rejected rows do not fail the request: the answer counts them and gives the first ones
    with their reason. A body over ``VOISINS_MAX_IMPORT_BYTES`` is a 413.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in CSV_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"send the readings as text/csv, not {content_type}")
    # The body goes to a spooled file as it arrives, never whole into memory.
    body = await spool_body(request, settings.max_import_bytes,
                            f" (VOISINS_MAX_IMPORT_BYTES={settings.max_import_bytes})")
    try:
        if not body.utf8 or body.nul:
            raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                "the body is not UTF-8 text: send a CSV file")
        if body.blank:
            raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                "empty body: send the CSV (header 'sensor,timestamp,watts' or "
                                "the Flukso wide export)")
        try:
            detect_format(body.first_line())
        except UnrecognisedFormat as error:
            raise unprocessable(str(error), ("body",)) from None

        def run() -> ImportReport:
            # Cleaning a month of 8-second readings takes a while: off the event loop. The
            # engine, not a session: the import commits in short batches, so webhooks never
            # wait long for the database.
            try:
                return import_readings(engine, slug, body.file, sensor_prefix=sensor_prefix,
                                       clock=clock)
            except UnknownCommunity:
                raise HTTPException(status.HTTP_404_NOT_FOUND,
                                    f"no community {slug!r}") from None

        return await run_in_threadpool(run)
    finally:
        body.close()


def health_reasons(item: MeterHealth, timezone: str, silent_after_minutes: int) -> list[str]:
    """What a technician reads: why this meter needs a look."""
    reasons = []
    for flag in item.flags:
        if flag == Flag.SILENT.value:
            if item.last_seen is None:
                reasons.append("silent: never sent any data")
            else:
                seen = as_utc(item.last_seen).astimezone(ZoneInfo(timezone))
                since = seen.strftime("%Y-%m-%d %H:%M")
                reasons.append(f"silent since {since} ({timezone}): no data for more than "
                               f"{silent_after_minutes} minutes (Wi-Fi, router password, power?)")
        elif flag == Flag.PRODUCTION_AT_NIGHT.value:
            reasons.append("production at night: the clamp is probably wired the wrong way "
                           "(set sign -1)")
        elif flag == Flag.ALL_ZERO_DAY.value:
            reasons.append("all zeros for a whole day: clamp off its cable, or sensor disabled")
        else:
            reasons.append(flag)
    return reasons


@router.get("/communities/{slug}/meters/health", response_model=MeterHealthOut,
            dependencies=[read(by_slug)],
            responses=error_responses(404))
def meters_health(slug: str, session: SessionDep, clock: ClockDep) -> MeterHealthOut:
    now = clock()
    community = community_or_404(session, slug)
    assert community.id is not None
    health = community_meter_health(session, community.id, now=now,
                                    timezone=community.timezone)
    fill_last_seen(session, health)
    roles = {m.id: m.role for m in session.exec(
        select(Meter).where(Meter.community_id == community.id)).all()}
    minutes = int(SILENT_AFTER.total_seconds() // 60)
    meters = [MeterHealthItem(sensor=item.sensor, household=item.household_ref,
                              role=roles.get(item.meter_id), ok=item.ok, flags=item.flags,
                              last_seen=_iso(item.last_seen),
                              reasons=health_reasons(item, community.timezone, minutes))
              for item in sorted(health, key=lambda h: (h.ok, h.household_ref or "", h.sensor))]
    return MeterHealthOut(community=slug, checked_at=now.isoformat(),
                          flagged=sum(1 for item in health if not item.ok), meters=meters)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
