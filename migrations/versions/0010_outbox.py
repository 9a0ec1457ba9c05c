"""The email outbox, further secret links for emails, and the clinic's reminder setting.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('manage_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_manage_link_appointment_id_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manage_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_manage_link_token_hash'))
    )
    with op.batch_alter_table('manage_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manage_link_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('about_sequence', sa.Integer(), nullable=True),
    sa.Column('once_key', sa.String(length=120), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('calendar', sa.Text(), nullable=True),
    sa.Column('link_token', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'failed', 'skipped', name='outbox_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('server_reply', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_outbox_message_appointment_id_appointment'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('once_key', name=op.f('uq_outbox_message_once_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index('ix_outbox_message_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_hours', sa.Integer(), server_default='24', nullable=False))
        batch_op.create_check_constraint(op.f('ck_clinic_reminder_hours_range'), 'reminder_hours BETWEEN 0 AND 168')



def downgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_reminder_hours_range'), type_='check')
        batch_op.drop_column('reminder_hours')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_due')
        batch_op.drop_index(batch_op.f('ix_outbox_message_appointment_id'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('manage_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manage_link_appointment_id'))

    op.drop_table('manage_link')
