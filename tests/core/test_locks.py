"""Advisory locks shared by the processes of a deployment (PostgreSQL), and granted at once
to the single process on SQLite."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.locks import HeldLock, WorkerRoll, exclusive


def test_a_job_lock_lets_one_process_run_a_job_at_a_time(pg_engine: Engine) -> None:
    with exclusive(pg_engine, "job:results") as first, \
            exclusive(pg_engine, "job:results") as second, \
            exclusive(pg_engine, "job:survey expiry") as other_job:
        assert (first, second, other_job) == (True, False, True)
    with exclusive(pg_engine, "job:results") as again:
        assert again  # given back at the end of the block


def test_waiting_for_a_lock_waits_until_it_is_given_back(pg_engine: Engine) -> None:
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with exclusive(pg_engine, "startup", wait=True):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with exclusive(pg_engine, "startup", wait=True) as ours:
        order.append("second in")
        assert ours
    thread.join()
    assert order == ["first done", "second in"]


def _terminate(engine: Engine, lock: HeldLock) -> None:
    """What a dead process, or a cut connection, does to its lock."""
    connection = lock._connection
    assert connection is not None
    pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    with engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()


def test_a_held_lock_passes_on_when_its_holder_goes(pg_engine: Engine) -> None:
    first, second = HeldLock(pg_engine, "telegram polling"), HeldLock(pg_engine,
                                                                      "telegram polling")
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire() and not second.still_held()
    _terminate(pg_engine, first)
    assert not first.still_held()  # the holder finds out, and stops polling
    assert second.try_acquire() and second.still_held()
    assert not first.try_acquire()
    second.release()
    assert first.try_acquire()
    first.release()


def test_workers_count_each_other(pg_engine: Engine) -> None:
    rolls = [WorkerRoll(pg_engine) for _ in range(3)]
    for roll in rolls:
        roll.join()
    assert sorted(roll.slot for roll in rolls if roll.slot is not None) == [0, 1, 2]
    assert rolls[0].count() == 3
    rolls[1].leave()
    assert rolls[0].count() == 2
    late = WorkerRoll(pg_engine)
    late.join()
    assert late.slot == 1 and late.count() == 3  # the free slot is taken again
    for roll in (rolls[0], rolls[2], late):
        roll.leave()


def test_on_sqlite_the_single_process_holds_every_lock(sqlite_engine: Engine) -> None:
    with exclusive(sqlite_engine, "job:results") as first, \
            exclusive(sqlite_engine, "job:results") as second:
        assert first and second
    lock = HeldLock(sqlite_engine, "telegram polling")
    assert lock.try_acquire() and lock.still_held()
    roll = WorkerRoll(sqlite_engine)
    roll.join()
    assert roll.count() == 1
