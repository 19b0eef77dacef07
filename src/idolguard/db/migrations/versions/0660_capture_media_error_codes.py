"""capture: why a captured page's media file was not kept, as a stable code beside its English text

``capture_media`` gets ``error_code`` / ``error_params`` (``idolguard.errors.ErrorCode`` and its values), so the
CLI and the web say a file's problem in the reader's language. Existing rows keep their English text and get
no code (readers recognise the fixed sentences capture wrote: ``capture.views.media_problem``).

Revision ID: 0660_capture_media_error_codes
Revises: 0650_capture
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0660_capture_media_error_codes"
down_revision = "0650_capture"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("capture_media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("error_params", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capture_media", schema=None) as batch_op:
        batch_op.drop_column("error_params")
        batch_op.drop_column("error_code")
