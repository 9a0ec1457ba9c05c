"""Rooms and beds, and hands-on parts: a service may hold its practitioner only while they needle
(hands_on) and take a bed of a room for the whole visit (needs_bed). Each visit's hold on its
practitioner becomes rows of hands_on_part, filled here for every visit there is (one part: the
whole visit and buffer, as before), and on PostgreSQL an exclusion constraint on those rows
replaces appointment_no_overlap; another keeps two visits off one bed.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table('room',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('beds', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('translations', sa.JSON(), server_default='{}', nullable=False),
    sa.CheckConstraint('beds BETWEEN 1 AND 40', name=op.f('ck_room_beds_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room')),
    sa.UniqueConstraint('slug', name=op.f('uq_room_slug'))
    )
    # Not in batch mode: on SQLite that copies the table, and dropping the old one would cascade to
    # the rows that refer to it (as 0026 notes).
    op.add_column('service', sa.Column('hands_on', sa.JSON(), nullable=True))
    op.add_column('service', sa.Column('needs_bed', sa.Boolean(), server_default=sa.false(), nullable=False))
    if postgres:
        op.add_column('appointment', sa.Column('room_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_appointment_room_id_room'), 'appointment', 'room', ["room_id"], ["id"])
        op.add_column('appointment', sa.Column('bed', sa.Integer(), nullable=True))
        op.create_check_constraint(op.f('ck_appointment_bed_in_room'), 'appointment',
                                   "(room_id IS NULL) = (bed IS NULL) AND (bed IS NULL OR bed >= 1)")
    else:
        # SQLite's ALTER TABLE takes a reference inline on a column that may be NULL, and no new check
        # on an existing table; the booking writes room and bed together (operations.beds).
        op.execute("ALTER TABLE appointment ADD COLUMN room_id INTEGER "
                   "CONSTRAINT fk_appointment_room_id_room REFERENCES room (id)")
        op.add_column('appointment', sa.Column('bed', sa.Integer(), nullable=True))

    op.create_index('ix_appointment_room_starts', 'appointment', ['room_id', 'starts_at', 'occupied_until', 'bed', 'status'],
                    unique=False)

    op.create_table('hands_on_part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holds_time', sa.Boolean(), nullable=False),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_hands_on_part_ends_after_start')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'],
                            name=op.f('fk_hands_on_part_appointment_id_appointment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'],
                            name=op.f('fk_hands_on_part_practitioner_id_practitioner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hands_on_part'))
    )
    op.create_index(op.f('ix_hands_on_part_appointment_id'), 'hands_on_part', ['appointment_id'], unique=False)
    op.create_index('ix_hands_on_part_practitioner_starts', 'hands_on_part',
                    ['practitioner_id', 'starts_at', 'ends_at', 'holds_time', 'appointment_id'], unique=False)
    # Every visit so far held its practitioner for its whole span: one part each.
    op.execute("INSERT INTO hands_on_part (appointment_id, practitioner_id, starts_at, ends_at, holds_time) "
               "SELECT id, practitioner_id, starts_at, occupied_until, status <> 'cancelled' FROM appointment "
               "ORDER BY id")
    if postgres:
        # A visit's own parts never clash (appointment_id <>), so a flush may move them in any order.
        op.execute(
            "ALTER TABLE hands_on_part ADD CONSTRAINT hands_on_part_no_overlap EXCLUDE USING gist "
            "(practitioner_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&, appointment_id WITH <>) "
            "WHERE (holds_time)"
        )
        op.execute(
            "ALTER TABLE appointment ADD CONSTRAINT appointment_bed_no_overlap EXCLUDE USING gist "
            "(room_id WITH =, bed WITH =, tstzrange(starts_at, occupied_until, '[)') WITH &&) "
            "WHERE (status <> 'cancelled' AND room_id IS NOT NULL)"
        )
        op.execute("ALTER TABLE appointment DROP CONSTRAINT appointment_no_overlap")


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            "ALTER TABLE appointment ADD CONSTRAINT appointment_no_overlap EXCLUDE USING gist "
            "(practitioner_id WITH =, tstzrange(starts_at, occupied_until, '[)') WITH &&) "
            "WHERE (status <> 'cancelled')"
        )
        op.execute("ALTER TABLE appointment DROP CONSTRAINT appointment_bed_no_overlap")
    op.drop_index('ix_hands_on_part_practitioner_starts', table_name='hands_on_part')
    op.drop_index(op.f('ix_hands_on_part_appointment_id'), table_name='hands_on_part')
    op.drop_table('hands_on_part')
    op.drop_index('ix_appointment_room_starts', table_name='appointment')
    if postgres:
        op.drop_constraint(op.f('ck_appointment_bed_in_room'), 'appointment', type_='check')
        op.drop_constraint(op.f('fk_appointment_room_id_room'), 'appointment', type_='foreignkey')
    op.drop_column('appointment', 'bed')
    op.drop_column('appointment', 'room_id')
    op.drop_column('service', 'needs_bed')
    op.drop_column('service', 'hands_on')
    op.drop_table('room')
