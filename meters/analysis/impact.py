"""The measured impact of a demand-response alert, per household and for the community.

Two baselines ("what would have been used without the alert"):

- ``same_slots`` (the pilots' formula): the mean energy over the same local clock times on
  the same weekday in the 8 weeks before the alert, on non-alert days whose whole local day is
  valid; at least 3 such days.
- ``like_days`` (the usual demand-response baseline): the mean over the same clock times of
  the 10 most recent valid non-alert weekdays (or the 4 most recent weekend days for a weekend
  alert), with an additive adjustment: the household's difference to that baseline over the
  3 hours ending 1 hour before the first notice (so the announcement cannot contaminate it),
  spread evenly per slot. Reported with and without the adjustment.

``delta = alert - reference`` (negative = a reduction); ``percent = 100 * delta / reference``.
Rebound: the same delta over the 3 hours after the end (``after_kwh``) and over the time from
the first notice to the start (``before_kwh``); positive means consumption was moved there.

Every window is moved to a reference day by whole local days, so with a 24-hour notice the
like_days adjustment window lies on the day before, compared with the day before each
reference day (for a Monday reference, a Sunday): prefer same_slots for planned alerts.
Days touched by any alert, from its first notice to the end of its rebound window, are never
reference days.

Reference windows are mapped by local wall-clock time, so a week that crosses a change of
daylight-saving time compares 18:00-21:00 with 18:00-21:00, not with 17:00-20:00.
A household is valid when every slot of its alert window is valid and it has enough valid
reference days. A Wi-Fi hiccup of up to ``MAX_FILLED_SLOTS`` slots (30 minutes) on a
reference day is filled in by a straight line between its neighbours rather than throwing
the whole day away (``reference_slots_filled`` says how many); the alert day itself is
never filled in. An invalid household says why (``reason``). The community figure sums
valid households and is shown only when there are at least ``k`` of them; otherwise its
figures are withheld (privacy and honesty alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.metering import SLOT_SECONDS
from meters.cleaning import slots_in_local_day

Method = Literal["same_slots", "like_days"]
FloatMatrix = npt.NDArray[np.float64]

SAME_SLOTS_WEEKS = 8
LIKE_WEEKDAYS = 10
LIKE_WEEKEND_DAYS = 4
MIN_REFERENCE_DAYS = 3
REBOUND_AFTER = timedelta(hours=3)
ADJUSTMENT_LENGTH = timedelta(hours=3)
ADJUSTMENT_GAP = timedelta(hours=1)
PRIVACY_K = 5
# Gaps up to this many slots (30 minutes) are filled in on reference days.
MAX_FILLED_SLOTS = 2

# Why a household has no figures (``HouseholdImpact.reason``).
REASON_NO_DATA = "no_data"  # not a single slot around the alert: the meter is silent
REASON_GAP_DURING_ALERT = "gap_during_alert"  # the meter missed part of the alert
REASON_FEW_REFERENCE_DAYS = "few_reference_days"  # too few ordinary days to compare with
REASON_GAP_BEFORE_NOTICE = "gap_before_notice"  # like_days: no data to adjust the baseline


@dataclass(frozen=True)
class AlertWindow:
    """When an alert ran (UTC datetimes) and in which timezone its community lives."""

    start: datetime
    end: datetime
    first_notice: datetime
    timezone: str = "Europe/Brussels"
    alert_id: int | None = None

    def local_dates(self) -> set[date]:
        """Local days touched by the alert, from its first notice to the end of the rebound
        window: none of them is an ordinary day (a 24-hour notice changes the day before)."""
        first = pd.Timestamp(self.first_notice).tz_convert(self.timezone).date()
        last = pd.Timestamp(self.end + REBOUND_AFTER - timedelta(seconds=1)).tz_convert(
            self.timezone).date()
        return {first + timedelta(days=d) for d in range((last - first).days + 1)}


@dataclass
class HouseholdImpact:
    household: int
    valid: bool
    alert_kwh: float | None
    reference_kwh: float | None
    delta_kwh: float | None
    percent: float | None
    after_kwh: float | None
    before_kwh: float | None
    method: str
    reference_days: int = 0
    # Slots filled in (short gaps) on the reference days used.
    reference_slots_filled: int = 0
    # Why the household is not valid (REASON_*), None when it is.
    reason: str | None = None
    # like_days only: the additive adjustment already included in reference_kwh.
    adjustment_kwh: float | None = None
    reference_unadjusted_kwh: float | None = None
    delta_unadjusted_kwh: float | None = None
    percent_unadjusted: float | None = None


@dataclass
class CommunityImpact:
    households_valid: int
    shown: bool
    alert_kwh: float | None = None
    reference_kwh: float | None = None
    delta_kwh: float | None = None
    percent: float | None = None


@dataclass
class AlertImpact:
    alert_id: int | None
    households: list[HouseholdImpact] = field(default_factory=list)
    community: CommunityImpact = field(default_factory=lambda: CommunityImpact(0, False))

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``GET /api/v1/alerts/{id}/impact``."""
        return asdict(self)


@dataclass(frozen=True)
class EnergyGrid:
    """Household x slot energy on a regular UTC grid (NaN = invalid or missing)."""

    households: npt.NDArray[np.int64]
    first_slot: int
    kwh: FloatMatrix
    timezone: str
    first_day: date
    # households x local days: every slot of that local day valid (short gaps filled in).
    day_valid: npt.NDArray[np.bool_]
    # ``kwh`` with gaps of up to MAX_FILLED_SLOTS filled in: what reference days read.
    reference_kwh: FloatMatrix | None = None
    # households x local days: slots filled in on that day.
    filled_per_day: npt.NDArray[np.int64] | None = None

    def _per_day(self, matrix: npt.NDArray[np.generic], days: Sequence[date], empty: object
                 ) -> npt.NDArray[np.generic]:
        offsets = np.array([(d - self.first_day).days for d in days], dtype=np.int64)
        inside = (offsets >= 0) & (offsets < matrix.shape[1])
        out = np.full((self.households.size, offsets.size), empty, dtype=matrix.dtype)
        out[:, inside] = matrix[:, offsets[inside]]
        return out

    def day_is_valid(self, days: Sequence[date]) -> npt.NDArray[np.bool_]:
        """households x len(days); days outside the grid are invalid."""
        return self._per_day(self.day_valid, days, False).astype(bool)

    def filled_on(self, days: Sequence[date]) -> npt.NDArray[np.int64]:
        """households x len(days): slots filled in on each day."""
        if self.filled_per_day is None:
            return np.zeros((self.households.size, len(days)), dtype=np.int64)
        return self._per_day(self.filled_per_day, days, 0).astype(np.int64)


def fill_short_gaps(kwh: FloatMatrix, max_slots: int = MAX_FILLED_SLOTS) -> FloatMatrix:
    """Each row with its runs of at most ``max_slots`` NaN between two valid slots replaced
    by the straight line between those two; longer gaps and gaps at the edges stay NaN."""
    out = kwh.copy()
    index = np.arange(kwh.shape[1])
    for row in out:
        missing = np.isnan(row)
        if not missing.any() or missing.all():
            continue
        edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        short = (ends - starts <= max_slots) & (starts > 0) & (ends < row.size)
        if not short.any():
            continue
        run_of = np.cumsum(edges[:-1] == 1) - 1  # the run each NaN slot belongs to
        fill = missing & short[np.maximum(run_of, 0)]
        row[fill] = np.interp(index[fill], index[~missing], row[~missing])
    return out


def energy_grid(energy: pd.DataFrame, timezone: str) -> EnergyGrid:
    """Build the grid from a long frame: household_id, slot (UTC s // 900), kwh."""
    households = np.unique(energy["household_id"].to_numpy(dtype=np.int64))
    slots = energy["slot"].to_numpy(dtype=np.int64)
    first, last = int(slots.min()), int(slots.max())
    kwh = np.full((households.size, last - first + 1), np.nan)
    rows = np.searchsorted(households, energy["household_id"].to_numpy(dtype=np.int64))
    kwh[rows, slots - first] = energy["kwh"].to_numpy(dtype=np.float64)
    reference_kwh = fill_short_gaps(kwh)
    stamps = pd.to_datetime(np.arange(first, last + 1) * SLOT_SECONDS, unit="s", utc=True)
    local_day = stamps.tz_convert(timezone).normalize().tz_localize(None)
    first_day = local_day[0].date()
    day_index = ((local_day - local_day[0]) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    n_days = int(day_index[-1]) + 1
    valid_count = np.zeros((households.size, n_days))
    np.add.at(valid_count.T, day_index, np.isfinite(reference_kwh).T.astype(np.float64))
    filled = np.zeros((households.size, n_days), dtype=np.int64)
    np.add.at(filled.T, day_index,
              (np.isnan(kwh) & np.isfinite(reference_kwh)).T.astype(np.int64))
    expected = np.array([slots_in_local_day(first_day + timedelta(days=d), timezone)
                         for d in range(n_days)])
    return EnergyGrid(households=households, first_slot=first, kwh=kwh, timezone=timezone,
                      first_day=first_day, day_valid=valid_count >= expected,
                      reference_kwh=reference_kwh, filled_per_day=filled)


def _wall_times(start: datetime, end: datetime, timezone: str) -> pd.DatetimeIndex:
    """Local wall-clock start of each 15-minute slot in [start, end)."""
    first = int(pd.Timestamp(start).timestamp()) // SLOT_SECONDS
    last = -(-int(pd.Timestamp(end).timestamp()) // SLOT_SECONDS)
    utc = pd.to_datetime(np.arange(first, last) * SLOT_SECONDS, unit="s", utc=True)
    return utc.tz_convert(timezone).tz_localize(None)


def _shifted_slots(walls: pd.DatetimeIndex, days_back: npt.NDArray[np.int64], timezone: str
                   ) -> npt.NDArray[np.int64]:
    """Slot index of each wall time moved back by whole local days: days x slots (-1 = none)."""
    if walls.size == 0:
        return np.zeros((days_back.size, 0), dtype=np.int64)
    moved = (np.repeat(walls.to_numpy()[None, :], days_back.size, axis=0)
             - days_back[:, None].astype("timedelta64[D]"))
    local = pd.DatetimeIndex(moved.ravel()).tz_localize(
        timezone, ambiguous=np.zeros(moved.size, dtype=bool), nonexistent="NaT")
    seconds = local.as_unit("s").asi8
    out = np.where(local.isna(), -1, seconds // SLOT_SECONDS)
    return out.reshape(moved.shape).astype(np.int64)


def _window_sums(grid: EnergyGrid, slots: npt.NDArray[np.int64], reference: bool = False
                 ) -> FloatMatrix:
    """households x days: energy summed over each row of ``slots`` (NaN if any slot invalid);
    ``reference``: read the grid with its short gaps filled in."""
    if slots.shape[1] == 0:
        return np.zeros((grid.households.size, slots.shape[0]))
    kwh = grid.reference_kwh if reference and grid.reference_kwh is not None else grid.kwh
    column = slots - grid.first_slot
    inside = (slots >= 0) & (column >= 0) & (column < kwh.shape[1])
    values = kwh[:, np.where(inside, column, 0)]  # households x days x slots
    values = np.where(inside[None, :, :], values, np.nan)
    return values.sum(axis=2)


@dataclass(frozen=True)
class _Windows:
    alert: pd.DatetimeIndex
    before: pd.DatetimeIndex
    after: pd.DatetimeIndex
    adjust: pd.DatetimeIndex


def _windows(alert: AlertWindow) -> _Windows:
    tz = alert.timezone
    adjust_end = alert.first_notice - ADJUSTMENT_GAP
    return _Windows(
        alert=_wall_times(alert.start, alert.end, tz),
        before=_wall_times(alert.first_notice, alert.start, tz),
        after=_wall_times(alert.end, alert.end + REBOUND_AFTER, tz),
        adjust=_wall_times(adjust_end - ADJUSTMENT_LENGTH, adjust_end, tz),
    )


def reference_days_for(alert: AlertWindow, method: Method, excluded: set[date]) -> list[date]:
    """Candidate reference days, most recent first (validity is checked per household)."""
    alert_day = pd.Timestamp(alert.start).tz_convert(alert.timezone).date()
    if method == "same_slots":
        candidates = [alert_day - timedelta(weeks=w) for w in range(1, SAME_SLOTS_WEEKS + 1)]
    else:
        weekend = alert_day.weekday() >= 5
        candidates = [alert_day - timedelta(days=d)
                      for d in range(1, 7 * SAME_SLOTS_WEEKS + 1)
                      if ((alert_day - timedelta(days=d)).weekday() >= 5) == weekend]
    return [d for d in candidates if d not in excluded]


def _ratio(delta: FloatMatrix, reference: FloatMatrix) -> FloatMatrix:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reference != 0, 100.0 * delta / reference, np.nan)


def _optional(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def alert_impact(energy: pd.DataFrame | EnergyGrid, alert: AlertWindow, *,
                 method: Method = "same_slots", other_alerts: Sequence[AlertWindow] = (),
                 k: int = PRIVACY_K, min_reference_days: int = MIN_REFERENCE_DAYS
                 ) -> AlertImpact:
    """Impact of one alert. ``energy``: household_id, slot, kwh (consumption) or a grid."""
    grid = energy if isinstance(energy, EnergyGrid) else energy_grid(energy, alert.timezone)
    excluded = alert.local_dates().union(*(other.local_dates() for other in other_alerts))
    candidates = reference_days_for(alert, method, excluded)
    alert_day = pd.Timestamp(alert.start).tz_convert(alert.timezone).date()
    windows = _windows(alert)
    days_back = np.array([(alert_day - d).days for d in candidates], dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)

    def on_alert_day(walls: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
        # As measured: nothing is filled in on the alert day.
        return _window_sums(grid, _shifted_slots(walls, zero, alert.timezone))[:, 0]

    def on_candidates(walls: pd.DatetimeIndex) -> FloatMatrix:
        return _window_sums(grid, _shifted_slots(walls, days_back, alert.timezone),
                            reference=True)

    actual = {name: on_alert_day(getattr(windows, name)) for name in ("alert", "before", "after",
                                                                       "adjust")}
    history = {name: on_candidates(getattr(windows, name)) for name in ("alert", "before",
                                                                         "after", "adjust")}
    # A reference day must be a fully valid local day, and so must every other local day its
    # windows touch (a 24-hour notice reaches into the previous day).
    # (An empty window, e.g. no notice before a recorded alert, touches no day.)
    edges = [getattr(windows, name) for name in ("alert", "before", "after")]
    touched = {wall.date() for walls in edges if len(walls) for wall in walls[[0, -1]]}
    day_ok = np.ones((grid.households.size, len(candidates)), dtype=bool)
    for local_day in touched:
        offset = (alert_day - local_day).days
        day_ok &= grid.day_is_valid([c - timedelta(days=offset) for c in candidates])
    usable = day_ok & np.isfinite(history["alert"])
    if method == "like_days":
        wanted = LIKE_WEEKEND_DAYS if alert_day.weekday() >= 5 else LIKE_WEEKDAYS
        usable &= np.cumsum(usable, axis=1) <= wanted
    count = usable.sum(axis=1)

    def mean_over_usable(values: FloatMatrix) -> npt.NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(usable, values, 0.0).sum(axis=1) / count

    reference = {name: mean_over_usable(history[name]) for name in history}
    filled = np.where(usable, grid.filled_on(candidates), 0).sum(axis=1)
    enough = count >= min_reference_days
    measured = np.isfinite(actual["alert"])
    valid = enough & measured
    adjustment_per_slot = np.zeros(grid.households.size)
    adjustable = np.ones(grid.households.size, dtype=bool)
    if method == "like_days":
        n_adjust = max(len(windows.adjust), 1)
        adjustment_per_slot = (actual["adjust"] - reference["adjust"]) / n_adjust
        adjustable = np.isfinite(adjustment_per_slot)
        valid &= adjustable
    reasons = np.select([valid, ~measured, ~enough, ~adjustable],
                        ["", REASON_GAP_DURING_ALERT, REASON_FEW_REFERENCE_DAYS,
                         REASON_GAP_BEFORE_NOTICE], "")

    def adjusted(name: str) -> npt.NDArray[np.float64]:
        return reference[name] + adjustment_per_slot * len(getattr(windows, name))

    ref_alert = adjusted("alert")
    delta = actual["alert"] - ref_alert
    after = actual["after"] - adjusted("after")
    before = actual["before"] - adjusted("before")
    percent = _ratio(delta, ref_alert)
    delta_raw = actual["alert"] - reference["alert"]
    percent_raw = _ratio(delta_raw, reference["alert"])

    result = AlertImpact(alert_id=alert.alert_id)
    for i, household in enumerate(grid.households):
        ok = bool(valid[i])

        def shown(value: float, ok: bool = ok) -> float | None:
            return _optional(value) if ok else None

        like = method == "like_days"
        result.households.append(HouseholdImpact(
            household=int(household), valid=ok,
            alert_kwh=_optional(actual["alert"][i]),
            reference_kwh=shown(ref_alert[i]), delta_kwh=shown(delta[i]),
            percent=shown(percent[i]), after_kwh=shown(after[i]), before_kwh=shown(before[i]),
            method=method, reference_days=int(count[i]),
            reference_slots_filled=int(filled[i]), reason=str(reasons[i]) or None,
            adjustment_kwh=shown(adjustment_per_slot[i] * len(windows.alert)) if like else None,
            reference_unadjusted_kwh=shown(reference["alert"][i]) if like else None,
            delta_unadjusted_kwh=shown(delta_raw[i]) if like else None,
            percent_unadjusted=shown(percent_raw[i]) if like else None,
        ))
    result.community = community_impact(result.households, k=k)
    return result


def community_impact(households: Sequence[HouseholdImpact], k: int = PRIVACY_K
                     ) -> CommunityImpact:
    valid = [h for h in households if h.valid and h.alert_kwh is not None
             and h.reference_kwh is not None]
    if len(valid) < k:
        return CommunityImpact(households_valid=len(valid), shown=False)
    alert_kwh = float(sum(h.alert_kwh or 0.0 for h in valid))
    reference_kwh = float(sum(h.reference_kwh or 0.0 for h in valid))
    delta = alert_kwh - reference_kwh
    return CommunityImpact(households_valid=len(valid), shown=True, alert_kwh=alert_kwh,
                           reference_kwh=reference_kwh, delta_kwh=delta,
                           percent=100.0 * delta / reference_kwh if reference_kwh else None)


def alert_impacts(energy: pd.DataFrame, alerts: Sequence[AlertWindow], *,
                  method: Method = "same_slots", k: int = PRIVACY_K) -> list[AlertImpact]:
    """Every alert of a season, each excluding the days of all the others from its baseline."""
    if not alerts:
        return []
    grid = energy_grid(energy, alerts[0].timezone)
    return [alert_impact(grid, alert, method=method, k=k,
                         other_alerts=[a for a in alerts if a is not alert])
            for alert in alerts]
