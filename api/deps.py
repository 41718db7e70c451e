"""Shared dependencies: the engine, settings and clock the app was created with, one session
per request, and the checks every admin body and id go through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.errors import finite_json
from core.clock import Clock
from core.communities import community_by_slug
from core.config import Settings
from core.db import session_scope
from core.models import Community

# Ids are INTEGER columns: 32 bits on PostgreSQL. A larger id names nothing, and asking the
# database for it fails there (NumericValueOutOfRange) or on SQLite past 2**63.
MAX_ID = 2**31 - 1


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One session per request, committed when the handler returns and before the answer is
    sent (``scope="function"`` below), so a failed commit is never answered 2xx."""
    with session_scope(engine) as session:
        yield session


NUL = "\x00"
NUL_MESSAGE = "text must not contain NUL characters"


def _nul_at(value: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Where a NUL character hides in parsed JSON (keys included), if anywhere."""
    if isinstance(value, str):
        return loc if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = (*loc, key) if NUL in key else _nul_at(item, (*loc, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*loc, index))
            if found is not None:
                return found
    return None


async def checked_json_body(request: Request) -> None:
    """NaN and Infinity are not JSON, though Python's parser takes them, and no text we
    store may hold a NUL (PostgreSQL refuses it): either is a 422 like any other malformed
    body, before it reaches a handler or the database."""
    if "json" not in request.headers.get("content-type", "").lower():
        return
    body = await request.body()
    if not body:
        return
    try:
        parsed = finite_json(body)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                       "msg": f"JSON decode error: {exc.msg}"}]) from None
    except RecursionError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                       "msg": "JSON nested too deeply"}]) from None
    where = _nul_at(parsed, ("body",))
    if where is not None:
        raise RequestValidationError([{"type": "string_nul", "loc": where,
                                       "msg": NUL_MESSAGE}])


def no_nul_in_url(request: Request) -> None:
    """A NUL in the path or the query (``%00``) names nothing: 422, on every route."""
    if NUL in request.url.path:
        raise RequestValidationError([{"type": "string_nul", "loc": ("path",),
                                       "msg": NUL_MESSAGE}])
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise RequestValidationError([{"type": "string_nul", "loc": ("query", name),
                                           "msg": NUL_MESSAGE}])


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a positive id")]


def community_or_404(session: Session, slug: str) -> Community:
    """The community an admin route names, or a 404 that says which slug was not found."""
    community = community_by_slug(session, slug)
    if community is None or community.id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no community {slug!r}")
    return community
