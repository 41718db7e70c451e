"""gestures: the eco-gesture catalogue (versions), commitments, check-ins, offers, appliance ratings

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
# Chained after this branch's head so that it upgrades on its own; the lead re-chains at merge.
down_revision = "0008"
branch_labels = None
depends_on = None


def _utc(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "gesture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("helps", sa.String(), nullable=False),
        sa.Column("effort", sa.Integer(), nullable=False),
        sa.Column("common", sa.Boolean(), nullable=False),
        sa.Column("text", sa.JSON(), nullable=False),
        sa.Column("why", sa.JSON(), nullable=False),
        sa.Column("alert_text", sa.JSON(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug", "version"),
    )
    with op.batch_alter_table("gesture", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gesture_slug"), ["slug"], unique=False)
        batch_op.create_index(batch_op.f("ix_gesture_category"), ["category"], unique=False)

    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("gesture_id", sa.Integer(), nullable=False),
        sa.Column("gesture_slug", sa.String(), nullable=False),
        sa.Column("gesture_version", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(), nullable=False),
        sa.Column("context", sa.String(), nullable=False),
        _utc("chosen_at", nullable=False),
        _utc("dropped_at"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["gesture_id"], ["gesture.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commitment_contact_id"), ["contact_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_commitment_gesture_id"), ["gesture_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_commitment_gesture_slug"), ["gesture_slug"],
                              unique=False)
    op.create_index("uq_commitment_active_gesture", "commitment", ["contact_id", "gesture_slug"],
                    unique=True, sqlite_where=sa.text("dropped_at IS NULL"),
                    postgresql_where=sa.text("dropped_at IS NULL"))

    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        _utc("due_at", nullable=False),
        _utc("asked_at"),
        sa.Column("answer", sa.String(), nullable=True),
        _utc("answered_at"),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commitment_id", "alert_id"),
        sa.UniqueConstraint("commitment_id", "due_at"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_commitment_id"), ["commitment_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_due_at"), ["due_at"], unique=False)

    op.create_table(
        "gestureoffer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        _utc("offered_at", nullable=False),
        sa.Column("answer", sa.String(), nullable=True),
        _utc("answered_at"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "alert_id"),
    )
    with op.batch_alter_table("gestureoffer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gestureoffer_contact_id"), ["contact_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_gestureoffer_alert_id"), ["alert_id"],
                              unique=False)

    op.create_table(
        "appliancerating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("appliance", sa.String(), nullable=False),
        sa.Column("rating", sa.String(), nullable=False),
        _utc("answered_at", nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "appliance"),
    )
    with op.batch_alter_table("appliancerating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appliancerating_contact_id"), ["contact_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appliancerating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appliancerating_contact_id"))
    op.drop_table("appliancerating")
    with op.batch_alter_table("gestureoffer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gestureoffer_alert_id"))
        batch_op.drop_index(batch_op.f("ix_gestureoffer_contact_id"))
    op.drop_table("gestureoffer")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_due_at"))
        batch_op.drop_index(batch_op.f("ix_checkin_status"))
        batch_op.drop_index(batch_op.f("ix_checkin_alert_id"))
        batch_op.drop_index(batch_op.f("ix_checkin_commitment_id"))
    op.drop_table("checkin")
    op.drop_index("uq_commitment_active_gesture", table_name="commitment")
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitment_gesture_slug"))
        batch_op.drop_index(batch_op.f("ix_commitment_gesture_id"))
        batch_op.drop_index(batch_op.f("ix_commitment_contact_id"))
    op.drop_table("commitment")
    with op.batch_alter_table("gesture", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gesture_category"))
        batch_op.drop_index(batch_op.f("ix_gesture_slug"))
    op.drop_table("gesture")
