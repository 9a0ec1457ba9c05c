"""A course of treatment: one start and a repeat in; each visit's proposed time, or the nearest free
ones where that time is taken, out.

Pure, like core.py, whose free_starts decides what is free: this module only lays the visits out
(the same wall-clock time in the clinic's zone every `every_days` dates, across daylight-saving
changes) and picks alternatives. No Flask, no database, no clock.
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


class CourseProblem(ValueError):
    """The repeat itself cannot be booked (too many visits, past the booking horizon...)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Repeat:
    """Every `every_days` clinic dates, `count` visits in all (the first one included)."""

    every_days: int
    count: int

    def problem(self) -> CourseProblem | None:
        """Why this repeat is not a course the clinic books, or None."""
        if not 1 <= self.every_days <= MAX_EVERY_DAYS:
            return CourseProblem("every_days", f"every_days must be a whole number from 1 to {MAX_EVERY_DAYS}")
        if not 2 <= self.count <= MAX_VISITS:
            return CourseProblem("count", f"count (visits in all) must be a whole number from 2 to {MAX_VISITS}")
        return None


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
    nearest free times (nearest first) that overlap no other visit of the course."""

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
    """The clinic dates of the course's visits."""
    return [first_day + timedelta(days=repeat.every_days * n) for n in range(repeat.count)]


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
) -> list[Proposal]:
    """Each visit's time for one practitioner, free or flagged with the nearest free alternatives.

    Raises CourseProblem for a repeat out of bounds, or a course whose last visit falls after the
    booking horizon.
    """
    problem = repeat.problem()
    if problem:
        raise problem
    first_local = first_start.astimezone(zone)
    days = visit_days(first_local.date(), repeat)
    horizon = last_bookable_day(rules, now, zone)
    if days[-1] > horizon:
        raise CourseProblem("count", (
            f"the last visit would be on {days[-1]:%Y-%m-%d}, but bookings open only "
            f"{rules.max_advance_days} days ahead (until {horizon:%Y-%m-%d}): choose fewer visits or a shorter gap"))
    searched = sorted({day + timedelta(days=n) for day in days for n in range(-SEARCH_DAYS, SEARCH_DAYS + 1)})
    free_by_length: dict[Length, set[datetime]] = {}
    for length in {first, rest}:
        free_by_length[length] = set(free_starts(
            days=searched, hours=hours, time_off=time_off, busy=busy, minutes=length.minutes,
            buffer_minutes=length.buffer_minutes, rules=rules, now=now, zone=zone))
    lengths = [first] + [rest] * (repeat.count - 1)
    wanted = [to_instant(day, first_local.time().replace(tzinfo=None), zone) for day in days]
    # The pattern's own times hold their place: an alternative for one visit never lands on another.
    held = [length.occupies(start) for start, length in zip(wanted, lengths) if start is not None]
    proposals: list[Proposal] = []
    for index, (day, start, length) in enumerate(zip(days, wanted, lengths)):
        own = length.occupies(start) if start is not None else None
        others = [span for span in held if span != own]
        if start is not None and start in free_by_length[length] and not any(
                length.occupies(start).overlaps(span) for span in others):
            proposals.append(Proposal(index + 1, day, start, True))
            continue
        near = sorted(
            (candidate for candidate in free_by_length[length]
             if abs((candidate.astimezone(zone).date() - day).days) <= SEARCH_DAYS
             and not any(length.occupies(candidate).overlaps(span) for span in others)),
            key=lambda candidate: _distance(candidate, day, first_local, zone))
        proposals.append(Proposal(index + 1, day, start, False, tuple(near[:alternatives])))
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
