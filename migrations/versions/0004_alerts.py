"""alerts: timeline steps, per-community offsets, participation replies

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alertsettings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(),
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("planned_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("last_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("questionnaire_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("reminder_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(),
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "alertstep",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("status", sa.String(), nullable=False, index=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.UniqueConstraint("alert_id", "stage"),
    )
    op.create_table(
        "alertreply",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contact.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("intent", sa.String(), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("alert_id", "contact_id"),
    )


def downgrade() -> None:
    op.drop_table("alertreply")
    op.drop_table("alertstep")
    op.drop_table("alert")
    op.drop_table("alertsettings")
