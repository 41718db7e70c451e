"""Topics a resident may mute: workshop invitations and news, never alerts.

Muting a topic takes a resident out of that topic's audiences only; STOP (``opted_out_at``)
still stops everything. A mute is a row per (contact, topic), deleted with the contact.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, UniqueConstraint, delete
from sqlmodel import Field, Session, SQLModel, col, select

from core.models import ChannelIdentity, Contact


class Topic(enum.StrEnum):
    WORKSHOPS = "workshops"
    NEWS = "news"


class TopicMute(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("contact_id", "topic"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True))
    topic: str
    muted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


def muted_topics(session: Session, contact_id: int) -> set[Topic]:
    return {Topic(topic) for topic in session.exec(
        select(TopicMute.topic).where(TopicMute.contact_id == contact_id)).all()
        if topic in Topic.__members__.values()}


def set_muted(session: Session, contact_id: int, topic: Topic, muted: bool,
              now: datetime) -> None:
    """Mute or unmute one topic (doing it twice is harmless)."""
    existing = session.exec(select(TopicMute).where(
        TopicMute.contact_id == contact_id, TopicMute.topic == topic.value)).first()
    if muted and existing is None:
        session.add(TopicMute(contact_id=contact_id, topic=topic.value, muted_at=now))
    elif not muted and existing is not None:
        session.exec(delete(TopicMute).where(
            col(TopicMute.id) == existing.id))
    session.flush()


def muted_contact_ids(session: Session, community_id: int, topic: Topic | str) -> set[int]:
    """The contacts of the community who muted ``topic``."""
    return set(session.exec(
        select(TopicMute.contact_id)
        .join(Contact, col(Contact.id) == TopicMute.contact_id)
        .where(Contact.community_id == community_id,
               TopicMute.topic == Topic(topic).value)).all())


def without_muted(session: Session, community_id: int, topic: Topic | str,
                  people: Iterable[tuple[Contact, ChannelIdentity]]
                  ) -> list[tuple[Contact, ChannelIdentity]]:
    """``people`` less those who muted ``topic``."""
    muted = muted_contact_ids(session, community_id, topic)
    return [(contact, identity) for contact, identity in people if contact.id not in muted]
