"""``voisins community ...`` and ``voisins households import``: set up a real community from
the command line, by the same rules as the admin API (``core/communities.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from core.communities import (
    CommunitySettings,
    InvalidSetting,
    check_slug,
    community_by_slug,
    create_community,
)
from core.db import make_engine, migrate, session_scope
from core.household_import import HouseholdImportError, households_csv, import_households
from core.models import Community

community_app = typer.Typer(help="Communities: create, list, show.", no_args_is_help=True)
households_app = typer.Typer(help="Households: import them in bulk.", no_args_is_help=True)


@households_app.callback()
def households() -> None:
    """Households: import them in bulk."""
    # A callback keeps ``import`` a sub-command even while it is the only one.


def _fail(reason: str) -> typer.Exit:
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(code=2)


def _as_dict(community: Community) -> dict[str, object]:
    return {"slug": community.slug, "name": community.name, "join_code": community.join_code,
            "timezone": community.timezone, "default_locale": community.default_locale,
            "quiet_hours": community.quiet_hours, "privacy_k": community.privacy_k}


@community_app.command("create")
def create(
    slug: Annotated[str, typer.Argument(help="2 to 40 of a-z, 0-9 and '-': in every URL")],
    name: Annotated[str, typer.Option(help="The name residents see")],
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "Europe/Brussels",
    locale: Annotated[str, typer.Option(help="Default language: fr, nl, en, ar or es")] = "fr",
    quiet_hours: Annotated[str, typer.Option(help="HH:MM-HH:MM")] = "22:00-08:00",
    privacy_k: Annotated[int, typer.Option(help="Group figures cover at least this many "
                                                "households (5 or more)")] = 5,
) -> None:
    """Create a community; prints it (with its join code) as JSON."""
    settings = CommunitySettings(name=name, timezone=timezone, default_locale=locale,
                                 quiet_hours=quiet_hours, privacy_k=privacy_k)
    problems = settings.problems()
    try:
        check_slug(slug)
    except InvalidSetting as problem:
        problems.insert(0, problem)
    if problems:
        raise _fail("; ".join(f"{p.field}: {p.reason}" for p in problems))
    engine = make_engine()
    migrate(engine)
    try:
        with session_scope(engine) as session:
            if community_by_slug(session, slug) is not None:
                raise _fail(f"a community {slug!r} already exists")
            community = create_community(session, slug, name.strip(), timezone=timezone,
                                         default_locale=locale, quiet_hours=quiet_hours,
                                         privacy_k=privacy_k)
            shown = _as_dict(community)
    except IntegrityError:
        raise _fail(f"a community {slug!r} already exists") from None
    typer.echo(json.dumps(shown, indent=2, ensure_ascii=False))


@community_app.command("list")
def list_communities() -> None:
    """Every community: slug, join code and name."""
    from sqlmodel import col, select

    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        for community in session.exec(select(Community).order_by(col(Community.slug))).all():
            typer.echo(f"{community.slug}\t{community.join_code}\t{community.name}")


@community_app.command("show")
def show(slug: str) -> None:
    """One community's settings, as JSON."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        community = community_by_slug(session, slug)
        if community is None:
            raise _fail(f"no community {slug!r}")
        typer.echo(json.dumps(_as_dict(community), indent=2, ensure_ascii=False))


@community_app.command("cards")
def cards(
    slug: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF to write")],
    lang: Annotated[list[str] | None, typer.Option(
        help="A language of the cards (repeat for up to 3; default: the community's)")] = None,
    cluster: Annotated[str | None, typer.Option(help="Only this cluster's households")] = None,
) -> None:
    """Printable invitation cards, A4 sheets of eight: one per household, with its code and
    QR codes to join on Telegram and WhatsApp (those configured), and how to join by SMS."""
    from bot.rendering.card_pdf import cards_pdf
    from bot.rendering.invitation_cards import MAX_CARD_LANGUAGES, Ways, community_cards
    from core.communities import cluster_by_name
    from core.config import SUPPORTED_LOCALES, get_settings

    languages = lang or []
    unknown = [code for code in languages if code not in SUPPORTED_LOCALES]
    if unknown or len(languages) > MAX_CARD_LANGUAGES:
        raise _fail(f"--lang: up to {MAX_CARD_LANGUAGES} of {', '.join(SUPPORTED_LOCALES)}")
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        community = community_by_slug(session, slug)
        if community is None:
            raise _fail(f"no community {slug!r}")
        chosen = cluster_by_name(session, community, cluster) if cluster else None
        if cluster and chosen is None:
            raise _fail(f"no cluster {cluster!r} in {slug!r}")
        found = community_cards(session, community, Ways.of(get_settings()), languages, chosen)
        if not found:
            raise _fail(f"no households in {slug!r}: import them first "
                        "(voisins households import)")
        pdf = cards_pdf(found, title=f"{community.name}: Voisins")
    output.write_bytes(pdf)
    sheets = -(-len(found) // 8)
    typer.echo(f"{len(found)} cards on {sheets} A4 sheet(s): {output}")


@households_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV: ref,cluster[,sensor,role,sign]")],
    community: Annotated[str, typer.Option("--community", help="Community slug")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the households with their codes here (CSV); "
                               "default: standard output")] = None,
) -> None:
    """Import households (and their sensors) from FILE: all of them, or none if a row is
    wrong. Prints each household's code, the one its residents type to link to it."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(f"{file} is not UTF-8 text") from None
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        found = community_by_slug(session, community)
        if found is None:
            raise _fail(f"no community {community!r}")
        # On standard error, so that the codes alone go to standard output.
        with typer.progressbar(length=1, label="importing", file=sys.stderr) as bar:

            def set_total(total: int) -> None:
                bar.length = max(total, 1)

            try:
                imported = import_households(session, found, text, progress=bar.update,
                                             progress_total=set_total)
            except HouseholdImportError as refused:
                for problem in refused.problems:
                    column = f" ({problem.column})" if problem.column else ""
                    typer.echo(f"line {problem.line}{column}: {problem.reason}", err=True)
                raise _fail(f"{len(refused.problems)} problem(s): nothing was imported") \
                    from None
    table = households_csv(imported)
    if output is None:
        typer.echo(table, nl=False)
    else:
        output.write_text(table, encoding="utf-8")
    typer.echo(f"{len(imported)} households imported into {community}", err=True)
