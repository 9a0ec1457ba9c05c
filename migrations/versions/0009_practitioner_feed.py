"""A practitioner's calendar feed: the SHA-256 of its secret address, none until they make one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# A unique index rather than a unique constraint: SQLite adds both the column and the index in
# place, where a constraint would make batch mode copy the practitioner table and drop the old
# one, which the foreign keys of appointments, hours and services refuse (or cascade).


def upgrade():
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_practitioner_feed_token_hash'), ['feed_token_hash'], unique=True)


def downgrade():
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_feed_token_hash'))
    # Not in batch mode, which would copy the table: SQLite (3.35+) drops a column in place.
    op.drop_column('practitioner', 'feed_token_hash')
