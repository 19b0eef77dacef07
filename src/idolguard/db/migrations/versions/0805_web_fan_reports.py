"""web: portal report count and categories on triage rows

Revision ID: 0805_web_fan_reports
Revises: 0800_web
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0805_web_fan_reports"
down_revision = "0800_web"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("web_reviews") as batch:
        batch.add_column(sa.Column("fan_reports", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("fan_categories", JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("web_reviews") as batch:
        batch.drop_column("fan_categories")
        batch.drop_column("fan_reports")
