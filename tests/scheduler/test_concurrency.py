"""Several schedulers on one database never send a step twice, nor skip one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.flows.alert import AlertMessages
from core.alerts import AlertKind, AlertSettings, AlertStep, StepStatus, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.models import OutboxMessage
from scheduler.runner import build_scheduler
from scheduler.timeline import run_due_steps
from tests.fakes.community import RESIDENTS, seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _plan_many(engine: Engine, count: int) -> None:
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        # One late tick covers every step here, so none may count as overdue.
        session.add(AlertSettings(community_id=community.id, grace_minutes=48 * 60))
        session.flush()
        for index in range(count):
            plan_alert(session, community, starts_at=NOW + timedelta(hours=1 + 2 * index),
                       duration_minutes=60, kind=AlertKind.SURPRISE, now=NOW)


def _race(engine: Engine, workers: int, at: datetime) -> None:
    barrier = threading.Barrier(workers)

    def work() -> None:
        barrier.wait()
        # Like the interval job: tick again while a tick had to leave a step for later.
        while run_due_steps(engine, AlertMessages(), clock=lambda: at, limit=1000).retry_later:
            pass

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _assert_each_step_sent_once(engine: Engine, steps: int, at: datetime) -> None:
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(OutboxMessage)).one()
        keys = session.exec(select(func.count(func.distinct(OutboxMessage.dedupe_key)))).one()
        done = session.exec(select(func.count()).select_from(AlertStep).where(
            AlertStep.status == StepStatus.DONE.value)).one()
        pending_due = session.exec(select(func.count()).select_from(AlertStep).where(
            AlertStep.status == StepStatus.PENDING.value,
            col(AlertStep.due_at) <= at)).one()
    assert rows == keys == steps * len(RESIDENTS)
    assert done == steps and pending_due == 0


def test_two_schedulers_on_postgres_send_each_step_once(pg_engine: Engine) -> None:
    seed_residents(pg_engine, NOW)
    _plan_many(pg_engine, 10)
    # Notices, starts and ends of all ten alerts are due; questionnaires wait for morning.
    at = NOW + timedelta(hours=21, minutes=30)  # 07:30 local: questionnaires wait for 08:00
    _race(pg_engine, workers=2, at=at)
    _assert_each_step_sent_once(pg_engine, steps=30, at=at)


def test_concurrent_ticks_on_sqlite_send_each_step_once(engine: Engine) -> None:
    seed_residents(engine, NOW)
    _plan_many(engine, 5)
    at = NOW + timedelta(hours=11, minutes=30)  # 21:30 local; the last end is due at 20:00
    _race(engine, workers=3, at=at)
    _assert_each_step_sent_once(engine, steps=15 + 5, at=at)


def test_apscheduler_runs_the_tick_and_the_dispatcher_hook(engine: Engine) -> None:
    ticks = threading.Event()
    scheduler = build_scheduler(engine, AlertMessages(), after_tick=ticks.set, tick_seconds=0.05,
                                daily_jobs={"digest": ("07:30", lambda: None)})
    scheduler.start()
    try:
        assert ticks.wait(timeout=5)
        assert {job.id for job in scheduler.get_jobs()} == {"timeline", "digest"}
    finally:
        scheduler.shutdown(wait=True)
