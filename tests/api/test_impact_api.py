"""``GET /api/v1/alerts/{id}/impact`` on synthetic meter data with a known 30 % reduction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core.alerts import AlertKind, plan_alert
from core.communities import community_by_slug
from core.config import Settings
from core.db import session_scope
from core.gestures import choose_gesture, load_gestures
from tests.fakes.community import seed_residents
from tests.fakes.energy import meter_every_household, seed_energy

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # Thursday 17:00-20:00 in Brussels
END = START + timedelta(hours=3)
DATA_FROM = datetime(2026, 10, 5, 22, 0, tzinfo=UTC)  # local midnight, 8 weeks and more before
HOUSEHOLD_KEYS = {"household", "valid", "alert_kwh", "reference_kwh", "delta_kwh", "percent",
                  "after_kwh", "before_kwh", "method"}
COMMUNITY_KEYS = {"households_valid", "shown", "alert_kwh", "reference_kwh", "delta_kwh",
                  "percent"}


def _setup(engine: Engine, households_with_data: int) -> int:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        alert = plan_alert(session, community, starts_at=START, duration_minutes=180,
                           kind=AlertKind.PLANNED, now=NOW)
        alert_id, community_id = alert.id, community.id
    assert alert_id is not None
    households = meter_every_household(engine, community_id)
    seed_energy(engine, households[:households_with_data], DATA_FROM,
                END + timedelta(hours=3), alert=(START, END, 0.7))
    return alert_id


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def test_known_reduction_is_measured_per_household_and_for_the_community(
        engine: Engine) -> None:
    alert_id = _setup(engine, households_with_data=6)
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as client:
        response = client.get(f"/api/v1/alerts/{alert_id}/impact", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"alert_id", "drill", "households", "community"}
    assert body["alert_id"] == alert_id and body["drill"] is False
    assert set(body["community"]) == COMMUNITY_KEYS
    community = body["community"]
    assert community["shown"] is True and community["households_valid"] == 6
    assert community["percent"] == pytest.approx(-30.0, abs=0.01)
    assert community["delta_kwh"] == pytest.approx(-0.3 * community["reference_kwh"], rel=1e-3)
    assert [h["household"] for h in body["households"]] == [f"H{i}" for i in range(1, 7)]
    for household in body["households"]:
        assert set(household) == HOUSEHOLD_KEYS
        assert household["valid"] and household["method"] == "same_slots"
        assert household["percent"] == pytest.approx(-30.0, abs=0.01)
        # Nothing moved before or after the alert in this data: no rebound.
        assert household["after_kwh"] == pytest.approx(0.0, abs=1e-3)
        assert household["before_kwh"] == pytest.approx(0.0, abs=1e-3)


def test_like_days_is_reported_with_and_without_its_adjustment(
        engine: Engine, client: TestClient) -> None:
    alert_id = _setup(engine, households_with_data=6)
    body = client.get(f"/api/v1/alerts/{alert_id}/impact?method=like_days", headers=AUTH).json()
    household = body["households"][0]
    assert household["method"] == "like_days" and household["valid"]
    assert set(household) == HOUSEHOLD_KEYS | {"reference_unadjusted_kwh",
                                               "delta_unadjusted_kwh", "percent_unadjusted"}
    assert body["community"]["shown"] is True
    assert body["community"]["percent"] < -20


def test_fewer_than_k_valid_households_hide_the_community_figures(
        engine: Engine, client: TestClient) -> None:
    alert_id = _setup(engine, households_with_data=4)
    body = client.get(f"/api/v1/alerts/{alert_id}/impact", headers=AUTH).json()
    assert body["community"] == {"households_valid": 4, "shown": False, "alert_kwh": None,
                                 "reference_kwh": None, "delta_kwh": None, "percent": None}
    by_ref = {h["household"]: h for h in body["households"]}
    # The two metered households without data are listed, not valid, without figures.
    assert by_ref["H5"]["valid"] is False and by_ref["H5"]["alert_kwh"] is None
    assert sum(h["valid"] for h in body["households"]) == 4


def test_bad_method_unknown_alert_and_auth(engine: Engine, client: TestClient) -> None:
    alert_id = _setup(engine, households_with_data=0)
    bad = client.get(f"/api/v1/alerts/{alert_id}/impact?method=median", headers=AUTH)
    assert bad.status_code == 422 and "same_slots" in bad.text
    assert client.get("/api/v1/alerts/999/impact", headers=AUTH).status_code == 404
    assert client.get(f"/api/v1/alerts/{alert_id}/impact").status_code == 401
    empty = client.get(f"/api/v1/alerts/{alert_id}/impact", headers=AUTH).json()
    assert empty["community"]["shown"] is False
    assert all(not h["valid"] for h in empty["households"]) and len(empty["households"]) == 6


# -- by gesture: with and without an alert-time gesture --------------------------------------

def _by_gesture(engine: Engine, k: int, with_gesture: int) -> dict[str, Any]:
    """Six metered households; the first ``with_gesture`` committed to an alert-time gesture
    before the alert and reduced by 30 %, the others used as usual. A seventh resident chose
    a gesture only after the alert started: not counted."""
    residents = seed_residents(engine, NOW, privacy_k=k)
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        alert = plan_alert(session, community, starts_at=START, duration_minutes=180,
                           kind=AlertKind.PLANNED, now=NOW)
        alert_id, community_id = alert.id, community.id
        for resident in residents[:with_gesture]:
            choose_gesture(session, resident.contact_id, "washer_after_alert", NOW)
        choose_gesture(session, residents[-1].contact_id, "lid_on_pan", NOW)  # every day
        if with_gesture < len(residents):
            choose_gesture(session, residents[with_gesture].contact_id, "iron_after_alert",
                           START + timedelta(minutes=5))  # too late for this alert
    households = meter_every_household(engine, community_id)
    seed_energy(engine, households[:with_gesture], DATA_FROM, END + timedelta(hours=3),
                alert=(START, END, 0.7))
    seed_energy(engine, households[with_gesture:], DATA_FROM, END + timedelta(hours=3))
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as client:
        response = client.get(f"/api/v1/alerts/{alert_id}/impact?by=gesture", headers=AUTH)
        assert response.status_code == 200, response.text
        plain = client.get(f"/api/v1/alerts/{alert_id}/impact", headers=AUTH).json()
        assert "by_gesture" not in plain
        assert client.get(f"/api/v1/alerts/{alert_id}/impact?by=household",
                          headers=AUTH).status_code == 422
    body: dict[str, Any] = response.json()
    assert body["community"]["households_valid"] == 6
    return body


def test_by_gesture_compares_when_both_groups_have_k_valid_households(
        engine: Engine) -> None:
    by = _by_gesture(engine, k=3, with_gesture=3)["by_gesture"]
    assert by["compared"] is True and by["min_group"] == 3 and by["reason"] is None
    assert "correlation, not a proof" in by["note"]
    assert by["with_gesture"]["households_valid"] == 3
    assert by["without_gesture"]["households_valid"] == 3
    assert by["with_gesture"]["percent"] == pytest.approx(-30.0, abs=0.01)
    assert by["without_gesture"]["percent"] == pytest.approx(0.0, abs=0.01)


def test_by_gesture_says_so_when_a_group_is_under_k(engine: Engine) -> None:
    by = _by_gesture(engine, k=3, with_gesture=2)["by_gesture"]  # k - 1 with a gesture
    assert by == {"min_group": 3, "compared": False, "reason": "few_with_gesture",
                  "message": "fewer than 3 valid households had an alert-time gesture: "
                             "not compared",
                  "with_gesture": None, "without_gesture": None, "note": by["note"]}


def test_by_gesture_needs_k_without_a_gesture_too(engine: Engine) -> None:
    by = _by_gesture(engine, k=3, with_gesture=4)["by_gesture"]  # 2 left without
    assert (by["compared"], by["reason"]) == (False, "few_without_gesture")
