"""Working hours, time off and existing bookings in; free start times out.

This module implements "What a slot is" from the design, and nothing else: no Flask,
no database, no clock and no guessing of time zones. Instants are aware datetimes;
wall-clock times are naive `time`/`datetime` values read in the zone passed in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc


@dataclass(frozen=True, order=True)
class TimeRange:
    """A half-open span of absolute time, [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("TimeRange needs aware datetimes")
        if self.end < self.start:
            raise ValueError(f"TimeRange ends before it starts: {self.start} > {self.end}")

    def overlaps(self, other: TimeRange) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: TimeRange) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class WorkingInterval:
    """One weekly working period in local wall-clock time, e.g. Monday 09:00-12:30."""

    weekday: int  # 0 = Monday ... 6 = Sunday, as date.weekday()
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0-6, not {self.weekday}")
        if not self.start < self.end:
            raise ValueError(f"working interval must end after it starts: {self.start}-{self.end}")


@dataclass(frozen=True)
class BookingRules:
    """The clinic's rules for which starts may be offered."""

    step_minutes: int
    min_notice: timedelta
    max_advance_days: int

    def __post_init__(self) -> None:
        if self.step_minutes <= 0:
            raise ValueError("step_minutes must be positive")


def to_instant(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time on a date, or None if the clock skips it.

    An ambiguous time (the hour repeated when clocks go back) takes its first
    occurrence, which is what fold=0 means.
    """
    local = datetime.combine(day, wall, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def wall_clock_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Like to_instant, but a time inside a skipped hour moves to the end of the gap.

    Used for the edges of working hours and time off, which must always land somewhere.
    """
    moment = datetime.combine(day, wall)
    for _ in range(24 * 60):
        instant = to_instant(moment.date(), moment.time(), zone)
        if instant is not None:
            return instant
        moment += timedelta(minutes=1)
    raise ValueError(f"no wall-clock time exists after {day} {wall} in {zone}")


def merge(ranges: Iterable[TimeRange]) -> list[TimeRange]:
    """Sorted, disjoint ranges covering the same time; touching ranges are joined."""
    merged: list[TimeRange] = []
    for current in sorted(r for r in ranges if r.start < r.end):
        if merged and current.start <= merged[-1].end:
            if current.end > merged[-1].end:
                merged[-1] = TimeRange(merged[-1].start, current.end)
        else:
            merged.append(current)
    return merged


def subtract(ranges: Iterable[TimeRange], cuts: Iterable[TimeRange]) -> list[TimeRange]:
    """The parts of `ranges` not covered by any of `cuts`."""
    remaining = merge(ranges)
    for cut in merge(cuts):
        pieces: list[TimeRange] = []
        for piece in remaining:
            if not piece.overlaps(cut):
                pieces.append(piece)
                continue
            if piece.start < cut.start:
                pieces.append(TimeRange(piece.start, cut.start))
            if cut.end < piece.end:
                pieces.append(TimeRange(cut.end, piece.end))
        remaining = pieces
    return remaining


def open_time(
    day: date, hours: Sequence[WorkingInterval], time_off: Sequence[TimeRange], zone: ZoneInfo
) -> list[TimeRange]:
    """A practitioner's open time on one clinic date: that weekday's hours minus time off."""
    working = [
        TimeRange(wall_clock_instant(day, iv.start, zone), wall_clock_instant(day, iv.end, zone))
        for iv in hours
        if iv.weekday == day.weekday()
    ]
    return subtract(working, time_off)


def candidate_starts(
    day: date,
    hours: Sequence[WorkingInterval],
    time_off: Sequence[TimeRange],
    minutes: int,
    step_minutes: int,
    zone: ZoneInfo,
) -> tuple[datetime, ...]:
    """Starts on the wall-clock grid of each working interval whose treatment fits in open time.

    Bookings and the clock are not considered here; see free_starts.
    """
    weekday = day.weekday()
    day_hours = tuple(iv for iv in hours if iv.weekday == weekday)
    if not day_hours:
        return ()
    # Only time off that could touch this date matters (a zone is at most a day from UTC), and
    # leaving the rest out lets one computed day serve every window and practitioner that share it.
    near = TimeRange(datetime.combine(day - timedelta(days=1), time(0), UTC),
                     datetime.combine(day + timedelta(days=2), time(0), UTC))
    day_time_off = tuple(cut for cut in time_off if cut.overlaps(near))
    return _grid_starts(day, day_hours, day_time_off, minutes, step_minutes, zone)


# The grid of a date depends only on these arguments, never on bookings or the clock, and walking
# it (a zone conversion per step) is most of a time list's cost; so each distinct date is worked
# out once per process. Entries are small (a tuple of instants), and the bound keeps memory flat.
@lru_cache(maxsize=2048)
def _grid_starts(
    day: date,
    hours: tuple[WorkingInterval, ...],
    time_off: tuple[TimeRange, ...],
    minutes: int,
    step_minutes: int,
    zone: ZoneInfo,
) -> tuple[datetime, ...]:
    pieces = open_time(day, hours, time_off, zone)
    duration = timedelta(minutes=minutes)
    step = timedelta(minutes=step_minutes)
    starts: set[datetime] = set()
    for iv in hours:
        wall = datetime.combine(day, iv.start)
        wall_end = datetime.combine(day, iv.end)
        while wall < wall_end:
            instant = to_instant(day, wall.time(), zone)
            if instant is not None:
                treatment = TimeRange(instant, instant + duration)
                if any(piece.contains(treatment) for piece in pieces):
                    starts.add(instant)
            wall += step
    return tuple(sorted(starts))


def _first_clash(start: datetime, occupied: timedelta, busy: list[TimeRange], ends: list[datetime]):
    """The busy range that [start, start + occupied) would overlap, if any (busy is merged)."""
    index = bisect_right(ends, start)  # first busy range ending after start
    if index < len(busy) and busy[index].start < start + occupied:
        return busy[index]
    return None


def free_starts(
    *,
    days: Iterable[date],
    hours: Sequence[WorkingInterval],
    time_off: Sequence[TimeRange],
    busy: Sequence[TimeRange],
    minutes: int,
    buffer_minutes: int,
    rules: BookingRules,
    now: datetime,
    zone: ZoneInfo,
) -> list[datetime]:
    """Every free start of one practitioner for one service on the given clinic dates.

    busy holds the occupied ranges ([start, start + minutes + buffer)) of that
    practitioner's appointments that still hold their time.
    """
    occupied = timedelta(minutes=minutes + buffer_minutes)
    merged_busy = merge(busy)
    busy_ends = [r.end for r in merged_busy]
    return [start for start in offerable_starts(days, hours, time_off, minutes, rules, now, zone)
            if _first_clash(start, occupied, merged_busy, busy_ends) is None]


def offerable_starts(
    days: Iterable[date],
    hours: Sequence[WorkingInterval],
    time_off: Sequence[TimeRange],
    minutes: int,
    rules: BookingRules,
    now: datetime,
    zone: ZoneInfo,
) -> list[datetime]:
    """The starts an empty diary would offer: on the grid, treatment in open time, past the notice,
    up to the last date one may book. Every kind of visit is offered from these."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    earliest = now + rules.min_notice
    last_day = now.astimezone(zone).date() + timedelta(days=rules.max_advance_days)
    starts: list[datetime] = []
    for day in sorted(set(days)):
        if day <= last_day:
            day_starts = candidate_starts(day, hours, time_off, minutes, rules.step_minutes, zone)  # sorted
            starts.extend(day_starts[bisect_left(day_starts, earliest):])
    return starts


def date_range(first: date, count: int) -> list[date]:
    """`count` consecutive dates from `first`."""
    return [first + timedelta(days=offset) for offset in range(count)]
