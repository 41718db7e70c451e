"""Alert SMS through a pool of sender numbers: outbox rows → dispatcher → Twilio fake.

2,000 alert SMS (by default) through a pool of 10 numbers, each paced at ``--rate`` SMS per
second, as ``voisins serve`` runs it (8 sending threads, batches of 100, the per-sender
limits of ``bot.channels.senders.channel_limits``). Prints the wall time against the ideal
N / (numbers x rate), the busiest number's rate as the fake saw it, and the largest
``attempts`` left on a row (pacing is not failure: 0).

The fake runs in its own process, as Twilio is another machine.

    PYTHONPATH=. .venv/bin/python benchmarks/sms_pool.py [--messages 2000] [--numbers 10]
        [--rate 10] [--workers 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection

from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.senders import build_senders, channel_limits
from bot.outbound.dispatch import RateLimiter, dispatch_due
from core.config import Settings
from core.db import make_engine, migrate
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

T0 = datetime.now(UTC)


def seeded_engine(folder: str, messages: int) -> Engine:
    engine = make_engine(f"sqlite:///{folder}/sms_pool.db")
    migrate(engine)
    with Session(engine) as session:
        session.execute(insert(ChannelIdentity), [
            {"channel": "sms", "address": f"+3247{n:07d}", "reachable": True,
             "created_at": T0} for n in range(messages)])
        ids = session.exec(select(ChannelIdentity.id)).all()
        session.execute(insert(OutboxMessage), [
            {"dedupe_key": f"alert:1:notice_30min:{i}", "identity_id": i, "channel": "sms",
             "kind": "alert_notice_30min", "subject_kind": "alert", "subject_id": 1,
             "stage": "notice_30min", "priority": int(Priority.ALERT), "attempts": 0,
             "payload": {"text": "Voisins: the grid alert starts at 18:00, for 2 hours. "
                                 "Thanks for using less electricity!", "locale": "en"},
             "status": OutboxStatus.PENDING.value, "next_attempt_at": T0,
             "expires_at": T0 + timedelta(hours=2), "created_at": T0, "updated_at": T0}
            for i in ids])
        session.commit()
    return engine


def _serve_fake(pipe: Connection) -> None:
    """The fake in a child process: answers the parent's questions over a pipe."""
    with FakeTwilio() as fake:
        pipe.send(fake.api_url)
        while True:
            command = pipe.recv()
            if command == "stop":
                return
            if command == "count":
                pipe.send(len(fake.sent))
            elif command == "report":
                first = min((m.at for m in fake.sent), default=0.0)
                last = max((m.at for m in fake.sent), default=0.0)
                pipe.send((len(fake.sent), last - first, fake.busiest_sender_rate(),
                           len({m.from_ for m in fake.sent}),
                           sum(1 for r in fake.requests if r.path.endswith("Messages.json"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--numbers", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="SMS per second per number")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve_fake, args=(child,),
                                                           daemon=True)
    process.start()
    api_url = parent.recv()
    pool = [f"+3225560{n:03d}" for n in range(args.numbers)]
    settings = Settings(_env_file=None, database_url="sqlite://",  # type: ignore[call-arg]
                        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                        twilio_api_url=api_url, twilio_sms_pool=",".join(pool),
                        sms_per_second_per_sender=args.rate)
    try:
        with tempfile.TemporaryDirectory() as folder:
            engine = seeded_engine(folder, args.messages)
            senders = build_senders(engine, settings)
            limiter = RateLimiter(channel_limits(settings))
            start = time.perf_counter()
            cpu_start = time.process_time()
            while True:
                report = dispatch_due(engine, senders, limiter=limiter, workers=args.workers)
                if report.total == 0:
                    parent.send("count")
                    if parent.recv() >= args.messages:
                        break
                    time.sleep(0.01)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            with Session(engine) as session:
                left = session.exec(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != OutboxStatus.SENT.value)).one()
                most_attempts = session.exec(select(func.max(OutboxMessage.attempts))).one()
            engine.dispose()
        parent.send("report")
        sent, span, busiest, used, requests = parent.recv()
    finally:
        parent.send("stop")
        process.join(timeout=10)
    ideal = args.messages / (args.numbers * args.rate)
    print(f"{sent} alert SMS through {used} of {args.numbers} numbers at {args.rate:g}/s each, "
          f"{args.workers} workers: {elapsed:.2f} s (first to last send {span:.2f} s), "
          f"ideal {ideal:.2f} s ({(elapsed / ideal - 1) * 100:+.1f} %)")
    print(f"busiest number: {busiest:g} SMS in one second (limit {args.rate:g}); "
          f"requests to the fake: {requests}; rows not sent: {left}; "
          f"largest attempts on a row: {most_attempts}")
    print(f"dispatcher CPU: {cpu:.2f} s ({cpu / max(sent, 1) * 1000:.1f} ms per SMS, "
          f"{cpu / elapsed * 100:.0f} % of one core)")


if __name__ == "__main__":
    main()
