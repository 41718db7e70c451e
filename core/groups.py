"""Telegram groups linked to a community: the bot posts collective messages there, only.

A facilitator links a group by sending ``/link CODE`` in it. What goes to a group is limited
to collective kinds (alerts, group results, invitations): a group is never sent anything
about one person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer
from sqlmodel import Field, Session, SQLModel, select

from core import outbox
from core.models import ChannelIdentity, ChannelKind, OutboxMessage, Priority
from core.outbox import Subject

# Message kinds that carry nothing personal and may therefore go to a group.
COLLECTIVE_KINDS = frozenset({
    "group_notice", "invitation", "collective_result", "broadcast",
    "alert_notice_24h", "alert_notice_30min", "alert_start", "alert_end",
    "alert_cancellation",
})


class NotCollective(ValueError):
    pass


class TelegramGroup(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), nullable=False, index=True))
    chat_id: str = Field(unique=True, index=True)
    title: str | None = None
    linked_by_contact_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="SET NULL"), nullable=True))
    linked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


def link_group(session: Session, community_id: int, chat_id: str, title: str | None,
               contact_id: int | None, now: datetime) -> TelegramGroup:
    """Link (or re-link) a group chat to a community."""
    group = session.exec(select(TelegramGroup).where(TelegramGroup.chat_id == chat_id)).first()
    if group is None:
        group = TelegramGroup(community_id=community_id, chat_id=chat_id)
    group.community_id = community_id
    group.title = title[:200] if title else None
    group.linked_by_contact_id = contact_id
    group.linked_at = now
    session.add(group)
    session.flush()
    return group


def groups_of(session: Session, community_id: int) -> list[TelegramGroup]:
    return list(session.exec(select(TelegramGroup).where(
        TelegramGroup.community_id == community_id)).all())


def group_identity(session: Session, chat_id: str, now: datetime) -> ChannelIdentity:
    """The group chat as an outbox address: an identity with no contact behind it."""
    identity = session.exec(select(ChannelIdentity).where(
        ChannelIdentity.channel == ChannelKind.TELEGRAM.value,
        ChannelIdentity.address == chat_id)).first()
    if identity is None:
        identity = ChannelIdentity(channel=ChannelKind.TELEGRAM.value, address=chat_id,
                                   created_at=now)
        session.add(identity)
        session.flush()
    return identity


def post_to_groups(session: Session, community_id: int, *, dedupe_key: str, kind: str,
                   payload: dict[str, Any], now: datetime, subject: Subject | None = None,
                   priority: Priority = Priority.CHAT, expires_at: datetime | None = None
                   ) -> list[OutboxMessage]:
    """Enqueue one collective message for every group linked to the community (with the
    subject, priority and deadline the same message has for residents)."""
    if kind not in COLLECTIVE_KINDS:
        raise NotCollective(f"{kind!r} is not a collective message kind")
    # Buttons in a group would show everyone who pressed what: groups get the text only.
    payload = {**payload, "choices": []}
    rows = []
    for group in groups_of(session, community_id):
        identity = group_identity(session, group.chat_id, now)
        row = outbox.enqueue(session, dedupe_key=f"{dedupe_key}:group:{group.chat_id}",
                             identity=identity, kind=kind, payload=payload, now=now,
                             subject=subject, priority=priority, expires_at=expires_at)
        if row is not None:
            rows.append(row)
    return rows
