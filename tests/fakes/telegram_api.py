"""A fake Telegram Bot API on loopback: ``POST /bot<token>/<method>``, real answer shapes.

Switch failures on with ``fail_next`` (sends: 429 with ``retry_after``, 5xx), ``fail_method``
(any method, e.g. ``getMe`` at start-up), ``blocked`` chats (403 "bot was blocked by the
user") and ``max_per_second`` (429 when exceeded). Every request is kept in ``requests``;
successful sends in ``sent``. Queue updates for ``getUpdates`` with
``push_update``. As Telegram does, a ``getUpdates`` that arrives while another one is
waiting ends the waiting one with 409 Conflict (two bot instances polling): counted in
``poll_conflicts``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from tests.fakes.loopback import Answer, LoopbackServer, RecordedRequest, json_answer, load_fixture

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Voisins",
            "username": "voisins_bot"}


@dataclass
class SentMessage:
    method: str
    chat_id: int | str
    text: str | None
    reply_markup: dict[str, Any] | None
    photo: bytes | None
    message_id: int
    at: float
    document: bytes | None = None


def _decoded(value: Any) -> Any:
    """PTB and httpx send nested values as JSON strings inside forms."""
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value


def _chat_id(value: Any) -> int | str:
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.requests: list[tuple[str, RecordedRequest]] = []
        self.sent: list[SentMessage] = []
        self.answered_callbacks: list[str] = []
        self.blocked: set[int | str] = set()
        self.max_per_second: float | None = None
        # Seconds each answer takes, like a real round trip to Telegram.
        self.latency = 0.0
        self.webhook: dict[str, Any] | None = None
        self._failures: deque[str] = deque()
        self._method_failures: dict[str, deque[str]] = {}
        self._updates: list[dict[str, Any]] = []
        self.poll_conflicts = 0
        self._poll_generation = 0
        self._send_times: deque[float] = deque()
        self._lock = threading.Condition()
        self._next_message_id = 100
        self._server = LoopbackServer(self)

    # -- test controls -------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self._server.url

    def fail_next(self, count: int, kind: str = "429") -> None:
        """The next ``count`` sends answer ``kind``: "429", "500", "502" or "403"."""
        with self._lock:
            self._failures.extend([kind] * count)

    def fail_method(self, method: str, count: int, kind: str = "502") -> None:
        """The next ``count`` calls of ``method`` (e.g. "getMe", "setWebhook") answer
        ``kind``: Telegram down at start-up, then back."""
        with self._lock:
            self._method_failures.setdefault(method, deque()).extend([kind] * count)

    def push_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for name, request in self.requests if name == method]

    def texts_to(self, chat_id: int | str) -> list[str]:
        with self._lock:
            return [m.text or "" for m in self.sent if str(m.chat_id) == str(chat_id)
                    and m.method != "sendDocument"]

    def documents_to(self, chat_id: int | str) -> list[bytes]:
        with self._lock:
            return [m.document or b"" for m in self.sent if str(m.chat_id) == str(chat_id)
                    and m.method == "sendDocument"]

    def __enter__(self) -> FakeTelegram:
        self._server.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._server.stop()

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Answer:
        prefix, _, method = request.path.lstrip("/").partition("/")
        if prefix != f"bot{self.token}":
            return json_answer(401, load_fixture("telegram/error_401.json"))
        with self._lock:
            self.requests.append((method, request))
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            queued = self._method_failures.get(method)
            failure = queued.popleft() if queued else None
        if failure is not None:
            return self._error(failure)
        fields = {key: _decoded(value) for key, value in request.fields.items()}
        if method in SEND_METHODS:
            refusal = self._refusal(fields)
            if refusal is not None:
                return refusal
        if method == "getUpdates":
            return self._get_updates(fields)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return json_answer(404, {"ok": False, "error_code": 404,
                                     "description": "Not Found: method not found"})
        result = handler(fields, request)
        return json_answer(200, {"ok": True, "result": result})

    def _refusal(self, fields: dict[str, Any]) -> Answer | None:
        with self._lock:
            if self._failures:
                kind = self._failures.popleft()
                return self._error(kind)
            if _chat_id(fields.get("chat_id")) in self.blocked:
                return self._error("403")
            for name, limit in (("text", 4096), ("caption", 1024)):
                value = fields.get(name)
                if isinstance(value, str) and len(value.encode("utf-16-le")) // 2 > limit:
                    # Telegram's own words for both cases.
                    what = "message" if name == "text" else "message caption"
                    return json_answer(400, {"ok": False, "error_code": 400,
                                             "description": f"Bad Request: {what} is too long"})
            if self.max_per_second is not None:
                now = time.monotonic()
                while self._send_times and now - self._send_times[0] > 1.0:
                    self._send_times.popleft()
                if len(self._send_times) >= self.max_per_second:
                    return self._error("429", retry_after=1)
                self._send_times.append(now)
        return None

    @staticmethod
    def _error(kind: str, retry_after: int | None = None) -> Answer:
        if kind == "429":
            body = load_fixture("telegram/error_429.json")
            if retry_after is not None:
                body["parameters"]["retry_after"] = retry_after
                body["description"] = f"Too Many Requests: retry after {retry_after}"
            return json_answer(429, body)
        if kind == "403":
            return json_answer(403, load_fixture("telegram/error_403_blocked.json"))
        status = int(kind)
        return json_answer(status, {"ok": False, "error_code": status,
                                    "description": "Bad Gateway" if status == 502
                                    else "Internal Server Error"})

    def _message(self, method: str, fields: dict[str, Any], photo: bytes | None,
                 document: bytes | None = None) -> dict[str, Any]:
        with self._lock:
            self._next_message_id += 1
            message_id = self._next_message_id
            chat_id = _chat_id(fields.get("chat_id"))
            text = fields.get("text", fields.get("caption"))
            self.sent.append(SentMessage(method, chat_id, text, fields.get("reply_markup"),
                                         photo, message_id, time.monotonic(), document))
        result = copy.deepcopy(load_fixture("telegram/result_send_message.json")["result"])
        result.update(message_id=message_id, date=int(time.time()),
                      chat={"id": chat_id, "type": "private" if isinstance(chat_id, int)
                            and chat_id > 0 else "supergroup"})
        result.pop("text", None)
        if text is not None:
            result["caption" if photo is not None else "text"] = text
        if photo is not None:
            result["photo"] = [{"file_id": f"AgAC{message_id}", "file_unique_id": f"u{message_id}",
                                "width": 640, "height": 480, "file_size": len(photo)}]
        if fields.get("reply_markup"):
            result["reply_markup"] = fields["reply_markup"]
        return result

    def _m_getMe(self, fields: dict[str, Any], request: RecordedRequest) -> Any:
        return load_fixture("telegram/result_get_me.json")["result"]

    def _m_setWebhook(self, fields: dict[str, Any], request: RecordedRequest) -> Any:
        self.webhook = fields
        return True

    def _m_deleteWebhook(self, fields: dict[str, Any],
                         request: RecordedRequest) -> Any:
        self.webhook = None
        return True

    def _m_getWebhookInfo(self, fields: dict[str, Any],
                          request: RecordedRequest) -> Any:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": 0}

    def _get_updates(self, fields: dict[str, Any]) -> Answer:
        offset = int(fields.get("offset") or 0)
        wait = min(float(fields.get("timeout") or 0), 0.5)
        deadline = time.monotonic() + wait
        with self._lock:
            self._poll_generation += 1
            mine = self._poll_generation
            self._lock.notify_all()
            # Confirmed updates (below the offset) are forgotten, as Telegram does.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline \
                    and self._poll_generation == mine:
                self._lock.wait(timeout=deadline - time.monotonic())
            if self._poll_generation != mine:
                self.poll_conflicts += 1
                return json_answer(409, {
                    "ok": False, "error_code": 409,
                    "description": "Conflict: terminated by other getUpdates request; make "
                                   "sure that only one bot instance is running"})
            result = list(self._updates[: int(fields.get("limit") or 100)])
        return json_answer(200, {"ok": True, "result": result})

    def _m_sendMessage(self, fields: dict[str, Any], request: RecordedRequest) -> Any:
        return self._message("sendMessage", fields, None)

    def _m_sendPhoto(self, fields: dict[str, Any], request: RecordedRequest) -> Any:
        photo = request.files.get("photo")
        return self._message("sendPhoto", fields, photo if photo is not None else b"")

    def _m_sendDocument(self, fields: dict[str, Any], request: RecordedRequest) -> Any:
        document = request.files.get("document")
        return self._message("sendDocument", fields, None,
                             document if document is not None else b"")

    def _m_editMessageText(self, fields: dict[str, Any],
                           request: RecordedRequest) -> Any:
        return self._message("editMessageText", fields, None)

    def _m_answerCallbackQuery(self, fields: dict[str, Any],
                               request: RecordedRequest) -> Any:
        with self._lock:
            self.answered_callbacks.append(str(fields.get("callback_query_id")))
        return True
