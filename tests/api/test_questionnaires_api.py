"""The questionnaire routes: create (schema in /docs, 422 from validation), new version, list,
results and the counts CSV under the privacy rules (k-1 and k respondents), the research CSV,
and campaigns."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from api.app import create_app
from core.config import Settings
from core.db import session_scope
from core.models import Community, Contact, Household, Role
from core.questionnaires.responses import complete_response, record_answer, start_response
from tests.fakes.community import seed_residents
from tests.fakes.surveys import mood_definition as definition
from tests.fakes.surveys import texts

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
K = 5


def _client(engine: Engine, **settings: object) -> TestClient:
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://",
                                      **settings),  # type: ignore[arg-type]
                     clock=lambda: NOW)
    return TestClient(app)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seed_residents(engine, NOW)
    with _client(engine) as test_client:
        yield test_client


def test_create_conflict_new_version_and_list(client: TestClient) -> None:
    created = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH)
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["slug"] == "mood" and first["version"] == 1
    again = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH)
    assert again.status_code == 409 and "PUT" in again.json()["detail"]
    updated = client.put("/api/v1/questionnaires/mood", json=definition(extra=True),
                         headers=AUTH)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["id"] != first["id"]
    listed = client.get("/api/v1/questionnaires", headers=AUTH).json()
    mood = next(q for q in listed if q["slug"] == "mood")
    assert [(v["version"], v["active"]) for v in mood["versions"]] == [(1, False), (2, True)]
    assert mood["active_id"] == updated.json()["id"]


def test_invalid_definitions_get_every_problem_from_validation(client: TestClient) -> None:
    bad = definition()
    bad["title"] = {"fr": "Humeur"}
    bad["questions"][0]["options"] = [{"code": "Good!", "label": texts("x")}]
    response = client.post("/api/v1/questionnaires", json=bad, headers=AUTH)
    assert response.status_code == 422
    problems = {tuple(p["loc"]): p["msg"] for p in response.json()["detail"]}
    assert problems[("body", "title")] == "missing nl, en, ar, es"
    assert problems[("body", "questions", 0, "options", 0, "code")].startswith(
        "code must be a quoted word")
    mismatch = client.put("/api/v1/questionnaires/other", json=definition(), headers=AUTH)
    assert mismatch.status_code == 422
    assert mismatch.json()["detail"][0]["loc"] == ["body", "slug"]
    unknown = client.put("/api/v1/questionnaires/nothing", json=definition("nothing"),
                         headers=AUTH)
    assert unknown.status_code == 404
    assert client.post("/api/v1/questionnaires", json=[1], headers=AUTH).status_code == 422
    assert client.get("/api/v1/questionnaires", headers={}).status_code == 401


def test_the_schema_and_csv_types_are_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    create = spec["paths"]["/api/v1/questionnaires"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Definition"}
    assert "questions" in spec["components"]["schemas"]["Definition"]["required"]
    for path in ("results.csv", "responses.csv"):
        answer = spec["paths"][f"/api/v1/questionnaires/{{questionnaire_id}}/{path}"]["get"]
        assert answer["responses"]["200"]["content"] == {"text/csv": {"schema":
                                                                      {"type": "string"}}}
    ours = [op for path, ops in spec["paths"].items() for op in ops.values()
            if "questionnaires" in op.get("tags", []) or "campaigns" in op.get("tags", [])]
    assert len(ours) == 9
    for op in ours:
        success = next(r for code, r in op["responses"].items() if code.startswith("2"))
        assert all("schema" in media for media in success["content"].values()), op["summary"]


def _residents(engine: Engine, count: int, locale: str = "fr") -> list[int]:
    """``count`` more residents of the seeded community, each with a household of their own."""
    ids: list[int] = []
    with session_scope(engine) as session:
        community = session.exec(select(Community)).first()
        assert community is not None and community.id is not None
        for _ in range(count):
            household = Household(community_id=community.id, ref=f"X{len(ids)}{locale}",
                                  code=f"X{len(ids)}{locale}".upper())
            session.add(household)
            session.flush()
            contact = Contact(community_id=community.id, locale=locale, consent_version="v1",
                              household_id=household.id)
            session.add(contact)
            session.flush()
            assert contact.id is not None
            ids.append(contact.id)
    return ids


def _answer(engine: Engine, questionnaire_id: int, contact_id: int, locale: str,
            mood: str | None, comment: str | None = None, finish: bool = True) -> None:
    with session_scope(engine) as session:
        response = start_response(session, questionnaire_id, contact_id, "campaign:1",
                                  locale, NOW)
        assert response.id is not None
        if mood is not None:
            assert record_answer(session, response.id, "mood", mood, NOW)
        if comment is not None:
            assert record_answer(session, response.id, "comment", comment, NOW)
        if finish:
            assert complete_response(session, response.id, NOW)


def _results(client: TestClient, qid: int, **params: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/questionnaires/{qid}/results", params=params,
                          headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def _counts_csv(client: TestClient, qid: int) -> list[dict[str, str]]:
    export = client.get(f"/api/v1/questionnaires/{qid}/results.csv", headers=AUTH)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(export.text)))


def test_one_respondent_is_never_shown(client: TestClient, engine: Engine) -> None:
    (alone,) = _residents(engine, 1)
    qid = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()["id"]
    _answer(engine, qid, alone, "fr", "bad", comment="Mon voisin du 3e fait trop de bruit")
    body = _results(client, qid)
    assert body["responses"] == 1 and body["withheld"] and body["min_group"] == K
    assert "Mon voisin" not in str(body) and "bad" not in str(body)
    assert all(q["counts"] is None and q["texts"] is None for q in body["questions"])
    assert _counts_csv(client, qid) == []


def test_results_and_counts_csv_at_k_minus_one_and_k(client: TestClient, engine: Engine
                                                     ) -> None:
    french = _residents(engine, K)
    qid = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()["id"]
    for index, contact_id in enumerate(french[:K - 1]):
        _answer(engine, qid, contact_id, "fr", "good" if index < 2 else "bad",
                comment=f"=SUM(A{index})")
    below = _results(client, qid)
    assert below["withheld"] and below["responses"] == K - 1
    assert [q["counts"] for q in below["questions"]] == [None, None]
    assert [q["texts"] for q in below["questions"]] == [None, None]
    assert _counts_csv(client, qid) == []

    _answer(engine, qid, french[K - 1], "fr", "bad", comment="=SUM(A4)", finish=False)
    at = _results(client, qid)
    assert not at["withheld"] and at["responses"] == K and at["completed"] == K - 1
    mood, comment = at["questions"]
    assert mood["counts"] == {"good": 2, "bad": 3}
    assert mood["by_locale"] == {"fr": {"good": 2, "bad": 3}}
    assert sorted(comment["texts"]) == sorted(f"=SUM(A{i})" for i in range(K))
    assert comment["counts"] is None
    rows = _counts_csv(client, qid)
    assert {"question": "mood", "language": "all", "answer": "bad", "count": "3"} in rows
    assert {"question": "mood", "language": "fr", "answer": "good", "count": "2"} in rows
    assert not any("SUM" in value for row in rows for value in row.values())

    assert client.get("/api/v1/questionnaires/999/results", headers=AUTH).status_code == 404
    assert client.get("/api/v1/questionnaires/999/results.csv",
                      headers=AUTH).status_code == 404
    assert client.get(f"/api/v1/questionnaires/{qid}/results?community=nowhere",
                      headers=AUTH).status_code == 404
    assert _results(client, qid, community="echappee")["responses"] == K
    assert _results(client, qid, context="alert:1")["responses"] == 0


def test_free_texts_need_k_writers(client: TestClient, engine: Engine) -> None:
    people = _residents(engine, K + 1)
    qid = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()["id"]
    for index, contact_id in enumerate(people):
        _answer(engine, qid, contact_id, "fr", "good",
                comment=f"idée {index}" if index < K - 1 else None)
    mood, comment = _results(client, qid)["questions"]
    assert mood["counts"] == {"good": K + 1, "bad": 0}
    assert comment["withheld"] and comment["texts"] is None and comment["answered"] == K - 1


def test_small_languages_never_show_beside_the_totals(client: TestClient, engine: Engine
                                                      ) -> None:
    people = [(c, "fr") for c in _residents(engine, K)] + [(_residents(engine, 1, "nl")[0],
                                                             "nl")]
    qid = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()["id"]
    for contact_id, locale in people:
        _answer(engine, qid, contact_id, locale, "bad" if locale == "nl" else "good")
    body = _results(client, qid)
    # "fr" beside the totals would give the one Dutch answer away: no breakdown at all.
    assert body["questions"][0]["counts"] == {"good": K, "bad": 1}
    assert body["questions"][0]["by_locale"] == {} and body["by_locale"] == {}


def test_k_is_the_communitys_privacy_k(client: TestClient, engine: Engine) -> None:
    with session_scope(engine) as session:
        community = session.exec(select(Community)).one()
        community.privacy_k = 2
        session.add(community)
    two = _residents(engine, 2)
    qid = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()["id"]
    _answer(engine, qid, two[0], "fr", "good")
    assert _results(client, qid)["withheld"]
    _answer(engine, qid, two[1], "fr", "bad")
    body = _results(client, qid)
    assert body["min_group"] == 2 and body["questions"][0]["counts"] == {"good": 1, "bad": 1}


def test_staff_answers_do_not_count(client: TestClient, engine: Engine) -> None:
    people = _residents(engine, K - 1)
    with session_scope(engine) as session:
        community = session.exec(select(Community)).one()
        staff = Contact(community_id=community.id or 0, locale="fr", role=Role.TECHNICIAN.value,
                        consent_version="v1")
        session.add(staff)
        session.flush()
        assert staff.id is not None
        staff_id = staff.id
    qid = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()["id"]
    for contact_id in [*people, staff_id]:
        _answer(engine, qid, contact_id, "fr", "good")
    body = _results(client, qid)
    assert body["responses"] == K - 1 and body["withheld"]


def test_row_level_csv_is_for_research_and_consent_only(engine: Engine) -> None:
    seed_residents(engine, NOW)
    people = _residents(engine, 2)
    with session_scope(engine) as session:
        later = session.get(Contact, people[1])
        assert later is not None
        later.consent_version = "2027-01.research"
        session.add(later)
    with _client(engine) as client:
        qid = client.post("/api/v1/questionnaires", json=definition(),
                          headers=AUTH).json()["id"]
        for contact_id in people:
            _answer(engine, qid, contact_id, "fr", "good", comment=f"avis {contact_id}")
        refused = client.get(f"/api/v1/questionnaires/{qid}/responses.csv", headers=AUTH)
        assert refused.status_code == 403
        assert "VOISINS_RESEARCH_CONSENT_VERSIONS" in refused.json()["detail"]
        assert client.get(f"/api/v1/questionnaires/{qid}/responses.csv",
                          headers={"Authorization": "Bearer nope"}).status_code == 401
    with _client(engine, research_consent_versions=frozenset({"2027-01.research"})) as client:
        export = client.get(f"/api/v1/questionnaires/{qid}/responses.csv", headers=AUTH)
        assert export.status_code == 200 and export.headers["content-type"].startswith(
            "text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        # Only the resident who agreed to a consent text that mentions research use.
        assert [r["comment"] for r in rows] == [f"avis {people[1]}"]
        assert re.fullmatch(r"r-[0-9a-f]{12}", rows[0]["respondent"])  # a pseudonym
        assert rows[0]["mood"] == "good"
        assert client.get("/api/v1/questionnaires/999/responses.csv",
                          headers=AUTH).status_code == 404


def test_campaign_routes(client: TestClient) -> None:
    created = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()
    by_slug = client.post("/api/v1/communities/echappee/campaigns",
                          json={"questionnaire": "mood", "cluster": "A"}, headers=AUTH)
    assert by_slug.status_code == 201, by_slug.text
    body = by_slug.json()
    assert body["questionnaire_id"] == created["id"] and body["status"] == "scheduled"
    assert body["progress"] == {"sent": 0, "expired": 0, "started": 0, "completed": 0}
    read = client.get(f"/api/v1/campaigns/{body['id']}", headers=AUTH)
    assert read.status_code == 200 and read.json()["id"] == body["id"]
    by_id = client.post("/api/v1/communities/echappee/campaigns",
                        json={"questionnaire": created["id"], "locale": "ar"}, headers=AUTH)
    assert by_id.status_code == 201 and by_id.json()["locale"] == "ar"
    for payload, code in [({"questionnaire": "nope"}, 404),
                          ({"questionnaire": "mood", "cluster": "Z"}, 422),
                          ({"questionnaire": "mood", "locale": "de"}, 422),
                          ({"questionnaire": "mood", "reminder_delay_hours": 0}, 422)]:
        response = client.post("/api/v1/communities/echappee/campaigns", json=payload,
                               headers=AUTH)
        assert response.status_code == code, (payload, response.text)
    assert client.post("/api/v1/communities/nowhere/campaigns", json={"questionnaire": "mood"},
                       headers=AUTH).status_code == 404
    assert client.get("/api/v1/campaigns/999", headers=AUTH).status_code == 404
    cancelled = client.post(f"/api/v1/campaigns/{body['id']}/cancel", headers=AUTH)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["held_back"] == 0
    assert cancelled.json()["cancelled_at"] == NOW.isoformat()
    assert client.post("/api/v1/campaigns/999/cancel", headers=AUTH).status_code == 404
    assert client.post(f"/api/v1/campaigns/{body['id']}/cancel").status_code == 401
