"""signals: hash banks, bank entries, signal state; incidents

Revision ID: 0300_signals
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0300_signals"
down_revision = "0001_core"
branch_labels = ("signals",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signal_banks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("vpdq_frame_threshold", sa.Integer(), nullable=False),
        sa.Column("vpdq_match_percent", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_banks")),
        sa.UniqueConstraint("name", name=op.f("uq_signal_banks_name")),
    )
    op.create_table(
        "signal_bank_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("frames", JSON, nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_item", sa.String(length=64), nullable=True),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("added_at", UTC, nullable=False),
        sa.Column("added_by", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("match_count", sa.Integer(), nullable=False),
        sa.Column("last_matched_at", UTC, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["signal_banks.id"],
            name=op.f("fk_signal_bank_entries_bank_id_signal_banks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_bank_entries")),
        sa.UniqueConstraint("bank_id", "signal_type", "value", name="uq_signal_entry"),
    )
    op.create_index("ix_signal_entry_value", "signal_bank_entries", ["signal_type", "value"])
    op.create_index(op.f("ix_signal_bank_entries_bank_id"), "signal_bank_entries", ["bank_id"])
    op.create_index(op.f("ix_signal_bank_entries_source_item"), "signal_bank_entries", ["source_item"])
    op.create_table(
        "signal_entry_hits",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("transform", sa.String(length=32), nullable=True),
        sa.Column("first_matched_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["signal_bank_entries.id"],
            name=op.f("fk_signal_entry_hits_entry_id_signal_bank_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "item_sha256", name=op.f("pk_signal_entry_hits")),
    )
    op.create_index(op.f("ix_signal_entry_hits_item_sha256"), "signal_entry_hits", ["item_sha256"])
    op.create_table(
        "signal_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signal_state")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["merged_into"], ["incidents.id"], name=op.f("fk_incidents_merged_into_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_table(
        "incident_members",
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_members_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(["item_sha256"], ["items.sha256"], name=op.f("fk_incident_members_item_sha256_items")),
        sa.PrimaryKeyConstraint("item_sha256", name=op.f("pk_incident_members")),
    )
    op.create_index(op.f("ix_incident_members_incident_id"), "incident_members", ["incident_id"])


def downgrade() -> None:
    op.drop_table("incident_members")
    op.drop_table("incidents")
    op.drop_table("signal_state")
    op.drop_table("signal_entry_hits")
    op.drop_table("signal_bank_entries")
    op.drop_table("signal_banks")
