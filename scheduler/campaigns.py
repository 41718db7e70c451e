"""Sending due survey campaigns and their one reminder, once.

Each campaign stage is claimed and fanned out in one transaction; outbox dedupe keys
(``campaign:{id}:start:{contact}``, ``campaign:{id}:reminder:{contact}``) make a replay or a
second scheduler harmless, and the rows carry the subject (campaign, id) and the stage.
Questionnaires and reminders wait for the end of quiet hours. The questions are worded by a
``CampaignSender`` handed in by whoever runs the scheduler (``api/serve.py`` passes the
bot's): the scheduler does not import ``bot``. A campaign that raises is tried again later
and, after ``retries.MAX_ATTEMPTS``, marked failed with its reason; the others go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, or_, select

from core.campaigns import (
    REMINDER,
    START,
    Campaign,
    CampaignStatus,
    campaign_audience,
    context_of,
    dedupe_key,
    message_deadline,
    subject,
)
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.messages import RenderedMessage
from core.models import Community, Contact, Priority
from core.questionnaires.responses import unfinished_contact_ids
from core.quiet_hours import in_quiet_hours, quiet_hours_shift
from scheduler import retries
from scheduler.delivery import deliver

log = logging.getLogger(__name__)

class CampaignSender(Protocol):
    """The next question of a campaign's questionnaire for one reader (bot side)."""

    def __call__(self, session: Session, campaign: Campaign, community: Community,
                 contact: Contact, reminder: bool, now: datetime) -> RenderedMessage | None: ...


@dataclass
class CampaignReport:
    started: list[tuple[int, int]] = field(default_factory=list)  # (campaign, recipients)
    reminded: list[tuple[int, int]] = field(default_factory=list)
    postponed: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (campaign, reason)
    retry_later: bool = False

    @property
    def handled(self) -> int:
        return len(self.started) + len(self.reminded) + len(self.postponed) + len(self.failed)


def run_due_campaigns(engine: Engine, sender: CampaignSender, clock: Clock = utc_now,
                      limit: int = 20) -> CampaignReport:
    """Send due campaigns' first question and due reminders (one campaign per transaction)."""
    report = CampaignReport()
    while report.handled < limit:
        campaign_id: int | None = None
        try:
            with session_scope(engine) as session:
                now = clock()
                campaign = _claim_one(session, now)
                if campaign is None:
                    return report
                campaign_id = campaign.id
                _run(session, campaign, sender, now, report)
        except OperationalError as exc:
            log.info("campaign left for the next tick: %s", exc.__class__.__name__)
            report.retry_later = True
            return report
        except Exception as exc:
            if campaign_id is None:
                raise
            log.exception("campaign %s failed", campaign_id)
            failed = _record_failure(engine, campaign_id, exc, clock())
            if failed is not None:
                report.failed.append(failed)
    return report


def _claim_one(session: Session, now: datetime) -> Campaign | None:
    query = (select(Campaign).where(
        or_((col(Campaign.status) == CampaignStatus.SCHEDULED.value)
            & (col(Campaign.due_at) <= now),
            (col(Campaign.status) == CampaignStatus.SENT.value)
            & (col(Campaign.reminder_due_at) <= now)),
        or_(col(Campaign.retry_at).is_(None), col(Campaign.retry_at) <= now))
        .order_by(col(Campaign.id)).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def _record_failure(engine: Engine, campaign_id: int, exc: Exception, now: datetime
                    ) -> tuple[int, str] | None:
    reason = retries.reason_of(exc)
    with session_scope(engine) as session:
        query = select(Campaign).where(Campaign.id == campaign_id, col(Campaign.status).in_(
            (CampaignStatus.SCHEDULED.value, CampaignStatus.SENT.value)))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        campaign = session.exec(query).first()
        if campaign is None:
            return None
        campaign.attempts += 1
        campaign.last_error = reason
        if campaign.attempts >= retries.MAX_ATTEMPTS:
            campaign.status = CampaignStatus.FAILED.value
            campaign.retry_at = None
        else:
            campaign.retry_at = now + retries.backoff(campaign.attempts)
        session.add(campaign)
        return campaign_id, reason


def _run(session: Session, campaign: Campaign, sender: CampaignSender, now: datetime,
         report: CampaignReport) -> None:
    assert campaign.id is not None
    community = session.get(Community, campaign.community_id)
    assert community is not None
    reminder = campaign.status == CampaignStatus.SENT.value
    stage = REMINDER if reminder else START
    if in_quiet_hours(now, community.quiet_hours, community.timezone):
        later = quiet_hours_shift(now, community.quiet_hours, community.timezone)
        if reminder:
            campaign.reminder_due_at = later
        else:
            campaign.due_at = later
        session.add(campaign)
        report.postponed.append((campaign.id, stage))
        return
    recipients = campaign_audience(session, campaign)
    if reminder:
        waiting = set(unfinished_contact_ids(session, campaign.questionnaire_id,
                                             context_of(campaign.id), now))
        recipients = [(c, i) for c, i in recipients if c.id in waiting]
    deadline = message_deadline(campaign, stage, now)
    count = 0
    for contact, identity in recipients:
        assert contact.id is not None
        message = sender(session, campaign, community, contact, reminder, now)
        if message is None:
            continue  # finished or closed already
        row = deliver(session, message, identity,
                      dedupe_key=dedupe_key(campaign.id, stage, contact.id),
                      subject=subject(campaign.id, stage), priority=Priority.BULK,
                      expires_at=deadline, now=now)
        if row is not None:
            count += 1
    campaign.retry_at = None
    if reminder:
        campaign.status = CampaignStatus.DONE.value
        campaign.reminder_sent_at = now
        campaign.reminded = count
        report.reminded.append((campaign.id, count))
    else:
        campaign.status = CampaignStatus.SENT.value
        campaign.sent_at = now
        campaign.recipients = count
        campaign.reminder_due_at = as_utc(now) + timedelta(
            minutes=campaign.reminder_delay_minutes)
        report.started.append((campaign.id, count))
    session.add(campaign)
