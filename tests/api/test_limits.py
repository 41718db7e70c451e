"""Bounded request bodies: 413 past the limit, decided before the body is read when its
length is declared, and after at most the limit when it is not (chunked); an unsigned Twilio
body is refused before a byte of it is read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.limits import MAX_BODY_BYTES, SPOOL_IN_MEMORY
from core.db import session_scope
from core.demo import seed_demo
from tests.api.helpers import sms_form, twilio_signature
from tests.bot.channels.conftest import TELEGRAM_SECRET, settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
CHUNK = 64 * 1024
IMPORT_LIMIT = 3 * 1024 * 1024


class Exchange:
    """One request straight into the ASGI app, the body fed in chunks and counted."""

    def __init__(self, app: FastAPI, method: str, path: str, headers: dict[str, str],
                 chunks: Iterator[bytes]) -> None:
        self.app = app
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "https", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
            "server": ("voisins.example.org", 443),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
        self.chunks = chunks
        self.pulled = 0
        self.status = 0
        self.body = b""

    async def _receive(self) -> dict[str, Any]:
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def run(self) -> Exchange:
        asyncio.run(self.app(self.scope, self._receive, self._send))  # type: ignore[arg-type]
        return self

    @property
    def detail(self) -> Any:
        return json.loads(self.body)["detail"]


def _chunks(total: int, chunk: bytes = b"a" * CHUNK) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


@pytest.fixture
def app(engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> FastAPI:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: NOW)
    return create_app(engine, settings_for(fake_telegram, fake_twilio, admin_token="s3cret",
                                           max_import_bytes=IMPORT_LIMIT), clock=lambda: NOW)


@pytest.mark.parametrize("path", ["/webhooks/twilio", "/webhooks/twilio/status",
                                  "/webhooks/telegram", "/api/v1/communities/demo/households"])
def test_a_declared_length_over_the_limit_is_refused_unread(app: FastAPI, path: str) -> None:
    size = 100 * 1024 * 1024
    exchange = Exchange(app, "POST", path, {"content-length": str(size),
                                            "x-twilio-signature": "x"}, _chunks(size)).run()
    assert exchange.status == 413 and exchange.pulled == 0
    assert "larger than 1048576 bytes" in exchange.detail


def test_a_chunked_twilio_body_is_cut_off_at_the_limit(app: FastAPI) -> None:
    # Signed as far as the header goes, so the body is read; it stops at 1 MiB.
    exchange = Exchange(app, "POST", "/webhooks/twilio", {
        "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x"},
        _chunks(100 * 1024 * 1024)).run()
    assert exchange.status == 413
    assert exchange.pulled <= MAX_BODY_BYTES + CHUNK


def test_an_unsigned_twilio_body_is_refused_before_it_is_read(app: FastAPI) -> None:
    exchange = Exchange(app, "POST", "/webhooks/twilio", {
        "content-type": "application/x-www-form-urlencoded"}, _chunks(100 * 1024 * 1024)).run()
    assert exchange.status == 403 and exchange.pulled == 0


def test_a_telegram_body_without_the_secret_is_not_read(app: FastAPI) -> None:
    exchange = Exchange(app, "POST", "/webhooks/telegram", {
        "content-type": "application/json", "x-telegram-bot-api-secret-token": "wrong"},
        _chunks(10 * 1024 * 1024)).run()
    assert exchange.status == 403 and exchange.pulled == 0


def test_a_chunked_telegram_body_is_cut_off_at_the_limit(app: FastAPI) -> None:
    with TestClient(app):  # Telegram connected (lifespan), so the body is read
        exchange = Exchange(app, "POST", "/webhooks/telegram", {
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": TELEGRAM_SECRET},
            _chunks(10 * 1024 * 1024)).run()
    assert exchange.status == 413 and exchange.pulled <= MAX_BODY_BYTES + CHUNK


def test_a_chunked_admin_json_body_is_cut_off_at_the_limit(app: FastAPI) -> None:
    exchange = Exchange(app, "POST", "/api/v1/communities/demo/households", {
        "content-type": "application/json", **{k.lower(): v for k, v in AUTH.items()}},
        _chunks(10 * 1024 * 1024, b" " * CHUNK)).run()
    assert exchange.status == 413 and exchange.pulled <= MAX_BODY_BYTES + CHUNK


def test_a_signed_sms_under_the_limit_still_goes_through(app: FastAPI) -> None:
    form = sms_form("JOIN DEMO", "SM" + "8" * 32)
    with TestClient(app) as client:
        response = client.post("/webhooks/twilio", data=form, headers={
            "X-Twilio-Signature": twilio_signature("/webhooks/twilio", form)})
    assert response.status_code == 200


def _readings(size: int) -> bytes:
    """A canonical CSV of at least ``size`` bytes: 8-second readings of sensor s1."""
    row_size = len("s1,1795000000,100\n")
    lines = ["sensor,timestamp,watts"] + [f"s1,{1795000000 + n * 8},{100 + n % 50}"
                                          for n in range(size // row_size + 1)]
    return ("\n".join(lines) + "\n").encode()


def test_an_import_over_its_limit_is_a_413(app: FastAPI) -> None:
    body = _readings(IMPORT_LIMIT + 1024)
    with TestClient(app) as client:
        response = client.post("/api/v1/communities/demo/readings", content=body,
                               headers={**AUTH, "Content-Type": "text/csv"})
    assert response.status_code == 413
    assert "VOISINS_MAX_IMPORT_BYTES" in response.json()["detail"]
    chunked = Exchange(app, "POST", "/api/v1/communities/demo/readings", {
        "content-type": "text/csv", **{k.lower(): v for k, v in AUTH.items()}},
        iter([body[i:i + CHUNK] for i in range(0, len(body), CHUNK)])).run()
    assert chunked.status == 413 and chunked.pulled <= IMPORT_LIMIT + CHUNK


def test_an_import_larger_than_memory_spool_is_imported_whole(app: FastAPI) -> None:
    # Past SPOOL_IN_MEMORY the body goes to a temporary file; the importer reads that file.
    body = _readings(2 * SPOOL_IN_MEMORY)
    rows = body.count(b"\n") - 1
    with TestClient(app) as client:
        meter = client.post("/api/v1/communities/demo/meters", headers=AUTH, json={
            "sensor": "s1", "household": "H01", "role": "consumption"})
        assert meter.status_code == 201
        response = client.post("/api/v1/communities/demo/readings", content=body,
                               headers={**AUTH, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["accepted"] + report["rejected"] == rows and report["accepted"] > 0
