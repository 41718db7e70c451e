"""CSV readings: the canonical ``sensor,timestamp,watts`` form and the pilots' wide export.

Canonical: one reading per line; ``timestamp`` is ISO-8601 with a UTC offset (or ``Z``) or
Unix seconds; ``watts`` is the average power since the sensor's previous reading.

Wide export (the Voisins d'Energie backend, see shared/data/voisins-energie-flukso/README.md):
the first column is the local time with its offset, then one column per sensor named as at
install time. ``X`` and ``X-`` are the two halves of the same clamp (what flowed one way and
what flowed the other), so the signed reading is ``X - (X-)``; a trailing ``+`` is dropped
(``P1+``). ``P_cons``, ``P_prod`` and ``P_tot`` are the backend's own sums and are ignored:
we compute those from configured meters. Sensor ids are ``<prefix>_<column>``: the group files
already carry the home in the column (``CDB011_Mains phase 1``), a single home's file gets its
file name as prefix (``CDB011.csv`` -> ``CDB011_Mains phase 1``), so both name the same meter.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pandas as pd

CANONICAL_HEADER = ("sensor", "timestamp", "watts")
BACKEND_SUMS = frozenset({"P_cons", "P_prod", "P_tot"})
_OFFSET_AT_END = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_UNIX_SECONDS = re.compile(r"^\d{9,11}(\.\d*)?$")


class UnrecognisedFormat(ValueError):
    """Neither the canonical form nor the wide export."""


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line number in the file (the header is line 1)
    sensor: str | None
    reason: str


@dataclass
class ParsedReadings:
    """Readings in long form; ``code`` indexes ``sensors``. Rows that failed to parse are in
    ``errors``/``rejected`` and not in the arrays."""

    sensors: list[str]
    code: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    watts: npt.NDArray[np.float64]
    row: npt.NDArray[np.int64]
    rejected: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    format: str = "canonical"

    def reject(self, reason: str, rows: npt.NDArray[np.int64], sensors: list[str | None],
               max_errors: int) -> None:
        if rows.size == 0:
            return
        self.rejected[reason] = self.rejected.get(reason, 0) + int(rows.size)
        for row, sensor in zip(rows[: max_errors - len(self.errors)], sensors, strict=False):
            self.errors.append(RowError(int(row), sensor, reason))


def read_text(source: str | Path | bytes | IO[bytes]) -> tuple[str, str | None]:
    """The CSV text and, when it came from a file, the file's stem. A binary file object is
    what the API hands over (the request body, spooled to disk as it arrived)."""
    if isinstance(source, bytes):
        return source.decode("utf-8-sig"), None
    if not isinstance(source, str | Path):
        return source.read().decode("utf-8-sig"), None
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        path = Path(source)
        return path.read_text(encoding="utf-8-sig"), path.stem
    return source, None


def default_prefix(stem: str | None) -> str | None:
    """A single home's export is prefixed by its file name; group exports already are."""
    if stem is None or stem.lower().startswith("group"):
        return None
    return stem


def parse_timestamps(values: pd.Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_],
                                                 npt.NDArray[np.bool_]]:
    """UTC seconds; masks of unparsable values and of local times without an offset."""
    text = values.astype(str).str.strip()
    unix = text.str.match(_UNIX_SECONDS).to_numpy(dtype=bool)
    has_offset = text.str.contains(_OFFSET_AT_END).to_numpy(dtype=bool)
    seconds = np.full(len(text), np.nan)
    if unix.any():
        seconds[unix] = pd.to_numeric(text[unix], errors="coerce").to_numpy(dtype=np.float64)
    iso = ~unix & has_offset
    if iso.any():
        parsed = pd.to_datetime(text[iso], utc=True, errors="coerce", format="ISO8601")
        as_ns = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        seconds[iso] = np.where(parsed.isna().to_numpy(), np.nan, as_ns / 1e9)
    looks_like_date = text.str.match(r"^\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool)
    no_offset = ~unix & ~has_offset & looks_like_date
    bad = np.isnan(seconds) & ~no_offset
    return seconds, bad, no_offset


def detect_format(text: str) -> str:
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    cells = [c.strip().strip('"').lower() for c in first.split(",")]
    if tuple(cells[:3]) == CANONICAL_HEADER:
        return "canonical"
    if len(cells) >= 2 and cells[0] in ("", "timestamp", "time", "date"):
        return "wide"
    raise UnrecognisedFormat(
        "unrecognised format: expected the header 'sensor,timestamp,watts' or the Flukso "
        "wide export (time, then one column per sensor)")


def parse_csv(text: str, *, sensor_prefix: str | None = None, max_errors: int = 20
              ) -> ParsedReadings:
    kind = detect_format(text)
    if kind == "canonical":
        return _parse_canonical(text, max_errors)
    return _parse_wide(text, sensor_prefix, max_errors)


def _parse_canonical(text: str, max_errors: int) -> ParsedReadings:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                        skipinitialspace=True)
    frame.columns = [c.strip().lower() for c in frame.columns]
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    sensor_text = frame["sensor"].str.strip()
    seconds, bad_time, no_offset = parse_timestamps(frame["timestamp"])
    raw_watts = frame["watts"].str.strip()
    empty = raw_watts.str.lower().isin(["", "nan", "null", "none"]).to_numpy(dtype=bool)
    watts = pd.to_numeric(raw_watts, errors="coerce").to_numpy(dtype=np.float64)
    bad_watts = np.isnan(watts) & ~empty
    no_sensor = (sensor_text == "").to_numpy(dtype=bool)
    keep = ~(bad_time | no_offset | bad_watts | no_sensor)
    sensors, code = np.unique(sensor_text.to_numpy(dtype=str)[keep], return_inverse=True)
    parsed = ParsedReadings(sensors=[str(s) for s in sensors], code=code.astype(np.int64),
                            ts=seconds[keep], watts=watts[keep], row=rows[keep])
    names = sensor_text.to_numpy(dtype=object)
    for mask, reason in ((no_sensor, "no sensor id"),
                         (bad_time & ~no_sensor, "timestamp is not ISO-8601 or Unix seconds"),
                         (no_offset & ~no_sensor,
                          "timestamp without a UTC offset (local time is ambiguous)"),
                         (bad_watts & ~(bad_time | no_offset | no_sensor),
                          "watts is not a number")):
        parsed.reject(reason, rows[mask], list(names[mask][:max_errors]), max_errors)
    return parsed


def sensor_columns(columns: list[str]) -> tuple[dict[str, tuple[str | None, str | None]],
                                                list[str]]:
    """Map sensor base name -> (positive column, negative column); and the ignored columns."""
    pairs: dict[str, tuple[str | None, str | None]] = {}
    ignored: list[str] = []
    for column in columns:
        name = column.strip()
        bare = name.rsplit("_", 1)[-1] if "_" in name else name
        if name in BACKEND_SUMS or bare in BACKEND_SUMS:
            ignored.append(column)
            continue
        if name.endswith("-"):
            base = name[:-1].rstrip()
            positive, _ = pairs.get(base, (None, None))
            pairs[base] = (positive, column)
        else:
            base = name[:-1].rstrip() if name.endswith("+") else name
            _, negative = pairs.get(base, (None, None))
            pairs[base] = (column, negative)
    return pairs, ignored


def _parse_wide(text: str, sensor_prefix: str | None, max_errors: int) -> ParsedReadings:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    time_column = frame.columns[0]
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    seconds, bad_time, no_offset = parse_timestamps(frame[time_column])
    pairs, ignored = sensor_columns([c for c in frame.columns[1:]])
    good_time = ~(bad_time | no_offset)
    n_good = int(np.count_nonzero(good_time))

    def numbers(column: str | None) -> npt.NDArray[np.float64]:
        if column is None:
            return np.zeros(n_good)
        cells = frame[column].to_numpy(dtype=str)[good_time]
        return pd.to_numeric(pd.Series(cells), errors="coerce").to_numpy(dtype=np.float64)

    sensors: list[str] = []
    watts_blocks: list[npt.NDArray[np.float64]] = []
    for base, (positive, negative) in pairs.items():
        sensors.append(f"{sensor_prefix}_{base}" if sensor_prefix else base)
        # Empty halves are NaN and make the reading NaN: "empty cells mean no valid data".
        watts_blocks.append(numbers(positive) - numbers(negative))
    k = len(sensors)
    # Sensor-major order: each sensor's readings are contiguous and in file order, which is
    # the order the cleaning wants (no sort needed when the file is chronological).
    parsed = ParsedReadings(
        sensors=sensors,
        code=np.repeat(np.arange(k, dtype=np.int64), n_good),
        ts=np.tile(seconds[good_time], k),
        watts=np.concatenate(watts_blocks) if watts_blocks else np.empty(0),
        row=np.tile(rows[good_time], k),
        ignored_columns=ignored,
        format="wide",
    )
    for mask, reason in ((bad_time, "timestamp is not ISO-8601 or Unix seconds"),
                         (no_offset, "timestamp without a UTC offset (local time is ambiguous)")):
        bad_rows = np.repeat(rows[mask], k)
        parsed.reject(reason, bad_rows, [None] * min(bad_rows.size, max_errors), max_errors)
    return parsed
