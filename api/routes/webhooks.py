"""Provider webhooks. A request that fails its check gets 403 and leaves no trace.

Bodies are bounded (``api/limits.py``); what a provider sends is checked before it is parsed.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator

from api.deps import ClockDep, EngineDep, SessionDep, SettingsDep
from api.errors import error_responses
from bot.channels import telegram
from bot.channels.delivery import apply_delivery_status
from bot.channels.telegram_link import TelegramLink
from bot.channels.twilio_common import incoming_from_form
from bot.conversation.inbox import handle_incoming
from core.config import Settings
from core.phone import InvalidPhoneNumber

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TWIML: dict[int | str, dict[str, Any]] = {200: {
    "description": "empty TwiML: replies go through the outbox",
    "content": {"application/xml": {"schema": {"type": "string"}}}}}


class Acknowledged(BaseModel):
    ok: bool


def _telegram_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _NOT_JSON


_NOT_JSON = object()


@router.post("/telegram", response_model=Acknowledged, responses=error_responses(403, 503))
async def telegram_webhook(request: Request, engine: EngineDep, settings: SettingsDep,
                           clock: ClockDep) -> Acknowledged:
    """An update from Telegram. Any body with the right secret is acknowledged: one we
    cannot handle is logged and left (Telegram would resend it, for hours, otherwise)."""
    link: TelegramLink | None = getattr(request.app.state, "telegram_link", None)
    secret = link.secret if link is not None else None
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if link is None or not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise HTTPException(status_code=403, detail="forbidden")
    application = link.application
    if application is None:
        # Not connected yet (Telegram unreachable at start-up): Telegram retries later.
        raise HTTPException(status_code=503, detail="Telegram is not connected yet",
                            headers={"Retry-After": "5"})
    data = _telegram_body(await request.body())
    if data is _NOT_JSON:
        log.warning("ignored a Telegram update: the body is not JSON")
        return Acknowledged(ok=True)
    update = telegram.webhook_update(data, application.bot)
    if update is not None:
        await telegram.on_update(application.bot, engine, update, settings, clock)
    return Acknowledged(ok=True)


def _public_url(request: Request, settings: Settings) -> str:
    # Twilio signs the URL it called, i.e. our public one; behind a proxy the URL this
    # process sees differs, so rebuild it from VOISINS_PUBLIC_URL.
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


async def _signed_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form fields of a request Twilio really sent; 403 otherwise."""
    signature = request.headers.get("X-Twilio-Signature", "")
    # Nothing is read before this: an unsigned body, however large, costs nothing.
    if not signature or not settings.twilio_auth_token:
        raise HTTPException(status_code=403, detail="forbidden")
    # Twilio posts application/x-www-form-urlencoded; parsing it needs no extra library.
    body = (await request.body()).decode("utf-8", errors="replace")
    params: dict[str, Any] = dict(parse_qsl(body, keep_blank_values=True))
    validator = RequestValidator(settings.twilio_auth_token)
    if not validator.validate(_public_url(request, settings), params, signature):
        raise HTTPException(status_code=403, detail="forbidden")
    if any("\x00" in value for value in params.values()):
        # No text we store may hold a NUL; Twilio never sends one.
        raise HTTPException(status_code=400, detail="a field contains a NUL character")
    return params


@router.post("/twilio", response_class=Response, responses={
    **TWIML, **error_responses(400, 403)})
async def twilio_webhook(request: Request, engine: EngineDep, settings: SettingsDep,
                         clock: ClockDep) -> Response:
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


@router.post("/twilio/status", status_code=204, response_class=Response,
             responses={204: {"description": "recorded"}, **error_responses(400, 403)})
async def twilio_status(request: Request, session: SessionDep, settings: SettingsDep,
                        clock: ClockDep) -> Response:
    form = await _signed_form(request, settings)
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise HTTPException(status_code=400, detail="MessageSid and MessageStatus are required")
    code = form.get("ErrorCode")
    error_code = int(code) if code and code.isdigit() and len(code) <= 9 else None
    await run_in_threadpool(apply_delivery_status, session, sid, status, error_code, clock())
    return Response(status_code=204)
