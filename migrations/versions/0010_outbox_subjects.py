"""outbox rows carry what they are about (subject, stage), a priority, a deadline and a
lease; alert steps and campaigns record failures and their retry

Revision ID: 0010
Revises: 0009

Existing rows get their subject from their dedupe key: this is the one place allowed to read
a key (``alert:{id}:{stage}:...``, ``campaign:{id}:{stage}:...``, also rerouted
``...:via:sms`` rows), and their deadline from the same rules as new rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ALERT_KINDS = {"alert_notice_24h", "alert_notice_30min", "alert_start", "alert_end",
               "alert_cancellation"}
BULK_KINDS = {"alert_questionnaire", "alert_reminder", "campaign_start", "campaign_reminder",
              "collective_result", "meter_digest"}
WAITING = ("pending", "sending")


def upgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(sa.Column("subject_kind", sa.String(), nullable=True))
        batch.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stage", sa.String(), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_outboxmessage_subject", ["subject_kind", "subject_id", "stage"])
        batch.create_index("ix_outboxmessage_claim", ["status", "priority", "next_attempt_at"])
        batch.create_index("ix_outboxmessage_expiry", ["status", "expires_at"])
    for table in ("alertstep", "campaign"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                       server_default="0"))
            batch.add_column(sa.Column("last_error", sa.String(), nullable=True))
            batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    _fill_existing_rows()


def _subject_from_key(key: str) -> tuple[str, int, str] | None:
    parts = key.split(":")
    if len(parts) >= 3 and parts[0] in ("alert", "campaign") and parts[1].isdigit():
        return parts[0], int(parts[1]), parts[2]
    return None


def _priority(kind: str) -> int:
    return 0 if kind in ALERT_KINDS else 2 if kind in BULK_KINDS else 1


def _utc(moment: Any) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _deadline(kind: str, subject: tuple[str, int, str] | None, due: datetime,
              alerts: dict[int, tuple[datetime, datetime]]) -> datetime:
    if subject is not None and subject[0] == "alert" and subject[1] in alerts:
        starts_at, ends_at = alerts[subject[1]]
        stage = subject[2]
        if stage in ("notice_24h", "notice_30min"):
            return starts_at
        if stage in ("start", "cancellation"):
            return ends_at
        if stage == "end":
            return ends_at + timedelta(hours=1)
    if kind in BULK_KINDS:
        return due + timedelta(hours=48)
    return due + timedelta(hours=24)


def _fill_existing_rows() -> None:
    connection = op.get_bind()
    alerts = {row.id: (_utc(row.starts_at), _utc(row.ends_at)) for row in connection.execute(
        sa.text("SELECT id, starts_at, ends_at FROM alert"))}
    updates = []
    for row in connection.execute(sa.text(
            "SELECT id, dedupe_key, kind, status, next_attempt_at, created_at "
            "FROM outboxmessage")):
        subject = _subject_from_key(row.dedupe_key)
        due = _utc(row.next_attempt_at) or _utc(row.created_at) or datetime.now(UTC)
        updates.append({
            "row_id": row.id,
            "subject_kind": subject[0] if subject else None,
            "subject_id": subject[1] if subject else None,
            "stage": subject[2] if subject else None,
            "priority": _priority(row.kind),
            "expires_at": _deadline(row.kind, subject, due, alerts)
            if row.status in WAITING else None,
        })
    if updates:
        connection.execute(sa.text(
            "UPDATE outboxmessage SET subject_kind = :subject_kind, subject_id = :subject_id, "
            "stage = :stage, priority = :priority, expires_at = :expires_at "
            "WHERE id = :row_id").bindparams(
            sa.bindparam("expires_at", type_=sa.DateTime(timezone=True))), updates)


def downgrade() -> None:
    for table in ("campaign", "alertstep"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("retry_at")
            batch.drop_column("last_error")
            batch.drop_column("attempts")
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_index("ix_outboxmessage_expiry")
        batch.drop_index("ix_outboxmessage_claim")
        batch.drop_index("ix_outboxmessage_subject")
        batch.drop_column("leased_until")
        batch.drop_column("expires_at")
        batch.drop_column("priority")
        batch.drop_column("stage")
        batch.drop_column("subject_id")
        batch.drop_column("subject_kind")
