"""portal: items of a link as rows (indexed item -> links lookup); typed capture-failure reason on links

``portal_link_items`` (link, item) with the index (item, link) replaces finding an item's links through the
text of every link's JSON list (a scan of ``portal_links``); existing lists are copied over. ``portal_links``
gets ``error_code`` / ``error_params``: why a capture failed as a stable code, so pages translate it.

Revision ID: 0865_portal_link_items
Revises: 0860_portal
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0865_portal_link_items"
down_revision = "0860_portal"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "portal_link_items",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("item_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["portal_links.id"], name=op.f("fk_portal_link_items_link_id_portal_links")),
        sa.PrimaryKeyConstraint("link_id", "item_sha256", name=op.f("pk_portal_link_items")),
    )
    op.create_index("ix_portal_link_items_item", "portal_link_items", ["item_sha256", "link_id"])
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("error_params", JSON, nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, item_sha256 FROM portal_links")).all()
    pairs = []
    for link_id, items in rows:
        shas = json.loads(items) if isinstance(items, str) else (items or [])
        pairs.extend({"link_id": link_id, "item_sha256": sha} for sha in dict.fromkeys(shas) if sha)
    if pairs:
        bind.execute(sa.text("INSERT INTO portal_link_items (link_id, item_sha256) VALUES (:link_id, :item_sha256)"), pairs)


def downgrade() -> None:
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.drop_column("error_params")
        batch_op.drop_column("error_code")
    op.drop_index("ix_portal_link_items_item", table_name="portal_link_items")
    op.drop_table("portal_link_items")
