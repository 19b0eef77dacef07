"""web app: failed sign-ins per client address (per-IP throttling); per-artist queue index

``web_review_artists`` gets the item's risk (copied by ``sync_reviews``) and the index (artist, risk, item),
so a per-artist queue is an index walk in risk order instead of a sort of every item of the artist.

Revision ID: 0810_web_throttle
Revises: 0805_web_fan_reports
"""

import sqlalchemy as sa
from alembic import op

import idolguard.db.base

revision = "0810_web_throttle"
down_revision = "0805_web_fan_reports"
branch_labels = None
depends_on = None

UTC = idolguard.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_login_throttle",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", UTC, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", UTC, nullable=True),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_web_login_throttle")),
    )
    op.add_column("web_review_artists", sa.Column("risk", sa.Float(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE web_review_artists SET risk = COALESCE((SELECT web_reviews.risk FROM web_reviews "
        "WHERE web_reviews.item_sha256 = web_review_artists.item_sha256), 0)"
    )
    op.create_index("ix_web_review_artists_rank", "web_review_artists", ["artist", "risk", "item_sha256"])
    op.drop_index(op.f("ix_web_review_artists_artist"), table_name="web_review_artists")
    # Unattributed items in queue order (risk, then item), without a sort or a walk past attributed items.
    unattributed = sa.text("artist IS NULL")
    op.drop_index("ix_web_reviews_artist_risk", table_name="web_reviews")  # replaced by the two above
    op.create_index(
        "ix_web_reviews_unattributed",
        "web_reviews",
        ["risk", "item_sha256"],
        sqlite_where=unattributed,
        postgresql_where=unattributed,
    )


def downgrade() -> None:
    op.drop_index("ix_web_reviews_unattributed", table_name="web_reviews")
    op.create_index("ix_web_reviews_artist_risk", "web_reviews", ["artist", "risk"])
    op.create_index(op.f("ix_web_review_artists_artist"), "web_review_artists", ["artist"])
    op.drop_index("ix_web_review_artists_rank", table_name="web_review_artists")
    with op.batch_alter_table("web_review_artists") as batch:
        batch.drop_column("risk")
    op.drop_table("web_login_throttle")
