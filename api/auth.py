"""Admin API authentication: ``Authorization: Bearer <token>``, the bootstrap
``VOISINS_ADMIN_TOKEN`` or a token of the database (``core/tokens.py``).

Wrong tokens from one address are counted over a sliding window; past the limit that
address gets 429 with ``Retry-After`` until its oldest failure leaves the window, whatever
it sends, so guessing the token costs minutes per handful of tries.
"""

from __future__ import annotations

import enum
import hmac
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from api.deps import checked_json_body, get_engine, get_settings
from api.errors import error_responses
from core.config import Settings
from core.db import session_scope
from core.tokens import TokenRole, token_for_secret


class FailedLogins:
    """Failed admin authentications per client address, over the last ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        # Bounded: a flood from many addresses forgets the stalest ones, it cannot grow memory.
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds this address must wait, or None when it may try."""
        with self._lock:
            failures = self._recent(address)
            if failures is None or len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window - self.clock()))

    def failed(self, address: str) -> None:
        with self._lock:
            failures = self._recent(address) or deque()
            failures.append(self.clock())
            self._failures[address] = failures
            self._failures.move_to_end(address)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures


# Declared as a security scheme, so /docs has its "Authorize" button; the checks are ours
# (auto_error off) to keep our messages and the 429.
bearer = HTTPBearer(auto_error=False, description="VOISINS_ADMIN_TOKEN or a token made by "
                                                  "`voisins token create` / POST /api/v1/tokens")

BOOTSTRAP_NAME = "VOISINS_ADMIN_TOKEN"


class Level(enum.IntEnum):
    READ = 1
    WRITE = 2
    MANAGE = 3


ROLE_LEVEL = {TokenRole.VIEWER: Level.READ, TokenRole.FACILITATOR: Level.WRITE,
              TokenRole.ADMIN: Level.MANAGE}


@dataclass(frozen=True)
class Principal:
    """Whoever holds the request's token."""

    name: str
    role: TokenRole
    community_id: int | None  # None: every community (an unscoped admin)
    token_id: int | None = None  # None: the bootstrap VOISINS_ADMIN_TOKEN

    @property
    def level(self) -> Level:
        return ROLE_LEVEL[self.role]

    @property
    def unscoped(self) -> bool:
        return self.community_id is None

    def sees(self, community_id: int | None) -> bool:
        """May this token see that community's things (``None``: things of no community)?"""
        return self.unscoped or (community_id is not None and community_id == self.community_id)


def require_token(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal:
    """The principal of the request's token: the bootstrap admin (``VOISINS_ADMIN_TOKEN``)
    or a live token of the database. Kept on ``request.state`` for the audit log."""
    failed_logins: FailedLogins = request.app.state.failed_logins
    # Behind a reverse proxy, uvicorn puts the X-Forwarded-For address here (its
    # --forwarded-allow-ips), so each client is counted, not the proxy.
    address = request.client.host if request.client else "unknown"
    wait = failed_logins.retry_after(address)
    if wait is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many wrong admin tokens from this address: retry in {wait} s",
                            headers={"Retry-After": str(wait)})
    token = credentials.credentials if credentials is not None else ""
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "send the admin token as 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    principal = _principal_for(token, settings, engine)
    if principal is None:
        failed_logins.failed(address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong admin token",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


def _principal_for(token: str, settings: Settings, engine: Engine) -> Principal | None:
    if settings.admin_token and hmac.compare_digest(token.encode(),
                                                    settings.admin_token.encode()):
        return Principal(name=BOOTSTRAP_NAME, role=TokenRole.ADMIN, community_id=None)
    # Its own short session: the request's session belongs to the handler.
    with session_scope(engine) as session:
        row = token_for_secret(session, token)
        if row is None:
            return None
        return Principal(name=row.name, role=TokenRole(row.role), community_id=row.community_id,
                         token_id=row.id)


def admin_router(*tags: str) -> APIRouter:
    """A router under ``/api/v1`` behind a token, whose JSON bodies are checked (no NaN,
    Infinity or NUL) once the token is, with the auth errors in its OpenAPI. Each of its
    routes declares its access with ``api.access`` (read, write, manage, ...)."""
    return APIRouter(prefix="/api/v1", tags=list(tags),
                     dependencies=[Depends(require_token), Depends(checked_json_body)],
                     responses=error_responses(401, 403, 429))
