"""Progress you can watch: the facilitator who sent a fan-out (a broadcast, a workshop
invitation) sees "Sent 180 of 312 (3 failed)…".

On Telegram one message is sent, then edited as the counts move (``editMessageText``, a
row whose payload names the message to edit); elsewhere, where a message cannot be edited,
one follow-up goes when nothing is waiting any more. What was shown is kept in
``ProgressReport``; each tick queues at most one message per fan-out, and only when its
text changed. Fan-outs come from ``FanoutSource``s (broadcasts, workshop invitations), the
wording from a ``ProgressRenderer`` handed in by the bot side.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import outbox
from core.broadcasts import STAGE, Broadcast, BroadcastStatus
from core.clock import Clock, utc_now
from core.db import session_scope
from core.models import (
    ChannelIdentity,
    ChannelKind,
    Contact,
    OutboxMessage,
    Priority,
    SubjectKind,
)
from core.outbox import Subject
from core.progress import DeliveryCounts, ProgressReport, delivery_counts
from core.workshop_tables import Workshop, WorkshopStage, WorkshopStatus

log = logging.getLogger(__name__)
PROGRESS_STAGE = "progress"
KIND_PROGRESS = "progress"


@dataclass(frozen=True)
class Fanout:
    """One fan-out to report on."""

    kind: SubjectKind
    id: int
    # Its residents' messages (the progress messages themselves are not counted).
    stages: tuple[str, ...]
    # Who asked for it: told how it goes (nobody when sent through the API).
    contact_id: int | None
    cancelled: bool = False


class FanoutSource(Protocol):
    def active(self, session: Session) -> list[Fanout]:
        """Fan-outs whose rows were queued and whose report is not finished."""
        ...

    def finished(self, session: Session, fanout: Fanout, now: datetime) -> None:
        """Nothing of it is waiting any more."""
        ...


class ProgressRenderer(Protocol):
    def __call__(self, locale: str, counts: DeliveryCounts, done: bool, cancelled: bool
                 ) -> str: ...


class BroadcastFanouts:
    def active(self, session: Session) -> list[Fanout]:
        reported = select(ProgressReport.subject_id).where(
            ProgressReport.subject_kind == SubjectKind.BROADCAST.value,
            col(ProgressReport.finished).is_(True))
        rows = session.exec(select(Broadcast).where(
            col(Broadcast.status).in_((BroadcastStatus.SENDING.value,
                                       BroadcastStatus.CANCELLED.value)),
            col(Broadcast.queued_at).is_not(None),
            col(Broadcast.id).not_in(reported)).order_by(col(Broadcast.id))).all()
        return [Fanout(SubjectKind.BROADCAST, row.id, (STAGE,), row.created_by,
                       cancelled=row.status == BroadcastStatus.CANCELLED.value)
                for row in rows if row.id is not None]

    def finished(self, session: Session, fanout: Fanout, now: datetime) -> None:
        broadcast = session.get(Broadcast, fanout.id)
        if broadcast is not None and broadcast.status == BroadcastStatus.SENDING.value:
            broadcast.status = BroadcastStatus.SENT.value
            broadcast.finished_at = now
            session.add(broadcast)


class WorkshopFanouts:
    """Workshop invitations: reported until none of them is waiting."""

    def active(self, session: Session) -> list[Fanout]:
        reported = select(ProgressReport.subject_id).where(
            ProgressReport.subject_kind == SubjectKind.WORKSHOP.value,
            col(ProgressReport.finished).is_(True))
        rows = session.exec(select(Workshop).where(
            col(Workshop.status).in_((WorkshopStatus.SENT.value,
                                      WorkshopStatus.CANCELLED.value)),
            col(Workshop.sent_at).is_not(None),
            col(Workshop.id).not_in(reported)).order_by(col(Workshop.id))).all()
        return [Fanout(SubjectKind.WORKSHOP, row.id, (WorkshopStage.INVITATION.value,),
                       row.created_by,
                       cancelled=row.status == WorkshopStatus.CANCELLED.value)
                for row in rows if row.id is not None]

    def finished(self, session: Session, fanout: Fanout, now: datetime) -> None:
        """A workshop stays "sent": its answers and reminders go on."""


FANOUTS: tuple[FanoutSource, ...] = (BroadcastFanouts(), WorkshopFanouts())


def report_progress(engine: Engine, renderer: ProgressRenderer,
                    sources: Sequence[FanoutSource] = FANOUTS,
                    clock: Clock = utc_now) -> int:
    """One pass over the active fan-outs; returns how many progress messages were queued."""
    queued = 0
    with session_scope(engine) as session:
        now = clock()
        for source in sources:
            for fanout in source.active(session):
                if report_one(session, source, fanout, renderer, now):
                    queued += 1
    return queued


def _facilitator_identity(session: Session, contact_id: int | None
                          ) -> tuple[Contact, ChannelIdentity] | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    if contact is None or contact.opted_out_at is not None:
        return None
    identity = session.exec(select(ChannelIdentity).where(
        ChannelIdentity.contact_id == contact_id, col(ChannelIdentity.reachable).is_(True))
        .order_by(col(ChannelIdentity.last_inbound_at).desc())).first()
    return (contact, identity) if identity is not None else None


def _key(fanout: Fanout, number: int) -> str:
    return f"progress:{fanout.kind.value}:{fanout.id}:{number}"


def report_one(session: Session, source: FanoutSource, fanout: Fanout,
               renderer: ProgressRenderer, now: datetime) -> bool:
    counts = delivery_counts(session, fanout.kind, fanout.id, fanout.stages)
    done = counts.done
    report = session.exec(select(ProgressReport).where(
        ProgressReport.subject_kind == fanout.kind.value,
        ProgressReport.subject_id == fanout.id)).first()
    if report is None:
        report = ProgressReport(subject_kind=fanout.kind.value, subject_id=fanout.id,
                                contact_id=fanout.contact_id)
    if done:
        source.finished(session, fanout, now)
        report.finished = True
    report.updated_at = now
    session.add(report)
    reader = _facilitator_identity(session, fanout.contact_id)
    if reader is None:
        return False
    contact, identity = reader
    text = renderer(contact.locale, counts, done, fanout.cancelled)
    if text == report.last_text:
        return False
    payload: dict[str, object] = {"text": text, "locale": contact.locale, "choices": []}
    if identity.channel == ChannelKind.TELEGRAM.value:
        if report.messages > 0:
            first = session.exec(select(OutboxMessage).where(
                OutboxMessage.dedupe_key == _key(fanout, 0))).first()
            if first is None or not first.provider_id:
                # The first message has not gone yet: edit it once it has.
                report.finished = False
                return False
            payload["edit_message"] = first.provider_id
    elif not done:
        return False  # elsewhere: one follow-up, when done
    row = outbox.enqueue(session, dedupe_key=_key(fanout, report.messages), identity=identity,
                         kind=KIND_PROGRESS, payload=payload, now=now,
                         subject=Subject(fanout.kind, fanout.id, PROGRESS_STAGE),
                         priority=Priority.CHAT)
    report.messages += 1
    report.last_text = text
    session.add(report)
    return row is not None
