"""Public pages: the clinic's start page, the manage-my-booking link, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from sqlalchemy.orm import selectinload

from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, Clinic, Practitioner, Service
from booking.operations.bookings import hash_token

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The clinic, its services and practitioners."""
    clinic = db.session.get(Clinic, 1)
    services = db.session.scalars(sa.select(Service).where(Service.is_active).order_by(Service.id)).all()
    practitioners = db.session.scalars(
        sa.select(Practitioner)
        .where(Practitioner.is_active)
        .options(selectinload(Practitioner.services))
        .order_by(Practitioner.slug)
    ).all()
    return render_template("public/index.html", clinic=clinic, services=services, practitioners=practitioners)


@bp.get("/manage/<token>")
def manage(token: str):
    """The patient's own appointment, reached through the secret link they were given."""
    appointment = db.session.scalar(
        sa.select(Appointment)
        .where(Appointment.manage_token_hash == hash_token(token))
        .options(selectinload(Appointment.service), selectinload(Appointment.practitioner))
    )
    # Unknown, tampered and expired links look the same, so none reveals anything.
    if appointment is None or appointment.ends_at <= now():
        abort(404)
    clinic = db.session.get(Clinic, 1)
    return render_template("public/manage.html", appointment=appointment, clinic=clinic)


@bp.get("/healthz")
def healthz():
    """200 when the database answers; 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "not answering"}, 503
    return {"status": "ok", "database": "ok"}
