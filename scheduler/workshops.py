"""Workshop messages into the outbox: the invitations, the changes, the timed steps.

``send_invitations`` queues one row per recipient (subject "workshop", stage "invitation"),
worded once per language and channel; ``tell`` writes to people already chosen (a
cancellation, a move, a freed place); ``run_due_workshop_steps`` sends the reminders (24 h
before to Yes and Maybe, 2 h before to Yes) and the optional follow-up question when due.
Dedupe keys carry the workshop's revision, so a replay or a second scheduler is harmless
and a move makes new reminders. The wording is a ``WorkshopWording`` handed in (the bot's):
the scheduler does not import ``bot``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, or_, select

from core import conversations, outbox
from core.alerts import QUESTIONNAIRE_DEADLINE
from core.audience import TOPIC_WORKSHOPS, reachable_members, resolve_audience
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.groups import post_to_groups
from core.messages import RenderedMessage
from core.models import ChannelIdentity, Community, Contact, OutboxStatus, Priority
from core.quiet_hours import in_quiet_hours, quiet_hours_shift
from core.workshop_tables import (
    Answer,
    StepStatus,
    Workshop,
    WorkshopStage,
    WorkshopStatus,
    WorkshopStep,
)
from core.workshops import (
    REMINDED,
    audience_spec,
    check_sendable,
    contacts_answering,
    dedupe_key,
    mark_sent,
    subject,
)
from scheduler import retries
from scheduler.delivery import deliver

log = logging.getLogger(__name__)
# Changes and a freed place are news to act on; invitations and reminders are bulk.
PRIORITIES = {WorkshopStage.CANCELLED: Priority.CHAT, WorkshopStage.MOVED: Priority.CHAT,
              WorkshopStage.PROMOTED: Priority.CHAT}


class WorkshopWording(Protocol):
    """The bot's words for a workshop's messages."""

    def message(self, session: Session, stage: WorkshopStage, workshop: Workshop,
                community: Community, locale: str, channel: str, now: datetime
                ) -> RenderedMessage:
        """The message of ``stage`` for readers of ``locale`` on ``channel`` (the same for
        all of them: it is worded once per language and channel)."""
        ...

    def locale_of(self, contact: Contact, community: Community) -> str:
        """The language a contact reads."""
        ...

    def follow_up(self, session: Session, workshop: Workshop, community: Community,
                  contact: Contact, now: datetime) -> RenderedMessage | None:
        """The follow-up questionnaire's first question for one person (None: nothing to
        ask)."""
        ...


def _fan_out(session: Session, workshop: Workshop, community: Community,
             stage: WorkshopStage, members: Iterable[tuple[Contact, ChannelIdentity]],
             wording: WorkshopWording, now: datetime) -> int:
    assert workshop.id is not None
    worded: dict[tuple[str, str], RenderedMessage] = {}
    deadline = as_utc(workshop.starts_at)
    count = 0
    # The conversations the messages open, written together at the end (one statement for
    # thousands of people rather than two each).
    opening: dict[int, list[int]] = {}
    for contact, identity in members:
        assert contact.id is not None and identity.id is not None
        locale = wording.locale_of(contact, community)
        key = (locale, identity.channel)
        if key not in worded:
            worded[key] = wording.message(session, stage, workshop, community, locale,
                                          identity.channel, now)
        message = worded[key]
        row = outbox.enqueue(session, dedupe_key=dedupe_key(workshop, stage, contact.id),
                             identity=identity, kind=message.kind, payload=message.payload,
                             now=now, subject=subject(workshop.id, stage),
                             priority=PRIORITIES.get(stage, Priority.BULK),
                             expires_at=deadline)
        if row is None:
            continue
        count += 1
        if message.opens is not None and row.status == OutboxStatus.PENDING.value:
            opening.setdefault(id(message), []).append(identity.id)
    by_id = {id(message): message for message in worded.values()}
    for message_id, identity_ids in opening.items():
        opens = by_id[message_id].opens
        assert opens is not None
        conversations.open_many(session, identity_ids, opens.flow, opens.step,
                                dict(opens.data), now, opens.ttl, opens.replaces)
    return count


GroupPost = Callable[[Workshop, Community], RenderedMessage]


def send_invitations(session: Session, workshop: Workshop, wording: WorkshopWording,
                     now: datetime, group_post: GroupPost | None = None) -> int:
    """Queue the invitation to everyone in the audience (minus those who muted
    workshops), mark the workshop sent and plan its steps; returns how many rows were
    queued. Raises ``WorkshopError`` when it cannot be sent (sent already, started)."""
    check_sendable(workshop, now)
    community = session.get(Community, workshop.community_id)
    assert community is not None and community.id is not None
    audience = resolve_audience(session, community.id, audience_spec(workshop),
                                topic=TOPIC_WORKSHOPS)
    count = _fan_out(session, workshop, community, WorkshopStage.INVITATION, audience,
                     wording, now)
    if group_post is not None and workshop.id is not None:
        # Linked Telegram groups: one post, nothing personal, answered privately.
        post = group_post(workshop, community)
        post_to_groups(session, community.id, dedupe_key=f"workshop:{workshop.id}:invitation",
                       kind=post.kind, payload=post.payload, now=now,
                       subject=subject(workshop.id, WorkshopStage.INVITATION),
                       priority=Priority.BULK, expires_at=as_utc(workshop.starts_at))
    mark_sent(session, workshop, community, count, now)
    return count


def tell(session: Session, workshop: Workshop, stage: WorkshopStage,
         contact_ids: Iterable[int], wording: WorkshopWording, now: datetime) -> int:
    """Write ``stage`` (cancelled, moved, promoted) to these contacts."""
    community = session.get(Community, workshop.community_id)
    assert community is not None
    return _fan_out(session, workshop, community, stage,
                    reachable_members(session, contact_ids), wording, now)


# --------------------------------------------------------------------------------------------
# Timed steps
# --------------------------------------------------------------------------------------------

@dataclass
class WorkshopStepReport:
    done: list[tuple[int, str, int]] = field(default_factory=list)  # (workshop, stage, sent)
    postponed: list[tuple[int, str]] = field(default_factory=list)
    missed: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return len(self.done) + len(self.postponed) + len(self.missed) + len(self.failed)


def run_due_workshop_steps(engine: Engine, wording: WorkshopWording, clock: Clock = utc_now,
                           limit: int = 20) -> WorkshopStepReport:
    """Send due reminders and follow-ups, one step per transaction."""
    report = WorkshopStepReport()
    while report.handled < limit:
        step_id: int | None = None
        try:
            with session_scope(engine) as session:
                now = clock()
                step = _claim_one(session, now)
                if step is None:
                    return report
                step_id = step.id
                _run(session, step, wording, now, report)
        except OperationalError as exc:
            log.info("workshop step left for the next tick: %s", exc.__class__.__name__)
            return report
        except Exception as exc:
            if step_id is None:
                raise
            log.exception("workshop step %s failed", step_id)
            _record_failure(engine, step_id, exc, clock(), report)
    return report


def _claim_one(session: Session, now: datetime) -> WorkshopStep | None:
    query = (select(WorkshopStep)
             .where(WorkshopStep.status == StepStatus.PENDING.value,
                    col(WorkshopStep.due_at) <= now,
                    or_(col(WorkshopStep.retry_at).is_(None), col(WorkshopStep.retry_at) <= now))
             .order_by(col(WorkshopStep.due_at), col(WorkshopStep.id)).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def _record_failure(engine: Engine, step_id: int, exc: Exception, now: datetime,
                    report: WorkshopStepReport) -> None:
    reason = retries.reason_of(exc)
    with session_scope(engine) as session:
        step = session.get(WorkshopStep, step_id)
        if step is None or step.status != StepStatus.PENDING.value:
            return
        step.attempts += 1
        step.last_error = reason
        if step.attempts >= retries.MAX_ATTEMPTS:
            step.status = StepStatus.FAILED.value
            step.retry_at = None
        else:
            step.retry_at = now + retries.backoff(step.attempts)
        session.add(step)
        report.failed.append((step.workshop_id, reason))


def _run(session: Session, step: WorkshopStep, wording: WorkshopWording, now: datetime,
         report: WorkshopStepReport) -> None:
    workshop = session.get(Workshop, step.workshop_id)
    community = session.get(Community, workshop.community_id) if workshop else None
    if workshop is None or community is None or workshop.id is None \
            or workshop.status != WorkshopStatus.SENT.value:
        step.status = StepStatus.CANCELLED.value
        session.add(step)
        return
    stage = WorkshopStage(step.stage)
    follow_up = stage is WorkshopStage.FOLLOW_UP
    if not follow_up and as_utc(workshop.starts_at) <= now:
        step.status = StepStatus.MISSED.value  # a reminder after the start is no reminder
        session.add(step)
        report.missed.append((workshop.id, stage.value))
        return
    if in_quiet_hours(now, community.quiet_hours, community.timezone):
        later = quiet_hours_shift(now, community.quiet_hours, community.timezone)
        if follow_up or later < as_utc(workshop.starts_at):
            step.due_at = later
            report.postponed.append((workshop.id, stage.value))
        else:  # the quiet hours last until the start: no reminder rather than a late one
            step.status = StepStatus.MISSED.value
            report.missed.append((workshop.id, stage.value))
        session.add(step)
        return
    if follow_up:
        count = _send_follow_up(session, workshop, community, wording, now)
    else:
        members = reachable_members(session, contacts_answering(
            session, workshop.id, REMINDED[stage]))
        count = _fan_out(session, workshop, community, stage, members, wording, now)
    step.status = StepStatus.DONE.value
    step.done_at = now
    step.recipients = count
    step.retry_at = None
    session.add(step)
    report.done.append((workshop.id, stage.value, count))


def _send_follow_up(session: Session, workshop: Workshop, community: Community,
                    wording: WorkshopWording, now: datetime) -> int:
    assert workshop.id is not None
    count = 0
    stage = WorkshopStage.FOLLOW_UP
    for contact, identity in reachable_members(session, contacts_answering(
            session, workshop.id, (Answer.YES,))):
        assert contact.id is not None
        message = wording.follow_up(session, workshop, community, contact, now)
        if message is None:
            continue
        row = deliver(session, message, identity,
                      dedupe_key=dedupe_key(workshop, stage, contact.id),
                      subject=subject(workshop.id, stage), priority=Priority.BULK,
                      expires_at=message.expires_at or now + QUESTIONNAIRE_DEADLINE,
                      now=now)
        if row is not None:
            count += 1
    return count
