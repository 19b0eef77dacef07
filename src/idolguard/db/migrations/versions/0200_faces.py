"""faces: protected-artist gallery (artists, reference faces, cohort faces)

Revision ID: 0200_faces
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idolguard.db.base

revision = "0200_faces"
down_revision = "0001_core"
branch_labels = ("faces",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "gallery_artists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("consent_ref", sa.Text(), nullable=True),
        sa.Column("enrolled_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_artists")),
        sa.UniqueConstraint("name", name=op.f("uq_gallery_artists_name")),
    )
    op.create_table(
        "gallery_references",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("crop_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=True),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("det_score", sa.Float(), nullable=False),
        sa.Column("face", JSON, nullable=False),
        sa.Column("created_at", idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["gallery_artists.id"],
            name=op.f("fk_gallery_references_artist_id_gallery_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_references")),
        sa.UniqueConstraint("artist_id", "photo_sha256", "embedder", name="uq_gallery_ref_photo"),
    )
    op.create_index(op.f("ix_gallery_references_artist_id"), "gallery_references", ["artist_id"], unique=False)
    op.create_table(
        "gallery_cohort",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=True),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("created_at", idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_cohort")),
        sa.UniqueConstraint("photo_sha256", "embedder", name="uq_gallery_cohort_photo"),
    )


def downgrade() -> None:
    op.drop_table("gallery_cohort")
    op.drop_index(op.f("ix_gallery_references_artist_id"), table_name="gallery_references")
    op.drop_table("gallery_references")
    op.drop_table("gallery_artists")
