"""Load what the scheduling core needs from the database, and ask it for free times.

The number of queries is fixed: one each for the clinic, the service, the
practitioners (plus their hours), the time off and the busy ranges of the whole
window, however many days or practitioners it covers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Clinic, Practitioner, Service, TimeOff
from booking.operations.problems import CannotBook, NotFound
from booking.scheduling import BookingRules, TimeRange, date_range, free_starts, wall_clock_instant

ANY_PRACTITIONER = "any"
# The desk books by phone or in person, so it may fill times that online booking's notice
# keeps back, and book as far ahead as the clinic allows at all.
DESK_ADVANCE_DAYS = 730


def desk_rules(clinic: Clinic) -> BookingRules:
    """The booking rules for staff: the clinic's slot grid, no notice, two years ahead."""
    return BookingRules(step_minutes=clinic.slot_step_minutes, min_notice=timedelta(0),
                        max_advance_days=DESK_ADVANCE_DAYS)


class ClinicNotSetUp(Exception):
    """No clinic file has been imported yet."""


@dataclass(frozen=True)
class Slot:
    """A free start for one practitioner."""

    start: datetime
    end: datetime
    practitioner: str  # slug


def load_clinic() -> Clinic:
    clinic = db.session.get(Clinic, 1)
    if clinic is None:
        raise ClinicNotSetUp("the clinic is not set up yet: run `flask clinic import FILE.toml`")
    return clinic


def bookable_services() -> list[Service]:
    """Active services that at least one active practitioner offers, in the clinic's order:
    a service added before anyone provides it is not shown to patients."""
    return list(db.session.scalars(
        sa.select(Service)
        .where(Service.is_active, Service.practitioners.any(Practitioner.is_active))
        .order_by(Service.id)
    ))


def load_service(slug: str) -> Service:
    service = db.session.scalar(sa.select(Service).where(Service.slug == slug, Service.is_active))
    if service is None:
        known = ", ".join(db.session.scalars(sa.select(Service.slug).where(Service.is_active).order_by(Service.id)))
        raise NotFound("service", f"no service {slug!r}; known services: {known or 'none'}")
    return service


def movable_online(appointment: Appointment) -> bool:
    """May the patient choose a new time online? Only while the clinic still books this service
    with this practitioner online. Visits booked before either was taken off are kept (the admin
    pages promise it); the desk moves those."""
    practitioner, service = appointment.practitioner, appointment.service
    return service.is_active and practitioner.is_active and practitioner.offers(service)


def load_practitioners(service: Service, slug: str) -> list[Practitioner]:
    """The practitioner named by slug, or all who offer the service for "any", with hours."""
    query = (
        sa.select(Practitioner)
        .where(Practitioner.is_active)
        .options(selectinload(Practitioner.hours))
        .order_by(Practitioner.slug)
    )
    if slug == ANY_PRACTITIONER:
        query = query.where(Practitioner.services.any(Service.id == service.id))
        return list(db.session.scalars(query))
    practitioner = db.session.scalar(query.where(Practitioner.slug == slug))
    if practitioner is None:
        known = ", ".join(db.session.scalars(sa.select(Practitioner.slug).where(Practitioner.is_active).order_by(Practitioner.slug)))
        raise NotFound("practitioner", f"no practitioner {slug!r}; known practitioners: {known or 'none'} (or \"any\")")
    offers = db.session.scalar(
        sa.select(sa.func.count()).select_from(Practitioner).where(
            Practitioner.id == practitioner.id, Practitioner.services.any(Service.id == service.id)
        )
    )
    if not offers:
        raise CannotBook("practitioner", f"{practitioner.slug!r} does not offer {service.slug!r}")
    return [practitioner]


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
    ids = [p.id for p in practitioners]
    time_off = _ranges_by_practitioner(
        db.session.execute(
            sa.select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at).where(
                TimeOff.practitioner_id.in_(ids),
                TimeOff.starts_at < window.end,
                TimeOff.ends_at > window.start,
            )
        )
    )
    busy = _ranges_by_practitioner(
        [] if not count_bookings else db.session.execute(
            sa.select(Appointment.practitioner_id, Appointment.starts_at, Appointment.occupied_until).where(
                Appointment.practitioner_id.in_(ids),
                Appointment.status.in_(AppointmentStatus.holding_time()),
                Appointment.starts_at < window.end,
                Appointment.occupied_until > window.start,
                Appointment.id != ignoring if ignoring is not None else sa.true(),
            )
        )
    )
    length = timedelta(minutes=service.minutes)
    slots = [
        Slot(start, start + length, practitioner.slug)
        for practitioner in practitioners
        for start in free_starts(
            days=date_range(first_day, days),
            hours=practitioner.working_intervals,
            time_off=time_off[practitioner.id],
            busy=busy[practitioner.id],
            minutes=service.minutes,
            buffer_minutes=service.buffer_minutes,
            rules=rules or clinic.booking_rules,
            now=now,
            zone=clinic.zone,
        )
    ]
    return sorted(slots, key=lambda slot: (slot.start, slot.practitioner))


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
    """Why a start is too soon or too far ahead to book, or None if it is neither."""
    rules = rules or clinic.booking_rules
    local = start.astimezone(clinic.zone)
    if local.date() > clinic.today(now) + timedelta(days=rules.max_advance_days):
        return f"bookings open {rules.max_advance_days} days ahead; {local:%Y-%m-%d} is later than that"
    if start < now + rules.min_notice:
        if not rules.min_notice:
            return f"{local:%Y-%m-%d %H:%M %Z} has already passed"
        hours = int(rules.min_notice.total_seconds() // 3600)
        return f"online bookings need {hours} hours' notice; {local:%Y-%m-%d %H:%M %Z} is too soon"
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
) -> list[DayTimes]:
    by_day: dict[date, list[datetime]] = {first_day + timedelta(days=n): [] for n in range(days)}
    for slot in find_slots(clinic, service, practitioners, first_day, days, now, ignoring=ignoring, rules=rules):
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
