"""The Fluksometer's MQTT topics, collected from a broker (the FLM publishes on its own).

``/sensor/<id>/gauge`` carries ``[ts, W, "W"]`` (power), ``/sensor/<id>/counter`` carries
``[ts, Wh, "Wh"]`` (a cumulative counter). Messages are buffered in memory and drained in
batches into the database; counters become power from consecutive values, the last value of
each sensor being kept so the next batch continues where this one stopped.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from meters.cleaning import counter_to_watts
from meters.sources.csv_import import ParsedReadings
from meters.sources.series import parsed_from_series, to_float

TOPICS = ("/sensor/+/gauge", "/sensor/+/counter")


class FlmMqttCollector:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883,
                 client_id: str | None = None) -> None:
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._gauges: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self._counters: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self._last_counter: dict[str, tuple[float, float]] = {}
        self.subscribed = threading.Event()
        self.received = 0
        self.malformed = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any) -> None:
        client.subscribe([(topic, 0) for topic in TOPICS])

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage
                    ) -> None:
        self.handle(message.topic, message.payload)

    def handle(self, topic: str, payload: bytes | bytearray) -> None:
        parts = topic.strip("/").split("/")
        try:
            ts, value, unit = json.loads(payload)
            kind = parts[2]
            sensor = parts[1]
            reading = (float(ts), to_float(value))
        except (ValueError, TypeError, IndexError):
            self.malformed += 1
            return
        with self._lock:
            self.received += 1
            if kind == "gauge" and unit == "W":
                self._gauges[sensor].append(reading)
            elif kind == "counter" and unit == "Wh":
                self._counters[sensor].append(reading)
            else:
                self.malformed += 1

    def drain(self) -> ParsedReadings:
        """Everything received since the last drain, as power readings."""
        with self._lock:
            gauges, counters = dict(self._gauges), dict(self._counters)
            self._gauges.clear()
            self._counters.clear()
        series: dict[str, list[tuple[float, float]]] = {s: sorted(v) for s, v in gauges.items()}
        for sensor, values in counters.items():
            values = sorted(values)
            previous = self._last_counter.get(sensor)
            chain = ([previous] if previous else []) + values
            ts = np.array([v[0] for v in chain])
            wh = np.array([v[1] for v in chain])
            watts = counter_to_watts(np.zeros(ts.size, dtype=np.int64), ts, wh)
            start = 1 if previous else 0
            # A sensor publishing both gauge and counter: the gauge wins, the counter fills in.
            if sensor not in series:
                series[sensor] = list(zip(ts[start:].tolist(), watts[start:].tolist(),
                                          strict=True))
            self._last_counter[sensor] = chain[-1]
        return parsed_from_series(series)
