"""``serve()`` as a real process: uvicorn, Telegram long polling and the dispatcher together."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from bot.i18n import translator
from core.db import make_engine, migrate, session_scope
from core.demo import DEMO_NAME, seed_demo
from tests.api.helpers import sms_form, telegram_text
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 404
    except httpx.TransportError:
        return False


def test_serve_answers_telegram_and_sms_end_to_end(tmp_path: Path,
                                                  fake_telegram: FakeTelegram,
                                                  fake_twilio: FakeTwilio) -> None:
    database_url = f"sqlite:///{tmp_path}/serve.db"
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        seed_demo(session)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOISINS_DATABASE_URL": database_url,
           "VOISINS_TELEGRAM_TOKEN": fake_telegram.token,
           "VOISINS_TELEGRAM_API_URL": fake_telegram.api_url,
           "VOISINS_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "VOISINS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "VOISINS_TWILIO_SMS_FROM": "+3225550100",
           "VOISINS_TWILIO_API_URL": fake_twilio.api_url}
    env.pop("VOISINS_PUBLIC_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", f"from api.serve import serve; serve('127.0.0.1', {port})"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        # Start-up imports pandas, numba and FastAPI: slow on a busy 2-core machine.
        _wait(lambda: _up(f"{base}/media/none.png"), timeout=90)
        fake_telegram.push_update(telegram_text(5001, "/start VOISINS", chat_id=4242))
        _wait(lambda: bool(fake_telegram.texts_to(4242)))

        form = sms_form("JOIN VOISINS", "SM" + "5" * 32)
        # Without a public URL the signature covers the URL the server itself sees.
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            f"{base}/webhooks/twilio", form)
        response = httpx.post(f"{base}/webhooks/twilio", data=form,
                              headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        _wait(lambda: bool(fake_twilio.bodies_to("+32470123456")))
    finally:
        _stop(process)
    welcome = "Welcome to {community}!"
    assert translator("fr").gettext(welcome, community=DEMO_NAME) in \
        fake_twilio.bodies_to("+32470123456")[0]
    assert translator("nl").gettext(welcome, community=DEMO_NAME) in \
        fake_telegram.texts_to(4242)[0]
