"""The tables. Every timestamp is stored in UTC (see ``core.clock.as_utc``)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel


def _utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index)
    )


def _fk(target: str, nullable: bool = True, ondelete: str = "CASCADE", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable,
                         index=index),
    )


class Role(enum.StrEnum):
    RESIDENT = "resident"
    FACILITATOR = "facilitator"
    TECHNICIAN = "technician"


class ChannelKind(enum.StrEnum):
    TELEGRAM = "telegram"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    # Never sent on purpose: the contact stopped or was erased before the row's turn.
    SUPPRESSED = "suppressed"
    # Never sent because it could no longer be true: its deadline passed, or it failed too
    # many times to be sent in time.
    EXPIRED = "expired"
    # Never sent because what it belonged to was cancelled while it waited (a broadcast).
    CANCELLED = "cancelled"


class SubjectKind(enum.StrEnum):
    """What an outbox row is about (with ``OutboxMessage.subject_id``)."""

    ALERT = "alert"
    CAMPAIGN = "campaign"
    WORKSHOP = "workshop"
    BROADCAST = "broadcast"
    CHECKIN = "checkin"


class Priority(enum.IntEnum):
    """The order due rows are claimed in: lower first."""

    ALERT = 0  # an alert's notices, start, end, cancellation: late is useless
    CHAT = 1  # an answer to someone who just wrote
    BULK = 2  # questionnaires, reminders, results, digests


class Community(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    timezone: str = "Europe/Brussels"
    default_locale: str = "fr"
    join_code: str = Field(unique=True, index=True)
    quiet_hours: str = "22:00-08:00"
    privacy_k: int = 5
    created_at: datetime | None = _utc_column()


class Cluster(SQLModel, table=True):
    """A group of households, e.g. the homes behind one low-voltage cabin."""

    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = _fk("community.id", nullable=False)
    name: str
    kind: str = "group"


class Household(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "ref"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = _fk("community.id", nullable=False)
    cluster_id: int | None = _fk("cluster.id", ondelete="SET NULL")
    ref: str
    # The short code a resident types to link to the household (given by the facilitator).
    code: str = Field(unique=True, index=True)
    created_at: datetime | None = _utc_column()


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = _fk("community.id", nullable=False)
    household_id: int | None = _fk("household.id", ondelete="SET NULL")
    name: str | None = None
    locale: str = "fr"
    role: str = Role.RESIDENT.value
    consented_at: datetime | None = _utc_column()
    consent_version: str | None = None
    opted_out_at: datetime | None = _utc_column()
    created_at: datetime | None = _utc_column()


class ChannelIdentity(SQLModel, table=True):
    """One address on one channel. It exists from the first message, before enrolment."""

    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = _fk("contact.id")
    channel: str
    address: str
    display_name: str | None = None
    # The language the channel says the person uses (Telegram's language_code), if any.
    locale_hint: str | None = None
    last_inbound_at: datetime | None = _utc_column()
    reachable: bool = True
    unreachable_reason: str | None = None
    created_at: datetime | None = _utc_column()


class ConversationState(SQLModel, table=True):
    """Where a conversation stands, per identity, so any worker can resume it."""

    id: int | None = Field(default=None, primary_key=True)
    identity_id: int = Field(
        sa_column=Column(Integer, ForeignKey("channelidentity.id", ondelete="CASCADE"),
                         nullable=False, unique=True)
    )
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    expires_at: datetime | None = _utc_column()
    updated_at: datetime | None = _utc_column()


class InboundEvent(SQLModel, table=True):
    """A provider's message id, kept so that a re-delivered webhook is not handled twice.

    Only ids are kept here, never message text: erasure has nothing to chase.
    """

    __table_args__ = (UniqueConstraint("channel", "provider_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str
    provider_id: str
    received_at: datetime | None = _utc_column()


class OutboxMessage(SQLModel, table=True):
    """One message to one address. The dedupe key only stops a second copy; what the row
    belongs to is in columns: the contact, the subject (an alert, a campaign...) and the
    subject's stage."""

    __table_args__ = (
        Index("ix_outboxmessage_subject", "subject_kind", "subject_id", "stage"),
        Index("ix_outboxmessage_claim", "status", "priority", "next_attempt_at"),
        Index("ix_outboxmessage_expiry", "status", "expires_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, index=True)
    identity_id: int = _fk("channelidentity.id", nullable=False)
    contact_id: int | None = _fk("contact.id")
    subject_kind: str | None = None  # a SubjectKind
    subject_id: int | None = None
    stage: str | None = None  # e.g. an AlertStage, "start" or "reminder" of a campaign
    channel: str
    kind: str = "reply"
    priority: int = Priority.CHAT.value
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING.value, index=True)
    # Failed sends so far (pacing is not a failure); at MAX_ATTEMPTS the row expires.
    attempts: int = 0
    next_attempt_at: datetime | None = _utc_column(index=True)
    # After this the message is no longer true or useful: it is expired, never sent late.
    expires_at: datetime | None = _utc_column()
    # While "sending", the dispatcher holding the row renews this; past it, the row is
    # taken back (its dispatcher died).
    leased_until: datetime | None = _utc_column()
    provider_id: str | None = Field(default=None, index=True)
    last_error: str | None = None
    created_at: datetime | None = _utc_column()
    sent_at: datetime | None = _utc_column()
    updated_at: datetime | None = _utc_column()
