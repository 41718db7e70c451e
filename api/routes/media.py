"""``GET /media/{token}.png``: chart images for WhatsApp and MMS, by unguessable token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response
from sqlalchemy.engine import Engine

from api.deps import get_clock, get_engine
from core.clock import Clock
from core.db import session_scope
from core.media import load_png

router = APIRouter()


@router.get("/media/{token}.png", response_class=Response)
def media_png(token: str, engine: Engine = Depends(get_engine),
              clock: Clock = Depends(get_clock)) -> Response:
    with session_scope(engine) as session:
        png = load_png(session, token, clock())
    if png is None:
        # Unknown and expired look the same, so probing tokens teaches nothing.
        raise HTTPException(status_code=404, detail="not found")
    return Response(content=png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})
