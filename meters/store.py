"""Reading and writing meter energy in the database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Table, delete
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.metering import SLOT_SECONDS, Energy15, Meter, MeterEnergy15, MeterRole
from core.models import Household
from meters.cleaning import SensorSlots, household_energy_15min, slot_to_utc
from meters.slot_sql import INSERT_CHUNK, EpochSeconds, insert_many, slot_starts_for

# Slots per write transaction of an import: ~0.1 s of writing, so a webhook waiting for
# SQLite's write lock meanwhile waits that long at most (benchmarks/RESULTS.md).
BATCH_SLOTS = 2000


def add_meter(session: Session, household: Household, sensor: str,
              role: str = MeterRole.CONSUMPTION.value, sign: int = 1, phase: int | None = None,
              clock: Clock = utc_now) -> Meter:
    if role not in {r.value for r in MeterRole}:
        raise ValueError(f"unknown meter role {role!r}")
    if sign not in (1, -1):
        raise ValueError("a meter's sign is +1 or -1")
    assert household.id is not None
    meter = Meter(community_id=household.community_id, household_id=household.id,
                  sensor=sensor, role=role, sign=sign, phase=phase, created_at=clock())
    session.add(meter)
    session.flush()
    return meter


def community_meters(session: Session, community_id: int) -> list[Meter]:
    query = select(Meter).where(Meter.community_id == community_id).order_by(col(Meter.id))
    return list(session.exec(query).all())


def meters_frame(meters: Sequence[Meter]) -> pd.DataFrame:
    return pd.DataFrame({
        "meter_id": [m.id for m in meters],
        "household_id": [m.household_id for m in meters],
        "role": [m.role for m in meters],
        "sign": [m.sign for m in meters],
        "sensor": [m.sensor for m in meters],
    })


def _datetimes(slots: np.ndarray) -> list[datetime]:
    return list(slot_to_utc(slots).to_pydatetime())


def load_meter_slots(session: Session, meter_ids: Sequence[int], slot_from: int | None = None,
                     slot_to: int | None = None) -> pd.DataFrame:
    """Per-meter slot rows: meter_id, slot, wh, covered_s, first_s, last_s (columns only, no
    ORM objects nor datetimes: an import reads these back for every batch it writes)."""
    query = select_columns(
        col(MeterEnergy15.meter_id), EpochSeconds(col(MeterEnergy15.slot_start)),
        col(MeterEnergy15.wh), col(MeterEnergy15.covered_s), col(MeterEnergy15.first_s),
        col(MeterEnergy15.last_s)
    ).where(col(MeterEnergy15.meter_id).in_(list(meter_ids)))
    if slot_from is not None:
        query = query.where(col(MeterEnergy15.slot_start) >= slot_to_utc([slot_from])[0])
    if slot_to is not None:
        query = query.where(col(MeterEnergy15.slot_start) <= slot_to_utc([slot_to])[0])
    rows = session.connection().execute(query).all()  # Core rows: no ORM loading
    columns: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 6
    return pd.DataFrame({
        "meter_id": np.array(columns[0], dtype=np.int64),
        "slot": np.array(columns[1], dtype=np.int64) // SLOT_SECONDS,
        "wh": np.array(columns[2], dtype=np.float64),
        "covered_s": np.array(columns[3], dtype=np.float64),
        "first_s": np.array(columns[4], dtype=np.float64),
        "last_s": np.array(columns[5], dtype=np.float64),
    })


def merge_meter_slots(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Combine stored and freshly cleaned slots of the same meters.

    Disjoint covered spans add up (a live stream delivered in pieces); overlapping spans mean
    the same readings came twice (a file imported again), so the better-covered one wins.
    """
    if old.empty:
        return new
    both = new.merge(old, on=["meter_id", "slot"], how="left", suffixes=("", "_old"))
    has_old = both["wh_old"].notna()
    disjoint = has_old & ((both["first_s"] >= both["last_s_old"])
                          | (both["last_s"] <= both["first_s_old"]))
    keep_old = has_old & ~disjoint & (both["covered_s_old"] > both["covered_s"])
    out = both[["meter_id", "slot", "wh", "covered_s", "first_s", "last_s"]].copy()
    out.loc[disjoint, "wh"] = both.loc[disjoint, "wh"] + both.loc[disjoint, "wh_old"]
    out.loc[disjoint, "covered_s"] = np.minimum(
        both.loc[disjoint, "covered_s"] + both.loc[disjoint, "covered_s_old"], SLOT_SECONDS)
    out.loc[disjoint, "first_s"] = np.minimum(both.loc[disjoint, "first_s"],
                                              both.loc[disjoint, "first_s_old"])
    out.loc[disjoint, "last_s"] = np.maximum(both.loc[disjoint, "last_s"],
                                             both.loc[disjoint, "last_s_old"])
    for column in ("wh", "covered_s", "first_s", "last_s"):
        out.loc[keep_old, column] = both.loc[keep_old, f"{column}_old"]
    return out


def store_sensor_slots(session: Session, slots: SensorSlots, meter_id_of_code: np.ndarray
                       ) -> pd.DataFrame:
    """Write cleaned per-sensor slots (codes mapped to meter ids); returns what was written."""
    if len(slots) == 0:
        return pd.DataFrame(columns=["meter_id", "slot", "wh", "covered_s", "first_s", "last_s"])
    new = pd.DataFrame({"meter_id": meter_id_of_code[slots.sensor], "slot": slots.slot,
                        "wh": slots.wh, "covered_s": slots.covered_s,
                        "first_s": slots.first_s, "last_s": slots.last_s})
    meter_ids = [int(m) for m in np.unique(new["meter_id"])]
    old = load_meter_slots(session, meter_ids, int(new["slot"].min()), int(new["slot"].max()))
    merged = merge_meter_slots(old, new)
    if not old.empty:
        # Only slots already stored need deleting first (none, for new data).
        stored = merged.merge(old[["meter_id", "slot"]], on=["meter_id", "slot"])
        for meter_id, part in stored.groupby("meter_id"):
            starts = _datetimes(part["slot"].to_numpy())
            for i in range(0, len(starts), INSERT_CHUNK):
                session.execute(delete(MeterEnergy15).where(
                    col(MeterEnergy15.meter_id) == int(meter_id),
                    col(MeterEnergy15.slot_start).in_(starts[i:i + INSERT_CHUNK])))
    rows = list(zip(merged["meter_id"].to_numpy().tolist(),
                    slot_starts_for(session, merged["slot"].to_numpy()),
                    merged["wh"].to_numpy(dtype=np.float64).tolist(),
                    merged["covered_s"].to_numpy(dtype=np.float64).tolist(),
                    merged["first_s"].to_numpy(dtype=np.float64).tolist(),
                    merged["last_s"].to_numpy(dtype=np.float64).tolist(), strict=True))
    insert_many(session, _table(MeterEnergy15),
                ("meter_id", "slot_start", "wh", "covered_s", "first_s", "last_s"), rows)
    return merged


def _table(model: type[MeterEnergy15] | type[Energy15]) -> Table:
    table: Table = getattr(model, "__table__")  # noqa: B009 (SQLModel does not type it)
    return table


class SlotWriter:
    """Cleaned slots of known meters, written in batches of about ``batch_slots``.

    Given an ``Engine``, each batch is its own short transaction, so an import of any size
    never holds the database's write lock for long. Given a ``Session``, batches go into the
    caller's transaction (live polls, tests). A batch stores the meters' slots and rebuilds
    their households' energy over the batch's slots.
    """

    def __init__(self, database: Engine | Session, meters: Sequence[Meter],
                 batch_slots: int = BATCH_SLOTS) -> None:
        self.database = database
        self.meter_ids = np.array([m.id for m in meters], dtype=np.int64)
        self.household_of = np.array([m.household_id for m in meters], dtype=np.int64)
        self.batch_slots = batch_slots
        self.slots_written = 0
        self.households: set[int] = set()
        self._pending: list[SensorSlots] = []
        self._pending_slots = 0

    def add(self, slots: SensorSlots) -> None:
        """Slots whose ``sensor`` indexes the writer's meters."""
        if len(slots) == 0:
            return
        self._pending.append(slots)
        self._pending_slots += len(slots)
        if self._pending_slots >= self.batch_slots:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        slots = SensorSlots.concat(self._pending)
        self._pending, self._pending_slots = [], 0
        households = {int(h) for h in np.unique(self.household_of[slots.sensor])}
        with self._transaction() as session:
            written = store_sensor_slots(session, slots, self.meter_ids)
            rebuild_household_energy(session, households, int(slots.slot.min()),
                                     int(slots.slot.max()))
        self.slots_written += len(written)
        self.households |= households

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        if isinstance(self.database, Session):
            yield self.database
            self.database.flush()
            return
        with session_scope(self.database) as session:
            yield session


def rebuild_household_energy(session: Session, household_ids: Iterable[int],
                             slot_from: int, slot_to: int) -> int:
    """Recompute ``Energy15`` of these households between two slots (inclusive) from meters.

    Also the way to apply a corrected sign, role or phase to data already imported.
    """
    ids = sorted({int(h) for h in household_ids})
    if not ids:
        return 0
    meters = list(session.exec(select(Meter).where(col(Meter.household_id).in_(ids))).all())
    frame = meters_frame(meters)
    meter_slots = load_meter_slots(session, [int(m.id) for m in meters if m.id is not None],
                                   slot_from, slot_to)
    energy = household_energy_15min(meter_slots, frame)
    start, end = slot_to_utc([slot_from, slot_to])
    session.execute(delete(Energy15).where(
        col(Energy15.household_id).in_(ids), col(Energy15.slot_start) >= start.to_pydatetime(),
        col(Energy15.slot_start) <= end.to_pydatetime()))
    kwh = energy["kwh"].to_numpy(dtype=np.float64)
    rows = list(zip(energy["household_id"].to_numpy().tolist(),
                    energy["role"].astype(str).tolist(),
                    slot_starts_for(session, energy["slot"].to_numpy()),
                    [None if k != k else k for k in kwh.tolist()],  # NaN -> NULL: invalid
                    energy["coverage"].to_numpy(dtype=np.float64).tolist(), strict=True))
    insert_many(session, _table(Energy15),
                ("household_id", "role", "slot_start", "kwh", "coverage"), rows)
    return len(rows)


def load_household_energy(session: Session, household_ids: Sequence[int],
                          start: datetime | None = None, end: datetime | None = None,
                          role: str = MeterRole.CONSUMPTION.value) -> pd.DataFrame:
    """The thin loader for analysis and charts: household_id, slot, slot_start, kwh, coverage.

    ``kwh`` is NaN for invalid slots; slots without a row are simply absent (also invalid).
    """
    query = select_columns(
        col(Energy15.household_id), EpochSeconds(col(Energy15.slot_start)), col(Energy15.kwh),
        col(Energy15.coverage)
    ).where(col(Energy15.household_id).in_(list(household_ids)), col(Energy15.role) == role)
    if start is not None:
        query = query.where(col(Energy15.slot_start) >= as_utc(start))
    if end is not None:
        query = query.where(col(Energy15.slot_start) < as_utc(end))
    rows = session.connection().execute(query.order_by(col(Energy15.household_id),
                                                       col(Energy15.slot_start))).all()
    columns: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 4
    slot = np.array(columns[1], dtype=np.int64) // SLOT_SECONDS
    return pd.DataFrame({
        "household_id": np.array(columns[0], dtype=np.int64),
        "slot": slot,
        "slot_start": slot_to_utc(slot),
        "kwh": np.array([np.nan if k is None else k for k in columns[2]], dtype=np.float64),
        "coverage": np.array(columns[3], dtype=np.float64),
    })
