"""The short progress check before a return visit: pain again, and the patient's own activities again.

A visit asks for it when the patient sent an intake for an earlier visit (the baseline
its activities come from) and has not started a new intake for this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from booking.extensions import db
from booking.formatting import clinic_time
from booking.transaction import locked, write_transaction
from booking.measures import Instrument
from booking.models import Appointment, AppointmentStatus, Intake, IntakeStatus, ProgressCheck
from booking.operations.availability import load_clinic
from booking.operations.identity import history_filter
from booking.operations.safety_signals import course_of, lock_course, refuse_if_erased, signal
from booking.safety import levels_of


class ProgressCheckClosed(Exception):
    """This visit takes no progress check (now); `message` says why, to the patient."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def baseline_for(appointment: Appointment) -> Intake | None:
    """The patient's latest sent intake from an earlier visit that was not cancelled (a missed
    visit's answers still stand, as on the practitioner's pages). None while the booking waits
    for the patient to confirm it was them: its link then asks what a first booking asks."""
    return db.session.scalar(
        sa.select(Intake).join(Appointment, Intake.appointment_id == Appointment.id)
        .where(history_filter(appointment, as_patient=True), Appointment.starts_at < appointment.starts_at,
               Appointment.status.in_(AppointmentStatus.holding_time()), Intake.sent_at.is_not(None))
        .order_by(Appointment.starts_at.desc())
        .limit(1)
    )


def asks_progress_check(appointment: Appointment, baseline: Intake | None) -> bool:
    """Does this visit's page offer the progress check rather than the full intake?"""
    return baseline is not None and appointment.intake_status is IntakeStatus.NOT_STARTED


def questions_asked(appointment: Appointment) -> str | None:
    """What this visit still asks the patient: "intake", "progress" (a return visit's check), or None."""
    if appointment.intake_status is IntakeStatus.SENT:
        return None
    return "progress" if asks_progress_check(appointment, baseline_for(appointment)) else "intake"


def closed_because(appointment: Appointment, baseline: Intake | None, now: datetime) -> str | None:
    """Why the progress check cannot be filled in for this visit, or None."""
    if appointment.status is AppointmentStatus.CANCELLED:
        return _("This appointment is cancelled, so there is no progress check to fill in for it.")
    if appointment.status is not AppointmentStatus.BOOKED or appointment.starts_at <= now:
        return _("This visit has already begun. Tell your practitioner how you are getting on when you see them.")
    if not asks_progress_check(appointment, baseline):
        return _("This visit asks the full questions about your back pain instead.")
    opens = opens_at(appointment)
    if opens > now:  # said to the patient, in their language and the clinic's way of writing dates
        day = clinic_time(opens, load_clinic(), get_locale() or "en_US", "weekday")
        return _("The progress check opens after your visit on %(day)s: it asks how you are getting on "
                 "since then. Please come back to this page after that visit.", day=day)
    return None


def opens_at(appointment: Appointment) -> datetime:
    """Progress is measured since the patient's last visit, so the check opens when the latest
    earlier visit (not cancelled) ends; before that it would measure nothing new."""
    return db.session.scalar(
        sa.select(sa.func.max(Appointment.ends_at))
        .where(history_filter(appointment, as_patient=True), Appointment.starts_at < appointment.starts_at,
               Appointment.status.in_(AppointmentStatus.holding_time()))
    )


def activities_of(baseline: Intake) -> list[str]:
    """The activities the patient named at their intake, in their words and order."""
    return [activity["name"] for activity in baseline.answers.get("activities", {}).get("activities", [])]


@dataclass(frozen=True)
class ProgressAnswers:
    pain: Mapping[str, int]  # pain_now, pain_average, pain_worst
    ratings: list[int]  # each activity named at the intake, in order
    after_effects: list[str] = field(default_factory=list)  # keys of AFTER_EFFECTS
    after_effects_other: str = ""
    safety: list[str] = field(default_factory=list)  # safety-check codes that apply now


def send(appointment_id: int, answers: ProgressAnswers, now: datetime,
         instruments: Mapping[str, Instrument]) -> ProgressCheck:
    """Store the check once, with its function score; raise ProgressCheckClosed if it may not be.
    Safety answers that need a doctor flag the visit and alert the clinic in the same commit."""
    try:
        with write_transaction():
            lock_course(course_of(appointment_id))  # its flag may reach the course's other visits (signal)
            appointment = locked(Appointment, appointment_id)
            refuse_if_erased(appointment)
            if appointment.progress_check is not None:
                raise ProgressCheckClosed("Your progress check has already been sent. Thank you.")
            baseline = baseline_for(appointment)
            problem = closed_because(appointment, baseline, now)
            if problem:
                raise ProgressCheckClosed(problem)
            names = activities_of(baseline)
            if len(answers.ratings) != len(names):
                raise ProgressCheckClosed("The activities to rate have changed. Please open the progress check again.")
            scores = instruments["psfs"].score({f"activity_{n}": r for n, r in enumerate(answers.ratings, start=1)})
            pain = answers.pain
            check = ProgressCheck(
                appointment_id=appointment.id, pain_now=pain["pain_now"], pain_average=pain["pain_average"],
                pain_worst=pain["pain_worst"], psfs_score=scores["psfs"].as_float, sent_at=now,
                activities=[{"name": name, "rating": rating} for name, rating in zip(names, answers.ratings, strict=True)],
                after_effects=list(answers.after_effects), after_effects_other=answers.after_effects_other or None,
                safety_codes=list(answers.safety),
            )
            db.session.add(check)
            appointment.intake_status = IntakeStatus.SENT  # what the desk reads: this visit's questions are answered
            appointment.safety_checked_at, appointment.safety_answers = now, list(answers.safety)
            signal(appointment, levels_of(answers.safety), "progress_check", now)
    except IntegrityError:
        if not db.session.scalar(sa.select(ProgressCheck.id).where(ProgressCheck.appointment_id == appointment_id)):
            raise  # not a second copy of the check: a real fault
        raise ProgressCheckClosed("Your progress check has already been sent. Thank you.") from None
    return check
