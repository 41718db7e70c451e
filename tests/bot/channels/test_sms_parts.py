"""What goes out by SMS: every SMS within two segments, and a message in at most two SMS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from bot.channels.rendering import render_sms
from bot.channels.senders import build_senders
from bot.channels.sms_segments import (
    count_segments,
    fits,
    is_gsm7,
    sms_parts,
    sms_text,
    to_gsm7,
)
from bot.flows.alert import AlertMessages
from bot.flows.base import ChannelView, StoredFacts, Who
from bot.flows.questionnaire import _question_message
from bot.outbound.dispatch import dispatch_due
from core import outbox
from core.alerts import Alert, AlertStage
from core.communities import create_community
from core.config import SUPPORTED_LOCALES
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity
from core.messages import OutgoingMessage
from core.models import Community, Contact, Role
from core.questionnaires.content import content_files, load_yaml
from tests.bot.channels.conftest import settings_for
from tests.bot.flows.conversation import Conversation, member
from tests.fakes.community import CONSENT
from tests.fakes.directory import DEMO, MemoryDirectory
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
# The longest names we expect: a community named in full, a contact's full name.
LONG_COMMUNITY = "Communauté d'énergie des Tilleuls — Bloc C"
LONG_NAME = "Marie-Françoise Vandenbroucke"


def _sms(messages: tuple[OutgoingMessage, ...]) -> list[list[str]]:
    return [render_sms(message.to_payload()) for message in messages]


def _assert_within_budget(sent: list[list[str]], most_sms: int = 2) -> None:
    for parts in sent:
        assert len(parts) <= most_sms, parts
        for part in parts:
            assert count_segments(part).segments <= 2, (count_segments(part), part)


# -- folding and cutting -------------------------------------------------------------------

def test_accents_are_kept_when_the_text_fits() -> None:
    assert sms_parts("Êtes-vous prêt·e ?") == ["Êtes-vous prêt·e ?"]


def test_accents_gsm7_lacks_are_dropped_only_to_save_segments() -> None:
    text = "Mieux connaître mes voisins, ¿cómo está? " * 4
    (sent,) = sms_parts(text)
    assert is_gsm7(sent) and "connaitre" in sent and "¿como esta?" in sent
    assert count_segments(text).segments == 3 and count_segments(sent).segments == 2


def test_gsm7_keeps_its_own_accents_and_replaces_typography() -> None:
    assert to_gsm7("é è à ù ñ ü Ç « l’été… »") == "é è à ù ñ ü Ç \" l'été... \""
    assert to_gsm7("مرحبا") is None


def test_a_long_arabic_text_is_cut_between_lines() -> None:
    lines = [f"{n}. خيار طويل بعض الشيء رقم {n}" for n in range(1, 9)]
    parts = sms_parts("\n".join(lines))
    assert len(parts) == 2 and all(fits(part) for part in parts)
    assert "\n".join(parts).split("\n") == lines


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab cé\nêشم€"), max_size=900))
def test_any_text_goes_whole_in_sms_within_two_segments(text: str) -> None:
    parts = sms_parts(text)
    assert all(count_segments(part).segments <= 2 for part in parts)
    plain = to_gsm7(text)
    words = (plain if plain is not None and not fits(text) else text).split()
    assert " ".join(parts).split() == words


# -- what an SMS carries: typography phones do not need is plainened ----------------------

def test_no_break_spaces_and_curly_quotes_do_not_make_a_text_ucs2() -> None:
    text = "Voisins : l’alerte dure 2\u00a0heures («\u202f12\u202f%\u202f») — merci…"
    assert not is_gsm7(text)
    assert sms_text(text) == 'Voisins : l\'alerte dure 2 heures (" 12 % ") - merci...'
    assert is_gsm7(sms_text(text)) and sms_parts(text) == [sms_text(text)]


def test_arabic_loses_its_invisible_direction_marks_and_keeps_its_quotes() -> None:
    text = "من Voisins: أرسل «انضمام \u2068VOISINS\u2069» الساعة \u206817:00\u2069\u200f"
    assert sms_text(text) == "من Voisins: أرسل «انضمام VOISINS» الساعة 17:00"
    assert count_segments(sms_text(text)).units == count_segments(text).units - 5


def test_typography_stays_where_the_text_is_ucs2_anyway() -> None:
    # "ê" needs UCS-2 whatever the quotes; letters are only ever changed by ``to_gsm7``.
    assert sms_text("Prêt\u00a0? «\u00a0oui\u00a0»") == "Prêt ? « oui »"


# -- every alert text, every duration from 30 minutes to 6 hours ---------------------------

ALERT_STAGES = (AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN, AlertStage.START,
                AlertStage.END, AlertStage.CANCELLATION)
DURATIONS = range(30, 6 * 60 + 1, 15)
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # Thursday 17:00 in Brussels
# The longest weekday and time each language can get (Wednesday / mercredi / woensdag...).
STARTS = [START - timedelta(days=1), START + timedelta(hours=5, minutes=45)]


def _alert_payloads(locale: str, drill: bool = False) -> list[tuple[str, dict[str, object]]]:
    community = Community(id=1, slug="c", name="C", join_code="C", timezone="Europe/Brussels")
    contact = Contact(id=1, community_id=1, locale=locale)
    payloads = []
    for starts_at in STARTS:
        for minutes in DURATIONS:
            alert = Alert(id=987654, community_id=1, starts_at=starts_at,
                          ends_at=starts_at + timedelta(minutes=minutes), drill=drill)
            for stage in ALERT_STAGES:
                rendered = AlertMessages().render(stage, alert, community, contact)
                payloads.append((f"{stage.value} {minutes} min", rendered.payload))
    return payloads


@pytest.mark.parametrize("drill", [False, True], ids=["alert", "drill"])
@pytest.mark.parametrize("locale", ["fr", "nl", "en", "es"])
def test_every_alert_text_is_one_gsm7_sms_segment(locale: str, drill: bool) -> None:
    # A drill's texts say "Voisins (exercise): …" and still fit.
    too_long = {}
    for case, payload in _alert_payloads(locale, drill):
        assert "\u00a0" not in str(payload["text"]) and "\u202f" not in str(payload["text"])
        (sent,) = render_sms(payload)
        count = count_segments(sent)
        if count.encoding != "GSM-7" or count.segments != 1:
            too_long[case] = (count, sent)
    assert too_long == {}


@pytest.mark.parametrize("drill", [False, True], ids=["alert", "drill"])
def test_every_arabic_alert_text_is_one_sms_within_two_segments(drill: bool) -> None:
    for case, payload in _alert_payloads("ar", drill):
        (sent,) = render_sms(payload)
        assert count_segments(sent).segments <= 2, (case, count_segments(sent), sent)
        assert not set("\u2066\u2067\u2068\u2069") & set(sent), case


def test_a_french_two_hour_notice_reaches_twilio_as_one_plain_segment(
        engine: Engine, fake_twilio: FakeTwilio) -> None:
    """The case that cost two segments: "2 heures" came from Babel with a non-breaking space."""
    address = "+32470555222"
    with session_scope(engine) as session:
        community = create_community(session, "c", "C", join_code="CCC")
        assert community.id is not None
        identity = touch_identity(session, "sms", address, T0)
        contact = enrol_contact(session, identity, community.id, "fr", CONSENT, T0)
        alert = Alert(id=5, community_id=community.id, starts_at=START,
                      ends_at=START + timedelta(hours=2))
        payload = AlertMessages().render(AlertStage.NOTICE_24H, alert, community,
                                         contact).payload
        outbox.enqueue(session, dedupe_key="alert:5:notice_24h:contact:1", identity=identity,
                       kind="alert_notice_24h", payload=payload, now=T0)
    dispatch_due(engine, build_senders(engine, settings_for(twilio=fake_twilio)),
                 clock=lambda: T0)
    (body,) = fake_twilio.bodies_to(address)
    assert body == ("Voisins : alerte réseau jeudi à 17:00, pendant 2 heures. "
                    "Pouvez-vous consommer moins à ce moment-là ? Merci !")
    count = count_segments(body)
    assert (count.encoding, count.segments) == ("GSM-7", 1)


# -- every template that goes by SMS -------------------------------------------------------

def _questions() -> list[tuple[str, str, str]]:
    return [(path.stem, question.id, locale) for path in content_files()
            for question in load_yaml(path).questions for locale in SUPPORTED_LOCALES]


@pytest.mark.parametrize(("questionnaire", "question_id", "locale"), _questions())
def test_every_survey_question_goes_in_at_most_two_sms(questionnaire: str, question_id: str,
                                                       locale: str) -> None:
    (path,) = [p for p in content_files() if p.stem == questionnaire]
    definition = load_yaml(path)
    (question,) = [q for q in definition.questions if q.id == question_id]
    total = len(definition.questions)
    message = _question_message(Who(channel="sms", locale=locale, contact_id=7), question,
                                total, total)
    sent = _sms((message,))
    _assert_within_budget(sent)
    if locale != "ar":  # Latin scripts fit in one SMS (without a few accents if need be)
        assert len(sent[0]) == 1, sent


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_facilitator_menu_and_its_screens(locale: str) -> None:
    chat = member(locale)
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    sent = _sms(chat.says("menu"))
    for number in range(1, len(chat.choice_keys) + 1):
        chat.says("menu")
        replies = chat.says(str(number), at=T0)
        # The WhatsApp share kits are for forwarding to a group, with their wa.me link: not
        # texts written for SMS (the dialogue driver renders them since it applies effects).
        sent += _sms(tuple(m for m in replies if "wa.me/" not in m.text))
    _assert_within_budget(sent)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_my_data_with_a_long_name_and_two_channels(locale: str) -> None:
    directory = MemoryDirectory()
    directory.facts[7] = StoredFacts(
        name=LONG_NAME, locale=locale, role="resident", community_name=LONG_COMMUNITY,
        household_ref="BLOC-C-APPT-12", consented_at=T0, consent_version="2026-11.2",
        channels=(ChannelView("sms", "+32470123456"), ChannelView("whatsapp", "+32470123456")),
        messages_sent=1234)
    chat = member(locale)
    chat.directory = directory
    chat.who = replace(chat.who, name=LONG_NAME, community=replace(DEMO, name=LONG_COMMUNITY))
    chat.says("menu")
    (my_data,) = [n for n, key in enumerate(chat.choice_keys, start=1) if key == "my_data"]
    _assert_within_budget(_sms(chat.says(str(my_data))))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_joining_a_community_with_a_long_name(locale: str) -> None:
    community = replace(DEMO, name=LONG_COMMUNITY, default_locale=locale)
    chat = Conversation(who=Who(channel="sms", locale=locale),
                        directory=MemoryDirectory(communities={"SOLEIL": community}))
    sent = _sms(chat.says("hello")) + _sms(chat.says("JOIN SOLEIL"))
    sent += _sms(chat.says(str(SUPPORTED_LOCALES.index(locale) + 1)))
    sent += _sms(chat.says("yes"))
    _assert_within_budget(sent)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_questionnaire_openings_fit_in_one_sms(locale: str) -> None:
    # After every alert, and for every survey sent: the intro with the first question, one
    # SMS in every language (those the reminder resumes at may take two, as above).
    from bot.flows.alert import _survey_intro, drill_label
    from bot.rendering.survey_invitations import campaign_intro
    from core.alerts import AlertStage
    from core.questionnaires.definition import localized

    who = Who(channel="sms", locale=locale, contact_id=7)
    for path in content_files():
        definition = load_yaml(path)
        first = definition.questions[0]
        intros = [localized(definition.intro, locale)] if definition.intro else []
        title = localized(definition.title, locale) if definition.title else ""
        intros += [campaign_intro(who.t, title, reminder) for reminder in (False, True)]
        if path.stem == "post_alert":
            intros += [_survey_intro(who.t, stage)
                       for stage in (AlertStage.END, AlertStage.REMINDER)]
            # After a drill, the same intros marked as an exercise.
            intros += [drill_label(who.t, _survey_intro(who.t, stage))
                       for stage in (AlertStage.END, AlertStage.REMINDER)]
        for intro in intros:
            message = _question_message(who, first, 1, len(definition.questions), intro=intro)
            _assert_within_budget(_sms((message,)), most_sms=1)
