"""Synthetic meter data for the demo community: a plausible home curve per household.

Deterministic (seeded) so the demo looks the same every time; a few gaps are left invalid,
as real Flukso data has them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session, col, select

from core.metering import Energy15, Meter
from core.models import Household
from meters.store import add_meter

DEMO_WEEKS = 9
SLOTS_PER_DAY = 96


def seed_demo_energy(session: Session, community_id: int, now: datetime,
                     weeks: int = DEMO_WEEKS) -> int:
    """Give every household of the community a meter and ``weeks`` of 15-minute energy."""
    households = session.exec(select(Household).where(Household.community_id == community_id)
                              .order_by(col(Household.id))).all()
    existing = set(session.exec(select(Meter.household_id)).all())
    end = now.replace(minute=(now.minute // 15) * 15, second=0, microsecond=0)
    start = end - timedelta(weeks=weeks)
    slots = weeks * 7 * SLOTS_PER_DAY
    hours = (np.arange(slots) % SLOTS_PER_DAY) / 4.0
    written = 0
    for household in households:
        if household.id in existing:
            continue
        add_meter(session, household, f"demo-{household.ref}")
        rng = np.random.default_rng(household.id)
        base = rng.uniform(0.03, 0.08)
        evening = rng.uniform(0.10, 0.35) * np.exp(-((hours - 19.0) ** 2) / 4.0)
        morning = rng.uniform(0.05, 0.15) * np.exp(-((hours - 7.5) ** 2) / 1.5)
        kwh = base + evening + morning + rng.gamma(1.2, 0.02, slots)
        invalid = rng.random(slots) < 0.01
        rows = [
            {"household_id": household.id, "role": "consumption",
             "slot_start": start + timedelta(minutes=15 * index),
             "kwh": None if invalid[index] else float(kwh[index]),
             "coverage": 0.5 if invalid[index] else 1.0}
            for index in range(slots)
        ]
        session.execute(insert(Energy15), rows)
        written += len(rows)
    return written
