"""``GET /healthz``: is the service whole? No token needed, and nothing personal in it.

200 while the database answers (``status`` "ok", or "degraded" when a configured channel is
down or the scheduler has stopped ticking); 503 when the database does not answer.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.health import ProcessHealth
from api.schemas import IsoDateTime, OptionalIsoDateTime
from bot.channels.telegram_link import TelegramLink
from core.clock import as_utc
from core.config import Settings
from core.models import OutboxMessage, OutboxStatus

router = APIRouter(tags=["health"])

WAITING = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
ChannelState = Literal["off", "standby", "starting", "up", "down"]


class DatabaseHealth(BaseModel):
    ok: bool
    latency_ms: float | None = Field(description="one round trip, in milliseconds")
    error: str | None


class SchedulerHealth(BaseModel):
    running: bool = Field(description="false when no scheduler runs in this process")
    ok: bool = Field(description="it ticked within three tick intervals (+10 s)")
    tick_seconds: float | None
    last_tick_at: OptionalIsoDateTime
    tick_age_seconds: float | None


class DispatcherHealth(BaseModel):
    running: bool = Field(description="false when no dispatcher runs in this process")
    sent: int = Field(description="messages this process's dispatcher sent since it started")
    failed: int
    expired: int
    workers: int | None = Field(description="dispatchers sharing the providers' overall "
                                            "limits, this one included (one share each)")


class OutboxHealth(BaseModel):
    pending: int = Field(description="messages not sent yet (waiting or being sent)")
    due: int = Field(description="of those, the ones whose time has come")
    oldest_due_age_seconds: float | None = Field(
        description="how long the oldest due message has waited since it was queued")


class ChannelHealth(BaseModel):
    state: ChannelState = Field(description="off: not configured; standby: handled by "
                                            "another process of the deployment (the webhook "
                                            "by a web role, polling by one worker); Twilio "
                                            "channels are up when configured (no connection "
                                            "to hold)")
    mode: str | None = None
    since: OptionalIsoDateTime = None
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    checked_at: IsoDateTime
    database: DatabaseHealth
    scheduler: SchedulerHealth
    dispatcher: DispatcherHealth
    outbox: OutboxHealth | None = Field(description="null when the database does not answer")
    channels: dict[str, ChannelHealth] = Field(description="telegram, sms, whatsapp")


def _database_and_outbox(reader: Engine, now: datetime
                         ) -> tuple[DatabaseHealth, OutboxHealth | None]:
    started = time.perf_counter()
    try:
        with reader.connect() as connection:
            connection.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            waiting = col(OutboxMessage.status).in_(WAITING)
            due = or_(col(OutboxMessage.next_attempt_at).is_(None),
                      col(OutboxMessage.next_attempt_at) <= now)
            pending = connection.execute(
                select(func.count()).select_from(OutboxMessage).where(waiting)).scalar_one()
            due_count, oldest = connection.execute(
                select(func.count(), func.min(OutboxMessage.created_at))
                .select_from(OutboxMessage).where(waiting, due)).one()
    except Exception as exc:  # the database is what is being checked: any failure is "down"
        return DatabaseHealth(ok=False, latency_ms=None,
                              error=exc.__class__.__name__), None
    age = max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest is not None else None
    return (DatabaseHealth(ok=True, latency_ms=round(latency, 3), error=None),
            OutboxHealth(pending=int(pending), due=int(due_count),
                         oldest_due_age_seconds=None if age is None else round(age, 3)))


def _scheduler(health: ProcessHealth) -> SchedulerHealth:
    every = health.scheduler_tick_seconds
    if every is None:
        return SchedulerHealth(running=False, ok=True, tick_seconds=None, last_tick_at=None,
                               tick_age_seconds=None)
    at, age = health.last_tick()
    # Before the first tick the scheduler has had less than one interval: still fine.
    fresh = age is None or age <= 3 * every + 10
    return SchedulerHealth(running=True, ok=fresh, tick_seconds=every,
                           last_tick_at=at.isoformat() if at else None,
                           tick_age_seconds=None if age is None else round(age, 3))


def _dispatcher(health: ProcessHealth) -> DispatcherHealth:
    totals, limiter = health.dispatch_totals, health.dispatch_limiter
    if totals is None:
        return DispatcherHealth(running=False, sent=0, failed=0, expired=0, workers=None)
    return DispatcherHealth(running=True, sent=totals.sent, failed=totals.failed,
                            expired=totals.expired,
                            workers=limiter.share if limiter is not None else None)


def _channels(link: TelegramLink | None, settings: Settings) -> dict[str, ChannelHealth]:
    channels: dict[str, ChannelHealth] = {}
    if link is None or link.mode is None:
        channels["telegram"] = ChannelHealth(state="off")
    else:
        found = link.status()
        channels["telegram"] = ChannelHealth(
            state=found.state, mode=found.mode, error=found.last_error,
            since=found.since.isoformat() if found.since else None)
    twilio = bool(settings.twilio_account_sid and settings.twilio_auth_token)
    for name, sender in (("sms", settings.twilio_sms_from),
                         ("whatsapp", settings.twilio_whatsapp_from)):
        channels[name] = ChannelHealth(state="up" if twilio and sender else "off")
    return channels


@router.get("/healthz", response_model=Health, responses={
    503: {"model": Health, "description": "the database does not answer"}})
def healthz(request: Request, response: Response) -> Health:
    state = request.app.state
    now = as_utc(state.clock())
    database, outbox = _database_and_outbox(state.reader_engine, now)
    scheduler = _scheduler(state.health)
    channels = _channels(state.telegram_link, state.settings)
    if not database.ok:
        verdict: Literal["ok", "degraded", "down"] = "down"
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    elif not scheduler.ok or any(c.state in ("down", "starting") for c in channels.values()):
        verdict = "degraded"
    else:
        verdict = "ok"
    return Health(status=verdict, checked_at=now.isoformat(), database=database,
                  scheduler=scheduler, dispatcher=_dispatcher(state.health), outbox=outbox,
                  channels=channels)
