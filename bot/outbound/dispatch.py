"""Draining the outbox: claim due rows, check they may still go, send, record the outcome."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import contacts, outbox
from core.clock import Clock, utc_now
from core.db import session_scope
from core.identities import canonical_address
from core.models import ChannelIdentity, ChannelKind, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
# A message waits at most this long for its pacing slot; beyond it, it is postponed instead.
MAX_PACING_WAIT = 1.5
# How often a running dispatcher takes back rows a dead one left "sending".
RECOVERY_INTERVAL = 60.0


class TransientSendError(Exception):
    """Try again later (timeout, 5xx, rate limit)."""

    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """This message will never go; ``unreachable`` says whether the address itself is dead."""

    def __init__(self, message: str, unreachable_reason: str | None = None) -> None:
        super().__init__(message)
        self.unreachable_reason = unreachable_reason


class RerouteSendError(PermanentSendError):
    """This message cannot go on its channel but may on ``channel`` (WhatsApp → SMS)."""

    def __init__(self, message: str, channel: str) -> None:
        super().__init__(message)
        self.channel = channel


# Finishes a row's payload just before it is sent, outside any transaction of the dispatcher
# (e.g. draws a chart): returns the new payload, or None when there is nothing to do.
PayloadPreparer = Callable[[Engine, OutboxMessage, datetime], dict[str, Any] | None]


def draw_chart(engine: Engine, row: OutboxMessage, now: datetime) -> dict[str, Any] | None:
    """A resident's chart, drawn here rather than in the inbound message's transaction."""
    # Imported on the first chart: matplotlib, pandas and the meter code cost a worker that
    # never draws one ~2 s of start-up and ~140 MB.
    from bot.rendering.energy_charts import ChartPreparer

    return ChartPreparer()(engine, row, now)


def default_preparers() -> dict[str, PayloadPreparer]:
    """The payload preparers, by outbox kind."""
    return {outbox.KIND_CHART: draw_chart}


def prepare_payload(engine: Engine, row: OutboxMessage, clock: Clock,
                    preparers: Mapping[str, PayloadPreparer]) -> TransientSendError | None:
    """Run the row's preparer, if its kind has one; a failure is retried like a send."""
    preparer = preparers.get(row.kind)
    if preparer is None:
        return None
    try:
        payload = preparer(engine, row, clock())
    except Exception as error:  # a bug or a busy database: this row later, the others now
        log.exception("preparing outbox row %s (%s) failed", row.id, row.kind)
        return TransientSendError(f"could not prepare the {row.kind}: {error}")
    if payload is not None:
        row.payload = payload
    return None


class Sender(Protocol):
    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        """Send one row; return the provider's message id."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    suppressed: int = 0
    retried: int = 0
    failed: int = 0
    rerouted: int = 0

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.suppressed += other.suppressed
        self.retried += other.retried
        self.failed += other.failed
        self.rerouted += other.rerouted

    @property
    def total(self) -> int:
        return self.sent + self.suppressed + self.retried + self.failed


@dataclass
class _Pace:
    interval: float
    next_at: float = 0.0


@dataclass
class ChannelLimits:
    """Messages per second for a channel, per chat, and per group chat."""

    per_second: float | None = None
    per_chat_per_second: float | None = None
    per_group_per_minute: float | None = None


def default_limits(sms_per_second: float = 1.0, whatsapp_per_second: float = 10.0
                   ) -> dict[str, ChannelLimits]:
    """Telegram's published limits; a Twilio long code does about 1 SMS segment per second."""
    return {
        ChannelKind.TELEGRAM.value: ChannelLimits(per_second=30, per_chat_per_second=1,
                                                  per_group_per_minute=20),
        ChannelKind.SMS.value: ChannelLimits(per_second=sms_per_second),
        ChannelKind.WHATSAPP.value: ChannelLimits(per_second=whatsapp_per_second),
    }


@dataclass
class RateLimiter:
    """Spaces sends evenly: each channel, chat and group has its own next free moment.

    Even spacing (rather than bursts) keeps us under the provider's limit without ever
    triggering its 429s, and makes a fan-out of N to Telegram take N/30 s.
    """

    limits: dict[str, ChannelLimits] = field(default_factory=default_limits)
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _paces: dict[tuple[str, str], _Pace] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _pace(self, key: tuple[str, str], per_second: float) -> _Pace:
        pace = self._paces.get(key)
        if pace is None:
            pace = self._paces[key] = _Pace(interval=1.0 / per_second)
        return pace

    def acquire(self, channel: str, address: str, max_wait: float | None = None
                ) -> float | None:
        """Wait until this message may go and return the seconds waited.

        If the wait would exceed ``max_wait``, nothing is reserved and None is returned: the
        caller postpones that message rather than hold up the messages to other chats.
        """
        limits = self.limits.get(channel)
        if limits is None:
            return 0.0
        paces = []
        if limits.per_second:
            paces.append(self._pace((channel, "*"), limits.per_second))
        if is_group_address(channel, address) and limits.per_group_per_minute:
            paces.append(self._pace((channel, address), limits.per_group_per_minute / 60))
        elif limits.per_chat_per_second:
            paces.append(self._pace((channel, address), limits.per_chat_per_second))
        with self._lock:
            now = self.monotonic()
            start = max([now, *(pace.next_at for pace in paces)])
            if max_wait is not None and start - now > max_wait:
                return None
            for pace in paces:
                pace.next_at = start + pace.interval
        wait = start - now
        if wait > 0:
            self.sleep(wait)
        return max(wait, 0.0)

    def delay(self, channel: str, address: str) -> float:
        """Seconds until this address has a free slot (without reserving it)."""
        limits = self.limits.get(channel)
        if limits is None:
            return 0.0
        keys = [(channel, "*"), (channel, address)]
        with self._lock:
            now = self.monotonic()
            return max([0.0, *(self._paces[k].next_at - now for k in keys if k in self._paces)])


def is_group_address(channel: str, address: str) -> bool:
    """Telegram group and channel chat ids are negative."""
    return channel == ChannelKind.TELEGRAM.value and address.startswith("-")


def reroute(session: Session, row: OutboxMessage, channel: str, now: datetime
            ) -> OutboxMessage | None:
    """Enqueue the same message for the same person on ``channel`` (e.g. WhatsApp → SMS).

    The new row's dedupe key is derived from the original, so rerouting twice sends once.
    The contact's identity on that channel is used, else one is made from the same number.
    """
    identity = session.get(ChannelIdentity, row.identity_id)
    if identity is None:
        return None
    target = None
    if identity.contact_id is not None:
        target = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.contact_id == identity.contact_id,
            ChannelIdentity.channel == channel)).first()
    if target is None:
        address = canonical_address(channel, identity.address)
        target = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.address == address)).first()
        if target is None:
            target = ChannelIdentity(channel=channel, address=address,
                                     contact_id=identity.contact_id, created_at=now)
            session.add(target)
            session.flush()
    if not target.reachable:
        return None
    return outbox.enqueue(session, dedupe_key=f"{row.dedupe_key}:via:{channel}", identity=target,
                          kind=row.kind, payload=dict(row.payload), now=now)


def recover_interrupted(engine: Engine, now: datetime,
                        stale_after: timedelta = timedelta(minutes=5)) -> int:
    """Put rows left "sending" by a dispatcher that died back in the queue.

    A row may have reached the provider just before the crash, so this can repeat at most
    the messages that were in flight; never more.
    """
    with session_scope(engine) as session:
        result = session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING.value,  # type: ignore[arg-type]
                   OutboxMessage.updated_at <= now - stale_after)  # type: ignore[arg-type,operator]
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=now, updated_at=now)
        )
        return int(result.rowcount or 0)


def dispatch_forever(engine: Engine, senders: dict[str, Sender], stop: threading.Event,
                     clock: Clock = utc_now, limiter: RateLimiter | None = None,
                     idle_wait: float = 0.2, batch: int = 100, workers: int = 1,
                     stale_after: timedelta = timedelta(minutes=5),
                     preparers: Mapping[str, PayloadPreparer] | None = None) -> None:
    """The dispatcher loop of ``voisins serve``: drain, wait a little when idle, repeat."""
    next_recovery = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_recovery:
                recover_interrupted(engine, clock(), stale_after)
                next_recovery = time.monotonic() + RECOVERY_INTERVAL
            report = dispatch_due(engine, senders, clock=clock, limit=batch, limiter=limiter,
                                  workers=workers, preparers=preparers)
        except Exception:  # one bad pass (database busy...) must not stop the loop
            log.exception("dispatch pass failed")
            stop.wait(1.0)
            continue
        if report.total == 0:
            stop.wait(idle_wait)


def dispatch_due(engine: Engine, senders: dict[str, Sender], clock: Clock = utc_now,
                 limit: int = 100, channel: str | None = None,
                 limiter: RateLimiter | None = None, workers: int = 1,
                 preparers: Mapping[str, PayloadPreparer] | None = None) -> DispatchReport:
    """One pass over the due rows of the channels we have a sender for.

    Three phases: one transaction claims the batch, loads its recipients and settles the rows
    that must not go; the sends happen outside any transaction; their outcomes are written
    in a few batched transactions (``OutcomeLog``). With ``workers`` > 1, different
    addresses are sent to in parallel (a provider's round trip, not our CPU, is what limits
    a fan-out); one address's rows keep their order. A row whose kind has a payload
    preparer (``default_preparers``: charts) is finished just before its send.
    """
    report = DispatchReport()
    preparers = default_preparers() if preparers is None else preparers
    now = clock()
    with _writes(engine), session_scope(engine) as session:
        rows = outbox.claim_due(session, now, limit=limit, channel=channel)
        jobs = _jobs_to_send(session, rows, senders, now, report) if rows else []
    if not jobs:
        return report
    log_ = OutcomeLog(engine, clock, report)
    by_address: dict[int, list[_Job]] = {}
    for job in jobs:
        by_address.setdefault(job.row.identity_id, []).append(job)

    def run(batch: list[_Job]) -> None:
        for job in batch:
            failed = prepare_payload(engine, job.row, clock, preparers)
            log_.add(job.row, failed if failed is not None else _send_one(job, clock, limiter))

    try:
        if workers <= 1 or len(by_address) <= 1:
            for batch in by_address.values():
                run(batch)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, by_address.values()))
    finally:
        log_.flush()
    return report


@dataclass(frozen=True)
class _Job:
    """A claimed row that may go, with what sending it needs (no database)."""

    row: OutboxMessage
    identity: ChannelIdentity
    sender: Sender


def _jobs_to_send(session: Session, rows: list[OutboxMessage], senders: dict[str, Sender],
                  now: datetime, report: DispatchReport) -> list[_Job]:
    """Settle, in the claiming transaction, the rows that must not go; return the others."""
    recipients = outbox.recipients_of(session, rows)
    jobs = []
    for row in rows:
        recipient = recipients.get(row.id) if row.id is not None else None
        reason = "identity erased" if recipient is None else \
            outbox.suppression_reason(row, recipient)
        sender = senders.get(row.channel)
        if reason is None and sender is None:
            outbox.retry_later(session, row, f"no sender for {row.channel}", now)
            report.retried += 1
        elif reason is not None or recipient is None or sender is None:
            outbox.mark_suppressed(session, row, reason or "no recipient", now)
            report.suppressed += 1
        else:
            jobs.append(_Job(row, recipient.identity, sender))
    return jobs


@dataclass(frozen=True)
class _Paced:
    """This chat's next slot is far off (a busy group): let the others go first."""

    wait: timedelta


_Outcome = Exception | str | None | _Paced


def _send_one(job: _Job, clock: Clock, limiter: RateLimiter | None) -> _Outcome:
    address = job.identity.address
    if limiter is not None and limiter.acquire(job.row.channel, address, MAX_PACING_WAIT) \
            is None:
        return _Paced(timedelta(seconds=limiter.delay(job.row.channel, address)))
    try:
        return job.sender.send(job.row, job.identity)
    except (RerouteSendError, TransientSendError, PermanentSendError) as exc:
        return exc


class OutcomeLog:
    """Sends' outcomes, written in batches: every ``FLUSH_EVERY`` outcomes or
    ``FLUSH_AFTER`` seconds, and at the end of the pass.

    Batching is what lets one process send ~1,000 messages/s; the limits keep a provider id
    recorded within a second of its send (a delivery callback can arrive that fast), and
    bound what a crash can repeat to the rows claimed and not yet recorded.
    """

    FLUSH_EVERY = 50
    FLUSH_AFTER = 0.5

    def __init__(self, engine: Engine, clock: Clock, report: DispatchReport) -> None:
        self.engine = engine
        self.clock = clock
        self.report = report
        self._pending: list[tuple[OutboxMessage, _Outcome]] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def add(self, row: OutboxMessage, outcome: _Outcome) -> None:
        with self._lock:
            self._pending.append((row, outcome))
            due = len(self._pending) >= self.FLUSH_EVERY or \
                time.monotonic() - self._last_flush >= self.FLUSH_AFTER
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._last_flush = time.monotonic()
        if not pending:
            return
        now = self.clock()
        sent = [(row.id, outcome) for row, outcome in pending
                if (outcome is None or isinstance(outcome, str)) and row.id is not None]
        others = [(row, outcome) for row, outcome in pending
                  if not (outcome is None or isinstance(outcome, str))]
        written = DispatchReport(sent=len(sent))
        with _writes(self.engine), session_scope(self.engine) as session:
            outbox.mark_many_sent(session, sent, now)
            for row, outcome in others:
                _record(session, session.merge(row), outcome, self.clock, written)
        with self._lock:
            self.report.add(written)


def _record(session: Session, row: OutboxMessage, outcome: _Outcome, clock: Clock,
            report: DispatchReport) -> None:
    """Write a send that did not succeed: retry, reroute, or fail (and mark the address)."""
    if isinstance(outcome, _Paced):
        outbox.retry_later(session, row, "paced", clock(), outcome.wait)
        report.retried += 1
    elif isinstance(outcome, RerouteSendError):
        outbox.mark_failed(session, row, f"{outcome} (sent by {outcome.channel})", clock())
        if reroute(session, row, outcome.channel, clock()) is not None:
            report.rerouted += 1
        report.failed += 1
    elif isinstance(outcome, TransientSendError):
        outbox.retry_later(session, row, str(outcome), clock(), outcome.retry_after)
        report.retried += 1
    elif isinstance(outcome, PermanentSendError):
        outbox.mark_failed(session, row, str(outcome), clock())
        recipient = outbox.recipient_of(session, row)
        if outcome.unreachable_reason and recipient is not None:
            recipient.identity.reachable = False
            recipient.identity.unreachable_reason = outcome.unreachable_reason
            session.add(recipient.identity)
            if outcome.unreachable_reason == "opted_out" and recipient.contact is not None \
                    and recipient.contact.opted_out_at is None:
                # The carrier says the number unsubscribed (Twilio 21610): honour it
                # everywhere, as if they had sent STOP to us.
                contacts.opt_out(session, recipient.contact, clock())
        report.failed += 1


_SQLITE_WRITE_LOCKS: dict[int, threading.Lock] = {}


@contextmanager
def _writes(engine: Engine) -> Iterator[None]:
    """On SQLite, our own sending threads take turns for the database instead of making
    SQLite's busy handler sleep; PostgreSQL handles concurrent writers itself."""
    if engine.dialect.name != "sqlite":
        yield
        return
    lock = _SQLITE_WRITE_LOCKS.setdefault(id(engine), threading.Lock())
    with lock:
        yield
