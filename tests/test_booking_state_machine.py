"""The booking operations as a state machine, on a real database (SQLite and PostgreSQL):
random runs of bookings (online and at the desk), moves, cancellations, arrivals and
other marks, changes of working hours, time off added and removed, and time passing.

A small model keeps what should be true: each visit's practitioner, times, status, and
the history lines and emails each successful change adds. After every step the database
itself is read and must agree with the model, and:

- no two appointments of one practitioner that hold time overlap (starts_at..occupied_until);
- every successful change left exactly one history line, and a refused one left none;
- every successful change queued exactly its one email, and a refused one queued none;
- statuses only change along the allowed steps (a cancelled visit never changes again).

Starts come from the free times the availability module offers, or are arbitrary; an
arbitrary one is booked exactly when it is among the free ones, and refused cleanly
(CannotBook or SlotTaken) otherwise. Patients change their visits the way the manage
pages let them (only a booked visit, and only until the clinic's notice window), so the
operation runs only when the page would call it; its own refusals are still tested.

The clock is Monday 8 March 2027, 08:00 in Los Angeles, when each run starts. Ana works
weekdays 09:00-12:30 and 13:30-17:00 and offers both services; Ben works Monday and
Wednesday 10:00-16:00 and offers only the short treatment.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from booking.extensions import DRIVER_STATEMENT_LISTENERS, SQLITE_IMMEDIATE, db
from booking.transaction import write_transaction
from booking.models import (
    STATUS_CHANGES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    OutboxMessage,
    Patient,
    Practitioner,
    Service,
    StaffAccount,
    StaffRole,
    TimeOff,
    WorkingHours,
)
from booking.operations import bookings, desk
from booking.operations.availability import desk_rules, find_slots, load_clinic, load_practitioners, load_service
from booking.operations.identity import NOT_NEEDED
from booking.operations.problems import CannotBook
from booking.operations.staff import add_staff
from booking.scheduling import wall_clock_instant

# Runs and steps per database: `make test` stays within about half a minute for both
# databases together; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) explores far more.
BUDGET = {"default": {"max_examples": 25, "stateful_step_count": 20},
          "fuzz": {"max_examples": 400, "stateful_step_count": 50}}

BOOKED, ARRIVED, COMPLETED, NO_SHOW, CANCELLED = (
    AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED)
# Every status change the clinic allows: the desk's marks (and their undoing), and a booked visit cancelled.
ALLOWED_STEPS = {(before, after) for after, befores in STATUS_CHANGES.items() for before in befores} | {
    (BOOKED, CANCELLED)}
MARK_ACTIONS = {ARRIVED: "arrived", COMPLETED: "completed", NO_SHOW: "no-show", BOOKED: "reopened"}

OFFERS = {"ana": {"consult", "short"}, "ben": {"short"}}
PATIENTS = [
    bookings.PatientDetails("Ada Quill", "ada@example.com", "213 555 0101", date(1984, 2, 29)),
    bookings.PatientDetails("Bo Lantern", "bo@example.com", "213 555 0102", date(1971, 7, 4)),
    bookings.PatientDetails("Cy Marsh", "cy@example.com", "213 555 0103", date(1999, 12, 31)),
]
DESK_NAME = "Rita Desk"
FREE_DAYS_LISTED = 10  # the free times a start is chosen from: the next ten days
NOTICE = timedelta(hours=24)  # the test clinic's cancellation_notice_hours

WEEKDAYS = range(5)
HOURS = {  # weekly hours the desk may set, by name
    "mornings": {day: [(time(8), time(12))] for day in WEEKDAYS},
    "long days": {day: [(time(7, 30), time(19))] for day in range(6)},
    "split": {day: [(time(9), time(11)), (time(11), time(12, 30)), (time(14), time(18))] for day in (0, 2, 4)},
    "none": {},
}

# Some tables are the clinic's set-up and stay between runs; every other is emptied.
SET_UP_TABLES = {"clinic", "service", "practitioner", "practitioner_service", "staff_account", "working_hours"}


@dataclass
class Visit:
    """What the model expects of one appointment."""

    id: int
    practitioner: str
    service: str
    patient: int  # index into PATIENTS
    starts_at: datetime
    ends_at: datetime
    occupied_until: datetime
    status: AppointmentStatus
    identity_confirmed_by: str | None  # None: waiting for the patient to confirm
    history: list[tuple[str, str]] = field(default_factory=list)  # (action, actor)
    emails: list[str] = field(default_factory=list)  # outbox kinds, in the order queued


# Arbitrary starts: any day from yesterday to past the limits, on and off the 15-minute grid.
day_offsets = st.integers(-1, 36)  # the online limit is 30 days
wall_times = st.builds(time, st.integers(6, 19), st.sampled_from([0, 10, 15, 30, 45]))


class BookingMachine(RuleBasedStateMachine):
    def __init__(self, clock, start_at: datetime, usual_hours: dict[str, dict], desk_id: int):
        super().__init__()
        self.clock, self.usual_hours, self.desk_id = clock, usual_hours, desk_id
        clock.now = start_at
        self.visits: dict[int, Visit] = {}
        self.time_off: dict[int, tuple[str, datetime, datetime]] = {}
        self.statuses_seen: dict[int, tuple] = {}
        self._empty_the_database()

    def _empty_the_database(self) -> None:
        """Each run starts from the clinic as set up: no patients, visits, history, emails or time off."""
        with write_transaction():
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in SET_UP_TABLES:
                    db.session.execute(table.delete())
            db.session.execute(WorkingHours.__table__.delete())
            for slug, weekly in self.usual_hours.items():
                practitioner = self._practitioner(slug)
                db.session.add_all(WorkingHours(practitioner_id=practitioner.id, weekday=weekday, start_time=start,
                                                end_time=end) for weekday, periods in weekly.items()
                                   for start, end in periods)

    # --- helpers -------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now

    def _desk(self) -> StaffAccount:
        return db.session.get(StaffAccount, self.desk_id)

    def _practitioner(self, slug: str) -> Practitioner:
        return db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == slug))

    def _free(self, service: str, practitioner: str, rules, first_day: date, days: int,
              ignoring: int | None = None) -> list:
        """The free slots on offer now for those days: what the calendar and the API show."""
        clinic = load_clinic()
        found = load_service(service)
        slots = find_slots(clinic, found, load_practitioners(found, practitioner), first_day, days, self.now,
                           ignoring=ignoring, rules=rules)
        db.session.rollback()  # end the read, as a page would
        return slots

    def _choose_start(self, data, service: str, practitioner: str, rules, *, ignoring: int | None = None,
                      avoid: datetime | None = None) -> tuple[datetime, set[str]]:
        """A start, and the practitioners free then (empty: it must be refused). Either one of the
        free times listed for the days ahead, or any time from yesterday to past the booking limits,
        on or off the grid, checked against the free times listed around it."""
        clinic = load_clinic()
        zone, today = clinic.zone, clinic.today(self.now)
        if data.draw(st.booleans(), label="from the free times"):
            free = self._free(service, practitioner, rules, today, FREE_DAYS_LISTED, ignoring)
            starts = sorted({slot.start for slot in free} - {avoid})
            if starts:  # often one of the next few, so that visits come round and can be marked
                start = data.draw(st.one_of(st.sampled_from(starts[:6]), st.sampled_from(starts)), label="free start")
                return start, {slot.practitioner for slot in free if slot.start == start}
        day = today + timedelta(days=data.draw(day_offsets, label="day offset"))
        start = wall_clock_instant(day, data.draw(wall_times, label="wall time"), zone)
        if start == avoid:
            start += timedelta(minutes=15)
        free = self._free(service, practitioner, rules, day - timedelta(days=1), 3, ignoring)
        return start, {slot.practitioner for slot in free if slot.start == start}

    def _has_visited(self, patient: int) -> bool:
        return any(v.patient == patient and v.status is not CANCELLED for v in self.visits.values())

    def _pick_visit(self, data) -> Visit:
        """Any visit, though more often one not cancelled (a cancelled one can only be refused)."""
        live = sorted(v.id for v in self.visits.values() if v.status is not CANCELLED)
        every = st.sampled_from(sorted(self.visits))
        return self.visits[data.draw(st.one_of(st.sampled_from(live), every) if live else every, label="visit")]

    def _refused(self, action, *expected: type[Exception]):
        """Run an operation that must be refused with one of `expected`, changing nothing
        (the invariants then check the database still matches the unchanged model)."""
        with pytest.raises(expected):
            action()
        db.session.rollback()

    def _step(self, visit: Visit, after: AppointmentStatus) -> None:
        assert (visit.status, after) in ALLOWED_STEPS, f"the model itself took a forbidden step {visit.status} -> {after}"
        visit.status = after

    def _moved(self, visit: Visit, appointment, actor: str) -> None:
        """Expect what a move writes: the new time and practitioner, a history line, and its email
        (and a request to confirm who booked, when the visit now sits with someone who must not see more)."""
        target = appointment.practitioner.slug
        length, occupied = visit.ends_at - visit.starts_at, visit.occupied_until - visit.starts_at
        visit.history.append(("moved", actor))
        if (target != visit.practitioner and visit.identity_confirmed_by in (NOT_NEEDED["first"], NOT_NEEDED["own"])
                and any(other.patient == visit.patient and other.practitioner != target
                        for other in self.visits.values() if other.id != visit.id)):
            visit.identity_confirmed_by = None
            visit.history.append(("identity pending", actor))
            visit.emails.append("identity_check")
        visit.emails.append("moved")
        visit.practitioner = target
        visit.starts_at = appointment.starts_at
        visit.ends_at, visit.occupied_until = visit.starts_at + length, visit.starts_at + occupied

    def _booked(self, result: bookings.BookingResult, service: str, patient: int, via: str, actor: str) -> None:
        appointment = result.appointment
        practitioner = appointment.practitioner.slug
        known = any(v.patient == patient for v in self.visits.values())
        elsewhere = any(v.patient == patient and v.practitioner != practitioner for v in self.visits.values())
        if via == "desk":
            confirmed_by = NOT_NEEDED["desk"]
        elif not known:
            confirmed_by = NOT_NEEDED["first"]
        else:
            confirmed_by = None if elsewhere else NOT_NEEDED["own"]
        visit = Visit(appointment.id, practitioner, service, patient, appointment.starts_at, appointment.ends_at,
                      appointment.occupied_until, BOOKED, confirmed_by, [("booked", actor)], ["confirmation"])
        if confirmed_by is None:
            visit.history.append(("identity pending", actor))
            visit.emails.append("identity_check")
        minutes = {"consult": (60, 15), "short": (30, 0)}[service]
        assert visit.ends_at - visit.starts_at == timedelta(minutes=minutes[0])
        assert visit.occupied_until - visit.ends_at == timedelta(minutes=minutes[1])
        self.visits[visit.id] = visit
        db.session.rollback()

    # --- booking -------------------------------------------------------------------

    @rule(data=st.data(), service=st.sampled_from(["short", "consult"]),
          practitioner=st.sampled_from(["ana", "ben", "any"]), patient=st.integers(0, len(PATIENTS) - 1))
    def book_online(self, data, service, practitioner, patient):
        if practitioner != "any" and service not in OFFERS[practitioner]:
            request = bookings.BookingRequest(service, practitioner, self.now + timedelta(days=1), PATIENTS[patient])
            return self._refused(lambda: bookings.book(request, self.now), CannotBook)
        start, on_offer = self._choose_start(data, service, practitioner, rules=None)
        request = bookings.BookingRequest(service, practitioner, start, PATIENTS[patient], booked_via="online")
        if not on_offer or (service == "consult" and self._has_visited(patient)):
            return self._refused(lambda: bookings.book(request, self.now), CannotBook, bookings.SlotTaken)
        result = bookings.book(request, self.now)
        assert result.appointment.practitioner.slug in on_offer and result.appointment.starts_at == start
        self._booked(result, service, patient, "online", "Patient")

    @rule(data=st.data(), service=st.sampled_from(["short", "consult"]), practitioner=st.sampled_from(["ana", "ben"]),
          patient=st.integers(0, len(PATIENTS) - 1))
    def book_at_desk(self, data, service, practitioner, patient):
        def book(start):
            request = bookings.BookingRequest(service, practitioner, start, PATIENTS[patient], booked_via="desk")
            return desk.book_for_caller(self._desk(), request, self.now)

        if service not in OFFERS[practitioner]:
            return self._refused(lambda: book(self.now + timedelta(days=1)), CannotBook)
        start, on_offer = self._choose_start(data, service, practitioner, rules=desk_rules(load_clinic()))
        if not on_offer or (service == "consult" and self._has_visited(patient)):
            return self._refused(lambda: book(start), CannotBook, bookings.SlotTaken)
        result = book(start)
        assert result.appointment.practitioner.slug == practitioner and result.appointment.starts_at == start
        self._booked(result, service, patient, "desk", DESK_NAME)

    # --- moving --------------------------------------------------------------------

    @precondition(lambda self: self.visits)
    @rule(data=st.data())
    def move_by_patient(self, data):
        visit = self._pick_visit(data)
        if visit.status is CANCELLED:  # the operation itself refuses, whatever the page shows
            start = visit.starts_at + timedelta(days=1)
            return self._refused(lambda: bookings.move(visit.id, start, self.now), CannotBook)
        if visit.status is not BOOKED or self.now > visit.starts_at - NOTICE:
            return  # the manage page offers no move (manage.routes.changeable): nothing is called
        # Not the time it has: the page refuses that (manage.routes.confirm_move).
        start, on_offer = self._choose_start(data, visit.service, visit.practitioner, rules=None, ignoring=visit.id,
                                             avoid=visit.starts_at)
        if not on_offer:
            return self._refused(lambda: bookings.move(visit.id, start, self.now), CannotBook, bookings.SlotTaken)
        result = bookings.move(visit.id, start, self.now)
        assert result.appointment.starts_at == start and result.manage_token
        self._moved(visit, result.appointment, "Patient")
        db.session.rollback()

    @precondition(lambda self: self.visits)
    @rule(data=st.data(), practitioner=st.sampled_from(["ana", "ben"]))
    def move_at_desk(self, data, practitioner):
        visit = self._pick_visit(data)

        def move(start):
            return desk.move(self._desk(), visit.id, self._practitioner(practitioner), start, self.now)

        if visit.status is not BOOKED or visit.service not in OFFERS[practitioner]:
            return self._refused(lambda: move(visit.starts_at + timedelta(days=1)), CannotBook)
        # Not its own time with its own practitioner: that is no change (see the test below the machine).
        own_time = visit.starts_at if practitioner == visit.practitioner else None
        start, on_offer = self._choose_start(data, visit.service, practitioner, rules=desk_rules(load_clinic()),
                                             ignoring=visit.id, avoid=own_time)
        if not on_offer:
            return self._refused(lambda: move(start), CannotBook, bookings.SlotTaken)
        appointment = move(start)
        assert appointment.starts_at == start and appointment.practitioner.slug == practitioner
        self._moved(visit, appointment, DESK_NAME)
        db.session.rollback()

    # --- cancelling ----------------------------------------------------------------

    @precondition(lambda self: self.visits)
    @rule(data=st.data(), reason=st.sampled_from(["", "Feeling better"]))
    def cancel_by_patient(self, data, reason):
        visit = self._pick_visit(data)
        if visit.status is CANCELLED:
            return self._refused(lambda: bookings.cancel(visit.id, reason, self.now), CannotBook)
        if visit.status is not BOOKED or self.now > visit.starts_at - NOTICE:
            return  # the manage page offers no cancelling: nothing is called
        bookings.cancel(visit.id, reason, self.now)
        self._step(visit, CANCELLED)
        visit.history.append(("cancelled", "Patient"))
        visit.emails.append("cancelled")
        db.session.rollback()

    @precondition(lambda self: self.visits)
    @rule(data=st.data(), patient_asked=st.booleans())
    def cancel_at_desk(self, data, patient_asked):
        visit = self._pick_visit(data)

        def cancel():
            return desk.cancel(self._desk(), visit.id, "Phoned", self.now, patient_asked=patient_asked)

        if visit.status is not BOOKED:  # a visit that happened, was missed or is cancelled stays as it is
            return self._refused(cancel, CannotBook)
        cancel()
        self._step(visit, CANCELLED)
        visit.history.append(("cancelled", DESK_NAME))
        visit.emails.append("cancelled")
        db.session.rollback()

    # --- the visit itself ----------------------------------------------------------

    def _may_mark(self, visit: Visit, status: AppointmentStatus) -> bool:
        """The desk's rules for marks: along the allowed steps, arrived only from the visit's day on,
        completed or no-show only once it has begun."""
        zone = load_clinic().zone
        on_the_day = self.now.astimezone(zone).date() >= visit.starts_at.astimezone(zone).date()
        return ((visit.status, status) in ALLOWED_STEPS and status is not CANCELLED
                and (status is not ARRIVED or on_the_day)
                and (status not in (COMPLETED, NO_SHOW) or self.now >= visit.starts_at))

    @precondition(lambda self: self.visits)
    @rule(data=st.data())
    def mark(self, data):
        # Often a visit and a mark the desk may make now (visits come round rarely by chance), else any.
        markable = {v.id: [s for s in MARK_ACTIONS if self._may_mark(v, s)] for v in self.visits.values()}
        markable = {visit_id: statuses for visit_id, statuses in markable.items() if statuses}
        if markable and data.draw(st.booleans(), label="a mark allowed now"):
            visit = self.visits[data.draw(st.sampled_from(sorted(markable)), label="visit")]
            status = data.draw(st.sampled_from(markable[visit.id]), label="status")
        else:
            visit = self._pick_visit(data)
            status = data.draw(st.sampled_from(list(MARK_ACTIONS)), label="status")
        allowed = self._may_mark(visit, status)
        db.session.rollback()
        if not allowed:
            return self._refused(lambda: desk.mark(self._desk(), visit.id, status, self.now), CannotBook)
        desk.mark(self._desk(), visit.id, status, self.now)
        self._step(visit, status)
        visit.history.append((MARK_ACTIONS[status], DESK_NAME))
        db.session.rollback()

    # --- hours, time off and time --------------------------------------------------

    @rule(practitioner=st.sampled_from(["ana", "ben"]), hours=st.sampled_from(["usual", *HOURS]))
    def set_hours(self, practitioner, hours):
        weekly = self.usual_hours[practitioner] if hours == "usual" else HOURS[hours]
        found = self._practitioner(practitioner)
        desk.set_hours(self._desk(), found, weekly, self.now)
        stored = db.session.execute(sa.select(WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time)
                                    .where(WorkingHours.practitioner_id == found.id)).all()
        assert sorted(stored) == sorted((day, start, end) for day, periods in weekly.items() for start, end in periods)
        db.session.rollback()

    @rule(practitioner=st.sampled_from(["ana", "ben"]), day=st.integers(-2, 20), starts=st.integers(0, 23),
          hours=st.sampled_from([2, 4, 24, 72]))
    def add_time_off(self, practitioner, day, starts, hours):
        zone = load_clinic().zone
        starts_at = wall_clock_instant(load_clinic().today(self.now) + timedelta(days=day), time(starts), zone)
        ends_at = starts_at + timedelta(hours=hours)

        def add():
            return desk.add_time_off(self._desk(), self._practitioner(practitioner), starts_at, ends_at, "Course",
                                     self.now)

        if ends_at <= self.now or (practitioner, starts_at, ends_at) in self.time_off.values():
            return self._refused(add, CannotBook)
        added = add()
        self.time_off[added.id] = (practitioner, starts_at, ends_at)
        db.session.rollback()

    @precondition(lambda self: self.time_off)
    @rule(data=st.data(), as_the_other=st.booleans())
    def remove_time_off(self, data, as_the_other):
        time_off_id = data.draw(st.sampled_from(sorted(self.time_off)), label="time off")
        owner = self.time_off[time_off_id][0]
        if as_the_other:  # another practitioner's list does not hold it
            other = self._practitioner("ben" if owner == "ana" else "ana")
            return self._refused(lambda: desk.remove_time_off(self._desk(), other, time_off_id, self.now), desk.NotVisible)
        desk.remove_time_off(self._desk(), self._practitioner(owner), time_off_id, self.now)
        del self.time_off[time_off_id]
        db.session.rollback()

    @rule(minutes=st.sampled_from([15, 90, 6 * 60, 24 * 60, 3 * 24 * 60]))
    def advance_clock(self, minutes):
        self.clock.advance(minutes=minutes)

    @precondition(lambda self: any(v.starts_at > self.now for v in self.visits.values()))
    @rule(data=st.data(), minutes_after=st.sampled_from([-30, 0, 20]))
    def advance_clock_to_a_visit(self, data, minutes_after):
        """On to just before, at or during a visit ahead, so that visits come round and can be marked."""
        ahead = sorted({v.starts_at for v in self.visits.values() if v.starts_at > self.now})
        moment = data.draw(st.sampled_from(ahead), label="visit start") + timedelta(minutes=minutes_after)
        self.clock.now = max(self.now, moment)

    # --- what must hold after every step -------------------------------------------

    @invariant()
    def database_matches_the_model(self):
        rows = db.session.execute(
            sa.select(Appointment.id, Practitioner.slug, Service.slug, Patient.email, Appointment.starts_at,
                      Appointment.ends_at, Appointment.occupied_until, Appointment.status,
                      Appointment.identity_confirmed_by)
            .join(Practitioner, Appointment.practitioner_id == Practitioner.id)
            .join(Service, Appointment.service_id == Service.id)
            .join(Patient, Appointment.patient_id == Patient.id)
        ).all()
        found = {row[0]: tuple(row[1:]) for row in rows}
        expected = {v.id: (v.practitioner, v.service, PATIENTS[v.patient].email, v.starts_at, v.ends_at,
                           v.occupied_until, v.status, v.identity_confirmed_by) for v in self.visits.values()}
        assert found == expected

        patients = db.session.scalars(sa.select(Patient.email)).all()
        assert sorted(patients) == sorted({PATIENTS[v.patient].email for v in self.visits.values()})

        time_off = {row.id: (row.slug, row.starts_at, row.ends_at) for row in db.session.execute(
            sa.select(TimeOff.id, Practitioner.slug, TimeOff.starts_at, TimeOff.ends_at).join(Practitioner))}
        assert time_off == self.time_off
        db.session.rollback()

    @invariant()
    def no_two_visits_of_one_practitioner_overlap(self):
        holding = defaultdict(list)
        for practitioner_id, starts_at, occupied_until in db.session.execute(
                sa.select(Appointment.practitioner_id, Appointment.starts_at, Appointment.occupied_until)
                .where(Appointment.status.in_(AppointmentStatus.holding_time()))):
            holding[practitioner_id].append((starts_at, occupied_until))
        for spans in holding.values():
            spans.sort()
            for (_, earlier_until), (later_start, _) in zip(spans, spans[1:]):
                assert later_start >= earlier_until, f"overlapping visits: {spans}"
        db.session.rollback()

    @invariant()
    def one_history_line_and_one_email_per_change(self):
        history, emails = defaultdict(list), defaultdict(list)
        for appointment_id, action, actor in db.session.execute(
                sa.select(AppointmentEvent.appointment_id, AppointmentEvent.action, AppointmentEvent.actor)
                .order_by(AppointmentEvent.id)):
            history[appointment_id].append((action, actor))
        for appointment_id, kind in db.session.execute(
                sa.select(OutboxMessage.appointment_id, OutboxMessage.kind).order_by(OutboxMessage.id)):
            emails[appointment_id].append(kind)
        assert dict(history) == {v.id: v.history for v in self.visits.values()}
        assert dict(emails) == {v.id: v.emails for v in self.visits.values()}
        db.session.rollback()

    @invariant()
    def statuses_change_only_along_allowed_steps(self):
        """Read from the database alone: each visit's status now, against what it was after the last step."""
        now_seen = {row.id: (row.status, row.practitioner_id, row.starts_at) for row in db.session.execute(
            sa.select(Appointment.id, Appointment.status, Appointment.practitioner_id, Appointment.starts_at))}
        for appointment_id, (status, practitioner_id, starts_at) in now_seen.items():
            before = self.statuses_seen.get(appointment_id)
            if before is None:
                assert status is BOOKED, "a new visit starts booked"
                continue
            if before[0] is not status:
                assert (before[0], status) in ALLOWED_STEPS, f"visit {appointment_id}: {before[0]} -> {status}"
            if before[0] is not BOOKED:  # only a booked visit moves
                assert (practitioner_id, starts_at) == before[1:], f"visit {appointment_id} moved while {before[0]}"
        assert set(self.statuses_seen) <= set(now_seen), "a visit disappeared"
        self.statuses_seen = now_seen
        db.session.rollback()


@pytest.mark.hypothesis
def test_booking_operations_keep_their_invariants(clinic, clock):
    with clinic.test_request_context():
        desk_id = add_staff("rita@clinic.example.com", DESK_NAME, StaffRole.RECEPTIONIST, "a long desk password",
                            clock.now).id
        usual_hours = {}
        for slug in OFFERS:
            practitioner = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == slug))
            weekly = defaultdict(list)
            for period in practitioner.hours:
                weekly[period.weekday].append((period.start_time, period.end_time))
            usual_hours[slug] = dict(weekly)
        db.session.rollback()
        profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
        start_at = clock.now  # each run starts here again; the machine moves the clock
        run_state_machine_as_test(
            lambda: BookingMachine(clock, start_at, usual_hours, desk_id),
            settings=settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], **BUDGET[profile]),
        )


# --- findings, kept as plain tests ---------------------------------------------------------

TUESDAY_10 = datetime(2027, 3, 9, 18, 0, tzinfo=timezone.utc)  # 10:00 in Los Angeles
MONDAY_10 = datetime(2027, 3, 8, 18, 0, tzinfo=timezone.utc)


def _receptionist(clock) -> StaffAccount:
    return add_staff("rita@clinic.example.com", DESK_NAME, StaffRole.RECEPTIONIST, "a long desk password", clock.now)


def _history_and_emails(appointment_id: int) -> tuple[list[str], list[str]]:
    history = db.session.scalars(sa.select(AppointmentEvent.action).where(
        AppointmentEvent.appointment_id == appointment_id).order_by(AppointmentEvent.id)).all()
    emails = db.session.scalars(sa.select(OutboxMessage.kind).where(
        OutboxMessage.appointment_id == appointment_id).order_by(OutboxMessage.id)).all()
    return list(history), list(emails)


def test_a_desk_move_to_the_time_the_visit_already_has_changes_nothing(clinic, clock):
    """Pressing Move twice (or a form left open) asks for the time the visit now has: the patient
    must not be told it moved, nor the history say so."""
    with clinic.test_request_context():
        account = _receptionist(clock)
        booked = bookings.book(bookings.BookingRequest("short", "ana", TUESDAY_10, PATIENTS[0]), clock.now)
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        try:
            desk.move(account, booked.appointment.id, ana, TUESDAY_10, clock.now)
        except CannotBook:
            pass  # refusing it is as good as doing nothing
        db.session.rollback()
        assert _history_and_emails(booked.appointment.id) == (["booked"], ["confirmation"])
        assert db.session.get(Appointment, booked.appointment.id).sequence == 0


def test_a_visit_marked_arrived_just_before_the_cancel_is_written_stays_arrived(clinic, clock):
    """The desk cancels while, at the same moment, the practitioner marks the patient arrived.
    The mark is committed by another connection exactly when the cancel's write transaction
    begins (after the desk's check read the visit as booked): the cancel must then be refused."""
    clock.now = MONDAY_10 - timedelta(minutes=10)
    with clinic.test_request_context():
        account = _receptionist(clock)
        appointment_id = desk.book_for_caller(account, bookings.BookingRequest(
            "short", "ana", MONDAY_10, PATIENTS[0], booked_via="desk"), clock.now).appointment.id
        account_id = account.id
        marked = []

        def mark_arrived_elsewhere():
            marked.append(True)
            with clinic.app_context():  # its own session and connection: another request
                desk.mark(db.session.get(StaffAccount, account_id), appointment_id, ARRIVED, clock.now)

        # The moment the cancel's write transaction begins: on SQLite just before its BEGIN IMMEDIATE
        # takes the lock (sent straight to the driver: extensions.begin_as_writer), on PostgreSQL as
        # the writer's transaction begins.
        def on_statement(statement):
            if not marked and statement == "BEGIN IMMEDIATE":
                mark_arrived_elsewhere()

        def on_begin(connection):
            if (not marked and connection.dialect.name == "postgresql"
                    and connection.get_execution_options().get(SQLITE_IMMEDIATE)):
                mark_arrived_elsewhere()

        engine = db.engine
        DRIVER_STATEMENT_LISTENERS.append(on_statement)
        event.listen(engine, "begin", on_begin)
        try:
            with pytest.raises(CannotBook):
                desk.cancel(account, appointment_id, "Phoned", clock.now, patient_asked=True)
        finally:
            DRIVER_STATEMENT_LISTENERS.remove(on_statement)
            event.remove(engine, "begin", on_begin)
        db.session.rollback()
        assert marked, "the competing mark never ran: the hook no longer meets the cancel's write transaction"
        assert db.session.get(Appointment, appointment_id).status is ARRIVED
        assert _history_and_emails(appointment_id) == (["booked", "arrived"], ["confirmation"])
