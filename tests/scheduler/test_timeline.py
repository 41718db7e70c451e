"""Whole alerts walked with a controlled clock: each message, its time, language and dedupe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.conversation.inbox import handle_incoming
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from core.alerts import Alert as AlertRow
from core.alerts import (
    AlertKind,
    AlertReply,
    AlertStage,
    StepStatus,
    alert_summary,
    cancel_alert,
    plan_alert,
    steps_of,
)
from core.communities import community_by_slug
from core.db import session_scope
from core.messages import IncomingMessage
from core.models import ChannelIdentity, OutboxMessage
from scheduler.timeline import run_due_steps
from tests.fakes.community import RESIDENTS, seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels


@pytest.fixture
def alert_engine(engine: Engine) -> Iterator[Engine]:
    yield engine


def _plan(engine: Engine, kind: AlertKind, starts_at: datetime, minutes: int = 180,
          cluster: str | None = None, now: datetime = NOW) -> int:
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=starts_at, duration_minutes=minutes,
                           kind=kind, now=now, cluster_name=cluster)
        assert alert.id is not None
        return alert.id


def _rows(engine: Engine, alert_id: int) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith(f"alert:{alert_id}:"))
            .order_by(col(OutboxMessage.id))).all())


def _tick(engine: Engine, at: datetime) -> None:
    run_due_steps(engine, AlertMessages(), clock=lambda: at, respondents=post_alert_respondents)


class Delivered:
    """A sender for every channel that only records what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (channel, address, kind)

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        self.sent.append((identity.channel, identity.address, row.kind))
        return f"id-{row.id}"


def _dispatch(engine: Engine, at: datetime, sender: Delivered | None = None) -> Delivered:
    sender = sender or Delivered()
    dispatch_due(engine, {"telegram": sender, "sms": sender, "whatsapp": sender},
                 clock=lambda: at, limit=1000)
    return sender


def test_planned_alert_walk_in_french_dutch_and_arabic_on_every_channel(
        alert_engine: Engine) -> None:
    residents = seed_residents(alert_engine, NOW)
    start = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # Thursday 17:00 local
    alert_id = _plan(alert_engine, AlertKind.PLANNED, start)
    expected_times = {
        "notice_24h": start - timedelta(hours=24), "notice_30min": start - timedelta(minutes=30),
        "start": start, "end": start + timedelta(hours=3),
        "questionnaire": start + timedelta(hours=3),
        "reminder": start + timedelta(hours=27),
    }
    for stage, due in expected_times.items():
        _tick(alert_engine, due - timedelta(seconds=1))
        sent = {r.dedupe_key.split(":")[2] for r in _rows(alert_engine, alert_id)}
        if stage != "questionnaire":  # due with the end message, by default
            assert stage not in sent, f"{stage} went early"
        _tick(alert_engine, due)
        _tick(alert_engine, due + timedelta(seconds=5))  # a second pass sends nothing more
        rows = [r for r in _rows(alert_engine, alert_id) if r.dedupe_key.split(":")[2] == stage]
        assert len(rows) == len(RESIDENTS), stage
        for row in rows:
            resident = next(r for r in residents if f":{r.contact_id}" in row.dedupe_key[-6:]
                            and row.dedupe_key.endswith(f":{r.contact_id}"))
            assert row.channel == resident.channel
            assert row.payload["locale"] == resident.locale
            assert row.next_attempt_at is not None
            assert row.kind == f"alert_{stage}"
    by_locale = {r.payload["locale"]: r.payload["text"] for r in _rows(alert_engine, alert_id)
                 if r.kind == "alert_notice_24h"}
    assert "jeudi à 17:00" in by_locale["fr"] and "3 heures" in by_locale["fr"]
    assert "donderdag om 17:00" in by_locale["nl"]
    assert "الخميس" in by_locale["ar"] and "\u2068" in by_locale["ar"]
    start_rows = [r for r in _rows(alert_engine, alert_id) if r.kind == "alert_start"]
    assert all(len(r.payload["choices"]) == 3 for r in start_rows)
    assert all(len(r.payload["choices"][0]["key"].encode()) <= 64 for r in start_rows)


def test_surprise_alert_sends_one_notice_then_start_and_end(alert_engine: Engine) -> None:
    seed_residents(alert_engine, NOW)
    start = NOW + timedelta(hours=2)
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, start, minutes=120)
    for moment in (start - timedelta(minutes=30), start, start + timedelta(hours=2)):
        _tick(alert_engine, moment)
    kinds = [r.kind for r in _rows(alert_engine, alert_id)]
    assert "alert_notice_24h" not in kinds
    assert kinds.count("alert_notice_30min") == kinds.count("alert_start") == len(RESIDENTS)


def test_cluster_alert_reaches_only_that_cluster(alert_engine: Engine) -> None:
    residents = seed_residents(alert_engine, NOW)
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, NOW + timedelta(hours=1), cluster="B")
    _tick(alert_engine, NOW + timedelta(minutes=30))
    reached = {int(r.dedupe_key.rsplit(":", 1)[1]) for r in _rows(alert_engine, alert_id)}
    assert reached == {r.contact_id for r in residents if r.cluster == "B"}


def test_cancellation_drops_pending_steps_and_tells_those_notified(alert_engine: Engine) -> None:
    seed_residents(alert_engine, NOW)
    start = NOW + timedelta(days=2)
    alert_id = _plan(alert_engine, AlertKind.PLANNED, start)
    _tick(alert_engine, start - timedelta(hours=24))
    _dispatch(alert_engine, start - timedelta(hours=24))
    later = start - timedelta(hours=20)
    with session_scope(alert_engine) as session:
        alert = session.get(AlertRow, alert_id)
        assert alert is not None
        cancel_alert(session, alert, later)
    _tick(alert_engine, later)
    _tick(alert_engine, start)
    kinds = [r.kind for r in _rows(alert_engine, alert_id)]
    assert kinds.count("alert_cancellation") == len(RESIDENTS)
    assert "alert_start" not in kinds
    with Session(alert_engine) as session:
        statuses = {s.stage: s.status for s in steps_of(session, alert_id)}
    assert statuses["start"] == statuses["end"] == StepStatus.CANCELLED.value


def test_a_step_overdue_past_the_grace_is_missed_not_sent_late(alert_engine: Engine) -> None:
    seed_residents(alert_engine, NOW)
    start = NOW + timedelta(hours=1)
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, start, minutes=60)
    _tick(alert_engine, start + timedelta(hours=7))  # the scheduler was down for 7 hours
    with Session(alert_engine) as session:
        statuses = {s.stage: s.status for s in steps_of(session, alert_id)}
    assert statuses["notice_30min"] == statuses["start"] == StepStatus.MISSED.value
    assert statuses["end"] == StepStatus.DONE.value  # 6 h late at most: still within grace
    assert [r.kind for r in _rows(alert_engine, alert_id)].count("alert_start") == 0


def test_questionnaire_held_during_quiet_hours(alert_engine: Engine) -> None:
    seed_residents(alert_engine, NOW)
    start = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 20:00 → 23:00 local
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, start)
    for moment in (start - timedelta(minutes=30), start, start + timedelta(hours=3)):
        _tick(alert_engine, moment)
    kinds = [r.kind for r in _rows(alert_engine, alert_id)]
    assert "alert_end" in kinds and "alert_questionnaire" not in kinds
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 local
    _tick(alert_engine, morning - timedelta(minutes=1))
    assert "alert_questionnaire" not in [r.kind for r in _rows(alert_engine, alert_id)]
    _tick(alert_engine, morning)
    rows = [r for r in _rows(alert_engine, alert_id) if r.kind == "alert_questionnaire"]
    assert len(rows) == len(RESIDENTS)


def test_residents_answer_the_start_message_by_number_or_button(alert_engine: Engine) -> None:
    residents = seed_residents(alert_engine, NOW)
    start = NOW + timedelta(hours=1)
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, start)
    _tick(alert_engine, start)
    sms_fr = next(r for r in residents if r.channel == "sms" and r.locale == "fr")
    replies = handle_incoming(alert_engine, IncomingMessage("sms", sms_fr.address, "1", "in-1"),
                              clock=lambda: start + timedelta(minutes=2))
    fr = translator("fr")
    # The thanks ends the step: on SMS with the hint to send MENU.
    assert replies[0].payload["text"] == "\n".join([fr.gettext("Thank you! Every bit helps."),
                                                    fr.gettext("Send MENU for options.")])
    telegram_nl = next(r for r in residents if r.channel == "telegram" and r.locale == "nl")
    handle_incoming(alert_engine, IncomingMessage(
        "telegram", telegram_nl.address, "", "cb-1", choice_key=f"alert:{alert_id}:away"),
        clock=lambda: start + timedelta(minutes=3))
    with Session(alert_engine) as session:
        intents = {r.contact_id: r.intent for r in session.exec(select(AlertReply)).all()}
        summary = alert_summary(session, session.get(AlertRow, alert_id))  # type: ignore[arg-type]
    assert intents == {sms_fr.contact_id: "in", telegram_nl.contact_id: "away"}
    assert summary["replies"] == {"in": 1, "away": 1}
    start_stage = next(s for s in summary["timeline"] if s["stage"] == "start")
    assert start_stage["delivery"]["queued"] == len(RESIDENTS)


def test_real_clock_default_is_used_when_no_clock_is_given(alert_engine: Engine) -> None:
    seed_residents(alert_engine, NOW)
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, NOW + timedelta(hours=1))
    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        run_due_steps(alert_engine, AlertMessages())
    assert len(_rows(alert_engine, alert_id)) == len(RESIDENTS)
    assert AlertStage.NOTICE_30MIN.value in _rows(alert_engine, alert_id)[0].dedupe_key


def test_linked_telegram_groups_get_the_collective_version(alert_engine: Engine) -> None:
    from core.groups import link_group

    seed_residents(alert_engine, NOW)
    with session_scope(alert_engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        link_group(session, community.id, "-100123", "Voisins de l'Échappée", None, NOW)
    start = NOW + timedelta(hours=1)
    alert_id = _plan(alert_engine, AlertKind.SURPRISE, start, minutes=60)
    for moment in (start - timedelta(minutes=30), start, start + timedelta(hours=1)):
        _tick(alert_engine, moment)
    group_rows = [r for r in _rows(alert_engine, alert_id) if ":group:" in r.dedupe_key]
    assert [r.kind for r in group_rows] == ["alert_notice_30min", "alert_start", "alert_end"]
    assert all(r.channel == "telegram" and r.contact_id is None for r in group_rows)
    assert all(r.payload["choices"] == [] and r.payload["locale"] == "fr" for r in group_rows)
    # A cluster alert concerns some homes only: nothing goes to the whole group.
    cluster_alert = _plan(alert_engine, AlertKind.SURPRISE, start + timedelta(hours=3),
                          cluster="A")
    _tick(alert_engine, start + timedelta(hours=3))
    assert not [r for r in _rows(alert_engine, cluster_alert) if ":group:" in r.dedupe_key]
