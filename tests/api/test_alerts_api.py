"""The alert routes of the admin API: 201 with a timeline, clear 4xx reasons, auth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core.config import Settings
from tests.fakes.community import seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seed_residents(engine, NOW)
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def _plan(client: TestClient, **body: object) -> object:
    payload = {"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": 180,
               "kind": "planned", **body}
    return client.post("/api/v1/communities/echappee/alerts", json=payload, headers=AUTH)


def test_plan_read_cancel(client: TestClient) -> None:
    response = _plan(client)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == "scheduled"
    assert [(s["stage"], s["due_at"]) for s in body["timeline"]][:3] == [
        ("notice_24h", "2026-12-02T16:00:00+00:00"),
        ("notice_30min", "2026-12-03T15:30:00+00:00"),
        ("start", "2026-12-03T16:00:00+00:00"),
    ]
    read = client.get(f"/api/v1/alerts/{body['id']}", headers=AUTH).json()
    assert read["timeline"][0]["delivery"] == {"queued": 0, "sent": 0, "delivered": 0,
                                               "failed": 0, "expired": 0}
    assert read["replies"] == {}
    cancelled = client.post(f"/api/v1/alerts/{body['id']}/cancel", headers=AUTH)
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/alerts/{body['id']}/cancel", headers=AUTH)
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


@pytest.mark.parametrize(("body", "code", "reason"), [
    ({"starts_at": "2026-11-30T10:00:00+01:00"}, 422, "in the past"),
    ({"duration_minutes": 0}, 422, "between 1 and 1440"),
    ({"duration_minutes": 1441}, 422, "between 1 and 1440"),
    ({"cluster": "Z"}, 422, "unknown cluster"),
    ({"starts_at": "2026-12-03T17:00:00"}, 422, "UTC offset"),
    ({"kind": "maybe"}, 422, "planned"),
    ({"starts_at": "not a date"}, 422, "datetime"),
])
def test_bad_plans_get_a_reason(client: TestClient, body: dict[str, object], code: int,
                                reason: str) -> None:
    response = _plan(client, **body)
    assert response.status_code == code  # type: ignore[attr-defined]
    assert reason in response.text  # type: ignore[attr-defined]


def test_overlap_is_a_conflict_and_record_only_accepts_the_past(client: TestClient) -> None:
    assert _plan(client).status_code == 201  # type: ignore[attr-defined]
    overlap = _plan(client, starts_at="2026-12-03T18:00:00+01:00", kind="surprise")
    assert overlap.status_code == 409  # type: ignore[attr-defined]
    past = _plan(client, starts_at="2026-11-20T18:00:00+01:00", record_only=True)
    assert past.status_code == 201  # type: ignore[attr-defined]
    assert past.json()["status"] == "recorded" and past.json()["timeline"] == []  # type: ignore[attr-defined]


def test_unknown_things_are_404(client: TestClient) -> None:
    assert client.get("/api/v1/alerts/999", headers=AUTH).status_code == 404
    response = client.post("/api/v1/communities/nowhere/alerts", headers=AUTH,
                           json={"starts_at": "2026-12-03T17:00:00+01:00",
                                 "duration_minutes": 60, "kind": "planned"})
    assert response.status_code == 404


def test_the_admin_token_is_required(client: TestClient, engine: Engine) -> None:
    assert client.get("/api/v1/alerts/1").status_code == 401
    assert client.get("/api/v1/alerts/1", headers={"Authorization": "Bearer nope"}
                      ).status_code == 401
    # Without VOISINS_ADMIN_TOKEN only the database's tokens open the API.
    off = create_app(engine, Settings(admin_token=None, database_url="sqlite://"))
    with TestClient(off) as no_admin:
        assert no_admin.get("/api/v1/alerts/1", headers=AUTH).status_code == 401


def test_per_community_offsets(client: TestClient) -> None:
    url = "/api/v1/communities/echappee/alert-settings"
    assert client.get(url, headers=AUTH).json()["planned_notice_minutes"] == 24 * 60
    changed = client.put(url, headers=AUTH, json={"planned_notice_minutes": 48 * 60,
                                                  "last_notice_minutes": 60})
    assert changed.status_code == 200 and changed.json()["last_notice_minutes"] == 60
    body = _plan(client).json()  # type: ignore[attr-defined]
    assert [(s["stage"], s["due_at"]) for s in body["timeline"]][:2] == [
        ("notice_24h", "2026-12-01T16:00:00+00:00"),
        ("notice_30min", "2026-12-03T15:00:00+00:00"),
    ]
    bad = client.put(url, headers=AUTH, json={"last_notice_minutes": 3000})
    assert bad.status_code == 422
    assert client.put(url, headers=AUTH, json={"grace_minutes": 0}).status_code == 422
