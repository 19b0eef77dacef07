"""cases: cases, links, assignees, filings, notes, accounts, aliases, destruction

Revision ID: 0700_cases
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

import idolguard.db.base

revision = "0700_cases"
down_revision = "0001_core"
branch_labels = ("cases",)
depends_on = ("0650_capture",)

UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("artist", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("opened_by", sa.String(length=256), nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("destroyed_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.Column("added_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint("case_id", "kind", "ref", name="uq_case_link"),
    )
    op.create_index(op.f("ix_case_links_case_id"), "case_links", ["case_id"], unique=False)
    op.create_index("ix_case_links_kind_ref", "case_links", ["kind", "ref"], unique=False)
    op.create_table(
        "case_assignees",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_assignees_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignees")),
        sa.UniqueConstraint("case_id", "person", "role", name="uq_case_assignee"),
    )
    op.create_index(op.f("ix_case_assignees_case_id"), "case_assignees", ["case_id"], unique=False)
    op.create_table(
        "case_filings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("filed_on", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("recorded_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_filings_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_filings")),
    )
    op.create_index(op.f("ix_case_filings_case_id"), "case_filings", ["case_id"], unique=False)
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=256), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    op.create_index(op.f("ix_case_notes_case_id"), "case_notes", ["case_id"], unique=False)
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=128), nullable=False),
        sa.Column("handle", sa.String(length=256), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("profile_url", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("platform", "handle", name="uq_account_handle"),
    )
    op.create_table(
        "account_aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_a", sa.Integer(), nullable=False),
        sa.Column("account_b", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("linked_by", sa.String(length=256), nullable=False),
        sa.Column("linked_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["account_a"], ["accounts.id"], name=op.f("fk_account_aliases_account_a_accounts")),
        sa.ForeignKeyConstraint(["account_b"], ["accounts.id"], name=op.f("fk_account_aliases_account_b_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_aliases")),
        sa.UniqueConstraint("account_a", "account_b", name="uq_account_alias"),
    )
    op.create_index(op.f("ix_account_aliases_account_a"), "account_aliases", ["account_a"], unique=False)
    op.create_index(op.f("ix_account_aliases_account_b"), "account_aliases", ["account_b"], unique=False)
    op.create_table(
        "account_captures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_captures_account_id_accounts")),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name=op.f("fk_account_captures_capture_id_captures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_captures")),
        sa.UniqueConstraint("account_id", "capture_id", name="uq_account_capture"),
    )
    op.create_index(op.f("ix_account_captures_account_id"), "account_captures", ["account_id"], unique=False)
    op.create_table(
        "case_destruction_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_destruction_approvals_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_destruction_approvals")),
        sa.UniqueConstraint("case_id", "approver", name="uq_destruction_approver"),
    )
    op.create_index(
        op.f("ix_case_destruction_approvals_case_id"), "case_destruction_approvals", ["case_id"], unique=False
    )
    op.create_table(
        "destroyed_objects",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("destroyed_at", UTC, nullable=False),
        sa.Column("decision_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_destroyed_objects_case_id_cases")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_destroyed_objects")),
    )
    op.create_index(op.f("ix_destroyed_objects_case_id"), "destroyed_objects", ["case_id"], unique=False)


def downgrade() -> None:
    for table in (
        "destroyed_objects",
        "case_destruction_approvals",
        "account_captures",
        "account_aliases",
        "accounts",
        "case_notes",
        "case_filings",
        "case_assignees",
        "case_links",
        "cases",
    ):
        op.drop_table(table)
