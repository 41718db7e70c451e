"""`voisins token ...`: make, list and revoke admin API tokens (``core/tokens.py``)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import select

from core.clock import utc_now
from core.db import make_engine, migrate, session_scope
from core.models import Community
from core.tokens import ApiToken, TokenError, TokenRole, create_token, list_tokens, revoke_token

token_app = typer.Typer(help="Admin API tokens: create, list, revoke.", no_args_is_help=True)


def _fail(reason: str) -> typer.Exit:
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(code=2)


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses it")],
    role: Annotated[TokenRole, typer.Option(help="admin, facilitator or viewer")],
    community: Annotated[str | None, typer.Option(
        help="Its community's slug (none: every community; admins only)")] = None,
) -> None:
    """Make a token and print it: this once only, it is stored hashed."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        try:
            made = create_token(session, name, role, community, clock=utc_now)
        except TokenError as exc:
            raise _fail(str(exc)) from None
        scope = f"community {made.community_slug}" if made.community_slug else "every community"
        typer.echo(f"token {made.row.id} '{made.row.name}', {made.row.role} of {scope}. "
                   "Keep it now, it is not shown again:", err=True)
        typer.echo(made.secret)


@token_app.command("list")
def show_all() -> None:
    """Every token (never the token itself): id, name, role, community, revoked or not."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        slugs = {c.id: c.slug for c in session.exec(select(Community)).all()}
        for row in list_tokens(session):
            revoked = f" (revoked {row.revoked_at:%Y-%m-%d})" if row.revoked_at else ""
            typer.echo(f"{row.id}\t{row.name}\t{row.role}\t"
                       f"{slugs.get(row.community_id, '*')}{revoked}")


@token_app.command("revoke")
def revoke(token_id: int) -> None:
    """The token stops working at once."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise _fail(f"no token {token_id}")
        revoke_token(session, row, utc_now)
        typer.echo(f"token {token_id} '{row.name}' revoked")
