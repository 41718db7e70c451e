"""What a resident's chart needs, in one call: their household's consumption, the alert to
shade, and their own figures for the last measured alert, all from one load of the data
(with the group's result for that alert, as the community was sent it).

The bot words and draws it (``bot/rendering/energy_charts.py``); nothing here knows a
language or matplotlib. Only the household's own data is read: no neighbour's figure ever
reaches a resident's chart; the group's is the aggregate every member was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd
from sqlmodel import Session, col, select

from core.alerts import Alert, AlertStatus
from core.clock import as_utc
from core.models import Community, Household
from core.results import AlertResult, ResultStatus
from meters.analysis import impact as analysis
from meters.analysis.impact import CommunityImpact, HouseholdImpact
from meters.analysis.service import (
    alert_window,
    energy_span,
    latest_measured_alert,
    not_measured,
    other_alert_windows,
)
from meters.cleaning import end_of_last_valid_slot
from meters.store import load_household_energy

ChartKind = Literal["week", "typical", "alert"]
CHART_KINDS: tuple[ChartKind, ...] = ("week", "typical", "alert")
# The usual curve reads the 8 weeks before; the typical week is a season's worth.
HISTORY = timedelta(weeks=9)
TYPICAL_HISTORY = timedelta(weeks=13)
# Less than a day of valid slots is not a chart yet.
MIN_VALID_SLOTS = 96
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class MeasuredAlert:
    """The last alert of the household whose rebound window is over, and its own figures."""

    alert_id: int
    start: datetime
    end: datetime
    impact: HouseholdImpact
    # A drill: the resident is told it was an exercise.
    drill: bool = False
    # The collective result the community was sent for it, when it had figures to show (from
    # k households): the group's figure next to the resident's own.
    group: CommunityImpact | None = None


@dataclass(frozen=True)
class ResidentChartData:
    kind: ChartKind
    timezone: str
    # slot_start (UTC), kwh (NaN = invalid): the household's consumption, loaded once.
    energy: pd.DataFrame
    # At least a day of valid slots: otherwise there is no chart to draw yet.
    enough_data: bool
    # "My last 7 days" end here: the end of the last valid slot, not last midnight.
    week_end: datetime
    # The alert to shade on the 7-day chart, if one started in those 7 days.
    shaded_alert: tuple[datetime, datetime] | None
    # Kind "alert" only: the last measured alert (None: there is none yet).
    measured_alert: MeasuredAlert | None = None


def _recent_alerts(session: Session, household: Household, since: datetime) -> list[Alert]:
    """Alerts started since then that the household was asked to join (its community's, or
    its cluster's)."""
    alerts = session.exec(select(Alert).where(
        Alert.community_id == household.community_id,
        Alert.status != AlertStatus.CANCELLED.value, col(Alert.starts_at) >= since)).all()
    return [a for a in alerts if a.cluster_id is None or a.cluster_id == household.cluster_id]


def _shaded(alerts: list[Alert], week_end: datetime) -> tuple[datetime, datetime] | None:
    """The most recent alert that started in the 7 days shown."""
    recent = [(as_utc(a.starts_at), as_utc(a.ends_at)) for a in alerts
              if week_end - WEEK <= as_utc(a.starts_at) <= week_end]
    return max(recent, default=None)


def _group_result(session: Session, alert_id: int) -> CommunityImpact | None:
    """The alert's collective result as it was sent, if it showed figures."""
    result = session.exec(select(AlertResult).where(AlertResult.alert_id == alert_id)).first()
    if result is None or result.status != ResultStatus.SENT.value or not result.shown:
        return None
    return CommunityImpact(households_valid=result.households_valid, shown=True,
                           delta_kwh=result.delta_kwh, percent=result.percent)


def resident_chart_data(session: Session, household_id: int, kind: ChartKind, now: datetime
                        ) -> ResidentChartData:
    """Everything the chart of ``kind`` needs for one household, from one load of its data.
    Raises ``LookupError`` for a household that does not exist (any more)."""
    household = session.get(Household, household_id)
    community = session.get(Community, household.community_id) if household else None
    if household is None or community is None:
        raise LookupError(f"no household {household_id}")
    start = now - (TYPICAL_HISTORY if kind == "typical" else HISTORY)
    alert = latest_measured_alert(session, household, now) if kind == "alert" else None
    if alert is not None:
        window = alert_window(alert, community)
        span_start, span_end = energy_span(window)
        start = min(start, span_start)
    energy = load_household_energy(session, [household_id], start=start, end=now)
    recent = energy[energy["slot_start"] >= now - (TYPICAL_HISTORY if kind == "typical"
                                                   else HISTORY)]
    week_end = end_of_last_valid_slot(energy["slot_start"], energy["kwh"], now)
    measured = None
    if alert is not None and alert.id is not None:
        part = energy[(energy["slot_start"] >= span_start) & (energy["slot_start"] < span_end)]
        if part.empty:
            impact = not_measured(household_id, "same_slots")
        else:
            impact = analysis.alert_impact(
                part, window, other_alerts=other_alert_windows(session, alert, community),
                k=community.privacy_k).households[0]
        measured = MeasuredAlert(alert.id, window.start, window.end, impact, alert.drill,
                                 _group_result(session, alert.id))
    shaded = _shaded(_recent_alerts(session, household, week_end - WEEK), week_end)
    if measured is not None:
        inside = week_end - WEEK <= measured.start <= week_end
        shaded = (measured.start, measured.end) if inside else None
    return ResidentChartData(
        kind=kind, timezone=community.timezone, energy=energy,
        enough_data=int(recent["kwh"].notna().sum()) >= MIN_VALID_SLOTS,
        week_end=week_end, shaded_alert=shaded, measured_alert=measured)
