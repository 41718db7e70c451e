"""Scale out on PostgreSQL: 1 web + N worker processes (``voisins serve --role ...``, real
subprocesses) drain a broadcast of 20,000 outbox rows and 50 alerts' notices (one alert per
cluster of 40 residents, planned through the web role's API, each notice step due at once)
against the Telegram Bot API fake, run in its own process.

Each message is checked to arrive exactly once, counted at the fake by (chat, text); every
alert step runs once. Prints the throughput with each number of workers.

Telegram's overall limit is set high for the workers (``VOISINS_TELEGRAM_PER_SECOND``,
100,000/s) so that what is measured is the workers, not Telegram's 30/s; every chat gets one
message, so the per-chat pace never binds. ``--latency-ms`` adds a round trip to every call
at the fake (a real Bot API call from Europe takes tens of milliseconds).

    PYTHONPATH=. .venv/bin/python benchmarks/scale_out.py [--rows 20000] [--alerts 50]
        [--per-alert 40] [--workers 1 2] [--latency-ms 0 50]

Needs PostgreSQL on 127.0.0.1:5432 (``VOISINS_TEST_POSTGRES_URL`` to change it); each run
gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.alerts import AlertStage, AlertStep, StepStatus
from core.db import make_engine, migrate
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fakes.deployment import (
    Deployment,
    enqueue_broadcast,
    outbox_counts,
    plan_alerts_through_the_api,
    seed_broadcast_chats,
    seed_residents,
    wait_for,
)
from tests.fakes.telegram_api import FakeTelegram


def _serve_fake(pipe: Connection, latency: float) -> None:
    """The fake in its own process: answers the parent's questions over a pipe."""
    with FakeTelegram() as fake:
        fake.latency = latency
        pipe.send((fake.api_url, fake.token))
        while True:
            command = pipe.recv()
            if command == "stop":
                return
            if command == "count":
                pipe.send(len(fake.sent))
            elif command == "stats":
                counts = Counter((m.chat_id, m.text) for m in fake.sent)
                pipe.send((len(fake.sent), len(counts), max(counts.values(), default=0),
                           fake.poll_conflicts))


@dataclass
class Fake:
    api_url: str
    token: str
    pipe: Connection

    def count(self) -> int:
        self.pipe.send("count")
        return int(self.pipe.recv())

    def stats(self) -> tuple[int, int, int, int]:
        """Messages received, distinct (chat, text), the most copies of one, poll conflicts."""
        self.pipe.send("stats")
        sent, distinct, most, conflicts = self.pipe.recv()
        return int(sent), int(distinct), int(most), int(conflicts)


@contextmanager
def fake_telegram(latency: float) -> Iterator[Fake]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_fake, args=(child, latency), daemon=True)
    process.start()
    api_url, token = parent.recv()
    try:
        yield Fake(api_url, token, parent)
    finally:
        parent.send("stop")
        process.join(timeout=10)


@contextmanager
def fresh_database() -> Iterator[tuple[str, Engine]]:
    name = f"voisins_scale_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Run:
    workers: int
    latency_ms: float
    messages: int
    seconds: float
    sent_by: list[int]

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def run(workers: int, rows: int, alerts: int, per_alert: int, latency_ms: float) -> Run:
    with fresh_database() as (url, engine), fake_telegram(latency_ms / 1000) as fake, \
            tempfile.TemporaryDirectory() as folder:
        migrate(engine)
        now = datetime.now(UTC)
        seed_residents(engine, alerts, per_alert, now)
        chats = seed_broadcast_chats(engine, rows, now)
        deployment = Deployment(url, fake.api_url, fake.token, Path(folder))
        web = deployment.start("web")
        for _ in range(workers):
            deployment.start("worker")
        try:
            deployment.wait_healthy(timeout=180)
            wait_for(lambda: all((p.health() or {})["dispatcher"]["workers"] == workers
                                 for p in deployment.processes[1:]), 60,
                     "the workers to count each other")
            expected = rows + alerts * per_alert
            started = time.perf_counter()
            enqueue_broadcast(engine, chats, datetime.now(UTC))
            plan_alerts_through_the_api(web.base, alerts, datetime.now(UTC))
            wait_for(lambda: fake.count() >= expected, 1800, f"{expected} messages at the fake",
                     every=0.05)
            elapsed = time.perf_counter() - started
            time.sleep(2)  # more ticks and passes: anything sent twice would show now
            sent, distinct, most, conflicts = fake.stats()
            assert (sent, distinct, most) == (expected, expected, 1), (sent, distinct, most)
            assert conflicts == 0
            assert outbox_counts(engine) == {"sent": expected}
            with Session(engine) as session:
                steps = session.exec(select(AlertStep).where(
                    AlertStep.stage == AlertStage.NOTICE_30MIN.value)).all()
            assert len(steps) == alerts and {(s.status, s.recipients) for s in steps} == \
                {(StepStatus.DONE.value, per_alert)}
            sent_by = [int((p.health() or {})["dispatcher"]["sent"])
                       for p in deployment.processes[1:]]
            assert sum(sent_by) == expected, sent_by
        finally:
            deployment.stop()
    return Run(workers, latency_ms, expected, elapsed, sent_by)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--per-alert", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    args = parser.parse_args()
    results = []
    for latency in args.latency_ms:
        for workers in args.workers:
            result = run(workers, args.rows, args.alerts, args.per_alert, latency)
            results.append(result)
            print(f"{workers} worker(s), {latency:g} ms round trip: {result.messages} messages "
                  f"in {result.seconds:.2f} s = {result.per_second:,.0f} messages/s, each "
                  f"once; sent per worker {result.sent_by}", flush=True)
    for latency in args.latency_ms:
        base = next((r for r in results if r.latency_ms == latency and r.workers == 1), None)
        for result in results:
            if base is not None and result.latency_ms == latency and result.workers > 1:
                print(f"{latency:g} ms: {result.workers} workers = "
                      f"{result.per_second / base.per_second:.2f} x one worker")


if __name__ == "__main__":
    main()
