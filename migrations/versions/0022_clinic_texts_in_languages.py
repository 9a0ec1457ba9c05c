"""The clinic's own texts for patients in its other languages: services' names and descriptions,
practitioners' introductions and the clinic's directions, as {"es": {"name": "..."}} per row.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

TABLES = ('clinic', 'service', 'practitioner')


def upgrade():
    # Not in batch mode: on SQLite that copies each table, and dropping the old service or
    # practitioner table would cascade to the rows that refer to it. Existing rows get {}: no
    # versions yet, so patients read the clinic's own texts as before.
    for table in TABLES:
        op.add_column(table, sa.Column('translations', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    for table in reversed(TABLES):
        op.drop_column(table, 'translations')  # not in batch mode: see upgrade
