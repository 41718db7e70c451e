"""CSV import: parse speed against bare pandas, the whole import of 1 M rows, peak memory.

Speed (default): a canonical file of 1 M rows (12 sensors, 8-second readings interleaved in
time, ISO-8601 timestamps with an offset, or ``--timestamps unix``) is read side by side,
in the same process and interleaved, by

- bare ``pandas.read_csv`` + ``pandas.to_datetime`` of the timestamp column (the floor),
- ``meters.sources.csv_import.CsvReadings`` (what the import parses with),
- ``meters.ingest.import_readings`` into a fresh SQLite file (parse, clean, store 15-minute
  slots, rebuild household energy, in short transactions),

and prints the best of ``--repeats`` wall and CPU seconds of each, and the parse ratio.

Memory (``--memory``): a ~50 MB canonical file is imported in a child process that reports
its resident memory before the import (interpreter, pandas, numba, SQLAlchemy loaded) and
its peak during the import (``VmHWM``, reset just before), and the import's own peak traced
allocations (``tracemalloc``).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_csv_import.py [--timestamps iso|unix]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_csv_import.py --memory [--megabytes 50]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from core.communities import add_household, create_community
from core.db import make_engine, migrate, session_scope
from meters.ingest import import_readings
from meters.sources.csv_import import CsvReadings
from meters.store import add_meter

SENSORS = 12
START = 1_700_000_100 - 1_700_000_100 % 900
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def write_canonical(path: Path, rows: int, timestamps: str = "iso") -> None:
    """``rows`` readings of ``SENSORS`` sensors every 8 s, interleaved as a live log."""
    rng = np.random.default_rng(0)
    with path.open("w") as out:
        out.write("sensor,timestamp,watts\n")
        for first in range(0, rows, 240_000):
            index = np.arange(first, min(rows, first + 240_000))
            seconds = START + 8 * (index // SENSORS + 1)
            if timestamps == "iso":
                local = pd.to_datetime(seconds, unit="s", utc=True).tz_convert(
                    "Europe/Brussels").strftime("%Y-%m-%dT%H:%M:%S%z")
                stamps = local.str[:-2] + ":" + local.str[-2:]
            else:
                stamps = pd.Index(seconds.astype(str))
            pd.DataFrame({"sensor": [f"sensor-{i:02d}" for i in index % SENSORS],
                          "timestamp": stamps,
                          "watts": rng.gamma(2.0, 150.0, index.size).round(1)}
                         ).to_csv(out, header=False, index=False)


def write_wide(path: Path, megabytes: float) -> int:
    """The pilots' wide export (time, then ``X`` and ``X-`` per sensor) of about this size;
    returns the number of readings."""
    rng = np.random.default_rng(1)
    names = [f"sensor-{i:02d}" for i in range(SENSORS)]
    header = "," + ",".join(f"{n},{n}-" for n in names) + "\n"
    rows = 0
    with path.open("w") as out:
        out.write(header)
        while out.tell() < megabytes * 1e6:
            index = np.arange(rows, rows + 50_000)
            stamps = pd.to_datetime(START + 8 * (index + 1), unit="s", utc=True).tz_convert(
                "Europe/Brussels").strftime("%Y-%m-%d %H:%M:%S%z")
            frame = pd.DataFrame({"time": stamps.str[:-2] + ":" + stamps.str[-2:]})
            for name in names:
                frame[name] = rng.gamma(2.0, 150.0, index.size).round(1)
                frame[f"{name}-"] = 0.0
            frame.to_csv(out, header=False, index=False)
            rows += index.size
    return rows * SENSORS


def fresh_database(folder: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{folder / name}")
    migrate(engine)
    with session_scope(engine) as session:
        community = create_community(session, "bench", "Bench")
        for i in range(SENSORS):
            home = add_household(session, community, f"H{i:02d}")
            add_meter(session, home, f"sensor-{i:02d}")
    return engine


def timed(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def bare_pandas(path: Path) -> object:
    frame = pd.read_csv(path)
    column = frame["timestamp"]
    if pd.api.types.is_numeric_dtype(column.dtype):
        return pd.to_datetime(column, unit="s", utc=True)
    return pd.to_datetime(column, format="ISO8601", utc=True)


def parse_only(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(block.ts.size for block in CsvReadings(stream).blocks())


def speed(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-csv-"))
    path = folder / f"readings-{args.timestamps}.csv"
    write_canonical(path, args.rows, args.timestamps)
    warm = fresh_database(folder, "warm.db")
    import_readings(warm, "bench", head_of(path), clock=lambda: NOW)  # numba's cache load
    results: dict[str, list[tuple[float, float]]] = {"bare": [], "parse": [], "import": []}
    reports = []
    for repeat in range(args.repeats):
        results["bare"].append(timed(lambda: bare_pandas(path)))
        results["parse"].append(timed(lambda: parse_only(path)))
        engine = fresh_database(folder, f"run{repeat}.db")

        def run(engine: Engine = engine) -> None:
            reports.append(import_readings(engine, "bench", path, clock=lambda: NOW))

        results["import"].append(timed(run))
        engine.dispose()
    report = reports[-1]
    size = path.stat().st_size / 1e6
    print(f"{args.rows:,} canonical rows ({SENSORS} sensors, 8 s, {args.timestamps} "
          f"timestamps), {size:.1f} MB; best of {args.repeats} (wall s / CPU s):")
    for name, label in (("bare", "bare read_csv + to_datetime"),
                        ("parse", "CsvReadings (parse)"),
                        ("import", "import_readings (parse, clean, store, rebuild)")):
        wall = min(r[0] for r in results[name])
        cpu = min(r[1] for r in results[name])
        median = float(np.median([r[0] for r in results[name]]))
        print(f"  {label:48s} {wall:6.3f} / {cpu:6.3f}   (median wall {median:.3f})")
    bare = min(r[0] for r in results["bare"])
    parse = min(r[0] for r in results["parse"])
    bare_cpu = min(r[1] for r in results["bare"])
    parse_cpu = min(r[1] for r in results["parse"])
    print(f"parse speed / bare speed: {bare / parse:.0%} (wall), {bare_cpu / parse_cpu:.0%} "
          f"(CPU)")
    print(f"import: accepted {report.accepted:,}, rejected {report.rejected}, "
          f"slots written {report.slots_written:,}")
    shutil.rmtree(folder, ignore_errors=True)


def head_of(path: Path) -> bytes:
    """The first lines of a file: a tiny import that loads numba's compiled kernel."""
    with path.open("rb") as stream:
        head = stream.read(5000)
    return head[:head.rfind(b"\n") + 1]


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path: Path, folder: Path) -> None:
    """Run one import and print its memory figures as JSON (the parent's --memory)."""
    engine = fresh_database(folder, f"memory-{path.stem}.db")
    import_readings(engine, "bench", head_of(path), clock=lambda: NOW)
    # Linux: reset the high-water mark, so the peak below is the import's own.
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    report = import_readings(engine, "bench", path, clock=lambda: NOW)
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = max(_status_kb("VmHWM"), before)
    print(json.dumps({"rss_before_kb": before, "rss_peak_kb": peak, "traced_peak": traced,
                      "accepted": report.accepted, "seconds": seconds}))


def memory(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-csv-memory-"))
    # "group_...": a group export names its sensors in full (no file-name prefix).
    canonical, wide = folder / "canonical.csv", folder / "group_wide.csv"
    rows = int(args.megabytes * 1e6 / 42)  # ~42 bytes a line with ISO timestamps
    write_canonical(canonical, rows, "iso")
    readings = {canonical: rows, wide: write_wide(wide, args.megabytes)}
    for path in (canonical, wide):
        result = subprocess.run([sys.executable, __file__, "--child", str(path), str(folder)],
                                check=True, capture_output=True, text=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{path.stem}: {path.stat().st_size / 1e6:.1f} MB, {readings[path]:,} readings; "
              f"import {figures['seconds']:.1f} s (tracemalloc on), accepted "
              f"{figures['accepted']:,}")
        print(f"  resident memory before the import (interpreter, pandas, numba, SQLAlchemy): "
              f"{figures['rss_before_kb'] / 1024:.0f} MB")
        print(f"  peak resident memory during the import (whole process): "
              f"{figures['rss_peak_kb'] / 1024:.0f} MB")
        print(f"  growth during the import: "
              f"{(figures['rss_peak_kb'] - figures['rss_before_kb']) / 1024:.0f} MB")
        print(f"  peak traced allocations of the import: {figures['traced_peak'] / 1e6:.0f} MB")
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timestamps", choices=["iso", "unix"], default="iso")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--child", nargs=2, metavar=("CSV", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
    elif args.memory:
        memory(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
