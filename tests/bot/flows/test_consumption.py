""""My consumption": a chart of the resident's own home, or a kind word when there is none."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.console import ConsoleChat
from bot.flows.base import HouseholdView, SendChart
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.demo import seed_demo
from core.media import MediaFile
from core.metering import Energy15
from core.models import Household
from meters.store import add_meter
from tests.bot.flows.conversation import member

WORDS = {"fr": "ma consommation", "nl": "Mijn verbruik", "en": "my consumption",
         "ar": "استهلاكي", "es": "mi consumo"}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_choose_a_chart_by_number_or_typed_words(locale: str) -> None:
    chat = member(locale)
    chat.who = replace(chat.who, household=HouseholdView(11, "H01"))
    chat.says(WORDS[locale])
    assert chat.choice_keys == ["week", "typical", "alert"]
    chat.says("blah")
    assert chat.state.step == "choose"
    chat.says("2")
    assert chat.effects == [SendChart("typical")]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_meter_is_said_kindly(locale: str) -> None:
    chat = member(locale)
    chat.says("menu")
    chat.says("1")
    assert translator(locale).gettext(
        "Your home has no meter linked yet, so I have no chart for you. "
        "Your facilitator can help with that.") in chat.text
    assert chat.effects == []


def _energy(engine: Engine, household_code: str, now: datetime, weeks: int = 9) -> None:
    with session_scope(engine) as session:
        household = session.exec(select(Household).where(Household.code == household_code)
                                 ).one()
        add_meter(session, household, f"sensor-{household_code}")
        start = now - timedelta(weeks=weeks)
        rows = []
        for index in range(weeks * 7 * 96):
            slot = start + timedelta(minutes=15 * index)
            hour = slot.hour + slot.minute / 60
            kwh = 0.05 + 0.15 * max(0.0, math.sin((hour - 6) / 24 * 2 * math.pi))
            valid = index % 500 != 0  # a few gaps: invalid, never zero
            rows.append({"household_id": household.id, "role": "consumption",
                         "slot_start": slot, "kwh": kwh if valid else None,
                         "coverage": 1.0 if valid else 0.4})
        session.execute(insert(Energy15), rows)


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_chart_over_the_terminal_with_caption(engine: Engine, locale: str) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: now)
    _energy(engine, "MAISON04", now)
    screen: list[str] = []
    chat = ConsoleChat(engine, f"chart-{locale}", write=screen.append, clock=lambda: now)
    number = str(SUPPORTED_LOCALES.index(locale) + 1)
    for line in ["JOIN VOISINS", number, "1", "MAISON04", "1", "1"]:
        chat.say(line)
    assert "[image: /media/" in screen[-2]
    with Session(engine) as session:
        media = session.exec(select(MediaFile)).one()
    assert media.data.startswith(b"\x89PNG") and len(media.data) <= 150_000
    caption = screen[-3]
    assert len(caption.strip().splitlines()) >= 2  # caption in plain words
    # Then the menu, so the next number typed means what the resident reads.
    assert translator(locale).gettext("What would you like to do?") in screen[-1]


def test_not_enough_readings_yet(engine: Engine) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: now)
        household = session.exec(select(Household).where(Household.code == "MAISON05")).one()
        add_meter(session, household, "fresh-sensor")
    screen: list[str] = []
    chat = ConsoleChat(engine, "newbie", write=screen.append, clock=lambda: now)
    for line in ["JOIN VOISINS", "3", "yes", "MAISON05", "my consumption", "1"]:
        chat.say(line)
    assert "I don't have enough readings from your meter yet" in screen[-2]
    assert "What would you like to do?" in screen[-1]


def test_my_result_for_the_last_alert(engine: Engine) -> None:
    from core.alerts import AlertKind, plan_alert
    from core.communities import community_by_slug
    from tests.fakes.energy import meter_every_household, seed_energy

    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    alert_start = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    alert_end = alert_start + timedelta(hours=3)
    with session_scope(engine) as session:
        community = seed_demo(session, clock=lambda: now)
        assert community.id is not None
        community_id = community.id
    households = meter_every_household(engine, community_id)
    seed_energy(engine, households, now - timedelta(weeks=9), now,
                alert=(alert_start, alert_end, 0.7))
    with session_scope(engine) as session:
        found = community_by_slug(session, "demo")
        assert found is not None
        plan_alert(session, found, starts_at=alert_start, duration_minutes=180,
                   kind=AlertKind.PLANNED, now=now, record_only=True)
    screen: list[str] = []
    chat = ConsoleChat(engine, "result-fr", write=screen.append, clock=lambda: now)
    for line in ["JOIN VOISINS", "1", "oui", "MAISON01", "ma consommation", "3"]:
        chat.say(line)
    result = screen[-3]
    assert "-30" in result.replace("\u2212", "-") and "[image: /media/" in screen[-2]
    assert "Que voulez-vous faire ?" in screen[-1]
