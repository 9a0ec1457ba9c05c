"""The front desk's work: the calendar, bookings for callers, moves, cancellations,
arrivals, working hours, time off and patient search.

Who may do what follows the design's table: receptionists and admins act on every
calendar; a practitioner reads every calendar but changes only their own, sees only
their own patients, and edits only their own time off. Each change is one transaction
and leaves a line in the appointment's history.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.formatting import clinic_time
from booking.models import (
    STATUS_CHANGES,
    Appointment,
    AppointmentStatus,
    Clinic,
    HandsOnPart,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Practitioner,
    StaffAccount,
    TimeOff,
    WaitlistEntry,
    WorkingHours,
    renew_settings_stamp,
)
from booking.notify import outbox
from booking import driver
from booking.operations import bookings, catalogue, consent, waitlist
from booking.operations.availability import desk_rules, find_slots, load_clinic
from booking.operations.problems import CannotBook
from booking.operations.progress_checks import questions_asked
from booking.scheduling import TimeRange, open_time, wall_clock_instant
from booking.scheduling.grid import Booked, ColumnPlan, Grid, lay_out
from booking.scheduling.waitlist import added_hours
from booking.transaction import locked, write_transaction
from booking.operations.history import staff_actor as actor
from booking.operations.permissions import NotVisible, may_change, runs_the_desk
from booking.operations.permissions import require as _require

WEEK = 7
SEARCH_LIMIT = 50
TIME_OFF_AHEAD_DAYS = 3 * 366


# --- the calendar --------------------------------------------------------------------

# The clinic's settings stamp beside every practitioner's calendar stamp, in one statement: whether
# a calendar page a process kept still shows what is in the database (booking.kept_pages).
_CALENDAR_STAMPS = (sa.select(Clinic.settings_stamp, Practitioner.id, Practitioner.calendar_stamp)
                    .select_from(Clinic).outerjoin(Practitioner, sa.true()).where(Clinic.id == 1))


def calendars_version() -> tuple[catalogue.Catalogue, tuple]:
    """The clinic's catalogue, and a value that changes with anything a calendar page shows but
    the clock and who asks: the settings stamp and each practitioner's calendar stamp, read before
    anything the page shows (so whatever the page reads after is at least as new). Every
    practitioner's, on every page: a visit shows what other practitioners' visits hold too (a
    consent given at one covers the patient's later ones; My day counts earlier visits).
    Read alone when the request has begun no transaction (driver.run), as a kept page's
    request has not: beginning the session's transaction for it cost a tenth of such a page."""
    rows = driver.run(_CALENDAR_STAMPS)
    # The catalogue for that stamp, as catalogue.current_with_diaries takes it (the lead's module).
    known = catalogue._kept_unless_moved(rows[0][0] if rows else None)
    return known, (known.stamp, tuple(sorted((who, stamp) for _settings, who, stamp in rows if who is not None)))


@dataclass
class Calendar:
    """What a calendar page shows: the grid, and the records its cells name."""

    first_day: date
    days: int
    practitioners: list[Practitioner]
    grid: Grid
    appointments: dict[int, Appointment]  # id -> appointment, for the grid's blocks
    cancelled: list[Appointment]
    everyone: list[Practitioner] = field(default_factory=list)  # a day's columns to choose from (phones)
    # id -> the hands-on parts of each visit that has resting time between them (said on its card)
    hands_on: dict[int, tuple[TimeRange, ...]] = field(default_factory=dict)
    rooms: dict[int, catalogue.RoomEntry] = field(default_factory=dict)  # the clinic's rooms by id

    def bed_of(self, appointment: Appointment) -> str:
        """Where the visit lies: "Community room, bed 2" (a one-bed room by its name); "" for none."""
        return bed_text(self.rooms.get(appointment.room_id), appointment.bed)

    def practitioner_of(self, key) -> Practitioner:
        """The practitioner of a column: its key in the day view, the only one in a week."""
        if len(self.practitioners) == 1:
            return self.practitioners[0]
        return next(p for p in self.practitioners if p.id == key)


# What the week at a glance shows of each visit: its time, status, flag and the patient's name.
# A week of a busy clinic is hundreds of visits, and loading whole rows (the JSON answers and all)
# was most of that page's cost.
GLANCE = (Appointment.practitioner_id, Appointment.patient_id, Appointment.starts_at, Appointment.ends_at,
          Appointment.occupied_until, Appointment.status, Appointment.alert_level)


def _load(first_day: date, days: int, practitioner_id: int | None = None, glance: bool = False):
    """Practitioners (with hours), time off and appointments for the dates: six queries, always.
    `glance`: only what the week at a glance shows of each visit (GLANCE)."""
    clinic = load_clinic()
    start = wall_clock_instant(first_day, time(0), clinic.zone)
    end = wall_clock_instant(first_day + timedelta(days=days), time(0), clinic.zone)
    loads = ((sa.orm.load_only(*GLANCE), selectinload(Appointment.patient).load_only(Patient.name)) if glance
             else (selectinload(Appointment.patient), selectinload(Appointment.service), selectinload(Appointment.parts)))
    appointments_query = (
        sa.select(Appointment)
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .options(*loads)
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if practitioner_id is not None:
        appointments_query = appointments_query.where(Appointment.practitioner_id == practitioner_id)
    appointments = list(db.session.scalars(appointments_query))
    booked_with = {a.practitioner_id for a in appointments}
    practitioners_query = (
        sa.select(Practitioner)
        # someone who has left still shows on days they had appointments
        .where(sa.or_(Practitioner.is_active, Practitioner.id.in_(booked_with)))
        .options(selectinload(Practitioner.hours))
        .order_by(Practitioner.name, Practitioner.id)
    )
    if practitioner_id is not None:
        practitioners_query = practitioners_query.where(Practitioner.id == practitioner_id)
    practitioners = list(db.session.scalars(practitioners_query))
    time_off: dict[int, list[TimeRange]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at)
        .where(TimeOff.starts_at < end, TimeOff.ends_at > start)
        .where(TimeOff.practitioner_id == practitioner_id if practitioner_id is not None else sa.true())
    ):
        time_off[row.practitioner_id].append(TimeRange(row.starts_at, row.ends_at))
    return clinic, practitioners, time_off, appointments


def _held(appointment: Appointment) -> tuple[TimeRange, ...]:
    """What a visit holds of its practitioner: its hands-on part rows, as the booking core reads them."""
    return tuple(TimeRange(part.starts_at, part.ends_at) for part in appointment.parts if part.holds_time)


def _booked(appointments) -> list[Booked]:
    # A visit without part rows (none should be) holds its whole span, as before parts were kept.
    return [Booked(a.starts_at, a.ends_at, a.occupied_until, a.id, _held(a) or None)
            for a in appointments if a.holds_time]


def shortest_visits(known) -> dict[int, int]:
    """Per practitioner id, the minutes of the shortest active service they give (0 for none):
    a free time with less than that before their hours end offers no "Book" (a hands-on trial
    pressed one at 1:45 PM with hours ending at 2:00 and a 20-minute shortest visit)."""
    active = [service for service in known.services if service.is_active]
    return {p.id: min((s.minutes for s in active if p.offers(s)), default=0) for p in known.practitioners}


def day_calendar(day: date, now: datetime, only: str | None = None, rooms=(), shortest=None) -> Calendar:
    """Every practitioner's column for one clinic date, or only the one whose slug is `only`
    (a phone shows one column at a time). The same queries either way: the others are
    loaded still, to offer them. `rooms`: the catalogue's, to name each visit's bed; `shortest`:
    shortest_visits of the catalogue."""
    clinic, everyone, time_off, appointments = _load(day, 1)
    chosen = [p for p in everyone if p.slug == only]
    practitioners = chosen or everyone
    if chosen:
        appointments = [a for a in appointments if a.practitioner_id == chosen[0].id]
    by_practitioner = defaultdict(list)
    for appointment in appointments:
        by_practitioner[appointment.practitioner_id].append(appointment)
    plans = [
        ColumnPlan(p.id, day, p.working_intervals, time_off[p.id], _booked(by_practitioner[p.id]),
                   (shortest or {}).get(p.id, 0))
        for p in practitioners
    ]
    calendar = _calendar(clinic, day, 1, practitioners, appointments, plans, now, rooms)
    calendar.everyone = everyone
    return calendar


def week_calendar(first_day: date, practitioner: Practitioner, now: datetime, rooms=(), shortest=None) -> Calendar:
    """One practitioner's week, a column per day (`rooms` and `shortest` as for day_calendar)."""
    clinic, practitioners, time_off, appointments = _load(first_day, WEEK, practitioner.id)
    by_day = defaultdict(list)
    for appointment in appointments:
        by_day[appointment.starts_at.astimezone(clinic.zone).date()].append(appointment)
    days = [first_day + timedelta(days=n) for n in range(WEEK)]
    plans = [
        ColumnPlan(day, day, practitioner.working_intervals, time_off[practitioner.id], _booked(by_day[day]),
                   (shortest or {}).get(practitioner.id, 0))
        for day in days
    ]
    return _calendar(clinic, first_day, WEEK, practitioners, appointments, plans, now, rooms)


def _calendar(clinic, first_day, days, practitioners, appointments, plans, now, rooms) -> Calendar:
    consent.load_status(appointments)  # "Consent given" or "needed" on each visit: one query
    return Calendar(
        first_day=first_day,
        days=days,
        practitioners=practitioners,
        grid=lay_out(plans, clinic.slot_step_minutes, clinic.zone, now),
        appointments={a.id: a for a in appointments},
        cancelled=[a for a in appointments if not a.holds_time],
        hands_on={a.id: parts for a in appointments if a.holds_time and (parts := hands_on_with_rest(a))},
        rooms={room.id: room for room in rooms},
    )


def hands_on_with_rest(appointment: Appointment) -> tuple[TimeRange, ...]:
    """The visit's hands-on parts when the patient rests between or after them, else ()."""
    parts = [part for part in _held(appointment) if part.start < appointment.ends_at]
    whole = TimeRange(appointment.starts_at, appointment.ends_at)
    if not parts or any(part.contains(whole) for part in parts):
        return ()
    return tuple(parts)


def bed_text(room, bed: int | None) -> str:
    """ "Community room, bed 2"; a room of one bed by its name alone; "" without a bed."""
    if room is None or bed is None:
        return ""
    return room.name if room.beds == 1 and bed == 1 else f"{room.name}, bed {bed}"


@dataclass
class RoomsDay:
    """The day's beds: a grid with a column per bed (its key (room id, bed)), beds grouped by room."""

    day: date
    rooms: list[tuple[catalogue.RoomEntry, int]]  # each room shown and how many bed columns it has
    grid: Grid
    appointments: dict[int, Appointment]
    practitioners: dict[int, catalogue.PractitionerEntry]
    services: dict[int, catalogue.ServiceEntry]


def rooms_day(day: date, known: catalogue.Catalogue, now: datetime) -> RoomsDay:
    """Every room's beds on a clinic date, each visit that holds a bed on its bed for its bed time
    (the treatment, then its buffer while the bed is turned over). Two queries however many visits
    (visits, their patients' names); rooms, practitioners, services and hours come from the catalogue."""
    start = wall_clock_instant(day, time(0), known.zone)
    end = wall_clock_instant(day + timedelta(days=1), time(0), known.zone)
    appointments = list(db.session.scalars(
        sa.select(Appointment)
        .where(Appointment.starts_at >= start, Appointment.starts_at < end, Appointment.room_id.is_not(None),
               Appointment.status.in_(AppointmentStatus.holding_time()))
        .options(selectinload(Appointment.patient).load_only(Patient.name))
        .order_by(Appointment.starts_at, Appointment.id)
    ))
    # A room taken out of use still shows on days it has visits, as a practitioner who has left does;
    # a bed numbered past the room's beds now (the room made smaller) keeps its column too.
    rooms = [(room, max([room.beds] + [a.bed for a in appointments if a.room_id == room.id]))
             for room in known.rooms if room.is_active or any(a.room_id == room.id for a in appointments)]
    # Rows over the hours anyone works that day, so an empty morning still reads as open.
    hours = [interval for someone in known.active_practitioners() for interval in someone.working_intervals]
    plans = [ColumnPlan((room.id, bed), day, hours, (), [
        Booked(a.starts_at, a.ends_at, a.occupied_until, a.id) for a in appointments
        if a.room_id == room.id and a.bed == bed]) for room, beds in rooms for bed in range(1, beds + 1)]
    return RoomsDay(day, rooms, lay_out(plans, known.booking_rules.step_minutes, known.zone, now),
                    {a.id: a for a in appointments}, {p.id: p for p in known.practitioners},
                    {s.id: s for s in known.services})


@dataclass
class WeekDay:
    """One practitioner on one day of the week overview."""

    hours: list[tuple[time, time]]  # working periods, start and end
    away: bool  # some time off that day
    appointments: list[Appointment]
    during_time_off: set[int] = field(default_factory=set)  # ids of appointments in time off


def week_overview(first_day: date) -> tuple[list[date], list[tuple[Practitioner, list[WeekDay]]]]:
    """Everyone's week at a glance: hours, time off and appointments per practitioner and day."""
    clinic, practitioners, time_off, appointments = _load(first_day, WEEK, glance=True)
    days = [first_day + timedelta(days=n) for n in range(WEEK)]
    booked = defaultdict(list)
    for appointment in appointments:
        if appointment.holds_time:
            booked[(appointment.practitioner_id, appointment.starts_at.astimezone(clinic.zone).date())].append(appointment)
    day_spans = [TimeRange(wall_clock_instant(day, time(0), clinic.zone),
                           wall_clock_instant(day + timedelta(days=1), time(0), clinic.zone)) for day in days]
    rows = []
    for practitioner in practitioners:
        cells = []
        for day, day_span in zip(days, day_spans, strict=True):
            hours = sorted((h.start_time, h.end_time) for h in practitioner.hours if h.weekday == day.weekday())
            away = any(span.overlaps(day_span) for span in time_off[practitioner.id])
            visits = booked[(practitioner.id, day)]
            clashes = {a.id for a in visits if any(span.overlaps(TimeRange(a.starts_at, a.ends_at))
                                                   for span in time_off[practitioner.id])}
            cells.append(WeekDay(hours, away, visits, clashes))
        rows.append((practitioner, cells))
    return days, rows


def practitioners_list() -> list[Practitioner]:
    return list(db.session.scalars(
        sa.select(Practitioner).where(Practitioner.is_active).order_by(Practitioner.name, Practitioner.id)
    ))


def practitioner_by_slug(slug: str) -> Practitioner | None:
    return db.session.scalar(
        sa.select(Practitioner).where(Practitioner.slug == slug).options(
            selectinload(Practitioner.hours), selectinload(Practitioner.services))
    )


# --- one appointment -----------------------------------------------------------------

def appointment_for(appointment_id: int) -> Appointment | None:
    """The appointment with what its page shows (patient, service, practitioner, history, bed, hands-on parts)."""
    return db.session.scalar(
        sa.select(Appointment).where(Appointment.id == appointment_id).options(
            selectinload(Appointment.patient), selectinload(Appointment.service),
            selectinload(Appointment.practitioner), selectinload(Appointment.history),
            selectinload(Appointment.room), selectinload(Appointment.parts),
        )
    )


def _locked_appointment(account: StaffAccount, appointment_id: int) -> Appointment:
    """The appointment, locked until the commit (inside write_transaction), if this account may change it."""
    appointment = locked(Appointment, appointment_id)
    if appointment is None:
        raise NotVisible()
    _require(may_change(account, appointment.practitioner_id))
    return appointment


locked_appointment = _locked_appointment  # the same check for changes made in other modules (courses)


def _status_problem(appointment: Appointment, status: AppointmentStatus, clinic, now: datetime) -> str | None:
    if appointment.status is status:
        return f"This appointment is already marked {status.label.lower()}."
    if appointment.status not in STATUS_CHANGES.get(status, ()):
        return f"A {appointment.status.label.lower()} appointment cannot be marked {status.label.lower()}."
    if status is AppointmentStatus.ARRIVED and clinic.today(now) < appointment.starts_at.astimezone(clinic.zone).date():
        return "A patient can be marked arrived only on the day of their appointment."
    if status in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW) and now < appointment.starts_at:
        return f"An appointment can be marked {status.label.lower()} only once its start time has passed."
    return None


STATUS_ACTIONS = {
    AppointmentStatus.ARRIVED: "arrived",
    AppointmentStatus.COMPLETED: "completed",
    AppointmentStatus.NO_SHOW: "no-show",
    AppointmentStatus.BOOKED: "reopened",
}


def status_choices(appointment: Appointment, clinic, now: datetime) -> list[AppointmentStatus]:
    """The statuses the desk may mark this appointment as right now, for its buttons."""
    return [status for status in STATUS_CHANGES if _status_problem(appointment, status, clinic, now) is None]


def mark(account: StaffAccount, appointment_id: int, status: AppointmentStatus, now: datetime, *,
         was: AppointmentStatus | None = None) -> Appointment:
    """Mark arrived, completed or no-show (or undo one of those), or raise CannotBook.
    Checked under the visit's lock, so a mark racing a cancellation finds it cancelled; `was`,
    the status the page showed, refuses a button pressed on a page someone else has overtaken
    (a stale "Mark arrived" must not undo a colleague's "Completed")."""
    with write_transaction():
        appointment = _locked_appointment(account, appointment_id)
        clinic = load_clinic()
        problem = _status_problem(appointment, status, clinic, now)
        if appointment.status is not status and was is not None and appointment.status is not was:
            problem = (f"This appointment was marked {appointment.status.label.lower()} a moment ago, so nothing "
                       "was changed: look at it again before changing it.")
        if problem:
            raise CannotBook("status", problem)
        before = appointment.status
        appointment.status = status
        bookings.record(appointment, actor(account), STATUS_ACTIONS[status],
                        f"{before.label} → {status.label}", now)
    return appointment


def email_questions(account: StaffAccount, appointment_id: int, now: datetime) -> str:
    """Email the patient a fresh link to their visit's questions (the intake, or a return
    visit's progress check), e.g. when they phone to say they lost it; say what was sent."""
    with write_transaction():
        appointment = _locked_appointment(account, appointment_id)
        if appointment.status is not AppointmentStatus.BOOKED or appointment.starts_at <= now:
            raise CannotBook("questions", "Only a booked visit that has not begun asks questions beforehand.")
        if appointment.patient.is_erased:
            raise CannotBook("questions", "This patient's record was erased: there is no address to email.")
        questions = questions_asked(appointment)
        if questions is None:
            raise CannotBook("questions", "The patient has already answered this visit's questions.")
        kind = "intake_invitation" if questions == "intake" else "progress_invitation"
        what = "the back-pain questions" if questions == "intake" else "the progress check"
        waiting = db.session.scalar(sa.select(OutboxMessage.created_at).where(
            OutboxMessage.appointment_id == appointment.id, OutboxMessage.kind == kind,
            OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))).limit(1))
        if waiting is not None:  # three tabs pressed it and queued three emails (a hands-on trial)
            return (f"A link to {what} is already waiting to be sent to {appointment.patient.email} (asked "
                    f"{bookings.staff_time(load_clinic(), waiting)}): they get one email, not another.")
        outbox.queue(kind, appointment, now, questions=questions)
        bookings.record(appointment, actor(account), "emailed", f"A link to {what}, to {appointment.patient.email}", now)
    return f"A link to {what} is on its way to {appointment.patient.email}."


unchangeable = bookings.unchangeable  # the desk's pages ask it before offering a move or cancel


def cancel(account: StaffAccount, appointment_id: int, reason: str, now: datetime, *,
           patient_asked: bool, seen: int | None = None) -> Appointment:
    """Cancel for the desk: the same change as the patient's, checked again under the lock
    (`seen` as for bookings.cancel)."""
    with write_transaction():
        _locked_appointment(account, appointment_id)
        return bookings.cancel(appointment_id, reason, now, actor=actor(account), patient_asked=patient_asked,
                               seen=seen)


def move(account: StaffAccount, appointment_id: int, practitioner: Practitioner, start: datetime,
         now: datetime, *, seen: int | None = None) -> Appointment:
    """Move to another time and/or practitioner; the patient's link stays the same."""
    with write_transaction(taken=lambda: bookings.SlotTaken()):
        bookings.lock_patient_of(appointment_id)  # before the row, as bookings.move takes it
        _locked_appointment(account, appointment_id)
        _require(may_change(account, practitioner.id))
        return bookings.move(appointment_id, start, now, practitioner_slug=practitioner.slug, actor=actor(account),
                         rules=desk_rules(load_clinic()), new_link=False, seen=seen).appointment


def book_for_caller(account: StaffAccount, request: bookings.BookingRequest, now: datetime) -> bookings.BookingResult:
    """Book for a caller, or raise as bookings.book does; a visit too long for the free gap
    it starts in is CannotBook with its length, not "taken"."""
    practitioner = practitioner_by_slug(request.practitioner)
    _require(practitioner is None or may_change(account, practitioner.id))
    try:
        return bookings.book(request, now, actor=actor(account), rules=desk_rules(load_clinic()))
    except CannotBook as problem:
        raise past_the_hours_said(problem, practitioner, request, now) from None
    except bookings.SlotTaken:
        if practitioner is None or _occupied_at(practitioner.id, request.start):
            raise
        service = next((s for s in practitioner.services if s.slug == request.service), None)
        if service is None:
            raise
        clinic = load_clinic()
        if service.hands_on or service.needs_bed:
            why = _why_parts_or_bed_do_not_fit(clinic, service, practitioner, request.start)
            if why is None:
                raise
            reason, otherwise = why
            raise CannotBook("service", reason + _what_fits_instead(practitioner, request, now, otherwise)) from None
        extra = f" and {service.buffer_minutes} to clear up" if service.buffer_minutes else ""
        raise CannotBook("service", (
            f"{service.name} takes {service.minutes} minutes{extra}, and {practitioner.name} is not free that long "
            f"from {clinic_time(request.start, clinic, get_locale() or 'en_US', 'time')}."
        ) + _what_fits_instead(practitioner, request, now)) from None


def past_the_hours_said(problem: CannotBook, practitioner: Practitioner | None, request: bookings.BookingRequest,
                        now: datetime) -> CannotBook:
    """A start refused as never on offer, said as the desk needs it when the reason is that the visit
    runs past the practitioner's hours (with what fits then instead); any other problem as it is.
    A single visit and a course's first one are refused alike (a course said "not on the steps")."""
    past_the_hours = _past_the_hours(practitioner, request) if problem.field == "start" else None
    if past_the_hours is None:
        return problem
    return CannotBook("service", past_the_hours + _what_fits_instead(practitioner, request, now))


def _what_fits_instead(practitioner: Practitioner, request: bookings.BookingRequest, now: datetime,
                       otherwise: str = "choose another time") -> str:
    """The advice after why a visit does not fit at its start: the practitioner's other services
    that are free at that very start, by name, then `otherwise`; or `otherwise` alone when none is.
    "Choose a shorter visit" was said when the practitioner had nothing shorter, or nothing that
    fitted either."""
    clinic = load_clinic()
    day, rules = request.start.astimezone(clinic.zone).date(), desk_rules(clinic)
    on_file = bookings.patient_on_file(request.patient)
    returning = on_file is not None and bookings.has_visited(on_file)  # a visit for new patients is not theirs

    def fits(other) -> bool:
        return (other.slug != request.service and other.is_active and not (other.new_patients_only and returning)
                and any(slot.start == request.start
                        for slot in find_slots(clinic, other, [practitioner], day, 1, now, rules=rules)))

    fitting = [other for other in sorted(practitioner.services, key=lambda s: (s.minutes + s.buffer_minutes, s.name))
               if fits(other)]
    if not fitting:
        return f" {otherwise[0].upper()}{otherwise[1:]}."
    names = " or ".join(f"{other.name} ({other.minutes} minutes)" for other in fitting)
    return f" {names} would fit then; otherwise {otherwise}."


def _past_the_hours(practitioner: Practitioner | None, request: bookings.BookingRequest) -> str | None:
    """Why a visit starting on the steps of a working period is not on offer, when it is that the
    visit runs past the period's end: said with the visit's length and when the hours end."""
    service = next((s for s in practitioner.services if s.slug == request.service), None) if practitioner else None
    if service is None:
        return None
    clinic = load_clinic()
    local = request.start.astimezone(clinic.zone)
    starts_at = local.hour * 60 + local.minute
    for interval in practitioner.working_intervals:
        opens, closes = (interval.start.hour * 60 + interval.start.minute, interval.end.hour * 60 + interval.end.minute)
        if interval.weekday == local.weekday() and opens <= starts_at < closes \
                and (starts_at - opens) % clinic.slot_step_minutes == 0 and starts_at + service.minutes > closes:
            return (f"{service.name} takes {service.minutes} minutes, and {practitioner.name}'s hours end at "
                    f"{clinic_time(wall_clock_instant(local.date(), interval.end, clinic.zone), clinic, get_locale() or 'en_US', 'time')}"
                    ".")
    return None


def _why_parts_or_bed_do_not_fit(clinic, service, practitioner, start: datetime) -> tuple[str, str] | None:
    """Why a visit with hands-on parts or a bed does not fit at a start where the practitioner is
    free (a later part meets another patient's, or every bed is taken for part of its time), and
    what else to choose."""
    def at(moment: datetime) -> str:
        return clinic_time(moment, clinic, get_locale() or "en_US", "time")

    shape = service.shape
    held = shape.held_by_practitioner(start)
    if _held_during(practitioner.id, held):
        parts = ", ".join(f"{at(part.start)}–{at(part.end)}" for part in held)
        return (f"{service.name} needs {practitioner.name}'s hands at {parts}, and they are with another patient "
                "for part of that.", "choose a time when each part is free, or another practitioner")
    if shape.needs_bed:
        bed = shape.bed_time(start)
        return (f"Every bed is taken for part of {at(bed.start)}–{at(bed.end)} (the visit and the bed's turnover).",
                "choose another time")
    return None


def _occupied_at(practitioner_id: int, instant: datetime) -> bool:
    """Whether a visit holds the practitioner at `instant` (one of its hands-on parts covers it)."""
    return _held_during(practitioner_id, [TimeRange(instant, instant + timedelta(microseconds=1))])


def _held_during(practitioner_id: int, spans: list[TimeRange]) -> bool:
    """Whether a visit's hands-on part holds the practitioner during any of these spans."""
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(HandsOnPart).where(
        HandsOnPart.practitioner_id == practitioner_id, HandsOnPart.holds_time,
        sa.or_(*(sa.and_(HandsOnPart.starts_at < span.end, HandsOnPart.ends_at > span.start) for span in spans)))))


def someone_else_with_identity(name: str, email: str, born_on: date) -> Patient | None:
    """The patient a "new patient" booking would be filed under (email and date of birth are
    who a patient is) when that patient has another name: the desk should check first."""
    existing = db.session.scalar(sa.select(Patient).where(Patient.email == email, Patient.born_on == born_on))
    if existing is None or existing.name.casefold() == name.casefold():
        return None
    return existing


# --- working hours and time off ------------------------------------------------------

def outside_working_time(practitioner: Practitioner, now: datetime) -> list[Appointment]:
    """Booked appointments from now on that no longer fit the practitioner's hours and time off.

    The desk moves or cancels these by hand: changing hours never drops a booking.
    """
    clinic = load_clinic()
    upcoming = list(db.session.scalars(
        sa.select(Appointment)
        .where(Appointment.practitioner_id == practitioner.id, Appointment.status == AppointmentStatus.BOOKED,
               Appointment.ends_at > now)
        .options(selectinload(Appointment.patient), selectinload(Appointment.service))
        .order_by(Appointment.starts_at)
    ))
    if not upcoming:
        return []
    time_off = [t.range for t in db.session.scalars(
        sa.select(TimeOff).where(TimeOff.practitioner_id == practitioner.id, TimeOff.ends_at > now))]
    intervals = practitioner.working_intervals
    outside = []
    for appointment in upcoming:
        day = appointment.starts_at.astimezone(clinic.zone).date()
        visit = TimeRange(appointment.starts_at, appointment.ends_at)
        if not any(piece.contains(visit) for piece in open_time(day, intervals, time_off, clinic.zone)):
            outside.append(appointment)
    return outside


def set_hours(account: StaffAccount, practitioner: Practitioner, weekly: dict[int, list[tuple[time, time]]],
              now: datetime) -> None:
    """Replace the practitioner's weekly hours (weekday -> [(start, end)]); times the new hours
    open are offered to the waitlist in the same commit."""
    _require(runs_the_desk(account))
    with write_transaction():
        bookings.lock_practitioners(practitioner.id)  # no booking lands in hours being taken away
        hours_before = list(practitioner.working_intervals)  # only the periods the new hours add are news
        # Delete first, in its own statement: re-adding an unchanged period would otherwise
        # meet its old row in the unique index.
        db.session.execute(sa.delete(WorkingHours).where(WorkingHours.practitioner_id == practitioner.id))
        renew_settings_stamp(db.session)  # a bulk delete: the ORM's own changes would not say so
        db.session.add_all(
            WorkingHours(practitioner_id=practitioner.id, weekday=weekday, start_time=start, end_time=end)
            for weekday, periods in weekly.items() for start, end in periods
        )
        db.session.flush()
        db.session.expire(practitioner, ["hours"])
        waitlist.offer_freed_times([waitlist.Change(practitioner.id, new_hours=added_hours(
            hours_before, list(practitioner.working_intervals)))], now)
    db.session.expire(practitioner, ["hours"])


def may_edit_time_off(account: StaffAccount, practitioner: Practitioner) -> bool:
    return may_change(account, practitioner.id)


def upcoming_time_off(practitioner: Practitioner, now: datetime) -> list[TimeOff]:
    return list(db.session.scalars(
        sa.select(TimeOff).where(TimeOff.practitioner_id == practitioner.id, TimeOff.ends_at > now)
        .order_by(TimeOff.starts_at)
    ))


def add_time_off(account: StaffAccount, practitioner: Practitioner, starts_at: datetime, ends_at: datetime,
                 reason: str, now: datetime) -> TimeOff:
    _require(may_edit_time_off(account, practitioner))
    if ends_at <= starts_at:
        raise CannotBook("end_date", "Time off must end after it starts")
    if ends_at <= now:
        raise CannotBook("end_date", "Time off must end in the future")
    if starts_at > now + timedelta(days=TIME_OFF_AHEAD_DAYS):
        raise CannotBook("start_date", "Time off must start within the next three years")
    with write_transaction():
        bookings.lock_practitioners(practitioner.id)  # no booking lands in it; a second copy sees the first
        if db.session.scalar(sa.select(TimeOff.id).where(
                TimeOff.practitioner_id == practitioner.id, TimeOff.starts_at == starts_at, TimeOff.ends_at == ends_at)):
            raise CannotBook("start_date", "This time off is already in the list")
        time_off = TimeOff(practitioner_id=practitioner.id, starts_at=starts_at, ends_at=ends_at, reason=reason)
        db.session.add(time_off)
    return time_off


def time_off_of(account: StaffAccount, practitioner: Practitioner, time_off_id: int) -> TimeOff:
    """One span of this practitioner's time off, to confirm before removing it."""
    _require(may_edit_time_off(account, practitioner))
    time_off = db.session.get(TimeOff, time_off_id)
    if time_off is None or time_off.practitioner_id != practitioner.id:
        raise NotVisible()
    return time_off


def remove_time_off(account: StaffAccount, practitioner: Practitioner, time_off_id: int, now: datetime) -> TimeOff:
    """Remove a span of time off; the times it gives back are offered to the waitlist."""
    _require(may_edit_time_off(account, practitioner))
    with write_transaction():
        time_off = locked(TimeOff, time_off_id)
        if time_off is None or time_off.practitioner_id != practitioner.id:
            raise NotVisible()
        db.session.delete(time_off)
        waitlist.offer_freed_times([waitlist.Change(practitioner.id, opened=(time_off.range,))], now)
    return time_off


def still_off(practitioner: Practitioner, span: TimeOff) -> bool:
    """Whether other time off of the practitioner still covers part of a span just removed (then
    its hours are not all open again, as the desk was told they were: a hands-on trial)."""
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(TimeOff).where(
        TimeOff.practitioner_id == practitioner.id, TimeOff.starts_at < span.ends_at, TimeOff.ends_at > span.starts_at)))


# --- patients ------------------------------------------------------------------------

def _digits(column):
    """The phone number without the separators people type, in SQL both databases speak."""
    for character in " -().+/":
        column = sa.func.replace(column, character, "")
    return column


def _visible_patients(account: StaffAccount):
    query = sa.select(Patient)
    if not runs_the_desk(account):
        query = query.where(Patient.appointments.any(Appointment.practitioner_id == account.practitioner_id))
    return query


def find_patients(account: StaffAccount, text: str, born_on: date | None) -> list[Patient]:
    """Patients whose name, email or phone contains `text`, born on `born_on` if given (erased
    patients are no one to find: their visits still link to them)."""
    query = _matching(_visible_patients(account).where(Patient.erased_at.is_(None)), Patient, text, born_on)
    return list(db.session.scalars(query.order_by(Patient.name, Patient.id).limit(SEARCH_LIMIT)))


def find_waiting_only(account: StaffAccount, text: str, born_on: date | None) -> list[WaitlistEntry]:
    """People on the waitlist the clinic holds no patient record for, matched as patients are, one
    place each: the admin's erasure tool reaches them from here (contact details: the desk's)."""
    if not runs_the_desk(account):
        return []
    no_record = ~sa.exists().where(Patient.email == WaitlistEntry.email, Patient.born_on == WaitlistEntry.born_on)
    query = _matching(sa.select(WaitlistEntry).where(no_record), WaitlistEntry, text, born_on)
    people: dict[tuple[str, date], WaitlistEntry] = {}
    for entry in db.session.scalars(query.order_by(WaitlistEntry.name, WaitlistEntry.id).limit(SEARCH_LIMIT)):
        people.setdefault((entry.email, entry.born_on), entry)
    return list(people.values())


def _matching(query, model, text: str, born_on: date | None):
    """The query narrowed to rows of `model` (name, email, phone, born_on) that the search matches."""
    text = text.strip()
    # Each word must match the name, email or phone, so "Brandt Olivia" and "Brandt, Olivia" (a
    # desk's habit: the comma kept "Brandt," from matching) find Olivia Brandt; a phone number
    # typed with spaces is one search.
    digits = "".join(ch for ch in text if ch.isdigit())
    words = ([digits] if len(digits) >= 3 and not any(ch.isalpha() for ch in text)
             else [word for word in re.split(r"[\s,;]+", text.lower()) if word])
    for word in words:
        matches = [sa.func.lower(model.name).contains(word, autoescape=True),
                   model.email.contains(word, autoescape=True)]
        word_digits = "".join(ch for ch in word if ch.isdigit())
        if len(word_digits) >= 3:
            matches.append(_digits(model.phone).contains(word_digits, autoescape=True))
        query = query.where(sa.or_(*matches))
    if born_on is not None:
        query = query.where(model.born_on == born_on)
    return query


def patient_for(account: StaffAccount, patient_id: int) -> tuple[Patient, list[Appointment]]:
    """A patient and their appointments, newest first; a practitioner sees only their own patients."""
    patient = db.session.scalar(_visible_patients(account).where(Patient.id == patient_id))
    if patient is None:
        raise NotVisible()
    query = (
        sa.select(Appointment).where(Appointment.patient_id == patient.id)
        .options(selectinload(Appointment.service), selectinload(Appointment.practitioner))
        .order_by(Appointment.starts_at.desc())
    )
    if not runs_the_desk(account):
        query = query.where(Appointment.practitioner_id == account.practitioner_id)
    return patient, list(db.session.scalars(query))
