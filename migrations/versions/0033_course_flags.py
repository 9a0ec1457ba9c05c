"""A red flag raised on one visit of a course reaches the course's other booked visits: until now
an urgent answer given when a course was booked flagged only its first visit, so once that visit
was cancelled or had happened nothing told the practitioner of the others. Each booked visit of a
course gets the signals of its course's other visits that it lacks (same codes, level, source and
time) and its flag raised to match, if it has not begun. Nothing to undo: the signals were true
of the patient.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

SEVERITY = {None: 0, "urgent": 1, "emergency": 2}

appointment = sa.table("appointment", sa.column("id", sa.Integer), sa.column("course_id", sa.Integer),
                       sa.column("status", sa.String), sa.column("alert_level", sa.String),
                       sa.column("starts_at", sa.DateTime(timezone=True)))
safety_signal = sa.table("safety_signal", sa.column("appointment_id", sa.Integer), sa.column("level", sa.String),
                         sa.column("source", sa.String), sa.column("codes", sa.JSON),
                         sa.column("raised_at"))  # untyped: each database's own value, passed back as read


def upgrade():
    from booking.safety import levels_of, most_severe  # today's levels of the codes, applied once

    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    visits = connection.execute(sa.select(appointment.c.id, appointment.c.course_id, appointment.c.status,
                                          appointment.c.alert_level, appointment.c.starts_at)
                                .where(appointment.c.course_id.is_not(None))).all()
    if not visits:
        return
    signals = connection.execute(
        sa.select(safety_signal.c.appointment_id, safety_signal.c.level, safety_signal.c.source,
                  safety_signal.c.codes, safety_signal.c.raised_at)
        .where(safety_signal.c.appointment_id.in_([visit.id for visit in visits]))
        .order_by(safety_signal.c.raised_at)).all()
    course_of = {visit.id: visit.course_id for visit in visits}
    held = {visit.id: set() for visit in visits}
    for raised in signals:
        held[raised.appointment_id].update(raised.codes)
    for visit in visits:
        starts = visit.starts_at if visit.starts_at.tzinfo else visit.starts_at.replace(tzinfo=timezone.utc)
        if visit.status != "booked" or starts <= now:  # as the app passes them on: to visits not begun
            continue
        level = visit.alert_level
        for raised in signals:
            if course_of[raised.appointment_id] != visit.course_id or raised.appointment_id == visit.id:
                continue
            missing = sorted(set(raised.codes) - held[visit.id])
            if not missing:
                continue
            # The level of the codes passed on, not of the whole signal: some of its codes may be
            # here already, and an emergency among them says nothing of the rest.
            passed_on = most_severe(levels_of(missing).values()) or raised.level
            connection.execute(sa.insert(safety_signal).values(
                appointment_id=visit.id, level=passed_on, source=raised.source, codes=missing,
                raised_at=raised.raised_at))
            held[visit.id].update(missing)
            if SEVERITY[passed_on] > SEVERITY[level]:
                level = passed_on
        if level != visit.alert_level:
            connection.execute(sa.update(appointment).where(appointment.c.id == visit.id).values(alert_level=level))


def downgrade():
    pass
