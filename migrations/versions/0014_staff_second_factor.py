"""Staff second factor: each account's sealed TOTP key and one-time recovery codes, the clinic's
"second factor for all staff" setting, and audit entries about a staff account (whose).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_second_factor',
    sa.Column('staff_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('secret_sealed', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_staff_second_factor_staff_id_staff_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_second_factor'))
    )
    op.create_table('staff_recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_staff_recovery_code_staff_id_staff_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_staff_recovery_code_code_hash'))
    )
    with op.batch_alter_table('staff_recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_recovery_code_staff_id'), ['staff_id'], unique=False)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor_for_all_staff', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subject_name', sa.String(length=120), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_entry_subject_staff_id_staff_account'), 'staff_account', ['subject_staff_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_entry_subject_staff_id_staff_account'), type_='foreignkey')
        batch_op.drop_column('subject_name')
        batch_op.drop_column('subject_staff_id')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('second_factor_for_all_staff')

    with op.batch_alter_table('staff_recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_recovery_code_staff_id'))

    op.drop_table('staff_recovery_code')
    op.drop_table('staff_second_factor')
