"""Each practitioner's diary stamp: renewed by every change to their appointments or time off, so
each app process knows when the free times it worked out for them are out of date.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04
"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: on SQLite that copies the table, and dropping the old practitioner table
    # would cascade to the rows that refer to it (as in 0022 and 0024).
    op.add_column('practitioner', sa.Column('diary_stamp', sa.String(length=32), nullable=False,
                                            server_default='initial'))
    # A stamp of its own for this upgrade (as 0020 does for the settings stamp).
    op.execute(sa.text("UPDATE practitioner SET diary_stamp = :stamp").bindparams(stamp=uuid.uuid4().hex))


def downgrade():
    op.drop_column('practitioner', 'diary_stamp')  # not in batch mode: see upgrade
