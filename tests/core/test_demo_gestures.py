"""The demo's gestures: neighbours' commitments and check-in answers, enough for the group
tally and the per-gesture figures to show something on the first run, and a gesture of the
facilitator's own for "My gestures"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.alerts import Alert, AlertStatus
from core.db import session_scope
from core.demo import DEMO_COMMITMENTS, seed_demo, seed_demo_gestures, seed_demo_neighbours
from core.gestures import Commitment, commitment_stats, commitment_tally, load_gestures, my_gestures
from core.models import ChannelIdentity

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_demo_has_commitments_and_check_ins_to_show(engine: Engine) -> None:
    with session_scope(engine) as session:
        community = seed_demo(session, clock=lambda: NOW)
        assert community.id is not None
        load_gestures(session, NOW)
        session.add(Alert(community_id=community.id, starts_at=NOW - timedelta(days=2),
                          ends_at=NOW - timedelta(days=2) + timedelta(hours=3),
                          status=AlertStatus.RECORDED.value))
        session.flush()
        made = seed_demo_gestures(session, community, NOW)
        assert made == sum(len(slugs) for _, _, slugs in DEMO_COMMITMENTS) + 1
        assert seed_demo_gestures(session, community, NOW) == 0  # once
        tally = commitment_tally(session, community.id, NOW)
        assert tally is not None and tally.households >= community.privacy_k
        assert tally.most_chosen == ("dishwasher_after_alert",)
        dishwasher = commitment_stats(session, community.id, NOW)["dishwasher_after_alert"]
        assert dishwasher is not None and dishwasher.check_ins is not None
        assert sum(dishwasher.check_ins.values()) == 5
        # Homes nobody lived in got a resident nobody can write to.
        made_up = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.address.startswith("demo-gestures-"))).all()
        assert made_up and not any(i.reachable for i in made_up)
        awa = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.address == "demo-facilitator")).one()
        assert awa.contact_id is not None
        assert [c.gesture_slug for c, _ in my_gestures(session, awa.contact_id)] == \
            ["close_doors"]


def test_the_demo_neighbours_make_the_promises_when_there_are_some(engine: Engine) -> None:
    with session_scope(engine) as session:
        community = seed_demo(session, clock=lambda: NOW)
        neighbours = seed_demo_neighbours(session, community, NOW)
        load_gestures(session, NOW)
        seed_demo_gestures(session, community, NOW)
        committed = {c.contact_id for c in session.exec(select(Commitment)).all()}
        assert committed - {n.id for n in neighbours} == {_facilitator_id(session)}
        assert not session.exec(select(ChannelIdentity).where(
            ChannelIdentity.address.startswith("demo-gestures-"))).all()


def _facilitator_id(session: Session) -> int | None:
    return session.exec(select(ChannelIdentity).where(
        ChannelIdentity.address == "demo-facilitator")).one().contact_id
