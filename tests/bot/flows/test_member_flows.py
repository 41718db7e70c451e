"""Menu, help, language, stop/start, my data and forget me, in every language."""

from __future__ import annotations

import pytest

from bot.flows.base import Erase, FlowState, OptIn, OptOut, SetLocale
from bot.flows.menu import help_text
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from tests.bot.flows.conversation import RESIDENT_MENU, member

HELP = {"fr": "AIDE", "nl": "hulp", "en": "help", "ar": "مساعدة", "es": "Ayuda"}
STOP = {"fr": "ARRÊT", "nl": "stoppen", "en": "STOP", "ar": "توقف", "es": "baja"}
LANGUAGE = {"fr": "langue", "nl": "TAAL", "en": "language", "ar": "لغة", "es": "idioma"}
YES = {"fr": "oui", "nl": "ja", "en": "yes", "ar": "نعم", "es": "si"}


MENU_KEYS = list(RESIDENT_MENU)


def _number(key: str) -> str:
    """What a resident types for a menu entry."""
    return str(MENU_KEYS.index(key) + 1)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_help_and_menu(locale: str) -> None:
    chat = member(locale, channel="telegram")
    chat.says(HELP[locale])
    t = translator(locale)
    assert t.gettext("What would you like to do?") in chat.text
    assert chat.choice_keys == MENU_KEYS
    chat.says(_number("help"))
    assert chat.text.startswith(help_text(chat.who))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_on_sms_an_answer_ends_with_a_hint_not_the_whole_menu(locale: str) -> None:
    chat = member(locale)
    t = translator(locale)
    chat.says(HELP[locale])
    # The help text names MENU itself.
    assert chat.text == help_text(chat.who) and chat.choice_keys == []
    chat.says("menu")
    assert chat.text == t.gettext("What would you like to do?")
    assert chat.choice_keys == MENU_KEYS
    chat.says(_number("forget_me"))
    chat.says("2")
    assert chat.text == "\n".join([t.gettext("Nothing was erased."),
                                   t.gettext("Send MENU for options.")])
    assert chat.choice_keys == [] and chat.state.flow == "menu"
    # The resident did not see the numbers after the hint: a number brings the menu, and
    # only a number read from it acts.
    chat.says("8")
    assert chat.text == t.gettext("What would you like to do?")
    assert chat.choice_keys == MENU_KEYS
    chat.says(_number("help"))
    assert chat.text == help_text(chat.who)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_change_language(locale: str) -> None:
    chat = member(locale)
    chat.says(LANGUAGE[locale])
    assert chat.choice_keys == list(SUPPORTED_LOCALES)
    target = "ar" if locale != "ar" else "nl"
    chat.says(str(list(SUPPORTED_LOCALES).index(target) + 1))
    assert chat.effects == [SetLocale(target)]
    assert chat.last[0].locale == target


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_stop_then_start(locale: str) -> None:
    chat = member(locale)
    chat.says(STOP[locale])
    assert chat.effects == [OptOut()]
    assert chat.last[0].kind == "stop_ack" and chat.last[0].locale == locale
    chat.says("what?")
    assert chat.last[0].kind == "stop_ack"
    assert "START" in chat.text
    chat.says("start")
    assert chat.effects == [OptOut(), OptIn()]
    assert chat.state.flow == "menu"


@pytest.mark.parametrize("channel", ["telegram", "sms"])
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_my_data_lists_what_is_stored(locale: str, channel: str) -> None:
    chat = member(locale, channel=channel)
    chat.says("menu")
    chat.says(_number("my_data"))
    t = translator(locale)
    assert "Nadia" in chat.text and "H01" in chat.text
    # Addresses are masked even to their owner: a screenshot must not leak a number.
    assert "+32470123456" not in chat.text and "3456" in chat.text
    full = [t.gettext("Here is what Voisins stores about you:"),
            t.gettext("Community: {community}", community="Les Voisins")]
    if channel == "sms":
        # The short list (the full one is on the other channels and in the admin export).
        assert not any(line in chat.text for line in full)
        assert chat.text.endswith(t.gettext("Send MENU for options."))
        assert "…" not in chat.text  # outside GSM-7: it would make the SMS UCS-2
    else:
        assert all(line in chat.text for line in full)
        assert chat.choice_keys == MENU_KEYS


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_forget_me_needs_confirmation(locale: str) -> None:
    chat = member(locale)
    chat.says("menu")
    chat.says(_number("forget_me"))
    assert chat.choice_keys == ["yes", "no"]
    chat.says("2")
    assert chat.effects == []
    chat.says("menu")
    chat.says(_number("forget_me"))
    chat.says("1")
    assert chat.effects == [Erase()]
    assert chat.last[0].kind == "farewell" and chat.last[0].locale == locale


def test_yes_word_confirms_erasure() -> None:
    chat = member("es")
    chat.says("menu")
    chat.says(_number("forget_me"))
    chat.says(YES["es"])
    assert chat.effects == [Erase()]


def test_menu_detour_then_resume_the_paused_question() -> None:
    chat = member("fr")
    chat.says("langue")
    chat.says("menu")
    # "Continue" comes last: every other entry keeps its number.
    assert chat.choice_keys == [*MENU_KEYS, "resume"]
    chat.says(str(len(MENU_KEYS) + 1))
    assert chat.state.flow == "language"
    assert chat.choice_keys == list(SUPPORTED_LOCALES)


def test_expired_conversation_resumes_politely() -> None:
    chat = member("nl")
    chat.state = FlowState(expired=True)
    chat.says("2")
    t = translator("nl")
    assert t.gettext("Our last conversation was a while ago, so let's start again.") in chat.text
    assert chat.state.flow == "menu"


def test_nonsense_when_idle_shows_menu() -> None:
    chat = member("en", channel="telegram")
    chat.says("🙂🙂🙂")
    assert chat.text.startswith("Sorry, I didn't understand that.")
    assert chat.choice_keys == MENU_KEYS
    on_sms = member("en")
    on_sms.says("🙂🙂🙂")
    assert on_sms.text == "Sorry, I didn't understand that.\nSend MENU for options."


def test_telegram_command_forms() -> None:
    chat = member("en", channel="telegram")
    chat.says("/help@VoisinsBot")
    assert "What would you like to do?" in chat.text
    chat.says("/stop")
    assert chat.effects == [OptOut()]
