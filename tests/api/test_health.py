"""``GET /healthz`` and a start-up without Telegram: everything else starts, Telegram is
retried in the background until it answers, and the health check says how each part is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.health import ProcessHealth
from bot.channels import telegram_link
from bot.channels.telegram_link import Backoff
from core import outbox
from core.db import make_engine, session_scope
from core.demo import seed_demo
from core.identities import touch_identity
from tests.api.helpers import post_telegram, post_twilio, sms_form, telegram_text
from tests.bot.channels.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _wait(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same backoff, scaled down: seconds would make these tests slow, not truer.
    monkeypatch.setattr(telegram_link, "BACKOFF", Backoff(first=0.1, factor=2, most=0.5))


def test_telegram_down_at_start_up_does_not_stop_the_service(
        engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio,
        caplog: pytest.LogCaptureFixture) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
    fake_telegram.fail_method("getMe", 3, "502")
    settings = settings_for(fake_telegram, fake_twilio)
    caplog.set_level(logging.INFO, logger="bot.channels.telegram_link")
    with TestClient(create_app(engine, settings, clock=lambda: T0)) as client:
        # Started: SMS works while Telegram is down, and the health check says which is which.
        health = client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "degraded" and body["database"]["ok"] is True
        telegram = body["channels"]["telegram"]
        assert telegram["state"] == "down" and telegram["mode"] == "webhook"
        assert "502" in telegram["error"] or "Bad Gateway" in telegram["error"]
        assert body["channels"]["sms"]["state"] == "up"
        assert post_twilio(client, sms_form("JOIN VOISINS", "SM" + "7" * 32)).status_code == 200
        # A webhook update before Telegram is connected is not lost: 503, Telegram resends.
        assert post_telegram(client, telegram_text(8001, "/start VOISINS")).status_code == 503

        _wait(lambda: client.get("/healthz").json()["channels"]["telegram"]["state"] == "up")
        assert fake_telegram.webhook is not None  # setWebhook once getMe answered
        assert len(fake_telegram.calls("getMe")) == 4
        assert client.get("/healthz").json()["status"] == "ok"
        assert post_telegram(client, telegram_text(8001, "/start VOISINS")).status_code == 200
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.channels.telegram_link"]
    assert sum("Telegram unreachable" in m for m in messages) == 3
    assert any("Telegram connected (webhook) after 4 attempt(s)" in m for m in messages)
    assert fake_telegram.token not in caplog.text


def test_setwebhook_failing_is_retried_too(engine: Engine, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_method("setWebhook", 2, "500")
    with TestClient(create_app(engine, settings_for(fake_telegram), clock=lambda: T0)) as client:
        assert client.get("/healthz").json()["channels"]["telegram"]["state"] == "down"
        _wait(lambda: fake_telegram.webhook is not None)
        _wait(lambda: client.get("/healthz").json()["channels"]["telegram"]["state"] == "up")


def test_polling_reports_telegram_going_down_and_up(engine: Engine,
                                                    fake_telegram: FakeTelegram) -> None:
    settings = settings_for(fake_telegram, public_url=None)
    with TestClient(create_app(engine, settings, clock=lambda: T0)) as client:
        _wait(lambda: bool(fake_telegram.calls("getUpdates")))
        assert client.get("/healthz").json()["channels"]["telegram"]["mode"] == "polling"
        fake_telegram.fail_method("getUpdates", 1, "502")
        _wait(lambda: client.get("/healthz").json()["channels"]["telegram"]["state"] == "down")
        _wait(lambda: client.get("/healthz").json()["channels"]["telegram"]["state"] == "up")


def test_health_reports_the_outbox_backlog_and_the_scheduler(engine: Engine) -> None:
    with session_scope(engine) as session:
        identity = touch_identity(session, "sms", "+32470000001", T0)
        for number, queued_at in enumerate([T0 - timedelta(minutes=5),
                                            T0 - timedelta(minutes=1)]):
            outbox.enqueue(session, dedupe_key=f"health:{number}", identity=identity,
                           kind="reply", payload={"text": "hi"}, now=queued_at)
        outbox.enqueue(session, dedupe_key="health:later", identity=identity, kind="reply",
                       payload={"text": "later"}, now=T0, due_at=T0 + timedelta(hours=8))
    process = ProcessHealth(scheduler_tick_seconds=0.5)
    app = create_app(engine, settings_for(), clock=lambda: T0, process_health=process)
    with TestClient(app) as client:
        body = client.get("/healthz").json()
        # Waiting for quiet hours to end is not a backlog: pending 3, due 2.
        assert body["outbox"] == {"pending": 3, "due": 2, "oldest_due_age_seconds": 300.0}
        assert body["channels"]["telegram"] == {"state": "off", "mode": None, "since": None,
                                                "error": None}
        assert body["scheduler"]["running"] is True and body["scheduler"]["ok"] is True
        process.ticked()
        scheduler = client.get("/healthz").json()["scheduler"]
        assert scheduler["tick_age_seconds"] < 1 and scheduler["last_tick_at"]
        process._last_tick_monotonic = time.monotonic() - 60  # a scheduler that stopped
        stale = client.get("/healthz").json()
        assert stale["status"] == "degraded" and stale["scheduler"]["ok"] is False


def test_health_without_a_scheduler_in_the_process(engine: Engine) -> None:
    with TestClient(create_app(engine, settings_for(), clock=lambda: T0)) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["scheduler"] == {"running": False, "ok": True, "tick_seconds": None,
                                 "last_tick_at": None, "tick_age_seconds": None}


def test_a_database_that_does_not_answer_is_a_503(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/voisins.db")
    with TestClient(create_app(engine, settings_for(), clock=lambda: T0)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["database"]["ok"] is False
    assert body["database"]["error"] and body["outbox"] is None
