"""Telegram: Bot API updates in, messages with inline keyboards out.

Inbound updates (webhook or long polling) are parsed with python-telegram-bot's
``Update.de_json``; the dispatcher sends through the Bot API over plain synchronous urllib3,
because it runs in worker threads and needs nothing of PTB's async machinery there (and
urllib3's keep-alive pool costs about a third of httpx's CPU per request, which is what
bounds a fan-out's throughput).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import urllib3
from sqlalchemy.engine import Engine
from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.channels.rendering import choices_of, telegram_keyboard
from bot.channels.telegram_groups import handle_group_update, is_group_update
from bot.conversation.inbox import handle_incoming
from bot.outbound.dispatch import PermanentSendError, TransientSendError
from core.clock import Clock, utc_now
from core.config import Settings
from core.db import session_scope
from core.media import load_file
from core.messages import IncomingMessage
from core.models import ChannelIdentity, ChannelKind, OutboxMessage

CHANNEL = ChannelKind.TELEGRAM.value
# Telegram refuses photo captions over 1024 characters and messages over 4096.
CAPTION_MAX = 1024
MESSAGE_MAX = 4096
log = logging.getLogger(__name__)


def provider_id_of(update: Update) -> str:
    return f"update:{update.update_id}"


def incoming_from_update(update: Update) -> IncomingMessage | None:
    """A text message or a button press as an ``IncomingMessage``; None for anything else."""
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return IncomingMessage(
            channel=CHANNEL, address=str(chat_id), text=query.data or "",
            provider_id=provider_id_of(update), display_name=query.from_user.full_name,
            locale_hint=query.from_user.language_code, choice_key=query.data or None)
    message = update.message
    if message is None or message.text is None:
        return None
    user = message.from_user
    return IncomingMessage(
        channel=CHANNEL, address=str(message.chat.id), text=message.text,
        provider_id=provider_id_of(update),
        display_name=user.full_name if user is not None else None,
        locale_hint=user.language_code if user is not None else None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(item: dict[str, Any], *keys: str) -> bool:
    return all(item.get(key) is None or isinstance(item[key], str) for key in keys)


def _user_problem(user: Any) -> str | None:
    if not isinstance(user, dict):
        return "no sender"
    if not _is_int(user.get("id")) or not isinstance(user.get("first_name"), str) \
            or not _optional_str(user, "last_name", "username", "language_code"):
        return "a sender without a numeric id or a name"
    return None


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "a message that is not an object"
    chat = message.get("chat")
    if not isinstance(chat, dict) or not _is_int(chat.get("id")) \
            or not isinstance(chat.get("type"), str) or not _optional_str(chat, "title"):
        return "a message without a chat"
    if not _is_int(message.get("message_id")) or not _is_int(message.get("date")):
        return "a message without an id or a date"
    if not _optional_str(message, "text"):
        return "a text that is not a string"
    if message.get("from") is not None:
        return _user_problem(message["from"])
    return None


def update_problem(data: Any) -> str | None:
    """Why a webhook body is not an update we can handle, or None when it is.

    Checked before PTB parses it: PTB trusts its input, so a message without a chat or a
    ``"text": 7`` would parse and then fail deep in the inbox.
    """
    if not isinstance(data, dict):
        return f"not an object but {type(data).__name__}"
    if not _is_int(data.get("update_id")):
        return "no numeric update_id"
    if "callback_query" in data:
        query = data["callback_query"]
        if not isinstance(query, dict) or not isinstance(query.get("id"), str):
            return "a callback query without an id"
        problem = _user_problem(query.get("from"))
        if problem is not None:
            return f"a callback query with {problem}"
        if not _optional_str(query, "data", "chat_instance"):
            return "a callback query whose data is not a string"
        if query.get("message") is not None:
            return _message_problem(query["message"])
        return None
    if "message" in data:
        return _message_problem(data["message"])
    return "neither a message nor a callback query"


def parse_update(data: dict[str, Any]) -> Update:
    return Update.de_json(data, None)


def webhook_update(data: Any, bot: Bot | None = None) -> Update | None:
    """The update in a webhook body, or None (logged, once) when it is not one we handle.

    Telegram resends what is not acknowledged, so an odd update is answered 200 and left.
    """
    problem = update_problem(data)
    if problem is None:
        try:
            return Update.de_json(data, bot)
        except Exception as exc:  # PTB's parsing, on a shape our checks let through
            problem = f"unparsable ({exc.__class__.__name__})"
    update_id = data.get("update_id") if isinstance(data, dict) else None
    log.warning("ignored a Telegram update (id %s): %s", update_id if _is_int(update_id)
                else "none", problem)
    return None


def build_application(token: str, api_url: str) -> Application:
    """PTB without its own updater: webhooks arrive through FastAPI, polling is ours."""
    base = api_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .updater(None)
        .build()
    )


def _retry_after(body: dict[str, Any]) -> timedelta | None:
    seconds = (body.get("parameters") or {}).get("retry_after")
    return timedelta(seconds=float(seconds)) if seconds is not None else None


def error_for(status: int, body: dict[str, Any]) -> Exception:
    """The Bot API's error answer as the dispatcher's transient or permanent error."""
    description = str(body.get("description") or f"HTTP {status}")
    if status == 429:
        return TransientSendError(description, _retry_after(body))
    if status >= 500 or status == 401:
        # 401 is a wrong token: a configuration error to fix, not a reason to drop messages.
        return TransientSendError(description)
    lowered = description.lower()
    if status == 403:
        if "blocked" in lowered:
            return PermanentSendError(description, unreachable_reason="blocked")
        if "deactivated" in lowered:
            return PermanentSendError(description, unreachable_reason="deactivated")
        return PermanentSendError(description, unreachable_reason="forbidden")
    if "chat not found" in lowered:
        return PermanentSendError(description, unreachable_reason="chat_not_found")
    return PermanentSendError(description)


class TelegramSender:
    """Sends outbox rows: text with an inline keyboard, or the PNG itself as a photo."""

    def __init__(self, token: str, api_url: str, engine: Engine | None = None,
                 timeout: float = 10.0, clock: Clock = utc_now, connections: int = 8) -> None:
        self.base = f"{api_url.rstrip('/')}/bot{token}"
        self.engine = engine
        self.clock = clock
        # No automatic retries: a send is not idempotent, and the outbox retries it itself.
        self.client = urllib3.PoolManager(maxsize=connections, retries=False,
                                          timeout=urllib3.Timeout(total=timeout))

    def close(self) -> None:
        self.client.clear()

    def call(self, method: str, *, body: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None, files: dict[str, Any] | None = None
             ) -> Any:
        url = f"{self.base}/{method}"
        try:
            if files:
                response = self.client.request("POST", url, fields={**(data or {}), **files})
            elif data is not None:
                response = self.client.request("POST", url, fields=data, encode_multipart=False)
            else:
                response = self.client.request("POST", url, json=body or {})
        except urllib3.exceptions.HTTPError as exc:  # timeouts and refused connections alike
            raise TransientSendError(f"{method}: {exc.__class__.__name__}") from exc
        try:
            answer = json.loads(response.data)
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status == 200 and answer.get("ok"):
            return answer.get("result")
        raise error_for(response.status, answer)

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        payload = row.payload
        text = str(payload.get("text") or "")
        if payload.get("edit_message"):
            return self._edit(str(payload["edit_message"]), text)
        document = self._file(payload, "document_token", "text/calendar")
        if document is not None:
            # First, so that the buttons of the text stay the last thing on screen.
            name = str(payload.get("document_name") or "file")
            self.call("sendDocument", data={"chat_id": identity.address},
                      files={"document": (name, document, "text/calendar")})
        markup = telegram_keyboard(choices_of(payload))
        png = self._image(payload)
        if png is not None:
            caption = text if len(text) <= CAPTION_MAX else None
            data: dict[str, Any] = {"chat_id": identity.address}
            if caption:
                data["caption"] = caption
            if markup and caption is not None:
                data["reply_markup"] = _json_text(markup)
            result = self.call("sendPhoto", data=data,
                               files={"photo": ("chart.png", png, "image/png")})
            if caption is not None or not text:
                return _message_ref(identity, result)
        # A long text (a survey's full results...) goes in several messages rather than
        # being refused; the buttons go with the last part.
        *first_parts, last_part = split_message(text)
        for part in first_parts:
            self.call("sendMessage", body={"chat_id": identity.address, "text": part})
        body: dict[str, Any] = {"chat_id": identity.address, "text": last_part}
        if markup:
            body["reply_markup"] = markup
        return _message_ref(identity, self.call("sendMessage", body=body))

    def _edit(self, ref: str, text: str) -> str:
        """Replace the text of a message sent before (``ref``: "chat:message_id"), e.g. a
        fan-out's progress; an unchanged text is not an error."""
        chat_id, _, message_id = ref.rpartition(":")
        try:
            self.call("editMessageText", body={"chat_id": chat_id,
                                               "message_id": int(message_id),
                                               "text": split_message(text)[0]})
        except PermanentSendError as exc:
            if "not modified" not in str(exc).lower():
                raise
        return ref

    def _image(self, payload: dict[str, Any]) -> bytes | None:
        return self._file(payload, "image_token", "image/png")

    def _file(self, payload: dict[str, Any], key: str, content_type: str) -> bytes | None:
        token = payload.get(key)
        if not token or self.engine is None:
            return None
        with session_scope(self.engine) as session:
            return load_file(session, str(token), content_type, self.clock())


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_MAX) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units (Telegram's measure), cut after a
    line break, else after a space, else anywhere; joined back they give ``text``."""
    parts: list[str] = []
    while _utf16_length(text) > limit:
        cut = len(text)
        while _utf16_length(text[:cut]) > limit:
            cut -= max(1, (_utf16_length(text[:cut]) - limit) // 2)
        window = text[:cut]
        for separator in ("\n", " "):
            at = window.rfind(separator)
            if at > 0:
                cut = at + 1
                break
        parts.append(text[:cut])
        text = text[cut:]
    return [*parts, text]


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _message_ref(identity: ChannelIdentity, result: Any) -> str | None:
    if isinstance(result, dict) and "message_id" in result:
        return f"{identity.address}:{result['message_id']}"
    return None


async def on_update(bot: Bot, engine: Engine, update: Update, settings: Settings,
                    clock: Clock = utc_now) -> int:
    """Handle one update (webhook or polling); every button press is answered.

    Returns the number of replies put in the outbox.
    """
    try:
        if is_group_update(update):
            # Groups never enter the residents' flows: only /link is understood there.
            rows = await asyncio.to_thread(handle_group_update, engine, update, clock)
            return len(rows)
        message = incoming_from_update(update)
        if message is None:
            return 0
        rows = await asyncio.to_thread(handle_incoming, engine, message, clock, settings)
        return len(rows)
    finally:
        if update.callback_query is not None:
            # Telegram shows a spinner on the button until the query is answered.
            try:
                await bot.answer_callback_query(update.callback_query.id)
            except TelegramError:
                log.warning("could not answer callback query %s", update.callback_query.id)


async def poll_updates(bot: Bot, engine: Engine, settings: Settings, stop: asyncio.Event,
                       clock: Clock = utc_now, timeout: int = 10,
                       report: Callable[[str | None], None] | None = None) -> None:
    """Long polling (``getUpdates``) for when there is no public URL for a webhook.

    Telegram refuses ``getUpdates`` while a webhook is set: call ``delete_webhook`` first.
    ``report`` is told after each call: None when Telegram answered, else what failed.
    """
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await bot.get_updates(offset=offset, timeout=timeout,
                                            allowed_updates=["message", "callback_query"])
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            continue
        except TelegramError as exc:
            if report is not None:
                report(f"getUpdates: {exc.__class__.__name__}")
            else:
                log.warning("getUpdates failed; retrying", exc_info=True)
            await asyncio.sleep(1)
            continue
        if report is not None:
            report(None)
        for update in updates:
            try:
                await on_update(bot, engine, update, settings, clock)
            except Exception:
                log.exception("update %s failed", update.update_id)
            offset = update.update_id + 1


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
