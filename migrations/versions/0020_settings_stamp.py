"""The clinic's settings stamp: renewed by every change to the clinic, its services, practitioners
or working hours, so each app process knows when its copy of them is out of date.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
import uuid

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic') as batch_op:
        batch_op.add_column(sa.Column('settings_stamp', sa.String(length=32), nullable=False, server_default='initial'))
    # A stamp of its own for this upgrade: a database restored from an older backup and upgraded
    # again must not share a stamp with the settings running processes read before the restore.
    op.execute(sa.text("UPDATE clinic SET settings_stamp = :stamp").bindparams(stamp=uuid.uuid4().hex))


def downgrade():
    with op.batch_alter_table('clinic') as batch_op:
        batch_op.drop_column('settings_stamp')
