"""Courses of treatment: propose every visit's time, book them all in one transaction or none,
and cancel what is left of a course in one step.

The pure planner (scheduling.course) lays the visits out and finds alternatives; booking reuses
bookings.py's locks, slot claim, patient lookup and visit record, so a course obeys exactly the
guarantees of a single booking: each visit is claimed under the practitioner's lock, and the
PostgreSQL exclusion constraint stays the last word. A course is one practitioner's: its visits
are weeks of one treatment plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_date, get_day_names
from flask_babel import gettext as _

from booking.extensions import db
from booking.formatting import date_text, local_time
from booking.i18n import spoken_locale
from booking.models import Appointment, AppointmentStatus, BookingDraft, Course, Practitioner, Service, StaffAccount
from booking.notify import outbox
from booking.operations import beds, catalogue
from booking.operations.availability import (
    Slot,
    desk_rules,
    diary,
    find_slots,
    load_clinic,
    nearby_slots,
    outside_booking_window,
)
from booking.operations import desk
from booking.operations.bookings import (
    AlreadyBooked,
    BookingRequest,
    Booked,
    PatientBusy,
    SlotTaken,
    add_visit,
    ask_who_booked,
    cancel,
    checked_safety,
    claim_slot,
    find_or_add_patient,
    lock_patient,
    lock_practitioners,
    never_on_offer,
    new_reference,
    refuse_if_not_new,
    refuse_if_patient_busy,
)
from booking.operations.catalogue import ANY_PRACTITIONER, PractitionerEntry, ServiceEntry
from booking.operations.history import PATIENT, Actor
from booking.operations.permissions import may_change, require
from booking.operations.problems import CannotBook
from booking.operations.progress_checks import questions_asked
from booking.operations.safety_signals import course_of, lock_course, signal
from booking.safety import levels_of
from booking.scheduling import BookingRules
from booking.scheduling.course import (
    MAX_EVERY_DAYS,
    MAX_VISITS,
    SEARCH_DAYS,
    CourseProblem,
    Length,
    Proposal,
    Repeat,
    last_bookable_day,
    overlapping,
    propose,
    visit_days,
)
from booking.tokens import draft_manage_token, new_token
from booking.transaction import locked, write_transaction


@dataclass(frozen=True)
class CoursePlan:
    """What a course would be: with whom, which service each visit is, and each visit's proposal."""

    practitioner: PractitionerEntry
    first_service: ServiceEntry
    follow_up: ServiceEntry
    repeat: Repeat
    proposals: list[Proposal]

    def service_of(self, number: int) -> ServiceEntry:
        return self.first_service if number == 1 else self.follow_up

    @property
    def all_free(self) -> bool:
        return all(proposal.is_free for proposal in self.proposals)


@dataclass(frozen=True)
class CourseResult:
    course_id: int
    appointments: list[Appointment]
    manage_tokens: list[str]  # one per visit, shown once; only hashes are stored
    booked: list[Booked]


class VisitNotFree(CannotBook):
    """One visit of the course is no longer free (or never was): nothing was booked. The message
    names the visit; `alternatives` are the free times nearest to it."""

    def __init__(self, number: int, start: datetime, message: str, alternatives: Sequence[Slot] = ()):
        super().__init__("visits", message)
        self.number, self.start, self.alternatives = number, start, list(alternatives)


def follow_up_for(known: catalogue.Catalogue, first: ServiceEntry, practitioner: PractitionerEntry) -> ServiceEntry:
    """The service of the visits after the first: the same one, unless the first is a first visit
    (for new patients only); then the clinic's first service for returning patients that this
    practitioner offers (a follow-up treatment in the demo clinic)."""
    if not first.new_patients_only:
        return first
    for service in known.services:
        if service.is_active and not service.new_patients_only and practitioner.offers(service):
            return service
    raise CannotBook("service", _("%(practitioner)s offers no follow-up visits, so a course cannot be booked "
                                  "with them.", practitioner=practitioner.name))


def _repeat_problem(repeat: Repeat, first_day=None) -> None:
    """CannotBook, in the patient's words, for a repeat the clinic does not book (from `first_day`,
    the first visit's clinic date, when known)."""
    problem = repeat.problem(first_day)
    if problem is None:
        return
    if problem.field == "every_days":
        raise CannotBook("every_days", _("Choose from 1 to %(most)s days between visits.", most=MAX_EVERY_DAYS))
    if problem.field == "weekdays" and first_day is not None and repeat.problem() is None:
        raise CannotBook("weekdays", _("The first visit is on a %(day)s, so the days of the course must include "
                                       "it: choose days that do, or another first time.",
                                       day=_weekday(first_day)))
    if problem.field == "weekdays":
        raise CannotBook("weekdays", _("Choose different days of the week for the course."))
    raise CannotBook("count", _("A course has from 2 to %(most)s visits.", most=MAX_VISITS))


def _weekday(day) -> str:
    """The weekday's name in the language being spoken ("Monday", "lunes")."""
    return format_date(day, "EEEE", locale=spoken_locale(load_clinic()))


def _practitioner_for(clinic, known, first: ServiceEntry, slug: str, start: datetime, now: datetime,
                      rules: BookingRules | None) -> PractitionerEntry:
    """The course's practitioner: the one named, or for "any" the first who is free at its first time."""
    practitioners = known.practitioners_for(first, slug)
    if not practitioners:
        raise CannotBook("practitioner", f"nobody offers {first.slug!r} at the moment")
    if slug != ANY_PRACTITIONER:
        return practitioners[0]
    day = start.astimezone(clinic.zone).date()
    free = [slot.practitioner for slot in find_slots(clinic, first, practitioners, day, 1, now, rules=rules)
            if slot.start == start]
    if not free:
        raise CannotBook("start", _("That time is no longer free: choose another time for the first visit."))
    return next(p for p in practitioners if p.slug == free[0])


def plan_course(service_slug: str, practitioner_slug: str, first_start: datetime, repeat: Repeat, now: datetime,
                *, rules: BookingRules | None = None) -> CoursePlan:
    """Every visit's proposed time with its practitioner, read-only (nothing is held until booked).

    Raises CannotBook for a first time that cannot be booked (the same words as for a single
    visit), a repeat out of bounds, or a course running past the booking horizon (keyed "count").
    """
    clinic = load_clinic()
    outside = outside_booking_window(clinic, first_start, now, rules)
    if outside:
        raise CannotBook("start", outside)
    first_day = first_start.astimezone(clinic.zone).date()
    _repeat_problem(repeat, first_day)
    known = catalogue.current()
    first = known.service(service_slug)
    practitioner = _practitioner_for(clinic, known, first, practitioner_slug, first_start, now, rules)
    # As for a single visit: a first time never on offer (outside hours, off the grid) is a 422 on
    # the start, and a weekday they never work one on the weekdays; both were a 409 with
    # alternatives, as if those visits had been taken (a hands-on trial).
    never = never_on_offer(clinic, first, [practitioner], first_start, now, rules)
    if never:
        raise CannotBook("start", never)
    unworked = [day for day in repeat.weekdays if all(hours.weekday != day for hours in practitioner.working_intervals)]
    if unworked:
        names = get_day_names("wide", locale=spoken_locale(clinic))
        raise CannotBook("weekdays", _("%(name)s does not work on %(days)s: choose two days of the week they work.",
                                       name=practitioner.name, days=", ".join(names[day] for day in unworked)))
    follow_up = follow_up_for(known, first, practitioner)
    rules = rules or clinic.booking_rules
    span = (visit_days(first_day, repeat)[-1] - first_day).days + 1
    search_from, search_days = first_day - timedelta(days=SEARCH_DAYS), span + 2 * SEARCH_DAYS
    time_off, busy = diary(clinic, practitioner.id, search_from, search_days)
    free = None
    if any(service.hands_on or service.needs_bed for service in (first, follow_up)):
        # Hands-on parts and beds (shared with every practitioner's patients) are availability's to
        # weigh: the free starts of each service over the searched dates, in one read each.
        free = tuple([slot.start for slot in find_slots(clinic, service, [practitioner], search_from, search_days,
                                                        now, rules=rules)] for service in (first, follow_up))
    try:
        proposals = propose(
            first_start=first_start, repeat=repeat, first=Length(first.minutes, first.buffer_minutes),
            rest=Length(follow_up.minutes, follow_up.buffer_minutes), hours=practitioner.working_intervals,
            time_off=time_off, busy=busy, rules=rules, now=now, zone=clinic.zone, free=free)
    except CourseProblem:
        last = first_day + timedelta(days=span - 1)
        locale = spoken_locale(clinic)
        raise CannotBook("count", _(
            "The last visit would be on %(day)s, but bookings are open only until %(until)s: choose fewer visits "
            "or fewer days between them.", day=_date(last, locale),
            until=_date(last_bookable_day(rules, now, clinic.zone), locale))) from None
    return CoursePlan(practitioner, first, follow_up, repeat, proposals)


def _date(day, locale) -> str:
    return date_text(day, locale, "medium")


def _visit_time(clinic, start: datetime) -> str:
    return local_time(start, clinic, spoken_locale(clinic), "medium")


def book_course(request: BookingRequest, repeat: Repeat, starts: Sequence[datetime], now: datetime, *,
                actor: Actor = PATIENT, rules: BookingRules | None = None, draft: BookingDraft | None = None,
                draft_key: str | None = None) -> CourseResult:
    """Book every visit of the course at the chosen starts in one transaction, or none of them.

    `request.start` is the first visit's proposed time and `request.practitioner` a slug or "any"
    (resolved as in plan_course); `starts` holds each visit's chosen time in order (the pattern's
    or an alternative). Raises CannotBook (VisitNotFree naming the visit when one is not free),
    EmergencyAnswers, or NotFound. A draft (with its key) completed by the course is marked booked
    with its first visit, whose link is made from the key as book() makes a single visit's.
    """
    answers = checked_safety(request)
    # The pattern starts from the first proposed time, even when another time was chosen for that visit.
    _repeat_problem(repeat, request.start.astimezone(load_clinic().zone).date())
    if len(starts) != repeat.count:
        raise CannotBook("visits", _("Choose a time for each of the %(count)s visits.", count=repeat.count))

    def lost_race() -> VisitNotFree:
        return _first_not_free(request, repeat, starts, now, rules)

    with write_transaction(taken=lost_race):
        if draft is not None and locked(BookingDraft, draft.id).appointment_id is not None:
            raise AlreadyBooked()  # a second press that waited for the first one's lock
        clinic = load_clinic()
        known = catalogue.current()
        first = known.service(request.service)
        entry = _practitioner_for(clinic, known, first, request.practitioner, starts[0], now, rules)
        follow_up = follow_up_for(known, first, entry)
        services = [first] + [follow_up] * (repeat.count - 1)
        clash = overlapping(starts, [Length(s.minutes, s.buffer_minutes) for s in services])
        if clash:
            raise CannotBook("visits", _("Visits %(one)s and %(other)s would overlap: choose another time for "
                                         "one of them.", one=clash[0], other=clash[1]))
        lock_patient(request.patient.email, request.patient.born_on)
        lock_practitioners(entry.id)
        if any(service.needs_bed for service in services):
            beds.lock_beds()
        practitioner = db.session.get(Practitioner, entry.id)
        patient = find_or_add_patient(request.patient, now)
        rows = {service.id: db.session.get(Service, service.id) for service in {first, follow_up}}
        refuse_if_not_new(rows[first.id], patient, request.booked_via)
        course = Course(every_days=repeat.every_days, weekdays=list(repeat.weekdays) or None, visits=repeat.count,
                        booked_via=request.booked_via, created_at=now)
        db.session.add(course)
        db.session.flush()  # the course's id, for its visits
        appointments, tokens, booked = [], [], []
        for number, (start, service) in enumerate(zip(starts, services), start=1):
            # Each claim reads the visits already added (the read flushes them), so the course
            # cannot overlap itself any more than another booking.
            chosen = _claim_visit(clinic, service, entry, number, repeat.count, start, now, rules)
            try:
                refuse_if_patient_busy(clinic, patient.id, patient.name, chosen.start, chosen.end, actor=actor)
            except PatientBusy as busy:  # named as the visit of the course it is, as a time not free is
                raise PatientBusy("visits", _("Visit %(number)s of %(count)s: %(problem)s", number=number,
                                              count=repeat.count, problem=busy.message)) from None
            reference = new_reference()
            token = draft_manage_token(draft_key, reference) if draft_key and number == 1 else new_token()
            appointment = add_visit(clinic, rows[service.id], practitioner, patient, chosen, request, answers,
                                    reference, token, actor, now)
            appointment.course_id = course.id
            appointments.append(appointment)
            tokens.append(token)
            booked.append(Booked(appointment.reference, chosen.start, chosen.end, entry.slug, service.slug,
                                 tuple(appointment.safety_flags or ()), appointment.language))
        db.session.flush()
        head = appointments[0]
        if draft is not None:
            draft.appointment, draft.lost_race = head, False
        signal(head, levels_of(answers.urgent), "booking", now)  # one alert for the course, on its first visit
        message = outbox.queue("course_confirmation", head, now, visits=appointments, questions=questions_asked(head))
        if message is not None:  # it tells every visit: a move of the first alone must not hold it back
            message.about_sequence = None
        ask_who_booked(head, actor, now, appointments)
    return CourseResult(course.id, appointments, tokens, booked)


def _claim_visit(clinic, service, practitioner, number: int, count: int, start: datetime, now: datetime,
                 rules: BookingRules | None) -> Slot:
    """The free slot for one visit of the course, or a problem that names the visit."""
    try:
        return claim_slot(clinic, service, [practitioner], start, now, rules=rules)
    except SlotTaken as taken:
        raise VisitNotFree(number, start, _not_free_message(clinic, number, count, start), taken.alternatives) from None
    except CannotBook as problem:
        raise VisitNotFree(number, start, _("Visit %(number)s of %(count)s (%(when)s): %(problem)s", number=number,
                                            count=count, when=_visit_time(clinic, start),
                                            problem=problem.message)) from None


def _not_free_message(clinic, number: int, count: int, start: datetime) -> str:
    return _("Visit %(number)s of %(count)s (%(when)s) is no longer free, so nothing was booked: choose another "
             "time for it.", number=number, count=count, when=_visit_time(clinic, start))


def _first_not_free(request: BookingRequest, repeat: Repeat, starts: Sequence[datetime], now: datetime,
                    rules: BookingRules | None) -> VisitNotFree:
    """After a race lost to the no-overlap constraint: the first visit whose time is now taken."""
    clinic = load_clinic()
    known = catalogue.current()
    first = known.service(request.service)
    practitioners = known.practitioners_for(first, request.practitioner)
    entry = practitioners[0]
    follow_up = follow_up_for(known, first, entry)
    for number, start in enumerate(starts, start=1):
        service = first if number == 1 else follow_up
        day = start.astimezone(clinic.zone).date()
        if not any(slot.start == start for slot in find_slots(clinic, service, [entry], day, 1, now, rules=rules)):
            return VisitNotFree(number, start, _not_free_message(clinic, number, repeat.count, start),
                                nearby_slots(clinic, service, [entry], start, now, rules=rules))
    return VisitNotFree(1, starts[0], _not_free_message(clinic, 1, repeat.count, starts[0]))


def course_visits(appointment: Appointment) -> list[Appointment]:
    """Every visit of the appointment's course, in time order (just the visit if it is in none)."""
    if appointment.course_id is None:
        return [appointment]
    return list(db.session.scalars(sa.select(Appointment).where(Appointment.course_id == appointment.course_id)
                                   .order_by(Appointment.starts_at)))


def rest_of_course(appointment: Appointment) -> list[Appointment]:
    """This visit and the course's later visits still booked: what "cancel the rest" cancels."""
    return [visit for visit in course_visits(appointment)
            if visit.status is AppointmentStatus.BOOKED and visit.starts_at >= appointment.starts_at]


def cancel_rest(appointment_id: int, reason: str, now: datetime, *, actor: Actor = PATIENT,
                patient_asked: bool = True, seen: int | None = None) -> list[Appointment]:
    """Cancel this visit and every later booked visit of its course, in one transaction, with one
    email listing them all (its .ics takes every one out of the patient's calendar)."""
    with write_transaction():
        lock_course(course_of(appointment_id))  # in the order an answer's flag locks them (safety_signals)
        appointment = locked(Appointment, appointment_id)
        if appointment is not None and appointment.course_id is None:
            raise CannotBook("reason", _("This visit is not part of a course."))
        cancelled = [cancel(appointment_id, reason, now, actor=actor, patient_asked=patient_asked, seen=seen,
                            email=False)]
        for visit in rest_of_course(appointment):
            if visit.id != appointment_id:
                cancelled.append(cancel(visit.id, reason, now, actor=actor, patient_asked=patient_asked,
                                        email=False))
        if len(cancelled) == 1:  # the course's last visit: the single visit's email says it
            outbox.queue("cancelled", cancelled[0], now, by_clinic=not patient_asked)
        else:
            outbox.queue("course_cancelled", cancelled[0], now, visits=cancelled, by_clinic=not patient_asked)
    return cancelled


def cancel_rest_for_desk(account: StaffAccount, appointment_id: int, reason: str, now: datetime, *,
                         patient_asked: bool, seen: int | None = None) -> list[Appointment]:
    """The desk's "cancel the rest of the course": as the patient's, for staff who may change the visit."""
    with write_transaction():
        desk.locked_appointment(account, appointment_id)
        return cancel_rest(appointment_id, reason, now, actor=desk.actor(account), patient_asked=patient_asked,
                           seen=seen)


def book_course_for_caller(account: StaffAccount, request: BookingRequest, repeat: Repeat,
                           starts: Sequence[datetime], now: datetime) -> CourseResult:
    """The desk books a course for a caller: as book_course, under the desk's rules (no notice),
    for staff who may change the practitioner's calendar."""
    practitioner = desk.practitioner_by_slug(request.practitioner)
    require(practitioner is None or may_change(account, practitioner.id))
    return book_course(request, repeat, starts, now, actor=desk.actor(account), rules=desk_rules(load_clinic()))


def worked_weekdays(service_slug: str, practitioner_slug: str) -> set[int]:
    """The weekdays (0 = Monday) on which the practitioner, or for "any" one of those who offer the
    service, works: the days a course on fixed weekdays can keep."""
    known = catalogue.current()
    return {interval.weekday for practitioner in known.practitioners_for(known.service(service_slug), practitioner_slug)
            for interval in practitioner.working_intervals}
