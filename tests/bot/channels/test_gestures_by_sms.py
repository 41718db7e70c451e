"""My gestures by SMS through the Twilio fake, in every language: what reaches the phone is
each within two segments, and a check-in asked by the scheduler is answered with a typed
number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels.senders import build_senders
from bot.channels.sms_segments import count_segments
from bot.conversation.inbox import handle_incoming
from bot.flows.gestures import CheckInMessages
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.gestures import CheckIn, Commitment, load_gestures
from core.messages import IncomingMessage
from core.models import Contact
from scheduler.check_ins import send_due_check_ins
from tests.bot.channels.conftest import settings_for
from tests.fakes.community import seed_residents
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
WORD = {"fr": "mes gestes", "nl": "mijn gewoontes", "en": "my gestures", "ar": "خطواتي",
        "es": "mis gestos"}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_choose_a_gesture_and_answer_its_check_in_by_sms(sqlite_engine: Engine,
                                                         fake_twilio: FakeTwilio,
                                                         locale: str) -> None:
    # SQLite only: the same code runs on PostgreSQL in tests/scheduler/test_check_ins.py.
    engine = sqlite_engine
    (resident, *_) = seed_residents(engine, NOW)  # an SMS resident
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        contact = session.get(Contact, resident.contact_id)
        assert contact is not None
        contact.locale = locale
        session.add(contact)
    senders = build_senders(engine, settings_for(twilio=fake_twilio))
    moment = NOW

    def says(text: str) -> None:
        nonlocal moment
        moment += timedelta(seconds=10)
        handle_incoming(engine, IncomingMessage("sms", resident.address, text,
                                                f"sms-{moment.isoformat()}"),
                        clock=lambda: moment)
        dispatch_due(engine, senders, clock=lambda: moment)

    for text in (WORD[locale], "1", "3", "4", "2"):  # choose, cooking, cook ahead, 2 weeks
        says(text)
    bodies = fake_twilio.bodies_to(resident.address)
    assert bodies and all(count_segments(body).segments <= 2 for body in bodies)
    t = translator(locale)
    assert t.gettext("Done: I will ask you how it goes every 2 weeks.") in bodies[-1]
    with Session(engine) as session:
        (commitment,) = session.exec(select(Commitment)).all()
        assert commitment.cadence == "biweekly"

    moment = NOW + timedelta(days=14, hours=1)
    assert len(send_due_check_ins(engine, CheckInMessages(), clock=lambda: moment).asked) == 1
    dispatch_due(engine, senders, clock=lambda: moment)
    question = fake_twilio.bodies_to(resident.address)[-1]
    assert count_segments(question).segments <= 2
    says("3")  # Not this time
    assert translator(locale).gettext("Yes") in fake_twilio.bodies_to(resident.address)[-1]
    says("2")  # an easier one instead? No, thanks
    with Session(engine) as session:
        answers = [c.answer for c in session.exec(select(CheckIn).order_by(col(CheckIn.id)))]
    assert answers[0] == "not_this_time"
    later = fake_twilio.bodies_to(resident.address)
    assert all(count_segments(body).segments <= 2 for body in later)
