"""Communities, clusters and households in bulk through the admin API (SQLite and PostgreSQL):
every route, and each bad field answered 4xx with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from api.app import create_app
from core.communities import community_by_join_code
from core.config import Settings
from core.db import session_scope
from core.metering import Meter
from core.models import Household
from tests.api.helpers import detail_text

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer s3cret"}
CSV = {"Content-Type": "text/csv", **AUTH}
API = "/api/v1/communities"


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(API, json={"slug": "cite-jardin", "name": "Cité Jardin", **body},
                           headers=AUTH)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_community_is_created_with_defaults_listed_shown_and_changed(
        client: TestClient) -> None:
    created = _create(client)
    assert created == {"slug": "cite-jardin", "name": "Cité Jardin",
                       "join_code": created["join_code"], "timezone": "Europe/Brussels",
                       "default_locale": "fr", "quiet_hours": "22:00-08:00", "privacy_k": 5}
    assert len(created["join_code"]) == 6
    other = client.post(API, json={"slug": "volta", "name": "Volta-taqa",
                                   "timezone": "Europe/Madrid", "default_locale": "ar",
                                   "quiet_hours": "21:30-07:00", "privacy_k": 8}, headers=AUTH)
    assert other.status_code == 201
    assert other.json()["default_locale"] == "ar" and other.json()["privacy_k"] == 8
    listed = client.get(API, headers=AUTH).json()
    assert [c["slug"] for c in listed] == ["cite-jardin", "volta"]
    assert client.get(f"{API}/volta", headers=AUTH).json() == other.json()
    changed = client.patch(f"{API}/volta", json={"name": "Volta", "privacy_k": 6},
                           headers=AUTH)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**other.json(), "name": "Volta", "privacy_k": 6}
    assert client.get(f"{API}/volta", headers=AUTH).json()["name"] == "Volta"


def test_a_duplicate_slug_is_a_409_and_an_unknown_one_a_404(client: TestClient) -> None:
    _create(client)
    again = client.post(API, json={"slug": "cite-jardin", "name": "Other"}, headers=AUTH)
    assert again.status_code == 409 and "already exists" in detail_text(again)
    for method, path in (("GET", f"{API}/nope"), ("PATCH", f"{API}/nope"),
                         ("POST", f"{API}/nope/join-code"), ("GET", f"{API}/nope/clusters"),
                         ("POST", f"{API}/nope/clusters")):
        body = {"name": "x"} if method != "GET" else None
        response = client.request(method, path, json=body, headers=AUTH)
        assert response.status_code == 404, (method, path, response.text)
        assert "no community 'nope'" in detail_text(response)


BAD_FIELDS = [
    ("slug", "A", "2 to 40 characters"),
    ("slug", "Cité", "2 to 40 characters"),
    ("slug", "x" * 41, "40"),
    ("slug", "a_b", "2 to 40 characters"),
    ("name", "   ", "blank"),
    ("name", "n" * 121, "120"),
    ("timezone", "Europe/Nowhere", "IANA"),
    ("timezone", "../../etc/passwd", "IANA"),
    ("timezone", "", "IANA"),
    ("default_locale", "de", "fr, nl, en, ar, es"),
    ("quiet_hours", "22-08", "HH:MM-HH:MM"),
    ("quiet_hours", "25:00-08:00", "HH:MM-HH:MM"),
    ("privacy_k", 4, "5 or more"),
    ("privacy_k", 2**40, "less than or equal"),
    ("privacy_k", "many", "integer"),
    ("color", "blue", "Extra inputs"),
]


def test_each_bad_field_is_a_422_that_names_it(client: TestClient) -> None:
    # One database for every case: a case is a request, the migration is what costs.
    _create(client, slug="ok")
    for field, value, reason in BAD_FIELDS:
        body = {"slug": "cite-jardin", "name": "Cité Jardin", field: value}
        response = client.post(API, json=body, headers=AUTH)
        assert response.status_code == 422, (field, value, response.text)
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["body", field] and reason in problem["msg"], problem
        if field != "slug":
            patched = client.patch(f"{API}/ok", json={field: value}, headers=AUTH)
            assert patched.status_code == 422 and reason in detail_text(patched), patched.text
    assert client.get(f"{API}/ok", headers=AUTH).json() == client.get(
        API, headers=AUTH).json()[0]
    assert client.get(f"{API}/ok", headers=AUTH).json()["name"] == "Cité Jardin"
    assert [c["slug"] for c in client.get(API, headers=AUTH).json()] == ["ok"]


def test_every_broken_rule_is_named_at_once(client: TestClient) -> None:
    response = client.post(API, json={"slug": "x", "name": "N", "timezone": "Mars/Olympus",
                                      "privacy_k": 1}, headers=AUTH)
    assert response.status_code == 422
    assert {tuple(p["loc"]) for p in response.json()["detail"]} == {
        ("body", "slug"), ("body", "timezone"), ("body", "privacy_k")}
    missing = client.post(API, json={}, headers=AUTH)
    assert {tuple(p["loc"]) for p in missing.json()["detail"]} == {("body", "slug"),
                                                                    ("body", "name")}
    slug_change = client.patch(f"{API}/x", json={"slug": "y"}, headers=AUTH)
    assert slug_change.status_code == 422 and "Extra inputs" in detail_text(slug_change)


def test_a_new_join_code_retires_the_old_one(client: TestClient, engine: Engine) -> None:
    old = _create(client)["join_code"]
    rotated = client.post(f"{API}/cite-jardin/join-code", headers=AUTH)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["join_code"]
    assert new != old and len(new) == 6
    with session_scope(engine) as session:
        assert community_by_join_code(session, old) is None
        found = community_by_join_code(session, new)
        assert found is not None and found.slug == "cite-jardin"
    assert client.get(f"{API}/cite-jardin", headers=AUTH).json()["join_code"] == new


def test_clusters_are_created_listed_with_their_household_count(client: TestClient) -> None:
    _create(client)
    base = f"{API}/cite-jardin"
    created = client.post(f"{base}/clusters", json={"name": "Cabine Nord", "kind": "lv_cabin"},
                          headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "Cabine Nord", "kind": "lv_cabin", "households": 0}
    assert client.post(f"{base}/clusters", json={"name": "Bloc B"},
                       headers=AUTH).json()["kind"] == "group"
    again = client.post(f"{base}/clusters", json={"name": "Cabine Nord"}, headers=AUTH)
    assert again.status_code == 409 and "already exists" in detail_text(again)
    client.post(f"{base}/households", json={"ref": "H1", "cluster": "Cabine Nord"},
                headers=AUTH)
    listed = client.get(f"{base}/clusters", headers=AUTH).json()
    assert listed == [{"name": "Bloc B", "kind": "group", "households": 0},
                      {"name": "Cabine Nord", "kind": "lv_cabin", "households": 1}]


BAD_CLUSTERS: list[tuple[dict[str, Any], str, str]] = [
    ({"name": " "}, "name", "blank"),
    ({"name": "c" * 65}, "name", "64"),
    ({"name": "A", "kind": "village"}, "kind", "lv_cabin"),
    ({"kind": "group"}, "name", "Field required"),
]


def test_bad_clusters_are_a_422_that_names_the_field(client: TestClient) -> None:
    _create(client)
    for body, field, reason in BAD_CLUSTERS:
        response = client.post(f"{API}/cite-jardin/clusters", json=body, headers=AUTH)
        assert response.status_code == 422, body
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["body", field] and reason in problem["msg"], problem
    assert client.get(f"{API}/cite-jardin/clusters", headers=AUTH).json() == []


HOUSEHOLDS = """ref,cluster,sensor,role,sign
A01,Cabine Nord,flk-a01-c,consumption,1
A01,Cabine Nord,flk-a01-p,production,-1
A02,Cabine Nord,,,
B01,,flk-b01,net,
"""


def test_households_are_imported_in_bulk_with_their_codes(client: TestClient,
                                                          engine: Engine) -> None:
    _create(client)
    response = client.post(f"{API}/cite-jardin/households.csv", content=HOUSEHOLDS,
                           headers=CSV)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "ref,cluster,code,sensors"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("A01", "Cabine Nord", "flk-a01-c flk-a01-p"), ("A02", "Cabine Nord", ""),
        ("B01", "", "flk-b01")]
    codes = [r[2] for r in rows]
    assert len(set(codes)) == 3 and all(len(code) == 6 for code in codes)
    listed = client.get(f"{API}/cite-jardin/households", headers=AUTH).json()
    assert {h["ref"]: h["code"] for h in listed} == dict(zip(["A01", "A02", "B01"], codes,
                                                             strict=True))
    with session_scope(engine) as session:
        meters = {m.sensor: (m.role, m.sign) for m in session.exec(select(Meter)).all()}
    assert meters == {"flk-a01-c": ("consumption", 1), "flk-a01-p": ("production", -1),
                      "flk-b01": ("net", 1)}
    # No header, semicolons (a spreadsheet saved in French): read in the documented order.
    more = client.post(f"{API}/cite-jardin/households.csv", content="C01;Cabine Sud\n",
                       headers=CSV)
    assert more.status_code == 201 and more.text.splitlines()[1].startswith("C01,Cabine Sud,")
    clusters = client.get(f"{API}/cite-jardin/clusters", headers=AUTH).json()
    assert [(c["name"], c["households"]) for c in clusters] == [("Cabine Nord", 2),
                                                                ("Cabine Sud", 1)]


def test_a_file_with_bad_rows_imports_nothing_and_names_every_row(
        client: TestClient, engine: Engine) -> None:
    _create(client)
    client.post(f"{API}/cite-jardin/households", json={"ref": "OLD"}, headers=AUTH)
    bad = ("ref,cluster,sensor,role,sign\n"
           "A01,Nord,s1,consumption,1\n"   # fine
           ",Nord,,,\n"                    # line 3: no ref
           "A02,Nord,s1,,\n"               # line 4: sensor already on line 2
           "A03,Nord,s3,heating,\n"        # line 5: unknown role
           "A04,Nord,s4,,2\n"              # line 6: bad sign
           "A05,Nord,,net,\n"              # line 7: role without a sensor
           "A01,Sud,s7,,\n"                # line 8: A01 in another cluster
           "A06,Nord,,,,extra\n")          # line 9: too many columns
    response = client.post(f"{API}/cite-jardin/households.csv", content=bad, headers=CSV)
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert [p["loc"] for p in problems] == [
        ["body", 3, "ref"], ["body", 4, "sensor"], ["body", 5, "role"], ["body", 6, "sign"],
        ["body", 7, "sensor"], ["body", 8, "cluster"], ["body", 9]]
    assert all("nothing was imported" in p["msg"] for p in problems)
    assert "already on line 2" in problems[1]["msg"] and "heating" in problems[2]["msg"]
    # The database is asked once the file itself is right: the ref that exists is named.
    existing = client.post(f"{API}/cite-jardin/households.csv", content="OLD,Nord\nNEW,Nord\n",
                           headers=CSV)
    assert existing.status_code == 422
    assert existing.json()["detail"][0]["loc"] == ["body", 1, "ref"]
    assert "already exists" in detail_text(existing)
    with session_scope(engine) as session:
        assert [h.ref for h in session.exec(select(Household)).all()] == ["OLD"]
    assert client.get(f"{API}/cite-jardin/clusters", headers=AUTH).json() == []


BAD_FILES: list[tuple[bytes, dict[str, str], int, str]] = [
    (b"", CSV, 422, "no households"),
    (b"ref,town\nA,B\n", CSV, 422, "the header names the columns"),
    (b"\xff\xfe", CSV, 400, "UTF-8"),
    (b"A\x00,B\n", CSV, 400, "UTF-8"),
    (b'{"ref": "A"}', {"Content-Type": "application/json", **AUTH}, 415, "text/csv"),
]


def test_bad_household_files_get_a_reason(client: TestClient) -> None:
    _create(client)
    for content, headers, status, reason in BAD_FILES:
        response = client.post(f"{API}/cite-jardin/households.csv", content=content,
                               headers=headers)
        assert response.status_code == status, (content, response.text)
        assert reason in detail_text(response), response.text
    missing = client.post(f"{API}/nope/households.csv", content=b"A,B\n", headers=CSV)
    assert missing.status_code == 404


def test_an_imported_sensor_taken_elsewhere_is_refused(client: TestClient) -> None:
    _create(client)
    _create(client, slug="other")
    first = client.post(f"{API}/other/households.csv", content="X1,,shared-sensor\n",
                        headers=CSV)
    assert first.status_code == 201
    second = client.post(f"{API}/cite-jardin/households.csv", content="Y1,,shared-sensor\n",
                         headers=CSV)
    assert second.status_code == 422 and "already configured" in detail_text(second)


def test_every_route_needs_the_admin_token(client: TestClient) -> None:
    for method, path in (("GET", API), ("POST", API), ("GET", f"{API}/x"),
                         ("PATCH", f"{API}/x"), ("POST", f"{API}/x/join-code"),
                         ("GET", f"{API}/x/clusters"), ("POST", f"{API}/x/clusters"),
                         ("POST", f"{API}/x/households.csv")):
        assert client.request(method, path).status_code == 401, (method, path)
