"""The clinic's STarT Back switch (off by default) and the screen's results on the intake.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_back_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_back_total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('start_back_psychosocial', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('start_back_risk', sa.String(length=10), nullable=True))



def downgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_column('start_back_risk')
        batch_op.drop_column('start_back_psychosocial')
        batch_op.drop_column('start_back_total')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('start_back_enabled')

