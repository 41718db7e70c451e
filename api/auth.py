"""Admin API authentication: ``Authorization: Bearer <VOISINS_ADMIN_TOKEN>``."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from api.deps import get_settings
from core.config import Settings


def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    if not settings.admin_token:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the admin API is off: set VOISINS_ADMIN_TOKEN to turn it on")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "send the admin token as 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong admin token",
                            headers={"WWW-Authenticate": "Bearer"})


def require_research(
    settings: Annotated[Settings, Depends(get_settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """A token with the research role, for row-level survey answers.

    Tokens do not carry roles yet: until they do, the research role is the bootstrap admin
    token's alone (``VOISINS_ADMIN_TOKEN``), so this is the admin check under another name.
    When roles come, this is the one place that changes.
    """
    require_admin(settings, authorization)
