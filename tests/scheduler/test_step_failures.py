"""A scheduler step that raises never holds up the others: it is tried again with a backoff,
then marked failed with its reason, shown by `voisins alert show` and the admin API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from bot.flows.alert import AlertMessages
from bot.rendering.survey_invitations import campaign_message
from core.alerts import Alert, AlertKind, AlertStage, AlertStep, StepStatus, plan_alert
from core.campaigns import Campaign, CampaignStatus, create_campaign
from core.clock import Clock
from core.communities import community_by_slug, create_community
from core.config import Settings, get_settings
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity
from core.messages import RenderedMessage
from core.models import Community, Contact, OutboxMessage, SubjectKind
from core.questionnaires.storage import create_questionnaire
from scheduler import retries
from scheduler.campaigns import run_due_campaigns
from scheduler.timeline import run_due_steps
from tests.fakes.community import CONSENT, seed_residents
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels


def fixed(moment: datetime) -> Clock:
    return lambda: moment
BROKEN = "echappee"


class BrokenForOneCommunity(AlertMessages):
    """The alert texts, except that one community's raise (a bug, a bad row...)."""

    def render(self, stage: AlertStage, alert: Alert, community: Community, contact: Contact,
               gesture: Mapping[str, str] | None = None) -> RenderedMessage:
        if community.slug == BROKEN:
            raise RuntimeError("no text for this community")
        return super().render(stage, alert, community, contact, gesture)


def _second_community(engine: Engine) -> None:
    with session_scope(engine) as session:
        other = create_community(session, "riviere", "La Rivière", join_code="RIV")
        assert other.id is not None
        identity = touch_identity(session, "sms", "+32470009999", NOW)
        enrol_contact(session, identity, other.id, "fr", CONSENT, NOW)


def _plan(engine: Engine, slug: str, starts_at: datetime) -> int:
    with session_scope(engine) as session:
        community = community_by_slug(session, slug)
        assert community is not None
        alert_id = plan_alert(session, community, starts_at=starts_at, duration_minutes=60,
                              kind=AlertKind.SURPRISE, now=NOW).id
    assert alert_id is not None
    return alert_id


def _notice(engine: Engine, alert_id: int) -> AlertStep:
    with Session(engine) as session:
        return session.exec(select(AlertStep).where(
            AlertStep.alert_id == alert_id,
            AlertStep.stage == AlertStage.NOTICE_30MIN.value)).one()


@pytest.fixture
def two_alerts(engine: Engine) -> Iterator[tuple[int, int]]:
    seed_residents(engine, NOW)
    _second_community(engine)
    broken = _plan(engine, BROKEN, NOW + timedelta(hours=1))  # due first, claimed first
    fine = _plan(engine, "riviere", NOW + timedelta(hours=1, minutes=1))
    yield broken, fine


def test_a_step_that_raises_does_not_delay_another_communitys_step(
        engine: Engine, two_alerts: tuple[int, int]) -> None:
    broken, fine = two_alerts
    moment = NOW + timedelta(minutes=31)  # both 30-minute notices are due
    report = run_due_steps(engine, BrokenForOneCommunity(), clock=lambda: moment)
    assert report.done == [(fine, "notice_30min", 1)]  # in the same tick
    assert report.failed == [(broken, "notice_30min", "RuntimeError: no text for this "
                                                      "community")]
    step = _notice(engine, broken)
    assert (step.status, step.attempts) == (StepStatus.PENDING.value, 1)
    assert step.retry_at is not None
    assert step.retry_at.replace(tzinfo=UTC) == moment + retries.FIRST_RETRY
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.ALERT.value)).all()
    assert {row.subject_id for row in rows} == {fine}  # the failed try wrote nothing

    # Not retried before its backoff: a later tick does the other due steps only.
    assert run_due_steps(engine, BrokenForOneCommunity(),
                         clock=lambda: moment + timedelta(seconds=10)).failed == []
    assert _notice(engine, broken).attempts == 1


def test_a_step_that_keeps_raising_is_marked_failed_with_its_reason(
        engine: Engine, two_alerts: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    broken, _ = two_alerts
    moment = NOW + timedelta(minutes=31)
    for attempt in range(1, retries.MAX_ATTEMPTS + 1):
        run_due_steps(engine, BrokenForOneCommunity(), clock=fixed(moment))
        moment += retries.backoff(attempt)
    assert moment < NOW + timedelta(hours=1)  # all before the start
    step = _notice(engine, broken)
    assert (step.status, step.attempts) == (StepStatus.FAILED.value, retries.MAX_ATTEMPTS)
    assert step.last_error == "RuntimeError: no text for this community"
    # The later steps of that alert still run when due (here: fixed renderer).
    run_due_steps(engine, AlertMessages(), clock=lambda: NOW + timedelta(hours=1))
    with Session(engine) as session:
        start = session.exec(select(AlertStep).where(
            AlertStep.alert_id == broken, AlertStep.stage == "start")).one()
    assert start.status == StepStatus.DONE.value

    # Shown by the admin API...
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as client:
        body = client.get(f"/api/v1/alerts/{broken}",
                          headers={"Authorization": "Bearer s3cret"}).json()
    notice = next(s for s in body["timeline"] if s["stage"] == "notice_30min")
    assert notice["status"] == "failed" and notice["attempts"] == retries.MAX_ATTEMPTS
    assert notice["last_error"] == "RuntimeError: no text for this community"
    # ... and by `voisins alert show`.
    monkeypatch.setenv("VOISINS_DATABASE_URL", engine.url.render_as_string(
        hide_password=False))
    get_settings.cache_clear()
    try:
        shown = CliRunner().invoke(cli, ["alert", "show", str(broken)])
    finally:
        get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "failed: RuntimeError: no text for this community" in shown.stderr
    notice = next(s for s in json.loads(shown.stdout)["timeline"]
                  if s["stage"] == "notice_30min")
    assert notice["status"] == "failed" and "no text" in notice["last_error"]


def test_a_campaign_that_raises_does_not_hold_up_the_next(engine: Engine) -> None:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        create_questionnaire(session, mood_definition(), NOW)
        first = create_campaign(session, community, "mood", NOW, locale="fr").id
        second = create_campaign(session, community, "mood", NOW, locale="nl").id

    def broken_for_french(session: Session, campaign: Campaign, community: Community,
                          contact: Contact, reminder: bool, now: datetime
                          ) -> RenderedMessage | None:
        if campaign.locale == "fr":
            raise ValueError("bad questionnaire row")
        return campaign_message(session, campaign, community, contact, reminder, now)

    moment = NOW
    report = run_due_campaigns(engine, broken_for_french, clock=lambda: moment)
    assert [campaign for campaign, _ in report.started] == [second]
    assert report.failed == [(first, "ValueError: bad questionnaire row")]
    for _ in range(retries.MAX_ATTEMPTS - 1):
        moment += retries.MAX_RETRY
        run_due_campaigns(engine, broken_for_french, clock=fixed(moment))
    with Session(engine) as session:
        campaign = session.get(Campaign, first)
        assert campaign is not None
        assert campaign.status == CampaignStatus.FAILED.value
        assert campaign.last_error == "ValueError: bad questionnaire row"
