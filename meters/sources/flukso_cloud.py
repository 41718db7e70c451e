"""The Flukso cloud API (api.flukso.net), for meters that only report there.

Requests carry ``X-Version: 1.0`` and the sensor's ``X-Token``. Each answer's timestamp marks
the END of its interval, which is exactly our convention (a reading is the average power since
the previous one), so timestamps are used as they come, never shifted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx
from sqlmodel import Session

from core.clock import Clock, utc_now
from core.metering import Meter
from meters.ingest import ImportReport, ingest_parsed
from meters.sources.series import parsed_from_series, to_float

CLOUD_URL = "https://api.flukso.net"
TIMEOUT_S = 15.0


def fetch_sensor(client: httpx.Client, sensor: str, token: str, *, base_url: str = CLOUD_URL,
                 interval: str = "minute") -> list[tuple[float, float]]:
    response = client.get(f"{base_url.rstrip('/')}/sensor/{sensor}",
                          params={"interval": interval, "unit": "watt"},
                          headers={"X-Version": "1.0", "X-Token": token,
                                   "Accept": "application/json"})
    response.raise_for_status()
    return [(float(ts), to_float(value)) for ts, value in response.json()]


def poll_cloud(session: Session, meters: Sequence[Meter], tokens: Mapping[str, str], *,
               base_url: str = CLOUD_URL, interval: str = "minute",
               client: httpx.Client | None = None, clock: Clock = utc_now) -> ImportReport:
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_S)
    try:
        series = {m.sensor: fetch_sensor(http, m.sensor, tokens[m.sensor], base_url=base_url,
                                         interval=interval)
                  for m in meters if m.sensor in tokens}
    finally:
        if own:
            http.close()
    return ingest_parsed(session, meters, parsed_from_series(series),
                         ImportReport(format="flukso_cloud"), clock=clock)
