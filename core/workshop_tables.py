"""The workshop tables: an invitation, each resident's answer, and its timed steps.

Kept apart from ``core/workshops.py`` (the services) so that ``core/audience.py`` can read
who came to an earlier workshop without a circular import.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable,
                                                index=index))


class WorkshopStatus(enum.StrEnum):
    DRAFT = "draft"  # written, not sent yet
    SENT = "sent"  # invitations queued; reminders and the follow-up are steps
    CANCELLED = "cancelled"  # called off: Yes and Maybe were told, nothing more goes out


class Answer(enum.StrEnum):
    """A resident's answer. ``WAITING`` is a Yes beyond the capacity: on the waiting list,
    in the order of ``WorkshopRsvp.answered_at``."""

    YES = "yes"
    MAYBE = "maybe"
    NO = "no"
    WAITING = "waiting"


class WorkshopStage(enum.StrEnum):
    """What a workshop's outbox row is (its ``stage``)."""

    INVITATION = "invitation"
    REMINDER_24H = "reminder_24h"
    REMINDER_2H = "reminder_2h"
    CANCELLED = "cancelled"  # the workshop is called off
    MOVED = "moved"  # new time or place
    PROMOTED = "promoted"  # a place freed up for the first person waiting
    FOLLOW_UP = "follow_up"  # "Did you come? Was it useful?"
    ICS = "ics"  # the calendar file (a Telegram document)


# The stages run by the scheduler when due (one ``WorkshopStep`` row each).
TIMED_STAGES = (WorkshopStage.REMINDER_24H, WorkshopStage.REMINDER_2H, WorkshopStage.FOLLOW_UP)


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # its time had passed when the workshop was sent or moved
    MISSED = "missed"  # the scheduler came too late (after the start): not sent late
    CANCELLED = "cancelled"
    FAILED = "failed"  # raised on every attempt


class Workshop(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), nullable=False, index=True))
    created_by: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="SET NULL"), nullable=True))
    # Language → text. ``author_locale`` is the facilitator's: the text everyone else gets
    # when their language has no version (with the frame in their own language).
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: dict[str, str] = Field(default_factory=dict,
                                        sa_column=Column(JSON, nullable=False))
    author_locale: str = "fr"
    place: str = ""
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                                 index=True))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    capacity: int | None = None
    # An ``core.audience.AudienceSpec`` as JSON ({} is the whole community).
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Ask "Did you come? Was it useful?" to those who said Yes, after the end.
    follow_up: bool = False
    status: str = Field(default=WorkshopStatus.DRAFT.value, index=True)
    # Bumped by every move: reminders of the new time are new outbox rows (dedupe keys).
    revision: int = 0
    recipients: int = 0
    created_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()
    moved_at: datetime | None = _utc()
    cancelled_at: datetime | None = _utc()


class WorkshopRsvp(SQLModel, table=True):
    """One resident's answer to one workshop (the latest; changing one's mind updates it)."""

    __table_args__ = (UniqueConstraint("workshop_id", "contact_id"),)
    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int = Field(sa_column=Column(
        Integer, ForeignKey("workshop.id", ondelete="CASCADE"), nullable=False, index=True))
    contact_id: int = Field(sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True))
    answer: str  # an Answer
    # When this answer was given: the waiting list is served in this order.
    answered_at: datetime | None = _utc()
    # From the follow-up question (None: not asked or not answered).
    attended: bool | None = None


class WorkshopStep(SQLModel, table=True):
    """A timed step of a workshop (reminders, follow-up), claimed once by the scheduler."""

    __table_args__ = (UniqueConstraint("workshop_id", "stage"),)
    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int = Field(sa_column=Column(
        Integer, ForeignKey("workshop.id", ondelete="CASCADE"), nullable=False, index=True))
    stage: str  # a WorkshopStage in TIMED_STAGES
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                              index=True))
    status: str = Field(default=StepStatus.PENDING.value, index=True)
    done_at: datetime | None = _utc()
    recipients: int = 0
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = _utc()
