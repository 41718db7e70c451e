"""Questionnaire rules: definitions, content files, reading replies, results, CSV, services."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.i18n import keywords
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.models import Community, Contact
from core.questionnaires import (
    CONTENT_DIR,
    SKIPPED,
    Answers,
    CompleteResponse,
    DefinitionError,
    ExpireResponse,
    Invalid,
    Questionnaire,
    QuestionType,
    Reason,
    RecordAnswer,
    Response,
    ResponseStatus,
    ResponseView,
    aggregate,
    apply_questionnaire_effect,
    complete_response,
    content_files,
    create_questionnaire,
    definition_to_dict,
    expire_responses,
    export_csv,
    list_questionnaires,
    load_content,
    load_yaml,
    new_version,
    next_question,
    parse_answer,
    parse_definition,
    progress,
    pseudonym,
    record_answer,
    response_counts,
    results_for,
    start_response,
    to_csv,
    unfinished_contact_ids,
    value_fits,
)

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


def texts(word: str) -> dict[str, str]:
    return {locale: f"{word} ({locale})" for locale in SUPPORTED_LOCALES}


# Labels as a resident reads them in each language.
HEATING_LABELS = {
    "gas": {"fr": "Gaz", "nl": "Gas", "en": "Gas", "ar": "غاز", "es": "Gas"},
    "electric": {"fr": "Électrique", "nl": "Elektrisch", "en": "Electric", "ar": "كهرباء",
                 "es": "Eléctrica"},
    "wood": {"fr": "Bois", "nl": "Hout", "en": "Wood", "ar": "حطب", "es": "Leña"},
}


def sample() -> dict[str, Any]:
    """One question of every type; ``detail`` only if ``pick`` is a or b."""
    options = [{"code": code, "label": labels} for code, labels in HEATING_LABELS.items()]
    return {
        "slug": "sample",
        "title": texts("Sample"),
        "questions": [
            {"id": "yn", "type": "yes_no", "text": texts("Home?")},
            {"id": "pick", "type": "single_choice", "text": texts("Heating?"),
             "options": options},
            {"id": "many", "type": "multi_choice", "text": texts("Which?"), "options": options},
            {"id": "how", "type": "scale", "min": 1, "max": 5, "text": texts("Hard?")},
            {"id": "size", "type": "number", "min": 1, "max": 20, "text": texts("People?")},
            {"id": "detail", "type": "text", "optional": True, "text": texts("Why?"),
             "show_if": {"question": "pick", "in": ["gas", "electric"]}},
        ],
    }


SAMPLE = parse_definition(sample())


def q(question_id: str) -> Any:
    question = SAMPLE.question(question_id)
    assert question is not None
    return question


def read(question_id: str, text: str, locale: str = "fr") -> Any:
    return parse_answer(q(question_id), text, locale, keywords)


# --------------------------------------------------------------------------------------------
# Content files
# --------------------------------------------------------------------------------------------

def test_both_questionnaires_ship() -> None:
    assert {p.stem for p in content_files()} >= {"post_alert", "general_survey"}


@pytest.mark.parametrize("path", content_files(), ids=lambda p: p.stem)
def test_content_is_complete_in_every_language(path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    definition = load_yaml(path)  # validates: raises on any missing text
    assert definition.slug == path.stem

    def complete(texts: dict[str, str], where: str) -> None:
        assert set(texts) == set(SUPPORTED_LOCALES), where
        assert all(isinstance(v, str) and v.strip() for v in texts.values()), where

    complete(raw["title"], "title")
    for item in raw["questions"]:
        complete(item["text"], item["id"])
        codes = [o["code"] for o in item.get("options", [])]
        assert len(codes) == len(set(codes)), f"{item['id']}: codes not unique"
        assert all(isinstance(c, str) for c in codes), f"{item['id']}: unquoted yes/no?"
        for option in item.get("options", []):
            complete(option["label"], f"{item['id']}.{option['code']}")
            # Distinct labels per language, or a typed label would be ambiguous.
        for locale in SUPPORTED_LOCALES:
            labels = [o["label"][locale].casefold() for o in item.get("options", [])]
            assert len(labels) == len(set(labels)), (item["id"], locale)
    ids = [item["id"] for item in raw["questions"]]
    assert len(ids) == len(set(ids))


def test_post_alert_content() -> None:
    definition = load_yaml(CONTENT_DIR / "post_alert.yaml")
    assert [q.id for q in definition.questions] == [
        "at_home", "lowered", "actions", "difficulty", "longer_possible", "comment"]
    actions = definition.question("actions")
    assert actions is not None and actions.type is QuestionType.MULTI_CHOICE
    assert actions.codes == ("postponed_washing", "switched_off", "cooked_differently",
                             "lowered_heating", "went_out", "other")
    difficulty = definition.question("difficulty")
    assert difficulty is not None and difficulty.bounds == (1, 5)
    comment = definition.question("comment")
    assert comment is not None and comment.optional and comment.type is QuestionType.TEXT
    # Asked to everyone, at home or not; "what you did" only if they managed to lower use.
    away: Answers = {"at_home": False, "lowered": "no"}
    assert next_question(definition, away).id == "difficulty"  # type: ignore[union-attr]
    lowered: Answers = {"at_home": False, "lowered": "a_little"}
    assert next_question(definition, lowered).id == "actions"  # type: ignore[union-attr]


def test_general_survey_content() -> None:
    definition = load_yaml(CONTENT_DIR / "general_survey.yaml")
    ids = [q.id for q in definition.questions]
    for expected in ("household_size", "heating", "hot_water", "appliances", "motivations",
                     "community_first", "share_with"):
        assert expected in ids
    share = definition.question("share_with")
    assert share is not None
    assert {"energy_poverty_households", "close_neighbours", "local_associations",
            "in_exchange"} <= set(share.codes)
    motivations = definition.question("motivations")
    assert motivations is not None
    assert {"citizen_project", "learn", "lower_bill", "social_ties"} <= set(motivations.codes)


# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------

def test_definition_round_trips_through_json() -> None:
    assert parse_definition(definition_to_dict(SAMPLE)) == SAMPLE


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d["title"].pop("ar"), "title: missing ar"),
    (lambda d: d["questions"][1]["text"].pop("nl"), "missing nl"),
    (lambda d: d["questions"].append(dict(d["questions"][0])), "id used twice"),
    (lambda d: d["questions"][1]["options"].append(d["questions"][1]["options"][0]),
     "used twice"),
    (lambda d: d["questions"][1]["options"][0].update(code=True), "quoted"),
    (lambda d: d["questions"][1]["options"][0].update(code="skipped"), "reserved"),
    (lambda d: d["questions"][0].update(type="essay"), "type must be"),
    (lambda d: d["questions"][3].update(max=40), "scale"),
    (lambda d: d["questions"][4].update(min=9, max=2), "min is above max"),
    (lambda d: d["questions"][0].update(show_if={"question": "size", "equals": 2}),
     "earlier question"),
    (lambda d: d["questions"][5].update(show_if={"question": "pick", "equals": "coal"}),
     "not a possible answer"),
    (lambda d: d["questions"][1].update(options=d["questions"][1]["options"][:1]),
     "at least two options"),
    (lambda d: d["questions"][1]["text"].update(xx="?"), "unknown language"),
])
def test_bad_definitions_are_refused(change, problem: str) -> None:
    raw = sample()
    change(raw)
    with pytest.raises(DefinitionError) as error:
        parse_definition(raw)
    assert any(problem in p for p in error.value.problems), error.value.problems


# --------------------------------------------------------------------------------------------
# Reading replies, every type in every language
# --------------------------------------------------------------------------------------------

YES = {"fr": "oui", "nl": "ja", "en": "yes", "ar": "نعم", "es": "sí"}
NO = {"fr": "non", "nl": "nee", "en": "no", "ar": "لا", "es": "no"}
SKIP = {"fr": "PASSER", "nl": "overslaan", "en": "skip", "ar": "تخطي", "es": "Saltar"}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_yes_no(locale: str) -> None:
    assert read("yn", YES[locale], locale) is True
    assert read("yn", NO[locale], locale) is False
    assert read("yn", "1", locale) is True
    assert read("yn", "2", locale) is False
    assert read("yn", "3", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("yn", "peut-être", locale) == Invalid(Reason.NOT_YES_NO)
    assert read("yn", SKIP[locale], locale) == Invalid(Reason.REQUIRED)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_single_choice(locale: str) -> None:
    assert read("pick", "2", locale) == "electric"
    assert read("pick", " 3. ", locale) == "wood"
    assert read("pick", HEATING_LABELS["wood"][locale].upper(), locale) == "wood"
    assert read("pick", "٢", locale) == "electric"
    assert read("pick", "4", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("pick", "0", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("pick", "coal", locale) == Invalid(Reason.NOT_A_CHOICE)
    assert read("pick", "", locale) == Invalid(Reason.EMPTY)
    assert read("pick", SKIP[locale], locale) == Invalid(Reason.REQUIRED)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_multi_choice(locale: str) -> None:
    for reply in ("1 3", "1,3", "1, 3", "3 1", "1;3", "1 3 3", "13", "١ ٣", "١،٣", "1 et 3",
                  "1 y 3"):
        assert read("many", reply, locale) == ["gas", "wood"], reply
    assert read("many", "2", locale) == ["electric"]
    gas, wood = HEATING_LABELS["gas"][locale], HEATING_LABELS["wood"][locale]
    assert read("many", f"{wood}, {gas}", locale) == ["gas", "wood"]
    assert read("many", "1 4", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("many", "14", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("many", "1 coal", locale) == Invalid(Reason.NOT_A_CHOICE)
    assert read("many", SKIP[locale], locale) == Invalid(Reason.REQUIRED)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_scale(locale: str) -> None:
    assert read("how", "1", locale) == 1
    assert read("how", "٥", locale) == 5
    assert read("how", "6", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("how", "0", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("how", "hard", locale) == Invalid(Reason.NOT_A_NUMBER)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_number(locale: str) -> None:
    assert read("size", "4", locale) == 4
    assert read("size", "٤", locale) == 4
    assert read("size", {"fr": "3 personnes", "nl": "3 personen", "en": "3 people",
                         "ar": "3 أشخاص", "es": "3 personas"}[locale], locale) == 3
    assert read("size", "21", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("size", "0", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("size", "2 or 3", locale) == Invalid(Reason.NOT_A_NUMBER)
    assert read("size", "many", locale) == Invalid(Reason.NOT_A_NUMBER)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_text_and_skip(locale: str) -> None:
    assert read("detail", "  Trop froid\x00 ", locale) == "Trop froid"
    assert read("detail", SKIP[locale], locale) is SKIPPED
    assert read("detail", "   ", locale) == Invalid(Reason.EMPTY)
    assert len(read("detail", "x" * 5000, locale)) == 1000


def test_stored_values_are_checked_against_the_question() -> None:
    assert value_fits(q("pick"), "gas") and not value_fits(q("pick"), "coal")
    assert value_fits(q("many"), ["gas"]) and not value_fits(q("many"), [])
    assert not value_fits(q("many"), ["gas", "gas"])
    assert not value_fits(q("how"), True)  # True == 1 must not pass as a scale value
    assert not value_fits(q("yn"), 1)
    assert not value_fits(q("size"), 21)
    assert value_fits(q("detail"), None) and not value_fits(q("pick"), None)


# --------------------------------------------------------------------------------------------
# Walking through
# --------------------------------------------------------------------------------------------

def test_next_question_follows_conditions_deferrals_and_drops() -> None:
    answers: Answers = {"yn": True}
    assert next_question(SAMPLE, answers).id == "pick"  # type: ignore[union-attr]
    assert next_question(SAMPLE, answers, deferred=["pick"]).id == "many"  # type: ignore[union-attr]
    done: Answers = {"yn": True, "many": ["gas"], "how": 2, "size": 3}
    # The deferred question comes back last; its dependant follows it.
    assert next_question(SAMPLE, done, deferred=["pick"]).id == "pick"  # type: ignore[union-attr]
    assert next_question(SAMPLE, {**done, "pick": "gas"}).id == "detail"  # type: ignore[union-attr]
    assert next_question(SAMPLE, {**done, "pick": "wood"}) is None
    assert next_question(SAMPLE, done, dropped=["pick"]) is None


def test_progress_counts_possible_questions() -> None:
    assert progress(SAMPLE, {}) == (1, 6)
    assert progress(SAMPLE, {"yn": True, "pick": "wood"}) == (3, 5)
    assert progress(SAMPLE, {"yn": True, "pick": "gas"}) == (3, 6)


# --------------------------------------------------------------------------------------------
# Results and CSV (pure)
# --------------------------------------------------------------------------------------------

def views() -> list[ResponseView]:
    return [
        ResponseView("r-1", "fr", "completed", {"yn": True, "pick": "gas", "many": ["gas", "wood"],
                                                "how": 2, "size": 3, "detail": "=1+1"}),
        ResponseView("r-2", "ar", "completed", {"yn": False, "pick": "wood", "many": ["wood"],
                                                "how": 5, "size": 1}),
        ResponseView("r-3", "ar", "started", {"yn": True, "pick": "gas", "detail": None}),
    ]


def test_aggregate_counts_per_option_and_language() -> None:
    results = aggregate(SAMPLE, views(), include_texts=True)
    assert results.responses == 3 and results.completed == 2
    assert results.completion_rate == pytest.approx(2 / 3, abs=1e-3)
    assert results.by_locale == {"fr": {"responses": 1, "completed": 1},
                                 "ar": {"responses": 2, "completed": 1}}
    by_id = {r.question_id: r for r in results.questions}
    assert by_id["yn"].counts == {"yes": 2, "no": 1}
    assert by_id["pick"].counts == {"gas": 2, "electric": 0, "wood": 1}
    assert by_id["pick"].by_locale["ar"] == {"gas": 1, "electric": 0, "wood": 1}
    assert by_id["many"].counts == {"gas": 1, "electric": 0, "wood": 2}
    assert by_id["how"].counts == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert by_id["size"].counts == {"3": 1, "1": 1}
    assert by_id["detail"].answered == 1 and by_id["detail"].skipped == 1
    assert by_id["detail"].texts == ["=1+1"]
    assert aggregate(SAMPLE, views()).questions[-1].texts == []


def test_csv_has_one_row_per_response_in_option_codes() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(SAMPLE, views()))))
    assert [r["respondent"] for r in rows] == ["r-1", "r-2", "r-3"]
    assert rows[0]["many"] == "gas;wood" and rows[0]["yn"] == "yes" and rows[0]["how"] == "2"
    assert rows[0]["detail"] == "'=1+1"  # no spreadsheet formula
    assert rows[2]["detail"] == "skipped" and rows[2]["how"] == ""
    assert rows[1]["language"] == "ar" and rows[2]["status"] == "started"


def test_pseudonym_is_stable_and_salted() -> None:
    assert pseudonym("salt", 7) == pseudonym("salt", 7)
    assert pseudonym("salt", 7) != pseudonym("other", 7)
    assert re.fullmatch(r"r-[0-9a-f]{12}", pseudonym("salt", 7))


# --------------------------------------------------------------------------------------------
# Database services
# --------------------------------------------------------------------------------------------

def _contacts(session: Session, count: int) -> list[int]:
    community = Community(slug="c", name="C", join_code="C1")
    session.add(community)
    session.flush()
    assert community.id is not None
    ids = []
    for index in range(count):
        contact = Contact(community_id=community.id, locale=SUPPORTED_LOCALES[index % 5])
        session.add(contact)
        session.flush()
        assert contact.id is not None
        ids.append(contact.id)
    return ids


def test_create_version_and_list(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = create_questionnaire(session, sample(), NOW)
        assert first.version == 1 and first.active
        with pytest.raises(DefinitionError):
            create_questionnaire(session, sample(), NOW)
        changed = sample()
        changed["questions"][0]["text"]["fr"] = "À la maison ?"
        second = new_version(session, "sample", changed, NOW)
        assert second.version == 2
        assert [(r.version, r.active) for r in list_questionnaires(session)] == [
            (1, False), (2, True)]
        assert [r.version for r in list_questionnaires(session, active_only=True)] == [2]
        with pytest.raises(DefinitionError):
            new_version(session, "other", changed, NOW)


def test_load_content_is_idempotent(engine: Engine, tmp_path) -> None:
    with session_scope(engine) as session:
        loaded = load_content(session, NOW)
        assert sorted(r.slug for r in loaded) == ["general_survey", "post_alert"]
        again = load_content(session, NOW)
        assert [r.id for r in again] == [r.id for r in loaded]
        (tmp_path / "sample.yaml").write_text(yaml.safe_dump(sample(), allow_unicode=True),
                                              encoding="utf-8")
        load_content(session, NOW, tmp_path)
        changed = sample()
        changed["questions"][0]["text"]["en"] = "At home?"
        (tmp_path / "sample.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True),
                                              encoding="utf-8")
        (row,) = load_content(session, NOW, tmp_path)
        assert row.version == 2


def test_responses_record_complete_and_expire(engine: Engine) -> None:
    with session_scope(engine) as session:
        (contact,) = _contacts(session, 1)
        questionnaire = create_questionnaire(session, sample(), NOW)
        assert questionnaire.id is not None
        response = start_response(session, questionnaire.id, contact, "alert:1", "fr", NOW)
        assert response.id is not None
        assert start_response(session, questionnaire.id, contact, "alert:1", "fr", NOW).id \
            == response.id
        assert response.expires_at == NOW + timedelta(hours=72)
        assert record_answer(session, response.id, "yn", True, NOW)
        assert not record_answer(session, response.id, "pick", "coal", NOW)
        assert not record_answer(session, response.id, "nope", "gas", NOW)
        assert not record_answer(session, response.id, "pick", None, NOW)  # required
        assert record_answer(session, response.id, "many", ["gas", "wood"], NOW)
        assert complete_response(session, response.id, NOW)
        assert not record_answer(session, response.id, "how", 3, NOW)  # closed
        late = start_response(session, questionnaire.id, contact, "alert:2", "fr", NOW)
        assert late.id is not None
        after = NOW + timedelta(hours=73)
        assert not record_answer(session, late.id, "yn", True, after)
        assert session.get(Response, late.id).status == ResponseStatus.EXPIRED  # type: ignore[union-attr]
        third = start_response(session, questionnaire.id, contact, "alert:3", "fr", NOW)
        assert expire_responses(session, after) == 1
        assert third.status == ResponseStatus.EXPIRED
    with Session(engine) as session:
        stored = session.get(Response, response.id)
        assert stored is not None and stored.status == "completed"
        assert stored.answers == {"yn": True, "many": ["gas", "wood"]}


def test_effects_only_touch_the_contacts_own_response(engine: Engine) -> None:
    with session_scope(engine) as session:
        alice, bob = _contacts(session, 2)
        questionnaire = create_questionnaire(session, sample(), NOW)
        assert questionnaire.id is not None
        response = start_response(session, questionnaire.id, alice, "", "fr", NOW)
        assert response.id is not None
        assert not apply_questionnaire_effect(session, bob, RecordAnswer(response.id, "yn", True),
                                              NOW)
        assert apply_questionnaire_effect(session, alice, RecordAnswer(response.id, "yn", True),
                                          NOW)
        assert not apply_questionnaire_effect(session, alice, RecordAnswer(999, "yn", True), NOW)
        assert apply_questionnaire_effect(session, alice, CompleteResponse(response.id), NOW)
        assert not apply_questionnaire_effect(session, alice, ExpireResponse(response.id), NOW)


def test_results_csv_reminders_and_erasure(engine: Engine) -> None:
    with session_scope(engine) as session:
        alice, bob, chloe = _contacts(session, 3)
        row = create_questionnaire(session, sample(), NOW)
        assert row.id is not None
        given: dict[int, Answers] = {
            alice: {"yn": True, "pick": "gas", "many": ["gas", "wood"], "how": 4, "size": 2,
                    "detail": None},
            bob: {"yn": False, "pick": "wood"},
            chloe: {},
        }
        for contact, answers in given.items():
            response = start_response(session, row.id, contact, "alert:9", "fr", NOW)
            assert response.id is not None
            for question_id, value in answers.items():
                assert record_answer(session, response.id, question_id, value, NOW)
        alice_response = session.exec(select(Response).where(Response.contact_id == alice)).one()
        assert alice_response.id is not None
        complete_response(session, alice_response.id, NOW)

        assert unfinished_contact_ids(session, row.id, "alert:9", NOW) == sorted([bob, chloe])
        assert response_counts(session, row.id) == {"started": 2, "completed": 1, "expired": 0}
        results = results_for(session, row.id)
        assert results is not None
        by_id = {r.question_id: r for r in results.questions}
        assert results.responses == 3 and results.completed == 1
        assert by_id["pick"].counts == {"gas": 1, "electric": 0, "wood": 1}
        assert by_id["yn"].counts == {"yes": 1, "no": 1}
        assert by_id["detail"].skipped == 1
        text = export_csv(session, row.id)
        assert text is not None
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 3
        assert rows[0]["many"] == "gas;wood" and rows[0]["detail"] == "skipped"
        assert rows[1]["pick"] == "wood" and rows[1]["how"] == ""
        respondents = {r["respondent"] for r in rows}
        assert len(respondents) == 3
        assert not respondents & {str(alice), str(bob), str(chloe)}
        assert row.export_salt not in text

        session.delete(session.get(Contact, bob))
    with Session(engine) as session:
        assert len(session.exec(select(Response)).all()) == 2  # ON DELETE CASCADE
        assert session.exec(select(Questionnaire)).one().slug == "sample"
