"""``serve()`` as a real process on a bad day: Telegram refuses ``getMe`` at start-up, the
process stays up, ``/healthz`` says so and then sees it come back; the access log never
shows a chart's token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo
from core.media import media_path, store_png
from tests.api.test_serve import ROOT, _free_port, _stop
from tests.fakes.telegram_api import FakeTelegram

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 32


def _wait_for(probe: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_serve_starts_without_telegram_reports_it_and_redacts_tokens(
        tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    database_url = f"sqlite:///{tmp_path}/serve.db"
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        seed_demo(session)
        token = store_png(session, PNG, datetime.now(UTC), ttl=timedelta(hours=1))
    engine.dispose()
    fake_telegram.fail_method("getMe", 3, "502")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOISINS_DATABASE_URL": database_url,
           "VOISINS_TELEGRAM_TOKEN": fake_telegram.token,
           "VOISINS_TELEGRAM_API_URL": fake_telegram.api_url,
           "VOISINS_SCHEDULER_TICK_SECONDS": "0.2"}
    for name in ("VOISINS_PUBLIC_URL", "VOISINS_TWILIO_ACCOUNT_SID", "VOISINS_ADMIN_TOKEN"):
        env.pop(name, None)
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", f"from api.serve import serve; serve('127.0.0.1', {port})"],
            cwd=tmp_path, env=env, stdout=stdout, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        first = _wait_for(lambda: httpx.get(f"{base}/healthz", timeout=2).json())
        assert process.poll() is None  # it used to exit with 3 here
        assert first["channels"]["telegram"]["state"] == "down"
        assert first["status"] == "degraded" and first["database"]["ok"] is True
        assert first["channels"]["sms"]["state"] == "off"
        # The real backoff (1 s, 2 s, 4 s) brings it up on the fourth getMe.
        _wait_for(lambda: httpx.get(f"{base}/healthz", timeout=2).json()["channels"]
                  ["telegram"]["state"] == "up")
        health = httpx.get(f"{base}/healthz", timeout=2).json()
        assert health["status"] == "ok"
        assert health["scheduler"]["running"] and health["scheduler"]["tick_age_seconds"] < 5
        assert health["outbox"]["pending"] == 0
        assert len(fake_telegram.calls("getMe")) == 4
        response = httpx.get(f"{base}{media_path(token)}", timeout=5)
        assert response.status_code == 200 and response.content == PNG
    finally:
        _stop(process)
    logs = out.read_text() + err.read_text()
    assert "GET /media/<redacted>.png HTTP/1.1" in logs
    assert token not in logs
    assert fake_telegram.token.split(":")[1] not in logs
    assert logs.count("Telegram unreachable") == 3
    assert "Telegram connected (polling) after 4 attempt(s)" in logs
