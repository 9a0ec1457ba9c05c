"""Booking drafts (a patient's online booking in progress) and the appointment's sequence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('booking_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('practitioner_choice', sa.String(length=60), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('safety_codes', sa.JSON(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('lost_race', sa.Boolean(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('manage_token', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_booking_draft_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_booking_draft_service_id_service'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_draft')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_booking_draft_key_hash'))
    )
    with op.batch_alter_table('booking_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_draft_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('sequence')

    with op.batch_alter_table('booking_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_draft_updated_at'))

    op.drop_table('booking_draft')
