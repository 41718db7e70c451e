"""Check-ins: "Did you manage your gesture lately?", asked once when due, kindly.

The database is the calendar (``core.gestures.CheckIn``): a resident who chose "every 2
weeks" has one written two weeks ahead (``core.gesture_chat.plan_check_ins``), and each one
asked writes the next; for "after the next alert", the end of an alert writes one per
commitment of its audience (``schedule_after_alert``, called by the timeline's end step),
due a little after the end so that the post-alert questionnaire goes first.

Each tick asks the due ones: never in quiet hours (the check-in waits for the morning), never
in the middle of a conversation the message may not take over (joining, erasing, another
check-in still waiting for its answer: it waits an hour, and again), never to someone who
stopped messages. Rows are
claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers share them; the outbox row
(dedupe ``checkin:{id}``, subject ``checkin``/id) is written in the same transaction as the
check-in's "asked".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import conversations
from core.alerts import Alert
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.gesture_chat import BIWEEKLY
from core.gestures import (
    CheckIn,
    CheckInCadence,
    CheckInStatus,
    Commitment,
    Gesture,
    commitments_after_alert,
    mark_check_in_asked,
    schedule_check_in,
)
from core.messages import RenderedMessage
from core.models import ChannelIdentity, Community, Contact, Priority, SubjectKind
from core.outbox import Subject
from core.quiet_hours import in_quiet_hours, quiet_hours_shift
from scheduler.delivery import deliver

log = logging.getLogger(__name__)

# After an alert, the check-in comes after the questionnaire (sent at the end).
AFTER_ALERT_DELAY = timedelta(hours=2)
# A resident busy with a conversation the check-in may not take over is asked an hour later
# (that conversation ends, or expires: its state has a lifetime).
BUSY_WAIT = timedelta(hours=1)
# A check-in not sent within a day of being written to the outbox is not sent late.
CHECK_IN_DEADLINE = timedelta(hours=24)
BATCH = 200


class CheckInRenderer(Protocol):
    """Writes a check-in for one reader (implemented in ``bot/flows/gestures.py``)."""

    def render(self, check_in_id: int, slug: str, text: Mapping[str, str],
               community: Community, contact: Contact) -> RenderedMessage: ...


@dataclass
class CheckInReport:
    asked: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)  # quiet hours, or busy
    cancelled: list[int] = field(default_factory=list)  # dropped, stopped, unreachable


def check_in_key(check_in_id: int) -> str:
    return f"checkin:{check_in_id}"


def schedule_after_alert(session: Session, alert: Alert, contact_ids: Iterable[int],
                         community: Community) -> int:
    """One check-in per "after the next alert" commitment of the alert's audience
    (``contact_ids``) that was active when the alert started; returns how many were written
    (none twice)."""
    assert alert.id is not None
    due = quiet_hours_shift(as_utc(alert.ends_at) + AFTER_ALERT_DELAY, community.quiet_hours,
                            community.timezone)
    audience = set(contact_ids)
    written = 0
    for commitment in commitments_after_alert(session, community.id or 0,
                                              as_utc(alert.starts_at)):
        if commitment.contact_id in audience and commitment.id is not None \
                and schedule_check_in(session, commitment.id, due, alert_id=alert.id):
            written += 1
    return written


def send_due_check_ins(engine: Engine, renderer: CheckInRenderer, clock: Clock = utc_now,
                       limit: int = BATCH) -> CheckInReport:
    report = CheckInReport()
    now = clock()
    with session_scope(engine) as session:
        query = (select(CheckIn)
                 .where(CheckIn.status == CheckInStatus.SCHEDULED.value,
                        col(CheckIn.due_at) <= now)
                 .order_by(col(CheckIn.due_at), col(CheckIn.id)).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            # Another worker holding a check-in skips it instead of waiting, never asks it too.
            query = query.with_for_update(skip_locked=True)
        for check_in in list(session.exec(query)):
            _ask(session, check_in, renderer, now, report)
    return report


def _cancel(session: Session, check_in: CheckIn, report: CheckInReport) -> None:
    check_in.status = CheckInStatus.CANCELLED.value
    session.add(check_in)
    report.cancelled.append(check_in.id or 0)


def _postpone(session: Session, check_in: CheckIn, until: datetime, report: CheckInReport
              ) -> None:
    check_in.due_at = until
    session.add(check_in)
    report.postponed.append(check_in.id or 0)


def _ask(session: Session, check_in: CheckIn, renderer: CheckInRenderer, now: datetime,
         report: CheckInReport) -> None:
    assert check_in.id is not None
    commitment = session.get(Commitment, check_in.commitment_id)
    contact = session.get(Contact, commitment.contact_id) if commitment else None
    gesture = session.get(Gesture, commitment.gesture_id) if commitment else None
    community = session.get(Community, contact.community_id) if contact else None
    if commitment is None or commitment.dropped_at is not None or contact is None \
            or contact.opted_out_at is not None or gesture is None or community is None:
        _cancel(session, check_in, report)
        return
    if in_quiet_hours(now, community.quiet_hours, community.timezone):
        _postpone(session, check_in,
                  quiet_hours_shift(now, community.quiet_hours, community.timezone), report)
        return
    identity = _reachable_identity(session, contact.id or 0)
    if identity is None or identity.id is None:
        _cancel(session, check_in, report)
        return
    message = renderer.render(check_in.id, commitment.gesture_slug, gesture.text, community,
                              contact)
    current = conversations.load_state(session, identity.id, now)
    busy = message.opens is not None and not current.expired \
        and current.flow not in message.opens.replaces
    if busy:
        _postpone(session, check_in, now + BUSY_WAIT, report)
        return
    deliver(session, message, identity, dedupe_key=check_in_key(check_in.id),
            subject=Subject(SubjectKind.CHECKIN, check_in.id), priority=Priority.BULK,
            expires_at=now + CHECK_IN_DEADLINE, now=now)
    mark_check_in_asked(session, check_in.id, now)
    report.asked.append(check_in.id)
    if commitment.cadence == CheckInCadence.BIWEEKLY.value and check_in.alert_id is None \
            and commitment.id is not None:
        asked_for = max(as_utc(check_in.due_at or now), now)
        schedule_check_in(session, commitment.id, asked_for + BIWEEKLY)


def _reachable_identity(session: Session, contact_id: int) -> ChannelIdentity | None:
    """The contact's most recently used reachable identity (as an alert's audience has it)."""
    return session.exec(select(ChannelIdentity)
                        .where(ChannelIdentity.contact_id == contact_id,
                               col(ChannelIdentity.reachable).is_(True))
                        .order_by(col(ChannelIdentity.last_inbound_at).desc())).first()
