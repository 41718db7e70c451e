"""Readings delivered as ``{sensor: [(t, value), ...]}`` by the live sources, in long form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from meters.sources.csv_import import ParsedReadings


def to_float(value: object) -> float:
    """A Flukso value: a number, or the string "nan" for no data (a gap, never zero)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def parsed_from_series(series: Mapping[str, Sequence[tuple[float, float]]]) -> ParsedReadings:
    sensors = sorted(series)
    counts = [len(series[s]) for s in sensors]
    ts = np.array([p[0] for s in sensors for p in series[s]], dtype=np.float64)
    watts = np.array([p[1] for s in sensors for p in series[s]], dtype=np.float64)
    return ParsedReadings(
        sensors=sensors,
        code=np.repeat(np.arange(len(sensors), dtype=np.int64), counts),
        ts=ts, watts=watts,
        # No file lines here: a reading's position in its batch stands in for the row.
        row=np.arange(1, ts.size + 1, dtype=np.int64),
        format="live",
    )
