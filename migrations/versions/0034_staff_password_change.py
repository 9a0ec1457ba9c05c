"""Staff passwords set by an admin are changed by their owner: `staff_account.must_change_password`,
set when an admin gives an account a password (adding it at /admin/staff, or setting a new one
there), asks the person to choose their own before any other staff page opens. Accounts from
before keep the password they have, unasked.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('staff_account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
