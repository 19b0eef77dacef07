"""core evidence tables

Revision ID: 0001_core
Revises: 
Create Date: 2026-11-25 13:46:32.139834
"""
from alembic import op
import sqlalchemy as sa
import idolguard.db.base
from sqlalchemy.dialects import postgresql

revision = '0001_core'
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    
    op.create_table('items',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('mime', sa.String(length=128), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('media_meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=True),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('first_seen_at', idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_items'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_md5'), ['md5'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=256), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('item_sha256', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_ledger_entries_entry_hash')),
    sa.UniqueConstraint('prev_hash', name='uq_ledger_prev')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_action'), ['action'], unique=False)
        batch_op.create_index('ix_ledger_item', ['item_sha256'], unique=False)

    op.create_table('derived_objects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('parent_sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('stage_version', sa.String(length=32), nullable=False),
    sa.Column('mime', sa.String(length=128), nullable=True),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_sha256'], ['items.sha256'], name=op.f('fk_derived_objects_parent_sha256_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_derived_objects')),
    sa.UniqueConstraint('sha256', 'parent_sha256', 'kind', name='uq_derived_triplet')
    )
    with op.batch_alter_table('derived_objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_derived_objects_parent_sha256'), ['parent_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_derived_objects_sha256'), ['sha256'], unique=False)

    op.create_table('sightings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_sha256', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=256), nullable=False),
    sa.Column('source_path', sa.Text(), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('platform', sa.String(length=128), nullable=True),
    sa.Column('account', sa.String(length=256), nullable=True),
    sa.Column('seen_at', idolguard.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('file_mtime', idolguard.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('archive_sha256', sa.String(length=64), nullable=True),
    sa.Column('archive_member', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['item_sha256'], ['items.sha256'], name=op.f('fk_sightings_item_sha256_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sightings'))
    )
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sightings_item_sha256'), ['item_sha256'], unique=False)

    op.create_table('stage_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_sha256', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('output', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', idolguard.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_sha256'], ['items.sha256'], name=op.f('fk_stage_results_item_sha256_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_results')),
    sa.UniqueConstraint('item_sha256', 'stage', 'version', name='uq_stage_result')
    )
    with op.batch_alter_table('stage_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_results_item_sha256'), ['item_sha256'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('stage_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_results_item_sha256'))

    op.drop_table('stage_results')
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sightings_item_sha256'))

    op.drop_table('sightings')
    with op.batch_alter_table('derived_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_derived_objects_sha256'))
        batch_op.drop_index(batch_op.f('ix_derived_objects_parent_sha256'))

    op.drop_table('derived_objects')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_item')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_action'))

    op.drop_table('ledger_entries')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_md5'))

    op.drop_table('items')
    
