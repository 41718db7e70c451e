"""Who may call an admin route: every route under ``/api/v1`` declares its access here, in
one dependency, and ``tests/api/test_access.py`` fails for a route that does not.

A request carries a token (``api/auth.py`` finds whose: the bootstrap ``VOISINS_ADMIN_TOKEN``
or a token of ``core/tokens.py``); the route's declaration says what it needs:

- ``read(where)``, ``write(where)``, ``manage(where)``: a level (viewer reads, facilitator
  writes, admin manages: tokens, audit, residents' data rights) in the community the path
  names, found by ``where`` (``by_slug``: ``/communities/{slug}/...``; ``by_row(Alert,
  "alert_id")``: the community of that alert; ``by_query("community")``: ``?community=``).
  A token of another community gets 403, a missing thing 404.
- ``unscoped_admin()``: an admin token of no community (what spans every community: new
  communities, questionnaire definitions, row-level research exports).
- ``any_token(level)``: any token at that level; the handler shows only what the token may
  see (``Principal.sees``), for lists.

Which community a request was about is kept on the request (``audited_community``) for the
audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session, SQLModel

from api.auth import Level, Principal, require_token
from api.deps import MAX_ID, EngineDep
from core.communities import community_by_slug
from core.db import session_scope

ADMIN_PREFIX = "/api/v1/"

# What a route is about: one community's id, or EVERY_COMMUNITY (only unscoped tokens).
EVERY_COMMUNITY = None
Where = Callable[[Session, Request], int | None]


def by_slug(session: Session, request: Request) -> int | None:
    """``/communities/{slug}/...``: that community."""
    community = community_by_slug(session, str(request.path_params["slug"]))
    if community is None:
        raise NotDecided
    return community.id


def by_query(name: str) -> Where:
    """``?community=SLUG``: that community; without it, every community."""
    def where(session: Session, request: Request) -> int | None:
        slug = request.query_params.get(name)
        if slug is None:
            return EVERY_COMMUNITY
        community = community_by_slug(session, slug)
        if community is None:
            raise NotDecided
        return community.id
    where.__name__ = f"by_query_{name}"
    return where


class NotDecided(Exception):
    """The path names nothing (a malformed id, a slug or id that does not exist): no
    community to check; the route's own validation (422) or lookup (404) answers, in that
    order, and there is nothing to see."""


def by_row(model: type[SQLModel], param: str, label: str | None = None,
           community: Callable[[Session, Any], int | None] | None = None) -> Where:
    """The community of the row whose id is in the path (``community_id`` on the row, or
    what ``community`` says for rows that have none of their own)."""
    what = label or model.__name__.lower()

    def where(session: Session, request: Request) -> int | None:
        raw = str(request.path_params.get(param, ""))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
            raise NotDecided
        row = session.get(model, int(raw))
        if row is None:
            raise NotDecided
        found: int | None = community(session, row) if community else row.community_id  # type: ignore[attr-defined]
        return found
    where.__name__ = f"by_{what}"
    return where


class Access:
    """A route's access declaration (a FastAPI dependency answering the ``Principal``)."""

    def __init__(self, level: Level, where: Where | None, *, unscoped_only: bool = False,
                 filtered: bool = False) -> None:
        self.level = level
        self.where = where
        self.unscoped_only = unscoped_only
        self.filtered = filtered

    def __repr__(self) -> str:
        kind = "unscoped" if self.unscoped_only else "any token" if self.filtered else \
            getattr(self.where, "__name__", "?")
        return f"Access({self.level.name}, {kind})"

    def __call__(self, request: Request, engine: EngineDep,
                 principal: Annotated[Principal, Depends(require_token)]) -> Principal:
        community_id = principal.community_id
        decided = True
        if self.where is not None:
            # Its own short session, not the handler's: on SQLite a session holds the write
            # lock, and some handlers write from another thread (the readings import).
            try:
                with session_scope(engine) as session:
                    community_id = self.where(session, request)
            except NotDecided:
                decided = False
        # Known before any refusal: a refused write is audited with the community it aimed at.
        request.state.audited_community = community_id if decided else None
        if principal.level < self.level:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"a {principal.role.value} token may not do this")
        if self.unscoped_only and not principal.unscoped:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "this needs an admin token of no particular community")
        if decided and not principal.sees(community_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "this token is for another community" if community_id else
                                "this token is for one community: name it (?community=SLUG)")
        return principal


def read(where: Where) -> DependsParam:
    return Depends(Access(Level.READ, where))


def write(where: Where) -> DependsParam:
    return Depends(Access(Level.WRITE, where))


def manage(where: Where) -> DependsParam:
    return Depends(Access(Level.MANAGE, where))


def unscoped_admin() -> DependsParam:
    return Depends(Access(Level.MANAGE, None, unscoped_only=True))


def any_token(level: Level = Level.READ) -> DependsParam:
    """Any token at ``level``; the handler filters what it shows with ``Principal.sees``."""
    return Depends(Access(level, None, filtered=True))


PrincipalDep = Annotated[Principal, Depends(require_token)]


def admin_routes(app: FastAPI) -> list[tuple[str, set[str], APIRoute]]:
    """Every route under ``/api/v1`` (path, methods, route), included routers' too."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if isinstance(route, APIRoute) and path.startswith(ADMIN_PREFIX):
            found.append((path, set(context.methods or ()), route))
    return found


def declared_access(route: APIRoute) -> Access | None:
    """The access a route declared, wherever among its dependencies."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Access):
            return dependant.call
        pending.extend(dependant.dependencies)
    return None
