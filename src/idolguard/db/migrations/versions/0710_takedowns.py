"""takedowns: notices

Revision ID: 0710_takedowns
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0710_takedowns"
down_revision = "0001_core"
branch_labels = ("takedowns",)
depends_on = ("0700_cases",)

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "takedown_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=True),
        sa.Column("urls", JSON, nullable=False),
        sa.Column("sightings", JSON, nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("due_at", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("recipient_ref", sa.Text(), nullable=True),
        sa.Column("message_sha256", sa.String(length=64), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_takedown_notices_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["takedown_notices.id"], name=op.f("fk_takedown_notices_parent_id_takedown_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_notices")),
    )
    op.create_index(op.f("ix_takedown_notices_case_id"), "takedown_notices", ["case_id"], unique=False)
    op.create_index(op.f("ix_takedown_notices_recipient"), "takedown_notices", ["recipient"], unique=False)


def downgrade() -> None:
    op.drop_table("takedown_notices")
