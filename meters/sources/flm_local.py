"""The Fluksometer's local HTTP API, polled on the home network.

``GET <base>/sensor/<id>?version=1.0&interval=minute&unit=watt`` answers
``[[ts, W or "nan"], ...]``: Unix seconds and the average power over the second (or interval)
ending at ``ts``; ``"nan"`` means no data, kept as a gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from sqlmodel import Session

from core.clock import Clock, utc_now
from core.metering import Meter
from meters.ingest import ImportReport, ingest_parsed
from meters.sources.series import parsed_from_series, to_float

TIMEOUT_S = 10.0


def fetch_sensor(client: httpx.Client, base_url: str, sensor: str, interval: str = "minute"
                 ) -> list[tuple[float, float]]:
    response = client.get(f"{base_url.rstrip('/')}/sensor/{sensor}",
                          params={"version": "1.0", "interval": interval, "unit": "watt"})
    response.raise_for_status()
    return [(float(ts), to_float(value)) for ts, value in response.json()]


def poll_flm(session: Session, base_url: str, meters: Sequence[Meter],
             client: httpx.Client | None = None, clock: Clock = utc_now) -> ImportReport:
    """Fetch the last minute of every meter on one Fluksometer and store it."""
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_S)
    try:
        series = {m.sensor: fetch_sensor(http, base_url, m.sensor) for m in meters}
    finally:
        if own:
            http.close()
    parsed = parsed_from_series(series)
    return ingest_parsed(session, meters, parsed, ImportReport(format="flm_local"),
                         clock=clock)
