"""Courses of treatment: visits booked together in one step, tied by a course row.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('course',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('every_days', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('booked_via', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('every_days BETWEEN 1 AND 28', name=op.f('ck_course_every_days_range')),
    sa.CheckConstraint('visits BETWEEN 2 AND 12', name=op.f('ck_course_visits_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course'))
    )
    # Not in batch mode: on SQLite that copies the appointment table, and dropping the old one
    # would cascade to every row that refers to it (as 0022 and 0024 note). A column added with
    # its reference inline is allowed by SQLite's ALTER TABLE when it may be NULL.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE appointment ADD COLUMN course_id INTEGER "
                   "CONSTRAINT fk_appointment_course_id_course REFERENCES course (id)")
    else:
        op.add_column('appointment', sa.Column('course_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_appointment_course_id_course'), 'appointment', 'course',
                              ["course_id"], ["id"])
    op.create_index(op.f('ix_appointment_course_id'), 'appointment', ['course_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_appointment_course_id'), table_name='appointment')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE appointment DROP COLUMN course_id")
    else:
        op.drop_constraint(op.f('fk_appointment_course_id_course'), 'appointment', type_='foreignkey')
        op.drop_column('appointment', 'course_id')
    op.drop_table('course')
