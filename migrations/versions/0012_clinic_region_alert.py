"""The clinic's region (where urgent advice sends patients) and its alert email address.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from importlib.resources import files

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _zone_country(zone):
    """The country of an IANA zone from tzdata's zone.tab, as the app reads it; "US" otherwise."""
    text = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        fields = line.split("\t")
        if not line.startswith("#") and len(fields) >= 3 and fields[2] == zone:
            return fields[0]
    return "US"


def upgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=2), server_default='US', nullable=False))
        batch_op.add_column(sa.Column('alert_email', sa.String(length=254), nullable=True))

    # A clinic set up before this revision takes the country of its time zone.
    connection = op.get_bind()
    zone = connection.execute(sa.text("SELECT timezone FROM clinic WHERE id = 1")).scalar()
    if zone is not None:
        connection.execute(sa.text("UPDATE clinic SET region = :region WHERE id = 1"),
                           {"region": _zone_country(zone)})


def downgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('alert_email')
        batch_op.drop_column('region')
