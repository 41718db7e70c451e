"""Questionnaire rules: definitions, content files, walking through, results under the privacy
rules, CSV exports, services. (Reading typed replies: tests/bot/i18n/test_answers.py.)"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.models import Community, Contact, Household
from core.questionnaires.content import CONTENT_DIR, content_files, load_content, load_yaml
from core.questionnaires.definition import (
    Answers,
    Definition,
    DefinitionError,
    QuestionType,
    definition_to_dict,
    parse_definition,
    value_fits,
)
from core.questionnaires.export import counts_csv, pseudonym, research_rows_csv, rows_csv
from core.questionnaires.responses import (
    CompleteResponse,
    ExpireResponse,
    RecordAnswer,
    apply_questionnaire_effect,
    complete_response,
    expire_responses,
    record_answer,
    response_counts,
    start_response,
    unfinished_contact_ids,
)
from core.questionnaires.results import (
    ResponseView,
    aggregate,
    merge_small_groups,
    results_for,
)
from core.questionnaires.storage import (
    Questionnaire,
    Response,
    ResponseStatus,
    create_questionnaire,
    list_questionnaires,
    new_version,
)
from core.questionnaires.walk import next_question, progress
from tests.fakes.surveys import sample

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


def texts(word: str) -> dict[str, str]:
    return {locale: f"{word} ({locale})" for locale in SUPPORTED_LOCALES}


SAMPLE = parse_definition(sample())


def q(question_id: str) -> Any:
    question = SAMPLE.question(question_id)
    assert question is not None
    return question


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


def test_problems_name_the_question_and_come_all_at_once() -> None:
    raw = sample()
    raw["title"].pop("ar")
    raw["questions"][1]["text"]["xx"] = "?"
    raw["questions"][4]["optinal"] = True  # a typo is refused, not ignored
    with pytest.raises(DefinitionError) as error:
        parse_definition(raw)
    assert error.value.problems == [
        "title: missing ar",
        "question pick text: unknown language xx",
        "question size optinal: Extra inputs are not permitted",
    ]
    raw = sample()
    raw["questions"].append({**raw["questions"][0]})
    raw["questions"][5]["show_if"] = {"question": "pick", "equals": "coal"}
    with pytest.raises(DefinitionError) as error:
        parse_definition(raw)
    assert error.value.problems == [
        "question detail: show_if value 'coal' is not a possible answer to pick",
        "question yn: id used twice",
    ]
    with pytest.raises(DefinitionError) as error:
        parse_definition(["not", "a", "mapping"])
    assert error.value.problems == ["a questionnaire is a mapping with slug, title and questions"]


def test_equals_is_stored_as_in_and_scales_get_their_bounds() -> None:
    raw = sample()
    raw["questions"][5]["show_if"] = {"question": "pick", "equals": "gas"}
    del raw["questions"][3]["min"], raw["questions"][3]["max"]
    stored = definition_to_dict(parse_definition(raw))
    assert stored["questions"][5]["show_if"] == {"question": "pick", "in": ["gas"]}
    assert (stored["questions"][3]["min"], stored["questions"][3]["max"]) == (1, 5)
    assert parse_definition(stored) == parse_definition(raw)


def test_the_schema_lists_every_language_and_type() -> None:
    schema = Definition.model_json_schema()
    question = schema["$defs"]["Question"]
    assert schema["required"] == ["slug", "title", "questions"]
    assert set(schema["$defs"]["QuestionType"]["enum"]) == set(QuestionType)
    assert question["properties"]["text"]["required"] == list(SUPPORTED_LOCALES)
    assert question["additionalProperties"] is False


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
    # k = 1: every group is large enough, so every count shows.
    results = aggregate(SAMPLE, views(), k=1)
    assert results.responses == 3 and results.completed == 2 and not results.withheld
    assert results.completion_rate == pytest.approx(2 / 3, abs=1e-3)
    assert results.by_locale == {"ar": {"responses": 2, "completed": 1},
                                 "fr": {"responses": 1, "completed": 1}}
    by_id = {r.question_id: r for r in results.questions}
    assert by_id["yn"].counts == {"yes": 2, "no": 1}
    assert by_id["pick"].counts == {"gas": 2, "electric": 0, "wood": 1}
    assert by_id["pick"].by_locale["ar"] == {"gas": 1, "electric": 0, "wood": 1}
    assert by_id["many"].counts == {"gas": 1, "electric": 0, "wood": 2}
    assert by_id["how"].counts == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert by_id["size"].counts == {"3": 1, "1": 1}
    assert by_id["detail"].answered == 1 and by_id["detail"].skipped == 1
    assert by_id["detail"].texts == ["=1+1"] and by_id["detail"].counts is None


def _people(count: int, locale: str = "fr", comment: str | None = "trop froid"
            ) -> list[ResponseView]:
    return [ResponseView("", locale, "completed",
                         {"yn": index % 2 == 0, "pick": "gas",
                          **({"detail": f"{comment} {index}"} if comment else {})})
            for index in range(count)]


@pytest.mark.parametrize("k", [2, 5, 7])
def test_nothing_about_answers_below_k_respondents(k: int) -> None:
    below = aggregate(SAMPLE, _people(k - 1), k)
    assert below.withheld and below.min_group == k
    assert below.responses == k - 1  # how many took part is not an answer
    for result in below.questions:
        assert result.withheld
        assert (result.answered, result.skipped, result.counts, result.texts) == (
            None, None, None, None)
        assert result.by_locale == {}
    at = aggregate(SAMPLE, _people(k), k)
    assert not at.withheld
    by_id = {r.question_id: r for r in at.questions}
    assert by_id["yn"].counts == {"yes": (k + 1) // 2, "no": k // 2}
    assert by_id["pick"].by_locale == {"fr": {"gas": k, "electric": 0, "wood": 0}}
    assert sorted(by_id["detail"].texts or []) == sorted(f"trop froid {i}" for i in range(k))


def test_a_question_shows_from_k_answers_and_free_texts_from_k_writers() -> None:
    k = 5
    people = _people(4) + _people(2, comment=None)  # 6 respondents, 4 comments
    results = aggregate(SAMPLE, people, k)
    by_id = {r.question_id: r for r in results.questions}
    assert not results.withheld and by_id["yn"].counts is not None
    assert by_id["detail"].withheld and by_id["detail"].texts is None
    assert by_id["detail"].answered == 4  # a count over 6 people, not anyone's words
    assert by_id["how"].withheld and by_id["how"].counts is None  # nobody answered it
    five = aggregate(SAMPLE, _people(5) + _people(1, comment=None), k)
    texts = {r.question_id: r for r in five.questions}["detail"].texts
    assert texts is not None and len(texts) == 5


def test_free_texts_come_in_random_order_without_ids() -> None:
    people = _people(8)
    orders = {tuple({r.question_id: r for r in aggregate(SAMPLE, people, 5).questions}
                    ["detail"].texts or ()) for _ in range(20)}
    assert len(orders) > 1  # 20 draws of 8! orders: the same one every time is ~1e-87
    assert all(set(order) == {f"trop froid {i}" for i in range(8)} for order in orders)
    seeded = aggregate(SAMPLE, people, 5, shuffler=random.Random(1))
    assert all(isinstance(text, str) and not text.startswith("r-")
               for text in seeded.questions[-1].texts or [])


def test_languages_below_k_are_merged_or_hidden_so_nobody_can_be_subtracted() -> None:
    k = 5
    # 5 French and 1 Dutch: showing "fr" beside the totals would give away the Dutch answer.
    results = aggregate(SAMPLE, _people(5) + _people(1, "nl"), k)
    pick = {r.question_id: r for r in results.questions}["pick"]
    assert pick.counts == {"gas": 6, "electric": 0, "wood": 0}
    assert pick.by_locale == {} and results.by_locale == {}
    # 5 French, 3 Dutch, 2 Arabic: the two small ones together make "other".
    results = aggregate(SAMPLE, _people(5) + _people(3, "nl") + _people(2, "ar"), k)
    assert {r.question_id: r for r in results.questions}["pick"].by_locale == {
        "fr": {"gas": 5, "electric": 0, "wood": 0}, "other": {"gas": 5, "electric": 0, "wood": 0}}
    assert set(results.by_locale) == {"fr", "other"}


def test_merge_small_groups() -> None:
    counts = {"fr": {"a": 5}, "nl": {"a": 3}, "ar": {"a": 2}, "es": {"a": 1}}
    sizes = {"fr": 6, "nl": 3, "ar": 2, "es": 1}
    assert merge_small_groups(counts, sizes, 5) == {"fr": {"a": 5}, "other": {"a": 6}}
    assert merge_small_groups({"fr": {"a": 1}, "nl": {"a": 1}}, {"fr": 1, "nl": 1}, 5) == {}
    # A left-over of 2 takes the smallest shown group along: 5 + 2 = 7.
    groups = {"fr": {"a": 9}, "nl": {"a": 5}, "ar": {"a": 2}}
    assert merge_small_groups(groups, {"fr": 9, "nl": 5, "ar": 2}, 5) == {
        "fr": {"a": 9}, "other": {"a": 7}}
    assert merge_small_groups({"fr": {"a": 5}}, {"fr": 5}, 5) == {"fr": {"a": 5}}


def test_counts_csv_holds_only_what_results_show() -> None:
    k = 5
    below = counts_csv(aggregate(SAMPLE, _people(4), k))
    assert below == "question,language,answer,count\n"
    rows = list(csv.DictReader(io.StringIO(counts_csv(aggregate(SAMPLE, _people(5), k)))))
    assert {"question": "pick", "language": "all", "answer": "gas", "count": "5"} in rows
    assert {"question": "pick", "language": "fr", "answer": "gas", "count": "5"} in rows
    assert {r["question"] for r in rows} == {"yn", "pick"}  # no free text, nothing unanswered


def test_rows_csv_has_one_row_per_response_in_option_codes() -> None:
    rows = list(csv.DictReader(io.StringIO(rows_csv(SAMPLE, views()))))
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

def _contacts(session: Session, count: int, privacy_k: int = 5, slug: str = "c",
              role: str = "resident", consent_version: str = "v1") -> list[int]:
    community = session.exec(select(Community).where(Community.slug == slug)).first()
    if community is None:
        community = Community(slug=slug, name=slug.upper(), join_code=slug.upper() + "1",
                              privacy_k=privacy_k)
        session.add(community)
        session.flush()
    assert community.id is not None
    ids = []
    for index in range(count):
        contact = Contact(community_id=community.id, locale=SUPPORTED_LOCALES[index % 5],
                          role=role, consent_version=consent_version)
        session.add(contact)
        session.flush()
        assert contact.id is not None
        ids.append(contact.id)
    return ids


def _answer(session: Session, questionnaire_id: int, contact_id: int, answers: Answers,
            context: str = "alert:9") -> None:
    response = start_response(session, questionnaire_id, contact_id, context, "fr", NOW)
    assert response.id is not None
    for question_id, value in answers.items():
        assert record_answer(session, response.id, question_id, value, NOW)
    complete_response(session, response.id, NOW)


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
        assert sorted(r.slug for r in loaded) == ["general_survey", "post_alert",
                                                  "workshop_follow_up"]
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
        alice, bob, chloe = _contacts(session, 3, privacy_k=1)
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
        text = research_rows_csv(session, row.id, {"v1"})
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


def test_results_use_the_communitys_k_and_count_residents_only(engine: Engine) -> None:
    with session_scope(engine) as session:
        residents = _contacts(session, 2, privacy_k=3)
        staff = _contacts(session, 1, role="facilitator")
        row = create_questionnaire(session, sample(), NOW)
        assert row.id is not None
        for contact in residents + staff:
            _answer(session, row.id, contact, {"yn": True, "pick": "gas", "detail": "Bien"})
        # k - 1 residents: the facilitator's answers do not make up the group.
        results = results_for(session, row.id)
        assert results is not None and results.min_group == 3
        assert results.withheld and results.responses == 2
        assert all(q.counts is None and q.texts is None for q in results.questions)
        # A facilitator who linked a household of their own counts as a resident.
        household = Household(community_id=1, ref="H1", code="H1")
        session.add(household)
        session.flush()
        facilitator = session.get(Contact, staff[0])
        assert facilitator is not None
        facilitator.household_id = household.id
        session.add(facilitator)
        session.flush()
        results = results_for(session, row.id)
        assert results is not None and not results.withheld and results.responses == 3
        by_id = {q.question_id: q for q in results.questions}
        assert by_id["pick"].counts == {"gas": 3, "electric": 0, "wood": 0}
        assert sorted(by_id["detail"].texts or []) == ["Bien"] * 3
        # Per round: the same rules within one alert.
        assert (results_for(session, row.id, "alert:9") or results).responses == 3
        nothing = results_for(session, row.id, "alert:10")
        assert nothing is not None and nothing.responses == 0 and nothing.withheld


def test_several_communities_take_the_strictest_k(engine: Engine) -> None:
    with session_scope(engine) as session:
        small = _contacts(session, 2, privacy_k=2, slug="small")
        strict = _contacts(session, 1, privacy_k=4, slug="strict")
        row = create_questionnaire(session, sample(), NOW)
        assert row.id is not None
        for contact in small + strict:
            _answer(session, row.id, contact, {"yn": False})
        small_id = session.exec(select(Community.id).where(Community.slug == "small")).one()
        strict_id = session.exec(select(Community.id).where(Community.slug == "strict")).one()
        everyone = results_for(session, row.id)
        assert everyone is not None and everyone.min_group == 4 and everyone.withheld
        own = results_for(session, row.id, community_id=small_id)
        assert own is not None and own.min_group == 2 and own.responses == 2
        assert own.questions[0].counts == {"yes": 0, "no": 2}
        other = results_for(session, row.id, community_id=strict_id)
        assert other is not None and other.withheld and other.responses == 1


def test_research_rows_only_for_residents_who_consented_to_research(engine: Engine) -> None:
    with session_scope(engine) as session:
        before = _contacts(session, 2, consent_version="2026-11.2")
        agreed = _contacts(session, 1, consent_version="2027-01.research")
        staff = _contacts(session, 1, role="technician", consent_version="2027-01.research")
        row = create_questionnaire(session, sample(), NOW)
        assert row.id is not None
        for contact in before + agreed + staff:
            _answer(session, row.id, contact, {"yn": True, "detail": "Mon avis"})
        rows = list(csv.DictReader(io.StringIO(
            research_rows_csv(session, row.id, {"2027-01.research"}) or "")))
        assert [r["respondent"] for r in rows] == [pseudonym(row.export_salt, agreed[0])]
        assert rows[0]["detail"] == "Mon avis"
        assert research_rows_csv(session, row.id, set()) == rows_csv(SAMPLE, [])
        assert research_rows_csv(session, 999, {"2027-01.research"}) is None
