"""What Twilio SMS and WhatsApp share: the client, inbound form fields, error mapping."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.outbound.dispatch import PermanentSendError, RerouteSendError, TransientSendError
from core.config import Settings
from core.messages import IncomingMessage
from core.models import ChannelKind
from core.phone import InvalidPhoneNumber, normalise_phone

WHATSAPP_PREFIX = "whatsapp:"
STATUS_PATH = "/webhooks/twilio/status"

# Twilio error codes that shape what we do (https://www.twilio.com/docs/api/errors).
TOO_MANY_REQUESTS = 20429
UNSUBSCRIBED = 21610
INVALID_TO = 21211
NOT_MOBILE = 21614
OUTSIDE_WINDOW = 63016


def twilio_client(settings: Settings, timeout: float = 10.0) -> Client:
    """A client for the account in ``settings``, talking to ``settings.twilio_api_url``.

    Every domain of the library carries its own ``base_url``; the Messages resource lives
    on the ``api`` domain, so pointing that one elsewhere (a fake, a proxy) is enough.
    """
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                    http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = settings.twilio_api_url.rstrip("/")
    return client


def channel_of(form: Mapping[str, str]) -> str:
    return ChannelKind.WHATSAPP.value if str(form.get("From", "")).startswith(WHATSAPP_PREFIX) \
        else ChannelKind.SMS.value


def incoming_from_form(form: Mapping[str, str]) -> IncomingMessage:
    """Twilio's inbound webhook fields (From, To, Body, MessageSid, NumMedia...)."""
    channel = channel_of(form)
    text = str(form.get("Body") or "")
    return IncomingMessage(
        channel=channel, address=str(form["From"]), text=text,
        provider_id=str(form["MessageSid"]),
        display_name=str(form["ProfileName"]) if form.get("ProfileName") else None)


def status_callback_url(settings: Settings) -> str | None:
    if not settings.public_url:
        return None
    return settings.public_url.rstrip("/") + STATUS_PATH


def error_for(exc: Exception) -> Exception:
    """A Twilio failure as the dispatcher's transient or permanent error."""
    if isinstance(exc, requests.RequestException):
        return TransientSendError(f"twilio: {exc.__class__.__name__}")
    if not isinstance(exc, TwilioRestException):
        return TransientSendError(f"twilio: {exc}")
    detail = f"twilio {exc.code or exc.status}: {exc.msg}"
    if exc.code == TOO_MANY_REQUESTS or exc.status == 429:
        return TransientSendError(detail, retry_after=timedelta(seconds=1))
    if exc.status >= 500 or exc.status == 401:
        return TransientSendError(detail)
    if exc.code == UNSUBSCRIBED:
        return PermanentSendError(detail, unreachable_reason="opted_out")
    if exc.code in (INVALID_TO, NOT_MOBILE):
        return PermanentSendError(detail, unreachable_reason="invalid_number")
    return PermanentSendError(detail)


def phone_of(address: str) -> str | None:
    try:
        return normalise_phone(address)
    except InvalidPhoneNumber:
        return None


def create_message(client: Client, fields: dict[str, Any],
                   reroute: Mapping[int, str] | None = None) -> str:
    """``messages.create`` with failures mapped; returns the message SID.

    ``reroute`` maps Twilio error codes to the channel the message should go by instead.
    """
    try:
        message = client.messages.create(**fields)
    except TwilioRestException as exc:
        if reroute and exc.code in reroute:
            raise RerouteSendError(f"twilio {exc.code}: {exc.msg}", reroute[exc.code]) from exc
        raise error_for(exc) from exc
    except (TwilioException, requests.RequestException) as exc:
        raise error_for(exc) from exc
    return str(message.sid)
