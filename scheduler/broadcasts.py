"""Fanning out broadcasts that were asked to go: one outbox row per reader, once.

A broadcast is claimed and fanned out in one transaction; the dedupe key
``broadcast:{id}:{contact}`` makes a replay or a second scheduler harmless, and every row
carries the subject (broadcast, id, "news"). News waits for the end of quiet hours. Linked
Telegram groups get one post, in the community's language (nothing personal, no buttons).
The texts are worded by a ``BroadcastRenderer`` handed in by whoever runs the scheduler
(``api/serve.py`` passes the bot's), as for campaigns: ``scheduler`` does not import ``bot``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, or_, select

from core.broadcasts import (
    DEADLINE,
    Broadcast,
    BroadcastStatus,
    broadcast_audience,
    dedupe_key,
    subject,
)
from core.clock import Clock, utc_now
from core.db import session_scope
from core.groups import post_to_groups
from core.messages import RenderedMessage
from core.models import Community, Contact, Priority
from core.quiet_hours import in_quiet_hours, quiet_hours_shift
from scheduler import retries
from scheduler.delivery import deliver

log = logging.getLogger(__name__)


class BroadcastRenderer(Protocol):
    """A broadcast worded for one reader (``contact``), or for a linked group (None)."""

    def __call__(self, broadcast: Broadcast, community: Community, contact: Contact | None
                 ) -> RenderedMessage: ...


@dataclass
class BroadcastReport:
    queued: list[tuple[int, int]] = field(default_factory=list)  # (broadcast, recipients)
    postponed: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    retry_later: bool = False

    @property
    def handled(self) -> int:
        return len(self.queued) + len(self.postponed) + len(self.failed)


def run_due_broadcasts(engine: Engine, renderer: BroadcastRenderer, clock: Clock = utc_now,
                       limit: int = 20) -> BroadcastReport:
    """Fan out due broadcasts, one per transaction."""
    report = BroadcastReport()
    while report.handled < limit:
        broadcast_id: int | None = None
        try:
            with session_scope(engine) as session:
                now = clock()
                broadcast = _claim_one(session, now)
                if broadcast is None:
                    return report
                broadcast_id = broadcast.id
                fan_out(session, broadcast, renderer, now, report)
        except OperationalError as exc:
            log.info("broadcast left for the next tick: %s", exc.__class__.__name__)
            report.retry_later = True
            return report
        except Exception as exc:
            if broadcast_id is None:
                raise
            log.exception("broadcast %s failed", broadcast_id)
            failed = _record_failure(engine, broadcast_id, exc, clock())
            if failed is not None:
                report.failed.append(failed)
    return report


def _claim_one(session: Session, now: datetime) -> Broadcast | None:
    query = (select(Broadcast).where(
        col(Broadcast.status) == BroadcastStatus.SCHEDULED.value,
        col(Broadcast.due_at) <= now,
        or_(col(Broadcast.retry_at).is_(None), col(Broadcast.retry_at) <= now))
        .order_by(col(Broadcast.id)).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def _record_failure(engine: Engine, broadcast_id: int, exc: Exception, now: datetime
                    ) -> tuple[int, str] | None:
    reason = retries.reason_of(exc)
    with session_scope(engine) as session:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None or broadcast.status != BroadcastStatus.SCHEDULED.value:
            return None
        broadcast.attempts += 1
        broadcast.last_error = reason
        if broadcast.attempts >= retries.MAX_ATTEMPTS:
            broadcast.status = BroadcastStatus.FAILED.value
            broadcast.retry_at = None
        else:
            broadcast.retry_at = now + retries.backoff(broadcast.attempts)
        session.add(broadcast)
        return broadcast_id, reason


def fan_out(session: Session, broadcast: Broadcast, renderer: BroadcastRenderer,
            now: datetime, report: BroadcastReport | None = None) -> int:
    """Queue one row per reader (or postpone past quiet hours); returns how many."""
    assert broadcast.id is not None
    report = report if report is not None else BroadcastReport()
    community = session.get(Community, broadcast.community_id)
    assert community is not None
    if in_quiet_hours(now, community.quiet_hours, community.timezone):
        broadcast.due_at = quiet_hours_shift(now, community.quiet_hours, community.timezone)
        session.add(broadcast)
        report.postponed.append(broadcast.id)
        return 0
    deadline = now + DEADLINE
    count = 0
    for contact, identity in broadcast_audience(session, broadcast):
        assert contact.id is not None
        row = deliver(session, renderer(broadcast, community, contact), identity,
                      dedupe_key=dedupe_key(broadcast.id, contact.id),
                      subject=subject(broadcast.id), priority=Priority.BULK,
                      expires_at=deadline, now=now)
        if row is not None:
            count += 1
    post = renderer(broadcast, community, None)
    post_to_groups(session, community.id or 0, dedupe_key=f"broadcast:{broadcast.id}",
                   kind=post.kind, payload=post.payload, now=now,
                   subject=subject(broadcast.id), priority=Priority.BULK, expires_at=deadline)
    # "sent" once nothing waits: the progress reporter (scheduler/progress.py) sees to it.
    broadcast.status = BroadcastStatus.SENDING.value
    broadcast.queued_at = now
    broadcast.recipients = count
    broadcast.retry_at = None
    session.add(broadcast)
    report.queued.append((broadcast.id, count))
    return count
