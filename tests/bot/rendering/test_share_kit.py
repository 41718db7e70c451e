"""The WhatsApp share kit: every language the bot speaks, every way in that is configured
(WhatsApp, Telegram, SMS), and no way named that is not."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from sqlalchemy.engine import Engine

from bot.conversation.inbox import handle_incoming
from bot.i18n import translator
from bot.rendering.share_kit import kit_locales, phone_number, share_kits
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.demo import seed_demo
from core.messages import IncomingMessage
from tests.bot.channels.conftest import SMS_FROM, WHATSAPP_FROM, settings_for

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BIDI_MARKS = "\u2066\u2067\u2068\u2069"
# How each catalog says "SMS": a kit without an SMS number must not mention it.
SMS_WORDS = {"fr": "SMS", "nl": "sms", "en": "SMS", "ar": "رسالة نصية", "es": "SMS"}


def _lines(text: str) -> list[str]:
    return text.split("\n")


def test_a_kit_gives_whatsapp_telegram_and_the_sms_number() -> None:
    kits = share_kits("Rue des Tilleuls", "VOISINS", ["fr", "ar"], whatsapp_number=WHATSAPP_FROM,
                      telegram_bot="@voisins_bot", sms_number=SMS_FROM)
    french, arabic = kits
    assert _lines(french.text)[1:] == [
        "Rejoindre sur WhatsApp : https://wa.me/3225550199?text=JOIN%20VOISINS",
        "Rejoindre sur Telegram : https://t.me/voisins_bot?start=VOISINS",
        "Par SMS : envoyez REJOINDRE VOISINS au +3225550100.",
    ]
    assert french.sms_number == SMS_FROM
    assert french.telegram_link == "https://t.me/voisins_bot?start=VOISINS"
    # Arabic: the code and number are isolated, the links are not (an app could take the
    # invisible mark for part of the address).
    wa_line, tg_line, sms_line = _lines(arabic.text)[1:]
    assert wa_line.endswith(" https://wa.me/3225550199?text=JOIN%20VOISINS")
    assert tg_line.endswith(" https://t.me/voisins_bot?start=VOISINS")
    assert not set(BIDI_MARKS) & set(wa_line + tg_line)
    assert sms_line == ("برسالة نصية: أرسل «انضمام \u2068VOISINS\u2069» "
                        "إلى الرقم \u2068+3225550100\u2069.")
    for kit in kits:
        assert unquote(kit.share_link.removeprefix("https://wa.me/?text=")) == kit.text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_without_an_sms_number_the_kit_never_mentions_sms(locale: str) -> None:
    (kit,) = share_kits("Rue des Tilleuls", "VOISINS", [locale], whatsapp_number=WHATSAPP_FROM,
                        telegram_bot="voisins_bot")
    assert SMS_WORDS[locale] not in kit.text
    assert _lines(kit.text)[-1] == translator(locale).gettext(
        "Join on Telegram: {link}").format(link="https://t.me/voisins_bot?start=VOISINS")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_with_no_way_in_configured_the_kit_gives_the_code(locale: str) -> None:
    (kit,) = share_kits("Rue des Tilleuls", "VOISINS", [locale])
    assert kit.join_link is None and kit.telegram_link is None and kit.sms_number is None
    assert _lines(kit.text)[-1] == translator(locale).gettext("Our join code: {code}",
                                                              code="VOISINS")


def test_a_messaging_service_is_not_a_number_to_text() -> None:
    assert phone_number("+32 470 00 00 01") is None  # not E.164 as Twilio takes it
    assert phone_number("+3225550100") == "+3225550100"
    assert phone_number("MG0123456789abcdef0123456789abcdef") is None
    assert phone_number(None) is None and phone_number("") is None


def test_every_language_the_communitys_own_first() -> None:
    assert kit_locales("fr") == ["fr", "nl", "en", "ar", "es"]
    assert kit_locales("ar") == ["ar", "fr", "nl", "en", "es"]
    assert sorted(kit_locales("es")) == sorted(SUPPORTED_LOCALES)


def test_a_new_french_community_gets_a_kit_in_every_language(engine: Engine) -> None:
    """The demo's residents all speak French: the kit still covers every language, each with
    the WhatsApp and Telegram links and the SMS number this deployment has."""
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: NOW)
    settings = settings_for(telegram_bot_username="VoisinsBot")
    rows = handle_incoming(engine, IncomingMessage("console", "demo-facilitator", "menu", "k-0"),
                           clock=lambda: NOW, settings=settings)
    keys = [choice["key"] for choice in rows[-1].payload["choices"]]
    number = str(keys.index("share_kit") + 1)
    rows = handle_incoming(engine, IncomingMessage("console", "demo-facilitator", number, "k-1"),
                           clock=lambda: NOW, settings=settings)
    # The kits, then the menu (which always ends an answer).
    intro, *kits, menu = [row.payload for row in rows]
    assert menu["choices"]
    assert intro["locale"] == "fr" and "WhatsApp" in str(intro["text"])
    assert [kit["locale"] for kit in kits] == ["fr", "nl", "en", "ar", "es"]
    for kit in kits:
        text = str(kit["text"])
        assert "https://wa.me/3225550199?text=JOIN%20" in text
        assert "https://t.me/VoisinsBot?start=" in text
        assert "+3225550100" in text
        assert "https://wa.me/?text=" in text
