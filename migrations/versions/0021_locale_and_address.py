"""The clinic's locale, the languages patients may choose, its address; each visit's language.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic') as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=False, server_default='en_US'))
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('address_street', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('address_city', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('address_region', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('address_postcode', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('address_country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('directions', sa.String(length=500), nullable=True))
    # Clinics set up before languages existed spoke English only; the next import or admin
    # save may offer more.
    op.execute("UPDATE clinic SET languages = '[\"en\"]'")
    with op.batch_alter_table('clinic') as batch_op:
        batch_op.alter_column('languages', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=False, server_default='en'))


def downgrade():
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('clinic') as batch_op:
        for column in ('directions', 'address_country', 'address_postcode', 'address_region',
                       'address_city', 'address_street', 'languages', 'locale'):
            batch_op.drop_column(column)
