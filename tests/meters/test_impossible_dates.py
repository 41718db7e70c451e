"""No impossible dates stored: readings outside [2000-01-01, now + 1 day] are bad rows with a
reason, from every source (CSV canonical and wide, Flukso local API, cloud, MQTT)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.communities import add_household, create_community
from core.db import session_scope
from core.metering import Meter, MeterEnergy15
from meters.cleaning import REASON_DATE_OUT_OF_RANGE
from meters.health import community_meter_health, fill_last_seen
from meters.ingest import ImportReport, import_readings, ingest_parsed
from meters.sources.flm_local import poll_flm
from meters.sources.flm_mqtt import FlmMqttCollector
from meters.sources.flukso_cloud import poll_cloud
from tests.fakes.flm import running_flm

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GOOD = int(NOW.timestamp()) - 3600  # an hour ago
# Seen in real files and stored as 1754, 1816 and 5138 before this check.
IMPOSSIBLE_TEXT = ["9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00Z", "99999999999",
                   "1999-12-31T23:59:59Z", str(int((NOW + timedelta(days=2)).timestamp()))]
IMPOSSIBLE_UNIX = [99999999999, 0, 946684799, int((NOW + timedelta(days=2)).timestamp())]
SENSOR = "0123456789abcdef0123456789abcdef"


def clock() -> datetime:
    return NOW


def _meter(session: Session) -> Meter:
    from meters.store import add_meter

    community = create_community(session, "c", "C")
    home = add_household(session, community, "H1")
    return add_meter(session, home, SENSOR)


def _stored_span(engine: Engine) -> tuple[datetime, datetime]:
    with Session(engine) as session:
        low, high = session.exec(select(func.min(MeterEnergy15.slot_start),
                                        func.max(MeterEnergy15.slot_start))).one()
    assert low is not None and high is not None
    return low.replace(tzinfo=UTC), high.replace(tzinfo=UTC)


def _assert_only_good_stored(engine: Engine, report: ImportReport, impossible: int) -> None:
    assert report.rejected_by_reason.get(REASON_DATE_OUT_OF_RANGE) == impossible
    low, high = _stored_span(engine)
    assert NOW - timedelta(hours=2) <= low <= high <= NOW
    with session_scope(engine) as session:
        community_id = session.exec(select(Meter.community_id)).one()
        health = community_meter_health(session, community_id, now=NOW + timedelta(days=1),
                                        timezone="Europe/Brussels")
        fill_last_seen(session, health)
    assert health[0].last_seen is not None and health[0].last_seen <= NOW


def test_canonical_csv(engine: Engine) -> None:
    with session_scope(engine) as session:
        _meter(session)
    lines = ["sensor,timestamp,watts"]
    lines += [f"{SENSOR},{GOOD + 8 * i},400" for i in range(1, 200)]
    lines += [f"{SENSOR},{stamp},400" for stamp in IMPOSSIBLE_TEXT]
    report = import_readings(engine, "c", "\n".join(lines) + "\n", clock=clock)
    assert report.accepted == 199
    assert {e.row for e in report.errors} == set(range(201, 201 + len(IMPOSSIBLE_TEXT)))
    assert {e.reason for e in report.errors} == {REASON_DATE_OUT_OF_RANGE}
    _assert_only_good_stored(engine, report, len(IMPOSSIBLE_TEXT))


def test_wide_export(engine: Engine) -> None:
    with session_scope(engine) as session:
        _meter(session)
    start = datetime.fromtimestamp(GOOD, UTC)
    lines = [f",{SENSOR},{SENSOR}-"]
    lines += [f"{(start + timedelta(seconds=8 * i)).isoformat()},400,0" for i in range(200)]
    lines += ["9999-12-31 00:00:00+01:00,400,0", "0001-01-01 00:00:00+00:00,400,0"]
    report = import_readings(engine, "c", "\n".join(lines) + "\n", clock=clock)
    assert report.accepted == 200
    _assert_only_good_stored(engine, report, 2)


@pytest.mark.parametrize("source", ["flm_local", "cloud"])
def test_flukso_apis(engine: Engine, source: str) -> None:
    payload: list[list[object]] = [[GOOD + 60 * i, 300] for i in range(1, 60)]
    payload += [[stamp, 300] for stamp in IMPOSSIBLE_UNIX]
    with session_scope(engine) as session:
        meter = _meter(session)
        if source == "flm_local":
            with running_flm({SENSOR: payload}) as fake:
                report = poll_flm(session, fake.base_url, [meter], clock=clock)
        else:
            with running_flm({SENSOR: payload}, tokens={SENSOR: "t"}) as fake:
                report = poll_cloud(session, [meter], {SENSOR: "t"}, base_url=fake.base_url,
                                    clock=clock)
    assert report.accepted == 59
    _assert_only_good_stored(engine, report, len(IMPOSSIBLE_UNIX))


def test_mqtt(engine: Engine) -> None:
    collector = FlmMqttCollector(client_id="dates-test")
    for i in range(1, 60):
        collector.handle(f"/sensor/{SENSOR}/gauge", json.dumps([GOOD + 8 * i, 250, "W"]).encode())
    for stamp in IMPOSSIBLE_UNIX:
        collector.handle(f"/sensor/{SENSOR}/gauge", json.dumps([stamp, 250, "W"]).encode())
    parsed = collector.drain()
    with session_scope(engine) as session:
        meter = _meter(session)
        report = ingest_parsed(session, [meter], parsed, ImportReport(), clock=clock)
    assert report.accepted == 59
    _assert_only_good_stored(engine, report, len(IMPOSSIBLE_UNIX))
