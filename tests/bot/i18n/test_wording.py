"""Wording a native speaker checked: each fix as the resident or facilitator reads it, in
French and Arabic at least (and the language the fix was about)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from sqlalchemy.engine import Engine

from bot.channels.rendering import render_sms, reply_hint
from bot.channels.senders import build_senders
from bot.conversation.inbox import handle_incoming
from bot.flows import survey_admin
from bot.flows.alert import AlertMessages
from bot.flows.base import ChannelView, FlowResult, StoredFacts, Who
from bot.flows.consumption import no_meter_text
from bot.flows.enrolment import consent_parts
from bot.flows.meter_digest import digest_text
from bot.flows.results import own_result_text
from bot.flows.survey_admin import SurveyAdminState
from bot.i18n import translator
from bot.i18n.translations import LOCALES_DIR
from bot.outbound.dispatch import dispatch_due
from core.alerts import Alert, AlertStage
from core.config import SUPPORTED_LOCALES, Settings
from core.db import session_scope
from core.demo import seed_demo
from core.messages import IncomingMessage
from core.models import Community, Contact, Role
from meters.health import MeterDigest, MeterHealth
from tests.bot.channels.conftest import settings_for
from tests.bot.flows.conversation import Conversation, member
from tests.bot.flows.test_survey_admin import COMMUNITY, FakeDirectory
from tests.fakes.directory import DEMO, MemoryDirectory
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
THURSDAY_17H = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def _catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def _strings(locale: str) -> list[str]:
    strings: list[str] = []
    for message in _catalog(locale):
        if message.id:
            values = message.string if isinstance(message.string, tuple) else (message.string,)
            strings += [str(value) for value in values]
    return strings


# -- "part maintenant, ou le matin pendant les heures calmes" read as its opposite ----------

def _survey_sent(locale: str) -> str:
    who = Who(channel="sms", locale=locale, contact_id=1, community=COMMUNITY,
              role=Role.FACILITATOR)
    directory = FakeDirectory()
    flow = survey_admin.SEND_SURVEY
    result: FlowResult = flow.start(IncomingMessage("sms", "+32", "", "p"), who, directory)
    for answer in ("1", "1", "1"):  # the first survey, the whole community, yes
        state = SurveyAdminState.model_validate({**result.state.data,
                                                 "step": result.state.step})
        result = flow.step(IncomingMessage("sms", "+32", answer, "p"), who, state, directory)
    return result.replies[0].text


def test_a_survey_sent_at_night_waits_for_the_morning_and_says_so() -> None:
    french = _survey_sent("fr")
    assert "part tout de suite (la nuit, pendant les heures calmes, il attend le matin)" in french
    assert "part maintenant, ou le matin" not in french
    assert "فينتظر حتى الصباح" in _survey_sent("ar")
    assert "at night, during quiet hours, it waits for the morning" in _survey_sent("en")


# -- languages named in lower case mid-sentence ---------------------------------------------

@pytest.mark.parametrize(("number", "expected"), [
    ("1", "je vous écrirai en français."), ("5", "te escribiré en español."),
    ("2", "in het Nederlands."), ("3", "in English."), ("4", "باللغة \u2068العربية\u2069."),
])
def test_a_new_language_is_named_as_in_a_sentence(number: str, expected: str) -> None:
    chat = member("fr")
    chat.says("LANGUAGE")
    assert expected in chat.says(number)[0].text.split("\n")[0]


# -- days and times: "on Thursday at 17:00", "el jueves a las 17:00" -----------------------

def _notice(locale: str, stage: AlertStage = AlertStage.NOTICE_24H) -> str:
    community = Community(id=1, slug="c", name="C", join_code="C", timezone="Europe/Brussels")
    alert = Alert(id=1, community_id=1, starts_at=THURSDAY_17H,
                  ends_at=THURSDAY_17H + timedelta(hours=2, minutes=30))
    rendered = AlertMessages().render(stage, alert, community,
                                      Contact(id=1, community_id=1, locale=locale))
    return str(rendered.payload["text"])


def test_alert_notices_say_the_day_at_the_time() -> None:
    assert "on Thursday at 17:00, for 2 hours and 30 minutes" in _notice("en")
    assert "el jueves a las 17:00, durante 2 horas y 30 minutos" in _notice("es")
    assert "jeudi à 17:00, pendant 2 heures et 30 minutes" in _notice("fr")
    assert "op donderdag om 17:00, 2 uur en 30 minuten lang" in _notice("nl")
    assert "\u2068الخميس الساعة 17:00\u2069" in _notice("ar")
    assert "\u2068ساعتان و30 دقيقة\u2069" in _notice("ar")
    assert "the alert on Thursday at 17:00 is cancelled" in _notice("en", AlertStage.CANCELLATION)
    assert "la alerta del jueves a las 17:00 queda cancelada" in _notice(
        "es", AlertStage.CANCELLATION)
    assert "l'alerte prévue jeudi à 17:00 est annulée" in _notice("fr", AlertStage.CANCELLATION)


# -- Dutch: "op elk moment", not "Stuur altijd" ---------------------------------------------

def test_dutch_says_at_any_time_not_always() -> None:
    chat = member("nl", channel="telegram")
    help_text = chat.says("HULP")[0].text
    assert "op elk moment" in help_text
    assert not [text for text in _strings("nl") if "Stuur altijd" in text]
    joining = Conversation(who=Who(channel="telegram", locale="nl"))
    joining.says("JOIN SOLEIL")
    joining.says("2")
    joining.says("ja")
    assert "Stuur op elk moment MENU" in joining.says("overslaan")[0].text


# -- Arabic: one word for kWh, its own comma in lists ---------------------------------------

def test_arabic_names_kwh_one_way_everywhere() -> None:
    arabic = _strings("ar")
    assert not [text for text in arabic if "ك.و.س" in text]
    kwh_ids = [m for m in _catalog("ar") if m.id and "kWh" in str(m.id)]
    assert kwh_ids and all("كيلوواط ساعة" in str(m.string) for m in kwh_ids)


def test_arabic_lists_take_the_arabic_comma() -> None:
    assert reply_hint(3, "ar") == "للرد: \u20681، 2\u2069 أو \u20683\u2069"
    assert reply_hint(3, "fr") == "Répondez 1, 2 ou 3"
    directory = MemoryDirectory()
    directory.facts[7] = StoredFacts(
        name="Nadia", locale="ar", role="resident", community_name=DEMO.name,
        household_ref="H01", consented_at=NOW, consent_version="2026-11.3",
        channels=(ChannelView("sms", "+32470123456"), ChannelView("telegram", "123456789")),
        messages_sent=3)
    for channel in ("sms", "telegram"):
        chat = member("ar", channel=channel)
        chat.directory = directory
        chat.says("القائمة")
        number = chat.choice_keys.index("my_data") + 1
        text = "\n".join(m.text for m in chat.says(str(number)))
        assert "sms" in text and "، telegram" in text, text
    health = [MeterHealth(meter_id=n, sensor=f"H0{n}", household_id=n, flags=["silent"],
                          household_ref=f"H0{n}") for n in (1, 2)]
    digest = digest_text(translator("ar"), MeterDigest(community_id=1, day=NOW.date(), count=2,
                                                      items=health), "Europe/Brussels")
    assert "؛ " in digest and "; " not in digest


# -- a facilitator is not sent to "your facilitator" ----------------------------------------

@pytest.mark.parametrize("locale", ["fr", "ar", "en"])
def test_staff_are_not_told_to_ask_their_facilitator(locale: str) -> None:
    t = translator(locale)
    facilitator_word = {"fr": "animateur", "ar": "منسق", "en": "facilitator"}[locale]
    resident = no_meter_text(t)
    assert facilitator_word in resident
    for role in ("facilitator", "technician"):
        assert facilitator_word not in no_meter_text(t, role)
        community = Community(id=1, slug="c", name="C", join_code="C")
        alert = Alert(id=1, community_id=1, starts_at=NOW, ends_at=NOW + timedelta(hours=1))
        assert facilitator_word not in own_result_text(t, alert, community, None, role)
        assert facilitator_word in own_result_text(t, alert, community, None)
    # Through the menu: a facilitator whose home has no meter asks for a chart.
    chat = member(locale, channel="telegram")
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    assert chat.says("chart")[0].text.startswith(no_meter_text(t, Role.FACILITATOR))


# -- after an erasure or a refusal, a greeting is answered in its own language --------------

def _sms(engine: Engine, address: str, text: str, step: int, settings: Settings
         ) -> list[str]:
    rows = handle_incoming(engine, IncomingMessage("sms", address, text, f"{address}-{step}"),
                           clock=lambda: NOW, settings=settings)
    return [str(row.payload["locale"]) for row in rows]


@pytest.mark.parametrize(("locale", "greeting", "expected"), [
    ("es", "¡Hola!", "¡Hola! Soy Voisins"), ("ar", "مرحبا", "مرحبًا! أنا Voisins"),
    ("nl", "Goedemorgen", "Hallo! Ik ben Voisins"),
])
def test_after_erasure_a_greeting_is_answered_in_its_language_by_sms(
        engine: Engine, fake_twilio: FakeTwilio, locale: str, greeting: str,
        expected: str) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: NOW)
    settings = settings_for(twilio=fake_twilio)
    address = "+32470999001"
    number = str(SUPPORTED_LOCALES.index(locale) + 1)
    dialogue = ["JOIN VOISINS", number, "yes", "skip", "menu"]
    for step, text in enumerate(dialogue):
        _sms(engine, address, text, step, settings)
    chat = member(locale)
    chat.says("menu")
    erase = str(chat.choice_keys.index("forget_me") + 1)
    _sms(engine, address, erase, 10, settings)
    _sms(engine, address, "1", 11, settings)  # yes, erase
    assert _sms(engine, address, greeting, 12, settings) == [locale]
    dispatch_due(engine, build_senders(engine, settings), clock=lambda: NOW, limit=100)
    assert fake_twilio.bodies_to(address)[-1].startswith(expected)


@pytest.mark.parametrize(("greeting", "locale"), [("مرحبا", "ar"), ("Hola", "es"),
                                                  ("Bonjour", "fr"), ("hello", "en")])
def test_after_refusing_consent_a_greeting_is_answered_in_its_language(
        greeting: str, locale: str) -> None:
    community = replace(DEMO, default_locale="nl")  # neither the community's language...
    chat = Conversation(who=Who(channel="console", locale="nl"),
                        directory=MemoryDirectory(communities={"SOLEIL": community}))
    chat.says("JOIN SOLEIL")
    chat.says("4")  # ...nor the one picked before refusing
    chat.says("لا")
    (reply,) = chat.says(greeting)
    assert reply.locale == locale
    assert reply.text == translator(locale).gettext(
        "Hello! I am Voisins, the bot of your energy community. To join, send JOIN "
        "followed by the code your facilitator gave you, for example: JOIN ABC123")


def test_a_message_that_greets_in_no_language_keeps_the_default() -> None:
    chat = Conversation(who=Who(channel="sms", locale="fr"))
    assert chat.says("ok")[0].locale == "fr"
    assert chat.says("12")[0].locale == "fr"


# -- the consent names meter data -----------------------------------------------------------

def test_the_consent_says_meter_readings_are_kept() -> None:
    expected = {"fr": "les relevés du compteur de votre logement",
                "nl": "de meterstanden van je woning", "en": "your home's meter readings",
                "ar": "قراءات عدادك", "es": "las lecturas del contador de tu casa"}
    for locale in SUPPORTED_LOCALES:
        notice, _ = consent_parts(Who(channel="sms", locale=locale))
        assert expected[locale] in notice
        assert len(render_sms({"text": notice, "locale": locale})) == 1  # still one SMS
    assert Settings(_env_file=None).consent_version != "2026-11.2"  # type: ignore[call-arg]
