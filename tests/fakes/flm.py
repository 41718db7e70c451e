"""A loopback fake of the Fluksometer local API (and of the cloud API's token check).

Serves ``GET /sensor/<id>?version=1.0&interval=minute&unit=watt`` from a dict of
``{sensor: [[ts, W or "nan"], ...]}``; with ``tokens`` set, requires the ``X-Version: 1.0``
and ``X-Token`` headers like api.flukso.net. Runs on 127.0.0.1 with an OS-chosen port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeFlm:
    def __init__(self, readings: dict[str, list[list[Any]]],
                 tokens: dict[str, str] | None = None) -> None:
        self.readings = readings
        self.tokens = tokens
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append({"path": url.path, "query": query,
                                      "headers": dict(self.headers)})
                parts = url.path.strip("/").split("/")
                if len(parts) != 2 or parts[0] != "sensor" or parts[1] not in fake.readings:
                    return self._answer(404, {"error": "unknown sensor"})
                if fake.tokens is not None and (
                        self.headers.get("X-Version") != "1.0"
                        or self.headers.get("X-Token") != fake.tokens.get(parts[1])):
                    return self._answer(403, {"error": "bad token"})
                if fake.tokens is None and query.get("version") != "1.0":
                    return self._answer(400, {"error": "version=1.0 required"})
                return self._answer(200, fake.readings[parts[1]])

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def running_flm(readings: dict[str, list[list[Any]]], tokens: dict[str, str] | None = None
                ) -> Iterator[FakeFlm]:
    fake = FakeFlm(readings, tokens)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
