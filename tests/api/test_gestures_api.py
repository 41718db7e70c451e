"""``/api/v1/gestures`` (the catalogue, edited as versions) and a community's commitments,
counted together from ``privacy_k`` households, as JSON and as a pseudonymous CSV."""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from api.app import create_app
from core.communities import add_household, create_community
from core.config import SUPPORTED_LOCALES, Settings
from core.db import session_scope
from core.gestures import (
    CheckIn,
    Commitment,
    active_commitments,
    choose_gesture,
    load_gestures,
    mark_check_in_asked,
    record_check_in,
    schedule_check_in,
)
from core.models import Contact

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
K = 3


def texts(word: str) -> dict[str, str]:
    return {locale: f"{word} ({locale})" for locale in SUPPORTED_LOCALES}


NEW_GESTURE: dict[str, Any] = {
    "slug": "kettle_one_cup", "category": "cooking", "helps": "everyday", "effort": 1,
    "text": texts("Boil just the water you need"),
    "why": texts("A full kettle for one cup: about 20 kWh a year wasted"),
    "sources": [{"publisher": "ADEME", "title": "Guide des écogestes",
                 "url": "https://librairie.ademe.fr"}],
}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with session_scope(engine) as session:
        load_gestures(session, NOW - timedelta(days=30))
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def _residents(engine: Engine, homes: int, k: int = K, two_in_first: bool = False
               ) -> list[int]:
    """Residents of a community with ``privacy_k`` = k, one per home (two in the first)."""
    with session_scope(engine) as session:
        community = create_community(session, "echappee", "L'Échappée", privacy_k=k,
                                     clock=lambda: NOW)
        assert community.id is not None
        ids = []
        for index in range(homes):
            household = add_household(session, community, f"H{index + 1}", clock=lambda: NOW)
            for _ in range(2 if two_in_first and index == 0 else 1):
                contact = Contact(community_id=community.id, locale="fr", consented_at=NOW,
                                  household_id=household.id)
                session.add(contact)
                session.flush()
                assert contact.id is not None
                ids.append(contact.id)
        return ids


def _choose(engine: Engine, contact_ids: list[int], slug: str) -> None:
    with session_scope(engine) as session:
        for contact_id in contact_ids:
            choose_gesture(session, contact_id, slug, NOW - timedelta(days=3))


def _answer(engine: Engine, contact_ids: list[int], slug: str, answer: str) -> None:
    with session_scope(engine) as session:
        for contact_id in contact_ids:
            commitment = next(c for c in active_commitments(session, contact_id)
                              if c.gesture_slug == slug)
            assert commitment.id is not None
            check_in = schedule_check_in(session, commitment.id, NOW - timedelta(days=1))
            assert check_in is not None and check_in.id is not None
            mark_check_in_asked(session, check_in.id, NOW - timedelta(days=1))
            record_check_in(session, contact_id, check_in.id, answer, NOW - timedelta(hours=20))


# -- the catalogue ---------------------------------------------------------------------------

def test_the_catalogue_lists_every_gesture_in_every_language(client: TestClient) -> None:
    response = client.get("/api/v1/gestures", headers=AUTH)
    assert response.status_code == 200
    gestures = response.json()
    assert len(gestures) >= 24
    for gesture in gestures:
        assert set(gesture["text"]) == set(SUPPORTED_LOCALES) == set(gesture["why"])
        assert gesture["sources"] and gesture["version"] == 1 and gesture["origin"] == "content"
        assert (gesture["alert"] is not None) is (gesture["helps"] != "everyday")
    cooking = client.get("/api/v1/gestures", params={"category": "cooking"}, headers=AUTH)
    assert {g["category"] for g in cooking.json()} == {"cooking"}
    assert client.get("/api/v1/gestures", params={"category": "garden"},
                      headers=AUTH).status_code == 422
    assert client.get("/api/v1/gestures").status_code == 401


def test_a_gesture_is_created_then_versioned_and_commitments_keep_theirs(
        client: TestClient, engine: Engine) -> None:
    created = client.post("/api/v1/gestures", json=NEW_GESTURE, headers=AUTH)
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["origin"]) == (1, "api")
    assert client.post("/api/v1/gestures", json=NEW_GESTURE,
                       headers=AUTH).status_code == 409
    (resident,) = _residents(engine, 1)
    _choose(engine, [resident], "kettle_one_cup")
    changed = copy.deepcopy(NEW_GESTURE)
    changed["text"]["en"] = "Boil only the water you need"
    updated = client.put("/api/v1/gestures/kettle_one_cup", json=changed, headers=AUTH)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    listed = {g["slug"]: g for g in client.get("/api/v1/gestures", headers=AUTH).json()}
    assert listed["kettle_one_cup"]["version"] == 2
    assert listed["kettle_one_cup"]["text"]["en"] == "Boil only the water you need"
    with session_scope(engine) as session:
        (commitment,) = session.exec(select(Commitment)).all()
        assert commitment.gesture_version == 1  # the version the resident chose
    # A content gesture can be edited too: its next version.
    shutters = listed["curtains_at_night"]
    body = {key: shutters[key] for key in ("slug", "category", "helps", "effort", "common",
                                           "text", "why", "alert", "sources")}
    body["effort"] = 3 if shutters["effort"] != 3 else 2
    again = client.put(f"/api/v1/gestures/{shutters['slug']}", json=body, headers=AUTH)
    assert again.status_code == 200 and again.json()["version"] == shutters["version"] + 1


@pytest.mark.parametrize(("change", "problem"), [
    ({"text": {"fr": "Seulement en français"}}, "missing nl, en, ar, es"),
    ({"text": texts("x" * 101)}, "at most 100"),
    ({"helps": "alert"}, "alert-time form"),
    ({"alert": texts("after the alert")}, "only for gestures that help during an alert"),
    ({"sources": [{"publisher": "ADEME", "title": "Guide", "url": "http://x"}]}, "https://"),
])
def test_a_bad_gesture_is_refused_with_its_reason(client: TestClient, change: dict[str, Any],
                                                  problem: str) -> None:
    response = client.post("/api/v1/gestures", json={**NEW_GESTURE, **change}, headers=AUTH)
    assert response.status_code == 422
    assert problem in response.text


def test_bad_requests_get_a_4xx_with_a_reason(client: TestClient) -> None:
    cases = [
        client.post("/api/v1/gestures", json={**NEW_GESTURE, "slug": "Bad Slug"},
                    headers=AUTH),
        client.post("/api/v1/gestures", json={**NEW_GESTURE, "effort": 9}, headers=AUTH),
        client.post("/api/v1/gestures", json={**NEW_GESTURE, "sources": []}, headers=AUTH),
        client.post("/api/v1/gestures", json={**NEW_GESTURE, "category": "garden"},
                    headers=AUTH),
        client.put("/api/v1/gestures/other_slug", json=NEW_GESTURE, headers=AUTH),
        client.put("/api/v1/gestures/NOT%20A%20SLUG", json=NEW_GESTURE, headers=AUTH),
    ]
    assert [r.status_code for r in cases] == [422] * len(cases)
    assert "the body says" in cases[4].text
    missing = client.put("/api/v1/gestures/kettle_one_cup", json=NEW_GESTURE,
                         headers=AUTH)
    assert missing.status_code == 404 and "create it with POST" in missing.text
    assert client.get("/api/v1/communities/nowhere/commitments",
                      headers=AUTH).status_code == 404
    assert client.get("/api/v1/communities/nowhere/commitments.csv",
                      headers=AUTH).status_code == 404


# -- commitments, together ------------------------------------------------------------------

def _view(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/communities/echappee/commitments", headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _gesture(view: dict[str, Any], slug: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in view["gestures"] if g["gesture"] == slug)
    return found


def test_commitments_show_from_k_households_not_before(client: TestClient,
                                                       engine: Engine) -> None:
    residents = _residents(engine, K + 1, two_in_first=True)  # the first home has two people
    # k - 1 households, three people: nothing shows.
    _choose(engine, residents[:3], "washer_after_alert")
    view = _view(client)
    assert view["min_group"] == K and view["households_with_gesture"] is None
    assert view["most_chosen"] == []
    washer = _gesture(view, "washer_after_alert")
    assert washer == {"gesture": "washer_after_alert", "withheld": True, "households": None,
                      "active_households": None, "check_ins": None}
    assert len(view["gestures"]) >= 24
    # The k-th household: shown.
    _choose(engine, residents[3:4], "washer_after_alert")
    view = _view(client)
    assert view["households_with_gesture"] == K
    assert view["most_chosen"] == ["washer_after_alert"]
    washer = _gesture(view, "washer_after_alert")
    assert (washer["withheld"], washer["households"], washer["active_households"]) == (
        False, K, K)
    assert washer["check_ins"] is None
    # Check-in answers: from k answering households.
    _answer(engine, residents[:2], "washer_after_alert", "yes")  # one home, two people
    _answer(engine, residents[2:3], "washer_after_alert", "sometimes")
    assert _gesture(_view(client), "washer_after_alert")["check_ins"] is None
    _answer(engine, residents[3:4], "washer_after_alert", "not_this_time")
    assert _gesture(_view(client), "washer_after_alert")["check_ins"] == {
        "yes": 2, "sometimes": 1, "not_this_time": 1, "stop": 0}
    assert _gesture(_view(client), "lid_on_pan")["withheld"] is True


def _table(client: TestClient) -> list[dict[str, str]]:
    response = client.get("/api/v1/communities/echappee/commitments.csv", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "commitments-echappee.csv" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_csv_is_pseudonymous_and_only_for_gestures_of_k_households(
        client: TestClient, engine: Engine) -> None:
    residents = _residents(engine, K)
    _choose(engine, residents[:K - 1], "washer_after_alert")
    _choose(engine, residents[:1], "lid_on_pan")
    response = client.get("/api/v1/communities/echappee/commitments.csv", headers=AUTH)
    assert response.text.splitlines() == [
        "household,gesture,version,cadence,chosen_on,dropped_on,check_ins_yes,"
        "check_ins_sometimes,check_ins_not_this_time,check_ins_stop"]
    _choose(engine, residents[K - 1:], "washer_after_alert")
    _answer(engine, residents[:1], "washer_after_alert", "yes")
    rows = _table(client)
    assert [row["gesture"] for row in rows] == ["washer_after_alert"] * K  # not lid_on_pan
    assert all(row["version"] == "1" and row["chosen_on"] == "2026-11-28"
               and row["dropped_on"] == "" for row in rows)
    assert sorted(row["check_ins_yes"] for row in rows) == ["0", "0", "1"]
    pseudonyms = {row["household"] for row in rows}
    assert len(pseudonyms) == K and all(p.startswith("h-") for p in pseudonyms)
    # Nothing that names a household or a person; and a new pseudonym in each export.
    with session_scope(engine) as session:
        ids = {str(c.id) for c in session.exec(select(Contact)).all()}
    assert not pseudonyms & ids
    assert not pseudonyms & {row["household"] for row in _table(client)}
    # Once a second household has lid_on_pan... still withheld below k.
    _choose(engine, residents[1:2], "lid_on_pan")
    assert {row["gesture"] for row in _table(client)} == {"washer_after_alert"}
    with session_scope(engine) as session:
        assert session.exec(select(CheckIn)).first() is not None
