"""Fan-out through the outbox: rows → dispatcher → Telegram Bot API (a loopback fake).

Prints the bot's own throughput (no rate limit, the fake answers as fast as it can) and the
wall time of a fan-out under Telegram's 30 messages/s against the ideal N/30 s.

The fake provider runs in its own process, as the real one is on another machine: in ours it
would take its parsing and answering out of the bot's CPU budget and GIL. ``--fake-in-process``
measures that way too, for comparison.

    PYTHONPATH=. .venv/bin/python benchmarks/fanout.py [--recipients 10000] [--limited 600]
        [--workers 8] [--fake-in-process]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.telegram import TelegramSender
from bot.outbound.dispatch import RateLimiter, dispatch_due
from core.db import make_engine, migrate
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus
from tests.fakes.telegram_api import FakeTelegram

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def seeded_engine(folder: str, recipients: int) -> Engine:
    engine = make_engine(f"sqlite:///{folder}/fanout.db")
    migrate(engine)
    with Session(engine) as session:
        session.execute(insert(ChannelIdentity), [
            {"channel": "telegram", "address": str(100000 + n), "reachable": True,
             "created_at": T0} for n in range(recipients)])
        ids = session.exec(select(ChannelIdentity.id)).all()
        session.execute(insert(OutboxMessage), [
            {"dedupe_key": f"broadcast:1:{i}", "identity_id": i, "channel": "telegram",
             "kind": "broadcast", "attempts": 0, "payload": {"text": "Grid alert at 18:00",
                                                            "locale": "en"},
             "status": OutboxStatus.PENDING.value, "next_attempt_at": T0, "created_at": T0,
             "updated_at": T0} for i in ids])
        session.commit()
    return engine


@dataclass
class Provider:
    api_url: str
    token: str
    sent: Callable[[], int]
    set_latency: Callable[[float], None]


def _serve_fake(pipe: Connection) -> None:
    """The fake in a child process: answers the parent's questions over a pipe."""
    with FakeTelegram() as fake:
        pipe.send((fake.api_url, fake.token))
        while True:
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "latency":
                fake.latency = value
            pipe.send(len(fake.sent))


@contextmanager
def fake_provider(in_process: bool) -> Iterator[Provider]:
    if in_process:
        with FakeTelegram() as fake:
            yield Provider(fake.api_url, fake.token, lambda: len(fake.sent),
                           lambda seconds: setattr(fake, "latency", seconds))
        return
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve_fake, args=(child,),
                                                           daemon=True)
    process.start()
    api_url, token = parent.recv()

    def ask(command: str, value: float = 0.0) -> int:
        parent.send((command, value))
        return int(parent.recv())

    def set_latency(seconds: float) -> None:
        ask("latency", seconds)

    try:
        yield Provider(api_url, token, lambda: ask("count"), set_latency)
    finally:
        parent.send(("stop", 0))
        process.join(timeout=10)


def drain(engine: Engine, provider: Provider, limiter: RateLimiter | None,
          workers: int) -> float:
    sender = TelegramSender(provider.token, provider.api_url, engine=engine)
    start = time.perf_counter()
    while dispatch_due(engine, {"telegram": sender}, clock=lambda: T0, limit=100,
                       limiter=limiter, workers=workers).total:
        pass
    elapsed = time.perf_counter() - start
    sender.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--limited", type=int, default=600)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="round trip added by the fake to each call (limited run only)")
    parser.add_argument("--fake-in-process", action="store_true")
    args = parser.parse_args()
    where = "in the bot's process" if args.fake_in_process else "in its own process"
    with fake_provider(args.fake_in_process) as provider, \
            tempfile.TemporaryDirectory() as folder:
        engine = seeded_engine(folder, args.recipients)
        elapsed = drain(engine, provider, None, args.workers)
        assert provider.sent() == args.recipients
        print(f"own throughput: {args.recipients} messages in {elapsed:.2f} s = "
              f"{args.recipients / elapsed:,.0f} messages/s (no limit, {args.workers} workers, "
              f"fake {where})")
    with fake_provider(args.fake_in_process) as provider, \
            tempfile.TemporaryDirectory() as folder:
        engine = seeded_engine(folder, args.limited)
        provider.set_latency(args.latency_ms / 1000)
        elapsed = drain(engine, provider, RateLimiter(), args.workers)
        assert provider.sent() == args.limited
        ideal = (args.limited - 1) / 30
        print(f"limited fan-out: {args.limited} messages at 30/s, {args.latency_ms:g} ms round "
              f"trip, {args.workers} workers: {elapsed:.2f} s, ideal {ideal:.2f} s "
              f"({(elapsed / ideal - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
