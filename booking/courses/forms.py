"""Forms for booking a course: how often and how many, and a time for each visit that is not free."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from booking.forms import Choice, JourneyForm, options
from booking.scheduling.course import MAX_VISITS, patterns_offered

# Plural, as a course keeps them ("on Mondays"); date.weekday() order.
WEEKDAYS = (_l("Mondays"), _l("Tuesdays"), _l("Wednesdays"), _l("Thursdays"), _l("Fridays"), _l("Saturdays"),
            _l("Sundays"))


def how_often_choices(first_weekday: int, worked: set[int]):
    """The patient's choices of how often, named by the weekdays they keep ("Twice a week: Mondays and
    Thursdays"), from the first visit's weekday and the days the practitioner works."""
    day = WEEKDAYS[first_weekday]

    def label(pattern):
        if pattern.weekdays:
            first, second = (WEEKDAYS[weekday] for weekday in pattern.weekdays)
            return _l("Twice a week: %(first)s and %(second)s", first=first, second=second)
        if pattern.every_days == 7:
            return _l("Once a week: %(day)s", day=day)
        return _l("Every two weeks: %(day)s", day=day)

    return options((pattern.value, label(pattern)) for pattern in patterns_offered(first_weekday, worked))


class CourseForm(JourneyForm):
    how_often = Choice(_l("How often would you like to come?"), message=_l("Select how often you would like to come"))
    count = Choice(_l("How many visits in all, this one included?"),
                   choices=options((str(n), str(n)) for n in range(2, MAX_VISITS + 1)),
                   message=_l("Select how many visits you would like"))


class CourseTimesForm(JourneyForm):
    """Only the CSRF token: each visit not free sends its chosen time as visit-N, checked against
    the alternatives on offer when it arrives."""
