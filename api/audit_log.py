"""Records every admin write in the audit log (``core/audit.py``), once it is answered.

An ASGI middleware, so the outcome is the status the client got, errors included (a 403, a
409, a 422, even a 500). A write is any method but GET, HEAD and OPTIONS under ``/api/v1``
by a request whose token was recognised (a wrong token is counted by ``api/auth.py``, not
logged here). Only the route's template and its path parameters are kept, never a body.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal
from core.audit import AuditEntry, record
from core.clock import Clock
from core.db import session_scope

log = logging.getLogger(__name__)

READS = {"GET", "HEAD", "OPTIONS"}
ADMIN_PREFIX = "/api/v1/"


class AuditLogMiddleware:
    def __init__(self, app: ASGIApp, engine: Engine, clock: Clock) -> None:
        self.app = app
        self.engine = engine
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] in READS
                or not scope["path"].startswith(ADMIN_PREFIX)):
            await self.app(scope, receive, send)
            return
        answered: list[int] = []

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except Exception:
            await self._record(scope, 500)
            raise
        await self._record(scope, answered[0] if answered else 500)

    async def _record(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        principal = state.get("principal")
        if not isinstance(principal, Principal):
            return
        entry = AuditEntry(at=self.clock(), token_name=principal.name,
                           token_id=principal.token_id,
                           community_id=state.get("audited_community"),
                           method=scope["method"], route=_template(scope),
                           target=_target(scope), status=status)
        try:
            await asyncio.to_thread(self._write, entry)
        except Exception:  # the answer is sent already: say so in the log, loudly
            log.exception("could not record an audit entry for %s %s", entry.method,
                          entry.route)

    def _write(self, entry: AuditEntry) -> None:
        with session_scope(self.engine) as session:
            record(session, entry)


def _template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else str(scope["path"])


def _target(scope: Scope) -> str:
    params: dict[str, Any] = scope.get("path_params") or {}
    return " ".join(f"{name}={value}" for name, value in sorted(params.items()))
