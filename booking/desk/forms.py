"""Forms of the front desk; messages speak to the receptionist about the patient."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from flask_babel import get_locale
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.forms import (
    VisitChangeForm,
    SAFETY_CHOICES,
    CheckboxChoices,
    Choice,
    DetailsForm,
    JourneyForm,
    SafetyForm,
    options,
    parse_date,
)
from booking.formatting import time_range, time_text
from booking.operations.clinic_file import WEEKDAYS
from booking.scheduling.course import MAX_VISITS

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

CANCEL_REASONS = [
    ("patient", "The patient asked to cancel"),
    ("practitioner", "The practitioner cannot see them"),
    ("clinic", "The clinic is closed"),
    ("mistake", "Booked by mistake"),
    ("other", "Another reason"),
]
NOTE_LIMIT = 300


def for_the_desk(message: str) -> str:
    """Patient-facing validation messages, reworded for staff typing on a patient's behalf."""
    return message.replace("Enter your", "Enter the patient's").replace("your ", "the patient's ")


class CallerBookingForm(DetailsForm, SafetyForm):
    """A booking made by the desk: the service, the caller's answers to the safety
    questions, and the patient's details unless an existing patient was chosen."""

    returning = None  # the desk knows: it chose an existing patient or a new one
    service = Choice("Service", message="Select the service to book")
    symptoms = CheckboxChoices("Ask the caller: do any of these apply to them now?", choices=SAFETY_CHOICES)
    # Optional: a course of visits booked in one step from this first one (booking.courses).
    # Its choices, from the first visit's weekday, are the patient's (forms.how_often_choices),
    # which read in English on staff pages.
    # "" (the first choice, chosen at first) books this visit alone, and is how a click on a course
    # is undone: radios cannot be cleared, and the page works without JavaScript.
    how_often = Choice("Book as a course? How often", optional=True, default="",
                       message="Select how often, or 'No, one visit'")
    count = Choice("Visits in the course, this one included",
                   choices=options((str(n), str(n)) for n in range(2, MAX_VISITS + 1)), optional=True,
                   message="Select how many visits")
    nothing_selected = "Ask the caller each question, then select any that apply, or 'None of these'"
    none_and_others = "Select 'None of these' only if nothing in the list applies to the caller"

    def __init__(self, *args, existing_patient: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if existing_patient:
            for name in ("name", "email", "phone", "birth_day", "birth_month", "birth_year"):
                delattr(self, name)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not self.how_often.data:
            self.count.data = None  # one visit: a count chosen before does not count
        elif valid and not self.count.data:
            self.count.errors = ["For a course, select how many visits too (or 'No, one visit' above)"]
            valid = False
        for field in self:
            field.errors = [for_the_desk(message) for message in field.errors]
        return valid


class CancelForm(VisitChangeForm):
    reason = Choice("Why is it being cancelled?", choices=options(CANCEL_REASONS),
                    message="Select why the appointment is being cancelled")
    note = TextAreaField("Note (optional)")

    def validate_note(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > NOTE_LIMIT:
            raise ValidationError(f"Note must be {NOTE_LIMIT} characters or fewer")
        if self.reason.data == "other" and not field.data:
            raise ValidationError("Say what the other reason is")

    @property
    def reason_text(self) -> str:
        label = dict(CANCEL_REASONS).get(self.reason.data, "")
        return f"{label}: {self.note.data}" if self.note.data else label


class ActionForm(JourneyForm):
    """A button that changes something: only the CSRF token (the rest is in the URL)."""


class MoveForm(VisitChangeForm):
    start = StringField("New time")
    practitioner = StringField("Practitioner")


# A time as people type it: "13:30" or "9:00" (24-hour), or "9am", "9:30 PM", "12:30 p.m.".
TYPED_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?\s*m?\.?)?$", re.IGNORECASE)


def parse_typed_time(text: str) -> time:
    """A time of day typed on the desk's forms, 24-hour or with AM/PM; ValueError otherwise."""
    match = TYPED_TIME.match((text or "").strip().replace("\u202f", " "))
    if not match:
        raise ValueError(text)
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(text)
        hour = hour % 12 + (12 if half == "p" else 0)
    elif match.group(2) is None:
        raise ValueError(text)  # a bare "9" could be morning or evening: ask for 9:00 or 9am
    if hour > 23 or minute > 59:
        raise ValueError(text)
    return time(hour, minute)


def _locale():
    return get_locale() or "en_US"


def _periods(text: str, day_name: str) -> list[tuple[time, time]]:
    """'9:00 AM–12:30 PM' and '1:30 PM–5:00 PM' on lines of their own, or with commas or
    semicolons between ('09:00-12:30, 13:30-17:00') -> sorted periods, or ValidationError
    saying what to fix."""
    periods = []
    for part in [p.strip() for p in re.split(r"[,;\r\n]", text) if p.strip()]:
        pieces = [p.strip() for p in re.split(r"[-–—]|\bto\b", part)]
        if len(pieces) != 2:
            raise ValidationError(f"{day_name}: write each period as start-end, like {time_range(time(9), time(12, 30), _locale())}")
        try:
            start, end = parse_typed_time(pieces[0]), parse_typed_time(pieces[1])
        except ValueError:
            raise ValidationError(
                f"{day_name}: {part} is not a period of time; write it like "
                f"{time_range(time(9), time(12, 30), _locale())} or 09:00-12:30") from None
        if not start < end:
            raise ValidationError(
                f"{day_name}: {part} ends before it starts; hours cannot run past midnight")
        periods.append((start, end))
    periods.sort()
    for (first_start, first_end), (next_start, _) in zip(periods, periods[1:], strict=False):
        if next_start < first_end:
            raise ValidationError(
                f"{day_name}: {time_range(first_start, first_end, _locale())} overlaps the period starting at "
                f"{time_text(next_start, _locale())}")
    return periods


class HoursForm(JourneyForm):
    # A box of lines, a period to each: "9:00 AM–12:30 PM, 1:30 PM–5:00 PM" on one line was
    # cut off in a phone-wide text field.
    mon = TextAreaField(DAY_NAMES[0])
    tue = TextAreaField(DAY_NAMES[1])
    wed = TextAreaField(DAY_NAMES[2])
    thu = TextAreaField(DAY_NAMES[3])
    fri = TextAreaField(DAY_NAMES[4])
    sat = TextAreaField(DAY_NAMES[5])
    sun = TextAreaField(DAY_NAMES[6])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        self.weekly: dict[int, list[tuple[time, time]]] = {}
        for weekday, key in enumerate(WEEKDAYS):
            field = self[key]
            try:
                self.weekly[weekday] = _periods(field.data or "", DAY_NAMES[weekday])
            except ValidationError as error:
                field.errors = [*field.errors, str(error)]
                valid = False
        return valid

    @staticmethod
    def text_for(periods) -> str:
        """The periods as the clinic's locale writes them, one to a line, which the form reads back."""
        return "\n".join(time_range(start, end, _locale()) for start, end in periods)

    @staticmethod
    def example() -> tuple[str, str]:
        """A morning and an afternoon, as the clinic's locale writes them: the page's example."""
        return time_range(time(9), time(12, 30), _locale()), time_range(time(13, 30), time(17), _locale())


def _parse_time(text: str | None, what: str, default: time) -> time:
    if not (text or "").strip():
        return default
    try:
        return parse_typed_time(text)
    except ValueError:
        raise ValidationError(
            f"Enter the {what} as a time of day, like {time_text(time(13, 30), _locale())}, or leave it empty") from None


class TimeOffForm(JourneyForm):
    start_date = StringField("From (date)")
    start_time = StringField("From (time, optional)")
    end_date = StringField("Until (date)")
    end_time = StringField("Until (time, optional)")
    reason = StringField("Reason (optional)")

    def validate_start_date(self, field):
        self.first_day = parse_date(field.data, "first day")

    def validate_start_time(self, field):
        self.from_time = _parse_time(field.data, "start time", time(0))

    def validate_end_date(self, field):
        self.last_day = parse_date(field.data, "last day")

    def validate_end_time(self, field):
        self.until_time = _parse_time(field.data, "end time", time(0))

    def validate_reason(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > 200:
            raise ValidationError("Reason must be 200 characters or fewer")

    def span(self) -> tuple[datetime, datetime]:
        """Local wall-clock start and end; an empty end time means the whole of the last day."""
        starts = datetime.combine(self.first_day, self.from_time)
        if self.end_time.data and self.end_time.data.strip():
            ends = datetime.combine(self.last_day, self.until_time)
        else:
            ends = datetime.combine(self.last_day + timedelta(days=1), time(0))
        return starts, ends


class PatientSearchForm(JourneyForm):
    text = StringField("Name, email or phone")
    born_on = StringField("Date of birth (optional)")

    def validate_text(self, field):
        field.data = (field.data or "").strip()[:120]
        # Separators alone (",") are no search: with them taken out (desk._matching) it matched everyone.
        if not re.sub(r"[\s,;]+", "", field.data) and not (self.born_on.data or "").strip():
            raise ValidationError("Enter part of a name, email address or phone number, or a date of birth")

    def validate_born_on(self, field):
        self.birth_date = parse_date(field.data, "date of birth") if (field.data or "").strip() else None
