"""``GET /media/{token}.png``: chart images for WhatsApp and MMS, by unguessable token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from api.deps import ClockDep, SessionDep
from api.errors import error_responses
from core.media import load_file, load_png

router = APIRouter(tags=["media"])


@router.get("/media/{token}.png", response_class=Response, responses={
    200: {"description": "the chart", "content": {"image/png": {
        "schema": {"type": "string", "format": "binary"}}}},
    **error_responses(404)})
def media_png(token: str, session: SessionDep, clock: ClockDep) -> Response:
    png = load_png(session, token, clock())
    if png is None:
        # Unknown and expired look the same, so probing tokens teaches nothing.
        raise HTTPException(status_code=404, detail="not found")
    return Response(content=png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/media/{token}.ics", response_class=Response, responses={
    200: {"description": "a workshop's calendar file", "content": {"text/calendar": {
        "schema": {"type": "string"}}}},
    **error_responses(404)})
def media_ics(token: str, session: SessionDep, clock: ClockDep) -> Response:
    ics = load_file(session, token, "text/calendar", clock())
    if ics is None:
        raise HTTPException(status_code=404, detail="not found")
    return Response(content=ics, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=3600",
                             "Content-Disposition": 'attachment; filename="workshop.ics"'})
