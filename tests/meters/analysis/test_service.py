"""The database side of alert impact: whose data, which window, one resident's own figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.alerts import Alert, AlertKind, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.models import Household
from meters.analysis.service import (
    AlertNotFound,
    alert_impact,
    household_impact,
    latest_measured_alert,
    rebound_data_arrived,
)
from tests.fakes.community import seed_residents
from tests.fakes.energy import meter_every_household, seed_energy

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=3)
DATA_FROM = datetime(2026, 10, 5, 22, 0, tzinfo=UTC)


def _setup(engine: Engine) -> tuple[int, int, list[int]]:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        whole = plan_alert(session, community, starts_at=START, duration_minutes=180,
                           kind=AlertKind.PLANNED, now=NOW)
        cluster_b = plan_alert(session, community, starts_at=START + timedelta(days=1),
                               duration_minutes=180, kind=AlertKind.SURPRISE, now=NOW,
                               cluster_name="B")
        assert whole.id is not None and cluster_b.id is not None
        ids = (whole.id, cluster_b.id, community.id)
    households = meter_every_household(engine, ids[2])
    return ids[0], ids[1], households


def test_a_resident_gets_their_own_figures_only(engine: Engine) -> None:
    alert_id, _, households = _setup(engine)
    seed_energy(engine, households, DATA_FROM, END + timedelta(hours=3),
                alert=(START, END, 0.6))
    with session_scope(engine) as session:
        mine = household_impact(session, alert_id, households[0])
        community = alert_impact(session, alert_id).community
        assert rebound_data_arrived(session, session.get_one(Alert, alert_id))
    assert mine is not None and mine.valid and mine.household == households[0]
    assert mine.percent == pytest.approx(-40.0, abs=0.01)
    assert community.shown and community.households_valid == 6
    with session_scope(engine) as session, pytest.raises(AlertNotFound):
        alert_impact(session, 999)


def test_the_latest_measured_alert_follows_the_households_cluster(engine: Engine) -> None:
    whole, cluster_b, _ = _setup(engine)
    with session_scope(engine) as session:
        by_ref = {h.ref: h for h in session.exec(select(Household)).all()}
        later = START + timedelta(days=2)
        assert latest_measured_alert(session, by_ref["H1"], START) is None  # not over yet
        for ref, expected in (("H1", whole), ("H3", cluster_b)):
            alert = latest_measured_alert(session, by_ref[ref], later)
            assert alert is not None and alert.id == expected
