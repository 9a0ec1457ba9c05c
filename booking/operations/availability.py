"""Load what the scheduling core needs from the database, and ask it for free times.

The clinic's rules, services and practitioners with their hours come from this process's
catalogue (one query to check it is current); the time off and the booked time of the whole
window are then one more query, however many days or practitioners it covers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from booking import driver
from booking.extensions import db
from booking.limits import LONGEST_VISIT_MINUTES
from booking.models import Appointment, Clinic, HandsOnPart, Practitioner, Service, TimeOff, visit_shape
from booking.operations import catalogue
from booking.operations.catalogue import ClinicNotSetUp, ServiceEntry
from booking.operations import beds
from booking.scheduling import BookingRules, TimeRange, date_range, free_starts, free_starts_with_beds, wall_clock_instant

# The desk books by phone or in person, so it may fill times that online booking's notice
# keeps back, and book as far ahead as the clinic allows at all.
DESK_ADVANCE_DAYS = 730


def desk_rules(clinic: Clinic) -> BookingRules:
    """The booking rules for staff: the clinic's slot grid, no notice, two years ahead."""
    return BookingRules(step_minutes=clinic.slot_step_minutes, min_notice=timedelta(0),
                        max_advance_days=DESK_ADVANCE_DAYS)


@dataclass(frozen=True)
class Slot:
    """A free start for one practitioner."""

    start: datetime
    end: datetime
    practitioner: str  # slug


def load_clinic() -> Clinic:
    clinic = db.session.get(Clinic, 1)
    if clinic is None:
        raise ClinicNotSetUp
    return clinic


def bookable_services() -> list[ServiceEntry]:
    """Active services that at least one active practitioner offers, in the clinic's order."""
    return catalogue.current().bookable_services()


def load_service(slug: str) -> Service:
    """The active service `slug` (NotFound names the ones there are)."""
    return db.session.get(Service, catalogue.current().service(slug).id)


def movable_online(appointment: Appointment) -> bool:
    """May the patient choose a new time online? Only while the clinic still books this service
    with this practitioner online. Visits booked before either was taken off are kept (the admin
    pages promise it); the desk moves those."""
    practitioner, service = appointment.practitioner, appointment.service
    return service.is_active and practitioner.is_active and practitioner.offers(service)


def load_practitioners(service: Service | ServiceEntry, slug: str) -> list[Practitioner]:
    """The practitioner named by slug, or all who offer the service for "any", with hours."""
    ids = [p.id for p in catalogue.current().practitioners_for(service, slug)]
    return list(db.session.scalars(
        sa.select(Practitioner).where(Practitioner.id.in_(ids))
        .options(selectinload(Practitioner.hours)).order_by(Practitioner.slug)
    ))


def _window(clinic: Clinic, first_day: date, days: int) -> TimeRange:
    """The absolute span of the clinic dates, with a day's margin for buffers past midnight."""
    zone = clinic.zone
    return TimeRange(
        wall_clock_instant(first_day - timedelta(days=1), time(0), zone),
        wall_clock_instant(first_day + timedelta(days=days + 1), time(0), zone),
    )


def _ranges_by_practitioner(rows) -> dict[int, list[TimeRange]]:
    grouped: dict[int, list[TimeRange]] = defaultdict(list)
    for practitioner_id, start, end in rows:
        grouped[practitioner_id].append(TimeRange(start, end))
    return grouped


# Built once: a slots request's cost is otherwise largely SQLAlchemy assembling this statement.
_TIME_OFF = sa.select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at, sa.literal(False)).where(
    TimeOff.practitioner_id.in_(sa.bindparam("ids", expanding=True)),
    TimeOff.starts_at < sa.bindparam("window_end"),
    TimeOff.ends_at > sa.bindparam("window_start"),
)
# What visits hold of their practitioners is their hands-on parts (models.HandsOnPart): the whole
# visit and buffer for a service without parts.
_TIME_OFF_AND_BOOKED = sa.union_all(_TIME_OFF, sa.select(
    HandsOnPart.practitioner_id, HandsOnPart.starts_at, HandsOnPart.ends_at, sa.literal(True)
).where(
    HandsOnPart.practitioner_id.in_(sa.bindparam("ids", expanding=True)),
    HandsOnPart.holds_time,
    HandsOnPart.starts_at < sa.bindparam("window_end"),
    # No part lasts longer than the longest service and buffer allow, so this lower bound drops
    # nothing, and lets the (practitioner, start) index read only the window, not the history.
    HandsOnPart.starts_at > sa.bindparam("earliest_start"),
    HandsOnPart.ends_at > sa.bindparam("window_start"),
    HandsOnPart.appointment_id != sa.bindparam("ignoring"),
))


def blocked_ranges(practitioner_ids: list[int], window: TimeRange, count_bookings: bool = True,
                   ignoring: int | None = None) -> tuple[dict[int, list[TimeRange]], dict[int, list[TimeRange]]]:
    """The practitioners' time off and booked time touching the window, in one query."""
    rows = driver.run(_TIME_OFF_AND_BOOKED if count_bookings else _TIME_OFF, {
        "ids": practitioner_ids,
        "window_start": window.start,
        "window_end": window.end,
        "earliest_start": window.start - timedelta(minutes=LONGEST_VISIT_MINUTES),
        "ignoring": ignoring or 0,  # 0: no visit has that id
    })
    return (_ranges_by_practitioner((who, start, end) for who, start, end, is_booking in rows if not is_booking),
            _ranges_by_practitioner((who, start, end) for who, start, end, is_booking in rows if is_booking))


def diary(clinic: Clinic, practitioner_id: int, first_day: date, days: int) -> tuple[list[TimeRange], list[TimeRange]]:
    """One practitioner's time off and booked time over these clinic dates, for the pure planners."""
    time_off, busy = blocked_ranges([practitioner_id], _window(clinic, first_day, days), True, None)
    return time_off[practitioner_id], busy[practitioner_id]


def find_slots(
    clinic: Clinic,
    service: Service,
    practitioners: list[Practitioner],
    first_day: date,
    days: int,
    now: datetime,
    *,
    count_bookings: bool = True,
    ignoring: int | None = None,
    rules: BookingRules | None = None,
) -> list[Slot]:
    """Free starts for the service with any of the practitioners, sorted by start then slug.

    With count_bookings=False, existing appointments are ignored: what would be on offer
    in an empty diary (used to tell "taken" apart from "never bookable"). `ignoring`
    leaves out one appointment's own time, for moving it. `rules` replaces the clinic's
    online booking rules (the desk's are looser).
    """
    if not practitioners:
        return []
    window = _window(clinic, first_day, days)
    time_off, busy = blocked_ranges([p.id for p in practitioners], window, count_bookings, ignoring)
    length = timedelta(minutes=service.minutes)
    shape = visit_shape(service)
    asked = {"days": date_range(first_day, days), "rules": rules or clinic.booking_rules, "now": now,
             "zone": clinic.zone}
    if shape.hands_on or shape.needs_bed:
        # Read once for every practitioner asked about: the rooms are the clinic's, not theirs. Only
        # beds held after the first date begins, and after now, can meet a start on offer: the
        # visits before (every practitioner's, the day before and earlier today) are left unread.
        # A window wholly past (the desk's Previous day, an API `from` last week) reads none: it
        # offers no start anyway, and a range from now back to its end was a 500.
        beds_from = min(max(now, wall_clock_instant(first_day, time(0), clinic.zone)), window.end)
        taken_beds = (beds.bed_index(TimeRange(beds_from, window.end), ignoring=ignoring, count_bookings=count_bookings)
                      if shape.needs_bed else None)

        def starts_of(practitioner):
            return free_starts_with_beds(hours=practitioner.working_intervals, time_off=time_off[practitioner.id],
                                         busy=busy[practitioner.id], shape=shape, beds=taken_beds, **asked)
    else:
        def starts_of(practitioner):
            return free_starts(hours=practitioner.working_intervals, time_off=time_off[practitioner.id],
                               busy=busy[practitioner.id], minutes=service.minutes,
                               buffer_minutes=service.buffer_minutes, **asked)
    slots = [Slot(start, start + length, practitioner.slug)
             for practitioner in practitioners for start in starts_of(practitioner)]
    return sorted(slots, key=lambda slot: (slot.start, slot.practitioner))


# How many answers a process keeps (a week's slots are a few kilobytes); past it, it starts again.
KEPT_ANSWERS = 512


def offered_slots(
    known: catalogue.Catalogue,
    service: ServiceEntry,
    practitioners: list,
    first_day: date,
    days: int,
    now: datetime,
    diaries: dict[int, str],
    *,
    ignoring: int | None = None,
) -> list[Slot]:
    """find_slots under the clinic's online rules, kept by this process for as long as the answer
    cannot change (see answer_key)."""
    key = answer_key(known, service, practitioners, first_day, days, now, diaries, ignoring=ignoring)
    return list(kept("offered_slots", key, lambda: tuple(
        find_slots(known, service, practitioners, first_day, days, now, ignoring=ignoring))))


def answer_key(known: catalogue.Catalogue, service: ServiceEntry, practitioners: list, first_day: date, days: int,
               now: datetime, diaries: dict[int, str], *, ignoring: int | None = None) -> tuple:
    """What online free times depend on: the settings stamp, the diary stamps of these practitioners
    (every change to their bookings or time off renews them, in its own transaction), the clinic
    date, and the first minute a start may take. Starts fall on whole minutes, so every `now` whose
    notice ends within one minute offers exactly the same starts. `diaries` comes with the catalogue
    from catalogue.current_with_diaries(), read before anything else in the request."""
    asked = tuple(p.id for p in practitioners)
    # A visit that takes a bed depends on every practitioner's patients, who share the rooms. Who was
    # asked about stays in the key all the same: Ana's free times are not Ben's under the same stamps.
    depends_on = sorted(diaries) if service.needs_bed else asked
    return (known.stamp, service.id, asked, tuple((who, diaries.get(who)) for who in depends_on), first_day, days,
            ignoring, _next_whole_minute(now + known.booking_rules.min_notice), known.today(now))


def kept(store: str, key: tuple, make, *, limit: int = KEPT_ANSWERS):
    """This process's answer for `key` in `store`, made by make() the first time it is asked for;
    at most `limit` kept in a store."""
    answers = current_app.extensions.setdefault(store, {})
    found = answers.get(key)
    if found is None:
        if len(answers) >= limit:
            answers.clear()  # simpler than least-recently-used, and the answers are quick to make again
        found = answers[key] = make()
    return found


def _next_whole_minute(moment: datetime) -> datetime:
    """The first whole minute at or after `moment`."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def nearby_slots(
    clinic: Clinic,
    service: Service,
    practitioners: list[Practitioner],
    wanted: datetime,
    now: datetime,
    count: int = 5,
    *,
    ignoring: int | None = None,
    rules: BookingRules | None = None,
) -> list[Slot]:
    """Up to `count` free starts closest to the one wanted, within three days either side."""
    wanted_day = wanted.astimezone(clinic.zone).date()
    first_day = max(wanted_day - timedelta(days=3), clinic.today(now))
    slots = find_slots(clinic, service, practitioners, first_day, (wanted_day - first_day).days + 4, now,
                       ignoring=ignoring, rules=rules)
    closest = sorted(slots, key=lambda slot: (abs(slot.start - wanted), slot.practitioner))[:count]
    return sorted(closest, key=lambda slot: (slot.start, slot.practitioner))


def outside_booking_window(clinic: Clinic, start: datetime, now: datetime,
                           rules: BookingRules | None = None) -> str | None:
    """Why a start is too soon or too far ahead to book, or None if it is neither (the API's words)."""
    rules = rules or clinic.booking_rules
    local = start.astimezone(clinic.zone)
    why = window_refusal(clinic, start, now, rules)
    if why == TOO_FAR_AHEAD:
        return f"bookings open {rules.max_advance_days} days ahead; {local:%Y-%m-%d} is later than that"
    if why == PASSED:
        return f"{local:%Y-%m-%d %H:%M %Z} has already passed"
    if why == TOO_SOON:
        hours = int(rules.min_notice.total_seconds() // 3600)
        return f"online bookings need {hours} hours' notice; {local:%Y-%m-%d %H:%M %Z} is too soon"
    return None


TOO_FAR_AHEAD, PASSED, TOO_SOON = "too far ahead", "passed", "too soon"


def window_refusal(clinic: Clinic, start: datetime, now: datetime, rules: BookingRules) -> str | None:
    """TOO_FAR_AHEAD, PASSED or TOO_SOON when a start is outside the booking window, else None: each
    page says it in its own words."""
    if clinic.today(now) + timedelta(days=rules.max_advance_days) < start.astimezone(clinic.zone).date():
        return TOO_FAR_AHEAD
    if start < now + rules.min_notice:
        return PASSED if start <= now else TOO_SOON  # a time gone by is not "too soon"
    return None


@dataclass(frozen=True)
class DayTimes:
    """The free start times of one clinic date, for a time list (a time offered by two
    practitioners appears once)."""

    day: date
    starts: list[datetime]


def times_by_day(
    clinic: Clinic,
    service: Service,
    practitioners: list[Practitioner],
    first_day: date,
    days: int,
    now: datetime,
    *,
    ignoring: int | None = None,
    rules: BookingRules | None = None,
    diaries: dict[int, str] | None = None,
) -> list[DayTimes]:
    """The free starts of each date, from the answers this process keeps when the caller read the
    diary stamps (the online time lists; never with the desk's rules)."""
    by_day: dict[date, list[datetime]] = {first_day + timedelta(days=n): [] for n in range(days)}
    found = (offered_slots(clinic, service, practitioners, first_day, days, now, diaries, ignoring=ignoring)
             if diaries is not None and rules is None else
             find_slots(clinic, service, practitioners, first_day, days, now, ignoring=ignoring, rules=rules))
    for slot in found:
        starts = by_day[slot.start.astimezone(clinic.zone).date()]
        if not starts or starts[-1] != slot.start:
            starts.append(slot.start)
    return [DayTimes(day, starts) for day, starts in by_day.items()]


def is_free(
    clinic: Clinic, service: Service, practitioners: list[Practitioner], start: datetime, now: datetime,
    *, ignoring: int | None = None,
) -> bool:
    """Is `start` one of the free times on offer right now?"""
    if outside_booking_window(clinic, start, now):
        return False
    day = start.astimezone(clinic.zone).date()
    return any(slot.start == start for slot in find_slots(clinic, service, practitioners, day, 1, now, ignoring=ignoring))
