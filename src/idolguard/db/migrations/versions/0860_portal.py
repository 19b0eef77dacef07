"""portal: reports, links, durable jobs, rate counters, reporter trust

Revision ID: 0860_portal
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0860_portal"
down_revision = "0001_core"
branch_labels = ("portal",)
depends_on = "0650_capture"  # portal_links points at captures

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("receipt", sa.String(length=32), nullable=False),
        sa.Column("status_token_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("artist", sa.String(length=256), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=320), nullable=True),
        sa.Column("reporter_key", sa.String(length=64), nullable=False),
        sa.Column("ip_key", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("url_count", sa.Integer(), nullable=False),
        sa.Column("challenge_nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_reports")),
        sa.UniqueConstraint("receipt", name=op.f("uq_portal_reports_receipt")),
        sa.UniqueConstraint("status_token_sha256", name=op.f("uq_portal_reports_status_token_sha256")),
        sa.UniqueConstraint("challenge_nonce", name=op.f("uq_portal_reports_challenge_nonce")),
    )
    with op.batch_alter_table("portal_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_reports_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_reports_reporter_key"), ["reporter_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_reports_ip_key"), ["ip_key"], unique=False)

    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_sha256", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=256), nullable=False),
        sa.Column("short_link", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("known_as", sa.String(length=64), nullable=True),
        sa.Column("capture_id", sa.Integer(), nullable=True),
        sa.Column("item_sha256", JSON, nullable=False),
        sa.Column("first_reported_at", UTC, nullable=False),
        sa.Column("last_reported_at", UTC, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name=op.f("fk_portal_links_capture_id_captures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("url_sha256", name=op.f("uq_portal_links_url_sha256")),
    )
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_links_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_links_priority"), ["priority"], unique=False)

    op.create_table(
        "portal_report_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("original_url", sa.Text(), nullable=False),
        sa.Column("first_report", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["portal_reports.id"], name=op.f("fk_portal_report_links_report_id_portal_reports")),
        sa.ForeignKeyConstraint(["link_id"], ["portal_links.id"], name=op.f("fk_portal_report_links_link_id_portal_links")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_report_links")),
        sa.UniqueConstraint("report_id", "link_id", name="uq_portal_report_link"),
    )
    with op.batch_alter_table("portal_report_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_report_links_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_report_links_link_id"), ["link_id"], unique=False)

    op.create_table(
        "portal_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=128), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_jobs")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_portal_jobs_dedup_key")),
    )
    with op.batch_alter_table("portal_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_jobs_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_jobs_priority"), ["priority"], unique=False)

    op.create_table(
        "portal_rate_counters",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_portal_rate_counters")),
    )
    with op.batch_alter_table("portal_rate_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_rate_counters_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "portal_reporters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_portal_reporters")),
    )


def downgrade() -> None:
    for table in ("portal_reporters", "portal_rate_counters", "portal_jobs", "portal_report_links",
                  "portal_links", "portal_reports"):
        op.drop_table(table)
