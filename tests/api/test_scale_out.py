"""Scale out on PostgreSQL: one web process and two workers (real ``voisins serve --role``
processes) drain a broadcast and ten alerts' notices; Telegram (the fake) gets each message
exactly once, each alert step runs once, both workers take part, and one worker at a time
polls Telegram; when it stops, the other takes over.

Runs wherever PostgreSQL is (CI=true requires it); about half a minute.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.alerts import AlertStage, AlertStep, StepStatus
from core.models import InboundEvent
from tests.api.helpers import telegram_text
from tests.fakes.deployment import (
    Deployment,
    ServeProcess,
    enqueue_broadcast,
    outbox_counts,
    plan_alerts_through_the_api,
    seed_broadcast_chats,
    seed_residents,
    wait_for,
)
from tests.fakes.telegram_api import FakeTelegram

CLUSTERS, PER_CLUSTER, BROADCAST = 10, 10, 1500


def _telegram(process: ServeProcess) -> str:
    health = process.health() or {}
    return str(health.get("channels", {}).get("telegram", {}).get("state"))


def _sent_by(process: ServeProcess) -> int:
    health: dict[str, Any] = process.health() or {}
    return int(health["dispatcher"]["sent"])


def test_two_workers_send_each_message_once_and_run_each_step_once(
        pg_engine: Engine, fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    seed_residents(pg_engine, CLUSTERS, PER_CLUSTER, now)
    chats = seed_broadcast_chats(pg_engine, BROADCAST, now)
    deployment = Deployment(pg_engine.url.render_as_string(hide_password=False),
                            fake_telegram.api_url, fake_telegram.token, tmp_path)
    web = deployment.start("web")
    workers = [deployment.start("worker"), deployment.start("worker")]
    try:
        deployment.wait_healthy()
        # The web role serves the API and the webhooks, runs no scheduler and no dispatcher,
        # and leaves polling to the workers; a worker's port is its health check only.
        web_health = web.health() or {}
        assert web_health["scheduler"]["running"] is False
        assert web_health["dispatcher"]["running"] is False
        assert web_health["channels"]["telegram"]["state"] == "standby"
        for worker in workers:
            assert httpx.get(f"{worker.base}/api/v1/alerts/1").status_code == 404
            assert httpx.post(f"{worker.base}/webhooks/telegram", json={}).status_code == 404
        # Exactly one worker polls Telegram, the other stands by.
        wait_for(lambda: sorted(map(_telegram, workers)) == ["standby", "up"], 30,
                 "one poller")
        wait_for(lambda: all((w.health() or {})["dispatcher"]["workers"] == 2
                             for w in workers), 30, "the workers to count each other")

        enqueue_broadcast(pg_engine, chats, datetime.now(UTC))
        alerts = plan_alerts_through_the_api(web.base, CLUSTERS, datetime.now(UTC))
        expected = BROADCAST + CLUSTERS * PER_CLUSTER
        wait_for(lambda: len(fake_telegram.sent) >= expected, 60,
                 f"{expected} messages at the fake")
        # Some more ticks and passes: nothing may come twice.
        wait_for(lambda: outbox_counts(pg_engine) == {"sent": expected}, 30,
                 "every row recorded sent")
        sent_by = [_sent_by(worker) for worker in workers]

        poller = next(w for w in workers if _telegram(w) == "up")
        standby = next(w for w in workers if w is not poller)
        fake_telegram.push_update(telegram_text(8001, "/start SCALE", chat_id=61))
        wait_for(lambda: fake_telegram.texts_to(61), 30, "an answer while polled")
        # The polling worker stops (SIGTERM, as systemd stops it): the other takes over.
        assert poller.stop() in (0, -15)  # uvicorn ends with the signal, after shutting down
        assert "worker stopped" in poller.log.read_text()
        wait_for(lambda: _telegram(standby) == "up", 30, "the standby worker to poll")
        fake_telegram.push_update(telegram_text(8002, "/start SCALE", chat_id=62))
        wait_for(lambda: fake_telegram.texts_to(62), 30, "an answer after the takeover")
    finally:
        deployment.stop()
    logs = deployment.logs()

    counts = Counter((m.chat_id, m.text) for m in fake_telegram.sent)
    alert_and_broadcast = {key: n for key, n in counts.items() if key[0] not in (61, 62)}
    assert len(alert_and_broadcast) == expected
    assert set(alert_and_broadcast.values()) == {1}, "a message went twice"
    # Both workers took their part of the outbox, and together sent it once.
    assert all(n > 0 for n in sent_by) and sum(sent_by) == expected, sent_by
    with Session(pg_engine) as session:
        steps = session.exec(select(AlertStep).where(
            AlertStep.stage == AlertStage.NOTICE_30MIN.value)).all()
        assert sorted(step.alert_id for step in steps) == sorted(alerts)
        assert {(s.status, s.recipients, s.attempts) for s in steps} == \
            {(StepStatus.DONE.value, PER_CLUSTER, 0)}
        # Later steps are not due yet: none ran.
        later = session.exec(select(AlertStep).where(
            AlertStep.stage != AlertStage.NOTICE_30MIN.value)).all()
        assert {s.status for s in later} == {StepStatus.PENDING.value}
        assert len(session.exec(select(InboundEvent)).all()) == 2
    # Telegram never saw two pollers at once.
    assert "Conflict" not in logs and fake_telegram.poll_conflicts <= 1
    assert "Traceback" not in logs
