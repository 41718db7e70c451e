"""How a fan-out is going: its outbox rows counted per channel and outcome, and what the
facilitator who sent it was last shown.

The counts select by the rows' subject columns (kind, id, stage), never by their keys, and
count residents' rows only (a linked group's post is not a person). A row rerouted from
WhatsApp to SMS counts once, on the channel it ended on.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from core.models import OutboxMessage, OutboxStatus, SubjectKind

# Outcome of a row, by its status.
WAITING = frozenset({OutboxStatus.PENDING.value, OutboxStatus.SENDING.value})
SENT = frozenset({OutboxStatus.SENT.value, OutboxStatus.DELIVERED.value,
                  OutboxStatus.READ.value})
FAILED = frozenset({OutboxStatus.FAILED.value, OutboxStatus.UNDELIVERED.value,
                    OutboxStatus.EXPIRED.value})
# Never sent on purpose: cancelled, or the reader stopped or was erased meanwhile.
HELD_BACK = frozenset({OutboxStatus.CANCELLED.value, OutboxStatus.SUPPRESSED.value})
OUTCOMES = ("waiting", "sent", "failed", "held_back")


def outcome_of(status: str) -> str:
    if status in WAITING:
        return "waiting"
    if status in SENT:
        return "sent"
    if status in FAILED:
        return "failed"
    return "held_back"


@dataclass
class ChannelCounts:
    waiting: int = 0
    sent: int = 0
    failed: int = 0
    held_back: int = 0

    @property
    def total(self) -> int:
        return self.waiting + self.sent + self.failed + self.held_back

    def add(self, outcome: str, count: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + count)

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "waiting": self.waiting, "sent": self.sent,
                "failed": self.failed, "held_back": self.held_back}


@dataclass
class DeliveryCounts:
    by_channel: dict[str, ChannelCounts] = field(default_factory=dict)

    def _sum(self, name: str) -> int:
        return sum(getattr(counts, name) for counts in self.by_channel.values())

    @property
    def total(self) -> int:
        return self._sum("total")

    @property
    def waiting(self) -> int:
        return self._sum("waiting")

    @property
    def sent(self) -> int:
        return self._sum("sent")

    @property
    def failed(self) -> int:
        return self._sum("failed")

    @property
    def held_back(self) -> int:
        return self._sum("held_back")

    @property
    def done(self) -> bool:
        return self.waiting == 0

    def as_dict(self) -> dict[str, object]:
        return {"total": self.total, "waiting": self.waiting, "sent": self.sent,
                "failed": self.failed, "held_back": self.held_back,
                "by_channel": {channel: counts.as_dict()
                               for channel, counts in sorted(self.by_channel.items())}}


def delivery_counts(session: Session, kind: SubjectKind, subject_id: int,
                    stages: Collection[str] | None = None) -> DeliveryCounts:
    """Residents' rows of one subject (some stages only, when given), per channel and
    outcome, in one grouped query."""
    query = (select(OutboxMessage.channel, OutboxMessage.status, func.count())
             .where(col(OutboxMessage.subject_kind) == kind.value,
                    col(OutboxMessage.subject_id) == subject_id,
                    col(OutboxMessage.contact_id).is_not(None))
             .group_by(col(OutboxMessage.channel), col(OutboxMessage.status)))
    if stages is not None:
        query = query.where(col(OutboxMessage.stage).in_(list(stages)))
    counts = DeliveryCounts()
    for channel, status, count in session.exec(query).all():
        counts.by_channel.setdefault(channel, ChannelCounts()).add(outcome_of(status),
                                                                   int(count))
    return counts


class ProgressReport(SQLModel, table=True):
    """What the facilitator who sent a fan-out was last shown of its progress, and where:
    on Telegram the message that is edited as rows go (``message_ref``, the first progress
    message's provider id), elsewhere only whether the one follow-up went."""

    __table_args__ = (UniqueConstraint("subject_kind", "subject_id"),)
    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str
    subject_id: int
    contact_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=True))
    # How many progress messages (first one and edits) were queued: the next one's key.
    messages: int = 0
    last_text: str | None = None
    finished: bool = False
    updated_at: datetime | None = Field(default=None,
                                        sa_column=Column(DateTime(timezone=True)))
