"""My gestures in chat, in every language, in the terminal and by SMS: see, choose (by
category, at most three), drop, when to be asked; the check-in's answers; the offer at the
end of the post-alert questionnaire, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.channels.rendering import render_sms
from bot.channels.sms_segments import count_segments
from bot.flows import questionnaire
from bot.flows.base import FlowState
from bot.flows.gestures import CheckInMessages
from bot.i18n import translator
from core.alerts import AlertKind, plan_alert
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.gesture_chat import (
    AnswerCheckIn,
    AnswerGestureOffer,
    ChooseGesture,
    DropGesture,
    OfferGesture,
    SetCheckInCadence,
    SwapGesture,
)
from core.gesture_content import category_title
from core.gestures import (
    CheckIn,
    Commitment,
    GestureOffer,
    choose_gesture,
    latest_gesture,
    mark_check_in_asked,
    schedule_check_in,
)
from core.models import Community, Contact
from core.questionnaires.content import load_content
from core.questionnaires.definition import AnswerValue
from core.questionnaires.responses import start_response
from core.questionnaires.storage import Response, SqlQuestionnaires, latest_questionnaire
from tests.bot.flows.conversation import CONTACT_ID, Conversation, member
from tests.fakes.directory import DEMO, SHIPPED_GESTURES, MemoryDirectory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WORD = {"fr": "mes gestes", "nl": "mijn gewoontes", "en": "my gestures", "ar": "خطواتي",
        "es": "Mis gestos"}
# The terminal (`voisins chat`) and SMS.
CHANNELS = ["console", "sms"]
FIRST_CATEGORY = "heating_comfort"
HEATING = [g for g in SHIPPED_GESTURES if g.category == FIRST_CATEGORY]


def _fits_sms(chat: Conversation, gesture_list: bool = False) -> None:
    """Every SMS within two segments; a message is one SMS, except a list (of gestures, or
    the seven kinds), which may go as two SMS (four in Arabic, 67 characters a segment)."""
    for reply in chat.last:
        parts = render_sms(reply.to_payload())
        assert all(count_segments(part).segments <= 2 for part in parts), parts
        if chat.channel == "sms":
            most = (4 if reply.locale == "ar" else 2) if gesture_list else 1
            assert len(parts) <= most, parts


def _commitments(chat: Conversation) -> list[Commitment]:
    with Session(chat.engine) as session:
        return list(session.exec(select(Commitment).where(
            Commitment.contact_id == CONTACT_ID).order_by(col(Commitment.id))))


def _check_ins(chat: Conversation) -> list[CheckIn]:
    with Session(chat.engine) as session:
        return list(session.exec(select(CheckIn).order_by(col(CheckIn.id))))


# -- see, choose, when, drop ---------------------------------------------------------------

@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_choose_see_and_drop_a_gesture(locale: str, channel: str) -> None:
    chat = member(locale, channel=channel)
    t = translator(locale)
    chat.says(WORD[locale])
    assert chat.state.flow == "gestures"
    assert chat.choice_keys == ["g:choose"]
    _fits_sms(chat)

    chat.says("1")  # Choose a gesture
    assert chat.choice_keys[0] == f"g:cat:{FIRST_CATEGORY}" and len(chat.choice_keys) == 7
    assert chat.last[0].choices[0].label == category_title(FIRST_CATEGORY, locale)
    _fits_sms(chat, gesture_list=True)

    chat.says("1")  # Heating and comfort
    assert chat.choice_keys == [*(f"g:pick:{g.slug}" for g in HEATING), "g:back"]
    _fits_sms(chat, gesture_list=True)

    chat.says("2")
    chosen = HEATING[1]
    assert chat.effects == [ChooseGesture(chosen.slug, context="menu")]
    assert chosen.text[locale] in chat.text
    assert chat.choice_keys == ["g:every:after_alert", "g:every:biweekly"]
    _fits_sms(chat)

    chat.says("2")  # Every 2 weeks
    assert chat.effects[-1] == SetCheckInCadence("biweekly", chosen.slug)
    assert t.gettext("Done: I will ask you how it goes every 2 weeks.") in chat.text
    (commitment,) = _commitments(chat)
    assert commitment.gesture_slug == chosen.slug and commitment.cadence == "biweekly"
    (check_in,) = _check_ins(chat)
    assert check_in.status == "scheduled" and check_in.alert_id is None

    chat.says(WORD[locale])  # see my gestures
    assert t.gettext("Your gestures:") in chat.text and chosen.text[locale] in chat.text
    assert chat.choice_keys == ["g:choose", "g:drop", "g:when"]
    _fits_sms(chat)

    chat.says("2")  # Drop one
    assert chat.choice_keys == [f"g:drop:{chosen.slug}"]
    chat.says("1")
    assert chat.effects[-1] == DropGesture(chosen.slug)
    assert t.gettext("Done: this gesture is off your list. Thank you for trying it!") \
        in chat.text
    assert chat.state.flow == "menu"
    assert _commitments(chat)[0].dropped_at is not None
    assert _check_ins(chat)[0].status == "cancelled"
    chat.says(WORD[locale])
    assert chat.choice_keys == ["g:choose"]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_my_gestures_is_in_the_menu(locale: str) -> None:
    chat = member(locale)
    chat.says("menu")
    assert chat.choice_keys[1] == "gestures"
    chat.says("2")
    assert chat.state.flow == "gestures"
    assert translator(locale).gettext("My gestures") != "My gestures" or locale == "en"


def test_three_at_most_and_another_after_dropping_one() -> None:
    chat = member("fr", channel="console")
    for _ in range(3):
        chat.says("mes gestes")
        chat.says("1")  # choose
        chat.says("1")  # heating and comfort
        chat.says("1")  # the first one not chosen yet
        chat.says("1")  # when to ask: after the next alert
    assert [c.gesture_slug for c in _commitments(chat)] == [g.slug for g in HEATING[:3]]
    chat.says("mes gestes")
    # No "Choose a gesture" any more: drop one first.
    assert chat.choice_keys == ["g:drop", "g:when"]
    chat.says("2")  # When to ask me
    chat.says("2")  # every 2 weeks, for all three
    assert chat.effects[-1] == SetCheckInCadence("biweekly", None)
    assert {c.cadence for c in _commitments(chat)} == {"biweekly"}
    assert len(_check_ins(chat)) == 3
    chat.says("mes gestes")
    chat.says("1")  # drop one
    chat.says("3")
    chat.says("mes gestes")
    assert chat.choice_keys == ["g:choose", "g:drop", "g:when"]


def test_on_telegram_the_list_is_written_out_with_numbered_buttons() -> None:
    chat = member("nl", channel="telegram")
    chat.says("mijn gewoontes")
    chat.says("", choice_key="g:choose")
    chat.says("", choice_key=f"g:cat:{FIRST_CATEGORY}")
    (message,) = chat.last
    assert [c.label for c in message.choices][:len(HEATING)] == \
        [str(n) for n in range(1, len(HEATING) + 1)]
    for n, gesture in enumerate(HEATING, start=1):
        assert f"{n}. {gesture.text['nl']}" in message.text
    chat.says("", choice_key=f"g:pick:{HEATING[3].slug}")
    assert chat.effects == [ChooseGesture(HEATING[3].slug)]


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_arbitrary_text_at_each_step_asks_again(locale: str) -> None:
    chat = member(locale)
    sorry = translator(locale).gettext("Sorry, I didn't understand that.")
    chat.says(WORD[locale])
    for answer in ("1", "1", "1"):
        chat.says("banane ?")
        assert chat.text.startswith(sorry) and chat.state.flow == "gestures"
        chat.says(answer)
    chat.says("42")
    assert chat.text.startswith(sorry) and chat.state.step == "cadence"
    assert chat.effects == [ChooseGesture(HEATING[0].slug)]


# -- check-ins -----------------------------------------------------------------------------

def _asked_check_in(chat: Conversation, slug: str, cadence: str = "after_alert") -> int:
    """A commitment to ``slug`` and its check-in, asked as the scheduler asks it."""
    with session_scope(chat.engine) as session:
        chosen = choose_gesture(session, CONTACT_ID, slug, NOW, cadence=cadence)
        assert chosen.commitment is not None and chosen.commitment.id is not None
        check_in = schedule_check_in(session, chosen.commitment.id, NOW)
        assert check_in is not None and check_in.id is not None
        mark_check_in_asked(session, check_in.id, NOW)
        gesture = latest_gesture(session, slug)
        assert gesture is not None
        community = session.get(Community, DEMO.id)
        contact = session.get(Contact, CONTACT_ID)
        assert community is not None and contact is not None
        message = CheckInMessages().render(check_in.id, slug, gesture.text, community, contact)
        check_in_id = check_in.id
    assert message.opens is not None
    chat.state = FlowState(message.opens.flow, message.opens.step, dict(message.opens.data))
    return check_in_id


def _answer(chat: Conversation, check_in_id: int) -> str | None:
    with Session(chat.engine) as session:
        row = session.get(CheckIn, check_in_id)
        assert row is not None
        return row.answer


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_check_in_answers_are_recorded_kindly(locale: str, channel: str) -> None:
    t = translator(locale)
    chat = member(locale, channel=channel)
    for number, answer, reply, slug in (
            ("1", "yes", "Thank you for telling me! Every bit helps.", "close_doors"),
            ("2", "sometimes", "Thank you! Every time counts.", "warm_layer"),
            ("4", "stop", "Done: this gesture is off your list. Thank you for trying it!",
             "curtains_at_night")):
        check_in_id = _asked_check_in(chat, slug)
        chat.says(number)
        assert chat.effects[-1] == AnswerCheckIn(check_in_id, answer)
        assert _answer(chat, check_in_id) == answer
        assert chat.text.startswith(t.gettext(reply)) and chat.state.flow == "menu"
        _fits_sms(chat)
    # Only "Stop this one" dropped its gesture.
    assert [c.dropped_at is not None for c in _commitments(chat)] == [False, False, True]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_not_this_time_is_met_warmly_with_an_easier_gesture(locale: str, channel: str) -> None:
    t = translator(locale)
    harder = max(HEATING, key=lambda g: g.effort)
    easier = min((g for g in HEATING if g.effort < harder.effort), key=lambda g: g.effort)
    chat = member(locale, channel=channel)
    check_in_id = _asked_check_in(chat, harder.slug, cadence="biweekly")
    chat.says("3")
    assert chat.effects == [AnswerCheckIn(check_in_id, "not_this_time")]
    assert chat.last[0].text == t.gettext(
        "That's all right: some weeks are harder than others. Thank you for telling me.")
    assert easier.text[locale] in chat.last[1].text
    assert chat.choice_keys == ["yes", "no"]
    _fits_sms(chat)
    chat.says("1")
    assert chat.effects[-1] == SwapGesture(dropped=harder.slug, chosen=easier.slug)
    old, new = _commitments(chat)
    assert old.dropped_at is not None and new.dropped_at is None
    assert new.gesture_slug == easier.slug and new.cadence == "biweekly"


def test_no_easier_one_means_only_the_warm_answer() -> None:
    chat = member("es")
    easiest = min(HEATING, key=lambda g: g.effort)
    check_in_id = _asked_check_in(chat, easiest.slug)
    chat.says("esta vez no")
    assert chat.effects == [AnswerCheckIn(check_in_id, "not_this_time")]
    assert chat.state.flow == "menu" and len(chat.last) == 1


def test_a_check_in_button_answers_whatever_else_is_pending() -> None:
    chat = member("en", channel="telegram")
    check_in_id = _asked_check_in(chat, "close_doors")
    chat.says("language")  # something else, then a tap under the check-in
    chat.says("", choice_key=f"ci:{check_in_id}:sometimes")
    assert chat.effects[-1] == AnswerCheckIn(check_in_id, "sometimes")
    assert _answer(chat, check_in_id) == "sometimes"
    assert "resume" in chat.choice_keys  # the language question waits, paused


def test_a_check_in_answer_for_someone_else_changes_nothing() -> None:
    chat = member("fr", channel="telegram")
    chat.says("", choice_key="ci:999:yes")
    assert chat.effects == [AnswerCheckIn(999, "yes")] and chat.state.flow == "menu"


# -- the offer after the post-alert questionnaire ------------------------------------------

def _at_the_last_question(chat: Conversation, starts_at: datetime) -> int:
    """The post-alert questionnaire of a new alert, waiting for its last answer."""
    with session_scope(chat.engine) as session:
        load_content(session, NOW)
        row = latest_questionnaire(session, "post_alert")
        community = session.get(Community, DEMO.id)
        assert row is not None and row.id is not None and community is not None
        alert = plan_alert(session, community, starts_at=starts_at, duration_minutes=60,
                           kind=AlertKind.SURPRISE, now=NOW)
        response = start_response(session, row.id, CONTACT_ID, f"alert:{alert.id}",
                                  chat.who.locale, NOW)
        lookup = SqlQuestionnaires(session)
        definition = lookup.questionnaire(row.id)
        assert definition is not None and response.id is not None and alert.id is not None
        answers: dict[str, AnswerValue] = {"at_home": True, "lowered": "no", "difficulty": 2,
                   "longer_possible": "no"}
        started = questionnaire.start(chat.who, row.id, response.id, lookup,
                                      NOW + timedelta(days=30), answers=answers)
        questionnaire_id, alert_id = row.id, alert.id
    chat.directory = replace(chat.directory, questionnaires={questionnaire_id: definition})
    chat.state = started.state
    return alert_id


def _offers(chat: Conversation) -> list[GestureOffer]:
    with Session(chat.engine) as session:
        return list(session.exec(select(GestureOffer).order_by(col(GestureOffer.id))))


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_offer_after_the_questionnaire_accepted(locale: str, channel: str) -> None:
    t = translator(locale)
    chat = member(locale, channel=channel)
    alert_id = _at_the_last_question(chat, NOW + timedelta(days=1))
    chat.says("skip")  # the optional comment: the questionnaire is done
    assert chat.text.endswith(t.gettext("Would you like to choose a gesture for next time?"))
    assert chat.choice_keys == ["yes", "no"]
    assert chat.effects[-1] == OfferGesture(alert_id)
    assert chat.last[0].kind == "gesture_offer"
    _fits_sms(chat)
    chat.says("1")
    assert chat.effects[-1] == AnswerGestureOffer(alert_id, accepted=True)
    assert chat.choice_keys[0] == f"g:cat:{FIRST_CATEGORY}"
    chat.says("7")  # During an alert
    chat.says("1")
    assert chat.effects[-1].__class__ is ChooseGesture
    assert chat.effects[-1] == ChooseGesture(chat.effects[-1].slug, context="offer")
    (offer,) = _offers(chat)
    assert offer.answer == "accepted" and offer.alert_id == alert_id
    (commitment,) = _commitments(chat)
    assert commitment.context == "offer"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_offer_is_made_once_and_never_after_two_noes(locale: str) -> None:
    t = translator(locale)
    chat = member(locale, channel="sms")
    question = t.gettext("Would you like to choose a gesture for next time?")
    first = _at_the_last_question(chat, NOW + timedelta(days=1))
    chat.says("skip")
    assert question in chat.text
    chat.says("2")  # No, thanks
    assert chat.effects[-1] == AnswerGestureOffer(first, accepted=False)
    assert chat.state.flow == "menu"
    second = _at_the_last_question(chat, NOW + timedelta(days=2))
    chat.says("skip")
    assert question in chat.text
    chat.says("non" if locale == "fr" else "no")
    assert [o.answer for o in _offers(chat)] == ["declined", "declined"]
    assert chat.effects[-1] == AnswerGestureOffer(second, accepted=False)
    # Said no twice: the next questionnaire ends with thanks only.
    _at_the_last_question(chat, NOW + timedelta(days=3))
    chat.says("skip")
    assert question not in chat.text and chat.state.flow == "menu"
    assert len(_offers(chat)) == 2


def test_no_offer_to_someone_with_a_gesture() -> None:
    chat = member("ar")
    with session_scope(chat.engine) as session:
        choose_gesture(session, CONTACT_ID, "close_doors", NOW)
    _at_the_last_question(chat, NOW + timedelta(days=1))
    chat.says("تخطي")
    assert chat.state.flow == "menu" and not _offers(chat)


def test_never_twice_for_one_alert() -> None:
    chat = member("en", channel="console")
    alert_id = _at_the_last_question(chat, NOW + timedelta(days=1))
    chat.says("skip")
    chat.says("menu")  # not answered: still, it was offered for this alert
    with Session(chat.engine) as session:
        (response,) = session.exec(select(Response)).all()
        assert response.id is not None and response.status == "completed"
        directory = MemoryDirectory(database=session)
        assert directory.gesture_offer_alert(CONTACT_ID, response.id) is None
    assert [o.alert_id for o in _offers(chat)] == [alert_id]
