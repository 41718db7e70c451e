"""Synthetic 15-minute energy with a known truth, written straight into ``Energy15``.

Every household repeats the same day shape in LOCAL time, scaled per household and weekday,
so the same_slots reference of any alert is known exactly; an alert window can be scaled by a
factor (0.7 = 30 % less).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import session_scope
from core.metering import SLOT_SECONDS, Energy15, MeterRole
from core.models import Household
from meters.store import add_meter

TZ = "Europe/Brussels"


def usual_kwh(household_index: int, slots: np.ndarray, timezone: str = TZ) -> np.ndarray:
    local = pd.to_datetime(slots * SLOT_SECONDS, unit="s", utc=True).tz_convert(timezone)
    quarter = (local.hour * 4 + local.minute // 15).to_numpy()
    shape = 0.1 + 0.08 * np.sin(2 * np.pi * quarter / 96.0) ** 2
    weekday = 1.0 + 0.05 * local.day_of_week.to_numpy()
    return shape * weekday * (1.0 + 0.25 * household_index)


def seed_energy(engine: Engine, household_ids: Sequence[int], start: datetime, end: datetime,
                *, alert: tuple[datetime, datetime, float] | None = None,
                timezone: str = TZ) -> None:
    """Consumption slots in [start, end) for each household; ``alert``: (from, to, factor)."""
    slots = np.arange(int(start.timestamp()) // SLOT_SECONDS,
                      -(-int(end.timestamp()) // SLOT_SECONDS))
    starts = pd.to_datetime(slots * SLOT_SECONDS, unit="s", utc=True).to_pydatetime()
    rows = []
    for index, household_id in enumerate(household_ids):
        kwh = usual_kwh(index, slots, timezone)
        if alert is not None:
            inside = ((slots >= int(alert[0].timestamp()) // SLOT_SECONDS)
                      & (slots < int(alert[1].timestamp()) // SLOT_SECONDS))
            kwh = np.where(inside, kwh * alert[2], kwh)
        rows += [{"household_id": household_id, "role": MeterRole.CONSUMPTION.value,
                  "slot_start": s, "kwh": float(k), "coverage": 1.0}
                 for s, k in zip(starts, kwh, strict=True)]
    with session_scope(engine) as session:
        for i in range(0, len(rows), 5000):
            session.execute(insert(Energy15), rows[i:i + 5000])


def meter_every_household(engine: Engine, community_id: int) -> list[int]:
    """One consumption meter per household of the community; returns the household ids."""
    with session_scope(engine) as session:
        households = session.exec(select(Household).where(
            Household.community_id == community_id).order_by(col(Household.id))).all()
        for household in households:
            add_meter(session, household, f"sensor-{household.ref}")
        return [h.id for h in households if h.id is not None]
