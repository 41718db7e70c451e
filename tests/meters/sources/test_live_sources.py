"""Live sources: FLM local API (loopback fake), Flukso cloud (same fake), MQTT (real broker)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import cast

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.engine import Engine

from core.communities import add_household, create_community
from core.db import session_scope
from meters.ingest import ImportReport, ingest_parsed
from meters.sources.flm_local import fetch_sensor, poll_flm
from meters.sources.flm_mqtt import FlmMqttCollector
from meters.sources.flukso_cloud import poll_cloud
from meters.store import add_meter, load_household_energy, load_meter_slots
from tests.conftest import require_service
from tests.fakes.flm import running_flm

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "flukso"
SENSOR = "6f3b5c0c4f9d4e6ab1b2c3d4e5f60718"


def load(name: str) -> list[list[object]]:
    loaded: list[list[object]] = json.loads((FIXTURES / name).read_text())
    return loaded


def test_fetch_sensor_parses_nan_as_gap() -> None:
    payload = load("flm_local_sensor_minute.json")
    with running_flm({SENSOR: payload}) as fake, httpx.Client() as client:
        readings = fetch_sensor(client, fake.base_url, SENSOR)
    assert len(readings) == len(payload)
    assert np.isnan(readings[40][1])
    assert fake.requests[0]["query"] == {"version": "1.0", "interval": "minute",
                                         "unit": "watt"}


def test_poll_flm_stores_energy(engine: Engine) -> None:
    payload = load("flm_local_sensor_minute.json")
    with session_scope(engine) as session, running_flm({SENSOR: payload}) as fake:
        community = create_community(session, "c", "C")
        home = add_household(session, community, "H")
        meter = add_meter(session, home, SENSOR)
        report = poll_flm(session, fake.base_url, [meter])
        slots = load_meter_slots(session, [meter.id or 0])
        energy = load_household_energy(session, [home.id or 0])
    assert report.accepted == len(payload) - 1
    assert report.rejected_by_reason == {"no value (empty or nan)": 1}
    # 150 readings of 8 s from 14:00:00 UTC: the 14:00 slot fully covered bar the nan.
    full = energy[energy["coverage"] >= 0.9]
    assert len(full) == 1 and full["kwh"].iloc[0] > 0
    assert slots["covered_s"].max() == 900 - 8


def test_cloud_sends_version_and_token(engine: Engine) -> None:
    payload = load("cloud_sensor_minute.json")
    with session_scope(engine) as session, running_flm({SENSOR: payload},
                                                       tokens={SENSOR: "secret"}) as fake:
        community = create_community(session, "c", "C")
        home = add_household(session, community, "H")
        meter = add_meter(session, home, SENSOR)
        report = poll_cloud(session, [meter], {SENSOR: "secret"}, base_url=fake.base_url)
        energy = load_household_energy(session, [home.id or 0])
        with pytest.raises(httpx.HTTPStatusError):
            poll_cloud(session, [meter], {SENSOR: "wrong"}, base_url=fake.base_url)
    assert fake.requests[0]["headers"]["X-Version"] == "1.0"
    assert report.accepted == 30
    # End-of-interval timestamps: minutes ending 14:01..14:30 fill the 14:00 and 14:15 slots.
    assert list(energy["coverage"].round(3)) == [1.0, 1.0]
    minute_means = np.array([v for _, v in payload], dtype=float)
    assert energy["kwh"].sum() == pytest.approx(minute_means.sum() * 60 / 3.6e6)


@pytest.mark.mqtt
def test_mqtt_gauges_and_counters_through_the_broker(engine: Engine) -> None:
    require_service("Mosquitto", "127.0.0.1", 1883)
    gauge_sensor, counter_sensor = uuid.uuid4().hex, uuid.uuid4().hex
    gauges, counters = load("mqtt_gauge_messages.json"), load("mqtt_counter_messages.json")
    collector = FlmMqttCollector(client_id=f"voisins-test-{uuid.uuid4().hex[:8]}")
    collector.start()
    try:
        assert collector.subscribed.wait(5), "no SUBACK from the broker"
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        for message in gauges:
            publisher.publish(f"/sensor/{gauge_sensor}/gauge", json.dumps(message), qos=1)
        for message in counters:
            publisher.publish(f"/sensor/{counter_sensor}/counter", json.dumps(message), qos=1)
        publisher.publish(f"/sensor/{gauge_sensor}/gauge", b"not json", qos=1)
        deadline = time.monotonic() + 5
        expected = len(gauges) + len(counters)
        while collector.received < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        publisher.loop_stop()
        publisher.disconnect()
    finally:
        collector.stop()
    parsed = collector.drain()
    assert collector.received == expected and collector.malformed == 1
    with session_scope(engine) as session:
        community = create_community(session, "c", "C")
        home = add_household(session, community, "H")
        gauge_meter = add_meter(session, home, gauge_sensor)
        other = add_household(session, community, "H2")
        counter_meter = add_meter(session, other, counter_sensor)
        report = ingest_parsed(session, [gauge_meter, counter_meter], parsed, ImportReport())
        slots = load_meter_slots(session, [gauge_meter.id or 0, counter_meter.id or 0])
    assert report.accepted == len(gauges) + len(counters) - 1  # the first counter has no delta
    by_meter = slots.groupby("meter_id")["wh"].sum()
    gauge_wh = sum(float(cast(float, w)) for _, w, _ in gauges) * 8 / 3600  # each: 8 s
    counter_wh = float(counters[-1][1]) - float(counters[0][1])  # type: ignore[arg-type]
    assert by_meter[gauge_meter.id] == pytest.approx(gauge_wh, rel=1e-6)
    assert by_meter[counter_meter.id] == pytest.approx(counter_wh, rel=1e-4)
