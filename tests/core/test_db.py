"""Migrations and the database settings, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from core.db import migrate

TABLES = {"community", "cluster", "household", "contact", "channelidentity",
          "conversationstate", "inboundevent", "outboxmessage"}


def test_migrations_create_every_table(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate(engine)  # idempotent: a second upgrade is a no-op


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10000
