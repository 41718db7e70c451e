"""From readings to stored energy: the service behind the CLI, the API and the live sources.

Every source goes through ``MeterIngest``: readings of unknown sensors and readings dated
outside [2000-01-01, now + 1 day] are rejected with a reason, the rest are cleaned block by
block (``meters.stream``) and written in batches (``meters.store.SlotWriter``).
A CSV file is streamed: an import's memory does not grow with the file, and with an
``Engine`` each batch is its own short transaction.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import Clock, utc_now
from core.communities import community_by_slug
from core.metering import Meter, MeterRole
from meters.cleaning import REASON_DATE_OUT_OF_RANGE, REASON_OK, REASON_TEXT, dates_out_of_range
from meters.sources.csv_import import (
    BLOCK_BYTES,
    CsvReadings,
    CsvSource,
    ParsedReadings,
    RowError,
    UnrecognisedFormat,
    default_prefix,
    is_path,
    source_stem,
)
from meters.store import BATCH_SLOTS, SlotWriter, community_meters
from meters.stream import ReadingStream

MAX_ERRORS = 20
_ONE_IMPORT_AT_A_TIME = threading.Lock()
REASON_UNKNOWN_SENSOR = "unknown sensor: add it as a meter of a household first"


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

    def note(self, reason: str, rows: npt.NDArray[np.int64], sensors: Sequence[str | None]
             ) -> None:
        """Count rejected rows and keep the first ``MAX_ERRORS`` of them as examples."""
        self.add_rejections(reason, int(rows.size))
        room = MAX_ERRORS - len(self.errors)
        for row, sensor in zip(rows[:max(0, room)], sensors, strict=False):
            self.errors.append(RowError(int(row), sensor, reason))

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of ``POST /api/v1/communities/{slug}/readings``."""
        return asdict(self)


class MeterIngest:
    """Readings of a community's meters, block after block, into stored energy."""

    def __init__(self, meters: Sequence[Meter], report: ImportReport, writer: SlotWriter,
                 now: Clock | None = None) -> None:
        self.meters = list(meters)
        self.report = report
        self.writer = writer
        self.clock = now or utc_now
        self._index = {m.sensor: i for i, m in enumerate(self.meters)}
        # Only consumption cannot be negative: a PV inverter draws a little at night, and a
        # reversed PV clamp is a health flag (production at night), not a reason to drop data.
        self._stream = ReadingStream(
            sign=[m.sign for m in self.meters],
            non_negative=[m.role == MeterRole.CONSUMPTION.value for m in self.meters])

    def add(self, parsed: ParsedReadings) -> None:
        report = self.report
        for reason, count in parsed.rejected.items():
            report.add_rejections(reason, count)
        room = MAX_ERRORS - len(report.errors)
        report.errors.extend(parsed.errors[:max(0, room)])
        if parsed.ts.size == 0:
            return
        meter_of_code = np.array([self._index.get(name, -1) for name in parsed.sensors],
                                 dtype=np.int64)
        meter = meter_of_code[parsed.code]
        unknown = meter < 0
        if unknown.any():
            names = np.array(parsed.sensors, dtype=object)
            report.note(REASON_UNKNOWN_SENSOR, parsed.row[unknown],
                        list(names[parsed.code[unknown][:MAX_ERRORS]]))
        out_of_range = ~unknown & dates_out_of_range(parsed.ts, self.clock())
        if out_of_range.any():
            report.note(REASON_DATE_OUT_OF_RANGE, parsed.row[out_of_range],
                        [self.meters[m].sensor for m in meter[out_of_range][:MAX_ERRORS]])
        keep = ~(unknown | out_of_range)
        rows, meter = parsed.row[keep], meter[keep]
        cleaned = self._stream.add(meter, parsed.ts[keep], parsed.watts[keep])
        report.accepted += int(np.count_nonzero(cleaned.reasons == REASON_OK))
        for reason_code, text in REASON_TEXT.items():
            hit = cleaned.reasons == reason_code
            if hit.any():
                report.note(text, rows[hit],
                            [self.meters[m].sensor for m in meter[hit][:MAX_ERRORS]])
        self.writer.add(cleaned.slots)

    def finish(self) -> ImportReport:
        self.writer.add(self._stream.finish())
        self.writer.flush()
        self.report.slots_written = self.writer.slots_written
        self.report.households = sorted(self.writer.households)
        self.report.errors.sort(key=lambda error: error.row)
        return self.report


@contextmanager
def _open_source(source: CsvSource) -> Iterator[tuple[IO[bytes], int | None]]:
    """A binary stream over the source and its size when known."""
    if isinstance(source, bytes):
        yield io.BytesIO(source), len(source)
    elif isinstance(source, Path) or (isinstance(source, str) and is_path(source)):
        path = Path(source)
        with path.open("rb") as stream:
            yield stream, path.stat().st_size
    elif isinstance(source, str):
        data = source.encode("utf-8")
        yield io.BytesIO(data), len(data)
    else:
        yield source, None


def _meters_of(database: Engine | Session, community_slug: str) -> list[Meter]:
    def read(session: Session) -> list[Meter]:
        community = community_by_slug(session, community_slug)
        if community is None or community.id is None:
            raise UnknownCommunity(f"no community with slug {community_slug!r}")
        return community_meters(session, community.id)

    if isinstance(database, Session):
        return read(database)
    with Session(database, expire_on_commit=False) as session:
        return read(session)


def import_readings(database: Engine | Session, community_slug: str, source: CsvSource, *,
                    sensor_prefix: str | None = None,
                    progress: Callable[[int], None] | None = None,
                    progress_total: Callable[[int], None] | None = None,
                    clock: Clock = utc_now, block_bytes: int = BLOCK_BYTES,
                    batch_slots: int = BATCH_SLOTS) -> ImportReport:
    """Import a CSV (canonical or wide export) into a community's meters, streamed.

    ``source``: a path, the CSV as bytes or text, or a binary file-like object (read in
    blocks of ``block_bytes``; a request body spooled to disk, say). ``database``: an
    ``Engine`` writes in short transactions of about ``batch_slots`` slots each (what the
    API and the CLI use); a ``Session`` writes into the caller's transaction.
    Readings of sensors that are not configured as meters of this community are rejected
    (configure the meter first: its role and sign decide what is plausible).
    ``progress_total`` is told the size in bytes (when known), ``progress`` the bytes read.
    """
    if isinstance(database, Session):
        return _import(database, community_slug, source, sensor_prefix, progress,
                       progress_total, clock, block_bytes, batch_slots)
    # One import at a time in a process: side by side they would only slow each other
    # down, and every webhook answered by the same process with them.
    with _ONE_IMPORT_AT_A_TIME:
        return _import(database, community_slug, source, sensor_prefix, progress,
                       progress_total, clock, block_bytes, batch_slots)


def _import(database: Engine | Session, community_slug: str, source: CsvSource,
            sensor_prefix: str | None, progress: Callable[[int], None] | None,
            progress_total: Callable[[int], None] | None, clock: Clock, block_bytes: int,
            batch_slots: int) -> ImportReport:
    meters = _meters_of(database, community_slug)
    report = ImportReport()
    with _open_source(source) as (stream, size):
        prefix = sensor_prefix or default_prefix(source_stem(source))
        try:
            reader = CsvReadings(stream, sensor_prefix=prefix, max_errors=MAX_ERRORS,
                                 block_bytes=block_bytes)
        except UnrecognisedFormat as error:
            # The whole file is rejected with the reason; its lines are counted, not kept.
            report.add_rejections(str(error), error.lines)
            report.errors.append(RowError(1, None, str(error)))
            return report
        report.format = reader.format
        report.ignored_columns = reader.ignored_columns
        if progress_total is not None and size is not None:
            progress_total(size)
        ingest = MeterIngest(meters, report, SlotWriter(database, meters, batch_slots),
                             now=clock)
        told = 0
        for parsed in reader.blocks():
            ingest.add(parsed)
            if progress is not None:
                progress(reader.bytes_read - told)
                told = reader.bytes_read
        ingest.finish()
    return report


def ingest_parsed(session: Session, meters: Sequence[Meter], parsed: ParsedReadings,
                  report: ImportReport, *, progress: Callable[[int], None] | None = None,
                  clock: Clock = utc_now) -> ImportReport:
    """Clean parsed readings per configured meter, store them, rebuild household energy
    (the live sources: one poll is one block, written in the caller's transaction)."""
    ingest = MeterIngest(meters, report, SlotWriter(session, meters), now=clock)
    ingest.add(parsed)
    if progress is not None:
        progress(int(parsed.ts.size))
    return ingest.finish()
