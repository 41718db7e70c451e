"""``voisins meters ...``: a typer sub-app, mounted by the main CLI with
``app.add_typer(api.cli.meters.app, name="meters")``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.db import make_engine
from meters.ingest import ImportReport, UnknownCommunity, import_readings

app = typer.Typer(help="Meter data: import readings, check meters.", no_args_is_help=True)


@app.callback()
def meters() -> None:
    """Meter data: import readings, check meters."""
    # A callback keeps ``import`` a sub-command even while it is the only one.


def print_report(report: ImportReport) -> None:
    typer.echo(f"accepted: {report.accepted}  rejected: {report.rejected}")
    for reason, count in sorted(report.rejected_by_reason.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {count:>8}  {reason}")
    if report.ignored_columns:
        typer.echo(f"ignored columns (backend sums): {', '.join(report.ignored_columns)}")
    for error in report.errors[:10]:
        typer.echo(f"  line {error.row}: {error.sensor or '-'}: {error.reason}")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV: sensor,timestamp,watts or a Flukso export")],
    community: Annotated[str, typer.Option("--community", help="Community slug")],
    prefix: Annotated[str | None, typer.Option(
        help="Sensor id prefix for a one-home wide export (default: the file name)")] = None,
    url: Annotated[str | None, typer.Option(help="Database URL")] = None,
) -> None:
    """Import meter readings from FILE into a community's configured meters."""
    engine = make_engine(url)
    with typer.progressbar(length=1, label="importing") as bar:

        def set_total(total: int) -> None:
            bar.length = max(total, 1)

        try:
            # The engine, not a session: the import commits in short batches.
            report = import_readings(engine, community, file, sensor_prefix=prefix,
                                     progress=bar.update, progress_total=set_total)
        except UnknownCommunity as error:
            raise typer.BadParameter(str(error), param_hint="--community") from error
    print_report(report)
    if report.accepted == 0:
        raise typer.Exit(code=1)
