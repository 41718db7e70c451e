"""Outbox rows say what they are about in columns: a message rerouted from WhatsApp to SMS
stays the same alert's (or campaign's) message, so a cancellation reaches everyone told,
once, on the channel they were told on, and campaign progress counts people, not rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.senders import build_senders
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.outbound.dispatch import dispatch_due
from bot.rendering.survey_invitations import campaign_message
from core.alerts import (
    Alert,
    AlertKind,
    AlertStage,
    StepStatus,
    alert_summary,
    cancel_alert,
    steps_of,
)
from core.alerts import plan_alert as plan
from core.campaigns import campaign_progress, create_campaign
from core.communities import community_by_slug
from core.db import session_scope
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus, SubjectKind
from core.questionnaires.storage import create_questionnaire
from scheduler.campaigns import run_due_campaigns
from scheduler.timeline import run_due_steps
from tests.bot.channels.conftest import settings_for
from tests.fakes.community import RESIDENTS, seed_residents
from tests.fakes.surveys import mood_definition
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
START = NOW + timedelta(days=2)
WHATSAPP = [address for channel, address, _, _ in RESIDENTS if channel == "whatsapp"]


def _walk(engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio,
          moment: datetime) -> None:
    """The scheduler's tick then two dispatcher passes (the second sends the reroutes).
    WhatsApp readers are outside their 24 h window and no template is configured: their
    messages are rerouted to SMS."""
    run_due_steps(engine, AlertMessages(), clock=lambda: moment,
                  respondents=post_alert_respondents)
    senders = build_senders(engine, settings_for(fake_telegram, fake_twilio),
                            clock=lambda: moment)
    for _ in range(2):
        dispatch_due(engine, senders, clock=lambda: moment, limit=500)


def test_reroute_then_cancel_tells_everyone_told_once_on_the_channel_they_were_told_on(
        engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> None:
    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert_id = plan(session, community, starts_at=START, duration_minutes=120,
                        kind=AlertKind.PLANNED, now=NOW).id
    assert alert_id is not None
    notice_at = START - timedelta(hours=24)
    _walk(engine, fake_telegram, fake_twilio, notice_at)
    with Session(engine) as session:
        rerouted = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.endswith(":via:sms"))).all()
    # The rerouted rows keep the subject: the same alert's notice, for the same person.
    assert len(rerouted) == len(WHATSAPP)
    assert all((r.subject_kind, r.subject_id, r.stage) == ("alert", alert_id, "notice_24h")
               and r.contact_id is not None and r.status == "sent" for r in rerouted)

    later = notice_at + timedelta(hours=2)
    with session_scope(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        cancel_alert(session, alert, later)
    _walk(engine, fake_telegram, fake_twilio, later)
    _walk(engine, fake_telegram, fake_twilio, later + timedelta(minutes=1))  # nothing more

    with Session(engine) as session:
        steps = {s.stage: s for s in steps_of(session, alert_id)}
        cancellations = session.exec(select(OutboxMessage, ChannelIdentity).join(
            ChannelIdentity, ChannelIdentity.id == OutboxMessage.identity_id).where(  # type: ignore[arg-type]
            OutboxMessage.stage == AlertStage.CANCELLATION.value)).all()
        summary = alert_summary(session, session.get(Alert, alert_id))  # type: ignore[arg-type]
    assert steps["cancellation"].status == StepStatus.DONE.value
    assert steps["cancellation"].attempts == 0 and steps["cancellation"].last_error is None
    # Once each, on the channel each was told on: WhatsApp readers by SMS.
    assert Counter(row.contact_id for row, _ in cancellations) == Counter(
        r.contact_id for r in residents)
    told_on = {r.contact_id: "sms" if r.channel == "whatsapp" else r.channel for r in residents}
    assert {row.contact_id: identity.channel for row, identity in cancellations} == told_on
    assert all(row.status == OutboxStatus.SENT.value for row, _ in cancellations)
    for address in WHATSAPP:  # the notice and the cancellation, both by SMS, once each
        assert len(fake_twilio.bodies_to(address)) == 2
    cancelled = next(s for s in summary["timeline"] if s["stage"] == "cancellation")
    assert cancelled["delivery"]["sent"] == len(residents)
    notice = next(s for s in summary["timeline"] if s["stage"] == "notice_24h")
    # The refused WhatsApp rows count as failed, their SMS as sent: six people, eight rows.
    assert (notice["delivery"]["sent"], notice["delivery"]["failed"]) == (
        len(residents), len(WHATSAPP))


def test_campaign_progress_counts_a_rerouted_question_once(
        engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> None:
    residents = seed_residents(engine, NOW)
    moment = NOW + timedelta(days=1, hours=1)  # WhatsApp windows closed
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        create_questionnaire(session, mood_definition(), NOW)
        campaign_id = create_campaign(session, community, "mood", moment).id
    assert campaign_id is not None
    run_due_campaigns(engine, campaign_message, clock=lambda: moment)
    senders = build_senders(engine, settings_for(fake_telegram, fake_twilio),
                            clock=lambda: moment)
    for _ in range(2):
        dispatch_due(engine, senders, clock=lambda: moment)
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.CAMPAIGN.value,
            OutboxMessage.subject_id == campaign_id)).all()
        progress = campaign_progress(session, campaign_id)
    assert len(rows) == len(residents) + len(WHATSAPP)  # the refused rows and their SMS
    assert progress["sent"] == len(residents) and progress["expired"] == 0
