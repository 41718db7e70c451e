"""The collective result of an alert, walked with a controlled clock: it waits for the data of
the rebound window (or the deadline), goes once per contact, honestly, outside quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels.sms_segments import sms_parts
from bot.flows.results import AlertResultMessages, community_result_text, gesture_tally_lines
from bot.i18n import translator
from core.alerts import Alert as AlertRow
from core.alerts import AlertKind, cancel_alert, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.gestures import choose_gesture, commitment_tally, load_gestures
from core.models import ChannelIdentity, Contact, OutboxMessage
from core.results import AlertResult
from meters.analysis.impact import CommunityImpact
from scheduler.results import ResultsReport, send_due_results
from tests.fakes.community import RESIDENTS, seed_residents
from tests.fakes.energy import meter_every_household, seed_energy

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # Thursday 11:00-14:00 in Brussels
END = START + timedelta(hours=3)
REBOUND_END = END + timedelta(hours=3)  # 17:00 local
DATA_FROM = datetime(2026, 10, 5, 22, 0, tzinfo=UTC)


def _community(engine: Engine, meters: bool = True) -> list[int]:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        community_id = community.id
    return meter_every_household(engine, community_id) if meters else []


def _plan(engine: Engine, start: datetime = START, cluster: str | None = None) -> int:
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=start, duration_minutes=180,
                           kind=AlertKind.PLANNED, now=NOW, cluster_name=cluster)
        assert alert.id is not None
        return alert.id


def _run(engine: Engine, at: datetime) -> ResultsReport:
    return send_due_results(engine, AlertResultMessages(), clock=lambda: at)


def _rows(engine: Engine, alert_id: int) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith(f"alert:{alert_id}:result:"))
            .order_by(col(OutboxMessage.id))).all())


def _result(engine: Engine, alert_id: int) -> AlertResult | None:
    with Session(engine) as session:
        return session.exec(select(AlertResult).where(AlertResult.alert_id == alert_id)).first()


def test_waits_for_the_rebound_data_then_sends_once_per_contact(engine: Engine) -> None:
    households = _community(engine)
    alert_id = _plan(engine)
    last_slot = REBOUND_END - timedelta(minutes=15)
    seed_energy(engine, households, DATA_FROM, last_slot, alert=(START, END, 0.7))
    assert _run(engine, END + timedelta(hours=1)).waiting == []  # rebound window not over
    waiting = _run(engine, REBOUND_END + timedelta(minutes=5))
    assert waiting.waiting == [alert_id] and not _rows(engine, alert_id)
    seed_energy(engine, households, last_slot, REBOUND_END)  # the last slot comes in
    report = _run(engine, REBOUND_END + timedelta(minutes=10))
    assert report.sent == [(alert_id, len(RESIDENTS))]
    rows = _rows(engine, alert_id)
    contacts = sorted(row.contact_id or 0 for row in rows)
    assert [row.dedupe_key for row in rows] == [f"alert:{alert_id}:result:{c}" for c in contacts]
    assert {row.payload["locale"] for row in rows} == {"fr", "nl", "ar"}
    stored = _result(engine, alert_id)
    assert stored is not None and stored.reason == "data_complete" and stored.shown
    assert stored.percent == pytest.approx(-30.0, abs=0.01) and stored.recipients == 6
    told = CommunityImpact(households_valid=6, shown=True, delta_kwh=stored.delta_kwh,
                           percent=stored.percent)
    for row in rows:
        text = row.payload["text"]
        assert text == community_result_text(translator(row.payload["locale"]), told)
        assert "6" in text and "-30" in text and row.payload["choices"] == []
        assert row.kind == "collective_result"
    # Once only: a later tick does nothing, and a replay (the result row lost) adds no row.
    assert _run(engine, REBOUND_END + timedelta(hours=1)).sent == []
    with session_scope(engine) as session:
        session.execute(delete(AlertResult))
    assert _run(engine, REBOUND_END + timedelta(hours=2)).sent == [(alert_id, 6)]
    assert len(_rows(engine, alert_id)) == 6


def test_the_deadline_sends_what_there_is_and_says_not_enough_data(engine: Engine) -> None:
    households = _community(engine)
    alert_id = _plan(engine)
    # Two meters went silent the day before: 4 valid households, fewer than k = 5. Their
    # data might still come (a CSV export), so the result waits for it until the deadline.
    seed_energy(engine, households[:4], DATA_FROM, REBOUND_END, alert=(START, END, 0.7))
    seed_energy(engine, households[4:], DATA_FROM, START - timedelta(days=1))
    assert _run(engine, END + timedelta(hours=47, minutes=59)).waiting == [alert_id]
    report = _run(engine, END + timedelta(hours=48))
    assert report.sent == [(alert_id, 6)]
    for row in _rows(engine, alert_id):
        expected = community_result_text(translator(row.payload["locale"]),
                                         CommunityImpact(households_valid=4, shown=False))
        assert row.payload["text"] == expected
        assert not any(char.isdigit() for char in expected)  # no figure at all
    stored = _result(engine, alert_id)
    assert stored is not None and stored.reason == "deadline"
    assert stored.households_valid == 4 and not stored.shown and stored.delta_kwh is None


def test_a_community_result_also_goes_to_its_groups_in_the_community_language(
        engine: Engine) -> None:
    households = _community(engine)
    whole = _plan(engine)
    cluster = _plan(engine, start=START + timedelta(days=1), cluster="A")
    seed_energy(engine, households, DATA_FROM, REBOUND_END + timedelta(days=1),
                alert=(START, END, 0.7))
    posted: list[dict[str, object]] = []

    def post_to_groups(session: Session, community_id: int, *, dedupe_key: str, kind: str,
                       payload: dict[str, object], now: datetime, **row: object) -> None:
        posted.append({"community": community_id, "key": dedupe_key, "kind": kind,
                       "payload": payload})

    report = send_due_results(engine, AlertResultMessages(),
                              clock=lambda: REBOUND_END + timedelta(days=1),
                              post_to_groups=post_to_groups)
    assert sorted(alert for alert, _ in report.sent) == [whole, cluster]
    assert [(p["key"], p["kind"]) for p in posted] == [(f"alert:{whole}:result",
                                                        "collective_result")]
    payload, stored = posted[0]["payload"], _result(engine, whole)
    assert isinstance(payload, dict) and payload["locale"] == "fr" and stored is not None
    assert payload["text"] == community_result_text(translator("fr"), CommunityImpact(
        6, True, delta_kwh=stored.delta_kwh, percent=stored.percent))


def test_a_meter_that_never_reported_is_not_waited_for(engine: Engine) -> None:
    households = _community(engine)
    alert_id = _plan(engine)
    seed_energy(engine, households[:5], DATA_FROM, REBOUND_END, alert=(START, END, 0.7))
    report = _run(engine, REBOUND_END)
    assert report.sent == [(alert_id, 6)]
    stored = _result(engine, alert_id)
    assert stored is not None and stored.households_valid == 5 and stored.shown


def test_using_more_than_usual_is_told_neutrally(engine: Engine) -> None:
    households = _community(engine)
    alert_id = _plan(engine)
    seed_energy(engine, households, DATA_FROM, REBOUND_END, alert=(START, END, 1.2))
    _run(engine, REBOUND_END)
    stored = _result(engine, alert_id)
    assert stored is not None and stored.percent == pytest.approx(20.0, abs=0.01)
    for row in _rows(engine, alert_id):
        assert "+20" in row.payload["text"]
    english = community_result_text(translator("en"), CommunityImpact(
        households_valid=6, shown=True, delta_kwh=stored.delta_kwh, percent=stored.percent))
    assert "more than usual (+20%). Thanks for taking part!" in english


def test_results_wait_for_the_end_of_quiet_hours(engine: Engine) -> None:
    households = _community(engine)
    evening = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # 17:00-20:00, rebound until 23:00
    alert_id = _plan(engine, start=evening)
    rebound_end = evening + timedelta(hours=6)
    seed_energy(engine, households, DATA_FROM, rebound_end,
                alert=(evening, evening + timedelta(hours=3), 0.7))
    assert _run(engine, rebound_end + timedelta(minutes=5)).postponed == [alert_id]
    assert _run(engine, datetime(2026, 12, 4, 6, 59, tzinfo=UTC)).postponed == [alert_id]
    assert not _rows(engine, alert_id)
    morning = _run(engine, datetime(2026, 12, 4, 7, 0, tzinfo=UTC))  # 08:00 local
    assert morning.sent == [(alert_id, 6)]


def test_a_cluster_alert_is_measured_and_told_to_its_cluster_only(engine: Engine) -> None:
    households = _community(engine)
    alert_id = _plan(engine, cluster="A")
    seed_energy(engine, households, DATA_FROM, REBOUND_END, alert=(START, END, 0.7))
    report = _run(engine, REBOUND_END)
    in_a = [r for r in RESIDENTS if r[3] == "A"]
    assert report.sent == [(alert_id, len(in_a))]
    # Three households in cluster A: fewer than k, so no figure even though all are valid.
    stored = _result(engine, alert_id)
    assert stored is not None and stored.households_valid == 3 and not stored.shown
    assert all(not any(char.isdigit() for char in row.payload["text"])
               for row in _rows(engine, alert_id))


def test_cancelled_recorded_unmetered_and_stale_alerts_get_no_message(engine: Engine) -> None:
    _community(engine, meters=False)
    unmetered = _plan(engine)
    cancelled = _plan(engine, start=START + timedelta(days=1))
    with session_scope(engine) as session:
        alert = session.get(AlertRow, cancelled)
        assert alert is not None
        cancel_alert(session, alert, NOW)
        community = community_by_slug(session, "echappee")
        assert community is not None
        plan_alert(session, community, starts_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
                   duration_minutes=60, kind=AlertKind.SURPRISE, now=NOW, record_only=True)
    report = _run(engine, REBOUND_END + timedelta(days=2))
    assert report.skipped == [(unmetered, "no_meters")] and report.sent == []
    with Session(engine) as session:
        assert not session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).contains(":result:"))).all()


def test_an_alert_long_past_its_deadline_is_not_announced_late(engine: Engine) -> None:
    households = _community(engine)
    alert_id = _plan(engine)
    seed_energy(engine, households, DATA_FROM, REBOUND_END, alert=(START, END, 0.7))
    report = _run(engine, END + timedelta(days=10))
    assert report.skipped == [(alert_id, "too_late")] and not _rows(engine, alert_id)



def test_the_result_adds_the_gesture_tally_from_k_households(engine: Engine) -> None:
    households = _community(engine)  # six residents, six homes, k = 5
    first = _plan(engine)
    second = _plan(engine, START + timedelta(days=1))
    seed_energy(engine, households, DATA_FROM, REBOUND_END + timedelta(days=1),
                alert=(START, END, 0.7))
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        contact_ids = [c.id or 0 for c in session.exec(select(Contact).order_by(col(Contact.id)))]
        for contact_id in contact_ids[:4]:  # k - 1 households
            choose_gesture(session, contact_id, "washer_after_alert", NOW)
    assert _run(engine, REBOUND_END + timedelta(minutes=10)).sent == [(first, 6)]
    assert all("\n" not in row.payload["text"] for row in _rows(engine, first))
    with session_scope(engine) as session:
        choose_gesture(session, contact_ids[4], "washer_after_alert", NOW)
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        tally = commitment_tally(session, community.id, NOW)
        channels = {i.id: i.channel for i in session.exec(select(ChannelIdentity))}
    assert tally is not None and tally.households == 5
    # The SMS counter the serving process hands in (api/serve.py).
    renderer = AlertResultMessages(sms_fits=lambda text: len(sms_parts(text)) == 1)
    assert send_due_results(engine, renderer, clock=lambda: REBOUND_END + timedelta(
        days=1, minutes=10)).sent == [(second, 6)]
    for row in _rows(engine, second):
        full, short = gesture_tally_lines(translator(row.payload["locale"]), tally)
        if channels[row.identity_id] != "sms":
            assert row.payload["text"].endswith("\n" + full)
        elif row.payload["locale"] != "ar":
            assert row.payload["text"].endswith((full, short))
        # An Arabic SMS keeps the line only when it fits in two segments.
