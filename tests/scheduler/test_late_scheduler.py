"""A scheduler that starts late sends no stale messages: 90 s after a one-minute alert ended,
a resident gets the end and the questionnaire, not "starts at 10:48" and "starts now" in the
same second. The notice and start rows are recorded as expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.senders import build_senders
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.outbound.dispatch import dispatch_due
from core.alerts import Alert, AlertKind, AlertStage, alert_summary, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.models import Community, Contact, OutboxMessage
from scheduler.timeline import run_due_steps
from tests.bot.channels.conftest import settings_for
from tests.fakes.community import RESIDENTS, seed_residents
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
START = NOW + timedelta(hours=1)
END = START + timedelta(minutes=1)


def test_a_scheduler_started_90_s_after_the_end_sends_only_the_end_and_the_questionnaire(
        engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> None:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert_id = plan_alert(session, community, starts_at=START, duration_minutes=1,
                              kind=AlertKind.SURPRISE, now=NOW).id
    assert alert_id is not None
    late = END + timedelta(seconds=90)  # `voisins serve` comes up now, for the first time
    run_due_steps(engine, AlertMessages(), clock=lambda: late,
                  respondents=post_alert_respondents)
    senders = build_senders(engine, settings_for(fake_telegram, fake_twilio),
                            clock=lambda: late)
    for _ in range(2):  # the second pass sends the WhatsApp readers' SMS
        dispatch_due(engine, senders, clock=lambda: late, limit=500)

    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        community = session.exec(select(Community)).one()
        assert alert is not None
        french = Contact(community_id=community.id or 0, locale="fr")
        stale = [AlertMessages().render(stage, alert, community, french).payload["text"]
                 for stage in (AlertStage.NOTICE_30MIN, AlertStage.START)]
        end_text = AlertMessages().render(AlertStage.END, alert, community,
                                          french).payload["text"]
        summary = alert_summary(session, alert)
        rows = session.exec(select(OutboxMessage)).all()
    # A French Telegram reader: the end, then the questionnaire's first question. Nothing else.
    received = fake_telegram.texts_to(100000005)
    assert len(received) == 2 and received[0] == end_text and "1/5" in received[1]
    everything = [m.text or "" for m in fake_telegram.sent] + [m.body or "" for m in
                                                               fake_twilio.sent]
    assert not [text for text in everything if text in stale]
    by_stage = {s["stage"]: s["delivery"] for s in summary["timeline"]}
    assert by_stage["notice_30min"]["expired"] == by_stage["start"]["expired"] == len(RESIDENTS)
    assert by_stage["notice_30min"]["sent"] == by_stage["start"]["sent"] == 0
    assert by_stage["end"]["sent"] == by_stage["questionnaire"]["sent"] == len(RESIDENTS)
    assert {row.status for row in rows if row.stage in ("notice_30min", "start")} == {
        "expired"}
