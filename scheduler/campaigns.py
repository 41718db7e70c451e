"""Sending due survey campaigns and their one reminder, once.

Each campaign stage is claimed and fanned out in one transaction; outbox dedupe keys
(``campaign:{id}:start:{contact}``, ``campaign:{id}:reminder:{contact}``) make a replay or a
second scheduler harmless. Questionnaires and reminders wait for the end of quiet hours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, or_, select

from core import outbox
from core.campaigns import Campaign, CampaignStatus, campaign_audience, context_of, dedupe_key
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.models import Community, Contact
from core.questionnaires.responses import unfinished_contact_ids
from core.quiet_hours import in_quiet_hours, quiet_hours_shift
from scheduler.timeline import RenderedMessage, _open_conversation

log = logging.getLogger(__name__)

START = "start"
REMINDER = "reminder"


class CampaignSender(Protocol):
    """The next question of a campaign's questionnaire for one reader (bot side)."""

    def __call__(self, session: Session, campaign: Campaign, community: Community,
                 contact: Contact, reminder: bool, now: datetime) -> RenderedMessage | None: ...


@dataclass
class CampaignReport:
    started: list[tuple[int, int]] = field(default_factory=list)  # (campaign, recipients)
    reminded: list[tuple[int, int]] = field(default_factory=list)
    postponed: list[tuple[int, str]] = field(default_factory=list)
    retry_later: bool = False


def run_due_campaigns(engine: Engine, clock: Clock = utc_now,
                      sender: CampaignSender | None = None, limit: int = 20
                      ) -> CampaignReport:
    """Send due campaigns' first question and due reminders (one campaign per transaction)."""
    if sender is None:
        # The bot writes the texts; imported here because ``bot`` imports ``scheduler``.
        from bot.rendering.survey_invitations import campaign_message
        sender = campaign_message
    report = CampaignReport()
    while len(report.started) + len(report.reminded) + len(report.postponed) < limit:
        try:
            with session_scope(engine) as session:
                now = clock()
                campaign = _claim_one(session, now)
                if campaign is None:
                    return report
                _run(session, campaign, sender, now, report)
        except (IntegrityError, OperationalError) as exc:
            log.info("campaign left for the next tick: %s", exc.__class__.__name__)
            report.retry_later = True
            return report
    return report


def _claim_one(session: Session, now: datetime) -> Campaign | None:
    query = (select(Campaign).where(or_(
        (col(Campaign.status) == CampaignStatus.SCHEDULED.value) & (col(Campaign.due_at) <= now),
        (col(Campaign.status) == CampaignStatus.SENT.value)
        & (col(Campaign.reminder_due_at) <= now)))
        .order_by(col(Campaign.id)).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


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
    count = 0
    for contact, identity in recipients:
        assert contact.id is not None and identity.id is not None
        message = sender(session, campaign, community, contact, reminder, now)
        if message is None:
            continue  # finished or closed already
        row = outbox.enqueue(session, dedupe_key=dedupe_key(campaign.id, stage, contact.id),
                             identity=identity, kind=message.kind, payload=message.payload,
                             now=now)
        if row is None:
            continue  # sent before
        count += 1
        if message.awaits is not None:
            _open_conversation(session, identity.id, message.awaits, message.awaits_for, now)
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
