"""The history of each appointment: who changed what, and when.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointment_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=600), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_appointment_event_appointment_id_appointment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_appointment_event_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_event'))
    )
    with op.batch_alter_table('appointment_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_event_appointment_id'), ['appointment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('appointment_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_event_appointment_id'))

    op.drop_table('appointment_event')
