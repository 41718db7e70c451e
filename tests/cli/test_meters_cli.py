"""``voisins meters import FILE --community SLUG``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli.meters import app
from core.communities import add_household, create_community
from core.db import session_scope
from meters.store import add_meter


def test_import_command(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        community = create_community(session, "c", "C")
        add_meter(session, add_household(session, community, "H"), "abc")
    csv = tmp_path / "readings.csv"
    csv.write_text("sensor,timestamp,watts\n" + "".join(
        f"abc,{1_700_000_000 + 8 * i},500\n" for i in range(300)) + "abc,bad,1\n")
    result = CliRunner().invoke(app, ["import", str(csv), "--community", "c",
                                      "--url", str(engine.url)])
    assert result.exit_code == 0, result.output
    assert "accepted: 300  rejected: 1" in result.output
    assert "line 302" in result.output
    missing = CliRunner().invoke(app, ["import", str(csv), "--community", "nope",
                                       "--url", str(engine.url)])
    assert missing.exit_code != 0
