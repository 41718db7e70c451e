"""A deployment on loopback: ``voisins serve --role web|worker`` processes on one PostgreSQL
database, talking to the Telegram fake. Used by the scale-out test and benchmark.

What they drain: a broadcast (one outbox row per chat, each with its own text) and alerts
planned through the web role's API, one per cluster of residents, whose 30-minute notice is
due at once; so every message a chat should get is distinct, and "each sent exactly once"
can be counted at the fake.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.communities import add_cluster, add_household, create_community
from core.config import get_settings
from core.contacts import enrol_contact
from core.db import session_scope
from core.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority, SubjectKind

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "scale-out-token"
COMMUNITY = "scale"
BROADCAST_CHATS = 7_000_000
RESIDENT_CHATS = 5_000_000
T = TypeVar("T")

CONSENT = get_settings().consent_version  # today's text: nobody is asked again


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(probe: Callable[[], T | None], timeout: float, what: str,
             every: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@dataclass
class ServeProcess:
    """One ``voisins serve --role ...`` process, its port and its log."""

    role: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict[str, Any] | None:
        response = httpx.get(f"{self.base}/healthz", timeout=2)
        return response.json() if response.status_code == 200 else None

    def alive_and_healthy(self) -> dict[str, Any] | None:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.role} exited: {self.log.read_text(errors='replace')}")
        return self.health()

    def stop(self) -> int:
        """SIGTERM, as systemd stops a unit; the return code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


@dataclass
class Deployment:
    """The processes of one deployment, started against one database."""

    database_url: str
    telegram_api_url: str
    telegram_token: str
    folder: Path
    tick_seconds: float = 0.5
    # Telegram's overall limit as the workers see it: high, so that what is measured is the
    # workers, not Telegram's 30/s (each chat still gets at most one message a second).
    telegram_per_second: float = 100_000
    processes: list[ServeProcess] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("VOISINS_")}
        env.update({"PYTHONPATH": str(ROOT), "VOISINS_DATABASE_URL": self.database_url,
                    "VOISINS_TELEGRAM_TOKEN": self.telegram_token,
                    "VOISINS_TELEGRAM_API_URL": self.telegram_api_url,
                    "VOISINS_TELEGRAM_PER_SECOND": str(self.telegram_per_second),
                    "VOISINS_SCHEDULER_TICK_SECONDS": str(self.tick_seconds),
                    "VOISINS_ADMIN_TOKEN": ADMIN_TOKEN})
        return env

    def start(self, role: str) -> ServeProcess:
        port = free_port()
        log = self.folder / f"{role}-{len(self.processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--role", role, "--port", str(port)],
                cwd=self.folder, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        started = ServeProcess(role, port, log, process)
        self.processes.append(started)
        return started

    def wait_healthy(self, timeout: float = 90) -> None:
        for process in self.processes:
            wait_for(process.alive_and_healthy, timeout,
                     f"{process.role} on port {process.port} ({process.log})")

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def logs(self) -> str:
        return "\n".join(p.log.read_text(errors="replace") for p in self.processes
                         if p.log.exists())


# -- what the deployment drains --------------------------------------------------------------

def seed_residents(engine: Engine, clusters: int, per_cluster: int, now: datetime) -> None:
    """A community whose residents (on Telegram, consented) are in ``clusters`` clusters."""
    with session_scope(engine) as session:
        community = create_community(session, COMMUNITY, "Scale", join_code="SCALE",
                                     clock=lambda: now)
        assert community.id is not None
        for c in range(clusters):
            cluster = add_cluster(session, community, cluster_name(c))
            for r in range(per_cluster):
                n = c * per_cluster + r
                household = add_household(session, community, f"S{n:05d}", cluster,
                                          code=f"SC{n:06d}", clock=lambda: now)
                identity = ChannelIdentity(channel="telegram", address=str(RESIDENT_CHATS + n),
                                           created_at=now, last_inbound_at=now)
                session.add(identity)
                session.flush()
                contact = enrol_contact(session, identity, community.id, "fr", CONSENT, now)
                contact.household_id = household.id
                session.add(contact)


def cluster_name(index: int) -> str:
    return f"C{index:02d}"


def seed_broadcast_chats(engine: Engine, chats: int, now: datetime) -> list[int]:
    """``chats`` Telegram addresses (no contact: a broadcast list); their identity ids."""
    with Session(engine) as session:
        session.execute(insert(ChannelIdentity), [
            {"channel": "telegram", "address": str(BROADCAST_CHATS + n), "reachable": True,
             "created_at": now} for n in range(chats)])
        session.commit()
        return list(session.exec(select(ChannelIdentity.id).where(
            col(ChannelIdentity.address).in_([str(BROADCAST_CHATS + n)
                                              for n in range(chats)]))).all())  # type: ignore[arg-type]


def enqueue_broadcast(engine: Engine, identity_ids: Iterable[int], now: datetime) -> int:
    """One row per chat, all due now, in one transaction; each text names its row."""
    rows = [{"dedupe_key": f"broadcast:1:{n}", "identity_id": identity_id,
             "channel": "telegram", "kind": "broadcast", "priority": int(Priority.BULK),
             "subject_kind": SubjectKind.BROADCAST.value, "subject_id": 1,
             "payload": {"text": f"Voisins broadcast {n}", "locale": "fr"},
             "status": OutboxStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
             "expires_at": now + timedelta(hours=6), "created_at": now, "updated_at": now}
            for n, identity_id in enumerate(identity_ids)]
    with Session(engine) as session:
        session.execute(insert(OutboxMessage), rows)
        session.commit()
    return len(rows)


def plan_alerts_through_the_api(base: str, clusters: int, now: datetime) -> list[int]:
    """Through the web role: notices as early as allowed, then one surprise alert per
    cluster, two hours ahead; each alert's notice is due at once."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=30) as client:
        settings = client.put(f"/communities/{COMMUNITY}/alert-settings",
                              json={"planned_notice_minutes": 2880,
                                    "last_notice_minutes": 1440})
        assert settings.status_code == 200, settings.text
        starts = (now + timedelta(hours=2)).replace(microsecond=0).isoformat()
        ids = []
        for c in range(clusters):
            planned = client.post(f"/communities/{COMMUNITY}/alerts", json={
                "starts_at": starts, "duration_minutes": 60, "kind": "surprise",
                "cluster": cluster_name(c)})
            assert planned.status_code == 201, planned.text
            ids.append(int(planned.json()["id"]))
    return ids


def outbox_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {status: int(count) for status, count in session.exec(
            select(OutboxMessage.status, func.count()).group_by(
                col(OutboxMessage.status))).all()}
