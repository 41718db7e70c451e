"""An alert on the real clock through `serve` and the provider fakes, with a SIGKILL between
the notice and the start: every stage arrives once, in order, at Telegram and by SMS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.flows.alert import AlertMessages
from core.alerts import Alert, AlertKind, AlertStage, plan_alert
from core.clock import utc_now
from core.communities import community_by_slug
from core.db import make_engine, session_scope
from core.models import ChannelIdentity, Community, Contact
from tests.api.test_serve import _free_port, _stop, _up, _wait
from tests.fakes.community import seed_residents
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_FR, TELEGRAM_NL, SMS_FR = "100000005", "100000002", "+32470000001"


def _start(tmp_path: Path, database_url: str, telegram: FakeTelegram, twilio: FakeTwilio,
           port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOISINS_DATABASE_URL": database_url,
           "VOISINS_TELEGRAM_TOKEN": telegram.token, "VOISINS_TELEGRAM_API_URL": telegram.api_url,
           "VOISINS_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "VOISINS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "VOISINS_TWILIO_SMS_FROM": "+3225550100", "VOISINS_TWILIO_API_URL": twilio.api_url,
           "VOISINS_SCHEDULER_TICK_SECONDS": "1"}
    env.pop("VOISINS_PUBLIC_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", f"from api.serve import serve; serve('127.0.0.1', {port})"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: _up(f"http://127.0.0.1:{port}/media/none.png"), timeout=90)
    return process


def _expected(database_url: str, alert_id: int, address: str) -> list[str]:
    """The texts each stage should carry for this reader, rendered as the server does."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        community = session.exec(select(Community)).one()
        contact = next(c for c in session.exec(select(Contact)).all()
                       if any(i.address == address for i in _identities(session, c)))
        assert alert is not None
        texts = [AlertMessages().render(stage, alert, community, contact).payload["text"]
                 for stage in (AlertStage.NOTICE_30MIN, AlertStage.START, AlertStage.END)]
    engine.dispose()
    return texts


def _identities(session: Session, contact: Contact) -> list[ChannelIdentity]:
    return list(session.exec(select(ChannelIdentity).where(
        ChannelIdentity.contact_id == contact.id)).all())


@pytest.mark.timeout(240)
def test_alert_on_the_real_clock_survives_a_kill(tmp_path: Path, fake_telegram: FakeTelegram,
                                                 fake_twilio: FakeTwilio) -> None:
    database_url = f"sqlite:///{tmp_path}/alert.db"
    engine = make_engine(database_url)
    from core.db import migrate

    migrate(engine)
    seed_residents(engine, utc_now(), quiet_hours="00:00-00:00")  # no quiet hours today
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        start = utc_now() + timedelta(seconds=30)
        alert = plan_alert(session, community, starts_at=start, duration_minutes=1,
                           kind=AlertKind.SURPRISE, now=utc_now())
        alert_id = alert.id
    engine.dispose()
    assert alert_id is not None
    port = _free_port()

    process = _start(tmp_path, database_url, fake_telegram, fake_twilio, port)
    try:
        # The 30-minute notice has passed already: it goes at once.
        _wait(lambda: len(fake_telegram.texts_to(int(TELEGRAM_FR))) >= 1, timeout=30)
        os.kill(process.pid, signal.SIGKILL)  # between the notice and the start
        process.wait()
        time.sleep(1)
        process = _start(tmp_path, database_url, fake_telegram, fake_twilio, port)
        # Start at +30 s, end and the first survey question at +90 s.
        _wait(lambda: len(fake_telegram.texts_to(int(TELEGRAM_FR))) >= 4, timeout=150)
        _wait(lambda: len(fake_twilio.bodies_to(SMS_FR)) >= 4, timeout=30)
        time.sleep(3)  # anything sent twice would have arrived by now
    finally:
        _stop(process)

    notice, begin, end = _expected(database_url, alert_id, TELEGRAM_FR)
    received = fake_telegram.texts_to(int(TELEGRAM_FR))
    assert received[:3] == [notice, begin, end]
    assert len(received) == 4 and "1/" in received[3]  # the post-alert questionnaire
    assert len(fake_telegram.texts_to(int(TELEGRAM_NL))) == 4
    sms = fake_twilio.bodies_to(SMS_FR)
    assert len(sms) == 4 and sms[0].startswith(notice) and sms[2].startswith(end)
