"""Cleaning meter readings into 15-minute energy.

A reading is ``(sensor, t, watts)`` where ``watts`` is the average power over the interval
that ENDS at ``t`` and starts at the sensor's previous reading (the Flukso convention, also
the cloud API's). Each valid reading therefore covers ``(t - dt, t]``; integrating power over
the covered seconds gives energy, and a 15-minute UTC slot's coverage is the fraction of its
900 seconds covered by valid readings.

The integration is one compiled pass over the rows (``meters/slot_kernel.py``, numba): each
reading is tested and added to its slot's sums, and only the ~1 reading in 112 that crosses a
slot boundary, or that is rejected, takes the slow path. Nothing of the size of the input is
allocated, which is what makes a few hundred million 8-second readings per second possible
(benchmarks/RESULTS.md). The numpy formulation it replaced (running sums read at the slot
boundaries) is kept as the test oracle in ``tests/meters/reference_cleaning.py``.

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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.metering import MIN_VALID_COVERAGE, SLOT_SECONDS, MeterRole
from meters import slot_kernel

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
# No meter of ours read before this; a later date than tomorrow is a clock or parsing error
# (9999-12-31, 0001-01-01 and Unix 99999999999 were seen in files).
EARLIEST_READING = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)
REASON_DATE_OUT_OF_RANGE = "date out of range (before 2000-01-01 or after tomorrow)"


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

    def take(self, rows: npt.NDArray[np.bool_] | IntArray) -> SensorSlots:
        return SensorSlots(self.sensor[rows], self.slot[rows], self.wh[rows],
                           self.covered_s[rows], self.first_s[rows], self.last_s[rows])

    @staticmethod
    def empty() -> SensorSlots:
        return SensorSlots(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                           np.zeros(0), np.zeros(0), np.zeros(0))

    @staticmethod
    def concat(parts: Sequence[SensorSlots]) -> SensorSlots:
        if not parts:
            return SensorSlots.empty()
        return SensorSlots(*(np.concatenate([getattr(p, name) for p in parts])
                             for name in ("sensor", "slot", "wh", "covered_s", "first_s",
                                          "last_s")))


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


def dates_out_of_range(ts: FloatArray, now: datetime) -> BoolArray:
    """Readings dated before ``EARLIEST_READING`` or after ``now`` + ``FUTURE_TOLERANCE``
    (UTC seconds; NaN counts as out of range)."""
    latest = (now + FUTURE_TOLERANCE).timestamp()
    with np.errstate(invalid="ignore"):
        return ~((ts >= EARLIEST_READING.timestamp()) & (ts <= latest))


def _out_of_order(sensor: IntArray, ts: FloatArray) -> int:
    """How many rows break (sensor, time) order (only counted when the kernel found one)."""
    starts = np.empty(sensor.size, dtype=bool)
    starts[0] = True
    np.not_equal(sensor[1:], sensor[:-1], out=starts[1:])
    backwards = int(np.count_nonzero((np.diff(ts) < 0) & ~starts[1:]))
    codes = sensor[starts]
    return backwards + int(np.count_nonzero(codes[1:] <= codes[:-1]))


def nominal_interval(sensor: IntArray, ts: FloatArray) -> float:
    """The sensor period (8 s for a Flukso, 60 s for minute data), from a sample."""
    head_sensor, head_ts = sensor[:2001], ts[:2001]
    steps = np.diff(head_ts)[head_sensor[1:] == head_sensor[:-1]]
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 8.0


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
    sensor_a = np.ascontiguousarray(sensor, dtype=np.int64)
    ts_a = np.ascontiguousarray(ts, dtype=np.float64)
    w = np.ascontiguousarray(watts, dtype=np.float64)
    n = int(ts_a.size)
    if n == 0:
        empty = SensorSlots(*(np.empty(0, np.int64),) * 2, *(np.empty(0),) * 4)
        return empty, CleaningStats(0, 0, 0, 0, 0, 0)
    # A sensor beyond the tables (or with no tables) reads as sign +1, negatives allowed.
    forbid_table = (np.zeros(0, dtype=bool) if non_negative is None
                    else np.ascontiguousarray(non_negative, dtype=bool))
    sign_table = (np.ones(0) if sign is None or non_negative is None
                  else np.ascontiguousarray(sign, dtype=np.float64))
    order: IntArray | None = None
    out_of_order = 0
    while True:
        tables = slot_kernel.Tables(
            sign=sign_table, forbid=forbid_table, max_abs=max_abs_watts,
            noise_watts=NEGATIVE_NOISE_WATTS, max_interval=max_interval_s,
            nominal=min(nominal_interval_s or nominal_interval(sensor_a, ts_a),
                        max_interval_s))
        # The kernel only writes the reasons of rejected rows: the rest stay 0.
        reasons = np.zeros(n if explain else 1, dtype=np.int8)
        result = slot_kernel.integrate_rows(sensor_a, ts_a, w, tables, explain, reasons)
        counts = result.counts
        if not counts[slot_kernel.COUNT_UNSORTED]:
            break
        # Stable lexsort: among equal (sensor, t) the first row received stays first.
        out_of_order = _out_of_order(sensor_a, ts_a)
        order = np.lexsort((ts_a, sensor_a))
        sensor_a, ts_a, w = sensor_a[order], ts_a[order], w[order]
    # Copies: the kernel's columns are views into arrays sized for the worst case.
    code, slot, wh, covered_s, first_s, last_s = result.columns
    sensor_slots = SensorSlots(code.copy(), slot.copy(), wh.copy(), covered_s.copy(),
                               first_s.copy(), last_s.copy())
    by_row: npt.NDArray[np.int8] | None = None
    if explain:
        by_row = reasons
        if order is not None:
            by_row = np.empty(n, dtype=np.int8)
            by_row[order] = reasons
    stats = CleaningStats(readings=n,
                          duplicates=int(counts[slot_kernel.COUNT_DUPLICATES]),
                          out_of_order=out_of_order,
                          not_a_number=int(counts[slot_kernel.COUNT_NOT_A_NUMBER]),
                          too_large=int(counts[slot_kernel.COUNT_TOO_LARGE]),
                          negative=int(counts[slot_kernel.COUNT_NEGATIVE]),
                          reasons=by_row)
    return sensor_slots, stats


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
    if not meters.duplicated(["household_id", "role"]).any() \
            and meters["role"].nunique() == 1:
        return _one_meter_per_household(meter_slots, meters, min_coverage, max_home_watts)
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


def _one_meter_per_household(meter_slots: pd.DataFrame, meters: pd.DataFrame,
                              min_coverage: float, max_home_watts: float) -> pd.DataFrame:
    """``household_energy_15min`` when each household has one meter, all of one role (the
    usual case): no sums over meters, so no grouping, and nothing to derive."""
    position = pd.Index(meters["meter_id"]).get_indexer(meter_slots["meter_id"])
    known = position >= 0
    position = position[known]
    covered = meter_slots["covered_s"].to_numpy(dtype=np.float64)[known]
    signed_wh = (meter_slots["wh"].to_numpy(dtype=np.float64)[known]
                 * meters["sign"].to_numpy(dtype=np.float64)[position])
    with np.errstate(divide="ignore", invalid="ignore"):
        kwh = np.where(covered > 0, signed_wh * SLOT_SECONDS / np.maximum(covered, 1e-9),
                       0.0) / 1000.0
    coverage = np.minimum(covered / SLOT_SECONDS, 1.0)
    impossible = np.abs(kwh) * (3600.0 / SLOT_SECONDS) * 1000.0 > max_home_watts
    kwh[(coverage < min_coverage) | impossible] = np.nan
    result = pd.DataFrame({
        "household_id": meters["household_id"].to_numpy()[position],
        "role": meters["role"].to_numpy()[position],
        "slot": meter_slots["slot"].to_numpy(dtype=np.int64)[known],
        "kwh": kwh, "coverage": coverage})
    return result.sort_values(["household_id", "role", "slot"], ignore_index=True)


def _derive_missing_role(series: pd.DataFrame) -> pd.DataFrame:
    roles = set(series["role"].unique())
    if len(roles) < 2:
        return series  # nothing to derive from (and the pivot below is not cheap)
    wide = series.pivot_table(index=["household_id", "slot"], columns="role",
                              values=["kwh", "coverage"], aggfunc="first")
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


def end_of_last_valid_slot(slot_start: pd.Series | pd.DatetimeIndex, kwh: npt.ArrayLike,
                           now: datetime) -> datetime:
    """The end of the last valid slot that started before ``now`` (the start of ``now``'s
    slot when there is none): what "my last 7 days" run up to, this evening included and a
    silent meter's gap at the end left out."""
    starts = pd.DatetimeIndex(slot_start)
    valid = np.isfinite(np.asarray(kwh, dtype=np.float64)) & np.asarray(starts < now)
    if not valid.any():
        return slot_to_utc([utc_to_slot(now)])[0].to_pydatetime()
    last: datetime = (starts[valid].max() + pd.Timedelta(seconds=SLOT_SECONDS)).to_pydatetime()
    return last


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
