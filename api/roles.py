"""What a ``voisins serve`` process runs: ``--role web|worker|all``.

- ``web``: the HTTP API, the provider webhooks and ``/media`` (and ``/healthz``); it sets
  Telegram's webhook when ``VOISINS_PUBLIC_URL`` is set. No dispatcher, no scheduler.
- ``worker``: the outbox dispatcher and the scheduler, and Telegram's long polling when
  there is no public URL (one worker at a time: a PostgreSQL advisory lock). Its HTTP port
  answers ``GET /healthz`` only: the tick, the polling and the backlog are known there.
- ``all`` (the default): everything in one process, as on a laptop with SQLite.

Several processes need PostgreSQL: on SQLite, ``all`` only.
"""

from __future__ import annotations

import enum


class ServeRole(enum.StrEnum):
    WEB = "web"
    WORKER = "worker"
    ALL = "all"

    @property
    def serves_api(self) -> bool:
        """API, webhooks and media."""
        return self is not ServeRole.WORKER

    @property
    def does_work(self) -> bool:
        """Dispatcher, scheduler and Telegram polling."""
        return self is not ServeRole.WEB
