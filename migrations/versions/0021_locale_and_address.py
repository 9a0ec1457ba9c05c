"""The clinic's locale, the languages patients may choose, its address; each visit's language.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages


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
    # Times used to read as a 24-hour clock everywhere: a clinic outside the US keeps its
    # country's way (en_GB "15:45") rather than turning American with this upgrade.
    connection = op.get_bind()
    for clinic_id, region in connection.execute(sa.text("SELECT id, region FROM clinic")).all():
        connection.execute(sa.text("UPDATE clinic SET locale = :locale WHERE id = :id"),
                           {"locale": _country_locale(region), "id": clinic_id})
    with op.batch_alter_table('clinic') as batch_op:
        batch_op.alter_column('languages', existing_type=sa.JSON(), nullable=False)
    # Not in batch mode, which would copy the appointment table (and cascade to its intakes).
    op.add_column('appointment', sa.Column('language', sa.String(length=8), nullable=False, server_default='en'))


def _country_locale(region):
    """English in the country where it is official there (en_GB, en_CA), else the country's first
    official language (es_ES, de_DE); en_US when the country is unknown. Kept here, not imported,
    so this upgrade does what it did when it was written."""
    region = (region or "").upper()
    if len(region) != 2 or region not in Locale("en").territories:
        return "en_US"
    official = sorted(get_official_languages(region, de_facto=True), key=lambda language: language != "en")
    for language in official:
        try:
            return str(Locale(language, region))
        except UnknownLocaleError:
            continue
    return "en_US"


def downgrade():
    op.drop_column('appointment', 'language')  # not in batch mode: see upgrade
    with op.batch_alter_table('clinic') as batch_op:
        for column in ('directions', 'address_country', 'address_postcode', 'address_region',
                       'address_city', 'address_street', 'languages', 'locale'):
            batch_op.drop_column(column)
