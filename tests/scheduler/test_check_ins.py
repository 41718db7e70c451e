"""Gestures through the scheduler, with a travelling clock: the 30-minute notice names each
resident's own alert-time gesture; check-ins are asked after the next alert or every two
weeks, outside quiet hours, once, and their answers are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.conversation.inbox import handle_incoming
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.flows.gestures import CheckInMessages
from bot.i18n import translator
from core import conversations
from core.alerts import AlertKind, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.gesture_chat import ChooseGesture, SetCheckInCadence, apply_gesture_effect
from core.gestures import CheckIn, Commitment, drop_commitment, latest_gesture, load_gestures
from core.messages import IncomingMessage
from core.models import ChannelIdentity, Contact, OutboxMessage
from scheduler.check_ins import AFTER_ALERT_DELAY, check_in_key, send_due_check_ins
from scheduler.timeline import run_due_steps
from tests.fakes.community import Resident, seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
START = NOW + timedelta(hours=2)  # 12:00 local
END = START + timedelta(hours=1)


@pytest.fixture
def residents(engine: Engine) -> list[Resident]:
    people = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        load_gestures(session, NOW)
    return people


def _choose(engine: Engine, contact_id: int, slug: str, cadence: str = "after_alert",
            at: datetime = NOW) -> None:
    with session_scope(engine) as session:
        apply_gesture_effect(session, contact_id, ChooseGesture(slug), at)
        apply_gesture_effect(session, contact_id, SetCheckInCadence(cadence, slug), at)


def _plan(engine: Engine, starts_at: datetime = START, drill: bool = False) -> int:
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=starts_at, duration_minutes=60,
                           kind=AlertKind.SURPRISE, now=NOW, drill=drill)
        assert alert.id is not None
        return alert.id


def _tick(engine: Engine, at: datetime) -> None:
    run_due_steps(engine, AlertMessages(), clock=lambda: at, respondents=post_alert_respondents)


def _rows(engine: Engine, prefix: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith(prefix)).order_by(col(OutboxMessage.id))))


def _check_ins(engine: Engine) -> list[CheckIn]:
    with Session(engine) as session:
        return list(session.exec(select(CheckIn).order_by(col(CheckIn.id))))


def _says(engine: Engine, resident: Resident, text: str, at: datetime) -> list[str]:
    rows = handle_incoming(engine, IncomingMessage(resident.channel, resident.address, text,
                                                   f"{resident.address}-{at.isoformat()}"),
                           clock=lambda: at)
    return [str(row.payload["text"]) for row in rows]


# -- remembered at alert time --------------------------------------------------------------

@pytest.mark.parametrize("drill", [False, True], ids=["alert", "drill"])
def test_the_notice_names_each_residents_own_gesture(engine: Engine, residents: list[Resident],
                                                     drill: bool) -> None:
    sms_fr, telegram_nl, whatsapp_ar = residents[0], residents[1], residents[2]
    _choose(engine, sms_fr.contact_id, "dishwasher_after_alert")
    _choose(engine, whatsapp_ar.contact_id, "washer_after_alert")
    _choose(engine, telegram_nl.contact_id, "lid_on_pan")  # every day: nothing to recall
    alert_id = _plan(engine, drill=drill)
    _tick(engine, START - timedelta(minutes=30))
    rows = _rows(engine, f"alert:{alert_id}:notice_30min:")
    texts = {row.contact_id: str(row.payload["text"]) for row in rows}
    with Session(engine) as session:
        dishwasher = latest_gesture(session, "dishwasher_after_alert")
        washer = latest_gesture(session, "washer_after_alert")
        assert dishwasher is not None and washer is not None
        assert dishwasher.alert_text is not None and washer.alert_text is not None
    assert texts[sms_fr.contact_id].endswith(
        f"Votre geste : {dishwasher.alert_text['fr']}. Merci !")
    assert washer.alert_text['ar'] in texts[whatsapp_ar.contact_id]
    for resident in residents:
        if resident.contact_id not in (sms_fr.contact_id, whatsapp_ar.contact_id):
            general = translator(resident.locale).gettext("Your gesture: {gesture}.",
                                                          gesture="")
            assert general not in texts[resident.contact_id]
            assert texts[resident.contact_id].endswith(
                {"fr": "Merci de consommer moins d'électricité !",
                 "nl": "Bedankt om minder stroom te gebruiken!",
                 "ar": "شكرًا على تقليل استهلاك الكهرباء!"}[resident.locale])
    if drill:
        assert all(texts[r.contact_id].startswith(
            translator(r.locale).gettext("Voisins (exercise):")) for r in residents)
    # The group's copy is the same for everyone: no one's gesture in it.
    assert not [r for r in rows if r.contact_id is None
                and dishwasher.alert_text["fr"] in str(r.payload["text"])]


# -- check-ins after the next alert --------------------------------------------------------

def test_a_check_in_follows_the_next_alert_then_its_answer_is_recorded(
        engine: Engine, residents: list[Resident]) -> None:
    sms_fr, sms_ar = residents[0], residents[3]
    _choose(engine, sms_fr.contact_id, "dishwasher_after_alert")
    _choose(engine, sms_ar.contact_id, "close_doors", cadence="biweekly")
    alert_id = _plan(engine)
    # Chosen during the alert: not asked about this one.
    late = residents[4]
    _choose(engine, late.contact_id, "warm_layer", at=START + timedelta(minutes=10))
    for moment in (START - timedelta(minutes=30), START, END):
        _tick(engine, moment)
    waiting = [c for c in _check_ins(engine) if c.alert_id == alert_id]
    assert len(waiting) == 1 and waiting[0].status == "scheduled"
    due = END + AFTER_ALERT_DELAY
    assert waiting[0].due_at is not None and waiting[0].due_at.replace(tzinfo=UTC) == due

    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        assert send_due_check_ins(engine, CheckInMessages()).asked == []
    with time_machine.travel(due, tick=False):
        report = send_due_check_ins(engine, CheckInMessages())
        assert send_due_check_ins(engine, CheckInMessages()).asked == []  # once
    assert report.asked == [waiting[0].id]
    (row,) = _rows(engine, "checkin:")
    assert row.dedupe_key == check_in_key(waiting[0].id or 0)
    assert (row.subject_kind, row.subject_id) == ("checkin", waiting[0].id)
    assert row.contact_id == sms_fr.contact_id and row.kind == "gesture_check_in"
    text = str(row.payload["text"])
    assert text.startswith("Voisins : avez-vous pu faire votre geste")
    assert [c["key"].rsplit(":", 1)[1] for c in row.payload["choices"]] == \
        ["yes", "sometimes", "not_this_time", "stop"]
    # The resident answers "Sometimes" with a typed 2: recorded, no score, a thank you.
    replies = _says(engine, sms_fr, "2", due + timedelta(minutes=5))
    assert replies[0].startswith("Merci ! Chaque fois compte.")
    (answered,) = [c for c in _check_ins(engine) if c.alert_id == alert_id]
    assert answered.answer == "sometimes" and answered.status == "answered"


def test_drills_count_as_the_next_alert_too(engine: Engine, residents: list[Resident]) -> None:
    _choose(engine, residents[1].contact_id, "iron_after_alert")
    alert_id = _plan(engine, drill=True)
    for moment in (START - timedelta(minutes=30), START, END):
        _tick(engine, moment)
    assert [c.alert_id for c in _check_ins(engine)] == [alert_id]


# -- every two weeks -----------------------------------------------------------------------

def test_every_two_weeks_outside_quiet_hours_and_again(engine: Engine,
                                                       residents: list[Resident]) -> None:
    nl = residents[1]
    evening = NOW + timedelta(hours=12)  # 22:00 in Brussels: quiet hours begin
    _choose(engine, nl.contact_id, "warm_layer", cadence="biweekly", at=evening)
    (first,) = _check_ins(engine)
    assert first.due_at is not None
    due = first.due_at.replace(tzinfo=UTC)
    assert due == evening + timedelta(days=14)
    with time_machine.travel(due, tick=False):
        report = send_due_check_ins(engine, CheckInMessages())
    # Quiet hours: it waits for 08:00, Brussels time.
    assert report.postponed == [first.id] and not _rows(engine, "checkin:")
    morning = datetime(2026, 12, 16, 7, 0, tzinfo=UTC)
    (postponed,) = _check_ins(engine)
    assert postponed.due_at is not None and postponed.due_at.replace(tzinfo=UTC) == morning
    with time_machine.travel(morning, tick=False):
        assert send_due_check_ins(engine, CheckInMessages()).asked == [first.id]
    first_row, second = _check_ins(engine)
    assert first_row.status == "asked" and second.status == "scheduled"
    assert second.due_at is not None
    assert second.due_at.replace(tzinfo=UTC) == morning + timedelta(days=14)
    # The question opened the conversation: "4" (stop this one) ends it.
    _says(engine, nl, "4", morning + timedelta(hours=1))
    with Session(engine) as session:
        (commitment,) = session.exec(select(Commitment)).all()
        assert commitment.dropped_at is not None
        statuses = [c.status for c in session.exec(select(CheckIn).order_by(col(CheckIn.id)))]
    assert statuses == ["answered", "cancelled"]


def test_back_to_after_the_alert_cancels_the_fortnightly_one(engine: Engine,
                                                             residents: list[Resident]) -> None:
    contact_id = residents[0].contact_id
    _choose(engine, contact_id, "warm_layer", cadence="biweekly")
    _choose(engine, contact_id, "warm_layer", cadence="after_alert")
    assert [c.status for c in _check_ins(engine)] == ["cancelled"]


def test_nobody_is_asked_twice_at_once_nor_after_stopping(engine: Engine,
                                                          residents: list[Resident]) -> None:
    fr, nl = residents[0], residents[1]
    for slug in ("warm_layer", "close_doors"):
        _choose(engine, fr.contact_id, slug, cadence="biweekly")
    _choose(engine, nl.contact_id, "short_shower", cadence="biweekly")
    with session_scope(engine) as session:
        contact = session.get(Contact, nl.contact_id)
        assert contact is not None
        contact.opted_out_at = NOW
        session.add(contact)
    due = NOW + timedelta(days=14)
    with time_machine.travel(due, tick=False):
        report = send_due_check_ins(engine, CheckInMessages())
    # The second check-in waits until the first is answered: a typed "1" answers one question.
    assert len(report.asked) == 1 and len(report.postponed) == 1 and len(report.cancelled) == 1
    _says(engine, fr, "1", due + timedelta(minutes=5))
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        assert len(send_due_check_ins(engine, CheckInMessages()).asked) == 1
    assert [r.contact_id for r in _rows(engine, "checkin:")] == [fr.contact_id] * 2


def test_a_dropped_gesture_is_not_asked_about(engine: Engine,
                                              residents: list[Resident]) -> None:
    contact_id = residents[0].contact_id
    _choose(engine, contact_id, "warm_layer", cadence="biweekly")
    with session_scope(engine) as session:
        (commitment,) = session.exec(select(Commitment)).all()
        assert commitment.id is not None
        drop_commitment(session, contact_id, commitment.id, NOW + timedelta(days=1))
    with time_machine.travel(NOW + timedelta(days=14), tick=False):
        assert send_due_check_ins(engine, CheckInMessages()).asked == []
    assert not _rows(engine, "checkin:")


def test_a_check_in_waits_while_the_resident_is_joining_something(
        engine: Engine, residents: list[Resident]) -> None:
    fr = residents[0]
    _choose(engine, fr.contact_id, "warm_layer", cadence="biweekly")
    due = NOW + timedelta(days=14)
    with session_scope(engine) as session:
        identity = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.contact_id == fr.contact_id)).one()
        assert identity.id is not None
        conversations.save_state(session, identity.id, "forget_me", "confirm", {}, due,
                                 timedelta(hours=1))
    with time_machine.travel(due, tick=False):
        assert len(send_due_check_ins(engine, CheckInMessages()).postponed) == 1
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        assert len(send_due_check_ins(engine, CheckInMessages()).asked) == 1
