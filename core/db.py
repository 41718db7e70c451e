"""The database engine: SQLite (WAL, busy timeout, foreign keys) by default, PostgreSQL to scale."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

from core.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 driver's own transaction handling is switched off: left on, it emits no
    # BEGIN before a SAVEPOINT, so a SAVEPOINT ... RELEASE commits on its own and survives a
    # later rollback (an inbound provider id recorded for a message never answered).
    # SQLAlchemy's documented pysqlite recipe: autocommit at the driver, BEGIN of our own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the dispatcher read while a webhook writes; the busy timeout makes
    # writers wait for each other instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at the start, waiting up to the busy timeout. A deferred
    # BEGIN would read first and then fail at once ("database is locked", no wait) when
    # another writer committed in between: nearly every transaction here writes.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with Alembic (tests and the CLI both use this)."""
    from alembic import command
    from alembic.config import Config

    from core.locks import NAMESPACE, lock_key

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Processes starting together (a web and its workers) migrate one at a time:
            # the next one finds the schema at its head and has nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
                               {"namespace": NAMESPACE, "key": lock_key("migrate")})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
