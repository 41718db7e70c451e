"""A resident's chart is drawn by the dispatcher, after the inbound transaction: another
webhook is answered while it draws; the wording says what the figures are."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.console import ConsoleChat, ConsoleSender
from bot.conversation.inbox import handle_incoming
from bot.outbound.dispatch import dispatch_due
from bot.rendering.energy_charts import DRAW, KIND_CHART, ChartPreparer, ChartReply, word_and_draw
from core.db import session_scope
from core.demo import seed_demo
from core.messages import IncomingMessage
from core.models import OutboxMessage, OutboxStatus
from meters import resident_chart
from meters.demo import seed_demo_energy
from meters.resident_chart import ResidentChartData
from tests.bot.flows.test_consumption import _energy

NOW = datetime(2026, 12, 1, 19, 10, tzinfo=UTC)  # 20:10 in Brussels


def clock() -> datetime:
    return NOW


def _resident(engine: Engine, screen: list[str], address: str = "resident",
              household: str = "MAISON04") -> ConsoleChat:
    """A French resident of the demo, linked to a home, at the "which chart?" question."""
    chat = ConsoleChat(engine, address, write=screen.append, clock=clock)
    for line in ["JOIN VOISINS", "1", "oui", household, "ma consommation"]:
        chat.say(line)
    return chat


def _chart_rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == KIND_CHART)).all())


def test_another_webhook_is_answered_while_a_chart_renders(engine: Engine) -> None:
    with session_scope(engine) as session:
        community = seed_demo(session, clock=clock)
        assert community.id is not None
        seed_demo_energy(session, community.id, NOW)
    screen: list[str] = []
    _resident(engine, screen)
    drawing, release = threading.Event(), threading.Event()

    def slow_draw(data: ResidentChartData, locale: str, now: datetime, role: str
                  ) -> ChartReply:
        drawing.set()
        release.wait(30)
        return word_and_draw(data, locale, now)

    # The chart request itself: answered at once, nothing drawn in its transaction.
    handle_incoming(engine, IncomingMessage("console", "resident", "1", "ask-chart"),
                    clock=clock)
    assert not drawing.is_set()
    [row] = _chart_rows(engine)
    assert row.status == OutboxStatus.PENDING.value and row.payload[DRAW]["chart"] == "week"
    sender = ConsoleSender(screen.append)
    dispatcher = threading.Thread(target=dispatch_due, args=(engine, {"console": sender}),
                                  kwargs={"clock": clock, "channel": "console",
                                          "preparers": {KIND_CHART: ChartPreparer(slow_draw)}})
    dispatcher.start()
    try:
        assert drawing.wait(30), "the dispatcher never started drawing"
        # Meanwhile a new neighbour writes by SMS: answered without waiting for the chart
        # (a chart drawn inside a write transaction would hold SQLite's lock all along).
        started = time.perf_counter()
        answer = handle_incoming(engine, IncomingMessage("sms", "+32470111222",
                                                         "JOIN VOISINS", "SMmeanwhile"),
                                 clock=clock)
        took = time.perf_counter() - started
    finally:
        release.set()
        dispatcher.join(60)
    assert answer and took < 2.0
    # The chart, then the menu that ends every answer.
    assert "[image: /media/" in screen[-2] and "1. " in screen[-1]
    [row] = _chart_rows(engine)
    assert row.status == OutboxStatus.SENT.value
    assert DRAW not in row.payload and row.payload["image_token"] and row.payload["text"]


def test_a_drawn_chart_is_not_drawn_again_and_a_failure_is_retried(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=clock)
    _energy(engine, "MAISON04", NOW)
    screen: list[str] = []
    chat = _resident(engine, screen)

    def broken(data: ResidentChartData, locale: str, now: datetime, role: str) -> ChartReply:
        raise RuntimeError("matplotlib fell over")

    handle_incoming(engine, IncomingMessage("console", "resident", "2", "ask-typical"),
                    clock=clock)
    report = dispatch_due(engine, {"console": chat.sender}, clock=clock, channel="console",
                          preparers={KIND_CHART: ChartPreparer(broken)})
    # The chart waits for its retry; the menu that followed it went out.
    assert report.retried == 1
    [row] = _chart_rows(engine)
    assert row.status == OutboxStatus.PENDING.value and DRAW in row.payload
    later = NOW + timedelta(minutes=5)
    assert dispatch_due(engine, {"console": chat.sender}, clock=lambda: later,
                        channel="console").sent == 1
    [row] = _chart_rows(engine)
    assert ChartPreparer()(engine, row, later) is None  # drawn once, kept in the row
    assert "[image: /media/" in screen[-1]


def test_the_last_alert_without_a_measured_alert_says_so(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=clock)
    _energy(engine, "MAISON04", NOW)
    screen: list[str] = []
    chat = _resident(engine, screen)
    chat.say("3")
    assert "Aucune alerte n'a encore été mesurée pour votre logement" in "".join(screen[-3:])
    # The chart, then the menu that ends every answer.
    assert "[image: /media/" in screen[-2] and "1. " in screen[-1]


def test_the_last_alert_loads_the_households_energy_once(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(engine) as session:
        community = seed_demo(session, clock=clock)
        assert community.id is not None
        demo = seed_demo_energy(session, community.id, NOW)
    loads = []
    real = resident_chart.load_household_energy

    def counted(*args: object, **kwargs: object) -> object:
        loads.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(resident_chart, "load_household_energy", counted)
    household = next(iter(demo.reduction))
    with Session(engine) as session:
        data = resident_chart.resident_chart_data(session, household, "alert", NOW)
    assert len(loads) == 1
    assert data.measured_alert is not None and data.measured_alert.impact.valid
    assert data.shaded_alert == (data.measured_alert.start, data.measured_alert.end)
    assert data.measured_alert.impact.percent == pytest.approx(
        -100 * demo.reduction[household], abs=8.0)
    # "My last 7 days" run up to this evening, not to last midnight.
    assert data.week_end == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_the_meter_is_blamed_only_when_it_went_silent(locale: str) -> None:
    from bot.flows.results import own_result_words
    from bot.i18n import translator
    from meters.analysis.impact import (
        REASON_FEW_REFERENCE_DAYS,
        REASON_GAP_DURING_ALERT,
        REASON_NO_DATA,
        HouseholdImpact,
    )

    t = translator(locale)
    start = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    wifi = t.gettext("Not enough data from your meter for the alert on {when}, sorry. "
                     "Often a meter that lost its Wi-Fi: your facilitator can help.")
    wifi_start = wifi.split("{when}")[0]

    def words(reason: str) -> str:
        impact = HouseholdImpact(1, False, None, None, None, None, None, None, "same_slots",
                                 reason=reason)
        return own_result_words(t, start, "Europe/Brussels", impact)

    assert words(REASON_GAP_DURING_ALERT).startswith(wifi_start)
    assert words(REASON_NO_DATA).startswith(wifi_start)
    patient = words(REASON_FEW_REFERENCE_DAYS)
    assert not patient.startswith(wifi_start) and "{" not in patient
    assert patient.startswith(t.gettext(
        "I can't measure the alert on {when} for your home yet: your meter needs a few more "
        "ordinary days to know your usual.").split("{when}")[0])
