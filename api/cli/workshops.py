"""`voisins workshop show ID`: a workshop invitation's progress bar and its answers."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from api.cli.progress import progress_lines
from core.db import make_engine, session_scope
from core.models import SubjectKind
from core.progress import delivery_counts
from core.workshop_tables import Workshop, WorkshopStage, WorkshopStatus
from core.workshops import rsvp_counts

workshop_app = typer.Typer(help="Workshop invitations: watch them go out.", no_args_is_help=True)


def _show_once(workshop_id: int, as_json: bool) -> bool:
    """Prints the progress once; True while invitations are still waiting to go."""
    with session_scope(make_engine()) as session:
        workshop = session.get(Workshop, workshop_id)
        if workshop is None:
            typer.echo(f"error: no workshop {workshop_id}", err=True)
            raise typer.Exit(code=2)
        counts = delivery_counts(session, SubjectKind.WORKSHOP, workshop_id,
                                 stages=[WorkshopStage.INVITATION.value])
        answers = rsvp_counts(session, workshop_id)
        title = workshop.title.get(workshop.author_locale or "", "") or next(
            iter(workshop.title.values()), "")
        status = workshop.status
    delivery = counts.as_dict()
    if as_json:
        typer.echo(json.dumps({"id": workshop_id, "status": status, "delivery": delivery,
                               "rsvps": answers}, indent=2, ensure_ascii=False))
    else:
        typer.echo(f"workshop {workshop_id} ({status}): {title[:60]}")
        shown = "draft" if status == WorkshopStatus.DRAFT.value else (
            "sending" if counts.waiting else status)
        for line in progress_lines(shown, delivery):
            typer.echo(line)
        typer.echo("answers   " + ", ".join(f"{key} {value}" for key, value in answers.items()))
    return status == WorkshopStatus.SENT.value and counts.waiting > 0


@workshop_app.command("show")
def show(workshop_id: int,
         as_json: Annotated[bool, typer.Option("--json", help="The counts as JSON")] = False,
         watch: Annotated[bool, typer.Option(help="Redraw every 2 s until every invitation "
                                                  "has gone")] = False) -> None:
    """The invitations' progress bar, in all and per channel, and the answers so far."""
    waiting = _show_once(workshop_id, as_json)
    while watch and waiting:
        time.sleep(2)
        waiting = _show_once(workshop_id, as_json)
