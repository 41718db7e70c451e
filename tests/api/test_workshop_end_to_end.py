"""A workshop through `voisins serve` and the provider fakes: created and sent by the API,
answered by three SMS and two Telegram residents; with a capacity of 2 the third Yes waits,
one Yes changes their mind, the person waiting gets the place and is told; the API's counts
match."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.i18n import translator
from core.clock import utc_now
from core.communities import create_community
from core.contacts import enrol_contact
from core.db import make_engine, migrate, session_scope
from core.identities import touch_identity
from tests.api.helpers import sms_form, telegram_press
from tests.api.test_serve import _free_port, _stop, _up, _wait
from tests.fakes.community import CONSENT
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SMS = ("+32470000101", "+32470000102", "+32470000103")  # all French
TELEGRAM = {"100000201": "nl", "100000202": "en"}


def _seed(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    now = utc_now()
    with session_scope(engine) as session:
        community = create_community(session, "atelier", "L'Atelier", join_code="ATELIER",
                                     quiet_hours="00:00-00:00")
        assert community.id is not None
        for channel, address, locale in [*(("sms", a, "fr") for a in SMS),
                                         *(("telegram", a, lang) for a, lang in TELEGRAM.items())]:
            identity = touch_identity(session, channel, address, now)
            enrol_contact(session, identity, community.id, locale, CONSENT, now,
                          name=f"Resident {address[-3:]}")
    engine.dispose()


@pytest.mark.timeout(240)
def test_invite_answer_wait_and_promote_through_serve(tmp_path: Path,
                                                      fake_telegram: FakeTelegram,
                                                      fake_twilio: FakeTwilio) -> None:
    database_url = f"sqlite:///{tmp_path}/workshop.db"
    _seed(database_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOISINS_DATABASE_URL": database_url,
           "VOISINS_ADMIN_TOKEN": TOKEN,
           "VOISINS_TELEGRAM_TOKEN": fake_telegram.token,
           "VOISINS_TELEGRAM_API_URL": fake_telegram.api_url,
           "VOISINS_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "VOISINS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "VOISINS_TWILIO_SMS_FROM": "+3225550100", "VOISINS_TWILIO_API_URL": fake_twilio.api_url,
           "VOISINS_SCHEDULER_TICK_SECONDS": "1"}
    env.pop("VOISINS_PUBLIC_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", f"from api.serve import serve; serve('127.0.0.1', {port})"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sms_ids = iter(range(1, 100))

    def sms(sender: str, body: str) -> None:
        form = sms_form(body, f"SM{next(sms_ids):032d}", sender=sender)
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            f"{base}/webhooks/twilio", form)
        response = httpx.post(f"{base}/webhooks/twilio", data=form,
                              headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200

    def sms_then_reply(sender: str, body: str) -> str:
        before = len(fake_twilio.bodies_to(sender))
        sms(sender, body)
        _wait(lambda: len(fake_twilio.bodies_to(sender)) > before, timeout=30)
        return fake_twilio.bodies_to(sender)[-1]

    def press(chat: str, update_id: int, data: str) -> str:
        before = len(fake_telegram.texts_to(int(chat)))
        fake_telegram.push_update(telegram_press(update_id, data, chat_id=int(chat)))
        _wait(lambda: len(fake_telegram.texts_to(int(chat))) > before, timeout=30)
        return fake_telegram.texts_to(int(chat))[-1]

    try:
        _wait(lambda: _up(f"{base}/media/none.png"), timeout=90)
        starts = (utc_now() + timedelta(days=3)).replace(microsecond=0)
        created = httpx.post(f"{base}/api/v1/communities/atelier/workshops", headers=AUTH, json={
            "title": {"fr": "Atelier vélo", "nl": "Fietsatelier"}, "place": "Salle des fêtes",
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "capacity": 2})
        assert created.status_code == 201, created.text
        workshop_id = created.json()["id"]
        sent = httpx.post(f"{base}/api/v1/workshops/{workshop_id}/send", headers=AUTH)
        assert sent.status_code == 200 and sent.json()["queued"] == 5
        for address in SMS:
            _wait(lambda a=address: bool(fake_twilio.bodies_to(a)), timeout=30)  # type: ignore[misc]
        for chat in TELEGRAM:
            _wait(lambda c=chat: bool(fake_telegram.texts_to(int(c))), timeout=30)  # type: ignore[misc]
        assert "Fietsatelier" in fake_telegram.texts_to(100000201)[0]
        assert "Atelier vélo" in fake_twilio.bodies_to(SMS[0])[0]

        fr, nl, en = translator("fr"), translator("nl"), translator("en")
        assert sms_then_reply(SMS[0], "1").startswith(fr.gettext("Thank you!"))  # Yes
        assert press("100000201", 9001, f"workshop:{workshop_id}:yes").startswith("Bedankt!")
        # With the Yes, the calendar file (as a document on Telegram).
        assert fake_telegram.documents_to(100000201)[0].startswith(b"BEGIN:VCALENDAR")
        third = sms_then_reply(SMS[1], "1")  # Yes, but it is full
        assert "liste d'attente" in third
        assert sms_then_reply(SMS[2], "3").startswith(
            fr.gettext("Noted, thank you. Maybe next time!"))
        assert press("100000202", 9002, f"workshop:{workshop_id}:maybe").startswith(
            en.gettext("Noted: maybe. We will remind you the day before."))
        assert nl.gettext("On the waiting list") == "Op de wachtlijst"

        # The first Yes changes their mind from the menu: My invitations, then No.
        sms_then_reply(SMS[0], "MENU")
        asked = sms_then_reply(SMS[0], "4")  # after My consumption, My gestures, the exercise
        assert "Atelier vélo" in asked
        sms_then_reply(SMS[0], "3")
        # The person waiting gets the place, and is told.
        _wait(lambda: any("place" in body and "Atelier vélo" in body
                          for body in fake_twilio.bodies_to(SMS[1])[-1:]), timeout=30)
        summary = httpx.get(f"{base}/api/v1/workshops/{workshop_id}", headers=AUTH).json()
    finally:
        _stop(process)
    assert summary["rsvps"] == {"yes": 2, "maybe": 1, "no": 2, "waiting": 0}
    assert summary["recipients"] == 5
    assert {channel: counts["sent"] + counts["delivered"]
            for channel, counts in summary["delivery"].items()} == {"sms": 3, "telegram": 2}
