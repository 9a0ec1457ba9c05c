"""Hands-on time and beds: the practitioner needles one patient while others rest.

An acupuncture visit is mostly rest. The practitioner needles (say minutes 0-10), the patient
rests with the needles in, and the practitioner comes back to take them out (minutes 35-45).
Only those hands-on parts need the practitioner; the rest of the visit needs a bed. So a
service is described by its shape (VisitShape): its minutes and buffer as before, the
hands-on parts as minute ranges from the start, and whether it takes a bed.

The model, on top of "What a slot is" (design.md), which it leaves as it is:

- What the practitioner holds. A service with hands-on parts holds the practitioner for
  [t + a, t + b) of each part and nothing else: not the rest, and not the buffer, which is
  the bed being turned over. A service without hands-on parts holds the practitioner for
  [t, t + minutes + buffer), exactly as before, so every existing service offers the same
  starts as free_starts does (tests/test_beds_core_properties.py checks it on generated days).
- Open time. The whole treatment [t, t + minutes) still lies inside one piece of open time
  (working hours minus time off), rest included, so each hands-on part does too. A patient
  lying with needles in is the practitioner's patient: the practitioner must be on duty until
  the needles are out and the patient is up, not gone home or on leave while someone rests.
  It also keeps the grid of starts the one candidate_starts gives (grid, DST, notice and
  horizon unchanged). The buffer may run past closing, as before.
- A bed. A room has N beds, numbered 1 to N; 1 is a private room, more a community room. A
  visit that needs a bed takes one bed of one room for its bed time [t, t + minutes + buffer):
  the patient lies down at t, and the bed is free again once it has been turned over. A
  start is free only if some room has one bed free for the whole bed time, so a room never
  holds more visits at once than it has beds. Rooms are the clinic's, shared by every
  practitioner's patients, so one BedIndex of all visits holding a bed serves a whole request.
  A service without needs_bed takes no bed. A booked patient is never moved to another bed
  to make room: what the core offers is what the database can store with each visit's bed
  number as it is (the rare gap where two half-free beds would make one whole one is lost).
- Which bed. Among the rooms with a bed free for the whole bed time, the room with the
  fewest visits that clinic date, then the first by slug; in it, the lowest-numbered free
  bed. The patient is told the room, not asked to choose.

Pure like core.py: no Flask, no database, no clock; the caller passes what is booked.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.scheduling.core import (
    UTC,
    BookingRules,
    TimeRange,
    WorkingInterval,
    _first_clash,
    merge,
    offerable_starts,
)

Part = tuple[int, int]  # minutes from the start of the visit, [a, b)

# Whole minutes only, as the clinic file writes them: "0-10". Spaces are forgiven, and so is the en
# dash the staff pages write ranges with ("0–10"), which a copied value brings.
_MINUTE_RANGE = re.compile(r"\s*(\d{1,4})\s*[-\u2013]\s*(\d{1,4})\s*")

EXAMPLE = '["0-10", "35-45"]'


class HandsOnProblem(ValueError):
    """Why a service's hands_on list cannot be used; one message per mistake, for an admin."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def parse_hands_on(entries, minutes: int) -> tuple[Part, ...]:
    """["0-10", "35-45"] -> ((0, 10), (35, 45)) for a visit of `minutes`, or HandsOnProblem saying why not."""
    if isinstance(entries, str) or not isinstance(entries, list | tuple):
        raise HandsOnProblem([f'must be a list of minute ranges from the start, e.g. {EXAMPLE}'])
    if not entries:
        raise HandsOnProblem(["needs at least one minute range; leave hands_on out when the practitioner "
                              "stays for the whole visit"])
    problems: list[str] = []
    parts: list[tuple[str, int, int]] = []
    for entry in entries:
        match = _MINUTE_RANGE.fullmatch(entry) if isinstance(entry, str) else None
        shown = f'"{entry}"' if isinstance(entry, str) else repr(entry)
        if match is None:
            problems.append(f'{shown} is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")')
            continue
        start, end = int(match.group(1)), int(match.group(2))
        if end <= start:
            problems.append(f"{shown} must end after it starts")
        elif end > minutes:
            problems.append(f"{shown} ends after the visit does ({minutes} minutes)")
        else:
            parts.append((shown, start, end))
    for (earlier, earlier_start, earlier_end), (later, later_start, _) in zip(parts, parts[1:]):
        if later_start < earlier_start:
            problems.append(f"{later} is listed after {earlier} but starts earlier: list the parts in the order "
                            "they happen")
        elif later_start < earlier_end:
            problems.append(f"{earlier} and {later} overlap: each part must end by the time the next begins")
    if problems:
        raise HandsOnProblem(problems)
    return tuple((start, end) for _, start, end in parts)


@dataclass(frozen=True)
class VisitShape:
    """How a service uses the practitioner and a bed: minutes, buffer, hands-on parts, bed or not."""

    minutes: int
    buffer_minutes: int = 0
    hands_on: tuple[Part, ...] = ()  # empty: the practitioner stays for the whole visit, as before
    needs_bed: bool = False

    def __post_init__(self) -> None:
        if self.minutes <= 0 or self.buffer_minutes < 0:
            raise ValueError(f"a visit needs minutes > 0 and buffer >= 0, not {self.minutes} and {self.buffer_minutes}")
        if self.hands_on:
            # One set of rules for parts, whether they come from a clinic file or from code.
            parse_hands_on([f"{start}-{end}" for start, end in self.hands_on], self.minutes)

    def practitioner_parts(self) -> tuple[Part, ...]:
        """The minute ranges from the start during which the practitioner is held."""
        return self.hands_on or ((0, self.minutes + self.buffer_minutes),)

    def held_by_practitioner(self, start: datetime) -> list[TimeRange]:
        """The practitioner's occupied ranges for a visit of this shape starting at `start`."""
        return [TimeRange(start + timedelta(minutes=a), start + timedelta(minutes=b))
                for a, b in self.practitioner_parts()]

    def bed_time(self, start: datetime) -> TimeRange:
        """[start, start + minutes + buffer): the patient lies down, then the bed is turned over."""
        return TimeRange(start, start + timedelta(minutes=self.minutes + self.buffer_minutes))


@dataclass(frozen=True)
class Room:
    """A treatment room with its beds, numbered 1 to `beds`."""

    slug: str
    beds: int

    def __post_init__(self) -> None:
        if self.beds < 1:
            raise ValueError(f"room {self.slug!r} needs at least one bed, not {self.beds}")


@dataclass(frozen=True)
class BedTaken:
    """A booked visit's bed: which room, which bed, and the visit's bed time."""

    room: str
    bed: int
    span: TimeRange


@dataclass(frozen=True)
class BedChoice:
    room: str
    bed: int


# Stand-ins for "no visit before" and "no visit after" a free stretch of a bed.
_NEVER_BEFORE = datetime.min.replace(tzinfo=UTC)
_NEVER_AFTER = datetime.max.replace(tzinfo=UTC)


class BedIndex:
    """The clinic's rooms and booked beds, indexed once per request for every practitioner asked about.

    Each bed's bookings are merged and kept sorted, so "is this bed free for [start, end)" is one
    bisect (as _first_clash does for a practitioner). For "is any bed free" every bed's free
    stretches are sorted by where they begin, with the furthest end reached so far: a span fits
    some bed exactly when a stretch beginning at or before its start reaches its end, which is one
    bisect however many rooms and beds there are. Bookings on a room or bed number the clinic no
    longer has are left out; keeping bed numbers within a room's beds is the database's job.
    """

    def __init__(self, rooms: Sequence[Room], taken: Iterable[BedTaken], zone: ZoneInfo):
        self.rooms = tuple(sorted(rooms, key=lambda room: room.slug))
        self.zone = zone
        beds_of = {room.slug: room.beds for room in self.rooms}
        spans: dict[tuple[str, int], list[TimeRange]] = {}
        self._visits_on: Counter[tuple[str, date]] = Counter()
        for booking in taken:
            if 1 <= booking.bed <= beds_of.get(booking.room, 0):
                # Kept in UTC, as candidate starts are: comparing instants of two zones is many times slower.
                in_utc = TimeRange(booking.span.start.astimezone(UTC), booking.span.end.astimezone(UTC))
                spans.setdefault((booking.room, booking.bed), []).append(in_utc)
                self._visits_on[booking.room, booking.span.start.astimezone(zone).date()] += 1
        self._beds: dict[tuple[str, int], tuple[list[TimeRange], list[datetime]]] = {}
        stretches: list[tuple[datetime, datetime]] = []
        for room in self.rooms:
            for bed in range(1, room.beds + 1):
                merged = merge(spans.get((room.slug, bed), ()))
                self._beds[room.slug, bed] = (merged, [r.end for r in merged])
                free_from = _NEVER_BEFORE
                for booked in merged:
                    stretches.append((free_from, booked.start))
                    free_from = booked.end
                stretches.append((free_from, _NEVER_AFTER))
        stretches.sort()
        self._stretch_starts = [start for start, _ in stretches]
        self._reach: list[datetime] = []
        for _, end in stretches:
            self._reach.append(max(end, self._reach[-1]) if self._reach else end)

    def any_free(self, start: datetime, end: datetime) -> bool:
        """Whether some bed of some room is free for the whole of [start, end)."""
        index = bisect_right(self._stretch_starts, start) - 1
        return index >= 0 and self._reach[index] >= end

    def free_bed(self, room: Room, span: TimeRange) -> int | None:
        """The lowest-numbered bed of the room free for the whole span, or None when every bed is taken."""
        length = span.end - span.start
        for bed in range(1, room.beds + 1):
            merged, ends = self._beds[room.slug, bed]
            if _first_clash(span.start, length, merged, ends) is None:
                return bed
        return None

    def choose(self, span: TimeRange) -> BedChoice | None:
        """The bed a visit over `span` takes: the room with the fewest visits that clinic date among
        those with a bed free throughout, then by slug; in it, the lowest free bed. None: no bed."""
        day = span.start.astimezone(self.zone).date()
        ranked = []
        for room in self.rooms:
            bed = self.free_bed(room, span)
            if bed is not None:
                ranked.append((self._visits_on[room.slug, day], room.slug, bed))
        if not ranked:
            return None
        _, room, bed = min(ranked)
        return BedChoice(room, bed)


def free_starts_with_beds(
    *,
    days: Iterable[date],
    hours: Sequence[WorkingInterval],
    time_off: Sequence[TimeRange],
    busy: Sequence[TimeRange],
    shape: VisitShape,
    beds: BedIndex | None,
    rules: BookingRules,
    now: datetime,
    zone: ZoneInfo,
) -> list[datetime]:
    """Every free start of one practitioner for a service of this shape on the given clinic dates.

    busy holds the practitioner's occupied ranges from visits that still hold their time (each
    visit's shape.held_by_practitioner); beds indexes every room's booked beds, from all
    practitioners, and is needed only when the shape takes a bed.
    """
    if shape.needs_bed and beds is None:
        raise ValueError("a service that takes a bed needs the clinic's beds")
    parts = [(timedelta(minutes=a), timedelta(minutes=b - a)) for a, b in shape.practitioner_parts()]
    bed_length = timedelta(minutes=shape.minutes + shape.buffer_minutes)
    bed_check = beds if shape.needs_bed else None
    merged_busy = merge(busy)
    busy_ends = [r.end for r in merged_busy]
    free: list[datetime] = []
    # offerable_starts keeps the whole treatment, rest included, inside one piece of open time.
    for start in offerable_starts(days, hours, time_off, shape.minutes, rules, now, zone):
        for offset, length in parts:
            if _first_clash(start + offset, length, merged_busy, busy_ends) is not None:
                break
        else:
            if bed_check is None or bed_check.any_free(start, start + bed_length):
                free.append(start)
    return free
