"""Locks shared by the processes of one deployment: PostgreSQL advisory locks.

Several ``voisins serve`` processes may run on one PostgreSQL database (a web role, N
workers). Row claims (``FOR UPDATE SKIP LOCKED``) share the outbox and the calendar; what is
not a row needs a lock of its own: one process long-polls Telegram, a periodic job runs in
one process per tick, a migration runs once. These are PostgreSQL advisory locks, keyed by
name. A lock held by a process that dies is released with its connection.

On SQLite there is one process (``voisins serve --role all``), so every lock is granted.

Every lock here lives on a connection of its own in autocommit: a session-level advisory
lock needs no transaction, and a connection left "idle in transaction" for hours would hold
back PostgreSQL's vacuum.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

# The first half of every key (the "classid" of pg_locks): ours, whatever else uses
# advisory locks on the same database. "Vois" in ASCII.
NAMESPACE = 0x566F6973
# Worker slots (see ``WorkerRoll``): their own namespace, so that counting them is one query.
WORKERS_NAMESPACE = NAMESPACE + 1
MAX_WORKERS = 256


def lock_key(name: str) -> int:
    """A stable key for ``name`` (the "objid" of pg_locks): 31 bits, never negative."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _autocommit(engine: Engine) -> Connection:
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _try_lock(connection: Connection, namespace: int, key: int) -> bool:
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                                   {"namespace": namespace, "key": key}).scalar())


def _unlock(connection: Connection, namespace: int, key: int) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:namespace, :key)"),
                       {"namespace": namespace, "key": key})


def _close(connection: Connection, namespace: int, key: int, held: bool) -> None:
    """Give the lock back and the connection to the pool; a connection we cannot clean up
    is closed for good (a pooled connection would keep the lock)."""
    try:
        if held:
            _unlock(connection, namespace, key)
    except Exception:
        connection.invalidate()
    finally:
        connection.close()


@contextmanager
def exclusive(engine: Engine, name: str, wait: bool = False) -> Iterator[bool]:
    """Hold the lock ``name`` for the block; yields whether this process holds it.

    ``wait=False``: do not wait, yield False when another process holds it (a periodic job
    that another worker is running this tick). ``wait=True``: wait for it (start-up work
    that must run once at a time).
    """
    if not is_postgres(engine):
        yield True
        return
    key = lock_key(name)
    connection = _autocommit(engine)
    held = False
    try:
        if wait:
            connection.execute(text("SELECT pg_advisory_lock(:namespace, :key)"),
                               {"namespace": NAMESPACE, "key": key})
            held = True
        else:
            held = _try_lock(connection, NAMESPACE, key)
        yield held
    finally:
        _close(connection, NAMESPACE, key, held)


class HeldLock:
    """A lock held for as long as a role lasts (the Telegram poller's): taken when free,
    checked now and then, given back on ``release``.

    ``still_held`` asks the database: a lost connection (a restart, a network cut) loses
    the lock, and then another process may take it; the holder must stop at once.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._connection: Connection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or not is_postgres(self.engine)

    def try_acquire(self) -> bool:
        if not is_postgres(self.engine) or self._connection is not None:
            return True
        connection = _autocommit(self.engine)
        try:
            if _try_lock(connection, NAMESPACE, self.key):
                self._connection = connection
                return True
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        connection.close()
        return False

    def still_held(self) -> bool:
        if not is_postgres(self.engine):
            return True
        connection = self._connection
        if connection is None:
            return False
        try:
            found = connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND classid = :namespace AND objid = :key"
                " AND objsubid = 2"), {"namespace": NAMESPACE, "key": self.key}).scalar()
        except Exception:
            self._forget()
            return False
        if not found:
            self._forget()
            return False
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            _close(connection, NAMESPACE, self.key, held=True)

    def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.invalidate()
            connection.close()


class WorkerRoll:
    """Which worker processes are alive on this database: each holds one slot lock while
    it runs, and counting the slots held tells every worker how many share the providers'
    rate limits (a dead worker's slot goes with its connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.slot: int | None = None
        self._connection: Connection | None = None

    def join(self) -> None:
        if not is_postgres(self.engine) or self._connection is not None:
            return
        connection = _autocommit(self.engine)
        for slot in range(MAX_WORKERS):
            if _try_lock(connection, WORKERS_NAMESPACE, slot):
                self.slot, self._connection = slot, connection
                return
        connection.close()
        raise RuntimeError(f"more than {MAX_WORKERS} workers on one database")

    def count(self) -> int:
        """Workers alive now, this one included (at least 1)."""
        if not is_postgres(self.engine):
            return 1
        with self.engine.connect() as connection:
            found = connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = :namespace AND objsubid = 2 AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"namespace": WORKERS_NAMESPACE}).scalar()
        return max(1, int(found or 0))

    def leave(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self.slot is not None:
            _close(connection, WORKERS_NAMESPACE, self.slot, held=True)
        self.slot = None
