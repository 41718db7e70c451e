"""Conversation state in the database, with an expiry, so any worker can resume it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.models import ConversationState


@dataclass(frozen=True)
class StoredState:
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    expired: bool = False


def load_state(session: Session, identity_id: int, now: datetime) -> StoredState:
    row = session.exec(
        select(ConversationState).where(ConversationState.identity_id == identity_id)
    ).first()
    if row is None or row.flow is None:
        return StoredState()
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return StoredState(expired=True)
    return StoredState(flow=row.flow, step=row.step, data=dict(row.data or {}))


def save_state(session: Session, identity_id: int, flow: str | None, step: str | None,
               data: dict[str, Any], now: datetime, ttl: timedelta) -> None:
    """Store the state, or clear it when ``flow`` is None.

    An upsert, because a webhook worker and a scheduler may write the same identity's state
    at the same moment; the last writer wins instead of one of them failing.
    """
    if flow is None:
        session.exec(delete(ConversationState).where(
            col(ConversationState.identity_id) == identity_id))
        return
    values = {"identity_id": identity_id, "flow": flow, "step": step, "data": data,
              "expires_at": now + ttl, "updated_at": now}
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    statement = insert(ConversationState).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["identity_id"],
        set_={key: value for key, value in values.items() if key != "identity_id"},
    )
    session.exec(statement)
    session.expire_all()


def open_many(session: Session, identity_ids: list[int], flow: str, step: str,
              data: dict[str, Any], now: datetime, ttl: timedelta,
              replaces: frozenset[str | None]) -> int:
    """Open the same conversation for many identities at once (a fan-out), each only if
    its current conversation may be taken over (``replaces``; an expired one always may).
    Two statements per batch instead of two per person; returns how many were opened."""
    if not identity_ids:
        return 0
    current = {row.identity_id: row for row in session.exec(select(ConversationState).where(
        col(ConversationState.identity_id).in_(identity_ids)))}
    chosen = []
    for identity_id in dict.fromkeys(identity_ids):
        row = current.get(identity_id)
        flow_now = None if row is None or (row.expires_at is not None
                                           and as_utc(row.expires_at) <= now) else row.flow
        if flow_now in replaces:
            chosen.append(identity_id)
    if not chosen:
        return 0
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    statement = insert(ConversationState)
    statement = statement.on_conflict_do_update(
        index_elements=["identity_id"],
        set_={"flow": statement.excluded.flow, "step": statement.excluded.step,
              "data": statement.excluded.data, "expires_at": statement.excluded.expires_at,
              "updated_at": statement.excluded.updated_at})
    session.execute(statement, [
        {"identity_id": identity_id, "flow": flow, "step": step, "data": data,
         "expires_at": now + ttl, "updated_at": now} for identity_id in chosen])
    for row in current.values():
        session.expire(row)
    return len(chosen)
