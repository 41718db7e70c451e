"""The questionnaire routes: create, new version, list, results (k = 5 per language), CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.routes.questionnaires import merge_small_locales
from core.config import Settings
from core.db import session_scope
from core.questionnaires import complete_response, record_answer, start_response
from tests.fakes.community import seed_residents
from tests.fakes.surveys import mood_definition as definition
from tests.fakes.surveys import texts

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seed_residents(engine, NOW)
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
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


def test_invalid_definitions_get_every_problem(client: TestClient) -> None:
    bad = definition()
    bad["title"] = {"fr": "Humeur"}
    bad["questions"][0]["options"] = [{"code": "Good!", "label": texts("x")}]
    response = client.post("/api/v1/questionnaires", json=bad, headers=AUTH)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert isinstance(problems, list) and len(problems) >= 2
    assert any("title" in p for p in problems)
    mismatch = client.put("/api/v1/questionnaires/other", json=definition(), headers=AUTH)
    assert mismatch.status_code == 422
    unknown = client.put("/api/v1/questionnaires/nothing", json=definition("nothing"),
                         headers=AUTH)
    assert unknown.status_code == 404
    assert client.get("/api/v1/questionnaires", headers={}).status_code == 401


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


def test_results_and_csv(client: TestClient, engine: Engine) -> None:
    residents = seed_more(engine)
    created = client.post("/api/v1/questionnaires", json=definition(), headers=AUTH).json()
    qid = created["id"]
    # 5 French answers, 1 Dutch: Dutch goes to "other", which is too small and hidden.
    french = [r for r in residents if r[1] == "fr"][:5]
    for index, (contact_id, locale) in enumerate(french):
        _answer(engine, qid, contact_id, locale, "good" if index < 3 else "bad",
                comment="=SUM(A1)" if index == 0 else None, finish=index < 4)
    dutch = next(r for r in residents if r[1] == "nl")
    _answer(engine, qid, dutch[0], "nl", "good")
    body = client.get(f"/api/v1/questionnaires/{qid}/results", headers=AUTH).json()
    assert body["responses"] == 6 and body["completed"] == 5
    assert body["completion_rate"] == round(5 / 6, 4)
    assert set(body["by_locale"]) == {"fr"}
    mood = body["questions"][0]
    assert mood["counts"] == {"good": 4, "bad": 2}
    assert mood["by_locale"] == {"fr": {"good": 3, "bad": 2}}
    assert body["questions"][1]["texts"] == ["=SUM(A1)"]
    export = client.get(f"/api/v1/questionnaires/{qid}/results.csv", headers=AUTH)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 6
    assert sorted(r["mood"] for r in rows) == ["bad", "bad", "good", "good", "good", "good"]
    assert all(r["respondent"].startswith("r-") for r in rows)
    assert not any(str(contact_id) == r["respondent"] for contact_id, _ in residents
                   for r in rows)
    assert "'=SUM(A1)" in export.text
    assert client.get("/api/v1/questionnaires/999/results", headers=AUTH).status_code == 404
    assert client.get("/api/v1/questionnaires/999/results.csv",
                      headers=AUTH).status_code == 404


def test_small_languages_merge_into_other_or_hide() -> None:
    counts = {"fr": {"a": 5}, "nl": {"a": 3}, "ar": {"a": 2}, "es": {"a": 1}}
    sizes = {"fr": 6, "nl": 3, "ar": 2, "es": 1}
    assert merge_small_locales(counts, sizes) == {"fr": {"a": 5}, "other": {"a": 6}}
    assert merge_small_locales({"fr": {"a": 1}, "nl": {"a": 1}}, {"fr": 1, "nl": 1}) == {}


def seed_more(engine: Engine) -> list[tuple[int, str]]:
    """The seeded residents plus enough French speakers for a group of five."""
    from sqlmodel import select

    from core.models import Contact

    with session_scope(engine) as session:
        contacts = list(session.exec(select(Contact)))
        rows = [(c.id, c.locale) for c in contacts if c.id is not None]
        french = [r for r in rows if r[1] == "fr"]
        for index in range(5 - len(french)):
            extra = Contact(community_id=contacts[0].community_id, locale="fr")
            session.add(extra)
            session.flush()
            assert extra.id is not None
            rows.append((extra.id, "fr"))
            del index
    return rows


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
