"""Survey campaigns: a questionnaire sent to an audience (community, cluster, language),
with one reminder to those who have not finished.

A campaign is a row; ``scheduler/campaigns.py`` sends it when due (never in quiet hours)
and reminds once ``reminder_due_at`` has passed. Responses are asked in the context
``campaign:{id}``; its outbox rows have the subject (campaign, id) and the stage "start" or
"reminder".
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, update
from sqlmodel import Field, Session, SQLModel, col, select

from core.alerts import QUESTIONNAIRE_DEADLINE, audience_for, cluster_id_by_name
from core.clock import as_utc
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
from core.questionnaires.responses import DEFAULT_TTL
from core.questionnaires.storage import (
    Questionnaire,
    Response,
    ResponseStatus,
    latest_questionnaire,
)
from core.residents import counts_as_resident

DEFAULT_REMINDER_DELAY = timedelta(hours=48)
START = "start"
REMINDER = "reminder"


class CampaignStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting to be sent
    SENT = "sent"  # first question sent, reminder pending
    DONE = "done"  # reminder sent (or nothing left to remind)
    CANCELLED = "cancelled"  # stopped by a facilitator: nothing more goes out
    FAILED = "failed"  # raised on every attempt: given up, with the reason


class CampaignError(ValueError):
    """A campaign that cannot be made; the message says why (for a 4xx or a chat reply)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable,
                                                index=index))


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    questionnaire_id: int = Field(sa_column=Column(
        Integer, ForeignKey("questionnaire.id", ondelete="CASCADE"), nullable=False, index=True))
    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), nullable=False, index=True))
    cluster_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("cluster.id", ondelete="SET NULL"), nullable=True))
    # Only contacts reading this language; None for everyone.
    locale: str | None = None
    status: str = Field(default=CampaignStatus.SCHEDULED.value, index=True)
    created_by: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="SET NULL"), nullable=True))
    reminder_delay_minutes: int = int(DEFAULT_REMINDER_DELAY.total_seconds() // 60)
    created_at: datetime | None = _utc()
    # When the first question goes; moved to the morning when it falls in quiet hours.
    due_at: datetime | None = _utc(index=True)
    sent_at: datetime | None = _utc()
    recipients: int = 0
    reminder_due_at: datetime | None = _utc(index=True)
    reminder_sent_at: datetime | None = _utc()
    reminded: int = 0
    cancelled_at: datetime | None = _utc()
    # A send that raised: how often, why (the last time), and when it is tried again.
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = _utc()


def context_of(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def dedupe_key(campaign_id: int, stage: str, contact_id: int) -> str:
    return f"campaign:{campaign_id}:{stage}:{contact_id}"


def subject(campaign_id: int, stage: str) -> Subject:
    return Subject(SubjectKind.CAMPAIGN, campaign_id, stage)


def closes_at(campaign: Campaign) -> datetime | None:
    """When the campaign's questionnaire stops taking answers (its responses, opened with
    the first question, expire); None before it is sent."""
    return as_utc(campaign.sent_at) + DEFAULT_TTL if campaign.sent_at else None


def message_deadline(campaign: Campaign, stage: str, now: datetime) -> datetime:
    """The first question goes within 48 h or not at all; a reminder not after the
    campaign closes."""
    deadline = as_utc(now) + QUESTIONNAIRE_DEADLINE
    closing = closes_at(campaign)
    if stage == REMINDER and closing is not None:
        deadline = min(deadline, closing)
    return deadline


def resolve_questionnaire(session: Session, ref: int | str) -> Questionnaire | None:
    """An id (that exact version) or a slug (its active version)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return session.get(Questionnaire, int(ref))
    return latest_questionnaire(session, ref)


def create_campaign(session: Session, community: Community, questionnaire: int | str,
                    now: datetime, cluster: str | int | None = None,
                    locale: str | None = None, created_by: int | None = None,
                    reminder_delay: timedelta = DEFAULT_REMINDER_DELAY,
                    send_at: datetime | None = None) -> Campaign:
    """A campaign due at ``send_at`` (default now); raises ``CampaignError``."""
    assert community.id is not None
    row = resolve_questionnaire(session, questionnaire)
    if row is None or row.id is None:
        raise CampaignError(f"no questionnaire {questionnaire!r}", "not_found")
    cluster_id: int | None = None
    if isinstance(cluster, int):
        cluster_id = cluster
    elif cluster:
        cluster_id = cluster_id_by_name(session, community.id, cluster)
        if cluster_id is None:
            raise CampaignError(f"unknown cluster {cluster!r}")
    if locale is not None and locale not in SUPPORTED_LOCALES:
        raise CampaignError(f"unknown language {locale!r}: one of "
                            f"{', '.join(SUPPORTED_LOCALES)}")
    if not timedelta(hours=1) <= reminder_delay <= timedelta(days=14):
        raise CampaignError("the reminder delay must be between 1 hour and 14 days")
    campaign = Campaign(questionnaire_id=row.id, community_id=community.id,
                        cluster_id=cluster_id, locale=locale, created_by=created_by,
                        reminder_delay_minutes=int(reminder_delay.total_seconds() // 60),
                        created_at=now, due_at=send_at or now,
                        status=CampaignStatus.SCHEDULED.value)
    session.add(campaign)
    session.flush()
    return campaign


def cancel_campaign(session: Session, campaign: Campaign, now: datetime) -> int:
    """Stop a campaign: it is not sent (or not reminded), and its messages still waiting in
    the outbox are held back. Answers already given are kept, and residents half-way through
    may finish. Returns how many waiting messages were held back; raises ``CampaignError``
    when the campaign is already over."""
    assert campaign.id is not None
    if campaign.status == CampaignStatus.CANCELLED.value:
        return 0  # cancelling twice is harmless
    if campaign.status == CampaignStatus.DONE.value:
        raise CampaignError("this campaign is finished: its reminder has gone", "finished")
    campaign.status = CampaignStatus.CANCELLED.value
    campaign.cancelled_at = now
    session.add(campaign)
    held = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.subject_kind) == SubjectKind.CAMPAIGN.value,
               col(OutboxMessage.subject_id) == campaign.id,
               col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.SUPPRESSED.value, last_error="campaign cancelled",
                updated_at=now)
        .execution_options(synchronize_session=False))
    session.flush()
    return int(held.rowcount or 0)


def campaign_audience(session: Session, campaign: Campaign
                      ) -> list[tuple[Contact, ChannelIdentity]]:
    """Consented, reachable residents of the community (cluster), in the campaign's language
    (staff only with a household of their own, as for alerts)."""
    everyone = audience_for(session, campaign.community_id, campaign.cluster_id)
    if campaign.locale is None:
        return everyone
    return [(c, i) for c, i in everyone if c.locale == campaign.locale]


def _first_question_readers(session: Session, campaign_id: int,
                            statuses: tuple[str, ...] | None = None,
                            excluded: tuple[str, ...] = ()) -> set[int]:
    query = select(OutboxMessage.contact_id).where(
        OutboxMessage.subject_kind == SubjectKind.CAMPAIGN.value,
        OutboxMessage.subject_id == campaign_id, OutboxMessage.stage == START,
        col(OutboxMessage.contact_id).is_not(None))
    if statuses is not None:
        query = query.where(col(OutboxMessage.status).in_(statuses))
    if excluded:
        query = query.where(col(OutboxMessage.status).not_in(excluded))
    return {contact_id for contact_id in session.exec(query).all() if contact_id is not None}


def campaign_progress(session: Session, campaign_id: int) -> dict[str, int]:
    """sent: people whose first question was queued (not held back, not expired; a message
    rerouted from WhatsApp to SMS counts once); expired: people whose first question never
    went because its deadline passed; started: answered at least one question or finished;
    completed: finished. Counts only, never who."""
    sent = _first_question_readers(session, campaign_id, excluded=(
        OutboxStatus.SUPPRESSED.value, OutboxStatus.EXPIRED.value))
    expired = _first_question_readers(session, campaign_id,
                                      statuses=(OutboxStatus.EXPIRED.value,)) - sent
    started = completed = 0
    # Residents only: staff answers are not part of a response rate.
    for status, answers in session.exec(
            select(Response.status, Response.answers)
            .join(Contact, col(Contact.id) == Response.contact_id)
            .where(Response.context == context_of(campaign_id), counts_as_resident())):
        if status == ResponseStatus.COMPLETED.value:
            completed += 1
            started += 1
        elif answers:
            started += 1
    return {"sent": len(sent), "expired": len(expired), "started": started,
            "completed": completed}


def campaign_summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    assert campaign.id is not None
    questionnaire = session.get(Questionnaire, campaign.questionnaire_id)

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": campaign.id, "questionnaire_id": campaign.questionnaire_id,
        "questionnaire": questionnaire.slug if questionnaire else None,
        "version": questionnaire.version if questionnaire else None,
        "community_id": campaign.community_id, "cluster_id": campaign.cluster_id,
        "locale": campaign.locale, "status": campaign.status,
        "created_at": iso(campaign.created_at), "due_at": iso(campaign.due_at),
        "sent_at": iso(campaign.sent_at), "reminder_due_at": iso(campaign.reminder_due_at),
        "reminder_sent_at": iso(campaign.reminder_sent_at),
        "cancelled_at": iso(campaign.cancelled_at),
        "attempts": campaign.attempts, "last_error": campaign.last_error,
        "progress": campaign_progress(session, campaign.id),
    }
