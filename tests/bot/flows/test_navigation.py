"""After every answer the resident knows what to type next: the menu (terminal, Telegram,
WhatsApp) or the hint to send MENU (SMS), also after a chart or results; and a number typed
against a menu that was not shown brings the menu instead of acting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.router import route
from bot.flows.base import FlowState, HouseholdView, Who
from bot.flows.menu import HINT_CHANNELS, help_text, menu_choices, menu_hint
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.messages import IncomingMessage
from core.models import Role
from core.questionnaires.storage import create_questionnaire, definition_of
from tests.bot.flows.conversation import RESIDENT_MENU, Conversation, member
from tests.bot.flows.test_registry import WAITING
from tests.fakes.directory import DEMO, MemoryDirectory
from tests.fakes.energy import seed_energy
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANNELS = ["console", "sms"]
LANGUAGE_KEYS = list(SUPPORTED_LOCALES)


def _ends_at_the_menu(chat: Conversation) -> None:
    """The last message is the menu, or on SMS the hint to send MENU."""
    last = chat.last[-1]
    if chat.channel in HINT_CHANNELS:
        assert last.text.endswith(menu_hint(chat.who)) and not last.choices
    else:
        assert last.text.endswith(chat.who.t.gettext("What would you like to do?"))
        assert list(last.choices) == list(menu_choices(chat.who))


def _with_meter_data(locale: str, channel: str) -> Conversation:
    chat = member(locale, channel=channel)
    chat.who = replace(chat.who, household=HouseholdView(11, "H01"))
    seed_energy(chat.engine, [11], NOW - timedelta(weeks=9), NOW)
    return chat


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_after_a_chart_the_menu_or_the_hint_comes_last(locale: str, channel: str) -> None:
    chat = _with_meter_data(locale, channel)
    chat.says("menu", at=NOW)
    chat.says("1", at=NOW)  # My consumption
    assert chat.choice_keys == ["week", "typical", "alert"]
    chat.says("1", at=NOW)  # My last 7 days
    chart, closing = chat.last
    # The chart itself is drawn by the dispatcher, after the commit (bot/outbound/dispatch.py).
    assert chart.kind == "chart" and chart.extra.get("draw")
    assert closing is chat.last[-1]
    _ends_at_the_menu(chat)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_a_number_after_a_chart_means_what_the_resident_was_shown(locale: str,
                                                                   channel: str) -> None:
    # The Dutch resident of the report: a chart, then "6" meaning "the last alert".
    chat = _with_meter_data(locale, channel)
    language = str(RESIDENT_MENU.index("language") + 1)
    for text in ("menu", "1", "1", language):
        chat.says(text, at=NOW)
    if channel in HINT_CHANNELS:
        # Only the hint was shown: "6" brings the menu, nothing is acted on.
        assert chat.state.flow == "menu" and chat.effects[-1].__class__.__name__ == "SendChart"
        assert chat.text == translator(locale).gettext("What would you like to do?")
        assert chat.choice_keys == list(RESIDENT_MENU)
        chat.says(language, at=NOW)
    # The number read against the menu on screen: Change language.
    assert chat.state.flow == "language" and chat.choice_keys == LANGUAGE_KEYS


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_after_survey_results_the_menu_or_the_hint_comes_last(locale: str,
                                                              channel: str) -> None:
    chat = member(locale, channel=channel)
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    with session_scope(chat.engine) as session:
        row = create_questionnaire(session, mood_definition(), NOW)
        assert row.id is not None
        chat.directory.questionnaires[row.id] = definition_of(row)
    chat.says("menu", at=NOW)
    chat.says(str(chat.choice_keys.index("survey_results") + 1), at=NOW)
    assert chat.state.flow == "survey_results"
    chat.says("1", at=NOW)
    assert len(chat.last) >= 2  # the results, then the way on
    _ends_at_the_menu(chat)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_after_answering_an_alert_the_menu_or_the_hint_comes_last(locale: str,
                                                                  channel: str) -> None:
    chat = member(locale, channel=channel)
    chat.state = FlowState("alert", "intent", {"alert_id": 1})
    chat.says("2", at=NOW)
    assert chat.text.startswith(translator(locale).gettext(
        "Thanks for letting us know. See you next time!"))
    _ends_at_the_menu(chat)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_an_alert_button_keeps_a_pending_question_paused(locale: str, channel: str) -> None:
    chat = member(locale, channel=channel)
    chat.state = FlowState("language", "choose")
    chat.says("", choice_key="alert:1:in")
    assert chat.text.startswith(translator(locale).gettext("Thank you! Every bit helps."))
    if channel in HINT_CHANNELS:
        assert chat.text.endswith(menu_hint(chat.who))
    else:
        assert chat.choice_keys[-1] == "resume"
    chat.says("menu")
    assert chat.choice_keys[-1] == "resume"
    chat.says(str(len(chat.choice_keys)))
    assert chat.state.flow == "language"


# -- a property over every waiting state ---------------------------------------------------

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["1", "2", "3", "4", "5", "6", "9", "oui", "non", "نعم", "menu", "help",
                     "skip", "MAISON01", "JOIN SOLEIL MAISON01", "demain 18:00", "2h", ""]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=st.sampled_from([FlowState(), FlowState("menu", "choose"), *WAITING]),
       text=texts, locale=st.sampled_from(SUPPORTED_LOCALES),
       channel=st.sampled_from(["sms", "telegram", "console"]),
       role=st.sampled_from(list(Role)), linked=st.booleans())
def test_every_step_that_ends_shows_the_way_on(state: FlowState, text: str, locale: str,
                                               channel: str, role: Role, linked: bool) -> None:
    who = Who(channel=channel, locale=locale, contact_id=7, community=DEMO, role=role,
              household=HouseholdView(11, "H01") if linked else None)
    message = IncomingMessage(channel=channel, address="+32", text=text, provider_id="p",
                              received_at=NOW)
    result = route(message, who, state, MemoryDirectory())
    if result.state.flow != "menu":
        return
    reader = who.speaking(result.replies[-1].locale)
    last = result.replies[-1]
    shown = result.state.data.get("shown", True)
    if last.choices:
        assert [c.key for c in last.choices][:5] == [
            c.key for c in menu_choices(reader)][:5]
        assert shown
    else:
        assert channel in HINT_CHANNELS and not shown
        welcome = reader.t.gettext(
            "You are in! You will get a message before each grid alert. "
            "Send MENU at any time to see what I can do.")
        # The hint, or a text that names MENU itself (the help, the welcome).
        assert last.text.endswith(menu_hint(reader)) or last.text == help_text(reader) \
            or last.text.endswith(welcome)


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_on_sms_a_number_after_the_hint_brings_the_menu(locale: str) -> None:
    chat = member(locale)
    chat.says("langue")
    chat.says("1")  # Français: done, then the hint
    assert chat.text.endswith(menu_hint(chat.who))
    chat.says("4")
    assert chat.state.flow == "menu" and not chat.effects[1:]
    assert chat.choice_keys == list(RESIDENT_MENU)
    chat.says(str(RESIDENT_MENU.index("forget_me") + 1))
    assert chat.state.flow == "forget_me"
