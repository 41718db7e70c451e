"""Media URLs, and Telegram by long polling when there is no public URL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from core.db import session_scope
from core.demo import seed_demo
from core.media import media_path, store_png
from core.models import InboundEvent, OutboxMessage
from tests.api.helpers import telegram_press, telegram_text
from tests.bot.channels.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


def test_media_is_served_by_token_until_it_expires(engine: Engine) -> None:
    now = {"at": T0}
    with session_scope(engine) as session:
        token = store_png(session, PNG, T0, ttl=timedelta(hours=1))
    assert len(token) >= 40  # 32 random bytes, URL-safe
    app = create_app(engine, settings_for(), clock=lambda: now["at"])
    with TestClient(app) as client:
        response = client.get(media_path(token))
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png" and response.content == PNG
        assert client.get(media_path(token[:-1] + "x")).status_code == 404
        assert client.get(f"/media/{token}.jpg").status_code == 404
        now["at"] = T0 + timedelta(hours=1)
        assert client.get(media_path(token)).status_code == 404


def _wait_for(engine: Engine, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if len(session.exec(select(InboundEvent)).all()) >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} updates handled")


def test_without_public_url_telegram_is_polled(engine: Engine, fake_telegram: FakeTelegram,
                                               fake_twilio: FakeTwilio) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
    settings = settings_for(fake_telegram, fake_twilio, public_url=None)
    with TestClient(create_app(engine, settings, clock=lambda: T0)) as client:
        assert fake_telegram.calls("deleteWebhook") and fake_telegram.webhook is None
        fake_telegram.push_update(telegram_text(9001, "/start VOISINS"))
        fake_telegram.push_update(telegram_press(9002, "fr"))
        _wait_for(engine, 2)
        # Confirmed updates are not fetched twice: the next poll asks from past them.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                int(r.fields.get("offset") or 0) == 9003
                for r in fake_telegram.calls("getUpdates")):
            time.sleep(0.02)
        # No webhook in polling mode: posting one is refused.
        assert client.post("/webhooks/telegram", json={}).status_code == 403
    with Session(engine) as session:
        keys = [row.dedupe_key for row in session.exec(select(OutboxMessage)).all()]
    assert keys == ["reply:telegram:update:9001:0", "reply:telegram:update:9002:0"]
    assert fake_telegram.answered_callbacks == ["cbq-9002"]
    offsets = [int(r.fields.get("offset") or 0) for r in fake_telegram.calls("getUpdates")]
    assert max(offsets) == 9003
