"""workshops: invitations, residents' answers (with a waiting list), reminders and follow-up

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workshop",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(),
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("contact.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("author_locale", sa.String(), nullable=False),
        sa.Column("place", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_workshop_community_id", "workshop", ["community_id"])
    op.create_index("ix_workshop_starts_at", "workshop", ["starts_at"])
    op.create_index("ix_workshop_status", "workshop", ["status"])
    op.create_table(
        "workshoprsvp",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workshop_id", sa.Integer(),
                  sa.ForeignKey("workshop.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Integer(),
                  sa.ForeignKey("contact.id", ondelete="CASCADE"), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.UniqueConstraint("workshop_id", "contact_id"),
    )
    op.create_index("ix_workshoprsvp_workshop_id", "workshoprsvp", ["workshop_id"])
    op.create_index("ix_workshoprsvp_contact_id", "workshoprsvp", ["contact_id"])
    op.create_table(
        "workshopstep",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workshop_id", sa.Integer(),
                  sa.ForeignKey("workshop.id", ondelete="CASCADE"), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("workshop_id", "stage"),
    )
    op.create_index("ix_workshopstep_workshop_id", "workshopstep", ["workshop_id"])
    op.create_index("ix_workshopstep_due_at", "workshopstep", ["due_at"])
    op.create_index("ix_workshopstep_status", "workshopstep", ["status"])


def downgrade() -> None:
    op.drop_table("workshopstep")
    op.drop_table("workshoprsvp")
    op.drop_table("workshop")
