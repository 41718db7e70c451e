"""One process at a time long-polls Telegram: pollers take turns through a PostgreSQL
advisory lock, and one in standby takes over when the poller stops or loses its lock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.telegram_link import TelegramLink
from core.db import session_scope
from core.demo import seed_demo
from core.locks import HeldLock
from core.models import InboundEvent
from tests.api.helpers import telegram_text
from tests.bot.channels.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegram

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LOCK = "telegram polling"


def _link(engine: Engine, fake: FakeTelegram, polls: bool = True,
          sets_webhook: bool = True) -> TelegramLink:
    return TelegramLink(settings_for(fake, public_url=None), engine, lambda: T0,
                        poll_lock=HeldLock(engine, LOCK), lock_retry_seconds=0.2,
                        lock_check_seconds=0.2, polls=polls, sets_webhook=sets_webhook)


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def _handled(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(InboundEvent)).all())


def _errors_seen(link: TelegramLink) -> list[str]:
    """What the link's polling is told went wrong (a second poller: "Conflict")."""
    errors: list[str] = []
    original = link.polling_result

    def recording(error: str | None) -> None:
        if error is not None:
            errors.append(error)
        original(error)

    link.polling_result = recording  # type: ignore[method-assign]
    return errors


def _states(*links: TelegramLink) -> list[str]:
    return sorted(link.status().state for link in links)


def test_two_pollers_take_turns(pg_engine: Engine, fake_telegram: FakeTelegram) -> None:
    with session_scope(pg_engine) as session:
        seed_demo(session, clock=lambda: T0)

    async def scenario() -> None:
        first, second = _link(pg_engine, fake_telegram), _link(pg_engine, fake_telegram)
        errors = (_errors_seen(first), _errors_seen(second))
        await first.start()
        await second.start()
        try:
            await _until(lambda: _states(first, second) == ["standby", "up"])
            poller, waiting = (first, second) if first.status().state == "up" \
                else (second, first)
            fake_telegram.push_update(telegram_text(9101, "/start VOISINS", chat_id=31))
            await _until(lambda: _handled(pg_engine) == 1)
            # The poller stops (a worker shut down): the other one takes over.
            await poller.stop()
            await _until(lambda: waiting.status().state == "up")
            fake_telegram.push_update(telegram_text(9102, "/start VOISINS", chat_id=32))
            await _until(lambda: _handled(pg_engine) == 2)
        finally:
            await first.stop()
            await second.stop()
        # Telegram never answered a poller "Conflict": never two pollers at once (the
        # stopped poller's abandoned request is the only one Telegram cut short).
        assert errors == ([], []) and fake_telegram.poll_conflicts <= 1

    asyncio.run(scenario())


def test_a_poller_that_loses_its_lock_stops_and_another_takes_over(
        pg_engine: Engine, fake_telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        first, second = _link(pg_engine, fake_telegram), _link(pg_engine, fake_telegram)
        await first.start()
        await _until(lambda: first.status().state == "up")
        await second.start()
        try:
            await _until(lambda: second.status().state == "standby")
            # The first one's database connection is cut (a network cut, a restart).
            lock = first.poll_lock
            assert isinstance(lock, HeldLock) and lock._connection is not None
            pid = lock._connection.execute(text("SELECT pg_backend_pid()")).scalar()
            with pg_engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
            await _until(lambda: second.status().state == "up")
            await _until(lambda: first.status().state == "standby")
            assert first.status().last_error == "polling lock lost"
        finally:
            await first.stop()
            await second.stop()

    asyncio.run(scenario())


def test_a_web_role_never_polls_and_a_worker_never_sets_the_webhook(
        pg_engine: Engine, fake_telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        web = _link(pg_engine, fake_telegram, polls=False, sets_webhook=True)
        await web.start()
        assert web.status().state == "standby"  # polling mode: the workers' part
        await web.stop()
        worker = TelegramLink(settings_for(fake_telegram), pg_engine, lambda: T0,
                              polls=True, sets_webhook=False)
        await worker.start()
        assert worker.status().state == "standby"  # webhook mode: the web role's part
        await worker.stop()

    asyncio.run(scenario())
    assert fake_telegram.calls("getUpdates") == [] and fake_telegram.calls("setWebhook") == []
    assert fake_telegram.calls("getMe") == []
