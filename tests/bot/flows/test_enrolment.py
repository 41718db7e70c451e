"""Enrolment, as a dialogue, in every language."""

from __future__ import annotations

import pytest

from bot.flows.base import Enrol, LinkHousehold, Who
from bot.flows.enrolment import consent_parts, consent_text
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from tests.bot.flows.conversation import RESIDENT_MENU, Conversation

YES = {"fr": "oui", "nl": "ja", "en": "yes", "ar": "نعم", "es": "sí"}
NO = {"fr": "Non", "nl": "nee", "en": "NO", "ar": "لا", "es": "no"}
LANGUAGE_NUMBER = {code: str(i) for i, code in enumerate(SUPPORTED_LOCALES, start=1)}


@pytest.mark.parametrize("channel", ["sms", "telegram"])
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_join_language_consent_household_welcome(locale: str, channel: str) -> None:
    chat = Conversation(who=Who(channel=channel, locale="fr"))
    chat.says("JOIN soleil")
    assert "Les Voisins" in chat.text
    assert chat.choice_keys == list(SUPPORTED_LOCALES)

    chat.says(LANGUAGE_NUMBER[locale])
    t = translator(locale)
    assert all(m.locale == locale for m in chat.last)
    assert chat.text == consent_text(Who(channel=channel, locale=locale))
    assert chat.choice_keys == ["yes", "no"]
    # On SMS the consent goes in two messages (each within two segments), Yes / No last.
    notice, question = consent_parts(Who(channel=channel, locale=locale))
    if channel == "sms":
        assert [(m.text, len(m.choices)) for m in chat.last] == [(notice, 0), (question, 2)]
    else:
        assert [m.text for m in chat.last] == [f"{notice}\n{question}"]

    chat.says(YES[locale])
    assert [type(e) for e in chat.effects] == [Enrol]
    enrol = chat.effects[0]
    assert isinstance(enrol, Enrol) and enrol.locale == locale
    assert chat.choice_keys == ["skip"]

    chat.says("maison01")
    assert isinstance(chat.effects[-1], LinkHousehold)
    assert all(m.locale == locale for m in chat.last)
    assert chat.state.flow == "menu"
    if channel == "sms":
        # The welcome says to send MENU; the menu itself is not appended on SMS.
        assert chat.text == t.gettext(
            "You are in! You will get a message before each grid alert. "
            "Send MENU at any time to see what I can do.")
        assert chat.choice_keys == []
    else:
        assert t.gettext("What would you like to do?") in chat.text
        assert chat.choice_keys == list(RESIDENT_MENU)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_refusing_consent_keeps_nothing(locale: str) -> None:
    chat = Conversation()
    chat.says("/start SOLEIL")
    chat.says(LANGUAGE_NUMBER[locale])
    chat.says(NO[locale])
    assert chat.effects == []
    assert chat.state.idle
    assert "SOLEIL" in chat.text and chat.last[0].locale == locale


def test_language_by_its_own_name_accents_ignored() -> None:
    chat = Conversation()
    chat.says("rejoindre SOLEIL")
    chat.says("espanol")
    assert chat.last[0].locale == "es"


def test_unknown_join_code_explains_kindly() -> None:
    chat = Conversation()
    chat.says("JOIN NOPE42")
    assert "NOPE42" in chat.text and chat.state.idle


def test_bare_join_code_is_enough_on_sms() -> None:
    chat = Conversation()
    chat.says("soleil")
    assert chat.state.flow == "enrolment"


def test_nonsense_at_language_step_reprompts() -> None:
    chat = Conversation()
    chat.says("JOIN SOLEIL")
    chat.says("banana")
    assert chat.state.step == "language"
    assert chat.text == translator("fr").gettext("Please choose a language: reply with its number.")
    chat.says("9")
    assert chat.state.step == "language"


def test_unknown_household_code_twice_then_linked_later() -> None:
    chat = Conversation()
    for text in ("JOIN SOLEIL", "3", "yes", "WRONG1"):
        chat.says(text)
    assert chat.state.step == "household"
    chat.says("WRONG2")
    assert chat.state.flow == "menu"
    assert translator("en").gettext("No worries: your facilitator can link your home later.") \
        in chat.text
    assert not any(isinstance(e, LinkHousehold) for e in chat.effects)


def test_skip_word_in_the_chosen_language() -> None:
    chat = Conversation()
    for text in ("JOIN SOLEIL", "2", "ja"):
        chat.says(text)
    chat.says("Overslaan")
    assert chat.state.flow == "menu"


def test_stranger_gets_the_introduction_in_the_channel_language() -> None:
    chat = Conversation()
    chat.who = chat.who.speaking("nl")
    chat.says("hallo")
    assert chat.last[0].locale == "nl"
    assert chat.text == translator("nl").gettext(
        "Hello! I am Voisins, the bot of your energy community. To join, send JOIN "
        "followed by the code your facilitator gave you, for example: JOIN ABC123")


@pytest.mark.parametrize("word", ["?", "AIDE", "menu", "/start"])
def test_help_half_way_through_joining_keeps_the_progress(word: str) -> None:
    chat = Conversation()
    chat.says("JOIN SOLEIL")
    chat.says("1")
    assert chat.state.step == "consent"
    chat.says(word)
    assert chat.state.step == "consent" and chat.choice_keys == ["yes", "no"]
    chat.says("oui")
    assert isinstance(chat.effects[0], Enrol)
