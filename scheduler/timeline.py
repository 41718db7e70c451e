"""Turning due alert steps into outbox rows, once.

Each step is claimed and fanned out in one transaction: a crash before the commit leaves the
step pending (and its rows unwritten); after it, the step is done. Dedupe keys
(``alert:{id}:{stage}:{contact}``) make a second scheduler, or a replay, harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from core import conversations, outbox
from core.alerts import (
    QUIET_STAGES,
    Alert,
    AlertStage,
    AlertStatus,
    AlertStep,
    StepStatus,
    alert_settings,
    audience,
    dedupe_key,
)
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.groups import post_to_groups
from core.models import ChannelIdentity, Community, Contact, OutboxMessage
from core.quiet_hours import in_quiet_hours, quiet_hours_shift

log = logging.getLogger(__name__)

# Stages a linked Telegram group hears about (whole-community alerts only).
GROUP_STAGES = frozenset({AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN, AlertStage.START,
                          AlertStage.END, AlertStage.CANCELLATION})

# Conversations a scheduled message may take over: those the bot itself opened. A resident
# in the middle of something they started (joining, erasing, planning) is not interrupted.
REPLACEABLE_FLOWS = frozenset({None, "menu", "alert", "questionnaire"})


# How long the "are you joining in?" question waits for an answer after the start.
@dataclass(frozen=True)
class RenderedMessage:
    kind: str
    payload: dict[str, Any]
    # Conversation to open for the reply (e.g. the start message's "I'm in" choices).
    awaits: tuple[str, str, dict[str, Any]] | None = None
    awaits_for: timedelta = timedelta(hours=24)


class AlertRenderer(Protocol):
    """Writes the text of a stage for one reader (implemented in ``bot/flows/alert.py``)."""

    def render(self, stage: AlertStage, alert: Alert, community: Community, contact: Contact
               ) -> RenderedMessage: ...

    def survey(self, session: Session, stage: AlertStage, alert: Alert, community: Community,
               contact: Contact, now: datetime) -> RenderedMessage | None:
        """The post-alert questionnaire's next question for this reader (None: none to ask)."""
        ...


class Respondents(Protocol):
    """Who has already answered an alert's questionnaire (they get no reminder)."""

    def __call__(self, session: Session, alert: Alert) -> set[int]: ...


def nobody_answered(session: Session, alert: Alert) -> set[int]:
    return set()


@dataclass
class TickReport:
    done: list[tuple[int, str, int]] = field(default_factory=list)
    missed: list[tuple[int, str]] = field(default_factory=list)
    postponed: list[tuple[int, str]] = field(default_factory=list)
    retry_later: bool = False


def run_due_steps(engine: Engine, renderer: AlertRenderer, clock: Clock = utc_now,
                  respondents: Respondents = nobody_answered, limit: int = 20) -> TickReport:
    report = TickReport()
    while True:
        try:
            with session_scope(engine) as session:
                step = _claim_one(session, clock())
                if step is None:
                    return report
                _run_step(session, step, renderer, clock(), respondents, report)
        except (IntegrityError, OperationalError) as exc:
            # SQLite has no SKIP LOCKED: two ticks may take the same step, and the second
            # one's transaction fails on a unique key or the lock. It rolled back whole, so
            # nothing went twice; the step is done by the other, or retried next tick.
            log.info("alert step left for the next tick: %s", exc.__class__.__name__)
            report.retry_later = True
            return report
        if len(report.done) + len(report.missed) + len(report.postponed) >= limit:
            return report


def _claim_one(session: Session, now: datetime) -> AlertStep | None:
    query = (select(AlertStep)
             .where(AlertStep.status == StepStatus.PENDING.value, col(AlertStep.due_at) <= now)
             .order_by(col(AlertStep.due_at), col(AlertStep.id)).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        # Another scheduler holding a step skips it instead of waiting, and never runs it too.
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def _run_step(session: Session, step: AlertStep, renderer: AlertRenderer, now: datetime,
              respondents: Respondents, report: TickReport) -> None:
    alert = session.get(Alert, step.alert_id)
    assert alert is not None and alert.id is not None
    community = session.get(Community, alert.community_id)
    assert community is not None
    stage = AlertStage(step.stage)
    if alert.status == AlertStatus.CANCELLED.value and stage is not AlertStage.CANCELLATION:
        step.status = StepStatus.CANCELLED.value
        session.add(step)
        return
    grace = timedelta(minutes=alert_settings(session, community.id or 0).grace_minutes)
    if now - as_utc(step.due_at) > grace:
        step.status = StepStatus.MISSED.value
        step.done_at = now
        session.add(step)
        report.missed.append((alert.id, stage.value))
        return
    if stage in QUIET_STAGES and in_quiet_hours(now, community.quiet_hours, community.timezone):
        step.due_at = quiet_hours_shift(now, community.quiet_hours, community.timezone)
        session.add(step)
        report.postponed.append((alert.id, stage.value))
        return
    recipients = _recipients(session, alert, stage, respondents)
    for contact, identity in recipients:
        assert contact.id is not None and identity.id is not None
        message = None
        if stage in (AlertStage.QUESTIONNAIRE, AlertStage.REMINDER):
            message = renderer.survey(session, stage, alert, community, contact, now)
        if message is None:
            message = renderer.render(stage, alert, community, contact)
        outbox.enqueue(session, dedupe_key=dedupe_key(alert.id, stage.value, contact.id),
                       identity=identity, kind=message.kind, payload=message.payload, now=now)
        if message.awaits is not None:
            _open_conversation(session, identity.id, message.awaits, message.awaits_for, now)
    if stage in GROUP_STAGES and alert.cluster_id is None:
        _post_collective(session, renderer, stage, alert, community, now)
    step.status = StepStatus.DONE.value
    step.done_at = now
    step.recipients = len(recipients)
    session.add(step)
    report.done.append((alert.id, stage.value, len(recipients)))


def _post_collective(session: Session, renderer: AlertRenderer, stage: AlertStage,
                     alert: Alert, community: Community, now: datetime) -> None:
    """The community's linked Telegram groups get the same message in the community's
    language, without buttons and without anything personal."""
    reader = Contact(community_id=community.id or 0, locale=community.default_locale)
    message = renderer.render(stage, alert, community, reader)
    post_to_groups(session, community.id or 0, dedupe_key=f"alert:{alert.id}:{stage.value}",
                   kind=message.kind, payload=message.payload, now=now)


def _recipients(session: Session, alert: Alert, stage: AlertStage, respondents: Respondents
                ) -> list[tuple[Contact, ChannelIdentity]]:
    everyone = audience(session, alert)
    if stage is AlertStage.REMINDER:
        answered = respondents(session, alert)
        return [(c, i) for c, i in everyone if c.id not in answered]
    if stage is AlertStage.CANCELLATION:
        told = _contacts_already_messaged(session, alert)
        return [(c, i) for c, i in everyone if c.id in told]
    return everyone


def _contacts_already_messaged(session: Session, alert: Alert) -> set[int]:
    keys = session.exec(select(OutboxMessage.dedupe_key).where(
        col(OutboxMessage.dedupe_key).startswith(f"alert:{alert.id}:"))).all()
    return {int(key.rsplit(":", 1)[1]) for key in keys}


def _open_conversation(session: Session, identity_id: int,
                       awaits: tuple[str, str, dict[str, Any]], ttl: timedelta, now: datetime
                       ) -> None:
    """Let a typed "1" answer this message, unless the resident is in another conversation."""
    current = conversations.load_state(session, identity_id, now)
    if current.flow not in REPLACEABLE_FLOWS:
        return
    flow, step, data = awaits
    conversations.save_state(session, identity_id, flow, step, data, now, ttl)
