"""Forms for booking a course: how often and how many, and a time for each visit that is not free."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from booking.forms import Choice, JourneyForm, options
from booking.scheduling.course import MAX_VISITS

HOW_OFTEN = (("7", _l("Once a week")), ("14", _l("Every two weeks")),
             ("3", _l("Every 3 days (about twice a week)")), ("4", _l("Every 4 days")))


class CourseForm(JourneyForm):
    every_days = Choice(_l("How often would you like to come?"), choices=options(HOW_OFTEN),
                        message=_l("Select how often you would like to come"))
    count = Choice(_l("How many visits in all, this one included?"),
                   choices=options((str(n), str(n)) for n in range(2, MAX_VISITS + 1)),
                   message=_l("Select how many visits you would like"))


class CourseTimesForm(JourneyForm):
    """Only the CSRF token: each visit not free sends its chosen time as visit-N, checked against
    the alternatives on offer when it arrives."""
