"""Admin API authentication: ``Authorization: Bearer <VOISINS_ADMIN_TOKEN>``.

Wrong tokens from one address are counted over a sliding window; past the limit that
address gets 429 with ``Retry-After`` until its oldest failure leaves the window, whatever
it sends, so guessing the token costs minutes per handful of tries.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import checked_json_body, get_settings
from api.errors import error_responses
from core.config import Settings


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
bearer = HTTPBearer(auto_error=False, description="VOISINS_ADMIN_TOKEN")


def require_admin(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> None:
    if not settings.admin_token:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the admin API is off: set VOISINS_ADMIN_TOKEN to turn it on")
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
    if not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        failed_logins.failed(address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong admin token",
                            headers={"WWW-Authenticate": "Bearer"})


def admin_router(*tags: str) -> APIRouter:
    """A router under ``/api/v1`` behind the admin token, whose JSON bodies are checked (no
    NaN, Infinity or NUL) once the token is, with the auth errors in its OpenAPI."""
    return APIRouter(prefix="/api/v1", tags=list(tags),
                     dependencies=[Depends(require_admin), Depends(checked_json_body)],
                     responses=error_responses(401, 403, 429))


def require_research(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> None:
    """A token with the research role, for row-level survey answers.

    Tokens do not carry roles yet: until they do, the research role is the bootstrap admin
    token's alone (``VOISINS_ADMIN_TOKEN``), so this is the admin check under another name.
    When roles come, this is the one place that changes.
    """
    require_admin(request, settings, credentials)
