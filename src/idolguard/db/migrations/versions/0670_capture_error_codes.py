"""capture: each problem of a capture, as a stable code beside its English text

``captures`` gets ``error_codes``: a JSON list as long as ``errors``, one ``{"code", "params"}`` (an
``idolguard.errors.ErrorCode`` and the values it names) or null per problem, in the same order, so the CLI and
the capture report say each problem in the reader's language. Existing rows keep their English text and get
no codes (NULL): readers recognise the fixed sentences capture wrote (``capture.views.PROBLEM_FORMS``).

Revision ID: 0670_capture_error_codes
Revises: 0660_capture_media_error_codes
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0670_capture_error_codes"
down_revision = "0660_capture_media_error_codes"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_codes", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("error_codes")
