"""Saving a patient's intake step by step, and sending it to the clinic once, with its derived facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from booking.extensions import db
from booking.transaction import write_transaction
from booking.measures import Instrument
from booking.measures.intake import FORM_VERSION, derive, red_flags
from booking.models import Appointment, AppointmentStatus, Intake, IntakeStatus
from booking.operations.problems import VisitCancelled
from booking.operations.safety_signals import lock_visit, signal


class IntakeAlreadySent(Exception):
    """A sent intake is final: nothing more is saved to it."""


def refuse_if_cancelled(appointment: Appointment) -> None:
    """Read under the visit's lock: a cancellation that committed while this page was being
    sent closes the questions (and no alert goes to the clinic for a visit that will not happen)."""
    if appointment.status is AppointmentStatus.CANCELLED:
        raise VisitCancelled()


class IntakeIncomplete(Exception):
    """Some steps are still unanswered."""


def save_step(appointment: Appointment, step: str, answers: dict, now: datetime) -> dict[str, str]:
    """Keep one step's answers (replacing earlier ones for that step) and commit. An emergency or
    urgent answer flags the visit and alerts the clinic in the same commit, before the intake
    is sent. Returns the red flags that this step's answers raise (code -> level): those the
    other steps alone would not."""
    with write_transaction():
        lock_visit(appointment)  # another tab saving a page waits, so neither page's answers are lost
        refuse_if_cancelled(appointment)
        intake = appointment.intake
        if intake is None:
            intake = Intake(appointment=appointment, form_version=FORM_VERSION, answers={}, started_at=now)
            db.session.add(intake)
        if intake.is_sent:
            raise IntakeAlreadySent()
        intake.answers = {**intake.answers, step: answers}  # a new dict, so the JSON column sees the change
        intake.form_version = FORM_VERSION  # the questions these answers were given to
        intake.updated_at = now
        appointment.intake_status = IntakeStatus.IN_PROGRESS
        flags = red_flags(intake.answers)
        signal(appointment, flags, "intake", now)
        without_this_step = red_flags({name: given for name, given in intake.answers.items() if name != step})
    return {code: level for code, level in flags.items() if code not in without_this_step}


def send(appointment: Appointment, steps: list[str], now: datetime, today: date,
         instruments: Mapping[str, Instrument]) -> Intake:
    """Derive the facts the practitioner reads first, store them with the answers, and close the intake."""
    with write_transaction():
        lock_visit(appointment)
        refuse_if_cancelled(appointment)
        intake = appointment.intake
        if intake is not None and intake.is_sent:
            raise IntakeAlreadySent()
        if intake is None or any(step not in intake.answers for step in steps):
            raise IntakeIncomplete()
        facts = derive(intake.answers, born_on=appointment.patient.born_on, today=today, instruments=instruments)
        for name in ("duration_band", "duration_days", "nerve_root_pattern", "emergency_flags", "precautions",
                     "risk_factors", "pain_now", "pain_average", "pain_worst", "psfs_score",
                     "start_back_total", "start_back_psychosocial", "start_back_risk"):
            setattr(intake, name, getattr(facts, name))
        # The urgent answers this intake carries to later visits: the booking's, then its own.
        intake.urgent_flags = list(dict.fromkeys([*appointment.safety_flags, *facts.urgent_flags]))
        intake.sent_at = intake.updated_at = now
        appointment.intake_status = IntakeStatus.SENT
        signal(appointment, {**dict.fromkeys(facts.urgent_flags, "urgent"),
                             **dict.fromkeys(facts.emergency_flags, "emergency")}, "intake", now)
    return intake
