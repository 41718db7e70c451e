"""``voisins community create|list|show`` and ``voisins households import``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.config import get_settings


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("VOISINS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_create_list_show_and_import(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["community", "create", "cite-jardin", "--name", "Cité Jardin",
                                  "--timezone", "Europe/Paris", "--locale", "ar"])
    assert created.exit_code == 0, created.output
    shown = json.loads(created.stdout)
    assert shown["slug"] == "cite-jardin" and shown["timezone"] == "Europe/Paris"
    assert shown["default_locale"] == "ar" and len(shown["join_code"]) == 6
    listed = runner.invoke(app, ["community", "list"])
    assert listed.stdout == f"cite-jardin\t{shown['join_code']}\tCité Jardin\n"
    assert json.loads(runner.invoke(app, ["community", "show", "cite-jardin"]).stdout) == shown

    households = tmp_path / "households.csv"
    households.write_text("ref,cluster,sensor\nA01,Nord,flk-1\nA02,Nord,\nB01,Sud,\n",
                          encoding="utf-8")
    codes = tmp_path / "codes.csv"
    imported = runner.invoke(app, ["households", "import", str(households),
                                   "--community", "cite-jardin", "-o", str(codes)])
    assert imported.exit_code == 0, imported.output
    assert "importing" in imported.stderr and "3 households imported" in imported.stderr
    lines = codes.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ref,cluster,code,sensors" and len(lines) == 4
    assert lines[1].startswith("A01,Nord,") and lines[1].endswith(",flk-1")

    again = runner.invoke(app, ["households", "import", str(households),
                                "--community", "cite-jardin"])
    assert again.exit_code == 2
    assert "line 2 (ref): household 'A01' already exists" in again.stderr
    assert "nothing was imported" in again.stderr and again.stdout == ""


@pytest.mark.parametrize(("args", "reason"), [
    (["community", "create", "Bad Slug", "--name", "X"], "slug: a slug is 2 to 40"),
    (["community", "create", "ok", "--name", "X", "--timezone", "Moon/Base"], "timezone:"),
    (["community", "create", "ok", "--name", "X", "--privacy-k", "2"], "privacy_k:"),
    (["community", "create", "ok", "--name", "X", "--quiet-hours", "late"], "quiet_hours:"),
    (["community", "create", "ok", "--name", "X", "--locale", "de"], "default_locale:"),
    (["community", "show", "nope"], "no community 'nope'"),
])
def test_bad_input_is_refused_with_the_reason(cli_db: str, args: list[str],
                                              reason: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and reason in result.stderr, result.output


def test_a_duplicate_community_and_an_unknown_one_for_import(cli_db: str,
                                                             tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["community", "create", "ok", "--name", "X"]).exit_code == 0
    again = runner.invoke(app, ["community", "create", "ok", "--name", "Y"])
    assert again.exit_code == 2 and "already exists" in again.stderr
    file = tmp_path / "h.csv"
    file.write_text("A,B\n", encoding="utf-8")
    missing = runner.invoke(app, ["households", "import", str(file), "--community", "nope"])
    assert missing.exit_code == 2 and "no community 'nope'" in missing.stderr
