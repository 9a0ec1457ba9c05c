"""Progress checks before return visits, and the audit log of staff looking at health data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('staff_name', sa.String(length=120), nullable=False),
    sa.Column('staff_role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_audit_entry_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_audit_entry_patient_id_patient'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_audit_entry_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_staff_id'), ['staff_id'], unique=False)

    op.create_table('progress_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('pain_now', sa.Integer(), nullable=False),
    sa.Column('pain_average', sa.Integer(), nullable=False),
    sa.Column('pain_worst', sa.Integer(), nullable=False),
    sa.Column('activities', sa.JSON(), nullable=False),
    sa.Column('psfs_score', sa.Double(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('pain_average BETWEEN 0 AND 10', name=op.f('ck_progress_check_pain_average_range')),
    sa.CheckConstraint('pain_now BETWEEN 0 AND 10', name=op.f('ck_progress_check_pain_now_range')),
    sa.CheckConstraint('pain_worst BETWEEN 0 AND 10', name=op.f('ck_progress_check_pain_worst_range')),
    sa.CheckConstraint('psfs_score BETWEEN 0 AND 10', name=op.f('ck_progress_check_psfs_range')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_progress_check_appointment_id_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_check')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_progress_check_appointment_id'))
    )


def downgrade():
    op.drop_table('progress_check')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_staff_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_patient_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))

    op.drop_table('audit_entry')
