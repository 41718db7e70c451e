"""Turning due alert steps into outbox rows, once.

Each step is claimed and fanned out in one transaction: a crash before the commit leaves the
step pending (and its rows unwritten); after it, the step is done. Dedupe keys
(``alert:{id}:{stage}:{contact}``) make a second scheduler, or a replay, harmless; what a
row is about is in its columns (subject alert/id, stage, contact).

A step that raises is rolled back, tried again with a backoff and, after
``retries.MAX_ATTEMPTS``, marked failed with its reason; the other due steps, of every
community, go on in the same tick. Each message carries its stage's deadline: a step run
late writes the rows that can no longer be true as expired (a notice after the start, a
start message after the end), and those are never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, or_, select

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
    stage_deadline,
    stage_priority,
    subject,
    told_about,
)
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.gestures import alert_time_gestures
from core.groups import post_to_groups
from core.messages import RenderedMessage
from core.models import ChannelIdentity, Community, Contact
from core.quiet_hours import in_quiet_hours, quiet_hours_shift
from scheduler import retries
from scheduler.check_ins import schedule_after_alert
from scheduler.delivery import deliver

log = logging.getLogger(__name__)

# The stage whose message recalls each resident's own alert-time gesture ("Your gesture: ...").
GESTURE_STAGE = AlertStage.NOTICE_30MIN
# Stages a linked Telegram group hears about (whole-community alerts only).
GROUP_STAGES = frozenset({AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN, AlertStage.START,
                          AlertStage.END, AlertStage.CANCELLATION})


class AlertRenderer(Protocol):
    """Writes the text of a stage for one reader (implemented in ``bot/flows/alert.py``)."""

    def render(self, stage: AlertStage, alert: Alert, community: Community, contact: Contact,
               gesture: Mapping[str, str] | None = None) -> RenderedMessage:
        """``gesture``: the reader's alert-time gesture (its short text per language), given
        for ``GESTURE_STAGE`` only."""
        ...

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
    # (alert, stage, reason): raised this tick; tried again later, or given up on.
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    retry_later: bool = False

    @property
    def handled(self) -> int:
        return len(self.done) + len(self.missed) + len(self.postponed) + len(self.failed)


def run_due_steps(engine: Engine, renderer: AlertRenderer, clock: Clock = utc_now,
                  respondents: Respondents = nobody_answered, limit: int = 20) -> TickReport:
    report = TickReport()
    while report.handled < limit:
        step_id: int | None = None
        try:
            with session_scope(engine) as session:
                step = _claim_one(session, clock())
                if step is None:
                    return report
                step_id = step.id
                _run_step(session, step, renderer, clock(), respondents, report)
        except OperationalError as exc:
            # The database, not the step (SQLite busy, a lost connection): everything rolled
            # back; the next tick tries again.
            log.info("alert step left for the next tick: %s", exc.__class__.__name__)
            report.retry_later = True
            return report
        except Exception as exc:
            if step_id is None:
                raise
            log.exception("alert step %s failed", step_id)
            failed = _record_failure(engine, step_id, exc, clock())
            if failed is not None:
                report.failed.append(failed)
    return report


def _claim_one(session: Session, now: datetime) -> AlertStep | None:
    query = (select(AlertStep)
             .where(AlertStep.status == StepStatus.PENDING.value, col(AlertStep.due_at) <= now,
                    or_(col(AlertStep.retry_at).is_(None), col(AlertStep.retry_at) <= now))
             .order_by(col(AlertStep.due_at), col(AlertStep.id)).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        # Another scheduler holding a step skips it instead of waiting, and never runs it too.
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def _record_failure(engine: Engine, step_id: int, exc: Exception, now: datetime
                    ) -> tuple[int, str, str] | None:
    """Count the failure on the step (still pending, not held by another scheduler): retry
    after a backoff, or give up with the reason."""
    reason = retries.reason_of(exc)
    with session_scope(engine) as session:
        query = select(AlertStep).where(AlertStep.id == step_id,
                                        AlertStep.status == StepStatus.PENDING.value)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        step = session.exec(query).first()
        if step is None:
            return None
        step.attempts += 1
        step.last_error = reason
        if step.attempts >= retries.MAX_ATTEMPTS:
            step.status = StepStatus.FAILED.value
            step.done_at = now
            step.retry_at = None
        else:
            step.retry_at = now + retries.backoff(step.attempts)
        session.add(step)
        return step.alert_id, step.stage, reason


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
    deadline = stage_deadline(alert, stage, step.due_at)
    gestures = alert_time_gestures(session, community.id or 0, now) \
        if stage is GESTURE_STAGE else {}
    for contact, identity in recipients:
        assert contact.id is not None
        message = None
        if stage in (AlertStage.QUESTIONNAIRE, AlertStage.REMINDER):
            message = renderer.survey(session, stage, alert, community, contact, now)
        if message is None and contact.id in gestures:
            message = renderer.render(stage, alert, community, contact,
                                      gesture=gestures[contact.id].alert_text)
        if message is None:
            message = renderer.render(stage, alert, community, contact)
        deliver(session, message, identity,
                dedupe_key=dedupe_key(alert.id, stage.value, contact.id),
                subject=subject(alert.id, stage.value), priority=stage_priority(stage),
                expires_at=deadline, now=now)
    if stage is AlertStage.END:
        # "After the next alert": this alert is it, for the commitments of its audience.
        schedule_after_alert(session, alert, (c.id for c, _ in recipients if c.id), community)
    if stage in GROUP_STAGES and alert.cluster_id is None:
        _post_collective(session, renderer, stage, alert, community, deadline, now)
    step.status = StepStatus.DONE.value
    step.done_at = now
    step.retry_at = None
    step.recipients = len(recipients)
    session.add(step)
    report.done.append((alert.id, stage.value, len(recipients)))


def _post_collective(session: Session, renderer: AlertRenderer, stage: AlertStage,
                     alert: Alert, community: Community, deadline: datetime, now: datetime
                     ) -> None:
    """The community's linked Telegram groups get the same message in the community's
    language, without buttons and without anything personal."""
    assert alert.id is not None
    reader = Contact(community_id=community.id or 0, locale=community.default_locale)
    message = renderer.render(stage, alert, community, reader)
    post_to_groups(session, community.id or 0, dedupe_key=f"alert:{alert.id}:{stage.value}",
                   kind=message.kind, payload=message.payload, now=now,
                   subject=subject(alert.id, stage.value), priority=stage_priority(stage),
                   expires_at=deadline)


def _recipients(session: Session, alert: Alert, stage: AlertStage, respondents: Respondents
                ) -> list[tuple[Contact, ChannelIdentity]]:
    everyone = audience(session, alert)
    if stage is AlertStage.REMINDER:
        answered = respondents(session, alert)
        return [(c, i) for c, i in everyone if c.id not in answered]
    if stage is AlertStage.CANCELLATION:
        return _told_on_their_channel(session, alert, everyone)
    return everyone


def _told_on_their_channel(session: Session, alert: Alert,
                           everyone: list[tuple[Contact, ChannelIdentity]]
                           ) -> list[tuple[Contact, ChannelIdentity]]:
    """Those who were told about the alert, each on the address they were told on (an SMS
    after a WhatsApp message was rerouted), if it is still reachable."""
    assert alert.id is not None
    told = told_about(session, alert.id)
    chosen = []
    for contact, usual in everyone:
        identity_id = told.get(contact.id or 0)
        if identity_id is None:
            continue
        identity = session.get(ChannelIdentity, identity_id)
        chosen.append((contact, identity if identity is not None and identity.reachable
                       else usual))
    return chosen
