"""Meter health: which meter needs the technician, and why.

Flags (one meter can have several):
- ``silent``: no valid reading for more than ``silent_after`` (2 h): Wi-Fi down, a changed
  router password, a power cut at the FLM;
- ``production_at_night``: a production clamp reports power in the dark hours, the sign of a
  clamp wired the wrong way (a correctly wired inverter draws a little, so reads below zero);
- ``all_zero_day``: a whole local day of readings that are all exactly zero (a clamp off its
  cable, or a sensor that was disabled).

The bot renders the daily digest ("3 meters need a look: ..."); here it is plain data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.metering import SLOT_SECONDS, Meter, MeterEnergy15, MeterRole
from core.models import Household
from meters.cleaning import slot_to_utc, slots_in_local_day
from meters.store import load_meter_slots, meters_frame

SILENT_AFTER = timedelta(hours=2)
# Dark all year round in Belgium (the longest day ends ~22:00 and starts ~05:30).
NIGHT_HOURS = (23, 4)
NIGHT_PRODUCTION_WATTS = 2.0
LOOKBACK = timedelta(days=2)


class Flag(StrEnum):
    SILENT = "silent"
    PRODUCTION_AT_NIGHT = "production_at_night"
    ALL_ZERO_DAY = "all_zero_day"


@dataclass
class MeterHealth:
    meter_id: int
    sensor: str
    household_id: int
    flags: list[str] = field(default_factory=list)
    last_seen: datetime | None = None
    household_ref: str | None = None

    @property
    def ok(self) -> bool:
        return not self.flags


@dataclass
class MeterDigest:
    """The daily digest for technicians and facilitators: only meters that need a look."""

    community_id: int
    day: date
    count: int
    items: list[MeterHealth]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def meter_flags(meter_slots: pd.DataFrame, meters: pd.DataFrame, *, now: datetime,
                timezone: str, silent_after: timedelta = SILENT_AFTER,
                night_hours: tuple[int, int] = NIGHT_HOURS,
                night_production_watts: float = NIGHT_PRODUCTION_WATTS) -> list[MeterHealth]:
    """Health of each meter from its recent 15-minute rows.

    ``meter_slots``: meter_id, slot, wh, covered_s, last_s; ``meters``: meter_id, sensor,
    household_id, role, sign.
    """
    now_utc = pd.Timestamp(as_utc(now))
    slots = meter_slots[meter_slots["covered_s"] > 0].copy()
    slots["end"] = slot_to_utc(slots["slot"]) + pd.to_timedelta(slots["last_s"], unit="s")
    last_seen = slots.groupby("meter_id")["end"].max()
    local = slot_to_utc(slots["slot"]).tz_convert(timezone)
    hour = local.hour.to_numpy()
    start, end = night_hours
    slots["night"] = (hour >= start) | (hour < end) if start > end else (
        (hour >= start) & (hour < end))
    slots["day"] = np.asarray(local.date, dtype=object)
    result: list[MeterHealth] = []
    for meter in meters.itertuples(index=False):
        mine = slots[slots["meter_id"] == meter.meter_id]
        seen = last_seen.get(meter.meter_id)
        health = MeterHealth(meter_id=int(meter.meter_id), sensor=str(meter.sensor),
                             household_id=int(meter.household_id),
                             last_seen=None if seen is None else seen.to_pydatetime())
        if seen is None or now_utc - seen > pd.Timedelta(silent_after):
            health.flags.append(Flag.SILENT.value)
        if meter.role == MeterRole.PRODUCTION.value:
            night = mine[mine["night"]]
            covered = float(night["covered_s"].sum())
            if covered >= SLOT_SECONDS:
                mean_watts = float((night["wh"] * meter.sign).sum()) * 3600.0 / covered
                if mean_watts > night_production_watts:
                    health.flags.append(Flag.PRODUCTION_AT_NIGHT.value)
        for day, part in mine.groupby("day"):
            full_day = slots_in_local_day(day, timezone) * SLOT_SECONDS * 0.9
            if part["covered_s"].sum() >= full_day and float(part["wh"].abs().sum()) == 0.0:
                health.flags.append(Flag.ALL_ZERO_DAY.value)
                break
        result.append(health)
    return result


def community_meter_health(session: Session, community_id: int, *, now: datetime,
                           timezone: str = "Europe/Brussels",
                           silent_after: timedelta = SILENT_AFTER,
                           lookback: timedelta = LOOKBACK) -> list[MeterHealth]:
    """Every meter of a community (for ``GET /api/v1/communities/{slug}/meters/health``)."""
    meters = list(session.exec(select(Meter).where(Meter.community_id == community_id)
                               .order_by(col(Meter.id))).all())
    if not meters:
        return []
    since = int((as_utc(now) - lookback).timestamp()) // SLOT_SECONDS
    until = int(as_utc(now).timestamp()) // SLOT_SECONDS
    slots = load_meter_slots(session, [m.id for m in meters if m.id is not None], since, until)
    health = meter_flags(slots, meters_frame(meters), now=now, timezone=timezone,
                         silent_after=silent_after)
    refs = {h.id: h.ref for h in session.exec(select(Household).where(
        Household.community_id == community_id)).all()}
    for item in health:
        item.household_ref = refs.get(item.household_id)
    return health


def daily_digest(community_id: int, health: list[MeterHealth], day: date) -> MeterDigest:
    needing = [item for item in health if not item.ok]
    return MeterDigest(community_id=community_id, day=day, count=len(needing), items=needing)


def fill_last_seen(session: Session, health: list[MeterHealth]) -> None:
    """For meters silent for longer than the health lookback, find when they last reported,
    so the technician reads "silent since 3 November" rather than nothing."""
    unknown = [item.meter_id for item in health if item.last_seen is None]
    if not unknown:
        return
    latest_slot = session.exec(
        select(MeterEnergy15.meter_id, func.max(MeterEnergy15.slot_start))
        .where(col(MeterEnergy15.meter_id).in_(unknown), col(MeterEnergy15.covered_s) > 0)
        .group_by(col(MeterEnergy15.meter_id))).all()
    latest: dict[int, datetime] = {}
    for meter_id, slot_start in latest_slot:
        row = session.exec(select(MeterEnergy15).where(
            MeterEnergy15.meter_id == meter_id, MeterEnergy15.slot_start == slot_start)).first()
        if row is not None:
            latest[meter_id] = as_utc(row.slot_start) + timedelta(seconds=row.last_s)
    for item in health:
        if item.last_seen is None:
            item.last_seen = latest.get(item.meter_id)
