"""Queueing the emails that go out ahead of a visit: the reminder and the progress-check invitation.

Run often (cron, a systemd timer, or the looping sender): each run queues what has come
due since the last, and nothing twice. Each message has a once-key, unique in the
outbox, and runs take a lock first, so two runs at once still queue one copy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import begin_write_transaction, db
from booking.models import Appointment, AppointmentEvent, AppointmentStatus, OutboxMessage
from booking.notify import outbox
from booking.operations.availability import load_clinic
from booking.operations.progress_checks import opens_at, questions_asked

LOCK_REMINDERS = 3  # pg_advisory_xact_lock namespace (1, 2: bookings.py)

# A return visit's progress check is asked for this long before it (or as soon as it opens, if later).
PROGRESS_INVITATION_AHEAD = timedelta(hours=72)


def once_key(kind: str, appointment: Appointment) -> str:
    """A reminder is for one start time: a visit moved later gets a reminder for its new time."""
    return f"{kind}:{appointment.id}:{appointment.starts_at:%Y%m%dT%H%M%SZ}"


def queue_due(now: datetime) -> dict[str, int]:
    """Queue every reminder and invitation now due and not yet queued; commit; count them."""
    begin_write_transaction()
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_REMINDERS, 0)))
        clinic = load_clinic()
        counts = {"reminder": 0, "progress_invitation": 0}
        if clinic is None:
            db.session.rollback()
            return counts
        horizon = max(timedelta(hours=clinic.reminder_hours), PROGRESS_INVITATION_AHEAD)
        upcoming = db.session.scalars(
            sa.select(Appointment)
            .where(Appointment.status == AppointmentStatus.BOOKED, Appointment.starts_at > now,
                   Appointment.starts_at <= now + horizon)
            .options(selectinload(Appointment.patient), selectinload(Appointment.service),
                     selectinload(Appointment.practitioner))
            .order_by(Appointment.starts_at)
        ).all()
        queued = _already_queued(upcoming)
        last_told = _last_told(upcoming)
        for appointment in upcoming:
            questions = questions_asked(appointment)
            for kind in _due_kinds(appointment, questions, clinic.reminder_hours, last_told[appointment.id], now):
                key = once_key(kind, appointment)
                if key not in queued:
                    outbox.queue(kind, appointment, now, once_key=key, questions=questions)
                    counts[kind] += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return counts


def _due_kinds(appointment: Appointment, questions: str | None, reminder_hours: int, last_told: datetime,
               now: datetime) -> list[str]:
    """Which emails this visit is due now. A patient who booked or moved it after an email's
    time has just been told (the confirmation carries the same links), so gets no second one."""
    kinds = []
    reminder_at = appointment.starts_at - timedelta(hours=reminder_hours)
    if reminder_hours and reminder_at <= now and last_told < reminder_at:
        kinds.append("reminder")
    invitation_at = appointment.starts_at - PROGRESS_INVITATION_AHEAD
    if questions == "progress" and invitation_at <= now and last_told < invitation_at and opens_at(appointment) <= now:
        kinds.append("progress_invitation")
    return kinds


def _already_queued(appointments: list[Appointment]) -> set[str]:
    ids = [appointment.id for appointment in appointments]
    if not ids:
        return set()
    return set(db.session.scalars(
        sa.select(OutboxMessage.once_key).where(OutboxMessage.appointment_id.in_(ids),
                                                OutboxMessage.once_key.is_not(None))
    ))


def _last_told(appointments: list[Appointment]) -> dict[int, datetime]:
    """When each visit was booked or last moved: when the patient last had its time by email."""
    ids = [appointment.id for appointment in appointments]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(AppointmentEvent.appointment_id, sa.func.max(AppointmentEvent.at))
        .where(AppointmentEvent.appointment_id.in_(ids), AppointmentEvent.action.in_(("booked", "moved")))
        .group_by(AppointmentEvent.appointment_id)
    ).all()
    told = {appointment.id: appointment.created_at for appointment in appointments}
    return told | {appointment_id: at for appointment_id, at in rows}
