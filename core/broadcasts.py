"""Plain broadcasts: news, tips, "the workshop room changed". A text per language, an
audience, no answers.

A broadcast is written (``draft``), then sent: ``scheduled`` until the scheduler fans it out
(``scheduler/broadcasts.py``: one outbox row per reader, never in quiet hours), ``sending``
while its rows go, ``sent`` once none is waiting. Cancelling it holds back every row not
sent yet (they end ``cancelled``). Its rows carry the subject (broadcast, id, "news"); the
counts per channel come from them (``core/progress.py``).

Residents who muted news (``core/topics.py``) are not in the audience; STOP stops
everything anyway.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, update
from sqlmodel import Field, Session, SQLModel, col

from core.audience import AudienceSpec, resolve_audience
from core.config import SUPPORTED_LOCALES
from core.models import (
    ChannelIdentity,
    Community,
    Contact,
    OutboxMessage,
    OutboxStatus,
    SubjectKind,
)
from core.outbox import Subject
from core.progress import delivery_counts
from core.topics import Topic

STAGE = "news"
# What a resident may be sent: long enough for a few sentences, short enough for a few SMS.
MAX_TEXT = 600
# News not delivered within a day is old news.
DEADLINE = timedelta(hours=24)


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"  # written, not sent
    SCHEDULED = "scheduled"  # send asked: the scheduler fans it out (after quiet hours)
    SENDING = "sending"  # rows queued, some still waiting
    SENT = "sent"  # nothing waiting any more
    CANCELLED = "cancelled"  # stopped: rows not sent yet were held back
    FAILED = "failed"  # the fan-out raised on every attempt


class BroadcastError(ValueError):
    """A broadcast that cannot be made or moved on; the message says why."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def _utc(index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), index=index))


class Broadcast(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), nullable=False, index=True))
    created_by: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="SET NULL"), nullable=True))
    # {"fr": "...", "nl": "..."}; a reader whose language is missing gets ``source_locale``'s.
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source_locale: str = "fr"
    # An ``AudienceSpec`` as JSON: {"cluster"?, "languages"?, "came_to"?}; {} for everyone.
    audience: dict[str, Any] = Field(default_factory=dict,
                                     sa_column=Column(JSON, nullable=False))
    status: str = Field(default=BroadcastStatus.DRAFT.value, index=True)
    created_at: datetime | None = _utc()
    due_at: datetime | None = _utc(index=True)
    queued_at: datetime | None = _utc()
    finished_at: datetime | None = _utc()
    cancelled_at: datetime | None = _utc()
    recipients: int = 0
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = _utc()


def subject(broadcast_id: int) -> Subject:
    return Subject(SubjectKind.BROADCAST, broadcast_id, STAGE)


def dedupe_key(broadcast_id: int, contact_id: int) -> str:
    return f"broadcast:{broadcast_id}:{contact_id}"


def text_for(broadcast: Broadcast, locale: str) -> tuple[str, str]:
    """The text a reader of ``locale`` gets, and its language (the source when missing)."""
    if broadcast.texts.get(locale):
        return broadcast.texts[locale], locale
    return broadcast.texts.get(broadcast.source_locale, ""), broadcast.source_locale


def check_texts(texts: dict[str, str], source_locale: str | None) -> str:
    """Raises ``BroadcastError`` for an unusable set of texts; returns the source locale."""
    if not texts:
        raise BroadcastError("write the text in at least one language")
    for locale, text in texts.items():
        if locale not in SUPPORTED_LOCALES:
            raise BroadcastError(f"unknown language {locale!r}: one of "
                                 f"{', '.join(SUPPORTED_LOCALES)}")
        if not text.strip():
            raise BroadcastError(f"the {locale} text is empty")
        if len(text) > MAX_TEXT:
            raise BroadcastError(f"the {locale} text is longer than {MAX_TEXT} characters")
    source = source_locale or next(iter(texts))
    if source not in texts:
        raise BroadcastError(f"source_locale {source!r} has no text")
    return source


def create_broadcast(session: Session, community: Community, texts: dict[str, str],
                     now: datetime, *, source_locale: str | None = None,
                     audience: AudienceSpec | None = None,
                     created_by: int | None = None) -> Broadcast:
    """A draft; raises ``BroadcastError`` (or ``AudienceError`` for a bad audience)."""
    assert community.id is not None
    texts = {locale: text.strip() for locale, text in texts.items()}
    source = check_texts(texts, source_locale)
    spec = audience or AudienceSpec()
    spec.check(session, community.id)
    broadcast = Broadcast(community_id=community.id, created_by=created_by, texts=texts,
                          source_locale=source, audience=spec.to_json(), created_at=now,
                          status=BroadcastStatus.DRAFT.value)
    session.add(broadcast)
    session.flush()
    return broadcast


def send_broadcast(session: Session, broadcast: Broadcast, now: datetime) -> Broadcast:
    """Ask for it to go now (the scheduler fans it out at its next tick, or after quiet
    hours). Sending twice is harmless."""
    if broadcast.status in (BroadcastStatus.SCHEDULED.value, BroadcastStatus.SENDING.value,
                            BroadcastStatus.SENT.value):
        return broadcast
    if broadcast.status != BroadcastStatus.DRAFT.value:
        raise BroadcastError(f"this broadcast is {broadcast.status}", "conflict")
    broadcast.status = BroadcastStatus.SCHEDULED.value
    broadcast.due_at = now
    session.add(broadcast)
    session.flush()
    return broadcast


def cancel_broadcast(session: Session, broadcast: Broadcast, now: datetime) -> int:
    """Stop it: not sent if not fanned out yet, and its rows still waiting end
    ``cancelled``. Returns how many were held back; raises when everything has gone."""
    if broadcast.status == BroadcastStatus.CANCELLED.value:
        return 0
    if broadcast.status in (BroadcastStatus.SENT.value, BroadcastStatus.FAILED.value):
        raise BroadcastError(f"this broadcast is {broadcast.status}: nothing is waiting",
                             "finished")
    broadcast.status = BroadcastStatus.CANCELLED.value
    broadcast.cancelled_at = now
    broadcast.finished_at = now
    session.add(broadcast)
    held = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.subject_kind) == SubjectKind.BROADCAST.value,
               col(OutboxMessage.subject_id) == broadcast.id,
               col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value, last_error="broadcast cancelled",
                updated_at=now)
        .execution_options(synchronize_session=False))
    session.flush()
    return int(held.rowcount or 0)


def broadcast_audience(session: Session, broadcast: Broadcast
                       ) -> list[tuple[Contact, ChannelIdentity]]:
    """Consented, reachable, not stopped residents the audience covers, less those who
    muted news (``core.audience``)."""
    return resolve_audience(session, broadcast.community_id,
                            AudienceSpec.from_json(broadcast.audience),
                            topic=Topic.NEWS.value).members


def broadcast_summary(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    """The broadcast and its delivery counts, in all and per channel (counts only)."""
    assert broadcast.id is not None

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": broadcast.id, "community_id": broadcast.community_id,
        "status": broadcast.status, "text": dict(broadcast.texts),
        "source_locale": broadcast.source_locale, "audience": dict(broadcast.audience),
        "created_at": iso(broadcast.created_at), "due_at": iso(broadcast.due_at),
        "queued_at": iso(broadcast.queued_at), "finished_at": iso(broadcast.finished_at),
        "cancelled_at": iso(broadcast.cancelled_at), "recipients": broadcast.recipients,
        "attempts": broadcast.attempts, "last_error": broadcast.last_error,
        "delivery": delivery_counts(session, SubjectKind.BROADCAST, broadcast.id,
                                    (STAGE,)).as_dict(),
    }
