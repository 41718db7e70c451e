"""The same inbox and outbox on PostgreSQL (runs in CI, skips on a laptop without it)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.inbox import handle_incoming
from core import outbox
from core.db import session_scope
from core.demo import seed_demo
from core.messages import IncomingMessage
from core.models import Contact, OutboxStatus

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_enrolment_idempotency_and_claims_on_postgres(pg_engine: Engine) -> None:
    with session_scope(pg_engine) as session:
        seed_demo(session, clock=lambda: T0)
    for index, text in enumerate(["JOIN VOISINS", "1", "oui", "passer"]):
        message = IncomingMessage("sms", "+32470999999", text, f"pg-{index}")
        assert handle_incoming(pg_engine, message, clock=lambda: T0)
        assert handle_incoming(pg_engine, message, clock=lambda: T0) == []
    with Session(pg_engine) as session:
        residents = session.exec(select(Contact).where(Contact.role == "resident")).all()
        assert len(residents) == 1 and residents[0].locale == "fr"
    with session_scope(pg_engine) as session:
        first = outbox.claim_due(session, T0, limit=2)
    with session_scope(pg_engine) as session:
        second = outbox.claim_due(session, T0, limit=10)
    # Five replies: the language question, the consent in two SMS, the household question,
    # the welcome.
    assert len(first) == 2 and len(second) == 3
    assert not {r.id for r in first} & {r.id for r in second}
    assert all(r.status == OutboxStatus.SENDING.value for r in first + second)
