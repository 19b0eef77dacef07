"""faces: artist aliases (Hangul, romanised, stage, legal names) and the group an artist belongs to

Revision ID: 0210_faces_aliases
Revises: 0200_faces
"""

import sqlalchemy as sa
from alembic import op

import idolguard.db.base

revision = "0210_faces_aliases"
down_revision = "0200_faces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gallery_artists") as batch:
        batch.add_column(sa.Column("group_name", sa.String(length=200), nullable=True))
        batch.create_index(op.f("ix_gallery_artists_group_name"), ["group_name"], unique=False)
    op.create_table(
        "gallery_artist_aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.Column("folded", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["gallery_artists.id"],
            name=op.f("fk_gallery_artist_aliases_artist_id_gallery_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_artist_aliases")),
        sa.UniqueConstraint("folded", name=op.f("uq_gallery_artist_aliases_folded")),
    )
    op.create_index(
        op.f("ix_gallery_artist_aliases_artist_id"), "gallery_artist_aliases", ["artist_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_gallery_artist_aliases_artist_id"), table_name="gallery_artist_aliases")
    op.drop_table("gallery_artist_aliases")
    with op.batch_alter_table("gallery_artists") as batch:
        batch.drop_index(op.f("ix_gallery_artists_group_name"))
        batch.drop_column("group_name")
