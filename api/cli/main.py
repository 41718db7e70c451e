"""The `voisins` command: database, chat, demo, serve, and the alert, meters, community,
households and token sub-commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session

from api.cli.alerts import alert_app
from api.cli.broadcasts import broadcast_app
from api.cli.communities import community_app, households_app
from api.cli.meters import app as meters_app
from api.cli.tokens import token_app
from api.cli.workshops import workshop_app
from api.roles import ServeRole
from core.clock import as_utc
from core.config import get_settings
from core.db import make_engine, migrate, session_scope
from core.models import Community

if TYPE_CHECKING:
    from meters.demo import DemoStory

HELP_WORDS = {"fr": "AIDE", "nl": "HULP", "en": "HELP", "ar": "مساعدة", "es": "AYUDA"}

app = typer.Typer(help="Voisins: a chat-first bot for energy communities.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(alert_app, name="alert")
app.add_typer(broadcast_app, name="broadcast")
app.add_typer(workshop_app, name="workshop")
app.add_typer(meters_app, name="meters")
app.add_typer(community_app, name="community")
app.add_typer(households_app, name="households")
app.add_typer(token_app, name="token")


@db_app.command("upgrade")
def db_upgrade(url: Annotated[str | None, typer.Option(help="Database URL")] = None) -> None:
    """Apply every migration (creates the database if needed)."""
    engine = make_engine(url or get_settings().database_url)
    migrate(engine)
    from core.clock import utc_now
    from core.gestures import load_gestures
    from core.questionnaires.content import load_content

    with session_scope(engine) as session:
        loaded = load_content(session, utc_now())
        load_gestures(session, utc_now())
    typer.echo(f"database up to date: {engine.url.render_as_string(hide_password=True)}"
               f" ({len(loaded)} questionnaires ready)")


@app.command()
def chat(
    community: Annotated[str | None, typer.Option(help="Join this community's slug")] = None,
    as_: Annotated[str, typer.Option("--as", help="Your address on the terminal")] = "me",
    lang: Annotated[str | None, typer.Option(help="Language hint (fr, nl, en, ar, es)")] = None,
) -> None:
    """Talk to the bot in the terminal, as a resident (type /quit to leave)."""
    _chat(community, as_, lang)


def _chat(community_slug: str | None, address: str, lang: str | None) -> None:
    from bot.channels.console import CHANNEL, ConsoleChat
    from core.communities import community_by_slug
    from core.identities import identity_for

    engine = make_engine()
    migrate(engine)
    console = ConsoleChat(engine, address, locale_hint=lang)
    with session_scope(engine) as session:
        identity = identity_for(session, CHANNEL, address)
        enrolled = identity is not None and identity.contact_id is not None
        community = community_by_slug(session, community_slug) if community_slug else None
        if community_slug and community is None:
            raise typer.BadParameter(f"no community with slug {community_slug!r}")
        join_code = community.join_code if community else None
    typer.echo("Voisins — terminal chat. Reply with a number or type words; /quit to leave.")
    if enrolled:
        console.say("MENU")
    elif join_code:
        typer.echo(f"You › JOIN {join_code}")
        console.say(f"JOIN {join_code}")
    else:
        # The help word of the chosen language: a stranger's first words pick the language
        # of the answer, and "HELP" would be answered in English.
        console.say(HELP_WORDS.get(lang or "", "HELP"))
    console.run()


@app.command()
def demo(
    lang: Annotated[str | None, typer.Option(help="Language hint (fr, nl, en, ar, es)")] = None,
) -> None:
    """Seed a demo community (no credentials needed), then chat with the bot."""
    from core.clock import utc_now
    from core.demo import DEMO_SLUG, seed_demo, seed_demo_gestures, seed_demo_staff_invite
    from core.gestures import load_gestures
    from core.questionnaires.content import load_content
    from meters.demo import seed_demo_energy, seed_demo_story

    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        now = utc_now()
        community = seed_demo(session)
        assert community.id is not None
        seed_demo_energy(session, community.id, now)
        load_content(session, now)
        load_gestures(session, now)
        story = seed_demo_story(session, community.id, now)
        seed_demo_gestures(session, community, now)
        typer.echo(f"Demo community '{community.name}': join code {community.join_code}, "
                   "household codes MAISON01 … MAISON12.")
        for line in _story_lines(session, story):
            typer.echo(line)
        invite = seed_demo_staff_invite(session, community, now)
        typer.echo(f"A staff invitation (a facilitator's, one use, 7 days): JOIN {invite} "
                   "(try it: voisins chat --as someone-new).")
    _chat(DEMO_SLUG, "demo-resident", lang)


def _story_lines(session: Session, story: DemoStory) -> list[str]:
    """What the demo has to show, in a few lines before the chat starts."""
    from core.alerts import Alert

    alert = session.get(Alert, story.alert_id) if story.alert_id else None
    if alert is None or story.result is None:
        return []
    community = session.get(Community, alert.community_id)
    assert community is not None
    local = as_utc(alert.starts_at).astimezone(ZoneInfo(community.timezone))
    end = as_utc(alert.ends_at).astimezone(ZoneInfo(community.timezone))
    result = story.result
    together = (f"{result.households_valid} homes together {result.percent:+.0f} %"
                if result.shown and result.percent is not None else "not enough data")
    return [
        f"Past alert {local:%a %d %b %H:%M}-{end:%H:%M} (#{alert.id}): {together}; "
        f"{story.answers} answers to its questionnaire.",
        "Try: link your home with MAISON05, then My consumption > The last alert (your "
        "figure and the group's).",
        "Staff view: voisins chat --as demo-facilitator > Survey results.",
    ]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (a worker's answers GET /healthz only)")
                    ] = 8000,
    role: Annotated[ServeRole, typer.Option(
        help="web: API, webhooks, media; worker: dispatcher, scheduler, Telegram polling "
             "(run several on PostgreSQL); all: everything in one process")] = ServeRole.ALL,
) -> None:
    """API + webhooks + outbox dispatcher + scheduler. Channels without credentials are off;
    Telegram uses a webhook when VOISINS_PUBLIC_URL is set, long polling otherwise."""
    from api.serve import RoleNeedsPostgres
    from api.serve import serve as run

    try:
        run(host=host, port=port, role=role)
    except RoleNeedsPostgres as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
