"""Grid alerts and their timeline: every future step is a row with a due time.

"The database is the calendar": the scheduler only claims due rows (see ``scheduler/``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, UniqueConstraint, func, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from core.clock import as_utc
from core.models import (
    ChannelIdentity,
    Cluster,
    Community,
    Contact,
    Household,
    OutboxMessage,
    OutboxStatus,
    Priority,
    SubjectKind,
)
from core.outbox import Subject
from core.quiet_hours import quiet_hours_shift
from core.residents import counts_as_resident


class AlertKind(enum.StrEnum):
    PLANNED = "planned"
    SURPRISE = "surprise"


class AlertStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    RECORDED = "recorded"  # a past or external alert kept for analysis, nothing sent


class AlertStage(enum.StrEnum):
    NOTICE_24H = "notice_24h"
    NOTICE_30MIN = "notice_30min"
    START = "start"
    END = "end"
    QUESTIONNAIRE = "questionnaire"
    REMINDER = "reminder"
    CANCELLATION = "cancellation"


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    MISSED = "missed"  # overdue by more than the grace: not sent late
    SKIPPED = "skipped"  # superseded (e.g. a later notice goes at once instead)
    CANCELLED = "cancelled"
    FAILED = "failed"  # raised on every attempt: given up, with the reason


NOTICE_STAGES = (AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN)
# These never go out during quiet hours; alert messages themselves are sent on time.
QUIET_STAGES = frozenset({AlertStage.QUESTIONNAIRE, AlertStage.REMINDER})
MAX_DURATION = timedelta(hours=24)
MIN_DURATION = timedelta(minutes=1)
# "It is over, use electricity as usual" is news for a while after the end, not for ever.
END_DEADLINE = timedelta(hours=1)
# A questionnaire (or its reminder) not sent within this is not sent at all.
QUESTIONNAIRE_DEADLINE = timedelta(hours=48)


class AlertSettings(SQLModel, table=True):
    """Per-community timeline offsets (defaults from the alert protocol)."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), nullable=False, unique=True))
    planned_notice_minutes: int = 24 * 60
    last_notice_minutes: int = 30
    questionnaire_delay_minutes: int = 0
    reminder_delay_minutes: int = 24 * 60
    grace_minutes: int = 6 * 60


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), nullable=False, index=True))
    cluster_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("cluster.id", ondelete="SET NULL"), nullable=True))
    kind: str = AlertKind.PLANNED.value
    status: str = AlertStatus.SCHEDULED.value
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    first_notice_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    record_only: bool = False
    # An exercise: everything runs as for a real alert, and every message says it is one.
    drill: bool = False
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    cancelled_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))

    @property
    def duration_minutes(self) -> int:
        return int((as_utc(self.ends_at) - as_utc(self.starts_at)).total_seconds() // 60)


class AlertStep(SQLModel, table=True):
    """One step of an alert's timeline, due at a time; claimed once by the scheduler."""

    __table_args__ = (UniqueConstraint("alert_id", "stage"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(sa_column=Column(
        Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, index=True))
    stage: str
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                              index=True))
    status: str = Field(default=StepStatus.PENDING.value, index=True)
    done_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    recipients: int = 0
    # A step that raised: how often, why (the last time), and when it is tried again.
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class AlertReply(SQLModel, table=True):
    """A resident's participation intent for an alert ("I'm in", "not at home", ...)."""

    __table_args__ = (UniqueConstraint("alert_id", "contact_id"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(sa_column=Column(
        Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, index=True))
    contact_id: int = Field(sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False))
    intent: str
    replied_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class AlertIntent(enum.StrEnum):
    IN = "in"
    AWAY = "away"
    CANT = "cant"


class AlertPlanError(ValueError):
    """A plan that cannot be accepted; the message is the reason shown to the planner.

    ``code`` lets the chat say the same reason in the facilitator's language.
    """

    def __init__(self, reason: str, code: str = "invalid") -> None:
        super().__init__(reason)
        self.code = code


def alert_settings(session: Session, community_id: int) -> AlertSettings:
    found = session.exec(
        select(AlertSettings).where(AlertSettings.community_id == community_id)).first()
    return found or AlertSettings(community_id=community_id)


@dataclass(frozen=True)
class TimelineEntry:
    stage: AlertStage
    due_at: datetime
    status: StepStatus = StepStatus.PENDING


def timeline_for(kind: AlertKind, starts_at: datetime, ends_at: datetime, now: datetime,
                 settings: AlertSettings, quiet_hours: str, timezone: str
                 ) -> list[TimelineEntry]:
    """The steps of an alert, in order, with their due times.

    A notice whose time has passed while the start has not goes at once; when several
    notices have passed, only the latest goes (one message, not two in a row).
    """
    notices: list[tuple[AlertStage, datetime]] = []
    if kind is AlertKind.PLANNED:
        notices.append((AlertStage.NOTICE_24H,
                        starts_at - timedelta(minutes=settings.planned_notice_minutes)))
    notices.append((AlertStage.NOTICE_30MIN,
                    starts_at - timedelta(minutes=settings.last_notice_minutes)))
    entries: list[TimelineEntry] = []
    passed = [stage for stage, due in notices if due <= now]
    latest_passed = passed[-1] if passed else None
    for stage, due in notices:
        if due > now:
            entries.append(TimelineEntry(stage, due))
        elif stage is latest_passed:
            entries.append(TimelineEntry(stage, now))
        else:
            entries.append(TimelineEntry(stage, now, StepStatus.SKIPPED))
    questionnaire_at = quiet_hours_shift(
        ends_at + timedelta(minutes=settings.questionnaire_delay_minutes), quiet_hours, timezone)
    reminder_at = quiet_hours_shift(
        questionnaire_at + timedelta(minutes=settings.reminder_delay_minutes), quiet_hours,
        timezone)
    entries += [
        TimelineEntry(AlertStage.START, starts_at),
        TimelineEntry(AlertStage.END, ends_at),
        TimelineEntry(AlertStage.QUESTIONNAIRE, questionnaire_at),
        TimelineEntry(AlertStage.REMINDER, reminder_at),
    ]
    return entries


def check_plan(session: Session, community: Community, *, starts_at: datetime,
               duration_minutes: int, now: datetime, cluster_name: str | None = None,
               record_only: bool = False) -> Cluster | None:
    """Raise AlertPlanError with the reason a plan cannot be accepted; returns its cluster."""
    assert community.id is not None
    if starts_at.tzinfo is None:
        raise AlertPlanError("starts_at needs a UTC offset, e.g. 2026-12-01T18:00:00+01:00",
                             "offset")
    starts_at = as_utc(starts_at)
    duration = timedelta(minutes=duration_minutes)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise AlertPlanError("duration_minutes must be between 1 and 1440 (24 hours)", "duration")
    if starts_at <= now and not record_only:
        raise AlertPlanError("starts_at is in the past; use record_only to register a past alert",
                             "past")
    cluster = None
    if cluster_name is not None:
        cluster = session.exec(select(Cluster).where(Cluster.community_id == community.id,
                                                     Cluster.name == cluster_name)).first()
        if cluster is None:
            raise AlertPlanError(f"unknown cluster: {cluster_name}", "cluster")
    ends_at = starts_at + duration
    overlapping = _overlapping(session, community.id, cluster.id if cluster else None,
                               starts_at, ends_at)
    if overlapping is not None:
        raise AlertPlanError(f"overlaps alert {overlapping.id} for the same households",
                             "overlap")
    return cluster


def plan_alert(session: Session, community: Community, *, starts_at: datetime,
               duration_minutes: int, kind: AlertKind, now: datetime,
               cluster_name: str | None = None, record_only: bool = False,
               drill: bool = False) -> Alert:
    """Validate and store an alert with its timeline. Raises AlertPlanError with a reason.

    A ``drill`` is an exercise: the same timeline, messages that say it is one."""
    assert community.id is not None
    cluster = check_plan(session, community, starts_at=starts_at,
                         duration_minutes=duration_minutes, now=now, cluster_name=cluster_name,
                         record_only=record_only)
    starts_at = as_utc(starts_at)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    settings = alert_settings(session, community.id)
    alert = Alert(community_id=community.id, cluster_id=cluster.id if cluster else None,
                  kind=kind.value, starts_at=starts_at, ends_at=ends_at, created_at=now,
                  record_only=record_only, drill=drill,
                  status=(AlertStatus.RECORDED if record_only else AlertStatus.SCHEDULED).value)
    session.add(alert)
    session.flush()
    assert alert.id is not None
    if record_only:
        return alert
    entries = timeline_for(kind, starts_at, ends_at, now, settings, community.quiet_hours,
                           community.timezone)
    for entry in entries:
        session.add(AlertStep(alert_id=alert.id, stage=entry.stage.value, due_at=entry.due_at,
                              status=entry.status.value))
    sent_notices = [e.due_at for e in entries
                    if e.stage in NOTICE_STAGES and e.status is StepStatus.PENDING]
    alert.first_notice_at = min(sent_notices) if sent_notices else starts_at
    session.add(alert)
    session.flush()
    return alert


def _overlapping(session: Session, community_id: int, cluster_id: int | None,
                 starts_at: datetime, ends_at: datetime) -> Alert | None:
    """Another live alert over the same window whose audience meets this one's.

    A whole-community alert meets every cluster alert; two cluster alerts meet only on the
    same cluster.
    """
    query = select(Alert).where(
        Alert.community_id == community_id,
        Alert.status != AlertStatus.CANCELLED.value,
        col(Alert.starts_at) < ends_at,
        col(Alert.ends_at) > starts_at,
    )
    if cluster_id is not None:
        query = query.where(or_(col(Alert.cluster_id).is_(None),
                                col(Alert.cluster_id) == cluster_id))
    return session.exec(query).first()


def steps_of(session: Session, alert_id: int) -> list[AlertStep]:
    return list(session.exec(
        select(AlertStep).where(AlertStep.alert_id == alert_id).order_by(col(AlertStep.due_at),
                                                                          col(AlertStep.id))
    ).all())


def audience(session: Session, alert: Alert) -> list[tuple[Contact, ChannelIdentity]]:
    return audience_for(session, alert.community_id, alert.cluster_id)


def cluster_id_by_name(session: Session, community_id: int, name: str) -> int | None:
    cluster = session.exec(select(Cluster).where(Cluster.community_id == community_id,
                                                 Cluster.name == name)).first()
    return cluster.id if cluster else None


def audience_for(session: Session, community_id: int, cluster_id: int | None
                 ) -> list[tuple[Contact, ChannelIdentity]]:
    """Who an alert is for: consented, not stopped residents of the community (or cluster),
    each with their most recently used reachable identity. Staff count only with a household
    of their own (``core.residents``)."""
    query = (
        select(Contact, ChannelIdentity)
        .join(ChannelIdentity, col(ChannelIdentity.contact_id) == Contact.id)
        .where(Contact.community_id == community_id, counts_as_resident(),
               col(Contact.consented_at).is_not(None),
               col(Contact.opted_out_at).is_(None),
               col(ChannelIdentity.reachable).is_(True))
        .order_by(col(Contact.id), col(ChannelIdentity.last_inbound_at).desc())
    )
    if cluster_id is not None:
        query = query.join(Household, col(Household.id) == Contact.household_id).where(
            Household.cluster_id == cluster_id)
    chosen: dict[int, tuple[Contact, ChannelIdentity]] = {}
    for contact, identity in session.exec(query).all():
        assert contact.id is not None
        chosen.setdefault(contact.id, (contact, identity))
    return list(chosen.values())


def cancel_alert(session: Session, alert: Alert, now: datetime) -> list[AlertStep]:
    """Drop pending steps and hold back this alert's messages still waiting in the outbox;
    returns the steps that had already gone (their readers are told)."""
    if alert.status == AlertStatus.CANCELLED.value:
        raise AlertPlanError("this alert is already cancelled")
    if as_utc(alert.ends_at) <= now:
        raise AlertPlanError("this alert is already over")
    alert.status = AlertStatus.CANCELLED.value
    alert.cancelled_at = now
    session.add(alert)
    done = []
    for step in steps_of(session, alert.id or 0):
        if step.status == StepStatus.PENDING.value:
            step.status = StepStatus.CANCELLED.value
            session.add(step)
        elif step.status == StepStatus.DONE.value:
            done.append(step)
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.subject_kind) == SubjectKind.ALERT.value,
               col(OutboxMessage.subject_id) == alert.id,
               col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.SUPPRESSED.value, last_error="alert cancelled",
                updated_at=now)
        .execution_options(synchronize_session=False))
    if done:
        session.add(AlertStep(alert_id=alert.id or 0, stage=AlertStage.CANCELLATION.value,
                              due_at=now))
    session.flush()
    return done


def record_intent(session: Session, alert_id: int, contact_id: int, intent: AlertIntent,
                  now: datetime) -> None:
    reply = session.exec(select(AlertReply).where(AlertReply.alert_id == alert_id,
                                                  AlertReply.contact_id == contact_id)).first()
    if reply is None:
        reply = AlertReply(alert_id=alert_id, contact_id=contact_id, intent=intent.value)
    reply.intent = intent.value
    reply.replied_at = now
    session.add(reply)
    session.flush()


def dedupe_key(alert_id: int, stage: str, contact_id: int) -> str:
    return f"alert:{alert_id}:{stage}:{contact_id}"


def subject(alert_id: int, stage: str) -> Subject:
    return Subject(SubjectKind.ALERT, alert_id, stage)


def stage_deadline(alert: Alert, stage: str, due_at: datetime) -> datetime:
    """After this, a message of ``stage`` is no longer true or useful: a notice once the
    alert has started, the start message once it has ended."""
    if stage in (AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN):
        return as_utc(alert.starts_at)
    if stage in (AlertStage.START, AlertStage.CANCELLATION):
        return as_utc(alert.ends_at)
    if stage == AlertStage.END:
        return as_utc(alert.ends_at) + END_DEADLINE
    return as_utc(due_at) + QUESTIONNAIRE_DEADLINE


def stage_priority(stage: str) -> Priority:
    """What happens to the grid now goes before questionnaires and chats."""
    if stage in QUIET_STAGES or stage not in {s.value for s in AlertStage}:
        return Priority.BULK
    return Priority.ALERT


# Rows whose message reached (or is reaching) the person: they were told about the alert.
TOLD_STATUSES = (OutboxStatus.SENDING.value, OutboxStatus.SENT.value,
                 OutboxStatus.DELIVERED.value, OutboxStatus.READ.value)
DELIVERY_BUCKETS = {"pending": "queued", "sending": "queued", "sent": "sent",
                    "delivered": "delivered", "read": "delivered", "failed": "failed",
                    "undelivered": "failed", "suppressed": "failed", "expired": "expired"}


def told_about(session: Session, alert_id: int) -> dict[int, int]:
    """Contact id → the identity they were last told about the alert on (a message rerouted
    from WhatsApp to SMS counts on SMS)."""
    rows = session.exec(
        select(OutboxMessage.contact_id, OutboxMessage.identity_id)
        .where(OutboxMessage.subject_kind == SubjectKind.ALERT.value,
               OutboxMessage.subject_id == alert_id,
               col(OutboxMessage.contact_id).is_not(None),
               col(OutboxMessage.stage) != AlertStage.CANCELLATION.value,
               col(OutboxMessage.status).in_(TOLD_STATUSES))
        .order_by(col(OutboxMessage.id))).all()
    return {contact_id: identity_id for contact_id, identity_id in rows
            if contact_id is not None}


def empty_delivery() -> dict[str, int]:
    return {bucket: 0 for bucket in ("queued", "sent", "delivered", "failed", "expired")}


def delivery_counts(session: Session, alert_id: int) -> dict[str, dict[str, int]]:
    """Per stage: queued, sent, delivered, failed, expired (this alert's outbox rows)."""
    rows = session.exec(
        select(OutboxMessage.stage, OutboxMessage.status, func.count())
        .where(OutboxMessage.subject_kind == SubjectKind.ALERT.value,
               OutboxMessage.subject_id == alert_id)
        .group_by(col(OutboxMessage.stage), col(OutboxMessage.status))
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for stage, status, number in rows:
        stage_counts = counts.setdefault(stage or "", empty_delivery())
        stage_counts[DELIVERY_BUCKETS.get(status, "queued")] += int(number)
    return counts


def replies_of(session: Session, alert_id: int) -> dict[str, int]:
    rows = session.exec(select(AlertReply.intent, func.count()).where(
        AlertReply.alert_id == alert_id).group_by(col(AlertReply.intent))).all()
    return {intent: int(number) for intent, number in rows}


def alert_summary(session: Session, alert: Alert) -> dict[str, Any]:
    assert alert.id is not None
    counts = delivery_counts(session, alert.id)
    return {
        "id": alert.id,
        "status": alert.status,
        "kind": alert.kind,
        "starts_at": as_utc(alert.starts_at).isoformat(),
        "ends_at": as_utc(alert.ends_at).isoformat(),
        "duration_minutes": alert.duration_minutes,
        "cluster_id": alert.cluster_id,
        "record_only": alert.record_only,
        "drill": alert.drill,
        "timeline": [
            {"stage": s.stage, "due_at": as_utc(s.due_at).isoformat(), "status": s.status,
             "recipients": s.recipients, "attempts": s.attempts, "last_error": s.last_error,
             "delivery": counts.get(s.stage, empty_delivery())}
            for s in steps_of(session, alert.id)
        ],
        "replies": replies_of(session, alert.id),
    }
