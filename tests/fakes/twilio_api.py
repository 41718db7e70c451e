"""A fake Twilio Messages API on loopback: ``POST /2010-04-01/Accounts/<sid>/Messages.json``.

Form fields as Twilio takes them (To, From or MessagingServiceSid, Body, MediaUrl,
ContentSid, ContentVariables, StatusCallback), HTTP basic auth, JSON answers with
``sid``/``status`` and error bodies with ``code``/``message``/``status``/``more_info``.
Switch failures on with ``fail_next`` (20429, 20500), ``unsubscribed`` (21610), ``invalid``
(21211), ``outside_window`` (63016 for free-form WhatsApp) and ``max_per_second`` (20429
when exceeded). A Messaging Service (``add_messaging_service``) is answered as Twilio does:
``status`` "accepted", ``from`` null, ``messaging_service_sid`` set; the number it picks is
recorded in ``TwilioMessage.sent_from``. Neither From nor a service is 21603; an unknown
service 21701.
"""

from __future__ import annotations

import base64
import copy
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType

from tests.fakes.loopback import Answer, LoopbackServer, RecordedRequest, json_answer, load_fixture

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "twilio-test-auth-token"


@dataclass
class TwilioMessage:
    sid: str
    to: str
    from_: str
    body: str | None
    media_urls: list[str] = field(default_factory=list)
    content_sid: str | None = None
    content_variables: str | None = None
    status_callback: str | None = None
    messaging_service_sid: str | None = None
    # The number the message went from: From, or the one the Messaging Service picked.
    sent_from: str = ""
    at: float = 0.0


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[RecordedRequest] = []
        self.sent: list[TwilioMessage] = []
        self.unsubscribed: set[str] = set()
        self.invalid: set[str] = set()
        # WhatsApp addresses ("whatsapp:+32...") outside the 24 h window: free-form → 63016.
        self.outside_window: set[str] = set()
        self.max_per_second: float | None = None
        # Messaging Service SID → its sender numbers (used in turn, as Twilio spreads them).
        self.messaging_services: dict[str, list[str]] = {}
        self._service_turn: dict[str, int] = {}
        self._failures: deque[int] = deque()
        self._send_times: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self)

    @property
    def api_url(self) -> str:
        return self._server.url

    def fail_next(self, count: int, code: int = 20429) -> None:
        """The next ``count`` creates answer with Twilio error ``code`` (20429, 20500...)."""
        with self._lock:
            self._failures.extend([code] * count)

    def bodies_to(self, to: str) -> list[str]:
        with self._lock:
            return [m.body or "" for m in self.sent if m.to == to]

    def add_messaging_service(self, numbers: list[str]) -> str:
        """A Messaging Service holding ``numbers``; returns its SID (MG...)."""
        sid = "MG" + uuid.uuid4().hex
        with self._lock:
            self.messaging_services[sid] = list(numbers)
        return sid

    def busiest_sender_rate(self, window: float = 1.0) -> float:
        """The most messages one sender number sent within any ``window`` seconds, per
        second: what the provider would see as that number's rate."""
        with self._lock:
            by_sender: dict[str, list[float]] = {}
            for message in self.sent:
                by_sender.setdefault(message.sent_from, []).append(message.at)
        busiest = 0
        for times in by_sender.values():
            times.sort()
            start = 0
            for end, at in enumerate(times):
                while at - times[start] >= window:
                    start += 1
                busiest = max(busiest, end - start + 1)
        return busiest / window

    def __enter__(self) -> FakeTwilio:
        self._server.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._server.stop()

    def handle(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
        if not self._authorised(request):
            return self._error(20003)
        if request.method != "POST" or \
                request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return json_answer(404, {"code": 20404, "message": "The requested resource was not "
                                     "found", "more_info": "https://www.twilio.com/docs/errors/"
                                     "20404", "status": 404})
        return self._create(request)

    def _authorised(self, request: RecordedRequest) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        return base64.b64decode(header[6:]) == expected

    @staticmethod
    def _error(code: int) -> Answer:
        body = load_fixture(f"twilio/error_{code}.json")
        return json_answer(int(body["status"]), body)

    def _create(self, request: RecordedRequest) -> Answer:
        fields = request.fields
        to, from_ = str(fields.get("To", "")), str(fields.get("From", ""))
        service = fields.get("MessagingServiceSid")
        if not from_ and not service:
            return self._error(21603)
        if service and service not in self.messaging_services:
            return self._error(21701)
        with self._lock:
            if self._failures:
                return self._error(self._failures.popleft())
            if self.max_per_second is not None:
                now = time.monotonic()
                while self._send_times and now - self._send_times[0] > 1.0:
                    self._send_times.popleft()
                if len(self._send_times) >= self.max_per_second:
                    return self._error(20429)
                self._send_times.append(now)
        bare = to.removeprefix("whatsapp:")
        if bare in self.invalid or not bare.startswith("+"):
            return self._error(21211)
        if to in self.unsubscribed or bare in self.unsubscribed:
            return self._error(21610)
        if to in self.outside_window and not fields.get("ContentSid"):
            return self._error(63016)
        if not fields.get("Body") and not fields.get("ContentSid") and not fields.get("MediaUrl"):
            return json_answer(400, {"code": 21602, "message": "Message body is required.",
                                     "more_info": "https://www.twilio.com/docs/errors/21602",
                                     "status": 400})
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            sent_from = from_ or self._next_number(str(service))
            message = TwilioMessage(
                sid=sid, to=to, from_=from_, body=fields.get("Body"),
                media_urls=list(request.multi.get("MediaUrl", [])),
                content_sid=fields.get("ContentSid"),
                content_variables=fields.get("ContentVariables"),
                status_callback=fields.get("StatusCallback"),
                messaging_service_sid=service, sent_from=sent_from, at=time.monotonic())
            self.sent.append(message)
        answer = copy.deepcopy(load_fixture("twilio/message_created.json"))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        answer.update(account_sid=self.account_sid, sid=sid, to=to, body=message.body or "",
                      num_media=str(len(message.media_urls)), uri=f"{uri}.json",
                      subresource_uris={"media": f"{uri}/Media.json"},
                      status="accepted" if service else "queued",
                      messaging_service_sid=service)
        # With a Messaging Service, Twilio picks the number after answering.
        answer["from"] = None if service and not from_ else from_
        return json_answer(201, answer)

    def _next_number(self, service: str) -> str:
        numbers = self.messaging_services[service]
        turn = self._service_turn.get(service, 0)
        self._service_turn[service] = turn + 1
        return numbers[turn % len(numbers)] if numbers else ""
