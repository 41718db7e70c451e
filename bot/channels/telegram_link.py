"""Telegram's connection for the life of the process: up, down or off, retried in the background.

Telegram being unreachable at start-up (``getMe`` or ``setWebhook`` failing) must not take the
rest of the service down with it: SMS, WhatsApp, the admin API, the dispatcher and the
scheduler start regardless, and the link keeps trying with a growing pause, says so in the
log, and reports its state to ``GET /healthz``.

With several processes (``voisins serve --role web|worker``), the web role sets the webhook
and the worker role long-polls; a process with nothing to do for Telegram says "standby".
Telegram answers only one ``getUpdates`` at a time, so pollers take turns through a lock
(``poll_lock``, a PostgreSQL advisory lock): the one holding it polls, the others wait in
standby and take over within seconds when it dies or loses its database connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy.engine import Engine
from telegram.ext import Application

from bot.channels import telegram
from core.clock import Clock, utc_now
from core.config import Settings

log = logging.getLogger(__name__)

# standby: configured, and handled by another process of the deployment (the webhook by a
# web role, polling by the worker that holds the lock).
State = Literal["off", "standby", "starting", "up", "down"]
ALLOWED_UPDATES = ["message", "callback_query"]
# A poller in standby tries the lock this often; the holder checks it still holds it.
LOCK_RETRY_SECONDS = 2.0
LOCK_CHECK_SECONDS = 5.0


class PollLock(Protocol):
    """The lock pollers take turns with (``core.locks.HeldLock``); blocking calls."""

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Pauses between attempts: ``first``, then times ``factor``, never over ``most``."""

    first: float = 1.0
    factor: float = 2.0
    most: float = 60.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.most, delay * self.factor)


BACKOFF = Backoff()


@dataclass(frozen=True)
class LinkStatus:
    state: State
    mode: Literal["webhook", "polling"] | None
    since: datetime | None
    last_error: str | None
    attempts: int


class TelegramLink:
    """Connects the bot (``getMe``, then ``setWebhook`` or ``deleteWebhook`` + polling) and
    keeps trying until it is connected; polling failures later mark it down, and up again."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock = utc_now,
                 webhook_path: str = "/webhooks/telegram", backoff: Backoff | None = None,
                 first_attempt_timeout: float = 15.0, *, polls: bool = True,
                 sets_webhook: bool = True, poll_lock: PollLock | None = None,
                 lock_retry_seconds: float = LOCK_RETRY_SECONDS,
                 lock_check_seconds: float = LOCK_CHECK_SECONDS) -> None:
        """``polls``/``sets_webhook``: whether this process's role long-polls (worker,
        all) or sets the webhook (web, all); ``poll_lock``: taken before polling (None:
        the only process)."""
        self.settings = settings
        self.polls = polls
        self.sets_webhook = sets_webhook
        self.poll_lock = poll_lock
        self.lock_retry_seconds = lock_retry_seconds
        self.lock_check_seconds = lock_check_seconds
        self.engine = engine
        self.clock = clock
        self.webhook_path = webhook_path
        self.backoff = backoff or BACKOFF
        self.first_attempt_timeout = first_attempt_timeout
        self.mode: Literal["webhook", "polling"] | None = None
        if settings.telegram_token:
            self.mode = "webhook" if settings.public_url else "polling"
        # Without a configured secret we make one up: Telegram echoes whatever we set.
        self.secret: str | None = None
        if self.mode == "webhook":
            self.secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        self.application: Application | None = None
        self._state: State = "starting" if self.mode else "off"
        self._since: datetime | None = clock() if self.mode else None
        self._last_error: str | None = None
        self._attempts = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- what the health endpoint reads ---------------------------------------------------
    def status(self) -> LinkStatus:
        return LinkStatus(self._state, self.mode, self._since, self._last_error, self._attempts)

    def _set(self, state: State, error: str | None = None) -> None:
        if state != self._state:
            self._since = self.clock()
        self._state = state
        self._last_error = error

    def polling_result(self, error: str | None) -> None:
        """Told by the polling loop after each ``getUpdates``: None when it answered."""
        if error is None:
            if self._state != "up":
                log.info("Telegram reachable again (polling)")
            self._set("up")
        else:
            if self._state == "up":
                log.warning("Telegram unreachable while polling: %s", error)
            self._set("down", error)

    # -- life cycle -------------------------------------------------------------------------
    @property
    def handled_here(self) -> bool:
        """Whether this process's role does Telegram's part in this mode."""
        return self.polls if self.mode == "polling" else self.sets_webhook

    async def start(self) -> None:
        """One attempt now (start-up waits for it, within a bound); the rest in the background.

        A poller with a lock starts in standby and polls once it holds the lock."""
        if self.mode is None:
            return
        self._stop = asyncio.Event()
        if not self.handled_here:
            self._set("standby")
            return
        if self.mode == "polling" and self.poll_lock is not None:
            self._set("standby")
            self._task = asyncio.create_task(self._take_turns(self.poll_lock),
                                             name="telegram-poller")
            return
        try:
            connected = await asyncio.wait_for(self._attempt(), self.first_attempt_timeout)
        except TimeoutError:
            self._failed("no answer within "
                         f"{self.first_attempt_timeout:g} s", None)
            connected = False
        self._task = asyncio.create_task(self._run(connected), name="telegram-link")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close()
        if self.poll_lock is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.poll_lock.release)
        if self.mode is not None:
            self._set("down", "stopped")

    # -- taking turns at polling ----------------------------------------------------------
    async def _take_turns(self, lock: PollLock) -> None:
        """Wait for the lock, poll while it is ours, give it back; again until stopped."""
        while not self._stop.is_set():
            try:
                ours = await asyncio.to_thread(lock.try_acquire)
            except Exception as exc:  # the database away: stay in standby, try again
                log.warning("Telegram polling lock unavailable (%s)", exc.__class__.__name__)
                ours = False
            if not ours:
                await self._pause(self.lock_retry_seconds)
                continue
            log.info("Telegram: this process polls (it holds the polling lock)")
            try:
                await self._poll_while_held(lock)
            finally:
                await self._close()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(lock.release)
            if not self._stop.is_set():
                log.warning("Telegram: polling lock lost; standing by")
                self._set("standby", "polling lock lost")

    async def _poll_while_held(self, lock: PollLock) -> None:
        self._set("starting")
        shift_over = asyncio.Event()
        watcher = asyncio.create_task(self._watch(lock, shift_over), name="telegram-lock")
        try:
            delays = self.backoff.delays()
            connected = await self._attempt()
            while not connected and not shift_over.is_set():
                delay = next(delays)
                log.warning("Telegram unreachable (%s); next attempt in %g s",
                            self._last_error, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(shift_over.wait(), delay)
                if shift_over.is_set():
                    return
                connected = await self._attempt()
            if connected and self.application is not None:
                await telegram.poll_updates(self.application.bot, self.engine, self.settings,
                                            shift_over, self.clock, report=self.polling_result)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch(self, lock: PollLock, shift_over: asyncio.Event) -> None:
        """Ends the shift when the process stops or the lock is no longer ours."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.lock_check_seconds)
            if self._stop.is_set():
                break
            try:
                held = await asyncio.to_thread(lock.still_held)
            except Exception:
                held = False
            if not held:
                break
        shift_over.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _run(self, connected: bool) -> None:
        delays = self.backoff.delays()
        while not connected and not self._stop.is_set():
            delay = next(delays)
            log.warning("Telegram unreachable (%s); next attempt in %g s", self._last_error,
                        delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                return
            connected = await self._attempt()
        if self.mode == "polling" and self.application is not None:
            await telegram.poll_updates(self.application.bot, self.engine, self.settings,
                                        self._stop, self.clock, report=self.polling_result)

    async def _attempt(self) -> bool:
        self._attempts += 1
        application = telegram.build_application(self.settings.telegram_token or "",
                                                 self.settings.telegram_api_url)
        try:
            await application.initialize()  # getMe: is the token good, is Telegram there
            await application.start()
            if self.mode == "webhook":
                assert self.settings.public_url is not None
                await application.bot.set_webhook(
                    self.settings.public_url.rstrip("/") + self.webhook_path,
                    secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
            else:
                # Telegram refuses getUpdates while a webhook is set.
                await application.bot.delete_webhook()
        except asyncio.CancelledError:
            await _shut(application)
            raise
        except Exception as exc:  # any failure here is "not connected yet"
            await _shut(application)
            self._failed(self._describe(exc), exc)
            return False
        self.application = application
        self._set("up")
        log.info("Telegram connected (%s) after %d attempt(s)", self.mode, self._attempts)
        return True

    def _describe(self, exc: BaseException) -> str:
        text = f"{exc.__class__.__name__}: {exc}"[:300]
        # PTB names the token it was refused ("The token `...` was rejected").
        token = self.settings.telegram_token
        return text.replace(token, "<token>") if token else text

    def _failed(self, error: str, exc: BaseException | None) -> None:
        self._set("down", error)
        log.debug("Telegram attempt %d failed", self._attempts, exc_info=exc)

    async def _close(self) -> None:
        application, self.application = self.application, None
        if application is not None:
            await _shut(application)


async def _shut(application: Application) -> None:
    with contextlib.suppress(Exception):
        if application.running:
            await application.stop()
    with contextlib.suppress(Exception):
        await application.shutdown()
