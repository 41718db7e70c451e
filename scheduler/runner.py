"""APScheduler as the clock: a short interval job claims due rows; nothing is pickled.

Job stores stay in memory on purpose: a job store must not be shared between processes,
and every future step already lives in our own tables (see ``scheduler/timeline.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from scheduler.timeline import AlertRenderer, Respondents, nobody_answered, run_due_steps

log = logging.getLogger(__name__)
TICK_SECONDS = 5


def build_scheduler(engine: Engine, renderer: AlertRenderer,
                    respondents: Respondents = nobody_answered,
                    after_tick: Callable[[], None] | None = None,
                    daily_jobs: dict[str, tuple[str, Callable[[], None]]] | None = None,
                    tick_seconds: float = TICK_SECONDS, timezone: str = "UTC"
                    ) -> BackgroundScheduler:
    """The process's scheduler: the timeline tick, then ``after_tick`` (e.g. the dispatcher),
    and daily cron jobs given as name → ("HH:MM", function)."""
    scheduler = BackgroundScheduler(timezone=timezone)

    def tick() -> None:
        try:
            report = run_due_steps(engine, renderer, respondents=respondents)
            if report.done or report.missed:
                log.info("alert steps done=%s missed=%s", report.done, report.missed)
        except Exception:  # a bad row must not stop the clock; it is retried next tick
            log.exception("alert tick failed")
        if after_tick is not None:
            after_tick()

    # coalesce + max_instances=1: a slow tick is never run twice at once by this process.
    scheduler.add_job(tick, "interval", seconds=tick_seconds, id="timeline", coalesce=True,
                      max_instances=1, misfire_grace_time=None)
    for name, (at, job) in (daily_jobs or {}).items():
        hour, minute = at.split(":")
        scheduler.add_job(job, "cron", hour=int(hour), minute=int(minute), id=name,
                          coalesce=True, max_instances=1, misfire_grace_time=3600)
    return scheduler
