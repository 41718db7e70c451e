"""``voisins demo`` says what it has to show before the chat starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.config import get_settings


def test_the_demo_intro_names_the_past_alert_and_where_to_look(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOISINS_DATABASE_URL", f"sqlite:///{tmp_path}/demo.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "--lang", "en"], input="/quit\n")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "join code VOISINS" in result.stdout
    assert "12 homes together -" in result.stdout
    assert "12 answers to its questionnaire" in result.stdout
    assert "The last alert" in result.stdout and "Survey results" in result.stdout
