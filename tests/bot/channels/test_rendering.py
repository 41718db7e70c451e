"""Choices per channel, and what an SMS costs: segment counting and the two-segment budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.channels.rendering import (
    ChoiceKeyTooLong,
    numbered_text,
    render_numbered,
    reply_hint,
    telegram_keyboard,
)
from bot.channels.sms_segments import SegmentCount, count_segments, is_gsm7, sms_text
from bot.conversation.inbox import handle_incoming
from bot.flows.language import LANGUAGE_CHOICES
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.demo import seed_demo
from core.messages import Choice, IncomingMessage

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MAX_SEGMENTS = 2


# -- segments ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
    ("€" * 81, "GSM-7", 162, 2),
    ("a" * 152 + "€", "GSM-7", 154, 1),
    ("é" * 160, "GSM-7", 160, 1),  # é is in the basic table...
    ("ê" + "a" * 69, "UCS-2", 70, 1),  # ...ê is not: the whole text becomes UCS-2
    ("ê" + "a" * 70, "UCS-2", 71, 2),
    ("ت" * 134, "UCS-2", 134, 2),
    ("ت" * 135, "UCS-2", 135, 3),
    ("😀" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
    ("a" * 66 + "😀", "UCS-2", 68, 1),
    ("a" * 66 + "😀" + "a" * 5, "UCS-2", 73, 2),
])
def test_segment_counting(text: str, encoding: str, units: int, segments: int) -> None:
    assert count_segments(text) == SegmentCount(encoding, units, segments)


def test_escape_pair_is_not_split() -> None:
    # 152 septets then a 2-septet character: the pair moves to the second part, which the
    # last 152 septets then fill to 154 > 153, hence a third part.
    text = "a" * 152 + "[" + "a" * 152
    assert count_segments(text) == SegmentCount("GSM-7", 306, 3)
    assert count_segments("a" * 151 + "[" + "a" * 153).segments == 2
    assert is_gsm7("[]{}") and not is_gsm7("ç")


# -- Telegram keyboards --------------------------------------------------------------------

def test_keyboard_carries_choice_keys_as_callback_data() -> None:
    keyboard = telegram_keyboard(LANGUAGE_CHOICES)
    assert keyboard is not None
    assert [row[0]["callback_data"] for row in keyboard["inline_keyboard"]] == \
        ["fr", "nl", "en", "ar", "es"]
    assert telegram_keyboard(()) is None


def test_callback_data_longer_than_64_bytes_is_refused() -> None:
    assert telegram_keyboard([Choice("k" * 64, "ok")]) is not None
    with pytest.raises(ChoiceKeyTooLong):
        telegram_keyboard([Choice("é" * 33, "too long in bytes")])


# -- numbered options ----------------------------------------------------------------------

def test_numbered_options_in_the_readers_language() -> None:
    choices = (Choice("yes", "Yes"), Choice("no", "No"), Choice("skip", "Skip"))
    assert numbered_text("Agree?", choices, "en") == \
        "Agree?\n1. Yes\n2. No\n3. Skip\nReply 1, 2 or 3"
    assert numbered_text("Hi", (), "en") == "Hi"
    assert reply_hint(1, "en") == "Reply 1"
    for locale in SUPPORTED_LOCALES:
        t = translator(locale)
        numbers = "1، 2" if locale == "ar" else "1, 2"  # Arabic lists take the Arabic comma
        assert reply_hint(3, locale) == t.gettext("Reply {numbers} or {last}",
                                                  numbers=numbers, last=3)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_texts_the_channels_add_fit_in_one_segment(locale: str) -> None:
    for count in range(1, 10):
        assert count_segments(reply_hint(count, locale)).segments == 1


# -- the two-segment budget ----------------------------------------------------------------

def _alert_texts(locale: str) -> Iterator[tuple[str, str]]:
    from bot.flows.alert import AlertMessages
    from core.alerts import Alert, AlertStage
    from core.models import Community, Contact

    community = Community(id=1, slug="c", name="C", join_code="C", timezone="Europe/Brussels")
    contact = Contact(id=1, community_id=1, locale=locale)
    alert = Alert(id=123456, community_id=1, starts_at=T0 + timedelta(days=1),
                  ends_at=T0 + timedelta(days=1, hours=2, minutes=30))
    for stage in AlertStage:
        rendered = AlertMessages().render(stage, alert, community, contact)
        yield stage.value, render_numbered(rendered.payload)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_alert_texts_fit_in_two_segments(locale: str) -> None:
    over = {stage: count_segments(text) for stage, text in _alert_texts(locale)
            if count_segments(text).segments > MAX_SEGMENTS}
    assert over == {}


# A resident's whole life with the bot, by SMS: every flow, every question, every mistake.
DIALOGUE = ["hello", "JOIN NOPE", "JOIN VOISINS", "xyz", "{number}", "maybe", "yes", "WRONG1",
            "WRONG2", "menu", "1", "menu", "4", "2", "xyz", "{number}", "3", "2", "help",
            "STOP", "hello", "START", "JOIN VOISINS", "menu", "3", "1"]


def _flow_replies(engine: Engine) -> dict[str, set[str]]:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: T0)
    replies: dict[str, set[str]] = {locale: set() for locale in SUPPORTED_LOCALES}
    for index, locale in enumerate(SUPPORTED_LOCALES):
        number = str(index + 1)
        for step, text in enumerate(DIALOGUE):
            message = IncomingMessage(channel="sms", address=f"+3247000010{index}",
                                      text=text.format(number=number),
                                      provider_id=f"{locale}-{step}")
            for row in handle_incoming(engine, message, clock=lambda: T0):
                replies[str(row.payload["locale"])].add(render_numbered(row.payload))
    return replies


def test_every_flow_reply_fits_in_two_segments_in_every_language(engine: Engine) -> None:
    over = {
        locale: sorted(f"{count_segments(text).segments} seg: {text[:60]!r}"
                       for text in texts if count_segments(text).segments > MAX_SEGMENTS)
        for locale, texts in _flow_replies(engine).items()
    }
    assert {locale: found for locale, found in over.items() if found} == {}


# The same dialogue starting in each community language, plus the detours it does not take
# (an expired conversation, the menu during a paused question, "my data" with a linked home):
# the texts a resident sees before choosing a language are in the community's language.
RESIDENT_DETOURS = ["hello", "JOIN NOPE", "JOIN SOLEIL", "banana", "help", "{number}", "maybe",
                    "no", "JOIN SOLEIL", "{number}", "yes", "WRONG1", "WRONG2", "qqq", "menu",
                    "2", "menu", "4", "menu", "1", "LANGUAGE", "menu", "help", "menu", "7",
                    "xyz", "2", "JOIN SOLEIL", "STOP", "hi", "START", "menu", "5", "2", "2",
                    "zzz", "3", "menu", "7", "1"]


def _detour_replies(community_locale: str) -> dict[str, set[str]]:
    from dataclasses import replace

    from bot.flows.base import ChannelView, StoredFacts, Who
    from core.demo import DEMO_NAME
    from tests.bot.flows.conversation import Conversation
    from tests.fakes.directory import DEMO, MemoryDirectory

    community = replace(DEMO, name=DEMO_NAME, default_locale=community_locale)
    replies: dict[str, set[str]] = {locale: set() for locale in SUPPORTED_LOCALES}
    for index, locale in enumerate(SUPPORTED_LOCALES):
        directory = MemoryDirectory(communities={"SOLEIL": community})
        directory.facts[7] = StoredFacts(
            name=None, locale=locale, role="resident", community_name=DEMO_NAME,
            household_ref="MAISON12", consented_at=T0, consent_version="2026-11",
            channels=(ChannelView("sms", "+32470123456"),), messages_sent=12)
        chat = Conversation(who=Who(channel="sms", locale=community_locale), directory=directory)
        for step, text in enumerate(RESIDENT_DETOURS):
            if step in (3, 20):  # a conversation left for days
                chat.state = replace(chat.state, expired=True)
            for message in chat.says(text.format(number=index + 1)):
                replies[message.locale].add(render_numbered(message.to_payload()))
    return replies


@pytest.mark.parametrize("community_locale", SUPPORTED_LOCALES)
def test_resident_replies_fit_in_two_segments_whatever_the_community_language(
        community_locale: str) -> None:
    # Counted as sent: after ``sms_text`` (no direction marks around the menu's numbers).
    over = {
        locale: sorted(f"{count_segments(sms_text(text)).segments} seg: {text[:60]!r}"
                       for text in texts
                       if count_segments(sms_text(text)).segments > MAX_SEGMENTS)
        for locale, texts in _detour_replies(community_locale).items()
    }
    assert {locale: found for locale, found in over.items() if found} == {}
