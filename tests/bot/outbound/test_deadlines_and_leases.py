"""Every outbox row has a deadline and an attempt cap: what can no longer be true expires,
never goes late, and is counted. Pacing is not failure; a dead dispatcher's rows come back
one short lease later, a slow send keeps its lease."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.flows.alert import AlertMessages
from bot.outbound.dispatch import (
    ChannelLimits,
    RateLimiter,
    TransientSendError,
    dispatch_due,
    recover_interrupted,
)
from bot.rendering.survey_invitations import campaign_message
from core import outbox
from core.alerts import Alert, AlertKind, alert_summary, plan_alert
from core.campaigns import Campaign, campaign_progress, closes_at, create_campaign
from core.clock import Clock, utc_now
from core.communities import community_by_slug, create_community
from core.db import session_scope
from core.identities import touch_identity
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus
from core.questionnaires.storage import create_questionnaire
from scheduler.campaigns import run_due_campaigns
from scheduler.timeline import run_due_steps
from tests.fakes.community import RESIDENTS, seed_residents
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels


def fixed(moment: datetime) -> Clock:
    return lambda: moment


class Recording:
    """A sender that records what it sends; ``fail`` makes every send a transient error."""

    def __init__(self, fail: bool = False, pause: float = 0.0) -> None:
        self.sent: list[str] = []
        self.fail = fail
        self.pause = pause

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        if self.pause:
            time.sleep(self.pause)
        if self.fail:
            raise TransientSendError("provider down")
        self.sent.append(row.dedupe_key)
        return f"id-{row.id}"


def _everyone(sender: Recording) -> dict[str, Recording]:
    return {"telegram": sender, "sms": sender, "whatsapp": sender}


def _rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(
            OutboxMessage.id)).all())  # type: ignore[arg-type]


def _queue(engine: Engine, channel: str, count: int, **row: object) -> None:
    now = row.pop("now", NOW)
    with session_scope(engine) as session:
        create_community(session, "c", "C", join_code="CCC")
        for n in range(count):
            identity = touch_identity(session, channel, f"+3247011{n:04d}", NOW)
            outbox.enqueue(session, dedupe_key=f"test:{n}", identity=identity, kind="reply",
                           payload={"text": f"Hello {n}", "locale": "en"},
                           now=now, **row)  # type: ignore[arg-type]


def test_an_alert_notice_not_sent_before_the_start_expires_and_is_counted(
        engine: Engine) -> None:
    seed_residents(engine, NOW)
    start = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert_id = plan_alert(session, community, starts_at=start, duration_minutes=60,
                              kind=AlertKind.SURPRISE, now=NOW).id
    run_due_steps(engine, AlertMessages(), clock=lambda: start - timedelta(minutes=30))
    # The dispatcher was down until the start: the notices are no longer true.
    sender = Recording()
    report = dispatch_due(engine, _everyone(sender), clock=lambda: start)
    assert sender.sent == [] and report.expired == len(RESIDENTS)
    assert {row.status for row in _rows(engine)} == {OutboxStatus.EXPIRED.value}
    with Session(engine) as session:
        summary = alert_summary(session, session.get(Alert, alert_id))  # type: ignore[arg-type]
    notice = next(s for s in summary["timeline"] if s["stage"] == "notice_30min")
    assert notice["delivery"] == {"queued": 0, "sent": 0, "delivered": 0, "failed": 0,
                                  "expired": len(RESIDENTS)}


def test_a_questionnaire_not_sent_within_48_hours_expires_and_is_counted(
        engine: Engine) -> None:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        create_questionnaire(session, mood_definition(), NOW)
        campaign_id = create_campaign(session, community, "mood", NOW).id
    assert campaign_id is not None
    run_due_campaigns(engine, campaign_message, clock=lambda: NOW)
    sender = Recording()
    dispatch_due(engine, {"telegram": sender}, clock=lambda: NOW)  # only Telegram is up
    dispatch_due(engine, _everyone(sender), clock=lambda: NOW + timedelta(hours=49))
    telegram = sum(1 for channel, *_ in RESIDENTS if channel == "telegram")
    assert len(sender.sent) == telegram
    with Session(engine) as session:
        assert campaign_progress(session, campaign_id) == {
            "sent": telegram, "expired": len(RESIDENTS) - telegram, "started": 0,
            "completed": 0}


def test_a_reminder_not_sent_before_its_campaign_closes_expires(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        create_questionnaire(session, mood_definition(), NOW)
        campaign = create_campaign(session, community, "mood", NOW)
        assert campaign.id is not None
        campaign_id = campaign.id
    sender = Recording()
    run_due_campaigns(engine, campaign_message, clock=fixed(NOW))
    dispatch_due(engine, _everyone(sender), clock=fixed(NOW))
    reminder_at = NOW + timedelta(hours=48)
    run_due_campaigns(engine, campaign_message, clock=fixed(reminder_at))
    with Session(engine) as session:
        reminders = session.exec(select(OutboxMessage).where(
            OutboxMessage.stage == "reminder")).all()
        sent = session.get(Campaign, campaign_id)
        assert sent is not None
        closing = closes_at(sent)
    assert len(reminders) == len(residents) and closing == NOW + timedelta(hours=72)
    assert all(row.expires_at is not None and row.expires_at.replace(tzinfo=UTC) <= closing
               for row in reminders)
    # The dispatcher was down until the questionnaire closed: no reminder goes.
    report = dispatch_due(engine, _everyone(sender), clock=fixed(closing))
    assert report.expired == len(residents) and report.sent == 0


def test_a_row_failing_every_time_expires_after_the_attempt_cap(engine: Engine) -> None:
    _queue(engine, "telegram", 1, expires_at=NOW + timedelta(days=2))
    sender = Recording(fail=True)
    moment = NOW
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        dispatch_due(engine, {"telegram": sender}, clock=fixed(moment))
        moment += outbox.MAX_BACKOFF
    [row] = _rows(engine)
    assert row.status == OutboxStatus.EXPIRED.value and row.attempts == outbox.MAX_ATTEMPTS
    assert row.last_error == f"gave up after {outbox.MAX_ATTEMPTS} attempts: provider down"


def test_a_retry_that_would_come_after_the_deadline_expires_the_row(engine: Engine) -> None:
    _queue(engine, "telegram", 1, expires_at=NOW + timedelta(seconds=1))  # backoff: 2 s
    report = dispatch_due(engine, {"telegram": Recording(fail=True)}, clock=lambda: NOW)
    [row] = _rows(engine)
    assert report.expired == 1 and row.status == OutboxStatus.EXPIRED.value
    assert row.last_error == "deadline passed while retrying: provider down"


def test_rows_for_a_channel_without_a_sender_wait_untouched_then_expire(
        engine: Engine) -> None:
    _queue(engine, "sms", 2)  # a chat reply: stale after a day
    sender = Recording()
    for hours in (0, 1, 23):
        at = NOW + timedelta(hours=hours)
        report = dispatch_due(engine, {"telegram": sender}, clock=fixed(at))
        assert report.total == 0
    assert {(row.status, row.attempts) for row in _rows(engine)} == {("pending", 0)}
    report = dispatch_due(engine, {"telegram": sender}, clock=lambda: NOW + timedelta(
        hours=24))
    assert report.expired == 2 and sender.sent == []
    assert {(row.status, row.last_error) for row in _rows(engine)} == {
        ("expired", "deadline passed")}


def test_a_row_already_past_its_deadline_is_recorded_expired(engine: Engine) -> None:
    _queue(engine, "telegram", 1, expires_at=NOW - timedelta(seconds=1))
    [row] = _rows(engine)
    assert row.status == OutboxStatus.EXPIRED.value
    assert dispatch_due(engine, {"telegram": Recording()}, clock=lambda: NOW).total == 0


def test_a_paced_queue_keeps_its_attempts_at_zero(engine: Engine) -> None:
    """Sixteen SMS at 4/s with eight sending threads: every pass puts rows back for their
    slot. None of that is a failure: attempts stay 0, and the rows go in about 4 s, not
    after a growing backoff."""
    _queue(engine, "sms", 16, now=utc_now())
    sender = Recording()
    pacing = RateLimiter(limits={"sms": ChannelLimits(per_second=4)})
    started = time.monotonic()
    paced = 0
    while len(sender.sent) < 16 and time.monotonic() - started < 30:
        paced += dispatch_due(engine, {"sms": sender}, limiter=pacing, workers=8).paced
        assert max(row.attempts for row in _rows(engine)) == 0
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    assert len(sender.sent) == 16 and paced > 0
    assert elapsed < 10.0
    assert {(row.status, row.attempts) for row in _rows(engine)} == {("sent", 0)}


def test_a_crashed_sending_row_is_taken_back_after_its_lease(engine: Engine) -> None:
    _queue(engine, "telegram", 3)
    with session_scope(engine) as session:  # a dispatcher claims, then dies
        assert len(outbox.claim_due(session, NOW, lease=outbox.LEASE)) == 3
    sender = Recording()
    just_before = NOW + outbox.LEASE - timedelta(seconds=1)
    assert recover_interrupted(engine, just_before) == 0
    assert dispatch_due(engine, {"telegram": sender}, clock=lambda: just_before).total == 0
    after = NOW + outbox.LEASE
    assert recover_interrupted(engine, after) == 3
    assert dispatch_due(engine, {"telegram": sender}, clock=lambda: after).sent == 3
    assert {(row.status, row.attempts) for row in _rows(engine)} == {("sent", 0)}


@pytest.mark.timeout(60)
def test_a_slow_send_renews_its_lease_and_is_not_taken_back(engine: Engine) -> None:
    _queue(engine, "telegram", 1, now=utc_now())
    lease = timedelta(seconds=0.6)
    sender = Recording(pause=1.5)
    taken_back: list[int] = []

    def another_dispatcher_looks() -> None:
        time.sleep(1.0)  # past the first lease, within the renewed one
        taken_back.append(recover_interrupted(engine, utc_now()))

    looker = threading.Thread(target=another_dispatcher_looks)
    looker.start()
    report = dispatch_due(engine, {"telegram": sender}, lease=lease)
    looker.join()
    assert taken_back == [0]
    assert report.sent == 1 and sender.sent == ["test:0"]
    [row] = _rows(engine)
    assert row.status == OutboxStatus.SENT.value and row.leased_until is None
