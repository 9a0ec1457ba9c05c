"""Each email sender's last pass, so the admin's outbox page reads the sender's own state.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox_sender',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('last_pass_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('every_seconds', sa.Integer(), nullable=True),
        sa.Column('mail_server', sa.String(length=200), nullable=False),
        sa.Column('problem', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_sender')),
        sa.UniqueConstraint('name', name=op.f('uq_outbox_sender_name')),
    )
    op.create_index(op.f('ix_outbox_sender_last_pass_at'), 'outbox_sender', ['last_pass_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_outbox_sender_last_pass_at'), table_name='outbox_sender')
    op.drop_table('outbox_sender')
