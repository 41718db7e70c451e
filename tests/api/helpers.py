"""Building webhook requests as the providers send them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from twilio.request_validator import RequestValidator

from tests.bot.channels.conftest import PUBLIC_URL, TELEGRAM_SECRET
from tests.fakes.twilio_api import AUTH_TOKEN

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def telegram_text(update_id: int, text: str, chat_id: int = 5551234567,
                  language_code: str = "nl") -> dict[str, Any]:
    update = copy.deepcopy(fixture("telegram/update_start.json"))
    update["update_id"] = update_id
    message = update["message"]
    message["message_id"] = update_id
    message["text"] = text
    message["chat"]["id"] = message["from"]["id"] = chat_id
    message["from"]["language_code"] = language_code
    if not text.startswith("/"):
        message.pop("entities", None)
    return update


def telegram_press(update_id: int, data: str, chat_id: int = 5551234567) -> dict[str, Any]:
    update = copy.deepcopy(fixture("telegram/update_callback_query.json"))
    update["update_id"] = update_id
    query = update["callback_query"]
    query["id"] = f"cbq-{update_id}"
    query["data"] = data
    query["from"]["id"] = query["message"]["chat"]["id"] = chat_id
    return update


def post_telegram(client: TestClient, update: dict[str, Any],
                  secret: str | None = TELEGRAM_SECRET) -> Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)


def twilio_signature(path: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(PUBLIC_URL + path, form))


def post_twilio(client: TestClient, form: dict[str, str], path: str = "/webhooks/twilio",
                signature: str | None = "sign") -> Response:
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = twilio_signature(path, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=form, headers=headers)


def sms_form(body: str, sid: str, sender: str = "+32470123456") -> dict[str, str]:
    form = {k: str(v) for k, v in fixture("twilio/inbound_sms.json").items()}
    form.update(Body=body, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, From=sender)
    return form


def whatsapp_form(body: str, sid: str, sender: str = "whatsapp:+32470987654"
                  ) -> dict[str, str]:
    form = {k: str(v) for k, v in fixture("twilio/inbound_whatsapp.json").items()}
    form.update(Body=body, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, From=sender,
                WaId=sender.removeprefix("whatsapp:+"))
    return form


def detail_text(response: Response) -> str:
    """An error's words: ``detail`` is a sentence, or (422) a list of problems with a msg."""
    detail = response.json()["detail"]
    if isinstance(detail, list):
        return " ".join(str(item["msg"]) for item in detail)
    return str(detail)
