"""Queueing the emails that go out ahead of a visit: the reminder and the progress-check invitation.

Run often (cron, a systemd timer, or the looping sender): each run queues what has come
due since the last, and nothing twice. Each message has a once-key, unique in the
outbox, and runs take a lock first, so two runs at once still queue one copy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import advisory_lock, locked, write_transaction
from booking.models import Appointment, AppointmentStatus, OutboxMessage
from booking.notify import outbox
from booking.operations.availability import load_clinic
from booking.operations.progress_checks import opens_at, questions_asked

LOCK_REMINDERS = 3  # pg_advisory_xact_lock namespace (1, 2: bookings.py)

# A return visit's progress check is asked for this long before it (or as soon as it opens, if later).
PROGRESS_INVITATION_AHEAD = timedelta(hours=72)


def once_key(kind: str, appointment: Appointment) -> str:
    """A reminder is for the visit as it is now (its SEQUENCE): a visit moved later gets one for its new time."""
    return f"{kind}:{appointment.id}:{appointment.sequence}"


def queue_due(now: datetime) -> dict[str, int]:
    """Queue every reminder and invitation now due and not yet queued; commit; count them.

    What is due is worked out first with only reads, so the write lock (which holds up
    bookings on SQLite) is taken only when there is something to write, and only for that.
    """
    counts = {"reminder": 0, "progress_invitation": 0}
    due = _due(now)
    if not due:
        return counts
    with write_transaction():  # restarts the reading transaction as a writer's
        advisory_lock(LOCK_REMINDERS, 0)
        queued = _already_queued([appointment_id for appointment_id, _, _, _ in due])  # another run may have been first
        for appointment_id, kind, key, questions in due:
            if key in queued:
                continue
            appointment = locked(Appointment, appointment_id)
            if once_key(kind, appointment) != key or appointment.status is not AppointmentStatus.BOOKED:
                continue  # changed since it was read: the next run decides again
            outbox.queue(kind, appointment, now, once_key=key, questions=questions)
            counts[kind] += 1
    return counts


def _due(now: datetime) -> list[tuple[int, str, str, str | None]]:
    """(appointment id, kind, once-key, questions) for each email due now and not yet queued."""
    clinic = load_clinic()
    if clinic is None:
        return []
    horizon = max(timedelta(hours=clinic.reminder_hours), PROGRESS_INVITATION_AHEAD)
    upcoming = db.session.scalars(
        sa.select(Appointment)
        .where(Appointment.status == AppointmentStatus.BOOKED, Appointment.starts_at > now,
               Appointment.starts_at <= now + horizon)
        .order_by(Appointment.starts_at)
    ).all()
    queued = _already_queued([appointment.id for appointment in upcoming])
    last_told = _last_told(upcoming)
    due = []
    for appointment in upcoming:
        kinds = [kind for kind in ("reminder", "progress_invitation") if once_key(kind, appointment) not in queued]
        if not kinds:
            continue
        questions = questions_asked(appointment)
        for kind in _due_kinds(appointment, questions, clinic.reminder_hours, last_told[appointment.id], now):
            if kind in kinds:
                due.append((appointment.id, kind, once_key(kind, appointment), questions))
    return due


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


def _already_queued(appointment_ids: list[int]) -> set[str]:
    if not appointment_ids:
        return set()
    return set(db.session.scalars(
        sa.select(OutboxMessage.once_key).where(OutboxMessage.appointment_id.in_(appointment_ids),
                                                OutboxMessage.once_key.is_not(None))
    ))


def _last_told(appointments: list[Appointment]) -> dict[int, datetime]:
    """When each patient was last emailed their visit's time (its confirmation or move notice)."""
    ids = [appointment.id for appointment in appointments]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(OutboxMessage.appointment_id, sa.func.max(OutboxMessage.created_at))
        .where(OutboxMessage.appointment_id.in_(ids), OutboxMessage.kind.in_(("confirmation", "moved")))
        .group_by(OutboxMessage.appointment_id)
    ).all()
    told = {appointment.id: appointment.created_at for appointment in appointments}
    return told | {appointment_id: at for appointment_id, at in rows}
