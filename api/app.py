"""The FastAPI app: webhooks and media; Telegram's PTB ``Application`` lives in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.routes import alerts, households, impact, media, meters, questionnaires, webhooks
from bot.channels import telegram
from core.clock import Clock, utc_now
from core.config import Settings

log = logging.getLogger(__name__)
TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"


def create_app(engine: Engine, settings: Settings, clock: Clock = utc_now) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _telegram(app, engine, settings, clock):
            yield

    app = FastAPI(title="Voisins", lifespan=lifespan)
    app.state.engine = engine
    app.state.settings = settings
    app.state.clock = clock
    app.state.telegram = None
    app.state.telegram_secret = None
    app.include_router(webhooks.router)
    app.include_router(media.router)
    app.include_router(alerts.router)
    app.include_router(households.router)
    app.include_router(meters.router)
    app.include_router(impact.router)
    app.include_router(questionnaires.router)
    return app


@contextlib.asynccontextmanager
async def _telegram(app: FastAPI, engine: Engine, settings: Settings, clock: Clock
                    ) -> AsyncIterator[None]:
    """Webhook mode with a public URL, long polling without one; off without a token."""
    if not settings.telegram_token:
        yield
        return
    application = telegram.build_application(settings.telegram_token, settings.telegram_api_url)
    await application.initialize()
    await application.start()
    app.state.telegram = application
    stop = asyncio.Event()
    poller: asyncio.Task[None] | None = None
    if settings.public_url:
        # Without a configured secret we make one up: Telegram echoes whatever we set.
        secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        app.state.telegram_secret = secret
        await application.bot.set_webhook(
            settings.public_url.rstrip("/") + TELEGRAM_WEBHOOK_PATH, secret_token=secret,
            allowed_updates=["message", "callback_query"])
    else:
        await application.bot.delete_webhook()
        poller = asyncio.create_task(
            telegram.poll_updates(application.bot, engine, settings, stop, clock))
    try:
        yield
    finally:
        stop.set()
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller
        app.state.telegram = None
        await application.stop()
        await application.shutdown()
