"""Planning rules: validation with clear reasons, and the timeline of each kind of alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from core.alerts import (
    AlertKind,
    AlertPlanError,
    AlertSettings,
    AlertStage,
    StepStatus,
    TimelineEntry,
    plan_alert,
    steps_of,
    timeline_for,
)
from core.communities import community_by_slug
from core.db import session_scope
from tests.fakes.community import seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Brussels
TZ = "Europe/Brussels"


def _stages(entries: list[TimelineEntry]) -> list[tuple[AlertStage, datetime, StepStatus]]:
    return [(e.stage, e.due_at, e.status) for e in entries]


def test_planned_alert_timeline() -> None:
    start = NOW + timedelta(days=3)
    entries = timeline_for(AlertKind.PLANNED, start, start + timedelta(hours=3), NOW,
                           AlertSettings(community_id=1), "22:00-08:00", TZ)
    assert _stages(entries) == [
        (AlertStage.NOTICE_24H, start - timedelta(hours=24), StepStatus.PENDING),
        (AlertStage.NOTICE_30MIN, start - timedelta(minutes=30), StepStatus.PENDING),
        (AlertStage.START, start, StepStatus.PENDING),
        (AlertStage.END, start + timedelta(hours=3), StepStatus.PENDING),
        (AlertStage.QUESTIONNAIRE, start + timedelta(hours=3), StepStatus.PENDING),
        (AlertStage.REMINDER, start + timedelta(hours=27), StepStatus.PENDING),
    ]


def test_surprise_alert_has_only_the_30_minute_notice() -> None:
    start = NOW + timedelta(hours=2)
    entries = timeline_for(AlertKind.SURPRISE, start, start + timedelta(hours=2), NOW,
                           AlertSettings(community_id=1), "22:00-08:00", TZ)
    stages = [e.stage for e in entries]
    assert AlertStage.NOTICE_24H not in stages and stages[0] is AlertStage.NOTICE_30MIN


def test_a_notice_whose_time_has_passed_goes_at_once() -> None:
    start = NOW + timedelta(hours=10)
    entries = timeline_for(AlertKind.PLANNED, start, start + timedelta(hours=3), NOW,
                           AlertSettings(community_id=1), "22:00-08:00", TZ)
    assert _stages(entries)[:2] == [
        (AlertStage.NOTICE_24H, NOW, StepStatus.PENDING),
        (AlertStage.NOTICE_30MIN, start - timedelta(minutes=30), StepStatus.PENDING),
    ]
    late = NOW + timedelta(minutes=10)
    entries = timeline_for(AlertKind.PLANNED, late, late + timedelta(hours=1), NOW,
                           AlertSettings(community_id=1), "22:00-08:00", TZ)
    assert _stages(entries)[:2] == [
        (AlertStage.NOTICE_24H, NOW, StepStatus.SKIPPED),
        (AlertStage.NOTICE_30MIN, NOW, StepStatus.PENDING),
    ]


def test_questionnaire_and_reminder_wait_for_the_end_of_quiet_hours() -> None:
    start = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)  # 20:00 local, ends 23:00 local
    entries = {e.stage: e.due_at for e in timeline_for(
        AlertKind.SURPRISE, start, start + timedelta(hours=3), NOW,
        AlertSettings(community_id=1), "22:00-08:00", TZ)}
    assert entries[AlertStage.END] == datetime(2026, 12, 3, 22, 0, tzinfo=UTC)  # on time
    assert entries[AlertStage.QUESTIONNAIRE] == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert entries[AlertStage.REMINDER] == datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("change", "reason"), [
    ({"starts_at": NOW - timedelta(minutes=1)}, "in the past"),
    ({"duration_minutes": 0}, "between 1 and 1440"),
    ({"duration_minutes": 24 * 60 + 1}, "between 1 and 1440"),
    ({"cluster_name": "Z"}, "unknown cluster: Z"),
    ({"starts_at": datetime(2026, 12, 2, 18, 0)}, "UTC offset"),
])
def test_invalid_plans_are_refused_with_a_reason(engine: Engine, change: dict[str, object],
                                                 reason: str) -> None:
    seed_residents(engine, NOW)
    arguments: dict[str, object] = {"starts_at": NOW + timedelta(days=1),
                                    "duration_minutes": 120, "kind": AlertKind.PLANNED}
    arguments.update(change)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        with pytest.raises(AlertPlanError, match=reason):
            plan_alert(session, community, now=NOW, **arguments)  # type: ignore[arg-type]


def test_overlaps_within_the_same_audience_are_refused(engine: Engine) -> None:
    seed_residents(engine, NOW)
    start = NOW + timedelta(days=1)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        plan_alert(session, community, starts_at=start, duration_minutes=120,
                   kind=AlertKind.PLANNED, now=NOW, cluster_name="A")
        # Another cluster at the same time is fine.
        plan_alert(session, community, starts_at=start, duration_minutes=120,
                   kind=AlertKind.PLANNED, now=NOW, cluster_name="B")
        with pytest.raises(AlertPlanError, match="overlaps"):
            plan_alert(session, community, starts_at=start + timedelta(hours=1),
                       duration_minutes=60, kind=AlertKind.SURPRISE, now=NOW, cluster_name="A")
        with pytest.raises(AlertPlanError, match="overlaps"):
            plan_alert(session, community, starts_at=start, duration_minutes=30,
                       kind=AlertKind.SURPRISE, now=NOW)
        # Back to back is not an overlap.
        plan_alert(session, community, starts_at=start + timedelta(hours=2),
                   duration_minutes=30, kind=AlertKind.SURPRISE, now=NOW)


def test_record_only_registers_a_past_alert_without_steps(engine: Engine) -> None:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=NOW - timedelta(days=30),
                           duration_minutes=180, kind=AlertKind.SURPRISE, now=NOW,
                           record_only=True)
        assert alert.status == "recorded" and steps_of(session, alert.id or 0) == []
