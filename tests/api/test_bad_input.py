"""No 500 for bad input: huge ids, NaN and Infinity, absurd durations and dates, broken CSV
lines. Each is a 4xx (or a report of bad rows), and every 422 has the one documented shape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine

from api.app import create_app
from core.config import Settings
from core.db import session_scope
from core.demo import seed_demo

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
JSON = {**AUTH, "Content-Type": "application/json"}
CSV = {**AUTH, "Content-Type": "text/csv"}
HUGE_IDS = [2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1, 0]


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: NOW)
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://",
                                      _env_file=None),  # type: ignore[call-arg]
                     clock=lambda: NOW)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def assert_422_shape(response: Response) -> None:
    """The documented shape: {"detail": [{"loc": [...], "msg": str, "type": str}, ...]}."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], list) and body["detail"]
    for problem in body["detail"]:
        assert set(problem) == {"loc", "msg", "type"}, problem
        assert isinstance(problem["loc"], list)
        assert all(isinstance(part, str | int) for part in problem["loc"])
        assert isinstance(problem["msg"], str) and problem["msg"]
        assert isinstance(problem["type"], str) and problem["type"]


def _id_operations(client: TestClient) -> list[tuple[str, str]]:
    """Every operation whose path has an integer id, from the app's own OpenAPI."""
    found = []
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            params = [p for p in operation.get("parameters", [])
                      if p["in"] == "path" and "integer" in str(p["schema"])]
            if params:
                found.append((method.upper(), path))
    return found


def test_every_id_route_answers_a_huge_id_with_a_4xx(client: TestClient) -> None:
    operations = _id_operations(client)
    assert {path for _, path in operations} >= {
        "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/cancel",
        "/api/v1/alerts/{alert_id}/impact"}
    for method, path in operations:
        for value in HUGE_IDS:
            url = re.sub(r"\{[a-z_]+\}", str(value), path)
            response = client.request(method, url, headers=AUTH)
            assert response.status_code in (404, 422), (method, url, response.text)
            if response.status_code == 422:
                assert_422_shape(response)


@pytest.mark.parametrize("body", [
    b'{"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": NaN, "kind": "planned"}',
    b'{"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": Infinity, '
    b'"kind": "planned"}',
    b'{"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": -Infinity, '
    b'"kind": "planned"}',
    b'{"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": 60, "kind": "planned", '
    b'"unused": NaN}',
    b'{"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": 1e30, "kind": "planned"}',
    b'{"starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": 1e400, "kind": "planned"}',
    b'{"starts_at": "9999-12-31T23:59:59+14:00", "duration_minutes": 60, "kind": "planned"}',
    b'{"starts_at": "0001-01-01T00:00:00+14:00", "duration_minutes": 60, "kind": "planned", '
    b'"record_only": true}',
    b'{"starts_at": "9999-12-31T23:59:59-14:00", "duration_minutes": 1440, "kind": "surprise"}',
])
def test_absurd_alert_plans_are_a_422(client: TestClient, body: bytes) -> None:
    response = client.post("/api/v1/communities/demo/alerts", content=body, headers=JSON)
    assert_422_shape(response)


@pytest.mark.parametrize(("path", "method", "body"), [
    ("/api/v1/communities/demo/alert-settings", "PUT", b'{"grace_minutes": NaN}'),
    ("/api/v1/communities/demo/alert-settings", "PUT", b'{"grace_minutes": 1e30}'),
    ("/api/v1/communities/demo/households", "POST", b'{"ref": "H99", "cluster": NaN}'),
    ("/api/v1/communities/demo/households", "POST", b'{"ref": "H99", "x": Infinity}'),
    ("/api/v1/communities/demo/meters", "POST",
     b'{"sensor": "s", "household": "H01", "role": "net", "sign": NaN}'),
    ("/api/v1/communities/demo/meters", "POST", b'{"sensor": "s", "household": "H01", '
                                                    b'"role": "net", "phase": 1e30}'),
])
def test_non_finite_numbers_in_any_body_are_a_422(client: TestClient, path: str, method: str,
                                                  body: bytes) -> None:
    assert_422_shape(client.request(method, path, content=body, headers=JSON))


def test_our_own_422s_have_the_same_shape(client: TestClient) -> None:
    past = client.post("/api/v1/communities/demo/alerts", headers=AUTH, json={
        "starts_at": "2026-11-30T10:00:00+01:00", "duration_minutes": 60, "kind": "planned"})
    assert_422_shape(past)
    assert "in the past" in past.json()["detail"][0]["msg"]
    settings = client.put("/api/v1/communities/demo/alert-settings", headers=AUTH,
                          json={"planned_notice_minutes": 60, "last_notice_minutes": 60})
    assert_422_shape(settings)
    assert settings.json()["detail"][0]["loc"] == ["body", "last_notice_minutes"]
    meter = client.post("/api/v1/communities/demo/meters", headers=AUTH, json={
        "sensor": "s1", "household": "nobody", "role": "net"})
    assert_422_shape(meter)
    assert_422_shape(client.post("/api/v1/communities/demo/readings", content=b"hello",
                                 headers=CSV))
    assert_422_shape(client.post("/api/v1/communities/demo/households", headers=JSON,
                                 content=b"{not json"))


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _configure_meter(client: TestClient) -> None:
    response = client.post("/api/v1/communities/demo/meters", headers=AUTH, json={
        "sensor": "s1", "household": "H01", "role": "consumption"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("body", [
    _csv("sensor,timestamp,watts", "s1,2026-11-30T10:00:00+00:00,100",
         "s1,2026-11-30T10:00:08+00:00,100,extra", "s1,2026-11-30T10:00:16+00:00,100"),
    _csv("sensor,timestamp,watts", "s1,2026-11-30T10:00:00+00:00,100",
         '"s1,2026-11-30T10:00:08+00:00,100', "s1,2026-11-30T10:00:16+00:00,100"),
    _csv("sensor,timestamp,watts", 's1,"2026-11-30T10:00:00+00:00,100'),
    _csv("time,s1", "2026-11-30T10:00:00+00:00,100,7,8", '"2026-11-30T10:00:08+00:00,100'),
])
def test_broken_csv_lines_are_reported_never_a_500(client: TestClient, body: bytes) -> None:
    _configure_meter(client)
    response = client.post("/api/v1/communities/demo/readings", content=body, headers=CSV)
    # The parser reports the line as a bad row (200), or the file as unreadable (422).
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        report: dict[str, Any] = response.json()
        assert report["rejected"] >= 1 and report["errors"], report
    else:
        assert_422_shape(response)


@pytest.mark.parametrize(("method", "url", "body"), [
    ("GET", "/api/v1/communities/de%00mo/households", None),
    ("GET", "/media/abc%00def.png", None),
    ("GET", "/api/v1/alerts/1/impact?method=same%00slots", None),
    ("POST", "/api/v1/communities/demo/households", b'{"ref": "H\\u0000X"}'),
    ("POST", "/api/v1/communities/demo/households", b'{"ref": "HX", "\\u0000": 1}'),
    ("POST", "/api/v1/communities/demo/meters",
     b'{"sensor": "s\\u0000", "household": "H01", "role": "net"}'),
])
def test_nul_characters_are_a_422_on_both_databases(client: TestClient, method: str, url: str,
                                                     body: bytes | None) -> None:
    # PostgreSQL refuses NUL in text: caught before the database sees it.
    response = client.request(method, url, content=body, headers=JSON)
    assert_422_shape(response)
    assert "NUL" in response.json()["detail"][0]["msg"]


def test_a_csv_with_nul_bytes_is_not_a_text_file(client: TestClient) -> None:
    response = client.post("/api/v1/communities/demo/readings", headers=CSV,
                           content=b"sensor,timestamp,watts\ns\x001,1795000000,10\n")
    assert response.status_code == 400 and "UTF-8 text" in response.json()["detail"]
