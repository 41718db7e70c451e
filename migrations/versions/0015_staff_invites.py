"""staff invitations: one-use codes, valid 7 days, that make their sender a facilitator or
technician of one community

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staffinvite",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(),
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), sa.ForeignKey("contact.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
    )
    op.create_index("ix_staffinvite_community_id", "staffinvite", ["community_id"])
    op.create_index("ix_staffinvite_code", "staffinvite", ["code"], unique=True)
    op.create_index("ix_staffinvite_used_by", "staffinvite", ["used_by"])


def downgrade() -> None:
    op.drop_table("staffinvite")
