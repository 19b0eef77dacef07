"""capture records, captured media and liveness checks

Revision ID: 0650_capture
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0650_capture"
down_revision = "0001_core"
branch_labels = ("capture",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("requested_url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("captured_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("server_ip", sa.String(length=64), nullable=True),
        sa.Column("redirect_chain", JSON, nullable=False),
        sa.Column("response_headers", JSON, nullable=False),
        sa.Column("tls", JSON, nullable=True),
        sa.Column("page_title", sa.Text(), nullable=True),
        sa.Column("context", JSON, nullable=False),
        sa.Column("artifacts", JSON, nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("screenshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("wacz_sha256", sa.String(length=64), nullable=True),
        sa.Column("timestamps", JSON, nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["manifest_sha256"], ["items.sha256"], name=op.f("fk_captures_manifest_sha256_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captures")),
    )
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_captures_manifest_sha256"), ["manifest_sha256"], unique=False)

    op.create_table(
        "capture_media",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("item_sha256", sa.String(length=64), nullable=True),
        sa.Column("media_type", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name=op.f("fk_capture_media_capture_id_captures")),
        sa.ForeignKeyConstraint(["item_sha256"], ["items.sha256"], name=op.f("fk_capture_media_item_sha256_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_media")),
    )
    with op.batch_alter_table("capture_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capture_media_capture_id"), ["capture_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_capture_media_item_sha256"), ["item_sha256"], unique=False)

    op.create_table(
        "capture_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", UTC, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name=op.f("fk_capture_checks_capture_id_captures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_checks")),
    )
    with op.batch_alter_table("capture_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capture_checks_capture_id"), ["capture_id"], unique=False)


def downgrade() -> None:
    op.drop_table("capture_checks")
    op.drop_table("capture_media")
    op.drop_table("captures")
