"""Workshops: a facilitator invites an audience, residents answer Yes / Maybe / No.

The rules live here; the wording (in each resident's language) is the bot's, and the
fan-out to the outbox is ``scheduler/workshops.py``'s. A workshop is written as a draft,
then sent: one outbox row per recipient (subject "workshop", stage "invitation"), and its
timed steps (reminders 24 h and 2 h before, the optional follow-up question after) become
``WorkshopStep`` rows the scheduler claims when due.

With a capacity, a Yes beyond it goes on the waiting list (``Answer.WAITING``), served in
the order people answered; when a Yes becomes something else, the first person waiting
gets the place (``AnswerOutcome.promoted``) and is told.

Reminders never go in quiet hours: one that would falls just before the quiet hours
instead (earlier, never later: a reminder after the workshop is useless).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core.audience import AudienceSpec
from core.clock import as_utc
from core.config import SUPPORTED_LOCALES
from core.models import Community, Contact, OutboxMessage, OutboxStatus, SubjectKind
from core.outbox import Subject
from core.questionnaires.storage import Response
from core.quiet_hours import in_quiet_hours, parse_quiet_hours, quiet_hours_shift
from core.workshop_tables import (
    TIMED_STAGES,
    Answer,
    StepStatus,
    Workshop,
    WorkshopRsvp,
    WorkshopStage,
    WorkshopStatus,
    WorkshopStep,
)

MAX_DURATION = timedelta(hours=24)
MAX_TITLE = 120
MAX_DESCRIPTION = 1000
MAX_PLACE = 200
MAX_CAPACITY = 100_000
# How long before the start each reminder goes, and who gets it.
REMINDER_OFFSETS = {WorkshopStage.REMINDER_24H: timedelta(hours=24),
                    WorkshopStage.REMINDER_2H: timedelta(hours=2)}
REMINDED = {WorkshopStage.REMINDER_24H: (Answer.YES, Answer.MAYBE),
            WorkshopStage.REMINDER_2H: (Answer.YES,)}
# A reminder moved out of quiet hours goes this long before they begin.
BEFORE_QUIET_HOURS = timedelta(minutes=30)
# The follow-up question goes this long after the end (then waits for the morning).
FOLLOW_UP_DELAY = timedelta(hours=1)
FOLLOW_UP_QUESTIONNAIRE = "workshop_follow_up"
# Who hears that the workshop was cancelled or moved.
TOLD_OF_CHANGES = (Answer.YES, Answer.MAYBE, Answer.WAITING)


class WorkshopError(ValueError):
    """A workshop that cannot be made or changed; the message says why (a 4xx or a chat
    reply). ``code``: invalid, not_found, sent, cancelled, over."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def context_of(workshop_id: int) -> str:
    """The questionnaire context of the follow-up question."""
    return f"workshop:{workshop_id}"


def subject(workshop_id: int, stage: WorkshopStage | str) -> Subject:
    return Subject(SubjectKind.WORKSHOP, workshop_id, str(stage))


def dedupe_key(workshop: Workshop, stage: WorkshopStage | str, contact_id: int,
               extra: str = "") -> str:
    """One row per person, stage and revision (a move makes new reminders)."""
    return f"workshop:{workshop.id}:{stage}:r{workshop.revision}{extra}:{contact_id}"


def _texts(raw: Any, field: str, limit: int, required: bool) -> dict[str, str]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WorkshopError(f"{field} must map a language to a text, e.g. {{\"fr\": \"...\"}}")
    texts: dict[str, str] = {}
    for locale, text in raw.items():
        if locale not in SUPPORTED_LOCALES:
            raise WorkshopError(f"{field}: unknown language {locale!r}: one of "
                                f"{', '.join(SUPPORTED_LOCALES)}")
        if not isinstance(text, str) or not text.strip():
            raise WorkshopError(f"{field}.{locale} must be a non-empty text")
        if len(text) > limit:
            raise WorkshopError(f"{field}.{locale} is longer than {limit} characters")
        texts[locale] = text.strip()
    if required and not texts:
        raise WorkshopError(f"{field} needs a text in at least one language")
    return texts


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise WorkshopError("starts_at and ends_at need a UTC offset, "
                            "e.g. 2026-12-03T18:00:00+01:00")
    if as_utc(starts_at) <= as_utc(now):
        raise WorkshopError("starts_at is in the past", "past")
    if not as_utc(starts_at) < as_utc(ends_at) <= as_utc(starts_at) + MAX_DURATION:
        raise WorkshopError("ends_at must be after starts_at, within 24 hours")


def create_workshop(session: Session, community: Community, *, title: dict[str, str],
                    place: str, starts_at: datetime, ends_at: datetime, now: datetime,
                    description: dict[str, str] | None = None, capacity: int | None = None,
                    audience: AudienceSpec | None = None, author_locale: str | None = None,
                    created_by: int | None = None, follow_up: bool = False) -> Workshop:
    """A draft; raises ``WorkshopError`` (or ``AudienceError``) with the reason.

    ``author_locale`` (the facilitator's language, whose text others get when theirs has
    none) defaults to the community's language when the title has it, else the title's
    first language."""
    assert community.id is not None
    titles = _texts(title, "title", MAX_TITLE, required=True)
    descriptions = _texts(description, "description", MAX_DESCRIPTION, required=False)
    if not isinstance(place, str) or not place.strip() or len(place) > MAX_PLACE:
        raise WorkshopError(f"place must be a non-empty text of at most {MAX_PLACE} characters")
    _check_times(starts_at, ends_at, now)
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise WorkshopError("capacity must be at least 1 (or left out: no limit)")
    if author_locale is None:
        author_locale = community.default_locale if community.default_locale in titles \
            else next(iter(titles))
    if author_locale not in titles:
        raise WorkshopError(f"the title has no text in the author's language {author_locale}")
    spec = audience or AudienceSpec()
    spec.check(session, community.id)
    workshop = Workshop(community_id=community.id, created_by=created_by, title=titles,
                        description=descriptions, author_locale=author_locale,
                        place=place.strip(), starts_at=as_utc(starts_at),
                        ends_at=as_utc(ends_at), capacity=capacity, audience=spec.to_json(),
                        follow_up=follow_up, status=WorkshopStatus.DRAFT.value,
                        created_at=now)
    session.add(workshop)
    session.flush()
    return workshop


def text_for(texts: dict[str, str], workshop: Workshop, locale: str) -> tuple[str, str]:
    """(text, its language): the reader's version, else the facilitator's."""
    if locale in texts:
        return texts[locale], locale
    if workshop.author_locale in texts:
        return texts[workshop.author_locale], workshop.author_locale
    if texts:
        first = next(iter(texts))
        return texts[first], first
    return "", locale


def audience_spec(workshop: Workshop) -> AudienceSpec:
    return AudienceSpec.from_json(workshop.audience)


def is_over(workshop: Workshop, now: datetime) -> bool:
    return as_utc(workshop.ends_at) <= as_utc(now)


def is_open(workshop: Workshop, now: datetime) -> bool:
    """Still taking answers: sent, not cancelled, not started."""
    return workshop.status == WorkshopStatus.SENT.value \
        and as_utc(workshop.starts_at) > as_utc(now)


# --------------------------------------------------------------------------------------------
# Timed steps
# --------------------------------------------------------------------------------------------

def before_quiet_hours(moment: datetime, spec: str, timezone: str) -> datetime:
    """``moment`` itself, or ``BEFORE_QUIET_HOURS`` before the quiet hours it falls in."""
    if not in_quiet_hours(moment, spec, timezone):
        return as_utc(moment)
    start, _ = parse_quiet_hours(spec)
    zone = ZoneInfo(timezone)
    local = as_utc(moment).astimezone(zone)
    began = datetime.combine(local.date(), start, tzinfo=zone)
    if began > local:  # after midnight: the quiet hours began the evening before
        began = datetime.combine(local.date() - timedelta(days=1), start, tzinfo=zone)
    return as_utc(began) - BEFORE_QUIET_HOURS


def step_times(workshop: Workshop, community: Community) -> dict[WorkshopStage, datetime]:
    starts_at = as_utc(workshop.starts_at)
    times = {stage: before_quiet_hours(starts_at - offset, community.quiet_hours,
                                       community.timezone)
             for stage, offset in REMINDER_OFFSETS.items()}
    if workshop.follow_up:
        times[WorkshopStage.FOLLOW_UP] = quiet_hours_shift(
            as_utc(workshop.ends_at) + FOLLOW_UP_DELAY, community.quiet_hours,
            community.timezone)
    return times


def plan_steps(session: Session, workshop: Workshop, community: Community, now: datetime
               ) -> list[WorkshopStep]:
    """(Re)write the timed steps: a step whose time has passed is skipped (the invitation
    or the move notice just went)."""
    assert workshop.id is not None
    existing = {step.stage: step for step in steps_of(session, workshop.id)}
    planned = []
    for stage, due in step_times(workshop, community).items():
        step = existing.get(stage.value) or WorkshopStep(workshop_id=workshop.id,
                                                         stage=stage.value, due_at=due)
        step.due_at = due
        step.status = (StepStatus.PENDING if due > as_utc(now) else StepStatus.SKIPPED).value
        step.done_at = None
        step.recipients = 0
        step.attempts = 0
        step.retry_at = None
        step.last_error = None
        session.add(step)
        planned.append(step)
    session.flush()
    return planned


def steps_of(session: Session, workshop_id: int) -> list[WorkshopStep]:
    return list(session.exec(select(WorkshopStep).where(
        WorkshopStep.workshop_id == workshop_id).order_by(col(WorkshopStep.due_at))).all())


def mark_sent(session: Session, workshop: Workshop, community: Community, recipients: int,
              now: datetime) -> None:
    """The invitations are queued: the workshop is sent and its steps are planned."""
    if workshop.status != WorkshopStatus.DRAFT.value:
        raise WorkshopError(f"this workshop is {workshop.status}", workshop.status)
    workshop.status = WorkshopStatus.SENT.value
    workshop.sent_at = now
    workshop.recipients = recipients
    session.add(workshop)
    plan_steps(session, workshop, community, now)


def check_sendable(workshop: Workshop, now: datetime) -> None:
    if workshop.status != WorkshopStatus.DRAFT.value:
        raise WorkshopError(f"this workshop is already {workshop.status}", workshop.status)
    if as_utc(workshop.starts_at) <= as_utc(now):
        raise WorkshopError("this workshop has started already", "over")


# --------------------------------------------------------------------------------------------
# Answers and the waiting list
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerOutcome:
    answer: Answer  # what was recorded (WAITING for a Yes beyond the capacity)
    previous: Answer | None
    # The contact who got the place this answer freed, if any: tell them.
    promoted: int | None = None
    # Their place on the waiting list (1 = next), for a WAITING answer.
    waiting_rank: int | None = None


def rsvp_of(session: Session, workshop_id: int, contact_id: int) -> WorkshopRsvp | None:
    return session.exec(select(WorkshopRsvp).where(
        WorkshopRsvp.workshop_id == workshop_id, WorkshopRsvp.contact_id == contact_id)).first()


def _count(session: Session, workshop_id: int, answer: Answer) -> int:
    return int(session.exec(select(func.count()).select_from(WorkshopRsvp).where(
        WorkshopRsvp.workshop_id == workshop_id, WorkshopRsvp.answer == answer.value)).one())


def waiting_rank(session: Session, rsvp: WorkshopRsvp) -> int:
    earlier = session.exec(select(func.count()).select_from(WorkshopRsvp).where(
        WorkshopRsvp.workshop_id == rsvp.workshop_id,
        WorkshopRsvp.answer == Answer.WAITING.value,
        (col(WorkshopRsvp.answered_at) < rsvp.answered_at)
        | ((col(WorkshopRsvp.answered_at) == rsvp.answered_at)
           & (col(WorkshopRsvp.id) < rsvp.id)))).one()
    return int(earlier) + 1


def _lock(session: Session, workshop: Workshop) -> None:
    """Answers to one workshop are counted one at a time (two last places are not given
    twice): PostgreSQL locks the workshop row; SQLite has one writer anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Workshop.id).where(Workshop.id == workshop.id).with_for_update())


def record_answer(session: Session, workshop: Workshop, contact_id: int, answer: Answer,
                  now: datetime) -> AnswerOutcome:
    """Record (or change) a resident's answer; raises ``WorkshopError`` when the workshop no
    longer takes answers. A Yes beyond the capacity waits; a Yes given up frees a place for
    the first person waiting."""
    assert workshop.id is not None
    if workshop.status == WorkshopStatus.CANCELLED.value:
        raise WorkshopError("this workshop is cancelled", "cancelled")
    if not is_open(workshop, now):
        raise WorkshopError("this workshop no longer takes answers", "over")
    if answer is Answer.WAITING:
        answer = Answer.YES
    _lock(session, workshop)
    rsvp = rsvp_of(session, workshop.id, contact_id)
    previous = Answer(rsvp.answer) if rsvp is not None else None
    if previous in (Answer.YES, Answer.WAITING) and answer is Answer.YES:
        assert rsvp is not None
        rank = waiting_rank(session, rsvp) if previous is Answer.WAITING else None
        return AnswerOutcome(previous, previous, waiting_rank=rank)
    recorded = answer
    if answer is Answer.YES and workshop.capacity is not None \
            and _count(session, workshop.id, Answer.YES) >= workshop.capacity:
        recorded = Answer.WAITING
    if rsvp is None:
        rsvp = WorkshopRsvp(workshop_id=workshop.id, contact_id=contact_id,
                            answer=recorded.value)
    rsvp.answer = recorded.value
    rsvp.answered_at = now
    session.add(rsvp)
    session.flush()
    promoted = promote_waiting(session, workshop, now) if previous is Answer.YES else None
    rank = waiting_rank(session, rsvp) if recorded is Answer.WAITING else None
    return AnswerOutcome(recorded, previous, promoted=promoted, waiting_rank=rank)


def promote_waiting(session: Session, workshop: Workshop, now: datetime) -> int | None:
    """Give a free place to the first person waiting; returns their contact id."""
    assert workshop.id is not None
    if workshop.capacity is not None \
            and _count(session, workshop.id, Answer.YES) >= workshop.capacity:
        return None
    first = session.exec(select(WorkshopRsvp).where(
        WorkshopRsvp.workshop_id == workshop.id, WorkshopRsvp.answer == Answer.WAITING.value)
        .order_by(col(WorkshopRsvp.answered_at), col(WorkshopRsvp.id)).limit(1)).first()
    if first is None:
        return None
    first.answer = Answer.YES.value
    session.add(first)
    session.flush()
    return first.contact_id


def contacts_answering(session: Session, workshop_id: int, answers: tuple[Answer, ...]
                       ) -> list[int]:
    return list(session.exec(select(WorkshopRsvp.contact_id).where(
        WorkshopRsvp.workshop_id == workshop_id,
        col(WorkshopRsvp.answer).in_([a.value for a in answers]))
        .order_by(col(WorkshopRsvp.id))).all())


def rsvp_counts(session: Session, workshop_id: int) -> dict[str, int]:
    counts = {answer.value: 0 for answer in Answer}
    for answer, number in session.exec(select(WorkshopRsvp.answer, func.count()).where(
            WorkshopRsvp.workshop_id == workshop_id).group_by(col(WorkshopRsvp.answer))).all():
        counts[answer] = int(number)
    return counts


def record_attendance(session: Session, workshop_id: int, contact_id: int, attended: bool
                      ) -> None:
    rsvp = rsvp_of(session, workshop_id, contact_id)
    if rsvp is not None:
        rsvp.attended = attended
        session.add(rsvp)
        session.flush()


# --------------------------------------------------------------------------------------------
# Cancelling and moving
# --------------------------------------------------------------------------------------------

def _hold_back(session: Session, workshop: Workshop, reason: str, now: datetime,
               stages: tuple[str, ...] | None = None) -> int:
    query = (update(OutboxMessage)
             .where(col(OutboxMessage.subject_kind) == SubjectKind.WORKSHOP.value,
                    col(OutboxMessage.subject_id) == workshop.id,
                    col(OutboxMessage.status) == OutboxStatus.PENDING.value))
    if stages is not None:
        query = query.where(col(OutboxMessage.stage).in_(stages))
    held = session.exec(query.values(status=OutboxStatus.SUPPRESSED.value, last_error=reason,
                                     updated_at=now)
                        .execution_options(synchronize_session=False))
    return int(held.rowcount or 0)


def cancel_workshop(session: Session, workshop: Workshop, now: datetime) -> list[int]:
    """Call the workshop off: its steps and waiting messages are dropped; returns the
    contacts to tell (Yes, Maybe and the waiting list). Cancelling twice is harmless."""
    assert workshop.id is not None
    if workshop.status == WorkshopStatus.CANCELLED.value:
        return []
    if is_over(workshop, now):
        raise WorkshopError("this workshop is over", "over")
    was_sent = workshop.status == WorkshopStatus.SENT.value
    workshop.status = WorkshopStatus.CANCELLED.value
    workshop.cancelled_at = now
    session.add(workshop)
    for step in steps_of(session, workshop.id):
        if step.status == StepStatus.PENDING.value:
            step.status = StepStatus.CANCELLED.value
            session.add(step)
    _hold_back(session, workshop, "workshop cancelled", now)
    session.flush()
    return contacts_answering(session, workshop.id, TOLD_OF_CHANGES) if was_sent else []


def move_workshop(session: Session, workshop: Workshop, community: Community, now: datetime,
                  *, starts_at: datetime | None = None, ends_at: datetime | None = None,
                  place: str | None = None) -> list[int]:
    """New time and/or place. A draft simply changes; a sent workshop gets a new revision,
    its reminders are planned again for the new time and the reminders still waiting for
    the old one are dropped; returns the contacts to tell (Yes, Maybe, waiting)."""
    assert workshop.id is not None
    if workshop.status == WorkshopStatus.CANCELLED.value:
        raise WorkshopError("this workshop is cancelled", "cancelled")
    if is_over(workshop, now):
        raise WorkshopError("this workshop is over", "over")
    new_start = as_utc(starts_at) if starts_at is not None else as_utc(workshop.starts_at)
    if ends_at is not None:
        new_end = as_utc(ends_at)
    else:  # same length
        new_end = new_start + (as_utc(workshop.ends_at) - as_utc(workshop.starts_at))
    if (starts_at is not None and starts_at.tzinfo is None) or \
            (ends_at is not None and ends_at.tzinfo is None):
        raise WorkshopError("starts_at and ends_at need a UTC offset")
    _check_times(new_start, new_end, now)
    if place is not None:
        if not place.strip() or len(place) > MAX_PLACE:
            raise WorkshopError(f"place must be a non-empty text of at most {MAX_PLACE} "
                                "characters")
        workshop.place = place.strip()
    changed = (new_start, new_end) != (as_utc(workshop.starts_at), as_utc(workshop.ends_at)) \
        or place is not None
    workshop.starts_at, workshop.ends_at = new_start, new_end
    session.add(workshop)
    if workshop.status == WorkshopStatus.DRAFT.value or not changed:
        session.flush()
        return []
    workshop.revision += 1
    workshop.moved_at = now
    _hold_back(session, workshop, "workshop moved", now,
               stages=tuple(stage.value for stage in TIMED_STAGES))
    plan_steps(session, workshop, community, now)
    return contacts_answering(session, workshop.id, TOLD_OF_CHANGES)


# --------------------------------------------------------------------------------------------
# What staff see
# --------------------------------------------------------------------------------------------

DELIVERY_BUCKETS = {"pending": "queued", "sending": "queued", "sent": "sent",
                    "delivered": "delivered", "read": "delivered", "failed": "failed",
                    "undelivered": "failed", "suppressed": "held_back", "expired": "expired"}


def empty_delivery() -> dict[str, int]:
    return {bucket: 0 for bucket in ("queued", "sent", "delivered", "failed", "held_back",
                                     "expired")}


def delivery_by_channel(session: Session, workshop_id: int,
                        stage: WorkshopStage = WorkshopStage.INVITATION
                        ) -> dict[str, dict[str, int]]:
    """Per channel: the invitations queued, sent, delivered, failed, held back, expired (a
    message rerouted from WhatsApp to SMS counts as failed on WhatsApp and again on SMS)."""
    counts: dict[str, dict[str, int]] = {}
    for channel, status, number in session.exec(
            select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .where(OutboxMessage.subject_kind == SubjectKind.WORKSHOP.value,
                   OutboxMessage.subject_id == workshop_id,
                   OutboxMessage.stage == stage.value)
            .group_by(col(OutboxMessage.channel), col(OutboxMessage.status))).all():
        bucket = counts.setdefault(channel, empty_delivery())
        bucket[DELIVERY_BUCKETS.get(status, "queued")] += int(number)
    return counts


def workshop_summary(session: Session, workshop: Workshop) -> dict[str, Any]:
    assert workshop.id is not None

    def iso(moment: datetime | None) -> str | None:
        return as_utc(moment).isoformat() if moment else None

    return {
        "id": workshop.id, "community_id": workshop.community_id, "status": workshop.status,
        "title": dict(workshop.title), "description": dict(workshop.description),
        "author_locale": workshop.author_locale, "place": workshop.place,
        "starts_at": iso(workshop.starts_at), "ends_at": iso(workshop.ends_at),
        "capacity": workshop.capacity, "audience": dict(workshop.audience),
        "follow_up": workshop.follow_up, "revision": workshop.revision,
        "recipients": workshop.recipients, "created_at": iso(workshop.created_at),
        "sent_at": iso(workshop.sent_at), "moved_at": iso(workshop.moved_at),
        "cancelled_at": iso(workshop.cancelled_at),
        "rsvps": rsvp_counts(session, workshop.id),
        "delivery": delivery_by_channel(session, workshop.id),
        "steps": [{"stage": s.stage, "due_at": iso(s.due_at), "status": s.status,
                   "recipients": s.recipients, "last_error": s.last_error}
                  for s in steps_of(session, workshop.id)],
    }


CSV_COLUMNS = ["name", "language", "answer", "answered_at", "waiting_rank", "attended",
               "useful", "comment"]


def attendees_csv(session: Session, workshop: Workshop) -> str:
    """One row per resident who answered: who (the name they gave), their answer, their
    place on the waiting list, and the follow-up's answers (attended, useful, comment).

    For the facilitator organising the room: names are what they need and what residents
    gave when answering an invitation (no phone numbers, no addresses)."""
    assert workshop.id is not None
    follow_ups = {response.contact_id: dict(response.answers) for response in session.exec(
        select(Response).where(Response.context == context_of(workshop.id))).all()}
    rows = session.exec(select(WorkshopRsvp, Contact)
                        .join(Contact, col(Contact.id) == WorkshopRsvp.contact_id)
                        .where(WorkshopRsvp.workshop_id == workshop.id)
                        .order_by(col(WorkshopRsvp.answered_at), col(WorkshopRsvp.id))).all()
    waiting = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rsvp, contact in rows:
        rank: int | str = ""
        if rsvp.answer == Answer.WAITING.value:
            waiting += 1
            rank = waiting
        answers = follow_ups.get(contact.id or 0, {})
        attended = rsvp.attended if rsvp.attended is not None else answers.get("attended")
        writer.writerow([
            contact.name or f"#{contact.id}", contact.locale, rsvp.answer,
            as_utc(rsvp.answered_at).isoformat() if rsvp.answered_at else "", rank,
            "" if attended is None else ("yes" if attended else "no"),
            _cell(answers.get("useful")), _cell(answers.get("comment"))])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def invitations_of(session: Session, contact_id: int, now: datetime) -> list[
        tuple[Workshop, str | None]]:
    """The workshops still open that this contact was invited to (or answered), soonest
    first, each with their current answer."""
    invited = select(OutboxMessage.subject_id).where(
        OutboxMessage.subject_kind == SubjectKind.WORKSHOP.value,
        OutboxMessage.stage == WorkshopStage.INVITATION.value,
        OutboxMessage.contact_id == contact_id)
    answered = select(WorkshopRsvp.workshop_id).where(WorkshopRsvp.contact_id == contact_id)
    workshops = session.exec(select(Workshop).where(
        Workshop.status == WorkshopStatus.SENT.value, col(Workshop.starts_at) > now,
        col(Workshop.id).in_(invited) | col(Workshop.id).in_(answered))
        .order_by(col(Workshop.starts_at))).all()
    answers = {rsvp.workshop_id: rsvp.answer for rsvp in session.exec(select(WorkshopRsvp).where(
        WorkshopRsvp.contact_id == contact_id,
        col(WorkshopRsvp.workshop_id).in_([w.id for w in workshops])))} if workshops else {}
    return [(w, answers.get(w.id or 0)) for w in workshops]
