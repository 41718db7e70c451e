"""Cleaning meter readings into 15-minute energy, vectorised with numpy.

A reading is ``(sensor, t, watts)`` where ``watts`` is the average power over the interval
that ENDS at ``t`` and starts at the sensor's previous reading (the Flukso convention, also
the cloud API's). Each valid reading therefore covers ``(t - dt, t]``; integrating power over
the covered seconds gives energy, and a 15-minute UTC slot's coverage is the fraction of its
900 seconds covered by valid readings.

The integration does not bin each reading (two scatter-adds per reading because ~1 reading in
112 straddles a slot boundary). It takes a running sum of energy and of covered seconds, and
evaluates it at the slot boundaries with one ``searchsorted``: the work per reading is a few
vector operations, the work per slot a handful. That is what makes millions of 8-second
readings per second possible on one core.

Rules:
- duplicates (same sensor and time) count once; out-of-order rows are sorted;
- a reading that is not finite, beyond ``max_abs_watts`` or negative where the role forbids it
  (consumption: the clamp is then reversed or broken) covers nothing: a gap;
- a reading after a silence longer than ``max_interval_s`` covers only a nominal interval
  (we cannot spread one average over a long silence);
- counters (cumulative Wh) become power from consecutive differences; a drop is a wrap when
  the counter was near its modulus, otherwise a reset, whose interval is a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.metering import MIN_VALID_COVERAGE, SLOT_SECONDS, MeterRole

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A home connection in Belgium is at most ~40 A three-phase; 30 kW is already generous.
MAX_HOME_WATTS = 30_000.0
# Clamps read a few watts of noise around zero; below this a negative reading is an error.
NEGATIVE_NOISE_WATTS = 10.0
# Silence after which a reading's average cannot be spread back over the gap.
MAX_INTERVAL_S = 300.0
# Flukso counters are 32-bit; a wrap is only plausible from the top of that range.
COUNTER_MODULUS_WH = float(2**32)


# Why a reading was not used (``clean_to_slots(..., explain=True)``), per input row.
REASON_OK = 0
REASON_DUPLICATE = 1
REASON_NOT_A_NUMBER = 2
REASON_TOO_LARGE = 3
REASON_NEGATIVE = 4
REASON_TEXT = {
    REASON_DUPLICATE: "duplicate reading (same sensor and time)",
    REASON_NOT_A_NUMBER: "no value (empty or nan)",
    REASON_TOO_LARGE: "impossible value (more than 30 kW)",
    REASON_NEGATIVE: "negative consumption (clamp reversed? set the meter's sign to -1)",
}


@dataclass(frozen=True)
class CleaningStats:
    readings: int
    duplicates: int
    out_of_order: int
    not_a_number: int
    too_large: int
    negative: int
    # Per input row (in the caller's order), a REASON_* code; only with explain=True.
    reasons: npt.NDArray[np.int8] | None = None

    @property
    def rejected(self) -> int:
        return self.duplicates + self.not_a_number + self.too_large + self.negative


@dataclass(frozen=True)
class SensorSlots:
    """15-minute energy per sensor: one row per (sensor, slot) with some valid coverage."""

    sensor: IntArray
    slot: IntArray  # slot index: UTC seconds since the epoch // 900
    wh: FloatArray  # as measured, before the meter's sign
    covered_s: FloatArray
    first_s: FloatArray  # covered span inside the slot, seconds from its start
    last_s: FloatArray

    def __len__(self) -> int:
        return int(self.sensor.size)


def counter_to_watts(sensor: IntArray, ts: FloatArray, wh: FloatArray, *,
                     modulus_wh: float = COUNTER_MODULUS_WH,
                     max_interval_s: float = MAX_INTERVAL_S) -> FloatArray:
    """Average power since the previous counter value; NaN where it cannot be known.

    Expects rows sorted by (sensor, ts). The first value of each sensor, a reset and a
    silence longer than ``max_interval_s`` give NaN (a gap, never zero).
    """
    watts = np.full(ts.shape, np.nan)
    if ts.size < 2:
        return watts
    same_sensor = sensor[1:] == sensor[:-1]
    dt = np.diff(ts)
    delta = np.diff(wh)
    # A wrap: the previous value was in the top tenth of the range and the new one in the
    # bottom tenth. Any other drop is a reset (meter replaced, firmware reflashed).
    wrapped = (delta < 0) & (wh[:-1] > 0.9 * modulus_wh) & (wh[1:] < 0.1 * modulus_wh)
    delta = np.where(wrapped, delta + modulus_wh, delta)
    usable = same_sensor & (dt > 0) & (dt <= max_interval_s) & (delta >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        watts[1:] = np.where(usable, delta * 3600.0 / dt, np.nan)
    return watts


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


def clean_to_slots(sensor: npt.ArrayLike, ts: npt.ArrayLike, watts: npt.ArrayLike, *,
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


# ---------------------------------------------------------------------------------------------
# Household series: meters -> household x role x slot


def household_energy_15min(meter_slots: pd.DataFrame, meters: pd.DataFrame, *,
                           min_coverage: float = MIN_VALID_COVERAGE,
                           max_home_watts: float = MAX_HOME_WATTS) -> pd.DataFrame:
    """Sum a household's meters per role and slot, apply signs, derive the missing role.

    ``meter_slots``: columns meter_id, slot (index, UTC seconds // 900), wh, covered_s.
    ``meters``: columns meter_id, household_id, role, sign.
    Returns household_id, role, slot, kwh (NaN when invalid), coverage.

    A slot's coverage is the *lowest* coverage of the meters that make up the role: three
    phases with one missing give a wrong sum, so the slot is as valid as its worst phase.
    Valid slots (coverage >= 90 %) are scaled to the full 15 minutes at their own mean power.
    Where a household has two of consumption/production/net, the third is derived
    (consumption = net + production), with the lower coverage of the two.
    """
    columns = ["household_id", "role", "slot", "kwh", "coverage"]
    if meter_slots.empty or meters.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    merged = meter_slots.merge(meters[["meter_id", "household_id", "role", "sign"]],
                               on="meter_id", how="inner")
    merged["signed_wh"] = merged["wh"] * merged["sign"]
    # How many meters each household has per role: a slot missing one of them is not covered.
    meter_count = meters.groupby(["household_id", "role"]).size().rename("meters")
    grouped = merged.groupby(["household_id", "role", "slot"]).agg(
        wh=("signed_wh", "sum"), covered=("covered_s", "sum"),
        min_covered=("covered_s", "min"), present=("meter_id", "size"))
    grouped = grouped.join(meter_count, on=["household_id", "role"])
    coverage = np.where(grouped["present"] >= grouped["meters"],
                        grouped["min_covered"] / SLOT_SECONDS, 0.0)
    # Mean power over what each meter covered, summed over the meters (phases), scaled to 15 min.
    per_meter_mean = merged.assign(
        mean_w=np.where(merged["covered_s"] > 0,
                        merged["signed_wh"] * 3600.0 / merged["covered_s"].clip(lower=1e-9), 0.0)
    ).groupby(["household_id", "role", "slot"])["mean_w"].sum()
    kwh = per_meter_mean.to_numpy() * SLOT_SECONDS / 3600.0 / 1000.0
    result = pd.DataFrame({"kwh": kwh, "coverage": np.minimum(coverage, 1.0)},
                          index=grouped.index).reset_index()
    result = _derive_missing_role(result)
    impossible = result["kwh"].abs() * (3600.0 / SLOT_SECONDS) * 1000.0 > max_home_watts
    invalid = (result["coverage"] < min_coverage) | impossible
    result.loc[invalid, "kwh"] = np.nan
    return result[columns].sort_values(["household_id", "role", "slot"], ignore_index=True)


def _derive_missing_role(series: pd.DataFrame) -> pd.DataFrame:
    wide = series.pivot_table(index=["household_id", "slot"], columns="role",
                              values=["kwh", "coverage"], aggfunc="first")
    roles = set(series["role"].unique())
    derived: list[pd.DataFrame] = []
    recipes = {
        MeterRole.CONSUMPTION.value: (MeterRole.NET.value, MeterRole.PRODUCTION.value, 1.0),
        MeterRole.NET.value: (MeterRole.CONSUMPTION.value, MeterRole.PRODUCTION.value, -1.0),
        MeterRole.PRODUCTION.value: (MeterRole.CONSUMPTION.value, MeterRole.NET.value, -1.0),
    }
    for target, (left, right, factor) in recipes.items():
        if not {left, right} <= roles:
            continue
        both = wide[[("kwh", left), ("kwh", right)]].notna().all(axis=1)
        if target in roles:
            # Only households that lack the target role get it derived.
            both &= wide[("kwh", target)].isna() & wide[("coverage", target)].isna()
        part = wide[both]
        if part.empty:
            continue
        derived.append(pd.DataFrame({
            "household_id": part.index.get_level_values(0),
            "slot": part.index.get_level_values(1),
            "role": target,
            "kwh": part[("kwh", left)].to_numpy() + factor * part[("kwh", right)].to_numpy(),
            "coverage": np.minimum(part[("coverage", left)].to_numpy(),
                                   part[("coverage", right)].to_numpy()),
        }))
    if not derived:
        return series
    return pd.concat([series, *derived], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Local days (slots are UTC; a local day has 92, 96 or 100 of them)


def slot_to_utc(slot: npt.ArrayLike) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(slot, dtype=np.int64) * SLOT_SECONDS, unit="s", utc=True)


def utc_to_slot(moment: datetime | pd.Timestamp) -> int:
    return int(pd.Timestamp(moment).timestamp()) // SLOT_SECONDS


def local_dates(slot: npt.ArrayLike, timezone: str) -> npt.NDArray[np.object_]:
    """The local calendar date of each slot's start."""
    local = slot_to_utc(slot).tz_convert(timezone)
    return np.asarray(local.date, dtype=object)


def slots_in_local_day(day: date, timezone: str) -> int:
    """92 on the spring-forward day, 100 on the fall-back day, 96 otherwise."""
    start = pd.Timestamp(day).tz_localize(timezone)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(timezone)
    return int((end - start).total_seconds()) // SLOT_SECONDS


def fully_valid_local_days(energy: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Per household and local date: valid slots, expected slots, and whether all are valid.

    ``energy``: household_id, slot, kwh (NaN = invalid). A day with a missing row is not valid.
    """
    frame = energy.assign(day=local_dates(energy["slot"], timezone),
                          ok=energy["kwh"].notna())
    days = frame.groupby(["household_id", "day"]).agg(valid_slots=("ok", "sum")).reset_index()
    days["expected_slots"] = [slots_in_local_day(d, timezone) for d in days["day"]]
    days["fully_valid"] = days["valid_slots"] >= days["expected_slots"]
    return days
