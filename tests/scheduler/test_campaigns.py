"""Campaigns through the scheduler: first question to the audience once, answers through the
inbox, one reminder only to those who have not finished, quiet hours respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.inbox import handle_incoming
from bot.rendering.survey_invitations import campaign_message
from core.campaigns import Campaign, CampaignStatus, campaign_progress, create_campaign
from core.communities import community_by_slug
from core.db import session_scope
from core.messages import IncomingMessage
from core.models import OutboxMessage, SubjectKind
from core.questionnaires.results import results_for
from core.questionnaires.storage import create_questionnaire
from scheduler.campaigns import CampaignReport, run_due_campaigns
from tests.fakes.community import Resident, seed_residents
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Brussels


def _campaign(engine: Engine, at: datetime = NOW, **kwargs: object) -> int:
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        create_questionnaire(session, mood_definition(), at)
        campaign = create_campaign(session, community, "mood", at, **kwargs)  # type: ignore[arg-type]
        assert campaign.id is not None
        return campaign.id


def _sent(engine: Engine, campaign_id: int, stage: str) -> dict[int, str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.CAMPAIGN.value,
            OutboxMessage.subject_id == campaign_id, OutboxMessage.stage == stage)).all()
    return {r.contact_id: r.payload["text"] for r in rows if r.contact_id is not None}


def _tick(engine: Engine, at: datetime) -> CampaignReport:
    return run_due_campaigns(engine, campaign_message, clock=lambda: at)


def _say(engine: Engine, who: Resident, text: str, at: datetime) -> list[str]:
    rows = handle_incoming(engine, IncomingMessage(who.channel, who.address, text,
                                                   f"{who.address}-{at.isoformat()}-{text}"),
                           clock=lambda: at)
    return [row.payload["text"] for row in rows]


def test_campaign_cycle(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    campaign_id = _campaign(engine)
    report = _tick(engine, NOW)
    assert report.started == [(campaign_id, len(residents))]
    first = _sent(engine, campaign_id, "start")
    assert set(first) == {r.contact_id for r in residents}
    assert "Mood? (fr)" in first[residents[0].contact_id]
    assert "Mood? (ar)" in first[residents[2].contact_id]
    # A second tick (or scheduler) sends nothing more.
    assert _tick(engine, NOW).started == []
    assert len(_sent(engine, campaign_id, "start")) == len(residents)

    done, partial, late = residents[0], residents[1], residents[2]
    later = NOW + timedelta(hours=1)
    _say(engine, done, "1", later)
    _say(engine, done, "fine thanks", later + timedelta(minutes=1))
    _say(engine, partial, "2", later)
    with Session(engine) as session:
        assert campaign_progress(session, campaign_id) == {
            "sent": len(residents), "expired": 0, "started": 2, "completed": 1}

    assert _tick(engine, NOW + timedelta(hours=47)).reminded == []
    due = NOW + timedelta(hours=48)
    report = _tick(engine, due)
    reminders = _sent(engine, campaign_id, "reminder")
    assert set(reminders) == {r.contact_id for r in residents} - {done.contact_id}
    assert report.reminded == [(campaign_id, len(residents) - 1)]
    # The partial answer resumes where it stopped; the others start at the first question.
    assert "Comment? (nl)" in reminders[partial.contact_id]
    assert "Mood? (ar)" in reminders[late.contact_id]
    assert _tick(engine, due + timedelta(hours=1)).reminded == []
    _say(engine, late, "1", due + timedelta(minutes=5))
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status == CampaignStatus.DONE
        results = results_for(session, campaign.questionnaire_id, f"campaign:{campaign_id}")
        # Three answers to the mood question, k = 5: its counts wait for two more people.
        assert results is not None and results.responses == len(residents)
        mood = results.questions[0]
        assert mood.answered == 3 and mood.withheld and mood.counts is None


def test_cluster_and_language_audiences(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    cluster = _campaign(engine, cluster="A")
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        arabic = create_campaign(session, community, "mood", NOW, locale="ar").id
    assert arabic is not None
    _tick(engine, NOW)
    assert set(_sent(engine, cluster, "start")) == {
        r.contact_id for r in residents if r.cluster == "A"}
    assert set(_sent(engine, arabic, "start")) == {
        r.contact_id for r in residents if r.locale == "ar"}


def test_quiet_hours_postpone_start_and_reminder(engine: Engine) -> None:
    seed_residents(engine, NOW)
    night = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Brussels
    campaign_id = _campaign(engine, at=night)
    report = _tick(engine, night)
    assert report.postponed == [(campaign_id, "start")] and _sent(engine, campaign_id,
                                                                   "start") == {}
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Brussels
    assert _tick(engine, morning - timedelta(minutes=1)).started == []
    assert _tick(engine, morning).started[0][0] == campaign_id
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.reminder_due_at = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 04:00 local
        session.add(campaign)
    reminder_night = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    report = _tick(engine, reminder_night)
    assert report.postponed == [(campaign_id, "reminder")]
    assert _sent(engine, campaign_id, "reminder") == {}
    assert _tick(engine, datetime(2026, 12, 4, 7, 0, tzinfo=UTC)).reminded[0][0] == campaign_id


def test_a_cancelled_campaign_sends_nothing_more_and_keeps_answers(engine: Engine) -> None:
    from core.campaigns import CampaignError, cancel_campaign
    from core.models import OutboxStatus

    def another_campaign() -> int:
        with session_scope(engine) as session:
            community = community_by_slug(session, "echappee")
            assert community is not None
            campaign = create_campaign(session, community, "mood", NOW)
            assert campaign.id is not None
            return campaign.id

    residents = seed_residents(engine, NOW)
    never_sent = _campaign(engine)
    started = another_campaign()
    with session_scope(engine) as session:
        campaign = session.get(Campaign, never_sent)
        assert campaign is not None
        assert cancel_campaign(session, campaign, NOW) == 0
    report = _tick(engine, NOW)
    assert report.started == [(started, len(residents))]  # the cancelled one never goes
    assert _sent(engine, never_sent, "start") == {}
    assert _say(engine, residents[0], "1", NOW)  # one resident answers the first question

    later = NOW + timedelta(minutes=5)
    with session_scope(engine) as session:
        campaign = session.get(Campaign, started)
        assert campaign is not None
        # The first questions not dispatched yet are held back (none went out in this test).
        assert cancel_campaign(session, campaign, later) == len(residents)
        assert cancel_campaign(session, campaign, later) == 0  # twice is harmless
        assert campaign_progress(session, started)["sent"] == 0
        assert campaign_progress(session, started)["started"] == 1  # the answer is kept
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.CAMPAIGN.value,
            OutboxMessage.subject_id == started, OutboxMessage.stage == "start")).all()
    assert {row.status for row in rows} == {OutboxStatus.SUPPRESSED.value}
    # No reminder, ever.
    assert _tick(engine, NOW + timedelta(days=3)).reminded == []
    assert _sent(engine, started, "reminder") == {}

    finished = another_campaign()
    _tick(engine, NOW)
    _tick(engine, NOW + timedelta(days=3))
    with session_scope(engine) as session:
        campaign = session.get(Campaign, finished)
        assert campaign is not None and campaign.status == CampaignStatus.DONE.value
        try:
            cancel_campaign(session, campaign, NOW + timedelta(days=3))
        except CampaignError as exc:
            assert exc.code == "finished"
        else:
            raise AssertionError("a finished campaign cannot be cancelled")
