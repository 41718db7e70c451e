"""campaigns: a questionnaire sent to an audience, with one reminder

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("questionnaire_id", sa.Integer(),
                  sa.ForeignKey("questionnaire.id", ondelete="CASCADE"), nullable=False),
        sa.Column("community_id", sa.Integer(),
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("locale", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("contact.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("reminder_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("reminder_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded", sa.Integer(), nullable=False),
    )
    op.create_index("ix_campaign_questionnaire_id", "campaign", ["questionnaire_id"])
    op.create_index("ix_campaign_community_id", "campaign", ["community_id"])
    op.create_index("ix_campaign_status", "campaign", ["status"])
    op.create_index("ix_campaign_due_at", "campaign", ["due_at"])
    op.create_index("ix_campaign_reminder_due_at", "campaign", ["reminder_due_at"])


def downgrade() -> None:
    op.drop_index("ix_campaign_reminder_due_at", table_name="campaign")
    op.drop_index("ix_campaign_due_at", table_name="campaign")
    op.drop_index("ix_campaign_status", table_name="campaign")
    op.drop_index("ix_campaign_community_id", table_name="campaign")
    op.drop_index("ix_campaign_questionnaire_id", table_name="campaign")
    op.drop_table("campaign")
