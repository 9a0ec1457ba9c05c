"""Which places on the waitlist a freed time suits: pure (no Flask, no database, no clock).

A place asks for a service, one practitioner or anyone, a range of clinic dates, and
optionally some days of the week and parts of the day. A freed time suits it when all of
those hold, read in the clinic's zone. Those it suits are taken in the order they joined:
the first to join is the first asked. A time inside the minimum notice suits nobody (it
could not be booked online), and a place whose last day has passed suits nothing again.

Only times a change freed are offered: a time that was free all along is no news, and the
email says "has freed up". `Change` says what one change gave up and `freed_by` whether a free
start is one of the times it freed (it was not free just before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.scheduling.core import UTC, TimeRange, WorkingInterval, subtract

# The one place the parts of the day are defined: each starts at its time (local wall clock)
# and runs until the next one starts; "morning" takes everything before noon.
PARTS_OF_DAY: tuple[tuple[str, time], ...] = (
    ("morning", time(0, 0)),
    ("afternoon", time(12, 0)),
    ("evening", time(17, 0)),
)
PART_NAMES = tuple(name for name, _ in PARTS_OF_DAY)
WEEKDAYS = tuple(range(7))  # 0 = Monday, as date.weekday()


def part_of_day(moment: time) -> str:
    """The part of the day a wall-clock time falls in."""
    found = PARTS_OF_DAY[0][0]
    for name, begins in PARTS_OF_DAY:
        if moment >= begins:
            found = name
    return found


@dataclass(frozen=True)
class Wish:
    """What one place on the waitlist would take."""

    entry_id: int
    service_id: int
    practitioner_id: int | None  # None: anyone who offers the service
    first_day: date
    last_day: date
    weekdays: frozenset[int]  # empty: any day
    parts_of_day: frozenset[str]  # empty: any time of day
    joined_at: datetime


@dataclass(frozen=True)
class FreedTime:
    """A start that became free for one service with one practitioner."""

    service_id: int
    practitioner_id: int
    start: datetime  # aware


def has_ended(wish: Wish, today: date) -> bool:
    """Whether the place's range of dates is over (its last day was before the clinic's today)."""
    return wish.last_day < today


def suits(wish: Wish, freed: FreedTime, zone: ZoneInfo) -> bool:
    """Whether the freed time is one this place asked for."""
    if wish.service_id != freed.service_id:
        return False
    if wish.practitioner_id is not None and wish.practitioner_id != freed.practitioner_id:
        return False
    local = freed.start.astimezone(zone)
    if not wish.first_day <= local.date() <= wish.last_day:
        return False
    if wish.weekdays and local.weekday() not in wish.weekdays:
        return False
    return not wish.parts_of_day or part_of_day(local.time()) in wish.parts_of_day


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _parts_as_minutes() -> dict[str, tuple[int, int]]:
    """Each part of the day as [its first minute, the next part's first minute)."""
    begins = [_minute_of_day(start) for _, start in PARTS_OF_DAY] + [24 * 60]
    return {name: (begins[number], begins[number + 1]) for number, name in enumerate(PART_NAMES)}


def _could_start_in(period: WorkingInterval, parts_of_day, minutes: int) -> bool:
    """Whether a visit of `minutes` could start inside the working period in one of the parts of the
    day (any part when none is asked for). The calendar's steps are left out: this only rules out."""
    first, latest = _minute_of_day(period.start), _minute_of_day(period.end) - minutes
    if latest < first:
        return False
    bounds = _parts_as_minutes()
    return not parts_of_day or any(first < bounds[part][1] and latest >= bounds[part][0] for part in parts_of_day)


def why_never_offered(first_day: date, last_day: date, weekdays, parts_of_day, hours, minutes: int) -> str | None:
    """Why no time could ever suit a place asking for these, as the weekly hours of whoever it would
    see stand, or None when one might: "weekdays" when no date of the range falls on a day of the week
    it asks for; "days" when nobody works on any of those dates; "times" when they do, but with no
    start for a visit of `minutes` in the parts of the day asked for. A place like that waited for
    nothing: no freed time could ever be offered to it. Time off and bookings are left out: those
    change, and the place is there for when they do."""
    days = min((last_day - first_day).days + 1, 7)  # a week holds every weekday there is
    in_range = {(first_day + timedelta(days=offset)).weekday() for offset in range(days)}
    asked = in_range & set(weekdays) if weekdays else in_range
    if not asked:
        return "weekdays"
    working = [period for period in hours if period.weekday in asked]
    if not working:
        return "days"
    if not any(_could_start_in(period, parts_of_day, minutes) for period in working):
        return "times"
    return None


def in_joining_order(wishes) -> list[Wish]:
    """The places oldest first; two that joined at the same instant by the order they were written."""
    return sorted(wishes, key=lambda wish: (wish.joined_at, wish.entry_id))


def suited(freed: FreedTime, wishes, *, zone: ZoneInfo, now: datetime, min_notice: timedelta) -> list[Wish]:
    """The places the freed time suits, first to join first; none when it lies inside the minimum
    notice, and none whose range of dates is over."""
    if freed.start < now + min_notice:
        return []
    today = now.astimezone(zone).date()
    return [wish for wish in in_joining_order(wishes) if not has_ended(wish, today) and suits(wish, freed, zone)]


@dataclass(frozen=True)
class Change:
    """What one change to a practitioner's diary gave up, for the waitlist."""

    practitioner_id: int
    visits: tuple[TimeRange, ...] = ()  # occupied spans given up: a cancelled or moved-away visit, with its buffer
    opened: tuple[TimeRange, ...] = ()  # open time given back: time off removed
    new_hours: tuple[WorkingInterval, ...] = ()  # weekly periods added to the working hours
    starts: tuple[datetime, ...] = ()  # exact starts asked again: their offers closed without a booking
    given_up_by: int | None = None  # the patient whose visit gave it up: not offered it back (they left it)


def freed_by(change: Change, freed: FreedTime, minutes: int, buffer: int, zone: ZoneInfo) -> bool:
    """Whether a start that is free now was not free before the change: its visit (with its buffer)
    overlaps a visit given up, or its treatment overlaps open time given back or new hours."""
    if freed.practitioner_id != change.practitioner_id:
        return False
    if freed.start in change.starts:
        return True
    treatment = TimeRange(freed.start, freed.start + timedelta(minutes=minutes))
    occupied = TimeRange(freed.start, treatment.end + timedelta(minutes=buffer))
    if any(occupied.overlaps(span) for span in change.visits) or any(treatment.overlaps(span) for span in change.opened):
        return True
    begins, ends = freed.start.astimezone(zone), treatment.end.astimezone(zone)
    until = ends.time() if ends.date() == begins.date() else time.max
    return any(period.weekday == begins.weekday() and begins.time() < period.end and period.start < until
               for period in change.new_hours)


def given_up_start(change: Change, start: datetime) -> bool:
    """Whether the start is the very one the change gave up (a cancelled visit's own time): offered
    before the other times the change freed, so one freed visit is offered as itself."""
    return start in change.starts or any(span.start == start for span in change.visits)


def _on_a_week(period: WorkingInterval) -> TimeRange:
    """A weekly period placed on one fixed week, so periods can be subtracted as spans."""
    day = date(2001, 1, 1) + timedelta(days=period.weekday)  # a Monday
    return TimeRange(datetime.combine(day, period.start, UTC), datetime.combine(day, period.end, UTC))


def added_hours(before: list[WorkingInterval], after: list[WorkingInterval]) -> tuple[WorkingInterval, ...]:
    """The weekly periods the new hours open that the old ones did not."""
    pieces = subtract([_on_a_week(p) for p in after], [_on_a_week(p) for p in before])
    return tuple(WorkingInterval(piece.start.weekday(), piece.start.time(),
                                 piece.end.time() if piece.end.date() == piece.start.date() else time.max)
                 for piece in pieces)
