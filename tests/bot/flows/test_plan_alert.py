"""A facilitator plans an alert in chat, with a preview in each recipient language."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.inbox import handle_incoming
from bot.flows.base import PlanAlert
from bot.flows.when_parsing import parse_duration_minutes, parse_when
from core.alerts import Alert, AlertStep
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.demo import seed_demo
from core.messages import IncomingMessage
from core.models import Role
from tests.bot.flows.conversation import Conversation, member
from tests.fakes.community import CONSENT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
TZ = "Europe/Brussels"


@pytest.mark.parametrize(("text", "expected"), [
    ("demain 18:00", datetime(2026, 12, 2, 17, 0, tzinfo=UTC)),
    ("morgen 18u30", datetime(2026, 12, 2, 17, 30, tzinfo=UTC)),
    ("tomorrow 18h", datetime(2026, 12, 2, 17, 0, tzinfo=UTC)),
    ("3/12 17:30", datetime(2026, 12, 3, 16, 30, tzinfo=UTC)),
    ("2026-12-03 17:30", datetime(2026, 12, 3, 16, 30, tzinfo=UTC)),
    ("15:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
    ("1/2 8:00", datetime(2027, 2, 1, 7, 0, tzinfo=UTC)),
    ("غدا 18:00", datetime(2026, 12, 2, 17, 0, tzinfo=UTC)),
    ("mañana 18:00", datetime(2026, 12, 2, 17, 0, tzinfo=UTC)),
])
def test_when_is_read_in_the_community_timezone(text: str, expected: datetime) -> None:
    parsed = parse_when(text, NOW, TZ)
    assert parsed is not None and parsed == expected


@pytest.mark.parametrize("text", ["soon", "31/02 10:00", "25:00", "", "demain", "1 2 3 4"])
def test_unreadable_times(text: str) -> None:
    assert parse_when(text, NOW, TZ) is None


@pytest.mark.parametrize(("text", "minutes"), [
    ("3h", 180), ("2h30", 150), ("2:30", 150), ("90 min", 90), ("90", 90), ("3", 180),
    ("1 u", 60), ("45m", 45),
])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration_minutes(text) == minutes


def _at(moment: datetime) -> datetime:
    return moment


def _facilitator(locale: str) -> Conversation:
    chat = member(locale, channel="telegram")
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    return chat


def _says(chat: Conversation, text: str) -> None:
    chat.says(text, at=NOW)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_guided_planning_with_preview_in_each_language(locale: str) -> None:
    chat = _facilitator(locale)
    _says(chat, "menu")
    assert chat.choice_keys[0] == "plan_alert"
    _says(chat, "1")
    _says(chat, "nonsense")
    assert chat.state.step == "when"
    _says(chat, "tomorrow 18:00")
    assert chat.state.step == "duration"
    _says(chat, "3h")
    assert chat.choice_keys == ["planned", "surprise"]
    _says(chat, "1")
    assert chat.choice_keys == ["real", "drill"]
    _says(chat, "1")
    assert chat.choice_keys == ["*", "cluster:Cabine A", "cluster:Cabine B"]
    _says(chat, "1")
    preview = chat.text
    for shown in ("[ar]", "[fr]", "[nl]", "12"):
        assert shown in preview
    assert chat.choice_keys == ["yes", "no"]
    _says(chat, "1")
    assert chat.effects == [PlanAlert(starts_at="2026-12-02T18:00:00+01:00",
                                      duration_minutes=180, kind="planned", cluster=None)]


def test_an_overlap_is_explained_before_confirmation() -> None:
    chat = _facilitator("fr")
    for text in ("menu", "1", "demain 13:00", "2h", "2", "1", "2"):
        _says(chat, text)
    assert chat.state.step == "when"
    assert chat.effects == []


def test_residents_do_not_get_the_planning_item() -> None:
    chat = member("fr")
    chat.says("menu")
    assert "plan_alert" not in chat.choice_keys


def test_planning_over_the_inbox_creates_the_alert(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
    for index, text in enumerate(["menu", "1", "demain 18:00", "2h", "2", "1", "2", "1"]):
        at = NOW + timedelta(seconds=index)
        handle_incoming(engine, IncomingMessage("console", "demo-facilitator", text,
                                                f"fac-{index}"), clock=functools.partial(_at, at))
    with Session(engine) as session:
        alert = session.exec(select(Alert)).one()
        assert alert.kind == "surprise" and alert.cluster_id is not None
        assert alert.duration_minutes == 120
        assert len(session.exec(select(AlertStep)).all()) == 5


def test_facilitator_gets_a_whatsapp_share_kit_per_language(engine: Engine) -> None:
    from urllib.parse import unquote

    from core.contacts import enrol_contact
    from core.identities import touch_identity

    with session_scope(engine) as session:
        community = seed_demo(session)
        assert community.id is not None
        for address, locale in (("+32470000011", "ar"), ("+32470000012", "nl")):
            identity = touch_identity(session, "sms", address, NOW)
            enrol_contact(session, identity, community.id, locale, CONSENT, NOW)
    rows = []
    for index, text in enumerate(["menu", "2"]):
        rows = handle_incoming(engine, IncomingMessage("console", "demo-facilitator", text,
                                                       f"kit-{index}"), clock=lambda: NOW)
    kits = [row.payload for row in rows[1:-1]]
    # The menu comes after the kits.
    assert [c["key"] for c in rows[-1].payload["choices"]][:2] == ["plan_alert", "share_kit"]
    # Every language the bot speaks, the community's first (not only those already in use).
    assert [kit["locale"] for kit in kits] == ["fr", "nl", "en", "ar", "es"]
    assert all("https://wa.me/?text=" in kit["text"] for kit in kits)
    assert all("VOISINS" in unquote(kit["text"]) for kit in kits)
