"""Identity before history: a returning patient's online booking waits for them to confirm it.

Each appointment gets `identity_confirmed_at` and `identity_confirmed_by` (None while an
online booking that matched a patient with visits elsewhere waits for confirmation) and
`booked_as` (the name and phone typed with such a booking); `identity_check` holds the
hashes of the emailed confirmation links. Existing appointments count as confirmed when
they were made, so every page shows what it showed before the upgrade.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('identity_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_identity_check_appointment_id_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_check')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_identity_check_token_hash'))
    )
    with op.batch_alter_table('identity_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_check_appointment_id'), ['appointment_id'], unique=False)

    # Plain ADD COLUMN: SQLite adds nullable columns in place, without copying the table.
    op.add_column('appointment', sa.Column('identity_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('appointment', sa.Column('identity_confirmed_by', sa.String(length=120), nullable=True))
    op.add_column('appointment', sa.Column('booked_as', sa.JSON(), nullable=True))
    op.execute("UPDATE appointment SET identity_confirmed_at = created_at")


def downgrade():
    # Identity emails still waiting would go out with a link the older version cannot open.
    op.execute("UPDATE outbox_message SET status = 'skipped', claimed_by = NULL, claimed_until = NULL, "
               "last_error = 'Not sent: the version that asked for it was rolled back.' "
               "WHERE kind = 'identity_check' AND status IN ('queued', 'sending')")
    # Not in batch mode, which would copy the appointment table (and cascade to its intakes).
    op.drop_column('appointment', 'booked_as')
    op.drop_column('appointment', 'identity_confirmed_by')
    op.drop_column('appointment', 'identity_confirmed_at')
    with op.batch_alter_table('identity_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_check_appointment_id'))
    op.drop_table('identity_check')
