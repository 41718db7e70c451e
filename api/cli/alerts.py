"""`voisins alert ...`: plan, show and cancel alerts from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from sqlmodel import Session

from core.alerts import Alert, AlertKind, AlertPlanError, alert_summary, cancel_alert, plan_alert
from core.clock import utc_now
from core.communities import community_by_slug
from core.db import make_engine, migrate, session_scope

alert_app = typer.Typer(help="Grid alerts: plan, show, cancel.", no_args_is_help=True)


def _fail(reason: str) -> typer.Exit:
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(code=2)


@alert_app.command("plan")
def plan(
    community: Annotated[str, typer.Option(help="Community slug")],
    starts_at: Annotated[str, typer.Option(help="ISO-8601 with offset, e.g. "
                                                "2026-12-03T17:00:00+01:00")],
    duration: Annotated[int, typer.Option(help="Duration in minutes (1 to 1440)")],
    kind: Annotated[AlertKind, typer.Option(help="planned or surprise")] = AlertKind.PLANNED,
    cluster: Annotated[str | None, typer.Option(help="Only this cluster")] = None,
    record_only: Annotated[bool, typer.Option(help="Register a past or external alert; "
                                                    "send nothing")] = False,
    drill: Annotated[bool, typer.Option(help="An exercise: every message says so")] = False,
) -> None:
    """Plan an alert; prints its timeline as JSON."""
    try:
        start = datetime.fromisoformat(starts_at)
    except ValueError:
        raise _fail(f"starts_at is not an ISO-8601 date and time: {starts_at!r}") from None
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        found = community_by_slug(session, community)
        if found is None:
            raise _fail(f"no community with slug {community!r}")
        try:
            alert = plan_alert(session, found, starts_at=start, duration_minutes=duration,
                               kind=kind, now=utc_now(), cluster_name=cluster,
                               record_only=record_only, drill=drill)
        except AlertPlanError as exc:
            raise _fail(str(exc)) from None
        _print(session, alert)


def _alert_or_exit(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise _fail(f"no alert {alert_id}")
    return alert


def _print(session: Session, alert: Alert) -> None:
    """The summary as JSON on stdout; what went wrong, in words, on stderr."""
    summary = alert_summary(session, alert)
    typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    for step in summary["timeline"]:
        if step["status"] == "failed":
            typer.echo(f"{step['stage']} failed: {step['last_error']} "
                       f"(after {step['attempts']} attempts)", err=True)
        elif step["last_error"]:
            typer.echo(f"{step['stage']} is being retried ({step['attempts']} attempts so "
                       f"far): {step['last_error']}", err=True)
        expired = step["delivery"]["expired"]
        if expired:
            typer.echo(f"{step['stage']}: {expired} message(s) expired, not sent: "
                       f"too late to be true", err=True)


@alert_app.command("show")
def show(alert_id: int) -> None:
    """An alert, its timeline, delivery counts per stage and replies, as JSON."""
    with session_scope(make_engine()) as session:
        _print(session, _alert_or_exit(session, alert_id))


@alert_app.command("cancel")
def cancel(alert_id: int) -> None:
    """Cancel: pending steps are dropped; residents already told get a cancellation."""
    with session_scope(make_engine()) as session:
        alert = _alert_or_exit(session, alert_id)
        try:
            cancel_alert(session, alert, utc_now())
        except AlertPlanError as exc:
            raise _fail(str(exc)) from None
        _print(session, alert)
