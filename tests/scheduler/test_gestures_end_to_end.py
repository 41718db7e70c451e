"""Gestures through a whole alert, with a travelling clock, to the provider fakes and back
through the webhooks: the 30-minute notice names a committed resident's gesture; after the
end, the questionnaire; the resident without a gesture answers it and is offered one, once;
the committed one is asked how it went two hours after the end and answers Yes; the
collective result counts the households with a gesture once there are k of them.

Everything runs in-process as ``voisins serve`` wires it (``api/serve.py``): the timeline
steps, the results and check-in jobs, the dispatcher; the residents answer through the
Telegram webhook of the real app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from bot.channels.senders import build_senders
from bot.channels.sms_segments import sms_parts
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.flows.gestures import CheckInMessages
from bot.flows.results import AlertResultMessages, gesture_tally_lines
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from core.alerts import AlertKind, AlertStage, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.gesture_chat import ChooseGesture, SetCheckInCadence, apply_gesture_effect
from core.gestures import (
    CheckIn,
    Commitment,
    GestureOffer,
    commitment_tally,
    latest_gesture,
    load_gestures,
)
from scheduler.check_ins import AFTER_ALERT_DELAY, send_due_check_ins
from scheduler.results import send_due_results
from scheduler.timeline import run_due_steps
from tests.api.helpers import post_telegram, telegram_press, telegram_text
from tests.bot.channels.conftest import settings_for
from tests.fakes.community import Resident, seed_residents
from tests.fakes.energy import meter_every_household, seed_energy
from tests.fakes.telegram_api import FakeTelegram, SentMessage
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # Thursday 11:00-14:00: no quiet hours
END = START + timedelta(hours=3)
REBOUND_END = END + timedelta(hours=3)
DATA_FROM = datetime(2026, 10, 5, 22, 0, tzinfo=UTC)
GESTURE = "dishwasher_after_alert"
STAGES = (AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN, AlertStage.START, AlertStage.END)
TEMPLATES = {f"alert_{stage.value}": {"ar": f"HX{stage.value}ar"} for stage in STAGES}


class Clock:
    """The one clock of the app, the scheduler's jobs and the dispatcher."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(sqlite_engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio,
           clock: Clock) -> Iterator[TestClient]:
    settings = settings_for(fake_telegram, fake_twilio, whatsapp_templates=json.dumps(TEMPLATES))
    with TestClient(create_app(sqlite_engine, settings, clock=clock)) as test_client:
        yield test_client


def _commit(engine: Engine, contact_id: int, cadence: str) -> None:
    with session_scope(engine) as session:
        apply_gesture_effect(session, contact_id, ChooseGesture(GESTURE), NOW)
        apply_gesture_effect(session, contact_id, SetCheckInCadence(cadence, GESTURE), NOW)


def _last(fake: FakeTelegram, chat: str) -> SentMessage:
    return [m for m in fake.sent if str(m.chat_id) == chat][-1]


def _key(message: SentMessage, contains: str) -> str:
    """The callback data of the button under ``message`` whose key contains ``contains``."""
    assert message.reply_markup is not None
    keys = [button["callback_data"] for row in message.reply_markup["inline_keyboard"]
            for button in row]
    return next(key for key in keys if contains in key)


def test_a_gesture_from_the_notice_to_the_check_in_and_the_tally(
        sqlite_engine: Engine, client: TestClient, fake_telegram: FakeTelegram,
        fake_twilio: FakeTwilio, clock: Clock) -> None:
    engine = sqlite_engine
    residents = seed_residents(engine, NOW)  # six households, k = 5
    committed, newcomer = residents[4], residents[1]  # Telegram, fr and nl
    assert (committed.channel, committed.locale) == ("telegram", "fr")
    assert (newcomer.channel, newcomer.locale) == ("telegram", "nl")
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        community_id = community.id
        alert = plan_alert(session, community, starts_at=START, duration_minutes=180,
                           kind=AlertKind.PLANNED, now=NOW)
        alert_id = alert.id
        gesture = latest_gesture(session, GESTURE)
        assert gesture is not None and gesture.alert_text is not None
    assert alert_id is not None
    households = meter_every_household(engine, community_id)
    seed_energy(engine, households, DATA_FROM, REBOUND_END, alert=(START, END, 0.7))
    # The committed resident asks after the next alert; three neighbours chose the same
    # gesture earlier, asked every two weeks (not within this test's days).
    _commit(engine, committed.contact_id, "after_alert")
    for neighbour in (residents[0], residents[2], residents[3]):
        _commit(engine, neighbour.contact_id, "biweekly")
    # Four households with a gesture: fewer than k, no tally yet.
    with Session(engine) as session:
        assert commitment_tally(session, community_id, NOW) is None
    settings = settings_for(fake_telegram, fake_twilio, whatsapp_templates=json.dumps(TEMPLATES))
    results = AlertResultMessages(sms_fits=lambda text: len(sms_parts(text)) == 1)
    check_ins = CheckInMessages()

    def walk_to(moment: datetime) -> None:
        """One scheduler tick at ``moment`` as ``voisins serve`` runs it, then the sends."""
        clock.at = moment
        with time_machine.travel(moment, tick=False):
            for _ in range(2):  # a second pass at the same moment must send nothing more
                run_due_steps(engine, AlertMessages(), clock=clock,
                              respondents=post_alert_respondents)
                send_due_results(engine, results, clock=clock)
                send_due_check_ins(engine, check_ins, clock=clock)
                dispatch_due(engine, build_senders(engine, settings, clock=clock), clock=clock,
                             limit=500)

    updates = iter(range(5000, 6000))

    def says(resident: Resident, text: str) -> None:
        update = telegram_text(next(updates), text, chat_id=int(resident.address),
                               language_code=resident.locale)
        assert post_telegram(client, update).status_code == 200
        walk_to(clock.at + timedelta(seconds=10))

    def presses(resident: Resident, key: str) -> None:
        update = telegram_press(next(updates), key, chat_id=int(resident.address))
        assert post_telegram(client, update).status_code == 200
        walk_to(clock.at + timedelta(seconds=10))

    # -- the 30-minute notice names the committed resident's gesture, and only theirs ------
    for stage_at in (START - timedelta(hours=24), START - timedelta(minutes=30), START):
        walk_to(stage_at - timedelta(seconds=1))
        walk_to(stage_at)
    notice_fr = fake_telegram.texts_to(committed.address)[1]
    assert notice_fr.endswith(f"Votre geste : {gesture.alert_text['fr']}. Merci !")
    notice_nl = fake_telegram.texts_to(newcomer.address)[1]
    assert gesture.alert_text["nl"] not in notice_nl
    assert "Votre geste" not in fake_telegram.texts_to(committed.address)[0]  # not 24 h ahead

    # -- after the end: the questionnaire, to both -----------------------------------------
    walk_to(END)
    for resident in (committed, newcomer):
        texts = fake_telegram.texts_to(resident.address)
        assert len(texts) == len(STAGES) + 1 and "1/5" in texts[-1]
    assert not [c for c in _check_ins(engine) if c.status != "scheduled"]

    # -- the newcomer answers it through to the end, and is offered a gesture, once --------
    walk_to(END + timedelta(minutes=40))
    offer = translator("nl").gettext("Would you like to choose a gesture for next time?")
    for answer in ("ja", "1", "1 3", "2", "2", "Bedankt!"):
        says(newcomer, answer)
    end_of_questionnaire = _last(fake_telegram, newcomer.address)
    assert (end_of_questionnaire.text or "").endswith(offer)
    presses(newcomer, _key(end_of_questionnaire, "yes"))
    presses(newcomer, _key(_last(fake_telegram, newcomer.address), "laundry"))
    presses(newcomer, _key(_last(fake_telegram, newcomer.address), GESTURE))
    presses(newcomer, _key(_last(fake_telegram, newcomer.address), "after_alert"))
    # The committed resident, who did not answer, is not offered anything.
    assert not [t for t in fake_telegram.texts_to(committed.address)
                if translator("fr").gettext("Would you like to choose a gesture for next "
                                            "time?") in t]

    # -- two hours after the end: the check-in, to the committed resident only -------------
    due = END + AFTER_ALERT_DELAY
    walk_to(due - timedelta(seconds=1))
    asked_before = len(fake_telegram.texts_to(committed.address))
    walk_to(due)
    question = _last(fake_telegram, committed.address)
    assert len(fake_telegram.texts_to(committed.address)) == asked_before + 1
    assert (question.text or "").startswith("Voisins : avez-vous pu faire votre geste")
    assert gesture.text["fr"] in (question.text or "")
    presses(committed, _key(question, ":yes"))
    assert _last(fake_telegram, committed.address).text  # a thank-you (then the menu)

    # -- the collective result, with the tally from k households ---------------------------
    walk_to(REBOUND_END + timedelta(minutes=5))
    with Session(engine) as session:
        tally = commitment_tally(session, community_id, REBOUND_END)
    assert tally is not None and tally.households == 5 and tally.most_chosen == (GESTURE,)
    for resident in (committed, newcomer):
        full, _short = gesture_tally_lines(translator(resident.locale), tally)
        result = fake_telegram.texts_to(resident.address)[-1]
        assert result.startswith("Voisins") and result.endswith("\n" + full)
    assert fake_telegram.texts_to(committed.address)[-1].endswith(
        "\n5 foyers ont choisi un geste ; le plus choisi : les jours d'alerte, lancer le "
        "lave-vaisselle après l'alerte.")

    # -- and what was recorded -------------------------------------------------------------
    (check_in,) = [c for c in _check_ins(engine) if c.alert_id == alert_id]
    assert (check_in.status, check_in.answer) == ("answered", "yes")
    with Session(engine) as session:
        offers = session.exec(select(GestureOffer)).all()
        chosen = session.exec(select(Commitment).where(
            Commitment.contact_id == newcomer.contact_id)).one()
    assert [(o.contact_id, o.alert_id, o.answer) for o in offers] == [
        (newcomer.contact_id, alert_id, "accepted")]
    assert (chosen.gesture_slug, chosen.context, chosen.cadence) == (GESTURE, "offer",
                                                                     "after_alert")
    newcomer_texts = fake_telegram.texts_to(newcomer.address)
    assert sum(offer in text for text in newcomer_texts) == 1
    # No check-in for the newcomer: their gesture came after this alert began.
    check_in_nl = translator("nl").gettext("Voisins: did you manage your gesture lately?\n"
                                           "{gesture}", gesture="")
    assert not [text for text in newcomer_texts if text.startswith(check_in_nl)]


def _check_ins(engine: Engine) -> list[CheckIn]:
    with Session(engine) as session:
        return list(session.exec(select(CheckIn).order_by(col(CheckIn.id))))
