"""The questionnaire flow as residents live it: typed on SMS, tapped on Telegram, in 5 languages."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.console import render_text
from bot.conversation.router import route
from bot.flows import menu
from bot.flows import questionnaire as flow
from bot.flows.base import FlowResult, FlowState, Who
from bot.flows.questionnaire import QuestionnaireState
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.db import make_engine, migrate, session_scope
from core.messages import IncomingMessage, OutgoingMessage
from core.models import Community, Contact
from core.questionnaires.content import CONTENT_DIR, load_content, load_yaml
from core.questionnaires.definition import Definition, localized, parse_definition, value_fits
from core.questionnaires.export import research_rows_csv
from core.questionnaires.responses import (
    CompleteResponse,
    ExpireResponse,
    RecordAnswer,
    apply_questionnaire_effect,
    start_response,
    unfinished_contact_ids,
)
from core.questionnaires.results import results_for
from core.questionnaires.storage import (
    Questionnaire,
    QuestionnaireLookup,
    Response,
    SqlQuestionnaires,
    StaticQuestionnaires,
)
from core.questionnaires.walk import is_visible
from tests.fakes.directory import DEMO, MemoryDirectory

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
POST_ALERT = load_yaml(CONTENT_DIR / "post_alert.yaml")
GENERAL = load_yaml(CONTENT_DIR / "general_survey.yaml")
ISOLATES = str.maketrans("", "", "\u2068\u2069")


def texts(word: str) -> dict[str, str]:
    return {locale: f"{word} ({locale})" for locale in SUPPORTED_LOCALES}


TINY = parse_definition({
    "slug": "tiny",
    "title": texts("Tiny"),
    "questions": [
        {"id": "colour", "type": "single_choice", "optional": True, "text": texts("Colour?"),
         "options": [{"code": "red", "label": texts("Red")},
                     {"code": "blue", "label": texts("Blue")}]},
        {"id": "size", "type": "number", "min": 1, "max": 20, "text": texts("People?")},
        {"id": "ok", "type": "yes_no", "text": texts("OK?")},
    ],
})
LOOKUP = StaticQuestionnaires({1: POST_ALERT, 2: GENERAL, 3: TINY})


class LookupDirectory(MemoryDirectory):
    def __init__(self, lookup: QuestionnaireLookup) -> None:
        super().__init__()
        self.lookup = lookup

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        return self.lookup.questionnaire(questionnaire_id)


def step(message: IncomingMessage, who: Who, state: FlowState, lookup: QuestionnaireLookup,
         now: datetime) -> FlowResult:
    """One reply, as the router hands it over: the stored state validated first."""
    typed = QuestionnaireState.model_validate({**state.data, "step": state.step})
    return flow.QUESTIONNAIRE.step(replace(message, received_at=now), who, typed,
                                   LookupDirectory(lookup))


@dataclass
class Survey:
    """A resident answering one questionnaire; effects applied like the inbox would."""

    questionnaire_id: int
    locale: str = "fr"
    channel: str = "sms"
    now: datetime = NOW
    state: FlowState = field(default_factory=FlowState)
    stored: dict[str, Any] = field(default_factory=dict)
    effects: list[Any] = field(default_factory=list)
    completed: bool = False
    last: tuple[OutgoingMessage, ...] = ()

    def __post_init__(self) -> None:
        self._take(flow.start(self.who, self.questionnaire_id, 50, LOOKUP,
                              expires_at=NOW + timedelta(hours=72)))

    @property
    def who(self) -> Who:
        return Who(channel=self.channel, locale=self.locale, contact_id=7)

    @property
    def definition(self) -> Definition:
        definition = LOOKUP.questionnaire(self.questionnaire_id)
        assert definition is not None
        return definition

    def says(self, text: str, choice_key: str | None = None) -> Survey:
        message = IncomingMessage(channel=self.channel, address="+32470000000", text=text,
                                  provider_id="p", choice_key=choice_key)
        self._take(step(message, self.who, self.state, LOOKUP, self.now))
        return self

    def taps(self, code: str) -> Survey:
        question_id = self.state.data["question"]
        return self.says("", choice_key=f"q:{question_id}:{code}")

    def _take(self, result: FlowResult) -> None:
        assert result.replies
        # The state is stored as JSON between messages.
        self.state = FlowState(result.state.flow, result.state.step,
                               json.loads(json.dumps(result.state.data)))
        self.last = result.replies
        for effect in result.effects:
            self.effects.append(effect)
            if isinstance(effect, RecordAnswer):
                question = self.definition.question(effect.question_id)
                assert question is not None and value_fits(question, effect.value), effect
                assert effect.question_id not in self.stored, "an answer is never overwritten"
                self.stored[effect.question_id] = effect.value
            elif isinstance(effect, CompleteResponse):
                self.completed = True

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.last).translate(ISOLATES)

    @property
    def asking(self) -> str | None:
        return self.state.data.get("question") if self.state.flow == flow.FLOW else None

    @property
    def keys(self) -> list[str]:
        return [c.key for m in self.last for c in m.choices]


def label(definition: Definition, question_id: str, code: str, locale: str) -> str:
    question = definition.question(question_id)
    assert question is not None
    option = next(o for o in question.options if o.code == code)
    return localized(option.label, locale)


YES = {"fr": "oui", "nl": "ja", "en": "yes", "ar": "نعم", "es": "sí"}
NO = {"fr": "Non", "nl": "nee", "en": "no", "ar": "لا", "es": "no"}
SKIP = {"fr": "PASSER", "nl": "overslaan", "en": "skip", "ar": "تخطي", "es": "saltar"}


# --------------------------------------------------------------------------------------------
# Whole questionnaires, typed, in every language
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_post_alert_typed_in_every_language(locale: str) -> None:
    survey = Survey(1, locale)
    t = translator(locale)
    assert survey.text.startswith(localized(POST_ALERT.intro or {}, locale))
    # "What did you do?" follows up "Did you use less?": it is not counted on its own.
    assert "1/5 " + localized(POST_ALERT.questions[0].text, locale) in survey.text
    survey.says(YES[locale])
    assert "2/5" in survey.text
    survey.says(label(POST_ALERT, "lowered", "a_little", locale))
    assert survey.asking == "actions" and "2/5" in survey.text
    assert t.gettext("You can choose several, for example: 1 3") in survey.text
    survey.says("1 3")
    survey.says("4")
    survey.says(label(POST_ALERT, "longer_possible", "maybe", locale).lower())
    assert survey.asking == "comment" and "5/5" in survey.text
    survey.says(SKIP[locale])
    assert survey.stored == {"at_home": True, "lowered": "a_little",
                             "actions": ["postponed_washing", "cooked_differently"],
                             "difficulty": 4, "longer_possible": "maybe", "comment": None}
    assert survey.completed and survey.state.flow == "menu"
    # The thanks ends the step: with the hint to send MENU (SMS).
    assert survey.text == "\n".join([localized(POST_ALERT.outro or {}, locale),
                                     t.gettext("Send MENU for options.")])
    assert all(m.locale == locale for m in survey.last)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_post_alert_not_at_home_skips_what_you_did(locale: str) -> None:
    survey = Survey(1, locale)
    survey.says(NO[locale]).says("3")  # not at home, did not lower use
    assert survey.asking == "difficulty"
    assert "3/5" in survey.text  # "what you did" no longer counts
    survey.says("1").says("1").says("Je travaillais")
    assert survey.completed
    assert "actions" not in survey.stored and survey.stored["comment"] == "Je travaillais"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_general_survey_every_type(locale: str) -> None:
    survey = Survey(2, locale)
    survey.says({"fr": "4 personnes", "nl": "4", "en": "we are 4", "ar": "٤", "es": "4"}[locale])
    survey.says(label(GENERAL, "heating", "heat_pump", locale))
    survey.says("2")
    survey.says("1,3")
    survey.says("1 2 4")
    survey.says("4")
    survey.says("1, 2, 3")
    survey.says(label(GENERAL, "brings_closer", "a_little", locale))
    survey.says("Plus de rencontres 🙂")
    assert survey.completed
    assert survey.stored == {
        "household_size": 4, "heating": "heat_pump", "hot_water": "electric_boiler",
        "appliances": ["washing_machine", "dishwasher"],
        "motivations": ["citizen_project", "learn", "social_ties"],
        "community_first": "energy_poverty",
        "share_with": ["energy_poverty_households", "close_neighbours", "local_associations"],
        "brings_closer": "a_little", "comment": "Plus de rencontres 🙂"}


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_choices_render_as_numbered_options_and_buttons(locale: str) -> None:
    t = translator(locale)
    survey = Survey(1, locale)
    sms = render_text(survey.last[-1].to_payload())
    assert f"  1. {t.gettext('Yes')}" in sms and f"  2. {t.gettext('No')}" in sms
    assert survey.keys == ["q:at_home:yes", "q:at_home:no"]
    survey.says("1").says("1")
    sms = render_text(survey.last[-1].to_payload())
    for number, code in enumerate(POST_ALERT.question("actions").codes, start=1):  # type: ignore[union-attr]
        assert f"  {number}. {label(POST_ALERT, 'actions', code, locale)}" in sms
    survey.says("2")
    assert len(survey.keys) == 5
    scale = render_text(survey.last[-1].to_payload())
    low = localized(POST_ALERT.question("difficulty").low or {}, locale)  # type: ignore[union-attr]
    assert f"  1. 1 ({low})" in scale.translate(ISOLATES) and "  3. 3\n" in scale
    survey.says("2").says("1")
    assert survey.keys[-1] == "q:comment:skip"
    assert render_text(survey.last[-1].to_payload()).endswith(f"  1. {t.gettext('Skip')}")


def test_button_keys_fit_telegram_callback_data() -> None:
    for questionnaire_id, definition in ((1, POST_ALERT), (2, GENERAL)):
        for question in definition.questions:
            choices = flow._choices(Who(channel="telegram", locale="ar"), question)
            assert all(len(c.key.encode()) <= 64 for c in choices), question.id
            assert len({c.key for c in choices}) == len(choices)
        assert questionnaire_id


# --------------------------------------------------------------------------------------------
# Buttons (Telegram, WhatsApp)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_tapped_answers(locale: str) -> None:
    survey = Survey(1, locale, channel="telegram")
    survey.taps("yes").taps("yes").taps("switched_off").taps("5").taps("no").taps("skip")
    assert survey.stored == {"at_home": True, "lowered": "yes", "actions": ["switched_off"],
                             "difficulty": 5, "longer_possible": "no", "comment": None}
    assert survey.completed


def test_stale_or_foreign_buttons_do_not_answer() -> None:
    survey = Survey(1, "en", channel="telegram")
    survey.taps("no")
    survey.says("", choice_key="q:at_home:yes")  # the first question's button, again
    assert survey.asking == "lowered" and survey.stored == {"at_home": False}
    assert survey.text.startswith("Let's continue the survey.\n2/5 ")
    assert survey.state.data["invalid"] == 0
    survey.says("", choice_key="q:lowered:maybe")  # no such option
    survey.says("", choice_key="q:lowered:skip")  # required
    assert survey.stored == {"at_home": False}
    assert "we will come back to this question at the end" in survey.text


# --------------------------------------------------------------------------------------------
# Invalid replies, skipping, deferring
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_invalid_reply_explains_then_optional_is_skipped(locale: str) -> None:
    t = translator(locale)
    survey = Survey(3, locale)
    survey.says("7")
    expected = t.gettext("Please reply with the number of one answer, from 1 to {max}.", max=2)
    assert expected.translate(ISOLATES) in survey.text
    assert t.gettext("Or reply SKIP to pass this question.") in survey.text
    assert survey.asking == "colour" and survey.stored == {}
    survey.says("purple")
    assert survey.stored == {"colour": None}
    assert t.gettext("Let's skip this one.") in survey.text and survey.asking == "size"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_skip_word_and_skip_number(locale: str) -> None:
    survey = Survey(3, locale)
    survey.says(SKIP[locale])
    assert survey.stored == {"colour": None}
    survey = Survey(3, locale)
    survey.says("3")  # Skip is the third choice
    assert survey.stored == {"colour": None}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_required_question_out_of_range_is_moved_to_the_end_then_dropped(locale: str) -> None:
    t = translator(locale)
    survey = Survey(3, locale)
    survey.says("1")
    survey.says(SKIP[locale])
    assert t.gettext("This question cannot be skipped, but a short answer is enough.") \
        in survey.text
    range_text = t.gettext("Please reply with a number from {min} to {max}.", min=1, max=20)
    assert range_text.translate(ISOLATES) in survey.text and survey.asking == "size"
    survey.says("25")
    assert t.gettext("No problem, we will come back to this question at the end.") \
        in survey.text
    assert survey.asking == "ok"
    survey.says(YES[locale])
    assert survey.asking == "size" and not survey.completed  # asked once more, at the end
    survey.says("4")
    assert survey.completed and survey.stored == {"colour": "red", "ok": True, "size": 4}

    survey = Survey(3, locale)
    survey.says("1").says("x").says("y").says("1").says("zero").says("none")
    assert survey.completed and survey.stored == {"colour": "red", "ok": True}


def test_last_required_question_is_asked_once_more_at_once() -> None:
    survey = Survey(3, "en")
    survey.says("2").says("2").says("maybe").says("perhaps")
    assert "Let's try once more." in survey.text and survey.asking == "ok"
    survey.says("?!").says("hmm")
    assert survey.completed and survey.stored == {"colour": "blue", "size": 2}


# --------------------------------------------------------------------------------------------
# Expiry, resume, vanished questionnaire
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_late_answer_gets_a_polite_closed(locale: str) -> None:
    survey = Survey(1, locale)
    survey.says("1")
    survey.now = NOW + timedelta(hours=72, minutes=1)
    survey.says("2")
    t = translator(locale)
    assert t.gettext("Thank you! This survey is closed now, so there is nothing more to do.") \
        in survey.text
    assert survey.effects[-1] == ExpireResponse(50)
    assert survey.stored == {"at_home": True}
    assert survey.state.flow == "menu"


def test_closed_survey_expires_the_response() -> None:
    who = Who(channel="sms", locale="nl", contact_id=7)
    result = flow.closed(who, 4)
    assert result.effects == (ExpireResponse(4),)
    assert result.state.flow == "menu"


def _member(locale: str) -> Who:
    return Who(channel="sms", locale=locale, contact_id=7, community=DEMO)


def _route(text: str, who: Who, state: FlowState) -> FlowResult:
    message = IncomingMessage(channel="sms", address="+32", text=text, provider_id="p",
                              received_at=NOW)
    result = route(message, who, state, LookupDirectory(LOOKUP))
    # Stored as JSON between messages.
    return FlowResult(result.replies, FlowState(result.state.flow, result.state.step,
                                                json.loads(json.dumps(result.state.data))),
                      result.effects)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_resume_after_a_detour_through_the_menu(locale: str) -> None:
    survey = Survey(1, locale)
    survey.says("1").says("1")
    assert survey.asking == "actions"
    # MENU keeps the questionnaire paused; "Continue where we left off" comes last.
    shown = _route("menu", _member(locale), survey.state)
    keys = [c.key for c in shown.replies[0].choices]
    assert keys[-1] == menu.RESUME
    other = "ar" if locale != "ar" else "es"  # the resident changed language meanwhile
    result = _route(str(len(keys)), _member(other), shown.state)
    assert result.state == survey.state
    assert localized(POST_ALERT.question("actions").text, other) in result.replies[0].text  # type: ignore[union-attr]
    assert len(result.replies[0].choices) == 6
    assert "2/5" in result.replies[0].text.translate(ISOLATES)
    survey.state = result.state
    survey.says("2 4")
    assert survey.stored["actions"] == ["switched_off", "lowered_heating"]


def test_reminder_picks_up_where_the_resident_stopped() -> None:
    who = Who(channel="sms", locale="es", contact_id=7)
    result = flow.start(who, 1, 50, LOOKUP, NOW + timedelta(hours=48),
                        answers={"at_home": True, "lowered": "no", "bogus": 1},
                        intro="¿Seguimos?")
    assert result.state.data["answers"] == {"at_home": True, "lowered": "no"}
    assert result.state.data["question"] == "difficulty"
    assert result.replies[0].text.startswith("¿Seguimos?\n3/5 ")
    done = flow.start(who, 3, 50, LOOKUP, NOW, answers={"colour": "red", "size": 2, "ok": False})
    assert done.effects == (CompleteResponse(50),) and done.state.flow == "menu"


def test_vanished_questionnaire_or_odd_state_goes_to_the_menu() -> None:
    who = _member("fr")
    t = translator("fr")
    gone = _route("1", who, FlowState(flow.FLOW, flow.STEP,
                                      {"questionnaire_id": 99, "response_id": 1}))
    assert gone.state.flow == "menu" and not gone.effects
    assert gone.replies[0].text.startswith(
        t.gettext("This survey is no longer available. Thank you all the same!"))
    for data in ({}, {"questionnaire_id": "x", "response_id": 3},
                 {"questionnaire_id": 1, "response_id": None}, {"questionnaire_id": 1}):
        odd = FlowState(flow.FLOW, flow.STEP, data)
        result = _route("1", who, odd)
        assert result.state.flow == "menu" and not result.effects
        assert result.replies[0].text.startswith(
            t.gettext("Sorry, I lost track of our conversation, so let's start again."))
        # The same from "Continue where we left off".
        paused = _route("menu", who, odd)
        resumed = _route(str(len(paused.replies[0].choices)), who, paused.state)
        assert resumed.replies[0].text.startswith(
            t.gettext("Sorry, I lost track of our conversation, so let's start again."))
    assert flow.start(who, 99, 1, LOOKUP, NOW).state.flow == "menu"


def test_corrupted_answers_in_state_are_ignored() -> None:
    survey = Survey(3, "fr")
    survey.state = FlowState(flow.FLOW, flow.STEP, {
        **survey.state.data, "answers": {"colour": "purple", "size": True, "zzz": 1},
        "deferred": "oops", "dropped": [3], "invalid": "x"})
    survey.says("2")
    assert survey.stored == {"colour": "blue"} and survey.asking == "size"


# --------------------------------------------------------------------------------------------
# Property: arbitrary replies never crash and never corrupt answers
# --------------------------------------------------------------------------------------------

replies = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["1", "2", "3", "7", "0", "-1", "1 3", "1,3", "١ ٣", "13", "99999999",
                     "oui", "non", "نعم", "skip", "PASSER", "تخطي", "saltar", "overslaan", "",
                     " ", "🙂", "=cmd()", "\x00", "4 personnes", "menu"]),
    st.tuples(st.just("button"), st.sampled_from(
        ["yes", "no", "skip", "1", "5", "9", "other", "gas", "a_little", "x" * 70])),
    st.tuples(st.just("stale"), st.sampled_from(["q:at_home:yes", "q:size:1", "alert:1:in",
                                                 "q:", "q:comment"])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(questionnaire_id=st.sampled_from([1, 2, 3]), locale=st.sampled_from(SUPPORTED_LOCALES),
       channel=st.sampled_from(["sms", "telegram", "whatsapp"]),
       sequence=st.lists(replies, min_size=1, max_size=25))
def test_arbitrary_replies_never_crash_nor_corrupt(questionnaire_id: int, locale: str,
                                                   channel: str, sequence: list[Any]) -> None:
    survey = Survey(questionnaire_id, locale, channel=channel)
    for reply in sequence:
        if survey.state.flow != flow.FLOW:
            break
        if isinstance(reply, tuple) and reply[0] == "button":
            survey.taps(reply[1])
        elif isinstance(reply, tuple):
            survey.says("", choice_key=reply[1])
        else:
            survey.says(reply)
        assert all(m.text.strip() and m.locale == locale for m in survey.last)
        if survey.state.flow == flow.FLOW:
            # The state's answers are exactly what was recorded, and all fit.
            assert survey.state.data["answers"] == survey.stored
            assert survey.asking not in survey.stored
    definition = survey.definition
    if survey.completed:
        dropped = survey.state.data.get("dropped", [])
        for question in definition.questions:
            if is_visible(question, survey.stored) and question.id not in survey.stored:
                # Only a required question given up on after two rounds may be missing.
                assert not question.optional or question.id in dropped


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated database for the whole property run (a fresh one per example is slow)."""
    db_engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db')}/voisins.db")
    migrate(db_engine)
    with session_scope(db_engine) as session:
        community = Community(slug="c", name="C", join_code="C1")
        session.add(community)
        session.flush()
        load_content(session, NOW)
    yield db_engine
    db_engine.dispose()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(slug=st.sampled_from(["post_alert", "general_survey"]),
       locale=st.sampled_from(SUPPORTED_LOCALES),
       sequence=st.lists(replies, min_size=1, max_size=20))
def test_stored_answers_stay_valid_whatever_is_typed(shared_engine: Engine, slug: str,
                                                     locale: str, sequence: list[Any]) -> None:
    with session_scope(shared_engine) as session:
        contact = Contact(community_id=1, locale=locale)
        session.add(contact)
        session.flush()
        row = session.exec(select(Questionnaire).where(Questionnaire.slug == slug)).one()
        assert contact.id is not None and row.id is not None
        response = start_response(session, row.id, contact.id, "", locale, NOW)
        assert response.id is not None
        lookup = SqlQuestionnaires(session)
        who = Who(channel="telegram", locale=locale, contact_id=contact.id)
        result = flow.start(who, row.id, response.id, lookup, NOW + timedelta(hours=72))
        for reply in sequence:
            if result.state.flow != flow.FLOW:
                break
            key = None
            if isinstance(reply, tuple):
                key = f"q:{result.state.data['question']}:{reply[1]}" \
                    if reply[0] == "button" else reply[1]
            message = IncomingMessage(channel="telegram", address="1",
                                      text="" if key else reply, provider_id="p",
                                      choice_key=key)
            result = step(message, who, result.state, lookup, NOW)
            for effect in result.effects:
                assert apply_questionnaire_effect(session, contact.id, effect, NOW)  # type: ignore[arg-type]
            session.flush()
            session.refresh(response)
            if result.state.flow == flow.FLOW:
                assert response.answers == result.state.data["answers"]
        definition = lookup.questionnaire(row.id)
        assert definition is not None
        for question_id, value in response.answers.items():
            question = definition.question(question_id)
            assert question is not None and value_fits(question, value)


# --------------------------------------------------------------------------------------------
# With the database: effects applied by core, results and CSV match the answers given
# --------------------------------------------------------------------------------------------

def test_post_alert_cycle_results_and_csv_match(engine: Engine) -> None:
    with session_scope(engine) as session:
        # k = 1 so that three residents show every count (the k rules: tests/core).
        community = Community(slug="c", name="C", join_code="C1", privacy_k=1)
        session.add(community)
        session.flush()
        assert community.id is not None
        contacts = []
        for locale in ("fr", "ar", "nl"):
            contact = Contact(community_id=community.id, locale=locale, consent_version="v1")
            session.add(contact)
            session.flush()
            contacts.append(contact)
        (post_alert,) = [r for r in load_content(session, NOW) if r.slug == "post_alert"]
        assert post_alert.id is not None
        lookup_id = post_alert.id
        scripts = {"fr": ["oui", "1", "1 2", "2", "1", "Facile"], "ar": ["نعم", "3"], "nl": []}
        for contact in contacts:
            assert contact.id is not None
            response = start_response(session, lookup_id, contact.id, "alert:42", contact.locale,
                                      NOW)
            assert response.id is not None
            who = Who(channel="sms", locale=contact.locale, contact_id=contact.id)
            lookup = StaticQuestionnaires({lookup_id: POST_ALERT})
            result = flow.start(who, lookup_id, response.id, lookup, response.expires_at
                                or NOW)
            for text in scripts[contact.locale]:
                message = IncomingMessage(channel="sms", address="+32", text=text,
                                          provider_id="p")
                result = step(message, who, result.state, lookup, NOW)
                for effect in result.effects:
                    assert apply_questionnaire_effect(session, contact.id, effect, NOW)  # type: ignore[arg-type]
        ar, nl = (c.id or 0 for c in contacts[1:])
        assert unfinished_contact_ids(session, lookup_id, "alert:42", NOW) == sorted([ar, nl])
        results = results_for(session, lookup_id, context="alert:42")
        assert results is not None
        assert results.responses == 3 and results.completed == 1
        by_id = {r.question_id: r for r in results.questions}
        counts = {r.question_id: r.counts or {} for r in results.questions}
        assert by_id["at_home"].counts == {"yes": 2, "no": 0}
        assert by_id["at_home"].by_locale == {"fr": {"yes": 1, "no": 0},
                                              "ar": {"yes": 1, "no": 0}}
        assert by_id["lowered"].counts == {"yes": 1, "a_little": 0, "no": 1}
        assert counts["actions"]["postponed_washing"] == 1
        assert counts["actions"]["switched_off"] == 1
        assert by_id["comment"].texts == ["Facile"]
        assert results.by_locale["nl"] == {"responses": 1, "completed": 0}
        exported = research_rows_csv(session, lookup_id, {"v1"})
        assert exported is not None
        rows = {str(r["language"]): r for r in csv.DictReader(io.StringIO(exported))}
        assert rows["fr"]["actions"] == "postponed_washing;switched_off"
        assert rows["fr"]["status"] == "completed" and rows["fr"]["difficulty"] == "2"
        assert rows["ar"]["lowered"] == "no" and rows["ar"]["difficulty"] == ""
        assert rows["nl"]["at_home"] == "" and rows["nl"]["status"] == "started"
    with Session(engine) as session:
        stored = session.get(Response, 1)
        assert stored is not None and stored.answers["actions"] == ["postponed_washing",
                                                                    "switched_off"]


def _valid_reply(question: Any) -> str:
    if question.type.value == "number":
        return str(question.min if question.min is not None else 1)
    if question.type.value == "text":
        return "ok"
    if question.type.value == "multi_choice":
        return "1 2"
    return "1"


@pytest.mark.parametrize("questionnaire_id", [1, 2])
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_question_on_the_terminal_telegram_and_sms_renderings(
        questionnaire_id: int, locale: str) -> None:
    """Each question as the terminal prints it, as Telegram's inline keyboard and as an SMS
    with numbered options and "Reply 1, 2 or 3" in the reader's language."""
    from bot.channels.rendering import choices_of, numbered_text, reply_hint, telegram_keyboard

    survey = Survey(questionnaire_id, locale)
    seen_types = set()
    while survey.asking is not None:
        question = survey.definition.question(survey.asking)
        assert question is not None
        seen_types.add(question.type.value)
        payload = survey.last[-1].to_payload()
        choices = choices_of(payload)
        terminal = render_text(payload)
        sms = numbered_text(str(payload["text"]), choices, locale)
        keyboard = telegram_keyboard(choices)
        if choices:
            assert keyboard is not None
            buttons = [b for row in keyboard["inline_keyboard"] for b in row]
            assert [b["text"] for b in buttons] == [c.label for c in choices]
            assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
            assert sms.endswith(reply_hint(len(choices), locale))
            for number, choice in enumerate(choices, start=1):
                assert f"{number}. {choice.label}" in sms
                assert f"  {number}. {choice.label}" in terminal
        else:
            assert keyboard is None and sms == payload["text"]
        survey.says(_valid_reply(question))
    assert survey.completed
    if questionnaire_id == 1:
        assert {"yes_no", "single_choice", "multi_choice", "scale", "text"} <= seen_types
    else:
        assert "number" in seen_types
