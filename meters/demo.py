"""Synthetic meter data for the demo community: a plausible home curve per household.

The curve follows the community's LOCAL time (people cook at 19:00 on the clock on the wall,
summer or winter), so reference days on either side of a clock change line up as they
would in real data. Deterministic (seeded) so the demo looks the same every time. A few
single slots are left invalid, as real Flukso data has them, never during the demo's alert.

The demo also records one past alert (last week: six evenings ago, 18:00-21:00, still on
the "My last 7 days" chart) in which each home
used a known share less; ``DemoEnergy`` says what was injected, so a test can hold the
measured impact against it. ``seed_demo_story`` then tells that alert whole: its collective
result and the neighbours' answers to its questionnaire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from core.alerts import Alert, AlertKind, AlertPlanError, AlertStatus, plan_alert
from core.clock import as_utc
from core.demo import seed_demo_answers, seed_demo_neighbours
from core.metering import SLOT_SECONDS, Energy15, Meter, MeterRole
from core.models import Community, Household
from core.results import AlertResult, ResultReason, ResultStatus
from meters.analysis.impact import REBOUND_AFTER
from meters.analysis.service import impact_of
from meters.slot_sql import insert_many, slot_starts_for
from meters.store import add_meter

DEMO_WEEKS = 9
SLOTS_PER_DAY = 96
ALERT_LOCAL_HOUR = 18
ALERT_MINUTES = 180
# Last week, yet inside "My last 7 days", where the alert is shaded.
DAYS_BACK = 6
# Each home used between none and this share less during the demo alert.
MAX_REDUCTION = 0.3
INVALID_SHARE = 0.01


@dataclass(frozen=True)
class DemoEnergy:
    slots_written: int
    alert_id: int | None = None
    # Per household id: the share less injected during the alert (0.2 = 20 % less) ...
    reduction: dict[int, float] = field(default_factory=dict)
    # ... and the energy the home would have used in the alert window without it (kWh).
    usual_kwh: dict[int, float] = field(default_factory=dict)

    @property
    def community_percent(self) -> float:
        """The change the generator injected for the community as a whole, in percent."""
        usual = sum(self.usual_kwh.values())
        less = sum(self.reduction[h] * kwh for h, kwh in self.usual_kwh.items())
        return -100.0 * less / usual if usual else 0.0


def demo_alert_window(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """18:00-21:00 local, six evenings ago (seven if the rebound window is not over)."""
    today = pd.Timestamp(now).tz_convert(timezone).normalize()
    for days_back in (DAYS_BACK, DAYS_BACK + 1):
        start = (today - pd.Timedelta(days=days_back)).tz_localize(None) + pd.Timedelta(
            hours=ALERT_LOCAL_HOUR)
        local = start.tz_localize(timezone)
        end = local + pd.Timedelta(minutes=ALERT_MINUTES)
        if end + REBOUND_AFTER <= pd.Timestamp(now):
            break
    return local.tz_convert("UTC").to_pydatetime(), end.tz_convert("UTC").to_pydatetime()


def _usual_day(hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A home's expected kWh per 15 minutes at these local clock hours."""
    base = rng.uniform(0.03, 0.08)
    evening = rng.uniform(0.10, 0.35) * np.exp(-((hours - 19.0) ** 2) / 4.0)
    morning = rng.uniform(0.05, 0.15) * np.exp(-((hours - 7.5) ** 2) / 1.5)
    return np.asarray(base + evening + morning)


NOISE_SHAPE, NOISE_SCALE = 1.2, 0.02  # gamma noise on each slot (mean 0.024 kWh)


def seed_demo_energy(session: Session, community_id: int, now: datetime,
                     weeks: int = DEMO_WEEKS) -> DemoEnergy:
    """Give every household of the community a meter and ``weeks`` of 15-minute energy,
    and record the demo alert (when energy was written)."""
    community = session.get(Community, community_id)
    assert community is not None
    households = session.exec(select(Household).where(Household.community_id == community_id)
                              .order_by(col(Household.id))).all()
    existing = set(session.exec(select(Meter.household_id)).all())
    end = now.replace(minute=(now.minute // 15) * 15, second=0, microsecond=0)
    first_slot = int((end - timedelta(weeks=weeks)).timestamp()) // SLOT_SECONDS
    slots = np.arange(first_slot, first_slot + weeks * 7 * SLOTS_PER_DAY, dtype=np.int64)
    local = pd.to_datetime(slots * SLOT_SECONDS, unit="s", utc=True).tz_convert(
        community.timezone)
    hours = (local.hour + local.minute / 60.0).to_numpy()
    alert_start, alert_end = demo_alert_window(now, community.timezone)
    in_alert = ((slots >= int(alert_start.timestamp()) // SLOT_SECONDS)
                & (slots < int(alert_end.timestamp()) // SLOT_SECONDS))
    starts = slot_starts_for(session, slots)
    written, reduction, usual_kwh = 0, {}, {}
    for household in households:
        if household.id is None or household.id in existing:
            continue
        add_meter(session, household, f"demo-{household.ref}")
        rng = np.random.default_rng(household.id)
        usual = _usual_day(hours, rng)
        kwh = usual + rng.gamma(NOISE_SHAPE, NOISE_SCALE, slots.size)
        share = float(np.round(rng.uniform(0.0, MAX_REDUCTION), 2))
        kwh[in_alert] *= 1.0 - share
        reduction[household.id] = share
        usual_kwh[household.id] = float(usual[in_alert].sum()
                                        + in_alert.sum() * NOISE_SHAPE * NOISE_SCALE)
        invalid = (rng.random(slots.size) < INVALID_SHARE) & ~in_alert
        rows = [(household.id, MeterRole.CONSUMPTION.value, start,
                 None if bad else value, 0.5 if bad else 1.0)
                for start, value, bad in zip(starts, kwh.tolist(), invalid.tolist(),
                                             strict=True)]
        insert_many(session, getattr(Energy15, "__table__"),  # noqa: B009
                    ("household_id", "role", "slot_start", "kwh", "coverage"), rows)
        written += len(rows)
    if not written:
        return DemoEnergy(0)
    try:
        alert = plan_alert(session, community, starts_at=alert_start,
                           duration_minutes=ALERT_MINUTES, kind=AlertKind.PLANNED, now=now,
                           record_only=True)
    except AlertPlanError:  # another alert already there: the data stays, without its alert
        return DemoEnergy(written)
    return DemoEnergy(written, alert.id, reduction, usual_kwh)


@dataclass(frozen=True)
class DemoStory:
    """What ``seed_demo_story`` found or added: the past alert, its collective result and the
    neighbours' answers to its questionnaire."""

    alert_id: int | None
    result: AlertResult | None = None
    answers: int = 0


def demo_alert(session: Session, community_id: int, now: datetime) -> Alert | None:
    """The demo's past alert: the community's latest recorded one that has ended."""
    return session.exec(select(Alert).where(
        Alert.community_id == community_id, Alert.status == AlertStatus.RECORDED.value,
        col(Alert.ends_at) <= now).order_by(col(Alert.ends_at).desc())).first()


def record_demo_result(session: Session, alert: Alert, recipients: int, now: datetime
                       ) -> AlertResult:
    """The collective result of the demo's alert, as the scheduler would have recorded it
    after sending it (measured on the demo's energy, same slots as every result)."""
    assert alert.id is not None
    existing = session.exec(select(AlertResult).where(AlertResult.alert_id == alert.id)).first()
    if existing is not None:
        return existing
    impact = impact_of(session, alert, "same_slots").community
    result = AlertResult(alert_id=alert.id, status=ResultStatus.SENT.value,
                         reason=ResultReason.DATA_COMPLETE.value,
                         households_valid=impact.households_valid, shown=impact.shown,
                         delta_kwh=impact.delta_kwh, percent=impact.percent,
                         recipients=recipients,
                         decided_at=as_utc(alert.ends_at) + REBOUND_AFTER)
    session.add(result)
    session.flush()
    return result


def seed_demo_story(session: Session, community_id: int, now: datetime) -> DemoStory:
    """The demo's past alert told whole: a resident in each home, the alert's collective
    result, and a dozen answers to its questionnaire (load the questionnaires first). Once:
    seeding again adds nothing. Other parts of the story (gestures, staff invites) are
    seeded by their own functions next to this one."""
    community = session.get(Community, community_id)
    assert community is not None
    alert = demo_alert(session, community_id, now)
    if alert is None or alert.id is None:
        return DemoStory(None)
    neighbours = seed_demo_neighbours(session, community, now)
    result = record_demo_result(session, alert, len(neighbours), now)
    answered_at = as_utc(alert.ends_at) + timedelta(minutes=20)
    answers = seed_demo_answers(session, neighbours, alert.id, answered_at)
    return DemoStory(alert.id, result, answers)
