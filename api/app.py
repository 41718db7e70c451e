"""The FastAPI app: webhooks, media, the admin API and the health check; Telegram's
connection (``TelegramLink``) lives in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import Depends, FastAPI
from sqlalchemy.engine import Engine

from api.audit_log import AuditLogMiddleware
from api.auth import FailedLogins
from api.deps import no_nul_in_url
from api.errors import VALIDATION_SHAPE, install_error_handlers
from api.health import ProcessHealth, reader_engine
from api.limits import BodyLimitMiddleware, body_limit_for
from api.roles import ServeRole
from api.routes import (
    alerts,
    audit,
    broadcasts,
    communities,
    contacts,
    gestures,
    health,
    households,
    impact,
    media,
    meters,
    questionnaires,
    staff,
    tokens,
    webhooks,
    workshops,
)
from bot.channels.telegram_link import PollLock, TelegramLink
from core.clock import Clock, utc_now
from core.config import Settings

TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"

DESCRIPTION = f"""Voisins' admin API (`Authorization: Bearer <token>`: the bootstrap
`VOISINS_ADMIN_TOKEN`, or a token from `voisins token create` or `POST /api/v1/tokens`, of an
admin, a facilitator or a viewer, for every community or one), the provider webhooks, chart
images and the health check. A token of one community gets 403 on another's; every write
is in the audit log (`GET /api/v1/audit`).

Errors are JSON. {VALIDATION_SHAPE} Request bodies are limited to 1 MiB (CSV imports:
`VOISINS_MAX_IMPORT_BYTES`), 413 beyond. Too many wrong admin tokens from one address: 429
with `Retry-After`."""


def create_app(engine: Engine, settings: Settings, clock: Clock = utc_now,
               process_health: ProcessHealth | None = None, role: ServeRole = ServeRole.ALL,
               poll_lock: PollLock | None = None,
               on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The app of a ``role`` (``api/roles.py``): a worker's answers ``/healthz`` only, and
    its Telegram link polls (taking turns through ``poll_lock``) instead of setting the
    webhook. ``on_shutdown`` stops the process's other parts when the server stops (uvicorn
    ends the process with the signal it was stopped by, right after the lifespan)."""
    link = TelegramLink(settings, engine, clock, webhook_path=TELEGRAM_WEBHOOK_PATH,
                        polls=role.does_work, sets_webhook=role.serves_api,
                        poll_lock=poll_lock)
    reader = reader_engine(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Telegram unreachable does not stop the start-up: the link keeps trying.
        await link.start()
        try:
            yield
        finally:
            await link.stop()
            if on_shutdown is not None:
                await asyncio.to_thread(on_shutdown)
            if reader is not engine:
                reader.dispose()

    app = FastAPI(title="Voisins", description=DESCRIPTION, lifespan=lifespan,
                  dependencies=[Depends(no_nul_in_url)],
                  # A worker's port is for its health check only.
                  openapi_url="/openapi.json" if role.serves_api else None)
    app.state.engine = engine
    app.state.reader_engine = reader
    app.state.settings = settings
    app.state.clock = clock
    app.state.telegram_link = link
    app.state.health = process_health or ProcessHealth()
    app.state.failed_logins = FailedLogins(settings.admin_auth_failures,
                                           settings.admin_auth_window_seconds)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit_for(settings.max_import_bytes))
    app.add_middleware(AuditLogMiddleware, engine=engine, clock=clock)
    app.include_router(health.router)
    if not role.serves_api:
        return app
    app.include_router(webhooks.router)
    app.include_router(media.router)
    app.include_router(communities.router)
    app.include_router(alerts.router)
    app.include_router(households.router)
    app.include_router(meters.router)
    app.include_router(impact.router)
    app.include_router(questionnaires.router)
    app.include_router(broadcasts.router)
    app.include_router(gestures.router)
    app.include_router(workshops.router)
    app.include_router(staff.router)
    app.include_router(contacts.router)
    app.include_router(tokens.router)
    app.include_router(audit.router)
    return app
