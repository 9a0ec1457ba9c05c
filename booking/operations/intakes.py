"""Saving a patient's intake step by step, and sending it to the clinic once, with its derived facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from booking.extensions import db
from booking.measures import Instrument
from booking.measures.intake import FORM_VERSION, derive
from booking.models import Appointment, Intake, IntakeStatus


class IntakeAlreadySent(Exception):
    """A sent intake is final: nothing more is saved to it."""


class IntakeIncomplete(Exception):
    """Some steps are still unanswered."""


def save_step(appointment: Appointment, step: str, answers: dict, now: datetime) -> Intake:
    """Keep one step's answers (replacing earlier ones for that step), and commit."""
    intake = appointment.intake
    if intake is None:
        intake = Intake(appointment=appointment, form_version=FORM_VERSION, answers={}, started_at=now)
        db.session.add(intake)
    if intake.is_sent:
        raise IntakeAlreadySent()
    intake.answers = {**intake.answers, step: answers}  # a new dict, so the JSON column sees the change
    intake.updated_at = now
    appointment.intake_status = IntakeStatus.IN_PROGRESS
    db.session.commit()
    return intake


def send(appointment: Appointment, steps: list[str], now: datetime, today: date,
         instruments: Mapping[str, Instrument]) -> Intake:
    """Derive the facts the practitioner reads first, store them with the answers, and close the intake."""
    intake = appointment.intake
    if intake is not None and intake.is_sent:
        raise IntakeAlreadySent()
    if intake is None or any(step not in intake.answers for step in steps):
        raise IntakeIncomplete()
    facts = derive(intake.answers, born_on=appointment.patient.born_on, today=today, instruments=instruments)
    for name in ("duration_band", "duration_days", "nerve_root_pattern", "emergency_flags", "precautions", "risk_factors",
                 "pain_now", "pain_average", "pain_worst", "psfs_score",
                 "start_back_total", "start_back_psychosocial", "start_back_risk"):
        setattr(intake, name, getattr(facts, name))
    intake.urgent_flags = list(appointment.safety_flags)
    intake.sent_at = intake.updated_at = now
    appointment.intake_status = IntakeStatus.SENT
    db.session.commit()
    return intake
