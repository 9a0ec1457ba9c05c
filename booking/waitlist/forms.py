"""The waitlist's forms: what the patient would take, with the booking's own safety check and details."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError

from booking.forms import CheckboxChoices, Choice, DetailsForm, JourneyForm, SafetyForm, day_example, options, read_day
from booking.operations.waitlist import Wishes

# Labels for the pure core's parts of the day (booking.scheduling.waitlist defines their hours).
PART_LABELS = {"morning": _l("Morning (before 12 noon)"), "afternoon": _l("Afternoon (12 noon to 5 PM)"),
               "evening": _l("Evening (from 5 PM)")}
WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
                  _l("Sunday"))


WEEKDAY_CHOICES = options((str(n), label) for n, label in enumerate(WEEKDAY_LABELS))
PART_CHOICES = options(PART_LABELS.items())


class WishesForm(JourneyForm):
    """What the patient would take: the visit, who, between which dates, which days and times."""

    service = Choice(_l("What kind of visit do you need?"), message=_l("Select the kind of visit you need"))
    practitioner = Choice(_l("Who would you like to see?"), message=_l("Select a practitioner, or anyone"))
    first_day = StringField(_l("From"))
    last_day = StringField(_l("Until"))
    weekdays = CheckboxChoices(_l("Which days suit you? (optional)"), choices=WEEKDAY_CHOICES)
    parts_of_day = CheckboxChoices(_l("Which times of day suit you? (optional)"), choices=PART_CHOICES)

    def validate_first_day(self, field):
        self.first = _day(field.data, _("Enter the first day you could come"),
                          _("Enter the first day you could come as a date, like %(example)s", example=day_example()))

    def validate_last_day(self, field):
        self.last = _day(field.data, _("Enter the last day you could come"),
                         _("Enter the last day you could come as a date, like %(example)s", example=day_example()))

    def wishes(self) -> Wishes:
        return Wishes(self.service.data, self.practitioner.data, self.first, self.last,
                      tuple(int(day) for day in self.weekdays.data or ()), tuple(self.parts_of_day.data or ()))


def _day(text: str | None, missing: str, unread: str) -> date:
    """A date as a date box sends it, or as typed (read_day). The message named no field and gave
    an ISO example ("Enter a date, for example 2027-03-15") beside boxes showing 3/15/2027."""
    if not (text or "").strip():
        raise ValidationError(missing)
    found = read_day(text)
    if found is None:
        raise ValidationError(unread)
    return found


class JoinForm(WishesForm, SafetyForm, DetailsForm):
    """Joining the waitlist: what the patient would take, the safety check and contact details,
    each checked exactly as the booking journey checks them."""

    PARTS = (WishesForm, SafetyForm, DetailsForm)  # as the page shows them

    def in_page_order(self):
        """What is wanted, then the safety check, then the details: the safety and details forms
        were declared before the wishes, and WTForms would list their errors first."""
        return sorted(self, key=lambda field: next(
            (number for number, part in enumerate(self.PARTS) if isinstance(getattr(part, field.name, None), UnboundField)),
            -1))  # the CSRF token's expiry message, which is no part's, comes first


class LeaveForm(JourneyForm):
    """The "Leave the waitlist" button: only the CSRF token."""


class BookItForm(JourneyForm):
    """The "Book it" button of an offer: only the CSRF token."""
