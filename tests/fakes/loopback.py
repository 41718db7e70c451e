"""A loopback HTTP server run in a thread, shared by the provider fakes.

Each fake gives a ``handle(request) -> (status, headers, body)`` function; the server parses
the body the way providers receive it (JSON, url-encoded form or multipart) and records it.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    # Form and JSON fields; a repeated form field keeps its last value (see ``multi``).
    fields: dict[str, Any]
    multi: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    raw: bytes = b""


Answer = tuple[int, dict[str, str], bytes]


class Handler(Protocol):
    def handle(self, request: RecordedRequest) -> Answer: ...


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, \
        json.dumps(body).encode()


def parse_body(content_type: str, raw: bytes) -> tuple[dict[str, Any], dict[str, list[str]],
                                                       dict[str, bytes]]:
    fields: dict[str, Any] = {}
    multi: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" and raw:
        fields = dict(json.loads(raw))
    elif kind == "application/x-www-form-urlencoded":
        multi = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        fields = {key: values[-1] for key, values in multi.items()}
    elif kind == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            if part.get_filename() is not None:
                files[str(name)] = payload
            else:
                fields[str(name)] = payload.decode()
    return fields, multi, files


class LoopbackServer:
    """Serves one fake on 127.0.0.1 (a free port) until ``stop``."""

    def __init__(self, handler: Handler) -> None:
        owner = handler

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Without this, Nagle + delayed ACK add ~40 ms to every keep-alive request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fields, multi, files = parse_body(self.headers.get("Content-Type", ""), raw)
                request = RecordedRequest(
                    method=self.command, path=urllib.parse.urlsplit(self.path).path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    fields=fields, multi=multi, files=files, raw=raw)
                status, headers, body = owner.handle(request)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (a cancelled long poll, a timeout): nothing to do.
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
