"""Emergency and urgent answers reach the clinic at once, from wherever the patient gives them.

The booking, every intake page, the progress check and a fresh check of the safety
questions all call `signal` inside their own write transaction, having locked the visit
(`lock_visit`): the visit's flag is raised and the clinic's alert email is queued in the
same commit as the answer, so the desk, My day and the visit record show it the moment it
is saved, and nothing is sent for an answer that was not kept. Each code is signalled
once per visit, so saving a page again sends no second email; a new answer does. The flag
only ever goes up: a later, milder answer never hides an emergency.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import locked, write_transaction
from booking.models import Appointment, AppointmentStatus, Patient, SafetySignal
from booking.notify import outbox
from booking.operations.availability import load_clinic
from booking.operations.problems import RecordErased
from booking.safety import SIGNAL_SOURCES, levels_of, most_severe

log = logging.getLogger(__name__)


def lock_visit(appointment: Appointment) -> Appointment:
    """Reload the visit with its row locked until the commit (PostgreSQL; on SQLite the write
    transaction already holds the database's lock), so two answers saved at the same moment
    are applied one after the other. A visit of a course first locks every visit of its course,
    in order: `signal` raises their flags too, and two answers given at once on two visits of
    one course must not wait on each other in a circle."""
    lock_course(appointment.course_id)
    appointment = locked(Appointment, appointment.id)
    refuse_if_erased(appointment)
    return appointment


def lock_course(course_id: int | None) -> None:
    """Lock every visit of the course until the commit, in id order (nothing outside a course).
    Whatever changes one visit of a course and may reach the others (an answer's flag, "cancel the
    rest") takes this first, so two such changes never wait on each other in a circle."""
    if course_id is not None:
        db.session.execute(sa.select(Appointment.id).where(Appointment.course_id == course_id)
                           .order_by(Appointment.id).with_for_update())


def course_of(appointment_id: int) -> int | None:
    """The visit's course, read before any lock: a visit never changes course."""
    return db.session.scalar(sa.select(Appointment.course_id).where(Appointment.id == appointment_id))


def refuse_if_erased(appointment: Appointment) -> None:
    """An erasure may have committed while this request waited for the visit's lock: then the
    answers it carries are not kept (RecordErased, a 404 like any dead link)."""
    erased = db.session.scalar(sa.select(Patient.erased_at).where(Patient.id == appointment.patient_id))
    if erased is not None:
        raise RecordErased()


def _signalled(appointment_ids: list[int]) -> dict[int, set[str]]:
    """Every code already signalled, per visit."""
    found = {appointment_id: set() for appointment_id in appointment_ids}
    for appointment_id, codes in db.session.execute(
            sa.select(SafetySignal.appointment_id, SafetySignal.codes).where(SafetySignal.appointment_id.in_(appointment_ids))):
        found[appointment_id].update(codes)
    return found


def signal(appointment: Appointment, levels: Mapping[str, str], source: str, now: datetime) -> SafetySignal | None:
    """Record the answers in `levels` (code -> "emergency" or "urgent") not signalled before for
    this visit, raise its flag, and queue the clinic's alert; the caller commits. None when
    nothing is new.

    The answers are about the patient, not about one visit: a visit of a course passes them on to
    the course's other visits still ahead, whose flags rise with it (one alert email, for this
    one). Otherwise an urgent answer given when a course was booked flagged only its first visit,
    and nothing told the practitioner once that visit was cancelled or had happened."""
    if source not in SIGNAL_SOURCES:
        raise ValueError(f"unknown signal source {source!r}")
    if not levels:
        return None
    visits = [appointment, *_course_visits_ahead(appointment, now)]
    known = _signalled([visit.id for visit in visits])
    raised = None
    for visit in visits:
        new = {code: level for code, level in levels.items() if code not in known[visit.id]}
        if new:
            level = most_severe(new.values())
            kept = SafetySignal(appointment=visit, level=level, source=source, codes=sorted(new), raised_at=now)
            db.session.add(kept)
            visit.alert_level = most_severe([visit.alert_level, level])
            raised = kept if visit is appointment else raised
    if raised is None:
        return None
    level = raised.level
    clinic = load_clinic()
    if clinic.alert_email:
        outbox.queue_alert(appointment, clinic, level, source, now)
    else:  # the flag shows on every staff page; the log says why nobody was emailed (no health data)
        log.warning("No clinic alert address is set: the flag raised on visit %s was not emailed", appointment.reference)
    return raised


def _course_visits_ahead(appointment: Appointment, now: datetime) -> list[Appointment]:
    """The other booked visits of the visit's course that have not begun (none outside a course)."""
    if appointment.course_id is None:
        return []
    # Read afresh (locked by lock_course first): a flag raised meanwhile by another answer is kept.
    return list(db.session.scalars(sa.select(Appointment).where(
        Appointment.course_id == appointment.course_id, Appointment.id != appointment.id,
        Appointment.status == AppointmentStatus.BOOKED, Appointment.starts_at > now).order_by(Appointment.id)
        .execution_options(populate_existing=True)))


class RecheckClosed(Exception):
    """The visit is no longer ahead, so there is nothing to check the safety questions for."""


def may_recheck(appointment: Appointment, now: datetime) -> bool:
    return appointment.status is AppointmentStatus.BOOKED and appointment.starts_at > now


def recheck(appointment: Appointment, codes: list[str], now: datetime) -> dict[str, str]:
    """The patient answered the safety questions again before their visit: keep the answers and
    when, and signal any emergency or urgent one; commit. Returns the answers' levels."""
    with write_transaction():
        lock_visit(appointment)
        if not may_recheck(appointment, now):
            raise RecheckClosed()
        levels = levels_of(codes)
        appointment.safety_checked_at, appointment.safety_answers = now, list(codes)
        signal(appointment, levels, "recheck", now)
    return levels
