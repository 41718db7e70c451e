"""Ingestion speed: 8-second readings cleaned into 15-minute energy with coverage.

Prints readings/s of ``meters.cleaning.clean_to_slots`` (a compiled single pass, see
``meters/slot_kernel.py``, split over the cores for large inputs; ``--one-core`` shows it on
one) and baselines run on the same arrays in the same process: a bare
``np.sum`` of the watts, a bare ``np.sum`` of each array the cleaning reads (sensor, time,
watts: what merely reading the input costs), and a bare per-slot ``np.bincount`` (the least
numpy needs to produce 15-minute sums without any cleaning). The first call's time (compiling,
or loading the compiled code from numba's cache) is printed apart and not in the best-of.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py [--sensors 240] [--days 7]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from meters import slot_kernel
from meters.cleaning import clean_to_slots


def best_of(repeats: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sensors", type=int, default=240)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one-core", action="store_true")
    args = parser.parse_args()
    if args.one_core:
        slot_kernel.cores = lambda: 1
    per_sensor = args.days * 86_400 // 8
    rng = np.random.default_rng(0)
    t0 = 1_700_000_000.0
    ts = np.tile(t0 + 8.0 * np.arange(1, per_sensor + 1), args.sensors)
    sensor = np.repeat(np.arange(args.sensors, dtype=np.int64), per_sensor)
    watts = rng.gamma(2.0, 150.0, ts.size)
    # Real-life dirt: 0.5 % missing values, a few impossible readings.
    watts[rng.random(ts.size) < 0.005] = np.nan
    watts[rng.random(ts.size) < 0.0001] = 50_000.0
    sign = np.ones(args.sensors)
    non_negative = np.ones(args.sensors, dtype=bool)
    n = ts.size

    def clean() -> object:
        return clean_to_slots(sensor, ts, watts, sign=sign, non_negative=non_negative,
                              nominal_interval_s=8.0)

    start = time.perf_counter()
    clean_to_slots(sensor[:1000], ts[:1000], watts[:1000], sign=sign,
                   non_negative=non_negative, nominal_interval_s=8.0)
    first_call = time.perf_counter() - start
    cleaning = best_of(args.repeats, clean)
    bare_sum = best_of(args.repeats, lambda: np.sum(watts))
    bare_sum_all = best_of(args.repeats, lambda: (np.sum(sensor), np.sum(ts), np.sum(watts)))
    slot_key = sensor * 100_000 + ((ts - t0) // 900).astype(np.int64)
    clean_watts = np.nan_to_num(watts)
    bare_bincount = best_of(args.repeats, lambda: np.bincount(slot_key, weights=clean_watts))

    print(f"readings: {n:,} ({args.sensors} sensors x {args.days} days of 8 s readings), "
          f"cleaning on {slot_kernel.cores()} core(s)")
    print(f"first call (compile or cache load): {first_call:.2f} s")
    print(f"cleaning to 15-min energy: {n / cleaning / 1e6:8.1f} M readings/s ({cleaning:.3f} s)")
    print(f"bare np.sum(watts):        {n / bare_sum / 1e6:8.1f} M readings/s")
    print(f"bare np.sum of the 3 input arrays: {n / bare_sum_all / 1e6:8.1f} M readings/s")
    print(f"bare np.bincount per slot: {n / bare_bincount / 1e6:8.1f} M readings/s")
    print(f"ratio to np.sum(watts):         {bare_sum / cleaning:6.1%}")
    print(f"ratio to np.sum of the 3 arrays: {bare_sum_all / cleaning:6.1%}")
    print(f"ratio to np.bincount:            {bare_bincount / cleaning:6.1%}")


if __name__ == "__main__":
    main()
