"""Forms for booking a course: how often and how many, and a time for each visit that is not free."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from booking.forms import Choice, JourneyForm, options
from booking.scheduling.course import MAX_VISITS

class CourseForm(JourneyForm):
    how_often = Choice(_l("How often would you like to come?"), message=_l("Select how often you would like to come"))
    count = Choice(_l("How many visits in all, this one included?"),
                   choices=options((str(n), str(n)) for n in range(2, MAX_VISITS + 1)),
                   message=_l("Select how many visits you would like"))


class CourseTimesForm(JourneyForm):
    """Only the CSRF token: each visit not free sends its chosen time as visit-N, checked against
    the alternatives on offer when it arrives."""
