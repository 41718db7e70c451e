"""The workshop routes of the admin API: create, send, read, move, cancel, the CSV, the .ics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core.calendar_file import store_workshop_ics
from core.config import Settings, get_settings
from core.db import session_scope
from core.models import Community
from core.workshop_tables import Workshop
from tests.fakes.community import seed_residents

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
BODY = {"title": {"fr": "Atelier vélo", "nl": "Fietsatelier"},
        "description": {"fr": "On répare ensemble."}, "place": "Salle des fêtes",
        "starts_at": "2026-12-03T18:00:00+01:00", "ends_at": "2026-12-03T20:00:00+01:00"}


@pytest.fixture
def client(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # Calendar links need the public address (read from the settings by the wording).
    monkeypatch.setenv("VOISINS_PUBLIC_URL", "https://voisins.example")
    get_settings.cache_clear()
    seed_residents(sqlite_engine, NOW)
    app = create_app(sqlite_engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client
    get_settings.cache_clear()


def _create(client: TestClient, **changes: object) -> dict[str, object]:
    response = client.post("/api/v1/communities/echappee/workshops", json={**BODY, **changes},
                           headers=AUTH)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_create_send_read_move_cancel(client: TestClient, sqlite_engine: Engine) -> None:
    created = _create(client, capacity=2, audience={"cluster": "A"})
    assert created["status"] == "draft" and created["author_locale"] == "fr"
    assert created["rsvps"] == {"yes": 0, "maybe": 0, "no": 0, "waiting": 0}
    workshop = f"/api/v1/workshops/{created['id']}"
    sent = client.post(f"{workshop}/send", headers=AUTH).json()
    # Cluster A: an SMS and two Telegram residents.
    assert sent["status"] == "sent" and sent["queued"] == 3
    assert {channel: counts["queued"] for channel, counts in sent["delivery"].items()} == {
        "sms": 1, "telegram": 2}
    assert [s["stage"] for s in sent["steps"]] == ["reminder_24h", "reminder_2h"]
    assert client.post(f"{workshop}/send", headers=AUTH).status_code == 409
    moved = client.post(f"{workshop}/move", headers=AUTH,
                        json={"starts_at": "2026-12-04T18:00:00+01:00"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["ends_at"] == "2026-12-04T19:00:00+00:00"
    assert moved.json()["told"] == 0 and moved.json()["revision"] == 1
    patched = client.patch(workshop, headers=AUTH, json={"place": "Local vélo"})
    assert patched.json()["place"] == "Local vélo"
    cancelled = client.post(f"{workshop}/cancel", headers=AUTH).json()
    assert cancelled["status"] == "cancelled"
    assert client.get(workshop, headers=AUTH).json()["delivery"]["sms"]["held_back"] == 1
    csv = client.get(f"{workshop}/attendees.csv", headers=AUTH)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("name,language,answer")
    with session_scope(sqlite_engine) as session:
        workshop_row = session.get(Workshop, created["id"])
        assert workshop_row is not None
        community = session.get(Community, workshop_row.community_id)
        assert community is not None
        token = store_workshop_ics(session, workshop_row, community, "fr", NOW)
    ics = client.get(f"/media/{token}.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["summary"]) == "Atelier vélo"
    assert client.get(f"/media/{token}.png").status_code == 404


@pytest.mark.parametrize("changes, reason", [
    ({"title": {}}, "at least one language"),
    ({"title": {"de": "Werkstatt"}}, "unknown language"),
    ({"starts_at": "2026-12-03T18:00:00"}, "UTC offset"),
    ({"starts_at": "2020-12-03T18:00:00+01:00", "ends_at": "2020-12-03T19:00:00+01:00"},
     "in the past"),
    ({"ends_at": "2026-12-03T17:00:00+01:00"}, "after starts_at"),
    ({"capacity": 0}, "greater than or equal to 1"),
    ({"audience": {"cluster": "Z"}}, "unknown cluster"),
    ({"audience": {"languages": ["de"]}}, "unknown language"),
    ({"audience": {"came_to": [999]}}, "no workshop 999"),
    ({"author_locale": "es"}, "author's language"),
    ({"place": ""}, "at least 1 character"),
])
def test_bad_workshops_are_refused_with_a_reason(client: TestClient, changes: dict[str, object],
                                                 reason: str) -> None:
    response = client.post("/api/v1/communities/echappee/workshops",
                           json={**BODY, **changes}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert reason in response.text


def test_unknown_workshop_and_community_are_404_and_auth_is_needed(client: TestClient) -> None:
    assert client.get("/api/v1/workshops/999", headers=AUTH).status_code == 404
    assert client.post("/api/v1/workshops/999/send", headers=AUTH).status_code == 404
    assert client.post("/api/v1/communities/nope/workshops", json=BODY,
                       headers=AUTH).status_code == 404
    assert client.get("/api/v1/workshops/1").status_code == 401
