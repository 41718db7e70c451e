"""broadcasts (news to an audience), muted topics, and fan-out progress shown to facilitators

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(),
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("contact.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("source_locale", sa.String(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_broadcast_community_id", "broadcast", ["community_id"])
    op.create_index("ix_broadcast_status", "broadcast", ["status"])
    op.create_index("ix_broadcast_due_at", "broadcast", ["due_at"])
    op.create_table(
        "topicmute",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contact.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("contact_id", "topic"),
    )
    op.create_index("ix_topicmute_contact_id", "topicmute", ["contact_id"])
    op.create_table(
        "progressreport",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_kind", sa.String(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contact.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("last_text", sa.String(), nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("subject_kind", "subject_id"),
    )


def downgrade() -> None:
    op.drop_table("progressreport")
    op.drop_index("ix_topicmute_contact_id", table_name="topicmute")
    op.drop_table("topicmute")
    op.drop_index("ix_broadcast_due_at", table_name="broadcast")
    op.drop_index("ix_broadcast_status", table_name="broadcast")
    op.drop_index("ix_broadcast_community_id", table_name="broadcast")
    op.drop_table("broadcast")
