"""The patient's secret manage link: which appointment a token opens, for manage-my-booking
and the intake questions that hang off the same link."""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from booking.clock import now
from booking.extensions import db
from booking.i18n import speak_the_language_of
from booking.models import Appointment, ManageLink
from booking.operations.bookings import set_language
from booking.tokens import hash_token


def _opened_by(token: str):
    """SQL: the appointment this token opens (its own link, or one emailed for it)."""
    return sa.or_(Appointment.manage_token_hash == hash_token(token),
                  Appointment.id.in_(sa.select(ManageLink.appointment_id).where(ManageLink.token_hash == hash_token(token))))


def still_opens(token: str, appointment_id: int) -> bool:
    """Whether the link still opens the visit: a patient's own move elsewhere replaced it."""
    return db.session.scalar(sa.select(Appointment.id).where(Appointment.id == appointment_id, _opened_by(token))) is not None


def speak_its_language(appointment: Appointment) -> None:
    """The link's pages speak the language the visit was booked in (i18n.speak_the_language_of); a
    choice made here becomes the visit's language, so its later emails and reminders follow it."""
    speak_the_language_of(appointment, lambda chosen: set_language(appointment.id, chosen))


def opened_by(token: str) -> Appointment | None:
    """The appointment the token opens, whether or not its link has expired (the caller decides)."""
    return db.session.scalar(
        sa.select(Appointment)
        .where(_opened_by(token))
        .options(selectinload(Appointment.service), selectinload(Appointment.practitioner))
    )


def with_appointment(view):
    """Find the appointment for the link's token, or 404 for any bad or expired link."""

    @wraps(view)
    def wrapper(token: str, **kwargs):
        appointment = opened_by(token)
        if appointment is None or appointment.ends_at <= now():
            abort(404)
        speak_its_language(appointment)
        return view(appointment, token, **kwargs)

    return wrapper
