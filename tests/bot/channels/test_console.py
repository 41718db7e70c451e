"""The terminal channel: whole conversations as a resident types them, in every language."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.channels.console import ConsoleChat
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.demo import seed_demo

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_enrol_and_use_every_flow_over_the_terminal(engine: Engine, locale: str) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
    screen: list[str] = []
    chat = ConsoleChat(engine, f"tester-{locale}", write=screen.append)
    t = translator(locale)
    number = str(SUPPORTED_LOCALES.index(locale) + 1)
    for line in ["JOIN VOISINS", number, "1", "MAISON05"]:
        chat.say(line)
    assert t.gettext("What would you like to do?") in screen[-1]
    chat.say("5")  # my data
    assert t.gettext("Household: {household}", household="H05") in screen[-1]
    chat.say("menu")
    chat.say("9")  # help
    assert "  1. " in screen[-1]
    chat.say("STOP")
    assert "START" in screen[-1]
    chat.say("START")
    chat.say("8")  # erase my data
    chat.say("1")
    assert screen[-1] == "\nVoisins › " + t.gettext(
        "Done: your data has been erased. Thank you for taking part! "
        "Send JOIN with your code if you ever want to come back.")


def test_make_demo_reaches_the_welcome(tmp_path: Path) -> None:
    env = {**os.environ, "VOISINS_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo"], input="3\n1\nMAISON01\n/quit\n",
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "JOIN VOISINS" in result.stdout
    assert "You are in!" in result.stdout  # chosen English at step 1
    assert "What would you like to do?" in result.stdout
