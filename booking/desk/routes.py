"""The front desk: today's appointments for receptionists, admins and practitioners (their own)."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from booking.auth.routes import staff_only
from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, StaffRole
from booking.operations.availability import load_clinic
from booking.scheduling import wall_clock_instant

bp = Blueprint("desk", __name__, url_prefix="/desk")


@bp.get("")
@staff_only()
def today():
    """One day's appointments, in time order; a practitioner sees only their own."""
    clinic = load_clinic()
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = clinic.today(now())
    if not 1900 <= day.year <= 9000:  # far outside any diary, and keeps date sums in range
        day = clinic.today(now())
    start = wall_clock_instant(day, time(0), clinic.zone)
    end = wall_clock_instant(day + timedelta(days=1), time(0), clinic.zone)
    query = (
        sa.select(Appointment)
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .options(selectinload(Appointment.patient), selectinload(Appointment.service),
                 selectinload(Appointment.practitioner))
        .order_by(Appointment.starts_at, Appointment.practitioner_id)
    )
    if current_user.role is StaffRole.PRACTITIONER:
        query = query.where(Appointment.practitioner_id == current_user.account.practitioner_id)
    appointments = db.session.scalars(query).all()
    return render_template("desk/today.html", day=day, appointments=appointments,
                           previous=day - timedelta(days=1), following=day + timedelta(days=1))
