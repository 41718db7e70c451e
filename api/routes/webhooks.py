"""Provider webhooks. A request that fails its check gets 403 and leaves no trace."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from telegram import Update
from twilio.request_validator import RequestValidator

from api.deps import get_clock, get_engine, get_settings
from bot.channels import telegram
from bot.channels.delivery import apply_delivery_status
from bot.channels.twilio_common import incoming_from_form
from bot.conversation.inbox import handle_incoming
from core.clock import Clock
from core.config import Settings
from core.db import session_scope
from core.phone import InvalidPhoneNumber

router = APIRouter(prefix="/webhooks")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@router.post("/telegram")
async def telegram_webhook(request: Request, engine: Engine = Depends(get_engine),
                           settings: Settings = Depends(get_settings),
                           clock: Clock = Depends(get_clock)) -> dict[str, bool]:
    application = getattr(request.app.state, "telegram", None)
    secret: str | None = getattr(request.app.state, "telegram_secret", None)
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if application is None or not secret or \
            not hmac.compare_digest(given.encode(), secret.encode()):
        raise HTTPException(status_code=403, detail="forbidden")
    try:
        data = await request.json()
        update = Update.de_json(data, application.bot)
    except (ValueError, TypeError, KeyError) as exc:
        raise HTTPException(status_code=400, detail="not a Telegram update") from exc
    await telegram.on_update(application.bot, engine, update, settings, clock)
    return {"ok": True}


def _public_url(request: Request, settings: Settings) -> str:
    # Twilio signs the URL it called, i.e. our public one; behind a proxy the URL this
    # process sees differs, so rebuild it from VOISINS_PUBLIC_URL.
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


async def _signed_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form fields of a request Twilio really sent; 403 otherwise."""
    signature = request.headers.get("X-Twilio-Signature", "")
    # Twilio posts application/x-www-form-urlencoded; parsing it needs no extra library.
    body = (await request.body()).decode("utf-8", errors="replace")
    params: dict[str, Any] = dict(parse_qsl(body, keep_blank_values=True))
    if not signature or not settings.twilio_auth_token:
        raise HTTPException(status_code=403, detail="forbidden")
    validator = RequestValidator(settings.twilio_auth_token)
    if not validator.validate(_public_url(request, settings), params, signature):
        raise HTTPException(status_code=403, detail="forbidden")
    return params


@router.post("/twilio")
async def twilio_webhook(request: Request, engine: Engine = Depends(get_engine),
                         settings: Settings = Depends(get_settings),
                         clock: Clock = Depends(get_clock)) -> Response:
    """Inbound SMS and WhatsApp. Replies go through the outbox, so the TwiML is empty."""
    form = await _signed_form(request, settings)
    if not form.get("From") or not form.get("MessageSid"):
        raise HTTPException(status_code=400, detail="From and MessageSid are required")
    message = incoming_from_form(form)
    try:
        await run_in_threadpool(handle_incoming, engine, message, clock, settings)
    except InvalidPhoneNumber as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return Response(content=EMPTY_TWIML, media_type="application/xml")


@router.post("/twilio/status", status_code=204)
async def twilio_status(request: Request, engine: Engine = Depends(get_engine),
                        settings: Settings = Depends(get_settings),
                        clock: Clock = Depends(get_clock)) -> Response:
    form = await _signed_form(request, settings)
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise HTTPException(status_code=400, detail="MessageSid and MessageStatus are required")
    code = form.get("ErrorCode")
    error_code = int(code) if code and code.isdigit() else None

    def record() -> None:
        with session_scope(engine) as session:
            apply_delivery_status(session, sid, status, error_code, clock())

    await run_in_threadpool(record)
    return Response(status_code=204)
