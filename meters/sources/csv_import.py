"""CSV readings: the canonical ``sensor,timestamp,watts`` form and the pilots' wide export,
read block by block so a file of any size costs a bounded amount of memory.

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

How a block is read: the file is cut into blocks of whole lines (``BLOCK_BYTES``), each read
by pandas' C parser. A line is a record: a quoted field never runs over a line end, so a line
with an unclosed quote or an extra field is a bad row with its line number, and the lines
after it are read as usual. Timestamps are parsed per column, not per row: the column's
format is read off its first values and the whole column goes through one strict, vectorised
conversion; only the values that do not fit it are looked at one by one (to say why).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pandas as pd

CANONICAL_HEADER = ("sensor", "timestamp", "watts")
BACKEND_SUMS = frozenset({"P_cons", "P_prod", "P_tot"})
# Large enough for pandas to run at full speed, small enough to keep an import's memory flat.
BLOCK_BYTES = 2 * 1024 * 1024
# A meter line is a few dozen bytes, a wide export's a few hundred: beyond this it is garbage.
MAX_LINE_BYTES = 256 * 1024
# What a missing reading looks like in the exports we know.
MISSING = ("", "nan", "NaN", "NAN", "null", "NULL", "None", "none")

REASON_NO_SENSOR = "no sensor id"
REASON_BAD_TIME = "timestamp is not ISO-8601 or Unix seconds"
REASON_NO_OFFSET = "timestamp without a UTC offset (local time is ambiguous)"
REASON_BAD_WATTS = "watts is not a number"
REASON_UNCLOSED_QUOTE = "malformed line: a quote is not closed"
REASON_NOT_UTF8 = "malformed line: not UTF-8 text"
REASON_TOO_LONG = "malformed line: longer than 256 KB"

_OFFSET_AT_END = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_UNIX_SECONDS = re.compile(r"^\d{9,11}(\.\d*)?$")
_ISO_SHAPE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<sep>[T ])\d{2}:\d{2}(?P<seconds>:\d{2})?(?P<fraction>\.\d+)?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_UNIT_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}

CsvSource = str | Path | bytes | IO[bytes]


class UnrecognisedFormat(ValueError):
    """Neither the canonical form nor the wide export; ``lines``: how many non-blank lines
    the file had (all of them rejected), when it was read to the end."""

    def __init__(self, message: str, lines: int = 0) -> None:
        super().__init__(message)
        self.lines = lines


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
        for row, sensor in zip(rows[: max(0, max_errors - len(self.errors))], sensors,
                               strict=False):
            self.errors.append(RowError(int(row), sensor, reason))


def default_prefix(stem: str | None) -> str | None:
    """A single home's export is prefixed by its file name; group exports already are."""
    if stem is None or stem.lower().startswith("group"):
        return None
    return stem


def source_stem(source: CsvSource) -> str | None:
    """The file name without extension, when the source is (or wraps) a named file."""
    if isinstance(source, Path):
        return source.stem
    if isinstance(source, str):
        return Path(source).stem if is_path(source) else None
    name = getattr(source, "name", None)
    return Path(name).stem if isinstance(name, str) and name else None


def is_path(source: str) -> bool:
    """A str is CSV text when it holds a line break, a file path otherwise."""
    return "\n" not in source and Path(source).is_file()


def detect_format(text: str) -> str:
    """``canonical`` or ``wide`` from the header line (the first line of ``text``)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    cells = [c.strip().strip('"').lower() for c in first.split(",")]
    if tuple(cells[:3]) == CANONICAL_HEADER:
        return "canonical"
    if len(cells) >= 2 and cells[0] in ("", "timestamp", "time", "date"):
        return "wide"
    raise UnrecognisedFormat(
        "unrecognised format: expected the header 'sensor,timestamp,watts' or the Flukso "
        "wide export (time, then one column per sensor)")


# ---------------------------------------------------------------------------------------------
# Lines: the stream cut into blocks of whole lines


@dataclass(frozen=True)
class LineBlock:
    data: bytes  # whole lines, each ending with a line feed
    first_line: int  # the file's line number of its first line (1-based)
    lines: int


@dataclass
class LineReader:
    """Reads a binary stream in blocks of whole lines, counting line numbers.

    A line longer than ``MAX_LINE_BYTES`` is skipped (and listed in ``too_long``) rather
    than read whole: memory stays bounded whatever the file holds.
    """

    stream: IO[bytes]
    block_bytes: int = BLOCK_BYTES
    bytes_read: int = 0
    too_long: list[int] = field(default_factory=list)
    _tail: bytes = b""
    _line: int = 1
    _skipping: bool = False
    _eof: bool = False

    def _read(self, size: int | None = None) -> bytes:
        piece = self.stream.read(size or self.block_bytes)
        if not piece:
            self._eof = True
            return b""
        self.bytes_read += len(piece)
        return bytes(piece)

    def header(self) -> str:
        """The first line, decoded (a UTF-8 byte-order mark is dropped)."""
        while b"\n" not in self._tail and not self._eof and len(self._tail) <= MAX_LINE_BYTES:
            # Small pieces: the block size may change once the header is known.
            self._tail += self._read(min(self.block_bytes, 16 * 1024))
        line, _, self._tail = self._tail.partition(b"\n")
        self._line = 2
        return line.decode("utf-8-sig", errors="replace").rstrip("\r")

    def blocks(self) -> Iterator[LineBlock]:
        while not self._eof or self._tail:
            piece = self._read() if not self._eof else b""
            if self._skipping:
                cut = piece.find(b"\n")
                if cut < 0:
                    continue
                self._skipping = False
                self._line += 1
                piece = piece[cut + 1:]
            data = self._tail + piece
            cut = data.rfind(b"\n")
            if cut < 0:
                if self._eof:
                    self._tail = b""
                    if data.strip():
                        yield LineBlock(data + b"\n", self._line, 1)
                    return
                if len(data) > MAX_LINE_BYTES:
                    self.too_long.append(self._line)
                    self._tail, self._skipping = b"", True
                else:
                    self._tail = data
                continue
            block, self._tail = data[:cut + 1], data[cut + 1:]
            lines = block.count(b"\n")
            yield LineBlock(block, self._line, lines)
            self._line += lines


# ---------------------------------------------------------------------------------------------
# Timestamps: one format per column


def _epoch_seconds(parsed: pd.Series) -> npt.NDArray[np.float64]:
    """UTC seconds of a datetime column, NaN where NaT; exact for any year (no ns overflow)."""
    values = pd.DatetimeIndex(parsed)
    seconds = values.asi8.astype(np.float64) / _UNIT_PER_SECOND[values.unit]
    seconds[np.asarray(values.isna())] = np.nan
    return seconds


def column_format(sample: list[str]) -> str | None:
    """The strptime format of a column's ISO-8601 timestamps, read off its first values that
    carry a UTC offset (those without one are rejected anyway)."""
    for text in sample:
        shape = _ISO_SHAPE.match(text)
        if shape is None or shape["offset"] is None:
            continue
        return ("%Y-%m-%d" + shape["sep"] + "%H:%M" + (":%S" if shape["seconds"] else "")
                + (".%f" if shape["fraction"] else "") + "%z")
    return None


def _classify_one_by_one(text: pd.Series) -> tuple[npt.NDArray[np.float64],
                                                   npt.NDArray[np.bool_]]:
    """Seconds and the no-offset mask for values outside their column's format (few)."""
    text = text.astype(str).str.strip()
    unix = text.str.match(_UNIX_SECONDS).to_numpy(dtype=bool)
    has_offset = text.str.contains(_OFFSET_AT_END).to_numpy(dtype=bool)
    seconds = np.full(len(text), np.nan)
    if unix.any():
        seconds[unix] = pd.to_numeric(text[unix], errors="coerce").to_numpy(dtype=np.float64)
    iso = ~unix & has_offset
    if iso.any():
        seconds[iso] = _epoch_seconds(pd.to_datetime(text[iso], utc=True, errors="coerce",
                                                     format="ISO8601"))
    looks_like_date = text.str.match(r"^\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool)
    return seconds, ~unix & ~has_offset & looks_like_date


def parse_timestamps(values: pd.Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_],
                                                 npt.NDArray[np.bool_]]:
    """UTC seconds; masks of unparsable values and of local times without an offset."""
    n = len(values)
    if pd.api.types.is_numeric_dtype(values.dtype):
        seconds = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return seconds, np.isnan(seconds), np.zeros(n, dtype=bool)
    present = values.notna().to_numpy()
    seconds = np.full(n, np.nan)
    sample = [str(v).strip() for v in values[present][:50]]
    exact = column_format(sample)
    if exact is not None:
        seconds = _epoch_seconds(pd.to_datetime(values, format=exact, utc=True,
                                                errors="coerce"))
    misfits = np.isnan(seconds) & present
    no_offset = np.zeros(n, dtype=bool)
    if misfits.any():
        seconds[misfits], no_offset[misfits] = _classify_one_by_one(values[misfits])
    return seconds, np.isnan(seconds) & ~no_offset, no_offset


def _numbers(values: pd.Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Floats (NaN when missing) and the mask of cells that hold something not a number."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(values), bool)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text = values.astype(str).str.strip()
    empty = values.isna().to_numpy() | text.isin(MISSING).to_numpy()
    return numbers, np.isnan(numbers) & ~empty


# ---------------------------------------------------------------------------------------------
# Blocks: C parser for the usual case, line by line for a block with a malformed line


@dataclass(frozen=True)
class BlockFrame:
    frame: pd.DataFrame
    rows: npt.NDArray[np.int64]  # the file's line number of each row
    bad_lines: list[tuple[int, str]]  # (line, reason) of lines left out


NaValues = dict[str, list[str]] | list[str]


def _read_lines(data: bytes, names: list[str], dtype: dict[str, str],
                na_values: NaValues) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), header=None, names=names, index_col=False,
                       dtype=dtype, keep_default_na=False, na_values=na_values,
                       skip_blank_lines=False, skipinitialspace=True, encoding="utf-8",
                       on_bad_lines="error")


def _fields_note(found: int, expected: int) -> str:
    return f"malformed line: {found} fields, expected {expected} (an extra comma?)"


def read_block(block: LineBlock, names: list[str], dtype: dict[str, str],
               na_values: NaValues) -> BlockFrame:
    """The rows of one block. Blank lines are skipped without a word."""
    expected = len(names)
    first_line = block.data[:block.data.find(b"\n")]
    if b'"' not in block.data and first_line.count(b",") < expected:
        # The C parser reports an extra field on any line but the first (which it would read
        # as an index instead), hence the check of the first line above.
        try:
            frame = _read_lines(block.data, names, dtype, na_values)
        except (pd.errors.ParserError, UnicodeDecodeError):
            pass
        else:
            rows = np.arange(block.first_line, block.first_line + len(frame), dtype=np.int64)
            blank = _blank_rows(frame, names)
            if blank.any():
                return BlockFrame(frame[~blank], rows[~blank], [])
            return BlockFrame(frame, rows, [])
    return _read_line_by_line(block, names, dtype, na_values)


def _blank_rows(frame: pd.DataFrame, names: list[str]) -> npt.NDArray[np.bool_]:
    """A blank line reads as an empty first cell and nothing else."""
    blank = frame[names[1:]].isna().all(axis=1).to_numpy(copy=True)
    if blank.any():
        first = frame[names[0]][blank]
        blank[blank] = (first.isna() | (first.astype(str).str.strip() == "")).to_numpy()
    return blank


def _read_line_by_line(block: LineBlock, names: list[str], dtype: dict[str, str],
                       na_values: NaValues) -> BlockFrame:
    expected = len(names)
    good: list[bytes] = []
    rows: list[int] = []
    bad: list[tuple[int, str]] = []
    for offset, raw in enumerate(block.data.split(b"\n")[:block.lines]):
        line_number = block.first_line + offset
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            bad.append((line_number, REASON_NOT_UTF8))
            continue
        if not text.strip():
            continue
        if text.count('"') % 2:
            bad.append((line_number, REASON_UNCLOSED_QUOTE))
            continue
        fields = next(csv.reader([text], skipinitialspace=True))
        if len(fields) > expected:
            bad.append((line_number, _fields_note(len(fields), expected)))
            continue
        good.append(text.encode("utf-8"))
        rows.append(line_number)
    if not good:
        empty = pd.DataFrame({name: pd.Series(dtype=object) for name in names})
        return BlockFrame(empty, np.zeros(0, dtype=np.int64), bad)
    frame = _read_lines(b"\n".join(good) + b"\n", names, dtype, na_values)
    return BlockFrame(frame, np.array(rows, dtype=np.int64), bad)


# ---------------------------------------------------------------------------------------------
# Readers: the header decides the format, then blocks of readings


class CsvReadings:
    """A CSV stream of readings: its format from the header, then its readings per block.

    ``blocks()`` yields one ``ParsedReadings`` per block of lines; each has its own sensor
    list (``code`` indexes it). Raises ``UnrecognisedFormat`` at construction.
    """

    def __init__(self, stream: IO[bytes], *, sensor_prefix: str | None = None,
                 max_errors: int = 20, block_bytes: int = BLOCK_BYTES) -> None:
        self.lines = LineReader(stream, block_bytes=block_bytes)
        self.max_errors = max_errors
        header = self.lines.header()
        try:
            self.format = detect_format(header)
        except UnrecognisedFormat as error:
            lines = int(bool(header.strip())) + sum(
                sum(1 for line in block.data.split(b"\n") if line.strip())
                for block in self.lines.blocks())
            raise UnrecognisedFormat(str(error), lines=lines) from None
        cells = next(csv.reader([header], skipinitialspace=True), [])
        self.columns = [c.strip() for c in cells]
        self.ignored_columns: list[str] = []
        self._pairs: dict[str, tuple[str | None, str | None]] = {}
        self._sensor_prefix = sensor_prefix
        if self.format == "wide":
            self._pairs, self.ignored_columns = sensor_columns(self.columns[1:])
            # A wide line holds a reading per sensor: keep a block's readings (and so the
            # memory of cleaning it) about what a canonical block holds.
            per_line = max(1, len(self._pairs) // 4)
            self.lines.block_bytes = max(block_bytes // per_line, min(block_bytes, 64 * 1024))

    @property
    def bytes_read(self) -> int:
        return self.lines.bytes_read

    def blocks(self) -> Iterator[ParsedReadings]:
        errors_left = self.max_errors
        for block in self.lines.blocks():
            parsed = (self._canonical(block, errors_left) if self.format == "canonical"
                      else self._wide(block, errors_left))
            errors_left = max(0, errors_left - len(parsed.errors))
            yield parsed
        if self.lines.too_long:
            parsed = _empty(self.format)
            rows = np.array(self.lines.too_long, dtype=np.int64)
            parsed.reject(REASON_TOO_LONG, rows, [None] * rows.size, errors_left)
            yield parsed

    def _canonical(self, block: LineBlock, max_errors: int) -> ParsedReadings:
        names = list(CANONICAL_HEADER)
        read = read_block(block, names, {"sensor": "category"},
                          {"timestamp": [""], "watts": list(MISSING)})
        frame, rows = read.frame, read.rows
        sensor = frame["sensor"]
        if not isinstance(sensor.dtype, pd.CategoricalDtype):
            sensor = sensor.astype("category")
        # Categories are few: strip them, not the million rows that point to them.
        names_of_code = [str(c).strip() for c in sensor.cat.categories]
        codes = sensor.cat.codes.to_numpy(dtype=np.int64)
        seconds, bad_time, no_offset = parse_timestamps(frame["timestamp"])
        watts, bad_watts = _numbers(frame["watts"])
        blank_name = np.array([*(name == "" for name in names_of_code), True], dtype=bool)
        no_sensor = blank_name[codes]  # code -1 (a missing cell) is the last entry
        keep = ~(bad_time | no_offset | bad_watts | no_sensor)
        # Several categories may strip to the same name (" abc" and "abc").
        sensors, code_of_category = np.unique(np.array([*names_of_code, ""], dtype=object),
                                              return_inverse=True)
        code = code_of_category[codes[keep]].astype(np.int64)
        parsed = ParsedReadings(sensors=[str(s) for s in sensors], code=code,
                                ts=seconds[keep], watts=watts[keep], row=rows[keep])
        _reject_bad_lines(parsed, read.bad_lines, max_errors)
        names_by_row = np.array([*names_of_code, ""], dtype=object)[codes]
        for mask, reason in ((no_sensor, REASON_NO_SENSOR),
                             (bad_time & ~no_sensor, REASON_BAD_TIME),
                             (no_offset & ~no_sensor, REASON_NO_OFFSET),
                             (bad_watts & ~(bad_time | no_offset | no_sensor),
                              REASON_BAD_WATTS)):
            parsed.reject(reason, rows[mask], list(names_by_row[mask][:max_errors]),
                          max_errors)
        parsed.errors.sort(key=lambda error: error.row)
        return parsed

    def _wide(self, block: LineBlock, max_errors: int) -> ParsedReadings:
        # Positional names: a wide export may repeat a column name.
        names = [f"c{i}" for i in range(len(self.columns))]
        position = {column: i - 1 for i, column in enumerate(self.columns) if i > 0}
        read = read_block(block, names, {names[0]: "str"}, list(MISSING))
        frame, rows = read.frame, read.rows
        seconds, bad_time, no_offset = parse_timestamps(frame[names[0]])
        good_time = ~(bad_time | no_offset)
        n_good = int(np.count_nonzero(good_time))
        cells = frame.iloc[:, 1:]
        if all(pd.api.types.is_numeric_dtype(dtype) for dtype in cells.dtypes):
            matrix = cells.to_numpy(dtype=np.float64, na_value=np.nan)[good_time]
        else:
            matrix = np.column_stack([_numbers(cells[c])[0] for c in cells.columns]
                                     + [np.zeros(len(cells))])[good_time]

        def numbers(column: str | None) -> npt.NDArray[np.float64]:
            return np.zeros(n_good) if column is None else matrix[:, position[column]]

        sensors: list[str] = []
        watts_blocks: list[npt.NDArray[np.float64]] = []
        for base, (positive, negative) in self._pairs.items():
            prefix = self._sensor_prefix
            sensors.append(f"{prefix}_{base}" if prefix else base)
            # Empty halves are NaN and make the reading NaN: "empty cells mean no valid data".
            watts_blocks.append(numbers(positive) - numbers(negative))
        k = len(sensors)
        # Sensor-major order: each sensor's readings are contiguous and in file order, which
        # is the order the cleaning wants (no sort needed when the file is chronological).
        parsed = ParsedReadings(
            sensors=sensors,
            code=np.repeat(np.arange(k, dtype=np.int64), n_good),
            ts=np.tile(seconds[good_time], k),
            watts=np.concatenate(watts_blocks) if watts_blocks else np.empty(0),
            row=np.tile(rows[good_time], k),
            ignored_columns=self.ignored_columns,
            format="wide",
        )
        _reject_bad_lines(parsed, read.bad_lines, max_errors)
        for mask, reason in ((bad_time, REASON_BAD_TIME), (no_offset, REASON_NO_OFFSET)):
            bad_rows = np.repeat(rows[mask], k)
            parsed.reject(reason, bad_rows, [None] * min(bad_rows.size, max_errors), max_errors)
        parsed.errors.sort(key=lambda error: error.row)
        return parsed


def _empty(kind: str) -> ParsedReadings:
    return ParsedReadings(sensors=[], code=np.zeros(0, np.int64), ts=np.zeros(0),
                          watts=np.zeros(0), row=np.zeros(0, np.int64), format=kind)


def _reject_bad_lines(parsed: ParsedReadings, bad_lines: list[tuple[int, str]],
                      max_errors: int) -> None:
    for line, reason in bad_lines:
        parsed.reject(reason, np.array([line], dtype=np.int64), [None], max_errors)


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


def parse_csv(text: str | bytes, *, sensor_prefix: str | None = None, max_errors: int = 20,
              block_bytes: int = BLOCK_BYTES) -> ParsedReadings:
    """A whole CSV in memory, in one ``ParsedReadings`` (tests, small files)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    reader = CsvReadings(io.BytesIO(data), sensor_prefix=sensor_prefix, max_errors=max_errors,
                         block_bytes=block_bytes)
    return concat_parsed(list(reader.blocks()), reader.format, reader.ignored_columns,
                         max_errors)


def concat_parsed(parts: list[ParsedReadings], kind: str, ignored: list[str],
                  max_errors: int = 20) -> ParsedReadings:
    """Blocks joined into one, their sensor codes renumbered to one list."""
    sensors = sorted({name for part in parts for name in part.sensors})
    index = {name: i for i, name in enumerate(sensors)}
    out = _empty(kind)
    out.sensors, out.ignored_columns = sensors, ignored
    codes, ts, watts, rows = [], [], [], []
    for part in parts:
        mapping = np.array([index[name] for name in part.sensors] or [0], dtype=np.int64)
        codes.append(mapping[part.code])
        ts.append(part.ts)
        watts.append(part.watts)
        rows.append(part.row)
        for reason, count in part.rejected.items():
            out.rejected[reason] = out.rejected.get(reason, 0) + count
        out.errors.extend(part.errors)
    if parts:
        out.code, out.ts = np.concatenate(codes), np.concatenate(ts)
        out.watts, out.row = np.concatenate(watts), np.concatenate(rows)
    out.errors = sorted(out.errors, key=lambda error: error.row)[:max_errors]
    return out
