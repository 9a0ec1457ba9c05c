"""The back-pain intake: answers and derived facts per appointment, and its status on the appointment.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('intake',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('form_version', sa.String(length=20), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_band', sa.String(length=10), nullable=True),
    sa.Column('duration_days', sa.Integer(), nullable=True),
    sa.Column('nerve_root_pattern', sa.Boolean(), nullable=True),
    sa.Column('precautions', sa.JSON(), nullable=True),
    sa.Column('risk_factors', sa.JSON(), nullable=True),
    sa.Column('urgent_flags', sa.JSON(), nullable=True),
    sa.Column('pain_now', sa.Integer(), nullable=True),
    sa.Column('pain_average', sa.Integer(), nullable=True),
    sa.Column('pain_worst', sa.Integer(), nullable=True),
    sa.Column('psfs_score', sa.Double(), nullable=True),
    sa.CheckConstraint("duration_band IN ('acute', 'subacute', 'chronic')", name=op.f('ck_intake_duration_band_known')),
    sa.CheckConstraint('pain_average BETWEEN 0 AND 10', name=op.f('ck_intake_pain_average_range')),
    sa.CheckConstraint('pain_now BETWEEN 0 AND 10', name=op.f('ck_intake_pain_now_range')),
    sa.CheckConstraint('pain_worst BETWEEN 0 AND 10', name=op.f('ck_intake_pain_worst_range')),
    sa.CheckConstraint('psfs_score BETWEEN 0 AND 10', name=op.f('ck_intake_psfs_range')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_intake_appointment_id_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_intake_appointment_id'))
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intake_status', sa.Enum('not_started', 'in_progress', 'sent', name='intake_status', native_enum=False, create_constraint=True, length=20), server_default='not_started', nullable=False))



def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('intake_status')

    op.drop_table('intake')
