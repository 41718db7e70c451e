"""A transaction holds on both databases: what a failed message wrote is all rolled back.

With the sqlite3 driver's default settings a SAVEPOINT opened as a session's first write
committed on its own: the provider id of a message that then failed survived the rollback,
and the provider's resend was acknowledged and dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import bot.conversation.inbox as inbox
from bot.conversation.inbox import handle_incoming
from core.db import session_scope
from core.demo import seed_demo
from core.inbound import first_delivery
from core.messages import IncomingMessage
from core.models import InboundEvent, OutboxMessage

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_a_failure_after_first_delivery_keeps_no_provider_id_and_the_resend_is_answered(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
    message = IncomingMessage(channel="sms", address="+32470123456", text="HELP",
                              provider_id="SM-lost-once")
    real_route = inbox.route
    calls = {"n": 0}

    def failing_once(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected: the database was locked")
        return real_route(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "route", failing_once)
    with pytest.raises(RuntimeError):
        handle_incoming(engine, message, clock=lambda: T0)
    with Session(engine) as session:
        assert session.exec(select(InboundEvent)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []

    # The provider sends it again (the webhook was not acknowledged): it is answered.
    rows = handle_incoming(engine, message, clock=lambda: T0)
    assert rows, "the resend must be answered"
    # And a third delivery is a duplicate.
    assert handle_incoming(engine, message, clock=lambda: T0) == []


def test_a_savepoint_as_first_write_is_inside_a_real_transaction(engine: Engine) -> None:
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        with pytest.raises(RuntimeError), session_scope(engine) as session:
            assert first_delivery(session, "telegram", "update:1", T0)
            raise RuntimeError("a later failure")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with Session(engine) as session:
        assert session.exec(select(InboundEvent)).all() == []
    if engine.dialect.name == "sqlite":
        # Our own BEGIN comes before the savepoint.
        assert statements.index("BEGIN") < statements.index("SAVEPOINT")


def test_sqlite_writers_wait_for_each_other_instead_of_failing(sqlite_engine: Engine) -> None:
    """BEGIN IMMEDIATE: a second writer waits for the lock (busy timeout), it does not fail."""
    import threading
    import time

    done: list[str] = []

    def slow_writer() -> None:
        with session_scope(sqlite_engine) as session:
            session.execute(text("INSERT INTO inboundevent (channel, provider_id) "
                                 "VALUES ('sms', 'a')"))
            time.sleep(0.5)
        done.append("slow")

    thread = threading.Thread(target=slow_writer)
    thread.start()
    time.sleep(0.1)
    with session_scope(sqlite_engine) as session:
        count = session.execute(text("SELECT count(*) FROM inboundevent")).scalar_one()
        session.execute(text("INSERT INTO inboundevent (channel, provider_id) "
                             "VALUES ('sms', 'b')"))
    thread.join()
    assert done == ["slow"]
    assert count == 1  # it waited for the first writer's commit
