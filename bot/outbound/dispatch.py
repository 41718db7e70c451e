"""Draining the outbox: claim due rows, check they may still go, send, record the outcome.

Rows are claimed most urgent first (alerts, then chat replies, then questionnaires and the
rest), with a short lease renewed while they are being sent: a dispatcher that dies leaves
its rows to the others one lease later. Pacing a row (its channel or chat has no free slot
yet) puts it back untouched; only real failures count as attempts and grow the backoff.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import contacts, outbox
from core.clock import Clock, utc_now
from core.db import session_scope
from core.identities import canonical_address
from core.models import ChannelIdentity, ChannelKind, OutboxMessage, Priority

log = logging.getLogger(__name__)
# A message waits at most this long for its pacing slot; beyond it, it is postponed instead.
MAX_PACING_WAIT = 1.5
# How often a running dispatcher takes back rows whose lease lapsed (a dead dispatcher's).
RECOVERY_INTERVAL = 5.0


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


@runtime_checkable
class PooledSender(Protocol):
    """A sender with several lanes (e.g. SMS sender numbers), each paced on its own."""

    lanes: tuple[str, ...]

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None: ...

    def send_via(self, row: OutboxMessage, identity: ChannelIdentity, lane: str
                 ) -> str | None:
        """Send one row through ``lane``; return the provider's message id."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    suppressed: int = 0
    retried: int = 0  # real failures, tried again later
    paced: int = 0  # no free slot yet: put back, not a failure
    failed: int = 0
    rerouted: int = 0
    expired: int = 0  # past their deadline or out of attempts: never sent

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.suppressed += other.suppressed
        self.retried += other.retried
        self.paced += other.paced
        self.failed += other.failed
        self.rerouted += other.rerouted
        self.expired += other.expired

    @property
    def total(self) -> int:
        return self.sent + self.suppressed + self.retried + self.paced + self.failed \
            + self.expired


@dataclass
class _Pace:
    per_second: float
    # Shared by every dispatcher on the database (the channel's overall rate, a group's, an
    # SMS number's), as opposed to one chat's own pace.
    shared: bool
    interval: float = 0.0
    next_at: float = 0.0


@dataclass
class ChannelLimits:
    """Messages per second for a channel, per chat, per group chat, and per sender lane
    (one SMS number of a pool)."""

    per_second: float | None = None
    per_chat_per_second: float | None = None
    per_group_per_minute: float | None = None
    per_sender_per_second: float | None = None


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

    With several dispatchers on one database (``voisins serve --role worker``, N times),
    each keeps to 1/N of the limits that are the provider's as a whole (a channel's rate, a
    group's, an SMS number's: ``share_with``); a chat's own pace stays whole, since one
    chat's messages are written, and so claimed, together.
    """

    limits: dict[str, ChannelLimits] = field(default_factory=default_limits)
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _paces: dict[tuple[str, str], _Pace] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _share: int = 1

    def share_with(self, dispatchers: int) -> None:
        """Keep to 1/``dispatchers`` of the shared limits from now on."""
        dispatchers = max(1, dispatchers)
        with self._lock:
            if dispatchers == self._share:
                return
            self._share = dispatchers
            for pace in list(self._paces.values()):
                self._set_interval(pace)

    @property
    def share(self) -> int:
        return self._share

    def _set_interval(self, pace: _Pace) -> None:
        pace.interval = (self._share if pace.shared else 1) / pace.per_second

    def _pace(self, key: tuple[str, str], per_second: float, shared: bool = True) -> _Pace:
        pace = self._paces.get(key)
        if pace is None:
            pace = self._paces[key] = _Pace(per_second=per_second, shared=shared)
            self._set_interval(pace)
        return pace

    def acquire(self, channel: str, address: str, max_wait: float | None = None
                ) -> float | None:
        """Wait until this message may go and return the seconds waited.

        If the wait would exceed ``max_wait``, nothing is reserved and None is returned: the
        caller postpones that message rather than hold up the messages to other chats.
        """
        slot = self.acquire_lane(channel, address, (), max_wait)
        return None if slot is None else slot[1]

    def acquire_lane(self, channel: str, address: str, lanes: Sequence[str],
                     max_wait: float | None = None) -> tuple[str | None, float] | None:
        """Like ``acquire``, choosing one of ``lanes`` (each paced at the channel's
        ``per_sender_per_second``): the reader's usual lane when it is free, else the one
        free soonest. Returns (lane, seconds waited); lane is None without lanes."""
        limits = self.limits.get(channel)
        if limits is None:
            return (usual_lane(address, lanes) if lanes else None), 0.0
        paces = []
        if limits.per_second:
            paces.append(self._pace((channel, "*"), limits.per_second))
        if is_group_address(channel, address) and limits.per_group_per_minute:
            paces.append(self._pace((channel, address), limits.per_group_per_minute / 60))
        elif limits.per_chat_per_second:
            paces.append(self._pace((channel, address), limits.per_chat_per_second,
                                    shared=False))
        with self._lock:
            now = self.monotonic()
            start = max([now, *(pace.next_at for pace in paces)])
            lane = None
            if lanes:
                lane, lane_pace = self._choose_lane(channel, address, lanes, limits, start)
                if lane_pace is not None:
                    start = max(start, lane_pace.next_at)
                    paces.append(lane_pace)
            if max_wait is not None and start - now > max_wait:
                return None
            for pace in paces:
                pace.next_at = start + pace.interval
        wait = start - now
        if wait > 0:
            self.sleep(wait)
        return lane, max(wait, 0.0)

    def _choose_lane(self, channel: str, address: str, lanes: Sequence[str],
                     limits: ChannelLimits, earliest: float) -> tuple[str, _Pace | None]:
        # The same reader gets the same number when it is free: their messages stay in one
        # thread on their phone. Under load, throughput wins: the lane free soonest.
        usual = usual_lane(address, lanes)
        if not limits.per_sender_per_second:
            return usual, None
        rate = limits.per_sender_per_second
        paces = {lane: self._pace((channel, f"lane:{lane}"), rate) for lane in lanes}
        if paces[usual].next_at <= earliest:
            return usual, paces[usual]
        soonest = min(lanes, key=lambda lane: paces[lane].next_at)
        return soonest, paces[soonest]

    def delay(self, channel: str, address: str) -> float:
        """Seconds until this address has a free slot (without reserving it)."""
        return self._wait_for(channel, [(channel, "*"), (channel, address)])

    def chat_delay(self, channel: str, address: str) -> float:
        """Seconds until this chat's own pace allows a message, whatever the channel's."""
        return self._wait_for(channel, [(channel, address)])

    def _wait_for(self, channel: str, keys: list[tuple[str, str]]) -> float:
        if channel not in self.limits:
            return 0.0
        with self._lock:
            now = self.monotonic()
            return max([0.0, *(self._paces[k].next_at - now for k in keys if k in self._paces)])


def usual_lane(address: str, lanes: Sequence[str]) -> str:
    """The lane a reader gets when it is free: always the same one for the same address."""
    return lanes[zlib.crc32(address.encode()) % len(lanes)]


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
    # The same message about the same thing: its subject, urgency and deadline go with it.
    return outbox.enqueue(session, dedupe_key=f"{row.dedupe_key}:via:{channel}", identity=target,
                          kind=row.kind, payload=dict(row.payload), now=now,
                          subject=outbox.Subject.of(row), priority=Priority(row.priority),
                          expires_at=row.expires_at)


def recover_interrupted(engine: Engine, now: datetime) -> int:
    """Put rows left "sending" by a dispatcher that died (their lease lapsed) back in the
    queue; see ``core.outbox.take_back_lapsed``."""
    total = 0
    while True:
        with _writes(engine), session_scope(engine) as session:
            taken = outbox.take_back_lapsed(session, now)
        total += taken
        if taken < outbox.EXPIRE_BATCH:
            return total


def dispatch_forever(engine: Engine, senders: Mapping[str, Sender], stop: threading.Event,
                     clock: Clock = utc_now, limiter: RateLimiter | None = None,
                     idle_wait: float = 0.2, batch: int = 100, workers: int = 1,
                     lease: timedelta = outbox.LEASE,
                     preparers: Mapping[str, PayloadPreparer] | None = None,
                     peers: Callable[[], int] | None = None,
                     totals: DispatchReport | None = None) -> None:
    """The dispatcher loop of ``voisins serve``: drain, wait a little when idle, repeat.

    ``peers`` says how many dispatchers (this one included) share the database: each keeps
    to its share of the providers' overall limits (asked again every few seconds, so the
    others speed up when one stops). ``totals`` adds up every pass (for ``/healthz``).
    """
    next_recovery = 0.0
    recovery_every = min(RECOVERY_INTERVAL, lease.total_seconds() / 2)
    while not stop.is_set():
        try:
            if time.monotonic() >= next_recovery:
                if peers is not None and limiter is not None:
                    limiter.share_with(peers())
                recover_interrupted(engine, clock())
                next_recovery = time.monotonic() + recovery_every
            report = dispatch_due(engine, senders, clock=clock, limit=batch, limiter=limiter,
                                  workers=workers, lease=lease, preparers=preparers)
        except Exception:  # one bad pass (database busy...) must not stop the loop
            log.exception("dispatch pass failed")
            stop.wait(1.0)
            continue
        if totals is not None:
            totals.add(report)
        if report.total == 0:
            stop.wait(idle_wait)


def dispatch_due(engine: Engine, senders: Mapping[str, Sender], clock: Clock = utc_now,
                 limit: int = 100, channel: str | None = None,
                 limiter: RateLimiter | None = None, workers: int = 1,
                 lease: timedelta = outbox.LEASE,
                 preparers: Mapping[str, PayloadPreparer] | None = None) -> DispatchReport:
    """One pass over the due rows of the channels we have a sender for.

    Three phases: one transaction expires the rows past their deadline, claims the batch,
    loads its recipients and settles the rows that must not go; the sends happen outside
    any transaction, under a lease renewed meanwhile (``LeaseKeeper``); their outcomes are
    written in a few batched transactions (``OutcomeLog``). With ``workers`` > 1, different
    addresses are sent to in parallel (a provider's round trip, not our CPU, is what limits
    a fan-out); one address's rows keep their order. Rows of a channel without a sender are
    left alone until their deadline. A row whose kind has a payload preparer
    (``default_preparers``: charts) is finished just before its send.
    """
    report = DispatchReport()
    preparers = default_preparers() if preparers is None else preparers
    now = clock()
    with _writes(engine), session_scope(engine) as session:
        report.expired += outbox.expire_overdue(session, now)
        rows = outbox.claim_due(session, now, limit=limit, channel=channel,
                                channels=list(senders), lease=lease)
        jobs = _jobs_to_send(session, rows, senders, now, report) if rows else []
    if not jobs:
        return report
    keeper = LeaseKeeper(engine, clock, lease, [job.row.id for job in jobs
                                                if job.row.id is not None])
    log_ = OutcomeLog(engine, clock, report, on_recorded=keeper.release)
    by_address: dict[int, list[_Job]] = {}
    for job in jobs:
        by_address.setdefault(job.row.identity_id, []).append(job)

    queue = _QueueOrder()

    def run(batch: list[_Job]) -> None:
        held = False
        for job in batch:
            # One address's messages keep their order: after one waits, the rest wait.
            if held:
                outcome: _Outcome = _Paced(timedelta(0))
            else:
                # A chart is drawn here, outside any transaction, just before its send.
                failed = prepare_payload(engine, job.row, clock, preparers)
                outcome = failed if failed is not None else \
                    _send_one(job, clock, limiter, queue)
            held = held or isinstance(outcome, _Paced)
            log_.add(job.row, outcome)

    keeper.start()
    try:
        if workers <= 1 or len(by_address) <= 1:
            for batch in by_address.values():
                run(batch)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, by_address.values()))
    finally:
        try:
            log_.flush()
        finally:
            keeper.stop()
    return report


class LeaseKeeper:
    """Renews the lease of the rows a pass still holds, a third of a lease at a time, so
    that a slow send is never taken for a dead dispatcher's."""

    def __init__(self, engine: Engine, clock: Clock, lease: timedelta,
                 row_ids: list[int]) -> None:
        self.engine = engine
        self.clock = clock
        self.lease = lease
        self._held = set(row_ids)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def release(self, row_ids: list[int]) -> None:
        with self._lock:
            self._held.difference_update(row_ids)

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.lease.total_seconds() / 3):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                with _writes(self.engine), session_scope(self.engine) as session:
                    outbox.renew_leases(session, held, self.clock() + self.lease)
            except Exception:  # a missed renewal only risks one repeat; keep trying
                log.exception("lease renewal failed")


@dataclass(frozen=True)
class _Job:
    """A claimed row that may go, with what sending it needs (no database)."""

    row: OutboxMessage
    identity: ChannelIdentity
    sender: Sender
    # The sender's lanes when it has several (``PooledSender``), else None.
    pooled: PooledSender | None = None


def _jobs_to_send(session: Session, rows: list[OutboxMessage], senders: Mapping[str, Sender],
                  now: datetime, report: DispatchReport) -> list[_Job]:
    """Settle, in the claiming transaction, the rows that must not go; return the others."""
    recipients = outbox.recipients_of(session, rows)
    # Checked once per sender, not per row: a runtime protocol check is not free.
    pooled = {channel: sender for channel, sender in senders.items()
              if isinstance(sender, PooledSender)}
    jobs = []
    for row in rows:
        recipient = recipients.get(row.id) if row.id is not None else None
        reason = "identity erased" if recipient is None else \
            outbox.suppression_reason(row, recipient)
        sender = senders.get(row.channel)
        if reason is not None or recipient is None:
            outbox.mark_suppressed(session, row, reason or "no recipient", now)
            report.suppressed += 1
        elif sender is None:  # not claimed by ``claim_due``; kept for safety
            outbox.put_back(session, row, timedelta(minutes=1), now)
            report.paced += 1
        else:
            jobs.append(_Job(row, recipient.identity, sender, pooled.get(row.channel)))
    return jobs


@dataclass(frozen=True)
class _Paced:
    """This chat's next slot is far off (a busy group): let the others go first."""

    wait: timedelta


_Outcome = Exception | str | None | _Paced


class _QueueOrder:
    """Within a pass: once a row waits because its whole channel is busy, the rows of lower
    priority on that channel wait too, so that alerts go before questionnaires and chats
    even while the channel is saturated (the waiting rows are due again at once, and claims
    go by priority)."""

    def __init__(self) -> None:
        self._floors: dict[str, int] = {}
        self._lock = threading.Lock()

    def must_wait(self, row: OutboxMessage) -> bool:
        with self._lock:
            floor = self._floors.get(row.channel)
        return floor is not None and row.priority > floor

    def channel_full(self, row: OutboxMessage) -> None:
        with self._lock:
            self._floors[row.channel] = min(self._floors.get(row.channel, row.priority),
                                            row.priority)


def _send_one(job: _Job, clock: Clock, limiter: RateLimiter | None,
              queue: _QueueOrder | None = None) -> _Outcome:
    address = job.identity.address
    pooled = job.pooled
    lanes = pooled.lanes if pooled is not None else ()
    lane = None
    if limiter is not None:
        if queue is not None and queue.must_wait(job.row):
            return _Paced(timedelta(0))
        slot = limiter.acquire_lane(job.row.channel, address, lanes, MAX_PACING_WAIT)
        if slot is None:
            chat_wait = limiter.chat_delay(job.row.channel, address)
            if chat_wait > MAX_PACING_WAIT:
                # This chat (a busy group) is the limit: come back when it is free.
                return _Paced(timedelta(seconds=chat_wait))
            if queue is not None:
                queue.channel_full(job.row)
            return _Paced(timedelta(0))
        lane = slot[0]
    try:
        if pooled is not None and lane is not None:
            return pooled.send_via(job.row, job.identity, lane)
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

    def __init__(self, engine: Engine, clock: Clock, report: DispatchReport,
                 on_recorded: Callable[[list[int]], None] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.report = report
        self.on_recorded = on_recorded
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
        if self.on_recorded is not None:
            self.on_recorded([row.id for row, _ in pending if row.id is not None])
        with self._lock:
            self.report.add(written)


def _record(session: Session, row: OutboxMessage, outcome: _Outcome, clock: Clock,
            report: DispatchReport) -> None:
    """Write a send that did not succeed: retry, reroute, or fail (and mark the address)."""
    if isinstance(outcome, _Paced):
        outbox.put_back(session, row, outcome.wait, clock())
        report.paced += 1
    elif isinstance(outcome, RerouteSendError):
        outbox.mark_failed(session, row, f"{outcome} (sent by {outcome.channel})", clock())
        if reroute(session, row, outcome.channel, clock()) is not None:
            report.rerouted += 1
        report.failed += 1
    elif isinstance(outcome, TransientSendError):
        if outbox.retry_later(session, row, str(outcome), clock(), outcome.retry_after):
            report.retried += 1
        else:
            report.expired += 1
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
