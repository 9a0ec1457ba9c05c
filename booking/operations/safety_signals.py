"""Emergency and urgent answers reach the clinic at once, from wherever the patient gives them.

The booking, every intake page, the progress check and a fresh check of the safety
questions all call `signal` inside their own write transaction: the visit's flag is set
and the clinic's alert email is queued in the same commit as the answer, so the desk, My
day and the visit record show it the moment it is saved, and nothing is sent for an
answer that was not kept. Each code is signalled once per visit, so saving a page again
sends no second email; a more severe or a different answer does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from booking.extensions import db, write_transaction
from booking.models import Appointment, AppointmentStatus, SafetySignal
from booking.notify import outbox
from booking.safety import SIGNAL_SOURCES, levels_of, most_severe


def signalled_codes(appointment: Appointment) -> set[str]:
    """Every code already signalled for this visit."""
    rows = db.session.scalars(sa.select(SafetySignal.codes).where(SafetySignal.appointment_id == appointment.id))
    return {code for codes in rows for code in codes}


def signal(appointment: Appointment, levels: Mapping[str, str], source: str, now: datetime) -> SafetySignal | None:
    """Record the answers in `levels` (code -> "emergency" or "urgent") not signalled before for
    this visit, raise its flag, and queue the clinic's alert; the caller commits. None when
    nothing is new."""
    if source not in SIGNAL_SOURCES:
        raise ValueError(f"unknown signal source {source!r}")
    new = {code: level for code, level in levels.items() if code not in signalled_codes(appointment)}
    if not new:
        return None
    level = most_severe(new.values())
    raised = SafetySignal(appointment=appointment, level=level, source=source, codes=sorted(new), raised_at=now)
    db.session.add(raised)
    appointment.alert_level = most_severe([appointment.alert_level, level])
    outbox.queue_alert(appointment, level, source, now)
    return raised


class RecheckClosed(Exception):
    """The visit is no longer ahead, so there is nothing to check the safety questions for."""


def recheck(appointment_id: int, codes: list[str], now: datetime) -> dict[str, str]:
    """The patient answered the safety questions again before their visit: note when, and
    signal any emergency or urgent answer; commit. Returns the answers' levels."""
    with write_transaction():
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or appointment.status is not AppointmentStatus.BOOKED or appointment.starts_at <= now:
            raise RecheckClosed()
        levels = levels_of(codes)
        appointment.safety_checked_at = now
        signal(appointment, levels, "recheck", now)
    return levels
