"""The dispatcher killed (SIGKILL) in the middle of a 1,000-message fan-out, then restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session, func, select

from core.db import make_engine, migrate
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[3]
RECIPIENTS = 1000
BATCH = 20
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _seed(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with Session(engine) as session:
        session.execute(insert(ChannelIdentity), [
            {"channel": "telegram", "address": str(100000 + n), "reachable": True,
             "created_at": T0} for n in range(RECIPIENTS)])
        ids = session.exec(select(ChannelIdentity.id)).all()
        session.execute(insert(OutboxMessage), [
            {"dedupe_key": f"broadcast:1:{identity_id}", "identity_id": identity_id,
             "channel": "telegram", "kind": "broadcast", "attempts": 0,
             "payload": {"text": f"Hello {identity_id}", "locale": "en"},
             "status": OutboxStatus.PENDING.value, "next_attempt_at": T0, "created_at": T0,
             "updated_at": T0} for identity_id in ids])
        session.commit()
    engine.dispose()


def _start(database_url: str, fake: FakeTelegram) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bot.channels.dispatcher_process", database_url,
         fake.api_url, fake.token, str(BATCH)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _wait(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_sigkill_mid_fan_out_loses_nothing_and_repeats_at_most_in_flight(
        tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/crash.db"
    _seed(database_url)
    engine = make_engine(database_url)
    with FakeTelegram() as fake:
        first = _start(database_url, fake)
        try:
            _wait(lambda: len(fake.sent) >= RECIPIENTS // 3, timeout=30)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        with Session(engine) as session:
            in_flight = session.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENDING.value)).one()
        sent_before_restart = len(fake.sent)
        assert 0 < sent_before_restart < RECIPIENTS  # really killed in the middle

        second = _start(database_url, fake)
        try:
            def drained() -> bool:
                with Session(engine) as session:
                    left = session.exec(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status != OutboxStatus.SENT.value)).one()
                return int(left) == 0
            _wait(drained, timeout=60)
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(timeout=10)
        per_chat = Counter(str(message.chat_id) for message in fake.sent)
    engine.dispose()
    assert set(per_chat) == {str(100000 + n) for n in range(RECIPIENTS)}  # everyone
    duplicates = sum(count - 1 for count in per_chat.values())
    assert duplicates <= in_flight <= BATCH
