"""Meter tables: which sensor belongs to which household, and the energy it measured.

Storage decision (raw readings): the 8-second readings are NOT stored. A Flukso sensor sends
10,800 readings a day; a pilot of 60 homes with 3-4 clamps each would add ~2.5 M rows a day
for numbers nobody reads one by one. Instead every import is reduced, per meter, to
``MeterEnergy15``: the energy measured in each 15-minute UTC slot *as the clamp saw it*
(before the meter's sign is applied), the seconds actually covered by valid readings and the
covered span inside the slot. That is lossless for every figure we compute (15-minute energy
and its coverage), about 1/112 of the readings, and it keeps the household series
(``Energy15``) re-derivable: when a facilitator fixes a meter's sign, role or phase after the
import, ``meters.store.rebuild_household_energy`` recomputes the household rows from the
per-meter rows without re-importing anything. The span (``first_s``/``last_s``) lets a later
import of the same slot either add to it (a live stream delivered in chunks) or replace it
(the same file imported twice) without double counting.

``Energy15.kwh`` is NULL when the slot is invalid (coverage below 90 %, or impossible): empty
means "no valid data", never zero.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

# 15 minutes: the resolution the pilots reported, and the settlement period of the grid.
SLOT_SECONDS = 900
# Below this fraction of a slot covered by valid readings the slot is invalid, not zero.
MIN_VALID_COVERAGE = 0.9


class MeterRole(enum.StrEnum):
    CONSUMPTION = "consumption"
    PRODUCTION = "production"
    # Grid exchange: consumption minus production (negative while exporting).
    NET = "net"


class Meter(SQLModel, table=True):
    """One Flukso sensor (one clamp) of a household."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(
        sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                         nullable=False, index=True)
    )
    household_id: int = Field(
        sa_column=Column(Integer, ForeignKey("household.id", ondelete="CASCADE"),
                         nullable=False, index=True)
    )
    sensor: str = Field(sa_column=Column(String, nullable=False, unique=True, index=True))
    role: str = MeterRole.CONSUMPTION.value
    # -1 for a clamp wired the wrong way round: what it measured is multiplied by the sign.
    sign: int = 1
    # 1, 2 or 3 for one phase of a three-phase home; the phases are summed.
    phase: int | None = None
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class MeterEnergy15(SQLModel, table=True):
    """What one meter measured in one 15-minute UTC slot, before its sign is applied."""

    __table_args__ = (UniqueConstraint("meter_id", "slot_start"),)
    id: int | None = Field(default=None, primary_key=True)
    meter_id: int = Field(
        sa_column=Column(Integer, ForeignKey("meter.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    )
    slot_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    wh: float = Field(sa_column=Column(Float, nullable=False))
    covered_s: float = Field(sa_column=Column(Float, nullable=False))
    # Covered span, in seconds from the slot start (0..900): decides add versus replace.
    first_s: float = Field(sa_column=Column(Float, nullable=False))
    last_s: float = Field(sa_column=Column(Float, nullable=False))


class Energy15(SQLModel, table=True):
    """A household's energy for one role in one 15-minute UTC slot."""

    __table_args__ = (UniqueConstraint("household_id", "role", "slot_start"),)
    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(
        sa_column=Column(Integer, ForeignKey("household.id", ondelete="CASCADE"),
                         nullable=False, index=True)
    )
    role: str = Field(sa_column=Column(String, nullable=False))
    slot_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                                  index=True))
    # NULL when the slot is invalid: "no valid data", never zero.
    kwh: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    coverage: float = Field(sa_column=Column(Float, nullable=False))
