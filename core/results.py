"""Collective alert results: which alerts have had theirs, when, and what was said.

One row per alert, written in the same transaction as the outbox rows of the result message:
an alert with a row is done (sent, or deliberately skipped). Only the community aggregate is
kept here, never a household's figures.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer
from sqlmodel import Field, SQLModel

# Results wait for the data of the alert and its rebound window, but not longer than this.
RESULT_DEADLINE = timedelta(hours=48)
# An alert whose result was never decided this long after its deadline (the scheduler was off)
# gets no late message: a result a week later would puzzle more than inform.
RESULT_TOO_LATE = timedelta(days=5)


class ResultStatus(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"


class ResultReason(enum.StrEnum):
    DATA_COMPLETE = "data_complete"  # the data of the rebound window had arrived
    DEADLINE = "deadline"  # sent with what there was
    NO_METERS = "no_meters"  # nobody in the audience is metered: nothing to measure
    TOO_LATE = "too_late"


class AlertResult(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(sa_column=Column(
        Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, unique=True))
    status: str
    reason: str
    households_valid: int = 0
    shown: bool = False
    delta_kwh: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    percent: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    recipients: int = 0
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
