"""`voisins broadcast ...`: write, send, watch and cancel news from the command line."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from sqlmodel import Session

from api.cli.progress import progress_lines
from core.audience import AudienceError, AudienceSpec
from core.broadcasts import (
    Broadcast,
    BroadcastError,
    BroadcastStatus,
    broadcast_summary,
    cancel_broadcast,
    create_broadcast,
    send_broadcast,
)
from core.clock import utc_now
from core.communities import community_by_slug
from core.db import make_engine, migrate, session_scope

broadcast_app = typer.Typer(help="News to residents: create, send, show, cancel.",
                            no_args_is_help=True)
FINAL = (BroadcastStatus.SENT.value, BroadcastStatus.CANCELLED.value,
         BroadcastStatus.FAILED.value)


def _fail(reason: str) -> typer.Exit:
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(code=2)


def _broadcast_or_exit(session: Session, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise _fail(f"no broadcast {broadcast_id}")
    return broadcast


def _texts(values: list[str]) -> dict[str, str]:
    texts = {}
    for value in values:
        locale, separator, text = value.partition("=")
        if not separator:
            raise _fail(f"--text takes LANG=TEXT, e.g. fr=\"Soupe vendredi\": {value!r}")
        texts[locale.strip()] = text
    return texts


@broadcast_app.command("create")
def create(
    community: Annotated[str, typer.Option(help="Community slug")],
    text: Annotated[list[str], typer.Option(help='LANG=TEXT, once per language, the '
                                                 'first is the source')],
    cluster: Annotated[str | None, typer.Option(help="Only this cluster")] = None,
    locale: Annotated[list[str] | None, typer.Option(help="Only readers of this "
                                                          "language (repeatable)")] = None,
    send: Annotated[bool, typer.Option(help="Send it at once")] = False,
) -> None:
    """Write a broadcast (a draft unless --send); prints it as JSON."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        found = community_by_slug(session, community)
        if found is None:
            raise _fail(f"no community with slug {community!r}")
        try:
            broadcast = create_broadcast(session, found, _texts(text), utc_now(),
                                         audience=AudienceSpec(cluster=cluster,
                                                               languages=tuple(locale or ())))
            if send:
                send_broadcast(session, broadcast, utc_now())
        except (BroadcastError, AudienceError) as exc:
            raise _fail(str(exc)) from None
        typer.echo(json.dumps(broadcast_summary(session, broadcast), indent=2,
                              ensure_ascii=False))


@broadcast_app.command("send")
def send(broadcast_id: int) -> None:
    """Send a draft: the scheduler queues it at its next tick (after quiet hours)."""
    with session_scope(make_engine()) as session:
        broadcast = _broadcast_or_exit(session, broadcast_id)
        try:
            send_broadcast(session, broadcast, utc_now())
        except BroadcastError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"broadcast {broadcast_id}: {broadcast.status}")


def _show_once(broadcast_id: int, as_json: bool) -> str:
    with session_scope(make_engine()) as session:
        summary = broadcast_summary(session, _broadcast_or_exit(session, broadcast_id))
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        typer.echo(f"broadcast {summary['id']} ({summary['source_locale']}): "
                   f"{summary['text'][summary['source_locale']][:60]}")
        for line in progress_lines(summary["status"], summary["delivery"]):
            typer.echo(line)
    return str(summary["status"])


@broadcast_app.command("show")
def show(broadcast_id: int,
         as_json: Annotated[bool, typer.Option("--json", help="The whole summary as "
                                                             "JSON")] = False,
         watch: Annotated[bool, typer.Option(help="Redraw every 2 s until it is "
                                                  "done")] = False) -> None:
    """A broadcast's progress bar, in all and per channel."""
    status = _show_once(broadcast_id, as_json)
    while watch and status not in FINAL:
        time.sleep(2)
        status = _show_once(broadcast_id, as_json)


@broadcast_app.command("cancel")
def cancel(broadcast_id: int) -> None:
    """Stop it: messages not sent yet are held back (they end cancelled)."""
    with session_scope(make_engine()) as session:
        broadcast = _broadcast_or_exit(session, broadcast_id)
        try:
            held = cancel_broadcast(session, broadcast, utc_now())
        except BroadcastError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"broadcast {broadcast_id}: cancelled, {held} message(s) held back")
