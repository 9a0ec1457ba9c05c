"""A course of treatment: one start and a repeat in; each visit's proposed time, or the nearest free
ones where that time is taken, out.

Pure, like core.py, whose free_starts decides what is free: this module only lays the visits out
(the same wall-clock time in the clinic's zone, across daylight-saving changes: every `every_days`
dates, or on fixed weekdays such as Mondays and Thursdays) and picks alternatives. No Flask, no
database, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.scheduling.core import BookingRules, TimeRange, WorkingInterval, free_starts, to_instant

MAX_VISITS = 12
MAX_EVERY_DAYS = 28  # a course is weeks of treatment; a gap of more than four weeks is separate bookings
ALTERNATIVES = 5
SEARCH_DAYS = 3  # alternatives lie within this many dates either side of the wanted one
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # date.weekday()


class CourseProblem(ValueError):
    """The repeat itself cannot be booked (too many visits, past the booking horizon...)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Repeat:
    """`count` visits in all (the first one included): every `every_days` clinic dates, or, when
    `weekdays` is given (0 = Monday), on each of those weekdays week after week; `every_days` is then
    7, the week in which the pattern repeats. Fixed weekdays keep a twice-weekly course on the same
    two days, where every 3 or 4 days would drift across the week."""

    every_days: int
    count: int
    weekdays: tuple[int, ...] = ()

    @classmethod
    def on_weekdays(cls, weekdays, count: int) -> Repeat:
        """Visits on these weekdays (0 = Monday, any order, repeats ignored) each week."""
        return cls(7, count, tuple(sorted(set(weekdays))))

    def problem(self, first_day: date | None = None) -> CourseProblem | None:
        """Why this repeat is not a course the clinic books (from `first_day`, when known), or None."""
        if not 1 <= self.every_days <= MAX_EVERY_DAYS:
            return CourseProblem("every_days", f"every_days must be a whole number from 1 to {MAX_EVERY_DAYS}")
        if not 2 <= self.count <= MAX_VISITS:
            return CourseProblem("count", f"count (visits in all) must be a whole number from 2 to {MAX_VISITS}")
        if self.weekdays and (self.every_days != 7 or list(self.weekdays) != sorted(set(self.weekdays))
                              or not all(0 <= day <= 6 for day in self.weekdays)):
            return CourseProblem("weekdays", "weekdays must be different days of the week, each once")
        if self.weekdays and first_day is not None and first_day.weekday() not in self.weekdays:
            return CourseProblem("weekdays", (
                f"the first visit is on a {WEEKDAY_NAMES[first_day.weekday()].capitalize()}, which is not one of "
                f"the weekdays ({', '.join(WEEKDAY_NAMES[day].capitalize() for day in self.weekdays)}): add it, or choose a "
                "first time on one of them"))
        return None


def twice_a_week(first_weekday: int) -> list[tuple[int, int]]:
    """The two pairs of weekdays, three or four days apart, that include the first visit's weekday
    (for a Monday: Mondays and Thursdays, Mondays and Fridays), each in week order."""
    return [tuple(sorted((first_weekday, (first_weekday + gap) % 7))) for gap in (3, 4)]


@dataclass(frozen=True)
class Pattern:
    """One "how often" a course's form offers: every `every_days` dates, or on `weekdays`."""

    value: str  # as the form sends it (how_often_value)
    every_days: int
    weekdays: tuple[int, ...] = ()


def patterns_offered(first_weekday: int, worked: set[int]) -> list[Pattern]:
    """The choices of "how often" for a course from a first visit on `first_weekday`: once a week,
    twice a week on two weekdays the practitioner works (`worked`), every two weeks."""
    twice = [Repeat.on_weekdays(pair, 2) for pair in twice_a_week(first_weekday) if set(pair) <= worked]
    return [Pattern("7", 7), *(Pattern(how_often_value(repeat), 7, repeat.weekdays) for repeat in twice),
            Pattern("14", 14)]


def how_often_value(repeat: Repeat) -> str:
    """A repeat's "how often" as a form sends it: "7" (every 7 dates) or "monday+thursday"."""
    return "+".join(WEEKDAY_NAMES[day] for day in repeat.weekdays) if repeat.weekdays else str(repeat.every_days)


def repeat_from(how_often: str, count: int) -> Repeat:
    """The repeat a form's "how often" value (one of how_often_value's) and count stand for."""
    if how_often.isdigit():
        return Repeat(int(how_often), count)
    return Repeat.on_weekdays((WEEKDAY_NAMES.index(name) for name in how_often.split("+")), count)


@dataclass(frozen=True)
class Length:
    """How long a visit's service takes, and the time kept free after it."""

    minutes: int
    buffer_minutes: int

    def occupies(self, start: datetime) -> TimeRange:
        return TimeRange(start, start + timedelta(minutes=self.minutes + self.buffer_minutes))


@dataclass(frozen=True)
class Proposal:
    """One visit of a course: the time that keeps the pattern, whether it is free, and if not the
    nearest free times (in time order) that overlap no other visit of the course."""

    number: int  # 1 for the first visit
    day: date  # the clinic date the pattern gives
    wanted: datetime | None  # None: the clock skips that wall-clock time on that date
    is_free: bool
    alternatives: tuple[datetime, ...] = ()

    @property
    def start(self) -> datetime | None:
        """The proposed start: the wanted time when free, else none until one is chosen."""
        return self.wanted if self.is_free else None


def visit_days(first_day: date, repeat: Repeat) -> list[date]:
    """The clinic dates of the course's visits, from the first (on one of the weekdays, if given)."""
    if not repeat.weekdays:
        return [first_day + timedelta(days=repeat.every_days * n) for n in range(repeat.count)]
    days, day = [], first_day
    while len(days) < repeat.count:
        if day.weekday() in repeat.weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


def last_bookable_day(rules: BookingRules, now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date() + timedelta(days=rules.max_advance_days)


def propose(
    *,
    first_start: datetime,
    repeat: Repeat,
    first: Length,
    rest: Length,
    hours: Sequence[WorkingInterval],
    time_off: Sequence[TimeRange],
    busy: Sequence[TimeRange],
    rules: BookingRules,
    now: datetime,
    zone: ZoneInfo,
    alternatives: int = ALTERNATIVES,
    free: tuple[Sequence[datetime], Sequence[datetime]] | None = None,
) -> list[Proposal]:
    """Each visit's time for one practitioner, free or flagged with the nearest free alternatives.

    `free`: the free starts of the first visit's service and of the rest's on the searched dates,
    when the caller worked them out with more than this module knows (hands-on parts and beds,
    scheduling.beds); otherwise free_starts works them out from hours, time off and busy.
    Raises CourseProblem for a repeat out of bounds, or a course whose last visit falls after the
    booking horizon.
    """
    first_local = first_start.astimezone(zone)
    problem = repeat.problem(first_local.date())
    if problem:
        raise problem
    days = visit_days(first_local.date(), repeat)
    horizon = last_bookable_day(rules, now, zone)
    if days[-1] > horizon:
        raise CourseProblem("count", (
            f"the last visit would be on {days[-1]:%Y-%m-%d}, but bookings open only "
            f"{rules.max_advance_days} days ahead (until {horizon:%Y-%m-%d}): choose fewer visits or a shorter gap"))
    searched = sorted({day + timedelta(days=n) for day in days for n in range(-SEARCH_DAYS, SEARCH_DAYS + 1)})
    free_of = [set(starts) for starts in free] if free is not None else [set(free_starts(
        days=searched, hours=hours, time_off=time_off, busy=busy, minutes=length.minutes,
        buffer_minutes=length.buffer_minutes, rules=rules, now=now, zone=zone)) for length in (first, rest)]
    lengths = [first] + [rest] * (repeat.count - 1)
    free_each = [free_of[0]] + [free_of[1]] * (repeat.count - 1)
    wanted = [to_instant(day, first_local.time().replace(tzinfo=None), zone) for day in days]
    # The pattern's own times hold their place: an alternative for one visit never lands on another.
    held = [length.occupies(start) for start, length in zip(wanted, lengths) if start is not None]
    proposals: list[Proposal] = []
    for index, (day, start, length, free_here) in enumerate(zip(days, wanted, lengths, free_each)):
        own = length.occupies(start) if start is not None else None
        others = [span for span in held if span != own]
        if start is not None and start in free_here and not any(
                length.occupies(start).overlaps(span) for span in others):
            proposals.append(Proposal(index + 1, day, start, True))
            continue
        near = sorted(
            (candidate for candidate in free_here
             if abs((candidate.astimezone(zone).date() - day).days) <= SEARCH_DAYS
             and not any(length.occupies(candidate).overlaps(span) for span in others)),
            key=lambda candidate: _distance(candidate, day, first_local, zone))
        # The nearest few, read in time order as a time list reads.
        proposals.append(Proposal(index + 1, day, start, False, tuple(sorted(near[:alternatives]))))
    return proposals


def _distance(candidate: datetime, day: date, pattern: datetime, zone: ZoneInfo) -> tuple[int, int, datetime]:
    """How far a candidate is from the pattern as a patient reads it: the same date first, then the
    nearest dates; within a date, the wall-clock time closest to the course's usual time."""
    wall = candidate.astimezone(zone)
    minutes_apart = abs((wall.hour * 60 + wall.minute) - (pattern.hour * 60 + pattern.minute))
    return abs((wall.date() - day).days), minutes_apart, candidate


def overlapping(starts: Sequence[datetime], lengths: Sequence[Length]) -> tuple[int, int] | None:
    """The numbers (1-based) of the first two chosen visits whose times overlap, or None."""
    spans = [length.occupies(start) for start, length in zip(starts, lengths)]
    for i, span in enumerate(spans):
        for j in range(i + 1, len(spans)):
            if span.overlaps(spans[j]):
                return i + 1, j + 1
    return None
