"""Admin routes for broadcasts: news, tips, "the workshop room changed". A text per
language, an audience, no answers.

Created as a draft, sent with ``/send`` (the scheduler fans it out at its next tick, after
quiet hours), watched with ``GET`` (counts per channel, from the outbox rows' subject
columns), stopped with ``/cancel`` (rows not sent yet end ``cancelled``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session

from api.access import by_row, by_slug, write
from api.access import read as read_access
from api.auth import admin_router
from api.deps import MAX_ID, ClockDep, IdPath, SessionDep, community_or_404
from api.errors import error_responses
from core.audience import AudienceError, AudienceSpec
from core.broadcasts import (
    MAX_TEXT,
    Broadcast,
    BroadcastError,
    broadcast_summary,
    cancel_broadcast,
    create_broadcast,
    send_broadcast,
)
from core.config import SUPPORTED_LOCALES

router = admin_router("broadcasts")
BY_BROADCAST = by_row(Broadcast, "broadcast_id")

Locale = Annotated[str, StringConstraints(pattern=f"^({'|'.join(SUPPORTED_LOCALES)})$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]


class BroadcastAudience(BaseModel):
    """Who it goes to; left out: the whole community. Criteria add up. Residents who muted
    news never get it."""

    model_config = ConfigDict(extra="forbid")
    cluster: str | None = Field(default=None, max_length=200, description="a cluster's name")
    languages: list[Locale] = Field(default_factory=list, max_length=len(SUPPORTED_LOCALES),
                                    description="only residents reading one of these")
    came_to: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=50,
        description="only those who came to one of these workshops (ids)")


class BroadcastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: dict[Locale, Text] = Field(
        min_length=1, description='the text per language, e.g. {"fr": "..."}; a reader whose '
                                  "language is missing gets source_locale's")
    source_locale: Locale | None = Field(
        default=None, description="the language it was written in (default: the first)")
    audience: BroadcastAudience = Field(default_factory=BroadcastAudience)


class ChannelDelivery(BaseModel):
    total: int
    waiting: int = Field(description="queued, not sent yet")
    sent: int
    failed: int = Field(description="failed, undelivered, or past their deadline")
    held_back: int = Field(description="cancelled, or the reader stopped meanwhile")


class Delivery(ChannelDelivery):
    by_channel: dict[str, ChannelDelivery]


class BroadcastView(BaseModel):
    id: int
    community_id: int
    status: str = Field(description="draft, scheduled, sending, sent, cancelled or failed")
    text: dict[str, str]
    source_locale: str
    audience: BroadcastAudience
    created_at: str | None = Field(description="ISO-8601, as are the other times")
    due_at: str | None
    queued_at: str | None = Field(description="when its messages were queued")
    finished_at: str | None
    cancelled_at: str | None
    recipients: int = Field(description="residents it was queued for")
    attempts: int
    last_error: str | None
    delivery: Delivery


class CancelledBroadcast(BroadcastView):
    held_back: int = Field(description="messages still waiting that will not be sent")


def _broadcast_or_404(session: Session, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no broadcast {broadcast_id}")
    return broadcast


@router.post("/communities/{slug}/broadcasts", status_code=status.HTTP_201_CREATED,
             response_model=BroadcastView, responses=error_responses(404),
             dependencies=[write(by_slug)])
def create(slug: str, request: BroadcastRequest, session: SessionDep, clock: ClockDep
           ) -> BroadcastView:
    """A draft: nothing goes until ``/send``."""
    community = community_or_404(session, slug)
    try:
        broadcast = create_broadcast(
            session, community, dict(request.text), clock(),
            source_locale=request.source_locale,
            audience=AudienceSpec.from_json(request.audience.model_dump(exclude_defaults=True)))
    except (BroadcastError, AudienceError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return BroadcastView.model_validate(broadcast_summary(session, broadcast))


@router.post("/broadcasts/{broadcast_id}/send", response_model=BroadcastView,
             responses=error_responses(404, 409), dependencies=[write(BY_BROADCAST)])
def send(broadcast_id: IdPath, session: SessionDep, clock: ClockDep) -> BroadcastView:
    """Queued by the scheduler's next tick (after quiet hours). Sending twice is harmless;
    a cancelled broadcast is a 409."""
    broadcast = _broadcast_or_404(session, broadcast_id)
    try:
        send_broadcast(session, broadcast, clock())
    except BroadcastError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return BroadcastView.model_validate(broadcast_summary(session, broadcast))


@router.get("/broadcasts/{broadcast_id}", response_model=BroadcastView,
            responses=error_responses(404), dependencies=[read_access(BY_BROADCAST)])
def read(broadcast_id: IdPath, session: SessionDep) -> BroadcastView:
    """The broadcast with its delivery counts, in all and per channel (counts only)."""
    broadcast = _broadcast_or_404(session, broadcast_id)
    return BroadcastView.model_validate(broadcast_summary(session, broadcast))


@router.post("/broadcasts/{broadcast_id}/cancel", response_model=CancelledBroadcast,
             responses=error_responses(404, 409), dependencies=[write(BY_BROADCAST)])
def cancel(broadcast_id: IdPath, session: SessionDep, clock: ClockDep) -> CancelledBroadcast:
    """Stop it: messages not sent yet end ``cancelled`` (``held_back``). 409 once nothing
    is waiting any more."""
    broadcast = _broadcast_or_404(session, broadcast_id)
    try:
        held_back = cancel_broadcast(session, broadcast, clock())
    except BroadcastError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return CancelledBroadcast.model_validate({**broadcast_summary(session, broadcast),
                                              "held_back": held_back})
