"""The impact of a stored alert: its audience's meter data loaded from the database, then
``meters.analysis.impact`` on it.

The audience is the alert's community, or its cluster; only households with at least one meter
are measured (the others have nothing to say). A metered household without a single slot in
the window is listed as not valid, so a facilitator sees it rather than losing it silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.alerts import Alert, AlertStatus
from core.clock import as_utc
from core.metering import SLOT_SECONDS, Energy15, Meter, MeterRole
from core.models import Community, Household
from meters.analysis import impact as analysis
from meters.analysis.impact import AlertImpact, AlertWindow, HouseholdImpact, Method

# Reference days reach 8 weeks back, and the windows of a 24-hour notice one more day: load
# whole local days from this many days before the alert day (a partial day is never valid).
LOOKBACK_DAYS = 7 * analysis.SAME_SLOTS_WEEKS + 2


class AlertNotFound(LookupError):
    pass


def alert_window(alert: Alert, community: Community) -> AlertWindow:
    """The analysis view of an alert (a recorded alert without notice starts unannounced)."""
    start = as_utc(alert.starts_at)
    notice = as_utc(alert.first_notice_at) if alert.first_notice_at is not None else start
    return AlertWindow(start=start, end=as_utc(alert.ends_at), first_notice=min(notice, start),
                       timezone=community.timezone, alert_id=alert.id)


def audience_households(session: Session, alert: Alert) -> list[Household]:
    """Metered households of the alert's community (or cluster), by ref."""
    metered = select(Meter.household_id).where(Meter.community_id == alert.community_id)
    query = select(Household).where(Household.community_id == alert.community_id,
                                    col(Household.id).in_(metered))
    if alert.cluster_id is not None:
        query = query.where(Household.cluster_id == alert.cluster_id)
    return list(session.exec(query.order_by(col(Household.ref))).all())


def consumption_households(session: Session, alert: Alert) -> list[Household]:
    """Audience households whose meters give consumption: a consumption clamp, or net and
    production together (consumption = net + production)."""
    roles: dict[int, set[str]] = {}
    for household_id, role in session.exec(select(Meter.household_id, Meter.role).where(
            Meter.community_id == alert.community_id)).all():
        roles.setdefault(household_id, set()).add(role)
    net_and_production = {MeterRole.NET.value, MeterRole.PRODUCTION.value}

    def gives_consumption(household: Household) -> bool:
        mine = roles.get(household.id or 0, set())
        return MeterRole.CONSUMPTION.value in mine or net_and_production <= mine

    return [h for h in audience_households(session, alert) if gives_consumption(h)]


def other_alert_windows(session: Session, alert: Alert, community: Community
                        ) -> list[AlertWindow]:
    """Alerts whose days must not serve as reference days for this one's households.

    A whole-community alert meets every other alert; a cluster alert meets whole-community
    alerts and those of its own cluster. A cancelled alert still counts when its first notice
    had gone out before the cancellation (people may have reacted).
    """
    window = alert_window(alert, community)
    since = window.start - timedelta(days=LOOKBACK_DAYS + 2)
    query = select(Alert).where(Alert.community_id == alert.community_id,
                                Alert.id != alert.id, col(Alert.ends_at) >= since,
                                col(Alert.starts_at) <= window.end + analysis.REBOUND_AFTER)
    others = []
    for other in session.exec(query).all():
        if alert.cluster_id is not None and other.cluster_id not in (None, alert.cluster_id):
            continue
        if other.status == AlertStatus.CANCELLED.value and (
                other.first_notice_at is None or other.cancelled_at is None
                or as_utc(other.cancelled_at) <= as_utc(other.first_notice_at)):
            continue
        others.append(alert_window(other, community))
    return others


def energy_span(window: AlertWindow) -> tuple[datetime, datetime]:
    """From local midnight ``LOOKBACK_DAYS`` before the alert day to the rebound's end."""
    zone = ZoneInfo(window.timezone)
    alert_day = window.start.astimezone(zone).date()
    first_day = alert_day - timedelta(days=LOOKBACK_DAYS)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone)
    return as_utc(start), window.end + analysis.REBOUND_AFTER


def load_consumption(session: Session, household_ids: list[int], start: datetime,
                     end: datetime) -> pd.DataFrame:
    """household_id, slot, kwh (NaN = invalid) for slots in [start, end): columns only, no ORM
    objects (60 homes x 58 days is 330,000 rows)."""
    if not household_ids:
        return pd.DataFrame({"household_id": np.zeros(0, np.int64),
                             "slot": np.zeros(0, np.int64), "kwh": np.zeros(0)})
    rows = session.exec(
        select(Energy15.household_id, Energy15.slot_start, Energy15.kwh)
        .where(col(Energy15.household_id).in_(household_ids),
               Energy15.role == MeterRole.CONSUMPTION.value,
               col(Energy15.slot_start) >= start, col(Energy15.slot_start) < end)).all()
    return pd.DataFrame({
        "household_id": np.array([r[0] for r in rows], dtype=np.int64),
        "slot": np.array([int(as_utc(r[1]).timestamp()) // SLOT_SECONDS for r in rows],
                         dtype=np.int64),
        "kwh": np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64),
    })


def not_measured(household: int, method: str) -> HouseholdImpact:
    """A household without a single slot around the alert (its meter is silent)."""
    return HouseholdImpact(household=household, valid=False, alert_kwh=None, reference_kwh=None,
                           delta_kwh=None, percent=None, after_kwh=None, before_kwh=None,
                           method=method, reason=analysis.REASON_NO_DATA)


def impact_of(session: Session, alert: Alert, method: Method = "same_slots",
              household_ids: list[int] | None = None) -> AlertImpact:
    """Impact of a stored alert for its metered audience (or for the given households)."""
    community = session.get(Community, alert.community_id)
    assert community is not None
    window = alert_window(alert, community)
    if household_ids is None:
        household_ids = [h.id for h in consumption_households(session, alert)
                         if h.id is not None]
    start, end = energy_span(window)
    energy = load_consumption(session, household_ids, start, end)
    k = community.privacy_k
    if energy.empty:
        result = AlertImpact(alert_id=alert.id,
                             households=[not_measured(h, method) for h in household_ids])
        result.community = analysis.community_impact(result.households, k=k)
        return result
    result = analysis.alert_impact(energy, window, method=method, k=k,
                                   other_alerts=other_alert_windows(session, alert, community))
    measured = {h.household for h in result.households}
    result.households += [not_measured(h, method) for h in household_ids if h not in measured]
    return result


def alert_impact(session: Session, alert_id: int, method: Method = "same_slots"
                 ) -> AlertImpact:
    """``GET /api/v1/alerts/{id}/impact`` and the collective result message."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return impact_of(session, alert, method)


def household_impact(session: Session, alert_id: int, household_id: int,
                     method: Method = "same_slots") -> HouseholdImpact | None:
    """One household's own figures for an alert ("my result"); None if it is not measured."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    result = impact_of(session, alert, method, household_ids=[household_id])
    return next((h for h in result.households if h.household == household_id), None)


def rebound_data_arrived(session: Session, alert: Alert) -> bool:
    """Whether the data covering the alert and its rebound window has come in: every measured
    household of the audience has a slot (valid or not) at the end of the rebound window.

    A household without a single slot in the 8 weeks before the alert (a meter never
    connected, or dead for weeks) can never be valid: it is not waited for.
    """
    households = [h.id for h in consumption_households(session, alert) if h.id is not None]
    start = as_utc(alert.starts_at)
    reporting = set(session.exec(
        select(Energy15.household_id).distinct()
        .where(col(Energy15.household_id).in_(households),
               Energy15.role == MeterRole.CONSUMPTION.value,
               col(Energy15.slot_start) >= start - timedelta(weeks=analysis.SAME_SLOTS_WEEKS),
               col(Energy15.slot_start) < start)).all())
    if not reporting:
        return True
    last = as_utc(alert.ends_at) + analysis.REBOUND_AFTER - timedelta(seconds=1)
    last_slot = datetime.fromtimestamp(int(last.timestamp()) // SLOT_SECONDS * SLOT_SECONDS,
                                       tz=last.tzinfo)
    arrived = session.exec(
        select(func.count(func.distinct(Energy15.household_id)))
        .where(col(Energy15.household_id).in_(reporting),
               Energy15.role == MeterRole.CONSUMPTION.value,
               col(Energy15.slot_start) >= last_slot)).one()
    return int(arrived) >= len(reporting)


def latest_measured_alert(session: Session, household: Household, now: datetime
                          ) -> Alert | None:
    """The most recent alert this household was asked to join whose rebound window is over
    (what "my result" shows by default); recorded alerts count, cancelled ones do not."""
    query = (select(Alert)
             .where(Alert.community_id == household.community_id,
                    Alert.status != AlertStatus.CANCELLED.value,
                    col(Alert.ends_at) <= as_utc(now) - analysis.REBOUND_AFTER)
             .order_by(col(Alert.ends_at).desc()))
    for alert in session.exec(query).all():
        if alert.cluster_id is None or alert.cluster_id == household.cluster_id:
            return alert
    return None
