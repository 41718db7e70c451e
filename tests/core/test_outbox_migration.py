"""The migration that gives outbox rows their columns fills them for rows written before,
from their dedupe keys (the one place a key is read), with deadlines for those waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from core.db import MIGRATIONS_DIR, migrate

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STARTS = T0 + timedelta(hours=2)
ENDS = STARTS + timedelta(hours=1)


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _insert(connection: sa.Connection, table: sa.Table, **values: object) -> int:
    key = connection.execute(sa.insert(table).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def test_existing_rows_get_subject_stage_priority_and_deadline(engine: Engine) -> None:
    _downgrade(engine, "0008")
    tables = sa.MetaData()
    tables.reflect(engine)
    community, identity, alert, outbox = (tables.tables[name] for name in (
        "community", "channelidentity", "alert", "outboxmessage"))
    rows = {
        "alert:{a}:start:7": ("alert_start", "pending"),
        "alert:{a}:start:7:via:sms": ("alert_start", "pending"),
        "alert:{a}:notice_30min:group:-100123": ("alert_notice_30min", "sent"),
        "alert:{a}:result:7": ("collective_result", "pending"),
        "campaign:3:reminder:7": ("campaign_reminder", "pending"),
        "reply:sms:SM123:0": ("reply", "pending"),
    }
    with engine.begin() as connection:
        community_id = _insert(connection, community, slug="c", name="C",
                               timezone="Europe/Brussels", default_locale="fr",
                               join_code="CCC", quiet_hours="22:00-08:00", privacy_k=5)
        identity_id = _insert(connection, identity, channel="sms", address="+32470000001",
                              reachable=True)
        alert_id = _insert(connection, alert, community_id=community_id, kind="surprise",
                           status="scheduled", starts_at=STARTS, ends_at=ENDS,
                           record_only=False)
        for key, (kind, status) in rows.items():
            connection.execute(sa.insert(outbox).values(
                dedupe_key=key.format(a=alert_id), identity_id=identity_id, channel="sms",
                kind=kind, payload={}, status=status, attempts=0, next_attempt_at=T0,
                created_at=T0, updated_at=T0))
    migrate(engine)
    with engine.connect() as connection:
        found = {row.dedupe_key: row for row in connection.execute(sa.text(
            "SELECT dedupe_key, subject_kind, subject_id, stage, priority, expires_at "
            "FROM outboxmessage"))}

    def deadline(key: str) -> datetime | None:
        value = found[key.format(a=alert_id)].expires_at
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value

    def columns(key: str) -> tuple[object, ...]:
        row = found[key.format(a=alert_id)]
        return row.subject_kind, row.subject_id, row.stage, row.priority

    assert columns("alert:{a}:start:7") == ("alert", alert_id, "start", 0)
    assert columns("alert:{a}:start:7:via:sms") == ("alert", alert_id, "start", 0)
    assert columns("alert:{a}:notice_30min:group:-100123") == (
        "alert", alert_id, "notice_30min", 0)
    assert columns("alert:{a}:result:7") == ("alert", alert_id, "result", 2)
    assert columns("campaign:3:reminder:7") == ("campaign", 3, "reminder", 2)
    assert columns("reply:sms:SM123:0") == (None, None, None, 1)
    # Deadlines for what still waits: a start message not after the end of its alert.
    assert deadline("alert:{a}:start:7") == ENDS
    assert deadline("alert:{a}:result:7") == T0 + timedelta(hours=48)
    assert deadline("reply:sms:SM123:0") == T0 + timedelta(hours=24)
    assert deadline("alert:{a}:notice_30min:group:-100123") is None  # sent: history
