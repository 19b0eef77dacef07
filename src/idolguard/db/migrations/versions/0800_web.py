"""web app: users, sessions, API tokens, triage reviews, reveals, jobs

Revision ID: 0800_web
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0800_web"
down_revision = "0001_core"
branch_labels = ("web",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("artists", JSON, nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("invite_expires_at", UTC, nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("never_reveal", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
        sa.UniqueConstraint("name", name=op.f("uq_web_users_name")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("second_factor_ok", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"], name=op.f("fk_web_sessions_user_id_web_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_table(
        "web_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("last_used_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"], name=op.f("fk_web_tokens_user_id_web_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_tokens_token_hash")),
    )
    op.create_index(op.f("ix_web_tokens_user_id"), "web_tokens", ["user_id"])
    op.create_table(
        "web_reviews",
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("artist", sa.String(length=256), nullable=True),
        sa.Column("artist_decision", sa.String(length=16), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("manipulation", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=True),
        sa.Column("platform", sa.String(length=128), nullable=True),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("sightings", sa.Integer(), nullable=False),
        sa.Column("fan_reported", sa.Boolean(), nullable=False),
        sa.Column("media_type", sa.String(length=16), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("first_seen_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["item_sha256"], ["items.sha256"], name=op.f("fk_web_reviews_item_sha256_items")),
        sa.PrimaryKeyConstraint("item_sha256", name=op.f("pk_web_reviews")),
    )
    op.create_index("ix_web_reviews_rank", "web_reviews", ["risk", "item_sha256"])
    op.create_index("ix_web_reviews_scope", "web_reviews", ["item_sha256", "status", "risk"])
    op.create_index("ix_web_reviews_artist_risk", "web_reviews", ["artist", "risk"])
    op.create_index(op.f("ix_web_reviews_first_seen_at"), "web_reviews", ["first_seen_at"])
    op.create_table(
        "web_review_artists",
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.Column("artist", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_sha256"], ["items.sha256"], name=op.f("fk_web_review_artists_item_sha256_items")
        ),
        sa.PrimaryKeyConstraint("item_sha256", "artist", name=op.f("pk_web_review_artists")),
    )
    op.create_index(op.f("ix_web_review_artists_artist"), "web_review_artists", ["artist"])
    op.create_table(
        "web_reveals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"], name=op.f("fk_web_reveals_user_id_web_users")),
        sa.ForeignKeyConstraint(["item_sha256"], ["items.sha256"], name=op.f("fk_web_reveals_item_sha256_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_reveals")),
    )
    op.create_index(op.f("ix_web_reveals_user_id"), "web_reveals", ["user_id"])
    op.create_index(op.f("ix_web_reveals_item_sha256"), "web_reveals", ["item_sha256"])
    op.create_index(op.f("ix_web_reveals_created_at"), "web_reveals", ["created_at"])
    op.create_table(
        "web_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("results", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_jobs")),
    )


def downgrade() -> None:
    for name in ("web_jobs", "web_reveals", "web_review_artists", "web_reviews", "web_tokens", "web_sessions"):
        op.drop_table(name)
    op.drop_table("web_users")
