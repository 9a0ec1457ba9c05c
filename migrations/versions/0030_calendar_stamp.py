"""Each practitioner's calendar stamp: renewed by every change to what the staff calendars show of
their visits (the diary's changes, and the patient's name, intake, progress check, consent and
treatment note of each visit), so each app process knows when a calendar page it kept is out of
date.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04
"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: on SQLite that copies the table, and dropping the old practitioner table
    # would cascade to the rows that refer to it (as in 0022, 0024 and 0025).
    op.add_column('practitioner', sa.Column('calendar_stamp', sa.String(length=32), nullable=False,
                                            server_default='initial'))
    # A stamp of its own for this upgrade (as 0025 does for the diary stamp).
    op.execute(sa.text("UPDATE practitioner SET calendar_stamp = :stamp").bindparams(stamp=uuid.uuid4().hex))


def downgrade():
    op.drop_column('practitioner', 'calendar_stamp')  # not in batch mode: see upgrade
