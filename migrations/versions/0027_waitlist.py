"""The waitlist: a patient's place on it (what they would take, how to reach them, their safety answers),
the further secret links emailed for it, the freed times offered to it; how long an offer holds (a clinic
setting); and outbox messages about a place rather than a visit.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('parts_of_day', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('born_on', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('safety_answers', sa.JSON(), nullable=False),
    sa.Column('safety_checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joined_via', sa.String(length=20), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'booked', 'left', 'expired', name='waitlist_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_waitlist_entry_days_in_order')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waitlist_entry_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_entry_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_waitlist_entry_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_waitlist_entry_link_hash'))
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entry_email'), ['email'], unique=False)
        batch_op.create_index('ix_waitlist_entry_state_joined', ['state', 'joined_at'], unique=False)

    op.create_table('waitlist_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_waitlist_link_entry_id_waitlist_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_waitlist_link_token_hash'))
    )
    with op.batch_alter_table('waitlist_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_link_entry_id'), ['entry_id'], unique=False)

    op.create_table('waitlist_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('open', 'booked', 'gone', 'expired', 'withdrawn', name='waitlist_offer_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offered_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_waitlist_offer_entry_id_waitlist_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_offer_practitioner_id_practitioner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer'))
    )
    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_offer_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_waitlist_offer_time', ['practitioner_id', 'starts_at'], unique=False)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist_offer_hours', sa.Integer(), server_default='4', nullable=False))
        batch_op.create_check_constraint(op.f('ck_clinic_waitlist_offer_hours_range'), 'waitlist_offer_hours BETWEEN 1 AND 72')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist_entry_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('waitlist_offer_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_waitlist_entry_id'), ['waitlist_entry_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_waitlist_entry_id_waitlist_entry'), 'waitlist_entry', ['waitlist_entry_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_waitlist_offer_id_waitlist_offer'), 'waitlist_offer', ['waitlist_offer_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_waitlist_offer_id_waitlist_offer'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_waitlist_entry_id_waitlist_entry'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_waitlist_entry_id'))
        batch_op.drop_column('waitlist_offer_id')
        batch_op.drop_column('waitlist_entry_id')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_waitlist_offer_hours_range'), type_='check')
        batch_op.drop_column('waitlist_offer_hours')

    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_offer_time')
        batch_op.drop_index(batch_op.f('ix_waitlist_offer_entry_id'))

    op.drop_table('waitlist_offer')
    with op.batch_alter_table('waitlist_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_link_entry_id'))

    op.drop_table('waitlist_link')
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entry_state_joined')
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_email'))

    op.drop_table('waitlist_entry')
