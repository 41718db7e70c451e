"""Admin routes for meters: configure a sensor, import readings (CSV), check meter health.

A meter's household is named by its ref (as in the households routes); a household that does
not exist is a 422 with the reason, like any other bad field of the body.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.auth import require_admin
from api.deps import community_or_404, get_clock, get_engine
from core.clock import Clock, as_utc
from core.db import session_scope
from core.metering import Meter
from core.models import Household
from meters.health import (
    SILENT_AFTER,
    Flag,
    MeterHealth,
    community_meter_health,
    fill_last_seen,
)
from meters.ingest import UnknownCommunity, import_readings
from meters.sources.csv_import import UnrecognisedFormat, detect_format
from meters.store import add_meter

router = APIRouter(prefix="/api/v1", tags=["meters"],
                   dependencies=[Depends(require_admin)])

CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")


class MeterRequest(BaseModel):
    sensor: str = Field(min_length=1, max_length=128, description="the Flukso sensor id")
    household: str = Field(min_length=1, description="the household's ref, e.g. H03")
    role: Literal["consumption", "production", "net"]
    sign: Literal[1, -1] = Field(default=1, description="-1 for a clamp wired the wrong way")
    phase: Literal[1, 2, 3] | None = None


def _meter_json(meter: Meter, household_ref: str) -> dict[str, Any]:
    return {"sensor": meter.sensor, "household": household_ref, "role": meter.role,
            "sign": meter.sign, "phase": meter.phase}


@router.post("/communities/{slug}/meters", status_code=status.HTTP_201_CREATED)
def create_meter(slug: str, request: MeterRequest,
                 engine: Annotated[Engine, Depends(get_engine)],
                 clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    sensor = request.sensor.strip()
    duplicate = HTTPException(status.HTTP_409_CONFLICT,
                              f"sensor {sensor!r} is already configured as a meter")
    try:
        with session_scope(engine) as session:
            community = community_or_404(session, slug)
            household = session.exec(select(Household).where(
                Household.community_id == community.id,
                Household.ref == request.household.strip())).first()
            if household is None:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                    f"unknown household {request.household!r} in {slug!r}: "
                                    "add it first (POST .../households)")
            if session.exec(select(Meter).where(Meter.sensor == sensor)).first() is not None:
                raise duplicate
            meter = add_meter(session, household, sensor, role=request.role, sign=request.sign,
                              phase=request.phase, clock=clock)
            return _meter_json(meter, household.ref)
    except IntegrityError:
        raise duplicate from None


@router.get("/communities/{slug}/meters")
def list_meters(slug: str, engine: Annotated[Engine, Depends(get_engine)]
                ) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        community = community_or_404(session, slug)
        rows = session.exec(select(Meter, Household).join(
            Household, col(Household.id) == Meter.household_id).where(
            Meter.community_id == community.id).order_by(col(Household.ref), col(Meter.id))
        ).all()
        return [_meter_json(meter, household.ref) for meter, household in rows]


@router.post("/communities/{slug}/readings", openapi_extra={"requestBody": {
    "required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_csv(slug: str, request: Request,
                     engine: Annotated[Engine, Depends(get_engine)],
                     clock: Annotated[Clock, Depends(get_clock)],
                     sensor_prefix: str | None = None) -> dict[str, Any]:
    """Readings as a text/csv body: ``sensor,timestamp,watts`` or the Flukso wide export.

    ``sensor_prefix`` names a single home's wide export (its file name, e.g. ``CDB011``).
    Rejected rows do not fail the request: the answer counts them and gives the first ones
    with their reason.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in CSV_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"send the readings as text/csv, not {content_type}")
    body = await request.body()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "the body is not UTF-8 text: send a CSV file") from None
    if not text.strip():
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "empty body: send the CSV (header 'sensor,timestamp,watts' or the "
                            "Flukso wide export)")
    try:
        detect_format(text)
    except UnrecognisedFormat as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None

    def run() -> dict[str, Any]:
        # Cleaning a month of 8-second readings takes a while: off the event loop. The
        # engine, not a session: the import commits in short batches.
        try:
            report = import_readings(engine, slug, io.BytesIO(body),
                                     sensor_prefix=sensor_prefix, clock=clock)
        except UnknownCommunity:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no community {slug!r}") from None
        return report.to_dict()

    return await run_in_threadpool(run)


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


@router.get("/communities/{slug}/meters/health")
def meters_health(slug: str, engine: Annotated[Engine, Depends(get_engine)],
                  clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    now = clock()
    with session_scope(engine) as session:
        community = community_or_404(session, slug)
        assert community.id is not None
        health = community_meter_health(session, community.id, now=now,
                                        timezone=community.timezone)
        fill_last_seen(session, health)
        roles = {m.id: m.role for m in session.exec(
            select(Meter).where(Meter.community_id == community.id)).all()}
    minutes = int(SILENT_AFTER.total_seconds() // 60)
    meters = [{"sensor": item.sensor, "household": item.household_ref,
               "role": roles.get(item.meter_id), "ok": item.ok, "flags": item.flags,
               "last_seen": _iso(item.last_seen),
               "reasons": health_reasons(item, community.timezone, minutes)}
              for item in sorted(health, key=lambda h: (h.ok, h.household_ref or "", h.sensor))]
    return {"community": slug, "checked_at": now.isoformat(),
            "flagged": sum(1 for item in health if not item.ok), "meters": meters}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
