"""Informed consent: the clinic's consent text in versions, and each patient's consent to treatment.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    # No version is written here: the first signature (or the admin's first save) stores the
    # shipped text as version 1, so a clinic's text is never decided by a migration.
    op.create_table('consent_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_consent_version_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_version')),
    sa.UniqueConstraint('number', name=op.f('uq_consent_version_number'))
    )
    op.create_table('consent_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('how', sa.String(length=20), nullable=False),
    sa.Column('signed_name', sa.String(length=120), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=120), nullable=True),
    sa.CheckConstraint("how IN ('online', 'in_person')", name=op.f('ck_consent_record_how_known')),
    sa.CheckConstraint("(how = 'online') = (signed_name IS NOT NULL)", name=op.f('ck_consent_record_online_has_a_typed_name')),
    sa.CheckConstraint("(how = 'in_person') = (recorded_by IS NOT NULL)", name=op.f('ck_consent_record_in_person_says_by_whom')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_consent_record_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_consent_record_patient_id_patient')),
    sa.ForeignKeyConstraint(['version_id'], ['consent_version.id'], name=op.f('fk_consent_record_version_id_consent_version')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_consent_record_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_record')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_consent_record_appointment_id'))
    )
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_record_patient_id'), ['patient_id'], unique=False)


def downgrade():
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_record_patient_id'))
    op.drop_table('consent_record')
    op.drop_table('consent_version')
