"""What ``GET /healthz`` reports about this process: the parts it runs and when they last
showed life. ``voisins serve`` fills it in; an app built alone runs no scheduler."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from bot.outbound.dispatch import DispatchReport, RateLimiter
from core.clock import utc_now


@dataclass
class ProcessHealth:
    # None when the scheduler runs elsewhere (or not at all).
    scheduler_tick_seconds: float | None = None
    _last_tick_at: datetime | None = None
    _last_tick_monotonic: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The dispatcher's running totals and its limiter (None: no dispatcher in this process).
    dispatch_totals: DispatchReport | None = None
    dispatch_limiter: RateLimiter | None = None

    def dispatcher_running(self, totals: DispatchReport, limiter: RateLimiter) -> None:
        """Called once by ``voisins serve`` when this process dispatches."""
        self.dispatch_totals = totals
        self.dispatch_limiter = limiter

    def ticked(self) -> None:
        """Called by the scheduler at every tick."""
        with self._lock:
            self._last_tick_at = utc_now()
            self._last_tick_monotonic = time.monotonic()

    def last_tick(self) -> tuple[datetime | None, float | None]:
        """When the scheduler last ticked, and how many seconds ago."""
        with self._lock:
            if self._last_tick_monotonic is None:
                return None, None
            return self._last_tick_at, time.monotonic() - self._last_tick_monotonic


def reader_engine(engine: Engine) -> Engine:
    """An engine for the health check's reads that never waits for SQLite's write lock.

    Our SQLite engine opens every transaction with BEGIN IMMEDIATE (it takes the write lock
    at once, see core/db.py), so a health check through it would queue behind an import.
    This one leaves the driver's own handling on: a SELECT starts no transaction, and WAL
    lets it read while another connection writes. On PostgreSQL reads never wait anyway.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return engine
    reader = create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": 2})

    def read_only(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    event.listen(reader, "connect", read_only)
    return reader
