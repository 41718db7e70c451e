"""From readings to stored energy: the service behind the CLI, the API and the live sources."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
from sqlmodel import Session

from core.communities import community_by_slug
from core.metering import Meter, MeterRole
from meters.cleaning import REASON_OK, REASON_TEXT, clean_to_slots
from meters.sources.csv_import import (
    ParsedReadings,
    RowError,
    UnrecognisedFormat,
    default_prefix,
    parse_csv,
    read_text,
)
from meters.store import community_meters, rebuild_household_energy, store_sensor_slots

MAX_ERRORS = 20
# Sensors cleaned and written per step: the unit of the CLI's progress bar.
SENSORS_PER_STEP = 4


class UnknownCommunity(LookupError):
    pass


@dataclass
class ImportReport:
    accepted: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    out_of_order: int = 0
    households: list[int] = field(default_factory=list)
    slots_written: int = 0
    format: str = ""

    def add_rejections(self, reason: str, count: int) -> None:
        if count:
            self.rejected += count
            self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + count

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of ``POST /api/v1/communities/{slug}/readings``."""
        return asdict(self)


def import_readings(session: Session, community_slug: str,
                    csv_text_or_path: str | Path | bytes | IO[bytes],
                    *, sensor_prefix: str | None = None,
                    progress: Callable[[int], None] | None = None,
                    progress_total: Callable[[int], None] | None = None) -> ImportReport:
    """Import a CSV (canonical or wide export) into a community's meters.

    Readings of sensors that are not configured as meters of this community are rejected
    (configure the meter first: its role and sign decide what is plausible).
    ``progress_total`` is told the number of readings once parsed, ``progress`` each step.
    """
    community = community_by_slug(session, community_slug)
    if community is None or community.id is None:
        raise UnknownCommunity(f"no community with slug {community_slug!r}")
    text, stem = read_text(csv_text_or_path)
    report = ImportReport()
    try:
        parsed = parse_csv(text, sensor_prefix=sensor_prefix or default_prefix(stem),
                           max_errors=MAX_ERRORS)
    except UnrecognisedFormat as error:
        lines = max(0, len([line for line in text.splitlines() if line.strip()]))
        report.add_rejections(str(error), lines)
        report.errors.append(RowError(1, None, str(error)))
        return report
    report.format = parsed.format
    report.ignored_columns = parsed.ignored_columns
    report.errors.extend(parsed.errors)
    for reason, count in parsed.rejected.items():
        report.add_rejections(reason, count)
    if progress_total is not None:
        progress_total(int(parsed.ts.size))
    ingest_parsed(session, community_meters(session, community.id), parsed, report,
                  progress=progress)
    return report


def ingest_parsed(session: Session, meters: Sequence[Meter], parsed: ParsedReadings,
                  report: ImportReport, *, progress: Callable[[int], None] | None = None,
                  readings_are_counters: bool = False) -> ImportReport:
    """Clean parsed readings per configured meter, store them, rebuild household energy."""
    by_sensor = {m.sensor: m for m in meters}
    known = np.array([name in by_sensor for name in parsed.sensors], dtype=bool)
    unknown_rows = ~known[parsed.code] if parsed.code.size else np.zeros(0, dtype=bool)
    for code in np.flatnonzero(~known):
        rows = parsed.row[parsed.code == code]
        reason = "unknown sensor: add it as a meter of a household first"
        report.add_rejections(reason, int(rows.size))
        for row in rows[: max(0, MAX_ERRORS - len(report.errors))]:
            report.errors.append(RowError(int(row), parsed.sensors[code], reason))
    known_codes = [int(c) for c in np.flatnonzero(known)]
    if progress is not None and unknown_rows.any():
        progress(int(np.count_nonzero(unknown_rows)))
    households: set[int] = set()
    slot_from: int | None = None
    slot_to: int | None = None
    for step in range(0, len(known_codes), SENSORS_PER_STEP):
        codes = known_codes[step:step + SENSORS_PER_STEP]
        take = np.isin(parsed.code, codes)
        step_meters = [by_sensor[parsed.sensors[c]] for c in codes]
        local = np.searchsorted(np.array(codes), parsed.code[take])
        stats_reasons, slots_written, span = _clean_and_store(
            session, step_meters, local, parsed.ts[take], parsed.watts[take])
        report.accepted += int(np.count_nonzero(stats_reasons == REASON_OK))
        rows = parsed.row[take]
        for reason_code, text in REASON_TEXT.items():
            hit = stats_reasons == reason_code
            report.add_rejections(text, int(np.count_nonzero(hit)))
            for row, code in zip(rows[hit][: max(0, MAX_ERRORS - len(report.errors))],
                                 local[hit], strict=False):
                report.errors.append(RowError(int(row), step_meters[int(code)].sensor, text))
        report.slots_written += slots_written
        if span is not None:
            slot_from = span[0] if slot_from is None else min(slot_from, span[0])
            slot_to = span[1] if slot_to is None else max(slot_to, span[1])
            households.update(m.household_id for m in step_meters)
        if progress is not None:
            progress(int(np.count_nonzero(take)))
    if households and slot_from is not None and slot_to is not None:
        rebuild_household_energy(session, households, slot_from, slot_to)
    report.households = sorted(households)
    report.errors.sort(key=lambda error: error.row)
    return report


def _clean_and_store(session: Session, meters: Sequence[Meter], code: npt.NDArray[np.int64],
                     ts: npt.NDArray[np.float64], watts: npt.NDArray[np.float64]
                     ) -> tuple[npt.NDArray[np.int8], int, tuple[int, int] | None]:
    sign = np.array([m.sign for m in meters], dtype=np.float64)
    # Only consumption cannot be negative: a PV inverter draws a little at night, and a reversed
    # PV clamp is a health flag (production at night), not a reason to drop the data.
    non_negative = np.array([m.role == MeterRole.CONSUMPTION.value for m in meters], dtype=bool)
    slots, stats = clean_to_slots(code, ts, watts, sign=sign, non_negative=non_negative,
                                  explain=True)
    assert stats.reasons is not None
    if len(slots) == 0:
        return stats.reasons, 0, None
    meter_ids = np.array([m.id for m in meters], dtype=np.int64)
    written = store_sensor_slots(session, slots, meter_ids)
    return stats.reasons, len(written), (int(slots.slot.min()), int(slots.slot.max()))
