"""The single pass behind ``meters.cleaning.clean_to_slots``, compiled with numba.

Each reading is read once: its time step, its validity (duplicate, no value, too large,
negative after the meter's sign, clamp noise), and its energy are worked out and added to
running sums, which are read at every 15-minute boundary of the sensor's block. Nothing of
the size of the input is allocated (but the optional per-row reasons), which is what brings
the cleaning close to the speed of merely reading the arrays.

The rules and their order are those documented in ``meters/cleaning.py``; the numpy version
this replaced is kept as the test oracle (``tests/meters/reference_cleaning.py``).
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

SLOT_SECONDS = 900.0
REASON_DUPLICATE = 1
REASON_NOT_A_NUMBER = 2
REASON_TOO_LARGE = 3
REASON_NEGATIVE = 4

# Per-call counters, in this order, in the ``counts`` output.
COUNT_DUPLICATES = 0
COUNT_NOT_A_NUMBER = 1
COUNT_TOO_LARGE = 2
COUNT_NEGATIVE = 3
COUNT_SLOTS = 4
# Set when the rows are not sorted by (sensor, time): the caller sorts and calls again.
COUNT_UNSORTED = 5
COUNT_FIELDS = 6

# Below this many rows a part, splitting the work costs more than it saves.
MIN_ROWS_PER_PART = 1_000_000


@njit(cache=True, nogil=True)
def _reading_power(w: float, signed_factor: float, forbid: bool, max_abs: float,
                   noise_watts: float) -> tuple[float, int]:
    """(power to integrate, reason) for one reading; reason 0 means usable."""
    if math.isnan(w):
        return 0.0, REASON_NOT_A_NUMBER
    if not abs(w) <= max_abs:
        return 0.0, REASON_TOO_LARGE
    if forbid:
        signed = w * signed_factor
        if signed < -noise_watts:
            return 0.0, REASON_NEGATIVE
        if signed < 0.0:
            return 0.0, 0  # clamp noise just below zero: nothing used, but covered
    return w, 0


@njit(cache=True, nogil=True, inline="always")
def _emit(code: int, slot: int, wh_s: float, covered: float, first_s: float, last_s: float,
          written: int, out_sensor: npt.NDArray[np.int64], out_slot: npt.NDArray[np.int64],
          out_wh: npt.NDArray[np.float64], out_covered: npt.NDArray[np.float64],
          out_first: npt.NDArray[np.float64], out_last: npt.NDArray[np.float64]) -> int:
    """Write one slot if it has some coverage (and there is room); the new count."""
    if covered <= 1e-9:
        return written
    if written < out_slot.size:
        out_sensor[written] = code
        out_slot[written] = slot
        out_wh[written] = wh_s / 3600.0
        out_covered[written] = min(covered, SLOT_SECONDS)
        out_first[written] = first_s
        out_last[written] = max(last_s, first_s)
    return written + 1


@njit(cache=True, nogil=True)
def _usual_readings(sensor: npt.NDArray[np.int64], ts: npt.NDArray[np.float64],
                    w: npt.NDArray[np.float64], i: int, code: int, previous_t: float,
                    hi: float, sign: float, allow_negative: bool, max_abs: float,
                    max_interval: float) -> tuple[int, float, float]:
    """From row ``i``, the run of readings needing no decision: (end of the run, energy in
    watt-seconds, seconds covered). Bitwise tests, so that one branch decides each row."""
    energy = 0.0
    covered = 0.0
    n = ts.size
    while i < n:
        t = ts[i]
        x = w[i]
        step = t - previous_t
        if not ((sensor[i] == code) & (step > 0.0) & (step <= max_interval)
                & (abs(x) <= max_abs) & ((x * sign >= 0.0) | allow_negative) & (t <= hi)):
            break
        energy += x * step
        covered += step
        previous_t = t
        i += 1
    return i, energy, covered


@njit(cache=True, nogil=True)
def integrate_sorted(sensor: npt.NDArray[np.int64], ts: npt.NDArray[np.float64],
                     w: npt.NDArray[np.float64], sign_table: npt.NDArray[np.float64],
                     forbid_table: npt.NDArray[np.bool_], max_abs: float,
                     noise_watts: float, max_interval: float, nominal: float,
                     explain: bool, reasons: npt.NDArray[np.int8],
                     out_sensor: npt.NDArray[np.int64], out_slot: npt.NDArray[np.int64],
                     out_wh: npt.NDArray[np.float64], out_covered: npt.NDArray[np.float64],
                     out_first: npt.NDArray[np.float64], out_last: npt.NDArray[np.float64],
                     counts: npt.NDArray[np.int64]) -> None:
    """Integrate rows sorted by (sensor, time) into slots with some coverage.

    Each reading covers ``[t - step, t]`` (its step from the previous reading of the sensor;
    the nominal interval for the first one and after a silence longer than ``max_interval``;
    nothing when rejected) and gives each slot it overlaps its power times the overlap.
    Writes at most ``out_*.size`` slots; ``counts[COUNT_SLOTS]`` says how many were needed
    (more than the room means: call again with more room). Stops early with
    ``counts[COUNT_UNSORTED] = 1`` when the rows are not sorted.
    """
    n = ts.size
    written = 0
    i = 0
    previous_code = -1
    while i < n:
        code = sensor[i]
        if code <= previous_code:
            counts[COUNT_UNSORTED] = 1
            return
        previous_code = code
        sign = sign_table[code] if code < sign_table.size else 1.0
        forbid = forbid_table[code] if code < forbid_table.size else False

        # The first slot: the one holding the start of the first reading (the one holding
        # its time when that reading is rejected and so covers nothing).
        t = ts[i]
        first_power, first_reason = _reading_power(w[i], sign, forbid, max_abs, noise_watts)
        slot = math.floor(((t - nominal) if first_reason == 0 else t) / SLOT_SECONDS)
        lo = slot * SLOT_SECONDS
        hi = lo + SLOT_SECONDS
        slot_e = 0.0
        slot_c = 0.0
        # The covered span of the slot runs from the start of the first reading ending
        # after the slot's start to the end of the last reading ending in it.
        first_s = 0.0
        first_known = False
        last_t = t
        # No step for the first reading: it takes the slow path below, as first.
        previous_t = math.inf
        first_row = True
        allow_negative = not forbid
        while i < n:
            if first_known:
                # Nearly every reading: same sensor, a normal step, a usable value, ending
                # in the current slot; a tight loop of its own, up to the first that is not.
                end, run_e, run_c = _usual_readings(sensor, ts, w, i, code, previous_t, hi,
                                                    sign, allow_negative, max_abs,
                                                    max_interval)
                if end > i:
                    slot_e += run_e
                    slot_c += run_c
                    last_t = ts[end - 1]
                    previous_t = last_t
                    i = end
                    if i >= n:
                        break
            t = ts[i]
            x = w[i]
            step = t - previous_t
            if sensor[i] != code:
                break
            if first_row:
                power, reason = first_power, first_reason
                step = nominal
            elif step < 0.0:
                counts[COUNT_UNSORTED] = 1
                return
            elif step == 0.0:
                power, reason = 0.0, REASON_DUPLICATE
            else:
                power, reason = _reading_power(x, sign, forbid, max_abs, noise_watts)
                if step > max_interval:
                    step = nominal
            first_row = False
            if explain:
                reasons[i] = reason
            if reason == 0:
                covered = step
            else:
                counts[reason - 1] += 1
                power = 0.0
                covered = 0.0
            start = t - covered
            if not first_known and t > lo:
                first_s = min(max(start - lo, 0.0), SLOT_SECONDS)
                first_known = True
            # The reading ends after the slot: close the slot (or several).
            while t > hi:
                part = min(max(hi - start, 0.0), covered) - min(max(lo - start, 0.0), covered)
                slot_e += power * part
                slot_c += part
                last_s = SLOT_SECONDS if start < hi and covered > 0.0 else min(
                    max(last_t - lo, 0.0), SLOT_SECONDS)
                written = _emit(code, slot, slot_e, slot_c, first_s, last_s, written,
                                out_sensor, out_slot, out_wh, out_covered, out_first, out_last)
                slot_e = 0.0
                slot_c = 0.0
                if start >= hi + SLOT_SECONDS:
                    # A silence: jump over the slots nothing covers.
                    slot = math.floor(start / SLOT_SECONDS)
                else:
                    slot += 1
                lo = slot * SLOT_SECONDS
                hi = lo + SLOT_SECONDS
                first_known = t > lo
                first_s = min(max(start - lo, 0.0), SLOT_SECONDS)
            part = covered - min(max(lo - start, 0.0), covered)
            slot_e += power * part
            slot_c += part
            last_t = t
            previous_t = t
            i += 1
        written = _emit(code, slot, slot_e, slot_c, first_s, min(max(last_t - lo, 0.0),
                        SLOT_SECONDS), written, out_sensor, out_slot, out_wh, out_covered,
                        out_first, out_last)
    counts[COUNT_SLOTS] = written


@dataclass(frozen=True)
class Tables:
    """Per-sensor sign and whether negatives are forbidden; the reading rules."""

    sign: npt.NDArray[np.float64]
    forbid: npt.NDArray[np.bool_]
    max_abs: float
    noise_watts: float
    max_interval: float
    nominal: float


@dataclass(frozen=True)
class Integrated:
    """Slots (the six ``out_*`` columns, in row order) and the summed ``counts``."""

    columns: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
                   npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
    counts: npt.NDArray[np.int64]


def _integrate_part(sensor: npt.NDArray[np.int64], ts: npt.NDArray[np.float64],
                    w: npt.NDArray[np.float64], tables: Tables, explain: bool,
                    reasons: npt.NDArray[np.int8]) -> Integrated:
    # Room for the slots: 8-second data fills ~112 readings a slot; sparse data may need
    # more, and a second call gets exactly what the first one counted.
    room = ts.size // 16 + 1024
    while True:
        columns = (np.empty(room, np.int64), np.empty(room, np.int64), np.empty(room),
                   np.empty(room), np.empty(room), np.empty(room))
        counts = np.zeros(COUNT_FIELDS, dtype=np.int64)
        integrate_sorted(sensor, ts, w, tables.sign, tables.forbid, tables.max_abs,
                         tables.noise_watts, tables.max_interval, tables.nominal, explain,
                         reasons, *columns, counts)
        found = int(counts[COUNT_SLOTS])
        if counts[COUNT_UNSORTED] or found <= room:
            return Integrated(columns=(columns[0][:found], columns[1][:found],
                                       columns[2][:found], columns[3][:found],
                                       columns[4][:found], columns[5][:found]),
                              counts=counts)
        room = found
        reasons[:] = 0


def _part_bounds(sensor: npt.NDArray[np.int64], parts: int) -> list[int]:
    """Row indices cutting the input into about equal parts, each cut where the sensor
    changes (so that every part holds whole sensor blocks)."""
    n = sensor.size
    cuts = [0]
    for k in range(1, parts):
        at = max(k * n // parts, cuts[-1] + 1)
        window = 4096
        while at < n:
            changes = np.flatnonzero(sensor[at:at + window] != sensor[at - 1])
            if changes.size:
                at += int(changes[0])
                break
            at += window
            window *= 2
        if at >= n:
            break
        cuts.append(at)
    cuts.append(n)
    return cuts


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="slot-kernel")
    return _pool


def integrate_rows(sensor: npt.NDArray[np.int64], ts: npt.NDArray[np.float64],
                   w: npt.NDArray[np.float64], tables: Tables, explain: bool,
                   reasons: npt.NDArray[np.int8]) -> Integrated:
    """The single pass over all rows, split over the machine's cores for large inputs.

    The kernel releases the GIL, so parts run side by side in threads; each part is whole
    sensor blocks, so the parts' slots, in order, are the slots of the whole. ``reasons``
    (zeros, one per row when ``explain``) gets the reason of every rejected row.
    """
    parts = max(1, min(cores(), ts.size // MIN_ROWS_PER_PART))
    cuts = _part_bounds(sensor, parts) if parts > 1 else [0, ts.size]
    if len(cuts) == 2:
        return _integrate_part(sensor, ts, w, tables, explain, reasons)
    # Sensors must go up from one part to the next too (each part checks its own rows).
    if any(sensor[cut - 1] >= sensor[cut] for cut in cuts[1:-1]):
        counts = np.zeros(COUNT_FIELDS, dtype=np.int64)
        counts[COUNT_UNSORTED] = 1
        empty = np.empty(0)
        return Integrated((np.empty(0, np.int64), np.empty(0, np.int64), empty, empty,
                           empty, empty), counts)
    futures = [
        _threads().submit(_integrate_part, sensor[lo:hi], ts[lo:hi], w[lo:hi], tables,
                          explain, reasons[lo:hi] if explain else reasons[:1].copy())
        for lo, hi in itertools.pairwise(cuts)]
    results = [future.result() for future in futures]
    counts = np.sum([result.counts for result in results], axis=0)
    counts[COUNT_UNSORTED] = min(1, counts[COUNT_UNSORTED])
    def joined(k: int) -> npt.NDArray[np.float64]:
        return np.concatenate([result.columns[k] for result in results])

    return Integrated(columns=(joined(0).astype(np.int64), joined(1).astype(np.int64),
                               joined(2), joined(3), joined(4), joined(5)), counts=counts)
