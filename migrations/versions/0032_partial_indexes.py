"""Indexes on columns most rows leave empty keep only the rows that fill them: a visit's bed and
room, its course, and an email's place on the waitlist. Every booking wrote an entry for its empty
value into each of them, a page more apiece in its commit. The one read that asks for empty ones
(the visits without a bed, when a service comes to need one) is rare, and reads the table.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

# (index, table, columns, the column that must be set)
PARTIAL = (
    ("ix_appointment_room_starts", "appointment", ["room_id", "starts_at", "occupied_until", "bed", "status"], "room_id"),
    ("ix_appointment_course_id", "appointment", ["course_id"], "course_id"),
    ("ix_outbox_message_waitlist_entry_id", "outbox_message", ["waitlist_entry_id"], "waitlist_entry_id"),
)


def upgrade():
    for name, table, columns, set_column in PARTIAL:
        where = sa.text(f"{set_column} IS NOT NULL")
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False, sqlite_where=where, postgresql_where=where)


def downgrade():
    for name, table, columns, _set_column in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
