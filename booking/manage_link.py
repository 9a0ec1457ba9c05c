"""The patient's secret manage link: which appointment a token opens, for manage-my-booking
and the intake questions that hang off the same link."""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, ManageLink
from booking.tokens import hash_token


def with_appointment(view):
    """Find the appointment for the link's token, or 404 for any bad or expired link."""

    @wraps(view)
    def wrapper(token: str, **kwargs):
        appointment = db.session.scalar(
            sa.select(Appointment)
            .where(sa.or_(Appointment.manage_token_hash == hash_token(token),
                          Appointment.id.in_(sa.select(ManageLink.appointment_id)
                                             .where(ManageLink.token_hash == hash_token(token)))))
            .options(selectinload(Appointment.service), selectinload(Appointment.practitioner))
        )
        if appointment is None or appointment.ends_at <= now():
            abort(404)
        return view(appointment, token, **kwargs)

    return wrapper
