"""Shared dependencies: the engine, settings and clock the app was created with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import Clock
from core.communities import community_by_slug
from core.config import Settings
from core.db import session_scope
from core.models import Community


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
    """One session per request, committed when the handler returns. FastAPI runs the code
    after ``yield`` before the response is sent, so a failed commit is never answered 2xx."""
    with session_scope(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def community_or_404(session: Session, slug: str) -> Community:
    """The community an admin route names, or a 404 that says which slug was not found."""
    community = community_by_slug(session, slug)
    if community is None or community.id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no community {slug!r}")
    return community
