"""Which places on the waitlist a freed time suits: pure (no Flask, no database, no clock).

A place asks for a service, one practitioner or anyone, a range of clinic dates, and
optionally some days of the week and parts of the day. A freed time suits it when all of
those hold, read in the clinic's zone. Those it suits are taken in the order they joined:
the first to join is the first asked. A time inside the minimum notice suits nobody (it
could not be booked online), and a place whose last day has passed suits nothing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
