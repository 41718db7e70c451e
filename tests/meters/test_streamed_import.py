"""Streamed imports: blocks give what one piece gives, malformed lines are bad rows with their
line numbers, memory does not grow with the file, and no write lock is held between batches."""

from __future__ import annotations

import io
import itertools
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.communities import add_household, create_community
from core.db import session_scope
from core.metering import MeterEnergy15
from meters.cleaning import clean_to_slots
from meters.ingest import import_readings
from meters.sources.csv_import import parse_csv
from meters.store import add_meter, load_household_energy, load_meter_slots
from meters.stream import ReadingStream
from tests.meters.test_slot_kernel import dirty_readings

NOW = datetime(2023, 12, 1, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_cleaning_block_by_block_gives_the_slots_of_one_piece(seed: int, cuts: list[float]
                                                              ) -> None:
    sensor, ts, watts = dirty_readings(seed * 2, sensors=3, per_sensor=400, step=8.0)
    sign, non_negative = np.array([1.0, -1.0, 1.0]), np.array([True, True, False])
    whole, stats = clean_to_slots(sensor, ts, watts, sign=sign, non_negative=non_negative,
                                  nominal_interval_s=8.0, explain=True)
    # As a live log would send them: sensors interleaved in time, cut anywhere.
    order = np.argsort(ts, kind="stable")
    bounds = sorted({0, ts.size, *(int(c * ts.size) for c in cuts)})
    stream = ReadingStream(sign, non_negative, nominal_interval_s=8.0)
    parts, reasons = [], np.empty(ts.size, dtype=np.int8)
    for lo, hi in itertools.pairwise(bounds):
        rows = order[lo:hi]
        block = stream.add(sensor[rows], ts[rows], watts[rows])
        parts.append(block.slots)
        reasons[rows] = block.reasons
    parts.append(stream.finish())
    got = pd.DataFrame({name: np.concatenate([getattr(p, name) for p in parts])
                        for name in ("sensor", "slot", "wh", "covered_s", "first_s",
                                     "last_s")}).sort_values(["sensor", "slot"])
    assert len(got) == len(whole)
    np.testing.assert_array_equal(got["sensor"], whole.sensor)
    np.testing.assert_array_equal(got["slot"], whole.slot)
    np.testing.assert_allclose(got["wh"], whole.wh, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got["covered_s"], whole.covered_s, atol=1e-6)
    # A slot's covered span runs from its first to its last reading, rejected ones included;
    # where a block ends on rejected readings the streamed span is narrower, never wider.
    assert (got["first_s"].to_numpy() >= whole.first_s - 1e-6).all()
    assert (got["last_s"].to_numpy() <= whole.last_s + 1e-6).all()
    assert (got["first_s"].to_numpy() <= got["last_s"].to_numpy()).all()
    assert stats.reasons is not None
    np.testing.assert_array_equal(reasons, stats.reasons)


def _community(session: Session, sensors: list[str]) -> list[int]:
    community = create_community(session, "c", "C")
    homes = []
    for sensor in sensors:
        home = add_household(session, community, f"H-{sensor}")
        add_meter(session, home, sensor)
        homes.append(home.id or 0)
    return homes


def test_a_sample_export_in_tiny_blocks_stores_what_one_block_stores(
        engine: Engine, sample_data: Path) -> None:
    path = sample_data / "17dec2021" / "ECHL16.csv"
    with session_scope(engine) as session:
        home = _community(session, ["ECHL16_L16"])[0]
    one = import_readings(engine, "c", path)
    with Session(engine) as session:
        once = load_meter_slots(session, [1])
        energy = load_household_energy(session, [home])
        session.execute(text("DELETE FROM meterenergy15"))
        session.execute(text("DELETE FROM energy15"))
        session.commit()
    tiny = import_readings(engine, "c", path, block_bytes=4096, batch_slots=7)
    with Session(engine) as session:
        again = load_meter_slots(session, [1])
        energy_again = load_household_energy(session, [home])
    assert (tiny.accepted, tiny.rejected) == (one.accepted, one.rejected) == (10_801, 0)
    pd.testing.assert_frame_equal(once.sort_values("slot", ignore_index=True),
                                  again.sort_values("slot", ignore_index=True),
                                  check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(energy, energy_again, check_exact=False, rtol=1e-12)


def test_malformed_lines_are_bad_rows_with_their_line_numbers(engine: Engine) -> None:
    with session_scope(engine) as session:
        _community(session, ["abc"])
    start = 1_700_000_100 - 1_700_000_100 % 900
    lines = ["sensor,timestamp,watts"]
    lines += [f"abc,{start + 8 * i},1000" for i in range(1, 226)]
    # Line numbers of the bad ones: the header is line 1, the first reading line 2.
    lines[10] = f"abc,{start + 8 * 10},1000,7"  # an extra field
    lines[50] = f'"abc,{start + 8 * 50},1000'  # an unclosed quote
    lines[60] = f'"abc",{start + 8 * 60},"1000"'  # quoted fields are fine
    lines[70] = ""  # a blank line: skipped without a word
    data = ("\r\n".join(lines) + "\r\n").encode()
    data = data.replace(f"abc,{start + 8 * 90},1000".encode(),
                        f"abc,{start + 8 * 90},10\xff0".encode("latin-1"))
    for block_bytes in (64, 4096, 1 << 20):  # the bad lines first in a block, or in the middle
        with Session(engine) as session:
            session.execute(text("DELETE FROM meterenergy15"))
            session.commit()
        report = import_readings(engine, "c", io.BytesIO(data), block_bytes=block_bytes,
                                 clock=clock)
        bad = {error.row: error.reason for error in report.errors}
        assert bad == {11: "malformed line: 4 fields, expected 3 (an extra comma?)",
                       51: "malformed line: a quote is not closed",
                       91: "malformed line: not UTF-8 text"}, block_bytes
        assert report.accepted == 225 - 4 and report.rejected == 3


def test_an_import_holds_no_write_lock_between_its_batches(engine: Engine) -> None:
    with session_scope(engine) as session:
        _community(session, ["abc"])
    start = 1_700_000_100 - 1_700_000_100 % 900
    body = "sensor,timestamp,watts\n" + "".join(
        f"abc,{start + 8 * i},500\n" for i in range(1, 20_000))
    written: list[int] = []
    waits: list[float] = []

    def meanwhile(_bytes: int) -> None:
        # Another writer (a webhook) gets the database at once between two blocks.
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE community SET name = name")
        waits.append(time.perf_counter() - started)
        with Session(engine) as session:
            written.append(len(session.exec(select(MeterEnergy15)).all()))

    report = import_readings(engine, "c", body.encode(), block_bytes=32_768, batch_slots=20,
                             progress=meanwhile, clock=clock)
    assert report.accepted == 19_999
    assert len(written) > 5 and written[0] < written[-1]  # committed batch by batch
    assert max(waits) < 1.0  # no lock held (SQLite's busy timeout would make it 10 s)


def _canonical_file(path: Path, rows: int) -> None:
    start = 1_700_000_100 - 1_700_000_100 % 900
    with path.open("w") as out:
        out.write("sensor,timestamp,watts\n")
        for first in range(0, rows, 50_000):
            index = np.arange(first, min(rows, first + 50_000))
            stamps = pd.to_datetime(start + 8 * (index // 4 + 1), unit="s", utc=True)
            frame = pd.DataFrame({"sensor": [f"s{i % 4}" for i in index],
                                  "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                                  "watts": 300.0 + index % 7})
            frame.to_csv(out, header=False, index=False)


def test_memory_does_not_grow_with_the_file(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        _community(session, ["s0", "s1", "s2", "s3"])
    peaks = []
    for rows in (100_000, 400_000):
        path = tmp_path / f"{rows}.csv"
        _canonical_file(path, rows)
        tracemalloc.start()
        report = import_readings(engine, "c", path, block_bytes=256 * 1024, clock=clock)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report.accepted == rows
    # Four times the file (3.6 vs 14 MB), about the same peak: the block, not the file.
    assert peaks[1] < 1.3 * peaks[0], peaks
    assert peaks[1] < 24 * 1024 * 1024, peaks


def test_one_timestamp_format_per_column_and_the_odd_ones_one_by_one() -> None:
    parsed = parse_csv(
        "sensor,timestamp,watts\n"
        "a,2023-11-14T22:15:00+01:00,1\n"
        "a,2023-11-14 22:15:08Z,2\n"  # another ISO shape: looked at on its own
        "a,2023-11-14T22:15:16.5+0100,3\n"
        "a,1699996524,4\n"  # Unix seconds in an ISO column
        "a,2023-11-14T22:15:30,5\n"  # no offset: ambiguous
        "a,14/11/2023 22:15,6\n")
    assert list(parsed.row) == [2, 3, 4, 5]
    np.testing.assert_allclose(parsed.ts, [1699996500, 1700000108, 1699996516.5,
                                           1699996524])
    assert parsed.rejected == {
        "timestamp without a UTC offset (local time is ambiguous)": 1,
        "timestamp is not ISO-8601 or Unix seconds": 1}
