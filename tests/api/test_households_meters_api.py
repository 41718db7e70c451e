"""Households, meters, readings and meter health through the admin API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core.communities import create_community
from core.config import Settings
from core.db import session_scope
from tests.api.helpers import detail_text
from tests.meters.conftest import SAMPLE_DATA

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 17:00 in Brussels
AUTH = {"Authorization": "Bearer s3cret"}
BASE = "/api/v1/communities/coin"
CSV = {"Content-Type": "text/csv", **AUTH}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with session_scope(engine) as session:
        create_community(session, "coin", "Coin du Balai", join_code="COIN")
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def _household(client: TestClient, ref: str, cluster: str | None = "Cabin 1"
               ) -> dict[str, object]:
    response = client.post(f"{BASE}/households", json={"ref": ref, "cluster": cluster},
                           headers=AUTH)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _meter(client: TestClient, **body: object) -> object:
    return client.post(f"{BASE}/meters", json=body, headers=AUTH)


def test_households_get_a_code_and_clusters_are_created_as_they_come(
        client: TestClient) -> None:
    first = _household(client, "H01")
    assert set(first) == {"ref", "code", "cluster"}
    assert first["ref"] == "H01" and first["cluster"] == "Cabin 1"
    assert isinstance(first["code"], str) and first["code"]
    _household(client, "H02")  # the same cabin: reused, not created twice
    _household(client, "H03", cluster=None)
    again = client.post(f"{BASE}/households", json={"ref": "H01", "cluster": "Cabin 2"},
                        headers=AUTH)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    listed = client.get(f"{BASE}/households", headers=AUTH).json()
    assert [(h["ref"], h["cluster"]) for h in listed] == [
        ("H01", "Cabin 1"), ("H02", "Cabin 1"), ("H03", None)]
    assert len({h["code"] for h in listed}) == 3


@pytest.mark.parametrize(("body", "reason"), [
    ({"ref": ""}, "ref"),
    ({"ref": "   "}, "blank"),
    ({"cluster": "A"}, "ref"),
])
def test_bad_households_get_a_reason(client: TestClient, body: dict[str, object],
                                     reason: str) -> None:
    response = client.post(f"{BASE}/households", json=body, headers=AUTH)
    assert response.status_code == 422 and reason in response.text


def test_meters_are_configured_with_role_sign_and_phase(client: TestClient) -> None:
    _household(client, "H01")
    created = _meter(client, sensor="abc123", household="H01", role="net", sign=-1, phase=2)
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    assert created.json() == {"sensor": "abc123", "household": "H01",  # type: ignore[attr-defined]
                              "role": "net", "sign": -1, "phase": 2}
    default_sign = _meter(client, sensor="pv1", household="H01", role="production")
    assert default_sign.json()["sign"] == 1  # type: ignore[attr-defined]
    duplicate = _meter(client, sensor="abc123", household="H01", role="consumption")
    assert duplicate.status_code == 409  # type: ignore[attr-defined]
    listed = client.get(f"{BASE}/meters", headers=AUTH).json()
    assert [m["sensor"] for m in listed] == ["abc123", "pv1"]
    households = client.get(f"{BASE}/households", headers=AUTH).json()
    assert households[0]["meters"] == ["abc123", "pv1"]


@pytest.mark.parametrize(("body", "code", "reason"), [
    ({"household": "H99"}, 422, "unknown household"),
    ({"role": "solar"}, 422, "consumption"),
    ({"sign": 2}, 422, "sign"),
    ({"phase": 4}, 422, "phase"),
    ({"sensor": ""}, 422, "sensor"),
])
def test_bad_meters_get_a_reason(client: TestClient, body: dict[str, object], code: int,
                                 reason: str) -> None:
    _household(client, "H01")
    response = _meter(client, **{"sensor": "s1", "household": "H01", "role": "consumption",
                                 **body})
    assert response.status_code == code  # type: ignore[attr-defined]
    assert reason in response.text  # type: ignore[attr-defined]


def _readings(start: datetime, minutes: int, sensor: str = "s1", watts: float = 400.0
              ) -> str:
    lines = ["sensor,timestamp,watts"]
    for second in range(0, minutes * 60, 8):
        lines.append(f"{sensor},{int(start.timestamp()) + second},{watts}")
    return "\n".join(lines) + "\n"


def test_readings_import_answers_accepted_rejected_and_reasons(client: TestClient) -> None:
    _household(client, "H01")
    _meter(client, sensor="s1", household="H01", role="consumption")
    text = _readings(NOW - timedelta(hours=1), 30)
    text += "s1,not a time,300\nghost,1764604800,100\ns1,1764604808,-50\n"
    response = client.post(f"{BASE}/readings", content=text, headers=CSV)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 30 * 60 // 8
    assert body["rejected"] == 3
    reasons = " ".join(e["reason"] for e in body["errors"])
    assert "unknown sensor" in reasons
    assert all({"row", "sensor", "reason"} <= set(e) for e in body["errors"])


@pytest.mark.parametrize(("content", "headers", "code", "reason"), [
    (b"", CSV, 400, "empty body"),
    (b"   \n", CSV, 400, "empty body"),
    (b'{"sensor": "s1"}', CSV, 422, "unrecognised format"),
    (b"hello world", CSV, 422, "unrecognised format"),
    (b"\xff\xfe\x00garbage", CSV, 400, "UTF-8"),
    (b'{"a": 1}', {"Content-Type": "application/json", **AUTH}, 415, "text/csv"),
])
def test_a_body_that_is_not_csv_gets_a_reason(client: TestClient, content: bytes,
                                              headers: dict[str, str], code: int,
                                              reason: str) -> None:
    response = client.post(f"{BASE}/readings", content=content, headers=headers)
    assert response.status_code == code and reason in detail_text(response)


def test_the_sample_wide_export_imports_through_the_api(client: TestClient) -> None:
    sample = SAMPLE_DATA / "17dec2021" / "ECHL16.csv"
    if not sample.is_file():
        pytest.skip(f"sample data not found at {sample}")
    _household(client, "ECHL16")
    _meter(client, sensor="ECHL16_L16", household="ECHL16", role="consumption")
    response = client.post(f"{BASE}/readings?sensor_prefix=ECHL16", headers=CSV,
                           content=sample.read_bytes())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["format"] == "wide" and body["accepted"] > 10_000
    assert body["accepted"] + body["rejected"] >= 10_800
    assert set(body["ignored_columns"]) >= {"P_cons", "P_prod", "P_tot"}


def test_readings_for_an_unknown_community_are_404(client: TestClient) -> None:
    response = client.post("/api/v1/communities/nowhere/readings",
                           content=_readings(NOW, 5), headers=CSV)
    assert response.status_code == 404


def test_meter_health_tells_the_technician_which_meter_and_since_when(
        client: TestClient) -> None:
    for ref in ("H01", "H02", "H03"):
        _household(client, ref)
    _meter(client, sensor="ok-meter", household="H01", role="consumption")
    _meter(client, sensor="quiet-meter", household="H02", role="consumption")
    _meter(client, sensor="new-meter", household="H03", role="consumption")
    client.post(f"{BASE}/readings", headers=CSV,
                content=_readings(NOW - timedelta(minutes=30), 30, "ok-meter"))
    # Last reading 13:20 UTC = 14:20 in Brussels, then nothing.
    client.post(f"{BASE}/readings", headers=CSV,
                content=_readings(datetime(2026, 12, 1, 12, 50, 8, tzinfo=UTC), 30,
                                     "quiet-meter"))
    body = client.get(f"{BASE}/meters/health", headers=AUTH).json()
    assert body["flagged"] == 2
    by_sensor = {m["sensor"]: m for m in body["meters"]}
    assert by_sensor["ok-meter"]["ok"] is True and by_sensor["ok-meter"]["reasons"] == []
    quiet = by_sensor["quiet-meter"]
    assert quiet["household"] == "H02" and quiet["flags"] == ["silent"]
    assert quiet["reasons"][0].startswith("silent since 2026-12-01 14:20 (Europe/Brussels)")
    assert by_sensor["new-meter"]["reasons"] == ["silent: never sent any data"]
    assert [m["ok"] for m in body["meters"]] == [False, False, True]  # flagged first


def test_meter_health_finds_when_a_long_silent_meter_last_spoke(client: TestClient) -> None:
    _household(client, "H01")
    _meter(client, sensor="old", household="H01", role="consumption")
    client.post(f"{BASE}/readings", headers=CSV,
                content=_readings(datetime(2026, 11, 20, 8, 0, tzinfo=UTC), 15, "old"))
    meter = client.get(f"{BASE}/meters/health", headers=AUTH).json()["meters"][0]
    assert meter["last_seen"].startswith("2026-11-20T08:1")
    assert "silent since 2026-11-20 09:1" in meter["reasons"][0]


def test_every_route_needs_the_admin_token(client: TestClient) -> None:
    assert client.get(f"{BASE}/households").status_code == 401
    assert client.post(f"{BASE}/meters", json={}).status_code == 401
    assert client.post(f"{BASE}/readings", content=b"x").status_code == 401
    assert client.get(f"{BASE}/meters/health").status_code == 401
    assert client.get("/api/v1/communities/nowhere/households", headers=AUTH).status_code == 404
