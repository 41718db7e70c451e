"""The numpy cleaning that ``meters.slot_kernel`` replaced, kept as the test oracle.

It states the same rules as a chain of whole-array operations (running sums read at the slot
boundaries with ``searchsorted``); the compiled single pass must give the same slots, stats and
reasons.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.metering import SLOT_SECONDS
from meters.cleaning import (
    MAX_HOME_WATTS,
    MAX_INTERVAL_S,
    NEGATIVE_NOISE_WATTS,
    REASON_DUPLICATE,
    REASON_NEGATIVE,
    REASON_NOT_A_NUMBER,
    REASON_TOO_LARGE,
    CleaningStats,
    FloatArray,
    IntArray,
    SensorSlots,
)


def _blocks_and_steps(sensor: IntArray, ts: FloatArray
                      ) -> tuple[npt.NDArray[np.bool_], FloatArray, int]:
    """First-of-block flags, time steps, and how many rows break (sensor, time) order."""
    n = sensor.size
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(sensor[1:], sensor[:-1], out=starts[1:])
    dt = np.empty(n)
    dt[0] = 0.0
    np.subtract(ts[1:], ts[:-1], out=dt[1:])
    backwards = int(np.count_nonzero((dt < 0) & ~starts))
    # Sensors out of order show up as block codes that do not strictly increase.
    codes = sensor[starts]
    backwards += int(np.count_nonzero(codes[1:] <= codes[:-1]))
    return starts, dt, backwards


def reference_clean_to_slots(sensor: npt.ArrayLike, ts: npt.ArrayLike, watts: npt.ArrayLike, *,
                   sign: npt.ArrayLike | None = None,
                   non_negative: npt.ArrayLike | None = None,
                   max_abs_watts: float = MAX_HOME_WATTS,
                   max_interval_s: float = MAX_INTERVAL_S,
                   nominal_interval_s: float | None = None,
                   explain: bool = False,
                   ) -> tuple[SensorSlots, CleaningStats]:
    """Integrate power readings into per-sensor 15-minute energy with coverage.

    ``sensor``: small non-negative integer codes; ``ts``: UTC seconds since the epoch;
    ``watts``: the reading as measured. ``sign[code]`` (+1/-1) is the meter's sign and
    ``non_negative[code]`` says the role cannot be negative (consumption): such a reading
    below ``-NEGATIVE_NOISE_WATTS`` after the sign is rejected, one between that and zero is
    clamp noise and counts as zero. Slots keep the measured sign.
    """
    sensor_a = np.asarray(sensor, dtype=np.int64)
    ts_a = np.asarray(ts, dtype=np.float64)
    w = np.asarray(watts, dtype=np.float64)
    n = int(ts_a.size)
    if n == 0:
        empty = SensorSlots(*(np.empty(0, np.int64),) * 2, *(np.empty(0),) * 4)
        return empty, CleaningStats(0, 0, 0, 0, 0, 0)
    # "starts" marks the first reading of each sensor's block, dt the step from the previous.
    starts, dt, out_of_order = _blocks_and_steps(sensor_a, ts_a)
    order: IntArray | None = None
    if out_of_order:
        # Stable lexsort: among equal (sensor, t) the first row received stays first.
        order = np.lexsort((ts_a, sensor_a))
        sensor_a, ts_a, w = sensor_a[order], ts_a[order], w[order]
        starts, dt, _ = _blocks_and_steps(sensor_a, ts_a)
    if nominal_interval_s is None:
        # A sample is enough to find the sensor period (8 s for a Flukso, 60 s for minute data).
        sample = dt[1:min(n, 2001)][~starts[1:min(n, 2001)]]
        sample = sample[sample > 0]
        nominal_interval_s = float(np.median(sample)) if sample.size else 8.0
    nominal = min(nominal_interval_s, max_interval_s)
    duplicate = (dt == 0) & ~starts
    any_duplicate = bool(duplicate.any())
    dt[starts | (dt > max_interval_s)] = nominal

    # Each rejected row gets one reason, in this order: duplicate, no value, too large, negative.
    # (The masks are combined with as few passes as possible: this is the hot loop.)
    is_nan = np.isnan(w)
    valid = np.abs(w) <= max_abs_watts  # False for NaN too
    too_large = ~valid & ~is_nan
    negative = np.zeros(n, dtype=bool)
    if non_negative is not None:
        sign_table = (np.ones(int(sensor_a.max()) + 1) if sign is None
                      else np.asarray(sign, dtype=np.float64))
        forbid_table = np.asarray(non_negative, dtype=bool)
        codes_seen = np.unique(sensor_a[starts])
        if np.all(sign_table[codes_seen] == sign_table[codes_seen[0]]) and np.all(
                forbid_table[codes_seen] == forbid_table[codes_seen[0]]):
            # One sign and one rule for every sensor here (the usual case): no gathers.
            uniform_sign = float(sign_table[codes_seen[0]])
            forbid: npt.NDArray[np.bool_] | bool = bool(forbid_table[codes_seen[0]])
            signed = w * uniform_sign if uniform_sign != 1.0 else w
        else:
            forbid = forbid_table[sensor_a]
            signed = w * sign_table[sensor_a]
        if forbid is not False:
            negative = (signed < -NEGATIVE_NOISE_WATTS) & forbid
            # Clamp noise just below zero on a consumption clamp reads as nothing.
            noise = (signed < 0) & ~negative & forbid
            if noise.any():
                w = np.where(noise, 0.0, w)
            valid &= ~negative
            negative &= ~too_large
    if any_duplicate:
        too_large &= ~duplicate
        negative &= ~duplicate
    not_a_number = is_nan & ~duplicate if any_duplicate else is_nan
    covered = dt * valid
    w_valid = np.where(valid, w, 0.0)
    energy_ws = w_valid * covered

    # Running sums; E(B) = energy of readings ending at or before the boundary B plus the
    # part of the next reading that lies before B.
    cum_e = np.empty(n + 1)
    cum_e[0] = 0.0
    np.cumsum(energy_ws, out=cum_e[1:])
    cum_c = np.empty(n + 1)
    cum_c[0] = 0.0
    np.cumsum(covered, out=cum_c[1:])

    block_first = np.flatnonzero(starts)
    block_last = np.concatenate((block_first[1:], [n])) - 1
    codes = sensor_a[block_first]
    first_slot = np.floor((ts_a[block_first] - covered[block_first]) / SLOT_SECONDS)
    # A reading exactly on a boundary belongs to the slot before it.
    last_slot = np.ceil(ts_a[block_last] / SLOT_SECONDS) - 1
    first_slot = np.minimum(first_slot, last_slot).astype(np.int64)
    last_slot = last_slot.astype(np.int64)
    slots_per_block = last_slot - first_slot + 1
    # Boundaries per block: first_slot .. last_slot + 1 (one more boundary than slots).
    bounds_per_block = slots_per_block + 1
    block_of_bound = np.repeat(np.arange(codes.size), bounds_per_block)
    offset = np.arange(block_of_bound.size) - np.repeat(
        np.cumsum(bounds_per_block) - bounds_per_block, bounds_per_block)
    bound_slot = first_slot[block_of_bound] + offset
    bound_t = bound_slot.astype(np.float64) * SLOT_SECONDS

    # Index of the first reading of the block with t > B: one searchsorted per sensor block
    # (blocks are few; a global search would need an extra n-sized key array).
    j = np.empty(bound_t.size, dtype=np.int64)
    bound_ends = np.cumsum(bounds_per_block)
    for b in range(codes.size):
        lo_b, hi_b = bound_ends[b] - bounds_per_block[b], bound_ends[b]
        first_b, last_b = block_first[b], block_last[b] + 1
        j[lo_b:hi_b] = first_b + np.searchsorted(ts_a[first_b:last_b], bound_t[lo_b:hi_b],
                                                 side="right")
    j = np.minimum(j, block_last[block_of_bound] + 1)
    inside = j <= block_last[block_of_bound]
    j_safe = np.minimum(j, n - 1)
    start_of_j = ts_a[j_safe] - covered[j_safe]
    before_b = np.where(inside, np.clip(bound_t - start_of_j, 0.0, covered[j_safe]), 0.0)
    w_j = w_valid[j_safe]
    e_at = cum_e[j] + w_j * before_b
    c_at = cum_c[j] + before_b

    # Slots are the gaps between consecutive boundaries of the same block.
    is_slot = np.ones(bound_t.size, dtype=bool)
    is_slot[np.cumsum(bounds_per_block) - 1] = False
    lo = np.flatnonzero(is_slot)
    hi = lo + 1
    wh = (e_at[hi] - e_at[lo]) / 3600.0
    covered_s = c_at[hi] - c_at[lo]
    # Covered span: from the start of the first reading reaching into the slot to the end of
    # the last one; only used to tell apart re-imports from successive chunks.
    first_s = np.clip(np.where(inside[lo], start_of_j[lo], np.inf) - bound_t[lo], 0.0,
                      SLOT_SECONDS)
    last_reading = np.maximum(j[hi] - 1, 0)
    last_s = np.where(before_b[hi] > 0, SLOT_SECONDS,
                      np.clip(ts_a[last_reading] - bound_t[lo], 0.0, SLOT_SECONDS))
    keep = covered_s > 1e-9
    slots = SensorSlots(
        sensor=codes[block_of_bound[lo]][keep],
        slot=bound_slot[lo][keep],
        wh=wh[keep],
        covered_s=np.minimum(covered_s[keep], SLOT_SECONDS),
        first_s=first_s[keep],
        last_s=np.maximum(last_s[keep], first_s[keep]),
    )
    reasons: npt.NDArray[np.int8] | None = None
    if explain:
        sorted_reasons = np.zeros(n, dtype=np.int8)
        sorted_reasons[negative] = REASON_NEGATIVE
        sorted_reasons[too_large] = REASON_TOO_LARGE
        sorted_reasons[not_a_number] = REASON_NOT_A_NUMBER
        sorted_reasons[duplicate] = REASON_DUPLICATE
        if order is None:
            reasons = sorted_reasons
        else:
            reasons = np.empty(n, dtype=np.int8)
            reasons[order] = sorted_reasons
    stats = CleaningStats(readings=n, duplicates=int(np.count_nonzero(duplicate)),
                          out_of_order=out_of_order,
                          not_a_number=int(np.count_nonzero(not_a_number)),
                          too_large=int(np.count_nonzero(too_large)),
                          negative=int(np.count_nonzero(negative)),
                          reasons=reasons)
    return slots, stats
