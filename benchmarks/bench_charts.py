"""Chart rendering: median milliseconds and PNG bytes per chart (targets: 250 ms, 150 KB).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_charts.py [--repeats 7] [--locale ar]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from meters import charts
from meters.analysis.impact import CommunityImpact

TZ = "Europe/Brussels"
NOW = datetime(2024, 2, 20, 10, tzinfo=UTC)


def energy(weeks: int = 60) -> pd.DataFrame:
    slots = np.arange(96 * 7 * weeks) + int(pd.Timestamp("2023-01-02", tz="UTC").timestamp()
                                            ) // 900
    start = pd.to_datetime(slots * 900, unit="s", utc=True)
    hour = start.tz_convert(TZ).hour.to_numpy()
    rng = np.random.default_rng(0)
    kwh = 0.05 + 0.1 * (hour >= 18) + rng.gamma(1.0, 0.03, slots.size)
    return pd.DataFrame({"slot_start": start, "kwh": kwh})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--locale", default="fr")
    args = parser.parse_args()
    data = energy()
    hour = data["slot_start"].dt.tz_convert(TZ).dt.hour
    solar = data.assign(role="production",
                        kwh=np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 0.3)
    with_pv = pd.concat([data.assign(role="consumption"), solar])
    locale, gettext = args.locale, str
    alert = (datetime(2024, 2, 17, 17, tzinfo=UTC), datetime(2024, 2, 17, 20, tzinfo=UTC))
    cases: dict[str, Callable[[], charts.Chart]] = {
        "last_week": lambda: charts.chart_last_week(data, now=NOW, timezone=TZ, locale=locale,
                                                    gettext=gettext, last_alert=alert),
        "typical_week": lambda: charts.chart_typical_week(data, timezone=TZ, locale=locale,
                                                          gettext=gettext),
        "seasons": lambda: charts.chart_seasons(data, timezone=TZ, locale=locale,
                                                gettext=gettext),
        "production": lambda: charts.chart_production(with_pv, now=NOW, timezone=TZ,
                                                      locale=locale, gettext=gettext),
        "alert_result": lambda: charts.chart_alert_result(
            CommunityImpact(12, True, 30.0, 40.0, -10.0, -25.0), alert_start=NOW, timezone=TZ,
            locale=locale, gettext=gettext),
    }
    cases["last_week"]()  # warm-up: font cache, first-use imports
    print(f"{'chart':<14}{'median ms':>10}{'PNG bytes':>11}")
    for name, render in cases.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            chart = render()
            times.append((time.perf_counter() - start) * 1000)
        print(f"{name:<14}{statistics.median(times):>10.0f}{len(chart.png):>11,}")


if __name__ == "__main__":
    main()
