"""Patients' data rights: erasure and the clinic's retention period.

A patient can be erased: their contact details and date of birth go (so those columns
become nullable, with a check that only an erased patient lacks them), `erased_at` says
when, and `patient_erasure` keeps who erased them, when and why. The clinic gains
`retention_years` (default 10), after which `flask retention purge` erases a patient.

On SQLite, changing a column's nullability copies the table. Dropping the old `patient`
table with foreign keys on would run its implicit DELETE: the audit log's patient numbers
would be set to NULL and the appointments' references would fail. So the copy is made with
foreign keys off (SQLite's documented procedure for such changes), and checked after.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

DETAILS_CHECK = "erased_at IS NOT NULL OR (email IS NOT NULL AND phone IS NOT NULL AND born_on IS NOT NULL)"


def _copying_tables_safely(change):
    """Run change(); on SQLite with foreign keys off for it, then check every reference still holds."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        change()
        return
    # PRAGMA foreign_keys is ignored inside a transaction: end the migration's, and begin another.
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    bind.exec_driver_sql("BEGIN")
    change()
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"references broken by copying a table: {broken[:5]}")
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = ON")
    bind.exec_driver_sql("BEGIN")


def upgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_years', sa.Integer(), server_default='10', nullable=False))
        batch_op.create_check_constraint(op.f('ck_clinic_retention_years_range'), 'retention_years BETWEEN 1 AND 100')

    def patient_columns():
        with op.batch_alter_table('patient', schema=None) as batch_op:
            batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
            batch_op.alter_column('phone', existing_type=sa.String(length=40), nullable=True)
            batch_op.alter_column('born_on', existing_type=sa.Date(), nullable=True)
            batch_op.create_check_constraint(op.f('ck_patient_details_until_erased'), DETAILS_CHECK)

    _copying_tables_safely(patient_columns)

    op.create_table('patient_erasure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('erased_by', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('appointments_kept', sa.Integer(), nullable=False),
    sa.Column('appointments_cancelled', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_erasure_patient_id_patient')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_patient_erasure_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_erasure')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_patient_erasure_patient_id'))
    )
    with op.batch_alter_table('patient_erasure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_erasure_erased_at'), ['erased_at'], unique=False)


def downgrade():
    with op.batch_alter_table('patient_erasure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_erasure_erased_at'))
    op.drop_table('patient_erasure')

    # The old schema needs details on every row: erased patients get placeholders that match no one.
    op.execute("UPDATE patient SET email = 'erased-' || id || '@erased.invalid', phone = '', born_on = '1900-01-01' "
               "WHERE erased_at IS NOT NULL")

    def patient_columns():
        with op.batch_alter_table('patient', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_patient_details_until_erased'), type_='check')
            batch_op.alter_column('born_on', existing_type=sa.Date(), nullable=False)
            batch_op.alter_column('phone', existing_type=sa.String(length=40), nullable=False)
            batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
            batch_op.drop_column('erased_at')

    _copying_tables_safely(patient_columns)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_retention_years_range'), type_='check')
        batch_op.drop_column('retention_years')
