"""signals: one row per official item (bank, item) so the same file cannot enter a collection twice

``artists official add`` checked "already there?" before banking a file, outside the transaction that banks
it: two runs of the same file could both pass the check and both record an addition. The primary key
(bank, item) of ``signal_official_items`` now decides at the database. Existing collections are copied over
from their bank entries, one row per item however many runs added it (the earliest addition's time and
actor); the ledger keeps every event as it was.

Revision ID: 0310_signals_official_items
Revises: 0300_signals
"""

import sqlalchemy as sa
from alembic import op

import idolguard.db.base

revision = "0310_signals_official_items"
down_revision = "0300_signals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signal_official_items",
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["signal_banks.id"],
            name=op.f("fk_signal_official_items_bank_id_signal_banks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bank_id", "item_sha256", name=op.f("pk_signal_official_items")),
    )
    # Official banks: negative, named official.*, described with the artist's id (signals/official.py).
    op.execute(
        """
        INSERT INTO signal_official_items (bank_id, item_sha256, added_at, added_by)
        SELECT bank_id, source_item, added_at, added_by FROM signal_bank_entries WHERE id IN (
            SELECT MIN(e.id) FROM signal_bank_entries e JOIN signal_banks b ON b.id = e.bank_id
            WHERE b.kind = 'negative' AND b.name LIKE 'official.%' AND b.description LIKE '%(artist #%'
              AND e.source_item IS NOT NULL
            GROUP BY e.bank_id, e.source_item
        )
        """
    )


def downgrade() -> None:
    op.drop_table("signal_official_items")
