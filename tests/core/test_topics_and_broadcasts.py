"""Muted topics and broadcasts in the core: the migration matches the tables, a mute leaves
alerts alone and goes with the contact."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from core.alerts import audience_for
from core.audience import AudienceSpec, resolve_audience
from core.contacts import erase_contact
from core.db import session_scope
from core.models import Contact
from core.topics import Topic, TopicMute, muted_contact_ids, muted_topics, set_muted
from tests.fakes.community import seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MY_TABLES = ("broadcast", "topicmute", "progressreport")


def test_migration_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    mine = [d for d in differences if any(f"'{t}'" in str(d) or f"table=<{t}>" in str(d)
                                          for t in MY_TABLES)]
    assert mine == []


def test_a_mute_narrows_that_topic_only_and_goes_with_the_contact(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    someone = residents[0].contact_id
    with session_scope(engine) as session:
        set_muted(session, someone, Topic.NEWS, True, NOW)
        set_muted(session, someone, Topic.NEWS, True, NOW)  # twice is harmless
        assert muted_topics(session, someone) == {Topic.NEWS}
        assert muted_contact_ids(session, 1, "news") == {someone}
        news = resolve_audience(session, 1, AudienceSpec(), topic=Topic.NEWS.value)
        workshops = resolve_audience(session, 1, AudienceSpec(),
                                     topic=Topic.WORKSHOPS.value)
        assert someone not in {c.id for c, _ in news} and len(news) == 5
        assert someone in {c.id for c, _ in workshops}
        assert someone in {c.id for c, _ in audience_for(session, 1, None)}  # alerts
        set_muted(session, someone, Topic.NEWS, False, NOW)
        assert muted_topics(session, someone) == set()
        set_muted(session, someone, Topic.WORKSHOPS, True, NOW)
    with session_scope(engine) as session:
        contact = session.get(Contact, someone)
        assert contact is not None
        erase_contact(session, contact)
    with Session(engine) as session:
        assert session.exec(select(TopicMute)).all() == []
