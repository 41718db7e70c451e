"""The demo's synthetic data: measured impact close to what the generator injected, on
either side of a clock change, for every home."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.demo import seed_demo
from meters.analysis.service import alert_impact
from meters.demo import seed_demo_energy


@pytest.mark.parametrize("now", [
    datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 20, 0, tzinfo=UTC),  # the alert on the day the clocks go back
    datetime(2026, 4, 4, 12, 0, tzinfo=UTC),  # the alert on the day the clocks go forward
])
def test_the_demo_measures_what_was_injected(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        community = seed_demo(session, clock=lambda: now)
        assert community.id is not None
        demo = seed_demo_energy(session, community.id, now)
    assert demo.alert_id is not None and len(demo.reduction) == 12
    with session_scope(engine) as session:
        impact = alert_impact(session, demo.alert_id)
    # Every home is measured: a missing quarter of an hour no longer spoils a reference day.
    assert impact.community.households_valid == 12
    assert impact.community.percent == pytest.approx(demo.community_percent, abs=2.0)
    for household in impact.households:
        assert household.percent is not None
        assert household.percent == pytest.approx(-100 * demo.reduction[household.household],
                                                   abs=8.0)


def test_seeding_twice_adds_nothing(engine: Engine) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        community = seed_demo(session, clock=lambda: now)
        assert community.id is not None
        first = seed_demo_energy(session, community.id, now)
        again = seed_demo_energy(session, community.id, now)
    assert first.slots_written == 12 * 9 * 7 * 96 and again.slots_written == 0
