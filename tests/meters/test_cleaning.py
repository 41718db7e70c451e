"""Cleaning readings into 15-minute energy: coverage, gaps, duplicates, counters, DST."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from meters.cleaning import (
    REASON_DUPLICATE,
    REASON_NEGATIVE,
    REASON_TOO_LARGE,
    clean_to_slots,
    counter_to_watts,
    fully_valid_local_days,
    household_energy_15min,
    slots_in_local_day,
)

T0 = 1_700_000_100 - 1_700_000_100 % 900  # a slot boundary


def readings(seconds: int, watts: float = 1000.0, step: int = 8) -> tuple[np.ndarray, ...]:
    ts = np.arange(T0 + step, T0 + seconds + 1, step, dtype=np.float64)
    return np.zeros(ts.size, dtype=np.int64), ts, np.full(ts.size, watts)


def test_constant_power_gives_exact_energy_per_slot() -> None:
    sensor, ts, watts = readings(3600, step=10)
    slots, stats = clean_to_slots(sensor, ts, watts)
    assert stats.rejected == 0
    assert list(slots.slot - T0 // 900) == [0, 1, 2, 3]
    np.testing.assert_allclose(slots.wh, 250.0)
    np.testing.assert_allclose(slots.covered_s, 900.0)


def test_readings_straddling_a_boundary_are_split() -> None:
    # 8 s readings: 900 is not a multiple of 8, the reading ending at 904 s is split 4 s / 4 s.
    sensor, ts, watts = readings(1800)
    slots, _ = clean_to_slots(sensor, ts, watts)
    np.testing.assert_allclose(slots.wh[:2], 250.0)
    np.testing.assert_allclose(slots.covered_s[:2], 900.0)


def test_gap_lowers_coverage_and_slot_becomes_invalid_not_zero() -> None:
    sensor, ts, watts = readings(1800)
    # 400 s of silence: longer than a reading may average over, so it stays uncovered
    # (the first reading after it covers one nominal 8 s period).
    keep = ~((ts > T0 + 100) & (ts <= T0 + 500))
    slots, _ = clean_to_slots(sensor[keep], ts[keep], watts[keep])
    first = slots.slot == T0 // 900
    assert slots.covered_s[first][0] == 900 - (504 - 96) + 8  # readings at 96 s and 504 s
    meter_slots = pd.DataFrame({"meter_id": 1, "slot": slots.slot, "wh": slots.wh,
                                "covered_s": slots.covered_s})
    meters = pd.DataFrame({"meter_id": [1], "household_id": [7], "role": ["consumption"],
                           "sign": [1]})
    energy = household_energy_15min(meter_slots, meters)
    row = energy[energy["slot"] == T0 // 900].iloc[0]
    assert row["coverage"] < 0.9
    assert np.isnan(row["kwh"])  # invalid: NaN, never 0
    second = energy[energy["slot"] == T0 // 900 + 1].iloc[0]
    assert second["kwh"] == 0.25


def test_nan_readings_are_gaps() -> None:
    sensor, ts, watts = readings(900)
    watts[10:40] = np.nan
    slots, stats = clean_to_slots(sensor, ts, watts)
    assert stats.not_a_number == 30
    assert slots.covered_s[0] == ts.size * 8 - 30 * 8


def test_duplicates_and_out_of_order_rows() -> None:
    sensor, ts, watts = readings(1800)
    rng = np.random.default_rng(1)
    order = rng.permutation(ts.size)
    sensor2 = np.concatenate([sensor[order], sensor[:20]])
    ts2 = np.concatenate([ts[order], ts[:20]])
    watts2 = np.concatenate([watts[order], watts[:20]])
    slots, stats = clean_to_slots(sensor2, ts2, watts2, explain=True)
    assert stats.duplicates == 20
    assert stats.out_of_order > 0
    assert stats.reasons is not None
    assert int((stats.reasons == REASON_DUPLICATE).sum()) == 20
    np.testing.assert_allclose(slots.wh[:2], 250.0)


def test_impossible_values_rejected() -> None:
    sensor, ts, watts = readings(900)
    watts[5] = 45_000.0
    watts[6] = -400.0
    watts[7] = -3.0  # clamp noise: kept as zero
    _slots, stats = clean_to_slots(sensor, ts, watts, sign=[1], non_negative=[True],
                                  explain=True)
    assert stats.too_large == 1 and stats.negative == 1
    assert stats.reasons is not None
    assert stats.reasons[5] == REASON_TOO_LARGE and stats.reasons[6] == REASON_NEGATIVE
    # A reversed clamp (sign -1) reads negative and is fine.
    _slots, stats = clean_to_slots(sensor, ts, -np.abs(watts), sign=[-1],
                                  non_negative=[True])
    assert stats.negative == 0


def test_counter_resets_and_wraps() -> None:
    ts = np.arange(0, 80, 8, dtype=np.float64)
    sensor = np.zeros(ts.size, dtype=np.int64)
    modulus = 1000.0
    wh = np.array([990.0, 992, 994, 996, 998, 0, 2, 4, 1.0, 3.0])  # wrap at 5, reset at 8
    watts = counter_to_watts(sensor, ts, wh, modulus_wh=modulus)
    assert np.isnan(watts[0])
    np.testing.assert_allclose(watts[1:5], 2 * 3600 / 8)
    np.testing.assert_allclose(watts[5], 2 * 3600 / 8)  # 998 -> 0 wraps: +2 Wh
    assert np.isnan(watts[8])  # 4 -> 1 is a reset: unknown
    np.testing.assert_allclose(watts[9], 2 * 3600 / 8)


def test_three_phases_are_summed_and_signs_applied() -> None:
    slot = np.array([100, 100, 100])
    meter_slots = pd.DataFrame({"meter_id": [1, 2, 3], "slot": slot, "wh": [100.0, 50, -25],
                                "covered_s": [900.0, 900, 900]})
    meters = pd.DataFrame({"meter_id": [1, 2, 3], "household_id": [1, 1, 1],
                           "role": ["consumption"] * 3, "sign": [1, 1, -1]})
    energy = household_energy_15min(meter_slots, meters)
    assert energy["kwh"].iloc[0] == 0.175
    # One phase missing: the sum would be wrong, so the slot is invalid.
    energy = household_energy_15min(meter_slots.iloc[:2], meters)
    assert np.isnan(energy["kwh"].iloc[0]) and energy["coverage"].iloc[0] == 0


def test_consumption_derived_from_net_and_production() -> None:
    meter_slots = pd.DataFrame({"meter_id": [1, 2], "slot": [5, 5], "wh": [-300.0, 500.0],
                                "covered_s": [900.0, 900.0]})
    meters = pd.DataFrame({"meter_id": [1, 2], "household_id": [1, 1],
                           "role": ["net", "production"], "sign": [1, 1]})
    energy = household_energy_15min(meter_slots, meters).set_index("role")
    assert abs(energy.loc["consumption", "kwh"] - 0.2) < 1e-12


def test_dst_days_have_92_and_100_slots() -> None:
    tz = "Europe/Brussels"
    assert slots_in_local_day(date(2024, 3, 31), tz) == 92
    assert slots_in_local_day(date(2024, 10, 27), tz) == 100
    assert slots_in_local_day(date(2024, 10, 28), tz) == 96
    # Three complete local days around the autumn change, every slot valid.
    start = pd.Timestamp("2024-10-26", tz=tz).tz_convert("UTC")
    end = pd.Timestamp("2024-10-29", tz=tz).tz_convert("UTC")
    slots = np.arange(int(start.timestamp()) // 900, int(end.timestamp()) // 900)
    energy = pd.DataFrame({"household_id": 1, "slot": slots, "kwh": 0.1})
    days = fully_valid_local_days(energy, tz).set_index("day")
    assert days.loc[date(2024, 10, 27), "valid_slots"] == 100
    assert days["fully_valid"].all()
    # One invalid slot on the long day spoils that day only.
    energy.loc[150, "kwh"] = np.nan
    days = fully_valid_local_days(energy, tz).set_index("day")
    assert list(days["fully_valid"]) == [True, False, True]


def test_dst_readings_cleaned_in_utc() -> None:
    # 8-second readings across the autumn change: 25 local hours, 100 slots, all full.
    tz = "Europe/Brussels"
    start = pd.Timestamp("2024-10-27", tz=tz).tz_convert("UTC")
    end = pd.Timestamp("2024-10-28", tz=tz).tz_convert("UTC")
    ts = np.arange(start.timestamp() + 8, end.timestamp() + 1, 8.0)
    slots, _ = clean_to_slots(np.zeros(ts.size, dtype=np.int64), ts, np.full(ts.size, 400.0))
    full = slots.covered_s >= 900 - 1e-9
    assert int(full.sum()) == 100
    np.testing.assert_allclose(slots.wh[full], 100.0)


def test_one_meter_per_household_takes_a_short_cut_to_the_same_figures() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    meter_slots = pd.DataFrame({
        "meter_id": rng.integers(1, 6, n), "slot": rng.permutation(n) + T0 // 900,
        "wh": rng.gamma(2.0, 40.0, n), "covered_s": rng.choice([900.0, 850.0, 300.0, 0.0], n)})
    meter_slots.loc[::97, "wh"] = 9000.0  # 36 kW: impossible
    meters = pd.DataFrame({"meter_id": [1, 2, 3, 4, 5], "household_id": [10, 11, 12, 13, 14],
                           "role": ["consumption"] * 5, "sign": [1, 1, -1, 1, 1]})
    short_cut = household_energy_15min(meter_slots, meters)
    # A production meter of another household (without slots) forces the general path.
    general = household_energy_15min(meter_slots, pd.concat([meters, pd.DataFrame({
        "meter_id": [99], "household_id": [99], "role": ["production"], "sign": [1]})]))
    pd.testing.assert_frame_equal(short_cut, general, check_dtype=False)
