"""Alert impact against a synthetic community with a known truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from meters.analysis.impact import (
    REASON_FEW_REFERENCE_DAYS,
    REASON_GAP_DURING_ALERT,
    AlertWindow,
    alert_impact,
    alert_impacts,
)

TZ = "Europe/Brussels"
HOUSEHOLDS = 60
REDUCTION = 0.25  # 25 % less during the alert
REBOUND = 0.15  # 15 % more in the 3 hours after
PRE_SHIFT = 0.10  # 10 % more between the first notice and the start


def baseline(weeks: int = 13, seed: int = 7, start: str = "2024-01-08",
             same_every_weekday: bool = False) -> pd.DataFrame:
    """Every household repeats its own weekly pattern, defined in LOCAL time (so DST moves it
    in UTC, as real life does). ``same_every_weekday``: Monday to Friday share one pattern,
    the truth the like_days baseline assumes."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp(start, tz=TZ).tz_convert("UTC")
    slots = np.arange(int(first.timestamp()) // 900, int(first.timestamp()) // 900
                      + weeks * 7 * 96 + 8)
    local = pd.to_datetime(slots * 900, unit="s", utc=True).tz_convert(TZ)
    weekday = local.day_of_week.to_numpy()
    if same_every_weekday:
        weekday = np.where(weekday < 5, 0, weekday)
    index = weekday * 96 + (local.hour * 4 + local.minute // 15).to_numpy()
    weekly = rng.uniform(0.02, 0.4, size=(HOUSEHOLDS, 7 * 96))
    kwh = weekly[:, index]
    return pd.DataFrame({"household_id": np.repeat(np.arange(1, HOUSEHOLDS + 1), slots.size),
                         "slot": np.tile(slots, HOUSEHOLDS), "kwh": kwh.ravel()})


def window_mask(frame: pd.DataFrame, start: datetime, end: datetime) -> pd.Series:
    return (frame["slot"] >= int(start.timestamp()) // 900) & (
        frame["slot"] < int(end.timestamp()) // 900)


def inject(frame: pd.DataFrame, alert: AlertWindow) -> tuple[pd.DataFrame, dict[str, float]]:
    """Apply the known effects; return the true community figures."""
    out = frame.copy()
    during = window_mask(out, alert.start, alert.end)
    after = window_mask(out, alert.end, alert.end + timedelta(hours=3))
    before = window_mask(out, alert.first_notice, alert.start)
    truth = {"reference": out.loc[during, "kwh"].sum(),
             "delta": -REDUCTION * out.loc[during, "kwh"].sum(),
             "after": REBOUND * out.loc[after, "kwh"].sum(),
             "before": PRE_SHIFT * out.loc[before, "kwh"].sum()}
    out.loc[during, "kwh"] *= 1 - REDUCTION
    out.loc[after, "kwh"] *= 1 + REBOUND
    out.loc[before, "kwh"] *= 1 + PRE_SHIFT
    return out, truth


# Wednesday 3 April 2024, 18:00-21:00 local (after the spring DST change: the 8 reference
# weeks straddle it), announced 24 hours ahead.
ALERT = AlertWindow(start=datetime(2024, 4, 3, 16, 0, tzinfo=UTC),
                    end=datetime(2024, 4, 3, 19, 0, tzinfo=UTC),
                    first_notice=datetime(2024, 4, 2, 16, 0, tzinfo=UTC), timezone=TZ,
                    alert_id=42)
SURPRISE = AlertWindow(start=ALERT.start, end=ALERT.end,
                       first_notice=ALERT.start - timedelta(minutes=30), timezone=TZ, alert_id=42)


@pytest.mark.parametrize("method", ["same_slots", "like_days"])
def test_known_reduction_and_rebound_are_recovered(method: str) -> None:
    # like_days is tested on a surprise alert (30-minute notice): with a 24-hour notice its
    # adjustment window falls on the previous day, which for a Monday reference is a Sunday.
    alert = ALERT if method == "same_slots" else SURPRISE
    energy, truth = inject(baseline(same_every_weekday=method == "like_days"), alert)
    result = alert_impact(energy, alert, method=method)  # type: ignore[arg-type]
    community = result.community
    assert community.shown and community.households_valid == HOUSEHOLDS
    assert community.delta_kwh == pytest.approx(truth["delta"], rel=0.01)
    assert community.percent == pytest.approx(-100 * REDUCTION, rel=0.01)
    after = sum(h.after_kwh or 0 for h in result.households)
    assert after == pytest.approx(truth["after"], rel=0.01)
    before = sum(h.before_kwh or 0 for h in result.households)
    assert before == pytest.approx(truth["before"], rel=0.01)
    for household in result.households:
        assert household.valid
        assert household.percent == pytest.approx(-100 * REDUCTION, rel=0.01)
    payload = result.to_dict()
    assert payload["alert_id"] == 42
    assert set(payload["community"]) >= {"households_valid", "shown", "alert_kwh",
                                         "reference_kwh", "delta_kwh", "percent"}
    assert set(payload["households"][0]) >= {"household", "valid", "alert_kwh",
                                             "reference_kwh", "delta_kwh", "percent",
                                             "after_kwh", "before_kwh", "method"}


def test_recovery_with_noise_is_within_one_percent() -> None:
    energy, truth = inject(baseline(), ALERT)
    rng = np.random.default_rng(3)
    energy["kwh"] *= 1 + rng.normal(0, 0.02, len(energy))
    community = alert_impact(energy, ALERT).community
    assert community.delta_kwh == pytest.approx(truth["delta"], rel=0.01)


def test_like_days_adjustment_removes_a_cold_day_bias() -> None:
    """On the alert day everyone uses 20 % more all day; only the adjusted baseline sees it."""
    alert = SURPRISE
    energy = baseline(same_every_weekday=True)
    day = window_mask(energy, datetime(2024, 4, 2, 22, 0, tzinfo=UTC),
                      datetime(2024, 4, 3, 22, 0, tzinfo=UTC))
    # An additive +0.05 kWh per slot all day (the adjustment is additive, so recovers it).
    energy.loc[day, "kwh"] += 0.05
    during = window_mask(energy, alert.start, alert.end)
    usual = energy.loc[during, "kwh"].sum()
    energy.loc[during, "kwh"] -= 0.04
    result = alert_impact(energy, alert, method="like_days")
    household = result.households[0]
    assert household.delta_kwh == pytest.approx(-0.04 * 12, rel=0.01)
    assert household.delta_unadjusted_kwh == pytest.approx(0.01 * 12, rel=0.01)
    assert household.adjustment_kwh == pytest.approx(0.05 * 12, rel=0.01)
    assert result.community.alert_kwh == pytest.approx(usual - 0.04 * 12 * HOUSEHOLDS)


def test_invalid_slot_makes_household_invalid_and_k_hides_community() -> None:
    energy, _ = inject(baseline(), ALERT)
    during = window_mask(energy, ALERT.start, ALERT.end)
    # One slot missing in the alert window for 57 of 60 households: 3 valid < k = 5.
    broken = during & (energy["household_id"] > 3)
    first_broken = energy[broken].groupby("household_id").head(1).index
    energy.loc[first_broken, "kwh"] = np.nan
    result = alert_impact(energy, ALERT)
    assert sum(h.valid for h in result.households) == 3
    assert not result.households[10].valid and result.households[10].delta_kwh is None
    assert result.community.households_valid == 3
    assert not result.community.shown and result.community.delta_kwh is None


def _spoil(energy: pd.DataFrame, household: int, start: datetime, slots: int) -> None:
    first = int(start.timestamp()) // 900
    hit = (energy["household_id"] == household) & (energy["slot"] >= first) & (
        energy["slot"] < first + slots)
    energy.loc[hit, "kwh"] = np.nan


def test_reference_days_need_full_validity_and_at_least_three() -> None:
    energy, _ = inject(baseline(), ALERT)
    # Spoil 45 minutes at 03:00 on 6 of the 8 reference Wednesdays of household 1: longer
    # than a Wi-Fi hiccup, so those days are not ordinary days any more.
    for weeks in range(1, 7):
        _spoil(energy, 1, ALERT.start - timedelta(weeks=weeks, hours=13), 3)
    household = alert_impact(energy, ALERT).households[0]
    assert household.reference_days == 2 and not household.valid
    assert household.reason == REASON_FEW_REFERENCE_DAYS


def test_a_short_gap_on_a_reference_day_is_filled_in_and_said() -> None:
    energy, truth = inject(baseline(), ALERT)
    # One missing slot on each of the 8 reference days of every household, and a
    # 30-minute gap inside the reference window itself on one of them.
    for weeks in range(1, 9):
        for household in range(1, HOUSEHOLDS + 1):
            _spoil(energy, household, ALERT.start - timedelta(weeks=weeks, hours=13), 1)
    _spoil(energy, 2, ALERT.start - timedelta(weeks=1) + timedelta(minutes=30), 2)
    result = alert_impact(energy, ALERT)
    first, second = result.households[0], result.households[1]
    assert first.valid and first.reference_days == 8 and first.reference_slots_filled == 8
    assert second.valid and second.reference_slots_filled == 10
    assert result.community.households_valid == HOUSEHOLDS
    assert result.community.delta_kwh == pytest.approx(truth["delta"], rel=0.01)


def test_a_gap_during_the_alert_is_never_filled_in() -> None:
    energy, _ = inject(baseline(), ALERT)
    _spoil(energy, 1, ALERT.start + timedelta(minutes=45), 1)
    household = alert_impact(energy, ALERT).households[0]
    assert not household.valid and household.reason == REASON_GAP_DURING_ALERT
    assert household.percent is None


def test_other_alert_days_are_not_reference_days() -> None:
    energy, truth = inject(baseline(), ALERT)
    earlier = AlertWindow(start=ALERT.start - timedelta(weeks=1),
                          end=ALERT.end - timedelta(weeks=1),
                          first_notice=ALERT.first_notice - timedelta(weeks=1), timezone=TZ)
    energy, _ = inject(energy, earlier)
    impacts = alert_impacts(energy, [earlier, ALERT])
    latest = impacts[1]
    assert latest.households[0].reference_days == 7
    assert latest.community.delta_kwh == pytest.approx(truth["delta"], rel=0.01)
