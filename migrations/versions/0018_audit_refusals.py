"""Refused staff requests go into the audit log: the address asked for, beside who and when.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_entry', sa.Column('page', sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column('audit_entry', 'page')
