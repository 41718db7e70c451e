"""Bounded request bodies: a declared length over the limit is refused before a byte is read,
and a body without one (chunked) is counted as it arrives and cut off at the limit.

Provider webhooks are small (1 MiB is generous for a Telegram update or a Twilio form), and
so is every admin JSON body; a CSV import may be up to ``VOISINS_MAX_IMPORT_BYTES``.
"""

from __future__ import annotations

import codecs
import json
import re
import tempfile
from collections.abc import Callable
from typing import IO

from fastapi import HTTPException, Request, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
# What an import keeps in memory while it arrives; the rest goes to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024
IMPORT_PATH = re.compile(r"^/api/v1/communities/[^/]+/readings/?$")


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through to the 413 handler."""

    def __init__(self, limit: int, hint: str = "") -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, too_large(limit, hint))


def too_large(limit: int, hint: str = "") -> str:
    return f"the body is larger than {limit} bytes{hint}"


def body_limit_for(max_import_bytes: int) -> Callable[[str], tuple[int, str]]:
    """The limit of a path and the setting that raises it, if any."""
    import_hint = f" (VOISINS_MAX_IMPORT_BYTES={max_import_bytes})"

    def limit(path: str) -> tuple[int, str]:
        if IMPORT_PATH.match(path):
            return max_import_bytes, import_hint
        return MAX_BODY_BYTES, ""

    return limit


class BodyLimitMiddleware:
    """ASGI middleware: 413 past the path's limit, with ``{"detail": ...}`` like any error."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], tuple[int, str]]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, hint = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, status.HTTP_413_CONTENT_TOO_LARGE, too_large(limit, hint))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, hint)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:
            # Raised where no handler saw it (reading the body outside a route): answer here.
            if started:
                raise
            await _answer(send, exc.status_code, str(exc.detail))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, status_code: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class SpooledBody:
    """A request body kept in memory up to ``SPOOL_IN_MEMORY``, on disk beyond, read once
    as it arrives: its size, whether it held anything but blank space, whether it is UTF-8
    text (and free of NUL bytes, which no text file holds)."""

    def __init__(self) -> None:
        # Closed by close(), once the import is done with it.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_IN_MEMORY)
        self.size = 0
        self.blank = True
        self.utf8 = True
        self.nul = False

    def first_line(self, most: int = 64 * 1024) -> str:
        self.file.seek(0)
        head = self.file.read(most)
        self.file.seek(0)
        return head.decode("utf-8-sig", errors="replace").split("\n", 1)[0]

    def close(self) -> None:
        self.file.close()


async def spool_body(request: Request, limit: int, hint: str = "") -> SpooledBody:
    """The body, streamed into a spooled file; 413 past ``limit`` bytes."""
    spooled = SpooledBody()
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        async for chunk in request.stream():
            spooled.size += len(chunk)
            if spooled.size > limit:
                raise BodyTooLarge(limit, hint)
            if spooled.utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    spooled.utf8 = False
            if spooled.blank and chunk.strip():
                spooled.blank = False
            if not spooled.nul and b"\x00" in chunk:
                spooled.nul = True
            spooled.file.write(chunk)
        if spooled.utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                spooled.utf8 = False
    except BaseException:
        spooled.close()
        raise
    spooled.file.seek(0)
    return spooled
