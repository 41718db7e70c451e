"""The compiled single pass gives what the numpy cleaning it replaced gave, on dirty data."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meters.cleaning import CleaningStats, SensorSlots, clean_to_slots
from tests.meters.reference_cleaning import reference_clean_to_slots

T0 = 1_700_000_000.0


def dirty_readings(seed: int, sensors: int, per_sensor: int, step: float
                   ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64],
                              npt.NDArray[np.float64]]:
    """Every kind of dirt at once: NaN, > 30 kW, negatives and noise, duplicates, silences,
    irregular steps, readings on slot boundaries, rows out of order."""
    rng = np.random.default_rng(seed)
    steps = np.where(rng.random((sensors, per_sensor)) < 0.01,
                     rng.uniform(301, 4000, (sensors, per_sensor)),  # silences
                     step * rng.choice([1.0, 1.0, 1.0, 0.5, 2.0], (sensors, per_sensor)))
    steps[rng.random((sensors, per_sensor)) < 0.01] = 0.0  # duplicates
    ts = T0 + rng.uniform(0, 900, (sensors, 1)) + np.cumsum(steps, axis=1)
    on_boundary = rng.random(ts.shape) < 0.005
    ts[on_boundary] = np.round(ts[on_boundary] / 900) * 900
    ts = np.sort(ts, axis=1)
    watts = rng.gamma(2.0, 150.0, ts.shape)
    kind = rng.random(ts.shape)
    watts[kind < 0.01] = np.nan
    watts[(kind >= 0.01) & (kind < 0.015)] = 50_000.0
    watts[(kind >= 0.015) & (kind < 0.02)] = -rng.uniform(0, 40, ts.shape)[
        (kind >= 0.015) & (kind < 0.02)]  # some noise, some clearly negative
    sensor = np.repeat(np.arange(sensors, dtype=np.int64), per_sensor)
    flat_ts, flat_w = ts.ravel(), watts.ravel()
    if seed % 2:
        order = rng.permutation(sensor.size)
        return sensor[order], flat_ts[order], flat_w[order]
    return sensor, flat_ts, flat_w


def assert_same(got: tuple[SensorSlots, CleaningStats],
                want: tuple[SensorSlots, CleaningStats]) -> None:
    slots, stats = got
    ref_slots, ref_stats = want
    np.testing.assert_array_equal(slots.sensor, ref_slots.sensor)
    np.testing.assert_array_equal(slots.slot, ref_slots.slot)
    # The reference's running sums span every sensor: its rounding grows with the input.
    np.testing.assert_allclose(slots.wh, ref_slots.wh, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(slots.covered_s, ref_slots.covered_s, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(slots.first_s, ref_slots.first_s, atol=1e-6)
    np.testing.assert_allclose(slots.last_s, ref_slots.last_s, atol=1e-6)
    assert (stats.readings, stats.duplicates, stats.out_of_order, stats.not_a_number,
            stats.too_large, stats.negative) == (
        ref_stats.readings, ref_stats.duplicates, ref_stats.out_of_order,
        ref_stats.not_a_number, ref_stats.too_large, ref_stats.negative)
    if ref_stats.reasons is not None:
        assert stats.reasons is not None
        np.testing.assert_array_equal(stats.reasons, ref_stats.reasons)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("step", [8.0, 60.0, 400.0])
def test_same_slots_stats_and_reasons_as_the_numpy_reference(seed: int, step: float) -> None:
    sensor, ts, watts = dirty_readings(seed, sensors=4, per_sensor=3000, step=step)
    sign = np.array([1.0, -1.0, 1.0, -1.0])
    rules = [None, np.array([True, True, False, True])][seed % 2]
    for explain in (False, True):
        assert_same(
            clean_to_slots(sensor, ts, watts, sign=sign, non_negative=rules, explain=explain),
            reference_clean_to_slots(sensor, ts, watts, sign=sign, non_negative=rules,
                                     explain=explain))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0, 4000),
                          st.one_of(st.floats(-50, 40_000), st.just(float("nan")))),
                min_size=1, max_size=60),
       st.sampled_from([None, 8.0, 60.0]))
def test_any_small_input_matches_the_reference(rows: list[tuple[int, float, float]],
                                               nominal: float | None) -> None:
    sensor = np.array([r[0] for r in rows], dtype=np.int64)
    ts = T0 + np.array([r[1] for r in rows])
    watts = np.array([r[2] for r in rows])
    sign, rules = np.array([1.0, -1.0, 1.0]), np.array([True, True, False])
    assert_same(
        clean_to_slots(sensor, ts, watts, sign=sign, non_negative=rules,
                       nominal_interval_s=nominal, explain=True),
        reference_clean_to_slots(sensor, ts, watts, sign=sign, non_negative=rules,
                                 nominal_interval_s=nominal, explain=True))


def test_sparse_data_gets_more_room_for_its_slots() -> None:
    # One reading an hour: every reading is its own slot, far more than the first guess.
    ts = T0 + 3600.0 * np.arange(1, 5001)
    slots, _ = clean_to_slots(np.zeros(ts.size, dtype=np.int64), ts, np.full(ts.size, 500.0),
                              nominal_interval_s=300.0)
    assert len(slots) == ts.size
    np.testing.assert_allclose(slots.wh, 500.0 * 300 / 3600)


@pytest.mark.parametrize("seed", range(4))
def test_parts_run_side_by_side_give_the_same_as_one_pass(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Large inputs are cut into parts of whole sensor blocks, one per core: same answer,
    # reasons included, and rows out of order across the cut are still found.
    from meters import slot_kernel

    sensor, ts, watts = dirty_readings(seed, sensors=7, per_sensor=2000, step=8.0)
    sign = np.array([1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0])
    rules = np.array([True, True, False, True, True, False, True])
    want = reference_clean_to_slots(sensor, ts, watts, sign=sign, non_negative=rules,
                                    explain=True)
    monkeypatch.setattr(slot_kernel, "MIN_ROWS_PER_PART", 1000)
    monkeypatch.setattr(slot_kernel, "cores", lambda: 3)
    assert_same(clean_to_slots(sensor, ts, watts, sign=sign, non_negative=rules,
                               explain=True), want)


def test_part_cuts_fall_where_the_sensor_changes() -> None:
    from meters.slot_kernel import _part_bounds

    sensor = np.repeat(np.array([0, 1, 2, 3], dtype=np.int64), [10, 5000, 3, 7])
    cuts = _part_bounds(sensor, 3)
    assert cuts[0] == 0 and cuts[-1] == sensor.size
    assert all(sensor[cut - 1] != sensor[cut] for cut in cuts[1:-1])
    assert _part_bounds(np.zeros(100, dtype=np.int64), 4) == [0, 100]


def test_sensors_out_of_order_across_the_parts_are_sorted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each part in order on its own, the parts not: sensor 1's rows come before sensor 0's.
    from meters import slot_kernel

    sensor = np.repeat(np.array([1, 0], dtype=np.int64), 3000)
    ts = np.tile(T0 + 8.0 * np.arange(1, 3001), 2)
    watts = np.full(sensor.size, 400.0)
    monkeypatch.setattr(slot_kernel, "MIN_ROWS_PER_PART", 1000)
    monkeypatch.setattr(slot_kernel, "cores", lambda: 2)
    slots, stats = clean_to_slots(sensor, ts, watts)
    assert stats.out_of_order == 1
    assert_same((slots, stats), reference_clean_to_slots(sensor, ts, watts))
