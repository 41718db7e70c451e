"""Alert impact for 60 households x 13 weeks x 20 alerts (target: 2 s for all of it).

Times building the household x slot grid once and both methods for every alert.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_impact.py
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pandas as pd

from meters.analysis.impact import AlertWindow, alert_impact, energy_grid

TZ = "Europe/Brussels"
HOUSEHOLDS, WEEKS, ALERTS = 60, 13, 20


def main() -> None:
    rng = np.random.default_rng(0)
    first = pd.Timestamp("2024-01-08", tz=TZ).tz_convert("UTC")
    slots = np.arange(WEEKS * 7 * 96) + int(first.timestamp()) // 900
    kwh = rng.gamma(2.0, 0.05, (HOUSEHOLDS, slots.size))
    kwh[rng.random(kwh.shape) < 0.002] = np.nan
    energy = pd.DataFrame({"household_id": np.repeat(np.arange(HOUSEHOLDS), slots.size),
                           "slot": np.tile(slots, HOUSEHOLDS), "kwh": kwh.ravel()})
    # 20 alerts over the last 5 weeks (8 weeks of history before each), varied hours/weekdays.
    alerts = []
    for i in range(ALERTS):
        start = (first + pd.Timedelta(weeks=8, days=int(i * 1.7), hours=int(8 + (i * 5) % 12)))
        notice = timedelta(hours=24) if i % 2 else timedelta(minutes=30)
        alerts.append(AlertWindow(start=start.to_pydatetime(),
                                  end=(start + pd.Timedelta(hours=3)).to_pydatetime(),
                                  first_notice=(start - notice).to_pydatetime(), timezone=TZ,
                                  alert_id=i))
    started = time.perf_counter()
    grid = energy_grid(energy, TZ)
    built = time.perf_counter()
    for method in ("same_slots", "like_days"):
        for alert in alerts:
            alert_impact(grid, alert, method=method,
                         other_alerts=[a for a in alerts if a is not alert])
    done = time.perf_counter()
    print(f"{HOUSEHOLDS} households x {WEEKS} weeks x {ALERTS} alerts")
    print(f"grid build:            {built - started:6.3f} s")
    print(f"20 alerts, same_slots + like_days: {done - built:6.3f} s")
    print(f"total:                 {done - started:6.3f} s")


if __name__ == "__main__":
    main()
