"""monitoring: watched sources and the entries seen on them

Revision ID: 0850_monitor
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0850_monitor"
down_revision = "0001_core"
branch_labels = ("monitor",)
depends_on = "0650_capture"  # monitor_seen points at captures

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("every_s", sa.Integer(), nullable=False),
        sa.Column("artist", sa.String(length=256), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("last_run_at", UTC, nullable=True),
        sa.Column("next_due_at", UTC, nullable=True),
        sa.Column("source_status", sa.String(length=16), nullable=False),
        sa.Column("gone_since", UTC, nullable=True),
        sa.Column("checkpoint", JSON, nullable=False),
        sa.Column("items_found", sa.Integer(), nullable=False),
        sa.Column("last_found", sa.Integer(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("errors", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_sources")),
    )
    with op.batch_alter_table("monitor_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_sources_next_due_at"), ["next_due_at"], unique=False)

    op.create_table(
        "monitor_seen",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", UTC, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=True),
        sa.Column("media_sha256", JSON, nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["monitor_sources.id"], name=op.f("fk_monitor_seen_source_id_monitor_sources")),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name=op.f("fk_monitor_seen_capture_id_captures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_seen")),
        sa.UniqueConstraint("source_id", "url", name="uq_monitor_seen_source_url"),
    )
    with op.batch_alter_table("monitor_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_seen_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_monitor_seen_content_sha256"), ["content_sha256"], unique=False)


def downgrade() -> None:
    op.drop_table("monitor_seen")
    op.drop_table("monitor_sources")
