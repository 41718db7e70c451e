""""Which appliances can wait?" (residents) and "Gestures together" (facilitators): the
exercise in every language over SMS, its summary and one suggestion at a time within two SMS
segments, and the group's figures only from privacy_k households."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.channels.rendering import render_sms
from bot.flows.appliance_exercise import (
    MAX_NAMED,
    ExerciseState,
    _question,
    _rating_choices,
    _suggestion,
    _suggestion_choices,
    summary_text,
)
from bot.flows.base import Who
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.gesture_content import Rating, appliance_exercise, load_catalogue, localized
from core.gestures import (
    ApplianceRating,
    Commitment,
    choose_gesture,
    load_gestures,
    record_appliance_rating,
)
from core.messages import OutgoingMessage
from core.models import Contact, Household, Role
from tests.bot.flows.conversation import CONTACT_ID, Conversation, member
from tests.fakes.directory import DEMO, MemoryDirectory

# Before the conversation driver's clock (the real one): commitments are active by then.
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
GESTURE_TEXTS = {g.slug: dict(g.text) for c in load_catalogue() for g in c.gestures}
APPLIANCES = appliance_exercise().appliances
# fridge, washing machine, dishwasher, oven, heater, water heater, TV, computer, dryer, iron:
# 1 indispensable, 2 useful, 3 for comfort, 4 "I don't have one".
ANSWERS = ["1", "2", "4", "3", "1", "1", "3", "2", "3", "4"]


def _plain(text: str) -> str:
    """Without the isolates that keep numbers and names in their direction in Arabic."""
    return text.replace("\u2068", "").replace("\u2069", "")


def _fits(reply: OutgoingMessage) -> bool:
    return len(render_sms(reply.to_payload())) == 1


def _gesture(slug: str, locale: str) -> str:
    return localized(GESTURE_TEXTS[slug], locale).rstrip(".")


def _resident(locale: str, channel: str = "sms") -> Conversation:
    chat = member(locale, channel)
    chat.directory = MemoryDirectory(gestures=GESTURE_TEXTS)
    with session_scope(chat.engine) as session:
        load_gestures(session, NOW)
    return chat


def _open(chat: Conversation) -> None:
    chat.says("menu")
    chat.says(str(chat.choice_keys.index("appliance_exercise") + 1))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_exercise_in_every_language_over_sms(locale: str) -> None:
    chat = _resident(locale)
    t = translator(locale)
    _open(chat)
    assert chat.state.flow == "appliance_exercise"
    assert f"1/{len(APPLIANCES)}" in _plain(chat.text)
    assert localized(APPLIANCES[0].name, locale) in _plain(chat.text)
    assert all(_fits(reply) for reply in chat.last)
    for answer in ANSWERS:
        assert all(_fits(reply) for reply in chat.last), chat.text
        chat.says(answer)
    summary, suggestion, question = chat.last
    who = chat.who
    ratings = {"fridge": Rating.INDISPENSABLE, "washing_machine": Rating.USEFUL,
               "oven": Rating.COMFORTABLE, "electric_heater": Rating.INDISPENSABLE,
               "water_heater": Rating.INDISPENSABLE, "tv": Rating.COMFORTABLE,
               "computer": Rating.USEFUL, "dryer": Rating.COMFORTABLE}
    assert summary.text == summary_text(who, ratings)
    assert _fits(summary) and _fits(suggestion) and _fits(question)
    assert question.text == t.gettext("Would you like to choose it?")
    # The first suggestion matches the first appliance that can wait: the washing machine.
    assert _gesture("washer_after_alert", locale) in _plain(suggestion.text)
    chat.says("2")  # another one
    assert _gesture("cook_ahead", locale) in _plain(chat.text)
    chat.says("1")  # yes
    assert _plain(chat.text).startswith(_plain(t.gettext(
        "Noted: {gesture}. Thank you!", gesture=localized(GESTURE_TEXTS["cook_ahead"],
                                                          locale))))
    assert chat.state.flow == "menu"
    with session_scope(chat.engine) as session:
        stored = {r.appliance: r.rating for r in session.exec(select(ApplianceRating))}
        (commitment,) = session.exec(select(Commitment)).all()
    assert stored == {slug: rating.value for slug, rating in ratings.items()}
    assert (commitment.contact_id, commitment.gesture_slug, commitment.context) == (
        CONTACT_ID, "cook_ahead", "exercise")


def test_the_summary_names_what_can_wait_comfort_first() -> None:
    who = Who(channel="sms", locale="en", contact_id=7, community=DEMO)
    ratings = {"oven": Rating.USEFUL, "dryer": Rating.COMFORTABLE,
               "fridge": Rating.INDISPENSABLE}
    assert summary_text(who, ratings) == "During an alert you could put off: tumble dryer, oven."
    assert "TV" in summary_text(who, {"tv": Rating.USEFUL})  # "TV" keeps its capitals
    everything = {a.slug: Rating.INDISPENSABLE for a in APPLIANCES}
    assert "that is fine" in summary_text(who, everything)
    assert summary_text(who, {}) == "Thank you for taking part!"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_exercise_message_fits_two_sms_segments(locale: str) -> None:
    """Every question, the longest summary, and every gesture the exercise can suggest."""
    who = Who(channel="sms", locale=locale, contact_id=7, community=DEMO)
    for index in range(len(APPLIANCES)):
        question = OutgoingMessage(_question(who, index), locale, _rating_choices(who))
        assert _fits(question), question.text
    worst = {a.slug: Rating.COMFORTABLE for a in APPLIANCES}
    longest = sorted(APPLIANCES, key=lambda a: -len(localized(a.name, locale)))
    for rating in (Rating.COMFORTABLE, Rating.USEFUL):
        ratings = {a.slug: rating for a in longest[:MAX_NAMED]}
        assert _fits(OutgoingMessage(summary_text(who, ratings), locale))
    assert _fits(OutgoingMessage(summary_text(who, worst), locale))
    suggestable = {slug for a in APPLIANCES for slug in a.suggest}
    for slug in suggestable:
        state = ExerciseState(step="suggest", suggestions=[(slug, GESTURE_TEXTS[slug]),
                                                           ("x", {"en": "x"})])
        assert _fits(OutgoingMessage(_suggestion(who, state), locale)), slug
        question = OutgoingMessage(translator(locale).gettext("Would you like to choose it?"),
                                   locale, _suggestion_choices(who, state))
        assert _fits(question)


@pytest.mark.parametrize("channel", ["sms", "telegram"])
def test_no_suggestion_when_everything_is_indispensable(channel: str) -> None:
    chat = _resident("fr", channel)
    _open(chat)
    chat.says("peut-être")  # not one of the answers
    assert chat.text.startswith(translator("fr").gettext("Please choose one of the answers."))
    assert chat.state.data.get("index", 0) == 0
    for _ in APPLIANCES:
        chat.says("1")
    assert "c'est très bien" in chat.text and chat.state.flow == "menu"
    with session_scope(chat.engine) as session:
        assert len(session.exec(select(ApplianceRating)).all()) == len(APPLIANCES)
        assert session.exec(select(Commitment)).first() is None


def test_a_resident_with_three_gestures_gets_no_suggestion_and_a_refusal_is_kind() -> None:
    chat = _resident("en")
    _open(chat)
    for answer in ANSWERS:
        chat.says(answer)
    chat.says("3")  # no, thank you
    assert chat.text.startswith("All right. Thank you for taking part!")
    # Three gestures chosen meanwhile (another channel): the "yes" is refused, kindly.
    _open(chat)
    for answer in ANSWERS:
        chat.says(answer)
    with session_scope(chat.engine) as session:
        for slug in ("lid_on_pan", "warm_layer", "curtains_at_night"):
            choose_gesture(session, CONTACT_ID, slug, NOW)
    chat.says("1")
    assert chat.text.startswith("You already have 3 gestures, which is plenty")
    assert chat.state.flow == "menu"


def test_staff_do_not_see_the_exercise_and_residents_do_not_see_gestures_together() -> None:
    chat = _resident("en")
    chat.says("menu")
    assert "appliance_exercise" in chat.choice_keys
    assert "gestures_together" not in chat.choice_keys
    chat.who = Who(channel="sms", locale="en", contact_id=CONTACT_ID, community=DEMO,
                   role=Role.FACILITATOR)
    chat.says("menu")
    assert "gestures_together" in chat.choice_keys
    assert "appliance_exercise" not in chat.choice_keys


# -- "Gestures together" ------------------------------------------------------------------------

def _facilitator(locale: str = "en", channel: str = "telegram") -> Conversation:
    chat = Conversation(who=Who(channel=channel, locale=locale, contact_id=CONTACT_ID,
                                community=DEMO, role=Role.FACILITATOR))
    with session_scope(chat.engine) as session:
        load_gestures(session, NOW)
    return chat


def _homes(chat: Conversation, count: int, first: int = 100) -> list[int]:
    """``count`` residents of the demo community, each in a home of their own."""
    ids = []
    with session_scope(chat.engine) as session:
        for index in range(first, first + count):
            session.add(Household(id=index, community_id=DEMO.id, ref=f"H{index}",
                                  code=f"CODE{index}"))
            session.flush()
            contact = Contact(id=index, community_id=DEMO.id, locale="fr", consented_at=NOW,
                              household_id=index)
            session.add(contact)
            session.flush()
            ids.append(index)
    return ids


def _together(chat: Conversation) -> tuple[OutgoingMessage, ...]:
    chat.says("menu")
    return chat.says(str(chat.choice_keys.index("gestures_together") + 1))


def test_gestures_together_shows_nothing_below_k_households() -> None:
    chat = _facilitator()
    residents = _homes(chat, 4)  # k = 5
    with session_scope(chat.engine) as session:
        for contact_id in residents:
            choose_gesture(session, contact_id, "washer_after_alert", NOW)
            record_appliance_rating(session, contact_id, "dryer", "comfortable", NOW)
    replies = _together(chat)
    assert "figures appear once 5 households" in replies[0].text
    assert "group's answers appear once 5 households" in replies[0].text
    assert not any(r.kind == "chart" for r in replies)
    assert not any(char in replies[0].text for char in "4")  # no count below k


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_gestures_together_from_k_households_as_text_and_chart(locale: str) -> None:
    chat = _facilitator(locale)
    residents = _homes(chat, 5)
    with session_scope(chat.engine) as session:
        for index, contact_id in enumerate(residents):
            choose_gesture(session, contact_id, "washer_after_alert", NOW)
            for appliance, rating in (("dryer", "comfortable"), ("oven", "useful"),
                                      ("fridge", "indispensable")):
                record_appliance_rating(session, contact_id, appliance,
                                        "useful" if index == 0 and appliance == "dryer"
                                        else rating, NOW)
    replies = _together(chat)
    text, chart = replies[0], replies[1]
    t = translator(locale)
    assert _plain(t.ngettext("{count} household has chosen a gesture.",
                             "{count} households have chosen a gesture.", 5)) in _plain(text.text)
    assert localized(GESTURE_TEXTS["washer_after_alert"], locale) in _plain(text.text)
    dryer = localized(next(a for a in APPLIANCES if a.slug == "dryer").name, locale)
    assert f"{dryer}: 0 / 1 / 4" in _plain(text.text)
    assert chart.kind == "chart" and chart.extra.get("image_token")
    assert replies[-1].choices  # then the menu (Telegram)
