"""``voisins serve``: the API and webhooks (uvicorn), the outbox dispatcher thread and the
scheduler (alert timeline, campaigns, collective results, survey expiry, gesture check-ins,
daily meter digest).

This is where the parts meet: the scheduler is handed the bot's renderers (alert texts,
campaign questions, results, digests), so that ``scheduler/`` never imports ``bot/``.
Everything starts even when Telegram does not answer; ``GET /healthz`` says how each part is.

``--role`` splits the process (``api/roles.py``): a web role for HTTP, any number of workers
for the dispatcher, the scheduler and Telegram's polling, on one PostgreSQL database. Workers
share the outbox and the calendar through row claims (``FOR UPDATE SKIP LOCKED``: alert
steps, campaigns, outbox rows, lease take-backs); the jobs that are not rows (collective
results, survey expiry, the meter digest) run in one worker per tick under an advisory lock;
each worker keeps to its share of the providers' rate limits (``WorkerRoll``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from api.app import create_app
from api.health import ProcessHealth
from api.logs import log_config
from api.roles import ServeRole
from bot.channels.senders import build_senders, channel_limits
from bot.channels.sms_segments import sms_parts
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.flows.gestures import CheckInMessages
from bot.flows.meter_digest import MeterDigestMessages
from bot.flows.results import AlertResultMessages
from bot.outbound.dispatch import DispatchReport, RateLimiter, dispatch_forever
from bot.rendering.broadcasts import broadcast_message, progress_text
from bot.rendering.survey_invitations import campaign_message
from bot.rendering.workshops import WORDING as WORKSHOP_WORDING
from core.clock import utc_now
from core.config import Settings, get_settings
from core.db import make_engine, migrate, session_scope
from core.gestures import load_gestures
from core.groups import post_to_groups
from core.locks import HeldLock, WorkerRoll, exclusive, is_postgres
from core.questionnaires.content import load_content
from core.questionnaires.responses import expire_responses
from scheduler.broadcasts import run_due_broadcasts
from scheduler.campaigns import run_due_campaigns
from scheduler.check_ins import send_due_check_ins
from scheduler.digests import send_meter_digests
from scheduler.progress import report_progress
from scheduler.results import send_due_results
from scheduler.runner import TICK_SECONDS, build_scheduler
from scheduler.workshops import run_due_workshop_steps

log = logging.getLogger(__name__)
# The technician's digest arrives in the morning, community time.
DIGEST_TIME = "09:00"
TELEGRAM_POLLING_LOCK = "telegram polling"


class RoleNeedsPostgres(ValueError):
    """Several processes share one database only on PostgreSQL."""


def start_dispatcher(engine: Engine, settings: Settings, stop: threading.Event,
                     peers: Callable[[], int] | None = None,
                     health: ProcessHealth | None = None) -> threading.Thread:
    """``peers``: how many dispatchers share the database (each keeps to its share of the
    providers' limits); ``health`` is shown what it sent."""
    senders = build_senders(engine, settings)
    limiter = RateLimiter(channel_limits(settings))
    totals = DispatchReport()
    if health is not None:
        health.dispatcher_running(totals, limiter)
    thread = threading.Thread(target=dispatch_forever, name="outbox-dispatcher", daemon=True,
                              args=(engine, senders, stop),
                              # Parallel sends: a provider's round trip (tens of ms)
                              # would otherwise cap a fan-out below Telegram's 30/s.
                              kwargs={"limiter": limiter, "workers": 8, "peers": peers,
                                      "totals": totals})
    thread.start()
    return thread


def start_scheduler(engine: Engine, settings: Settings,
                    tick_seconds: float = TICK_SECONDS,
                    health: ProcessHealth | None = None) -> BackgroundScheduler:
    """The clock of the process: every tick runs the due alert steps, then the collective
    results whose data is in, then closes expired surveys; once a day, the meter digest."""
    results = AlertResultMessages(sms_fits=lambda text: len(sms_parts(text)) == 1)
    check_ins = CheckInMessages()

    def expire_surveys() -> None:
        with session_scope(engine) as session:
            expire_responses(session, utc_now())

    jobs: dict[str, Callable[[], object]] = {
        # Campaigns are claimed row by row (SKIP LOCKED): workers share them.
        "campaigns": lambda: run_due_campaigns(engine, campaign_message),
        # Workshop reminders and follow-ups: steps claimed row by row too.
        "workshops": lambda: run_due_workshop_steps(engine, WORKSHOP_WORDING),
        "broadcasts": lambda: run_due_broadcasts(engine, broadcast_message),
        # Counting a fan-out's rows and telling its facilitator: one worker per tick.
        "progress": one_at_a_time(engine, "progress", lambda: report_progress(
            engine, progress_text)),
        # Not rows to claim: one worker per tick does them, the others skip.
        "results": one_at_a_time(engine, "results", lambda: send_due_results(
            engine, results, post_to_groups=post_to_groups)),
        "survey expiry": one_at_a_time(engine, "survey expiry", expire_surveys),
        # Check-ins are claimed row by row (SKIP LOCKED): workers share them.
        "check-ins": lambda: send_due_check_ins(engine, check_ins),
    }

    def after_tick() -> None:
        if health is not None:
            health.ticked()
        for name, job in jobs.items():
            try:
                job()
            except Exception:  # one job failing holds up neither the others nor the clock
                log.exception("%s failed; tried again next tick", name)

    # Every worker's clock fires it; one runs it (its dedupe key per contact and day would
    # stop a second copy anyway, but not the second computation).
    meter_digest = one_at_a_time(engine, "meter digest", lambda: send_meter_digests(
        engine, utc_now, MeterDigestMessages()))

    scheduler = build_scheduler(engine, AlertMessages(), respondents=post_alert_respondents,
                                after_tick=after_tick, tick_seconds=tick_seconds,
                                daily_jobs={"meter_digest": (DIGEST_TIME, meter_digest)},
                                timezone=settings.timezone)
    scheduler.start()
    return scheduler


def one_at_a_time(engine: Engine, name: str, job: Callable[[], object]
                  ) -> Callable[[], None]:
    """``job``, run only when no other process of the deployment is running it (an
    advisory lock, not waited for: the next tick comes soon)."""

    def guarded() -> None:
        with exclusive(engine, f"job:{name}") as ours:
            if ours:
                job()
            else:
                log.debug("%s: another worker runs it this tick", name)

    return guarded


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None,
          engine: Engine | None = None, role: ServeRole = ServeRole.ALL) -> None:
    """Run until interrupted. Telegram uses a webhook when PUBLIC_URL is set, else polling.

    ``role``: see ``api/roles.py``; anything but ``all`` needs PostgreSQL."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    role = ServeRole(role)
    if role is not ServeRole.ALL and not is_postgres(engine):
        raise RoleNeedsPostgres(f"--role {role.value} needs PostgreSQL: with SQLite, one "
                                "process does everything (--role all)")
    # Processes started together set the database up one at a time.
    with exclusive(engine, "startup", wait=True):
        migrate(engine)
        with session_scope(engine) as session:
            load_content(session, utc_now())
            load_gestures(session, utc_now())
    stop = threading.Event()
    health = ProcessHealth(scheduler_tick_seconds=settings.scheduler_tick_seconds
                           if role.does_work else None)
    roll = WorkerRoll(engine)
    dispatcher: threading.Thread | None = None
    scheduler: BackgroundScheduler | None = None
    poll_lock: HeldLock | None = None
    if role.does_work:
        roll.join()
        dispatcher = start_dispatcher(engine, settings, stop, peers=roll.count, health=health)
        scheduler = start_scheduler(engine, settings, settings.scheduler_tick_seconds, health)
        if is_postgres(engine):
            poll_lock = HeldLock(engine, TELEGRAM_POLLING_LOCK)
    stopped = threading.Lock()

    def shut_down() -> None:
        """Once: the scheduler stops ticking, the dispatcher records its pass's outcomes
        (its rows are not left "sending" for the lease to take back), the slot is freed."""
        if not stopped.acquire(blocking=False):
            return
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        stop.set()
        if dispatcher is not None:
            dispatcher.join(timeout=10)
        roll.leave()
        log.info("%s stopped", role.value)

    log.info("serving as %s", role.value)
    try:
        # Telegram unreachable does not stop this: the app starts, and keeps trying.
        uvicorn.run(create_app(engine, settings, process_health=health, role=role,
                               poll_lock=poll_lock, on_shutdown=shut_down),
                    host=host, port=port, log_config=log_config())
    finally:
        shut_down()
