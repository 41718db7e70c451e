"""Audiences: who a workshop invitation or a broadcast goes to, and how many per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from core import audience as audience_module
from core.audience import AudienceError, AudienceSpec, resolve_audience
from core.communities import community_by_slug
from core.contacts import opt_out
from core.db import session_scope
from core.models import Contact
from core.workshop_tables import Answer, Workshop, WorkshopRsvp
from tests.fakes.community import seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MY_TABLES = ("workshop", "workshoprsvp", "workshopstep")


def test_migration_matches_the_workshop_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    mine = [d for d in differences if any(f"'{t}'" in str(d) or f"table=<{t}>" in str(d)
                                          for t in MY_TABLES)]
    assert mine == []


def test_spec_parses_and_refuses_with_a_reason() -> None:
    assert AudienceSpec.from_json(None).is_everyone
    spec = AudienceSpec.from_json({"cluster": " A ", "languages": ["fr", "ar", "fr"],
                                   "came_to": [3]})
    assert spec == AudienceSpec(cluster="A", languages=("fr", "ar"), came_to=(3,))
    assert AudienceSpec.from_json(spec.to_json()) == spec
    cases: list[tuple[dict[str, object], str]] = [
        ({"languages": ["de"]}, "unknown language"),
        ({"cluster": 4}, "cluster"), ({"came_to": ["x"]}, "workshop ids"),
        ({"came_to": [True]}, "workshop ids"), ({"who": 1}, "unknown")]
    for raw, reason in cases:
        with pytest.raises(AudienceError, match=reason):
            AudienceSpec.from_json(raw)


def test_resolves_community_cluster_languages_and_past_attendance(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    by_locale = {r.contact_id: r.locale for r in residents}
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        everyone = resolve_audience(session, community.id, AudienceSpec())
        assert {c.id for c, _ in everyone} == set(by_locale)
        assert everyone.channel_counts() == {"sms": 2, "telegram": 2, "whatsapp": 2}
        cluster_a = resolve_audience(session, community.id, AudienceSpec(cluster="A"))
        assert {c.id for c, _ in cluster_a} == {r.contact_id for r in residents
                                                if r.cluster == "A"}
        arabic_b = resolve_audience(session, community.id,
                                    AudienceSpec(cluster="B", languages=("ar",)))
        assert {c.id for c, _ in arabic_b} == {r.contact_id for r in residents
                                               if r.cluster == "B" and r.locale == "ar"}
        assert arabic_b.locales() == ["ar"]
        earlier = Workshop(community_id=community.id, title={"fr": "Atelier"},
                           starts_at=NOW - timedelta(days=14),
                           ends_at=NOW - timedelta(days=14) + timedelta(hours=2))
        session.add(earlier)
        session.flush()
        assert earlier.id is not None
        came, said_yes_but_missed, maybe = (r.contact_id for r in residents[:3])
        session.add(WorkshopRsvp(workshop_id=earlier.id, contact_id=came,
                                 answer=Answer.YES.value))
        session.add(WorkshopRsvp(workshop_id=earlier.id, contact_id=said_yes_but_missed,
                                 answer=Answer.YES.value, attended=False))
        session.add(WorkshopRsvp(workshop_id=earlier.id, contact_id=maybe,
                                 answer=Answer.MAYBE.value, attended=True))
        session.flush()
        spec = AudienceSpec(came_to=(earlier.id,))
        spec.check(session, community.id)
        assert {c.id for c, _ in resolve_audience(session, community.id, spec)} == {came, maybe}
        with pytest.raises(AudienceError, match="unknown cluster"):
            resolve_audience(session, community.id, AudienceSpec(cluster="Z"))
        with pytest.raises(AudienceError, match="no workshop 999"):
            AudienceSpec(came_to=(999,)).check(session, community.id)


def test_leaves_out_stopped_unconsented_and_muted(engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    residents = seed_residents(engine, NOW)
    stopped, unconsented, muted = (r.contact_id for r in residents[:3])
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        contact = session.get(Contact, stopped)
        assert contact is not None
        opt_out(session, contact, NOW)
        other = session.get(Contact, unconsented)
        assert other is not None
        other.consented_at = None
        session.add(other)
        session.flush()
        monkeypatch.setattr(audience_module, "muted_contact_ids",
                            lambda _s, _c, topic: {muted} if topic == "workshops" else set())
        for_workshops = resolve_audience(session, community.id, AudienceSpec(),
                                         topic="workshops")
        left = {r.contact_id for r in residents} - {stopped, unconsented}
        assert {c.id for c, _ in for_workshops} == left - {muted}
        assert {c.id for c, _ in resolve_audience(session, community.id, AudienceSpec(),
                                                  topic="news")} == left
        assert {c.id for c, _ in resolve_audience(session, community.id, AudienceSpec())} \
            == left
