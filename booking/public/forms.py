"""Forms of the patient's booking journey that only the journey uses; the safety check,
details and confirm forms it shares with other pages are in booking.forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField

from booking.forms import Choice, JourneyForm, options


class FirstVisitForm(JourneyForm):
    """Asked before the list of visits, which then offers only the visits that fit the answer."""

    returning = Choice(
        _l("Have you been to this clinic before?"),
        choices=options([("no", _l("No, this is my first visit")), ("yes", _l("Yes, I have been before"))]),
        message=_l("Select whether you have been to this clinic before"),
    )


class ServiceForm(JourneyForm):
    service = Choice(_l("What kind of visit do you need?"), message=_l("Select the kind of visit you need"))


class PractitionerForm(JourneyForm):
    practitioner = Choice(_l("Who would you like to see?"), message=_l("Select a practitioner, or the first available"))


class TimeForm(JourneyForm):
    start = StringField(_l("Time"))  # the value of the time button pressed; checked against free times
