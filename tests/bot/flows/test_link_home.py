"""A household code can be added later: sent on its own, after the join code, or through
"Link my home" in "My data"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.flows.base import ChannelView, HouseholdView, LinkHousehold, StoredFacts, Who
from bot.flows.menu import menu_hint
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from tests.bot.flows.conversation import Conversation, member
from tests.bot.flows.test_member_flows import MENU_KEYS

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CHANNELS = ["console", "sms"]
SKIP = {"fr": "passer", "ar": "تخطي"}
YES = {"fr": "oui", "ar": "نعم"}

# What a resident types for "My data" in the menu.
MY_DATA = str(MENU_KEYS.index("my_data") + 1)


def _joined_without_a_home(locale: str, channel: str) -> Conversation:
    chat = Conversation(who=Who(channel=channel, locale=locale))
    chat.says("JOIN SOLEIL")
    chat.says(str(SUPPORTED_LOCALES.index(locale) + 1))
    chat.says(YES[locale])
    chat.says(SKIP[locale])
    assert chat.state.flow == "menu" and chat.who.household is None
    return chat


def _linked(chat: Conversation, locale: str) -> None:
    t = translator(locale)
    assert chat.effects[-1] == LinkHousehold(11)
    assert chat.text.startswith(t.gettext("Done: your home is linked ({household}).",
                                          household="H01"))
    # Applied like the inbox applies it: the contact now has a home.
    assert chat.who.household == HouseholdView(11, "H01")
    if chat.channel == "sms":
        assert chat.text.endswith(menu_hint(chat.who))
    else:
        assert chat.choice_keys[0] == "consumption"


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_the_code_sent_on_its_own_any_time_later(locale: str, channel: str) -> None:
    chat = _joined_without_a_home(locale, channel)
    chat.says("maison01")
    _linked(chat, locale)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_join_with_the_household_code_links_a_member(locale: str, channel: str) -> None:
    chat = _joined_without_a_home(locale, channel)
    chat.says("JOIN SOLEIL MAISON01")
    _linked(chat, locale)
    # Once linked, the same message is just "already a member".
    chat.says("JOIN SOLEIL MAISON01")
    assert chat.text.startswith(translator(locale).gettext(
        "You are already a member of {community}.", community="Les Voisins"))
    assert chat.effects.count(LinkHousehold(11)) == 1


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_link_my_home_from_my_data(locale: str, channel: str) -> None:
    chat = member(locale, channel=channel)
    chat.directory.facts[chat.who.contact_id or 0] = StoredFacts(
        name="Nadia", locale=locale, role="resident", community_name="Les Voisins",
        household_ref=None, consented_at=T0, consent_version="2026-11",
        channels=(ChannelView(channel, "+32470123456"),), messages_sent=3)
    t = translator(locale)
    chat.says("menu")
    chat.says(MY_DATA)
    assert chat.choice_keys == ["link_home", "not_now"]
    chat.says("1")  # Link my home
    assert chat.state.flow == "link_home" and chat.choice_keys == ["skip"]
    chat.says("NOPE99")
    assert chat.text == t.gettext("I don't know this household code. Try again, or choose Skip.")
    chat.says("MAISON01")
    _linked(chat, locale)


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_not_now_and_skip_go_back_to_the_menu(locale: str) -> None:
    chat = member(locale, channel="console")
    chat.directory.facts[chat.who.contact_id or 0] = replace(
        chat.directory.stored_facts(0) or _never(), household_ref=None)
    chat.says("menu")
    chat.says(MY_DATA)
    chat.says("2")  # Not now
    assert chat.state.flow == "menu" and chat.choice_keys[0] == "consumption"
    chat.says(MY_DATA)
    chat.says("1")
    chat.says(SKIP[locale])
    assert chat.state.flow == "menu" and LinkHousehold(11) not in chat.effects


def test_a_code_is_not_taken_from_a_member_whose_home_is_linked() -> None:
    chat = member("fr")
    chat.who = replace(chat.who, household=HouseholdView(11, "H01"))
    chat.says("MAISON01")
    assert chat.effects == []
    assert chat.text.startswith(translator("fr").gettext("Sorry, I didn't understand that."))


def test_two_unknown_codes_end_kindly() -> None:
    chat = _joined_without_a_home("fr", "sms")
    chat.directory.facts[chat.who.contact_id or 0] = replace(
        chat.directory.stored_facts(0) or _never(), household_ref=None)
    chat.says("menu")
    for text in (MY_DATA, "1", "NOPE1", "NOPE2"):
        chat.says(text)
    assert chat.state.flow == "menu"
    assert chat.text.startswith(translator("fr").gettext(
        "No worries: your facilitator can link your home later."))


def _never() -> StoredFacts:
    raise AssertionError("the memory directory always has facts")
