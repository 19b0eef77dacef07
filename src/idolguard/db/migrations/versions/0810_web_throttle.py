"""web app: failed sign-ins per client address (per-IP throttling)

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


def downgrade() -> None:
    op.drop_table("web_login_throttle")
