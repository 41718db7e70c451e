"""Telegram webhook bodies with the right secret but an odd shape: 200, ignored, logged once.

Telegram resends whatever is not acknowledged, so a 4xx or 500 here would bring the same
odd update back for hours; nothing of it may reach the database either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from api.app import create_app
from core.db import session_scope
from core.demo import seed_demo
from core.models import ChannelIdentity, InboundEvent, OutboxMessage
from tests.api.helpers import fixture, post_telegram, telegram_press, telegram_text
from tests.bot.channels.conftest import TELEGRAM_SECRET, settings_for
from tests.fakes.telegram_api import FakeTelegram

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _without(update: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    *parents, last = path
    target = update
    for key in parents:
        target = target[key]
    del target[last]
    return update


def _with(update: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    *parents, last = path
    target = update
    for key in parents:
        target = target[key]
    target[last] = value
    return update


def _nested(depth: int) -> bytes:
    # Deeper than Python's recursion limit, well within the 1 MiB a webhook may send.
    return b'{"update_id": 7013, "message": ' + b"[" * depth + b"]" * depth + b"}"


ODD_UPDATES: dict[str, Any] = {
    "null": None,
    "a string": "hello",
    "a list": [telegram_text(7001, "hi")],
    "a number": 42,
    "no update_id": _without(telegram_text(7002, "hi"), ("update_id",)),
    "a message without chat": _without(telegram_text(7003, "hi"), ("message", "chat")),
    "a chat without id": _without(telegram_text(7004, "hi"), ("message", "chat", "id")),
    "a callback without from": _without(telegram_press(7005, "en"), ("callback_query", "from")),
    "a callback without id": _without(telegram_press(7006, "en"), ("callback_query", "id")),
    "text 7": _with(telegram_text(7007, "hi"), ("message", "text"), 7),
    "data 7": _with(telegram_press(7008, "en"), ("callback_query", "data"), 7),
    "a message that is a list": _with(telegram_text(7009, "hi"), ("message",), [1, 2]),
    "a language code 7": _with(telegram_text(7010, "hi"), ("message", "from", "language_code"),
                               7),
    "update_id true": _with(telegram_text(7011, "hi"), ("update_id",), True),
    "neither a message nor a callback": {"update_id": 7012, "edited_message": {}},
}
ODD_BODIES = {**{name: json.dumps(update).encode() for name, update in ODD_UPDATES.items()},
              "deeply nested": _nested(100_000)}


@pytest.fixture
def client(engine: Engine, fake_telegram: FakeTelegram) -> Iterator[TestClient]:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
    with TestClient(create_app(engine, settings_for(fake_telegram), clock=lambda: T0)) as test:
        yield test


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _post_raw(client: TestClient, body: bytes) -> Any:
    return client.post("/webhooks/telegram", content=body, headers={
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "Content-Type": "application/json"})


def test_odd_updates_are_acknowledged_ignored_and_logged_once(
        client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    identities = _count(engine, ChannelIdentity)
    for name, body in ODD_BODIES.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            response = _post_raw(client, body)
        assert response.status_code == 200, (name, response.text)
        assert response.json() == {"ok": True}
        ignored = [r for r in caplog.records if "ignored a Telegram update" in r.getMessage()]
        assert len(ignored) == 1, (name, caplog.text)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], name
    for raw in (b"not json", b"{", b"\xff\xfe", b""):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert _post_raw(client, raw).status_code == 200
        assert len(caplog.records) == 1 and "not JSON" in caplog.records[0].getMessage()
    assert _count(engine, InboundEvent) == 0
    assert _count(engine, OutboxMessage) == 0
    assert _count(engine, ChannelIdentity) == identities


def test_an_ordinary_update_still_goes_through(client: TestClient, engine: Engine,
                                               fake_telegram: FakeTelegram) -> None:
    assert post_telegram(client, telegram_text(7100, "/start VOISINS")).status_code == 200
    assert _count(engine, InboundEvent) == 1
    # A button press on a message Telegram no longer shows ("inaccessible": date 0).
    press = telegram_press(7101, "en")
    press["callback_query"]["message"] = {"chat": fixture(
        "telegram/update_callback_query.json")["callback_query"]["message"]["chat"],
        "message_id": 11, "date": 0}
    assert post_telegram(client, press).status_code == 200
    assert _count(engine, InboundEvent) == 2


def test_odd_updates_need_the_secret_like_any_other(client: TestClient) -> None:
    assert post_telegram(client, None, secret="wrong").status_code == 403  # type: ignore[arg-type]
