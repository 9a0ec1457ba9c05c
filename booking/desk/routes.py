"""The front desk: the calendar, and everything a receptionist does from it.

Views stay thin: they read the request, call operations.desk, and render or redirect.
Every change is a POST with a CSRF token (the app-wide CSRFProtect).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from booking.clock import now
from booking.formatting import end_sentence
from booking import kept_pages
from booking.desk.courses import desk_course
from booking.forms import how_often_choices
from wtforms import SelectChoice
from booking.desk.forms import (
    ActionForm,
    CallerBookingForm,
    CancelForm,
    HoursForm,
    MoveForm,
    PatientSearchForm,
    TimeOffForm,
)
from booking.desk.wording import time_off_when
from booking.forms import options
from booking.limits import MAX_ID
from booking.models import AppointmentStatus, Patient, Practitioner, StaffRole
from booking.operations import consent, desk, identity, notes, patient_data, permissions, waitlist
from booking.operations.availability import (DESK_ADVANCE_DAYS, PASSED, TOO_FAR_AHEAD, desk_rules, load_clinic,
                                             times_by_day, window_refusal)
from booking.operations.bookings import (BookingRequest, EmergencyAnswers, PatientDetails, SlotTaken,
                                        clashes_with_other_visits, describe, has_visited, staff_date)
from booking.operations.clinic_file import WEEKDAYS
from booking.operations.problems import RequestProblem
from booking.safety import same_day_doctor
from booking.scheduling import wall_clock_instant
from booking.staff_access import staff_only
from booking.time_list import parse_instant
from booking.web import asked_day

bp = Blueprint("desk", __name__, url_prefix="/desk")

STATUS_VALUES = frozenset(status.value for status in AppointmentStatus)
OWN_CALENDAR_ONLY = ("You can look at every practitioner's calendar, but book, change and add time off only in "
                     "your own. Ask a receptionist to do this.")


def _account():
    return current_user.account


def _patient_from_args() -> Patient | None:
    """The patient a booking is being made for (?patient=ID), if the desk chose one."""
    patient_id = request.args.get("patient", type=int)
    if patient_id is None or not 0 < patient_id <= MAX_ID:
        return None
    try:
        patient, _ = desk.patient_for(_account(), patient_id)
    except desk.NotVisible:
        return None
    return None if patient.is_erased else patient  # nobody to book for


@bp.get("")
@staff_only()
def today():
    """Every practitioner's column for one day, or one of them (?practitioner=slug: a phone
    shows one column at a time, with links to the others). Kept per process (booking.kept_pages)."""
    known, version = desk.calendars_version()  # first: what the page reads after is at least as new
    moment = now()
    day = asked_day(request.args.get("date"), known.today(moment))
    slug = request.args.get("practitioner") or None
    patient = _patient_from_args()
    # Who on the waitlist would take this day's free times: the desk's, not a practitioner's (contact
    # details). Written for each request: it follows the clock and the waitlist, as no stamp does.
    desk_staff = current_user.role is not StaffRole.PRACTITIONER

    def render(context):
        calendar = desk.day_calendar(day, moment, only=slug, rooms=known.rooms, shortest=desk.shortest_visits(known))
        chosen = next((p for p in calendar.everyone if p.slug == slug), None)
        page = render_template("desk/day.html", day=day, calendar=calendar, patient=patient, chosen=chosen,
                               has_rooms=bool(known.rooms),
                               previous=day - timedelta(days=1), following=day + timedelta(days=1),
                               beside_calendar=kept_pages.mark("waitlist") if desk_staff else "", **context)
        return page, calendar.grid.turns

    def waitlist_beside() -> str:
        waiting = waitlist.for_day(day, moment)
        return render_template("waitlist/_desk_beside_calendar.html", day=day, waiting=waiting) if waiting else ""

    return kept_pages.serve(version, None if patient else (day, slug), moment, render,
                      {"waitlist": waitlist_beside} if desk_staff else None)


@bp.get("/week")
@staff_only()
def week():
    """One practitioner's week as a grid, or everyone's week at a glance. Kept per process."""
    known, version = desk.calendars_version()
    moment = now()
    day = asked_day(request.args.get("date"), known.today(moment))
    monday = day - timedelta(days=day.weekday())
    slug = request.args.get("practitioner", "")
    patient = _patient_from_args()

    def render(context):
        practitioner = desk.practitioner_by_slug(slug) if slug else None
        context = {"day": day, "monday": monday, "practitioners": desk.practitioners_list(),
                   "practitioner": practitioner, "patient": patient,
                   "previous": monday - timedelta(days=7), "following": monday + timedelta(days=7), **context}
        if practitioner is None:
            days, rows = desk.week_overview(monday)
            return render_template("desk/week.html", days=days, rows=rows, **context), ()
        calendar = desk.week_calendar(monday, practitioner, moment, rooms=known.rooms,
                                      shortest=desk.shortest_visits(known))
        return render_template("desk/week.html", calendar=calendar, **context), calendar.grid.turns

    return kept_pages.serve(version, None if patient else (day, slug), moment, render)


@bp.get("/rooms")
@staff_only()
def rooms():
    """The day's rooms, a column per bed: who lies where, with whom, until the bed is turned over.
    Kept per process like the day, under every practitioner's calendar stamp (a visit of anyone's
    may take a bed) and the settings stamp (the rooms are settings)."""
    known, version = desk.calendars_version()
    moment = now()
    day = asked_day(request.args.get("date"), known.today(moment))

    def render(context):
        beds = desk.rooms_day(day, known, moment) if known.rooms else None
        return render_template("desk/rooms.html", day=day, beds=beds, previous=day - timedelta(days=1),
                               following=day + timedelta(days=1), **context), ()  # nothing on it follows the clock

    return kept_pages.serve(version, day, moment, render)


# --- booking for a caller --------------------------------------------------------------

def _booking_target():
    """The practitioner and start a booking page is for (from the calendar's link)."""
    practitioner = desk.practitioner_by_slug(request.args.get("practitioner", ""))
    start = parse_instant(request.args.get("start"))
    if practitioner is None or start is None:
        abort(404)
    if not desk.may_change(_account(), practitioner.id):
        abort(403, OWN_CALENDAR_ONLY)
    return practitioner, start


@bp.route("/book", methods=["GET", "POST"])
@staff_only()
def book():
    """Book a free time for a caller: first who they are, then the visit and the safety questions."""
    practitioner, start = _booking_target()
    clinic = load_clinic()
    chosen = request.args.get("patient", "")
    target = {"practitioner": practitioner.slug, "start": start.isoformat()}
    if chosen != "new":
        patient = _patient_from_args()
        if patient is None:
            return _find_caller(practitioner, start, target)
    else:
        patient = None

    form = CallerBookingForm(existing_patient=patient is not None, today=clinic.today(now()), locale=str(get_locale()))
    problem_text = None if start >= now() else (
        f"{describe(clinic, practitioner, start)} has already passed. Go back to the calendar and choose a later time.")
    # A returning caller is not offered a service for new patients: it was offered, then refused on
    # Book (a hands-on trial).
    returning = patient is not None and has_visited(patient)
    form.service.choices = options((s.slug, f"{s.name} ({s.minutes} minutes)") for s in practitioner.services
                                   if s.is_active and not (returning and s.new_patients_only))
    form.how_often.choices = [SelectChoice("", "No, one visit"), *how_often_choices(
        start.astimezone(clinic.zone).weekday(), {hours.weekday for hours in practitioner.hours})]
    if form.validate_on_submit() and not _files_under_someone_else(form, patient):
        details = (PatientDetails(patient.name, patient.email, patient.phone, patient.born_on) if patient else
                   PatientDetails(form.name.data, form.email.data, form.phone.data, form.born_on))
        wanted = BookingRequest(service=form.service.data, practitioner=practitioner.slug, start=start,
                                patient=details, safety=tuple(form.codes), booked_via="desk")
        try:
            if form.how_often.data:  # a course: booked whole, or its page again with times to choose
                return desk_course(_account(), form, wanted, practitioner, patient, target)
            result = desk.book_for_caller(_account(), wanted, now())
        except EmergencyAnswers:
            return render_template("desk/book.html", form=form, practitioner=practitioner, start=start,
                                   patient=patient, alternatives=None, target=target, problem=None,
                                   emergency=True), 422
        except SlotTaken as taken:
            # Not "a moment ago": a time held since long before this page was opened (a link kept,
            # or typed) meets the same refusal (a hands-on trial).
            flash(f"{describe(clinic, practitioner, start)} is not free: another visit holds it. Nothing was "
                  "booked: choose another time.", "lost-race")
            return render_template("desk/book.html", form=form, practitioner=practitioner, start=start,
                                   patient=patient, alternatives=taken.alternatives, target=target,
                                   problem=None), 409
        except RequestProblem as problem:
            problem_text = _desk_words(problem, clinic, practitioner, start)
        else:
            booked = result.appointment
            flash(end_sentence(f"Booked {booked.patient.name} for {describe(clinic, booked.practitioner, booked.starts_at)}"),
                  "success")
            if booked.safety_flags:
                flash('Tell the caller: "Some of your answers need a doctor within 24 hours, before this visit. '
                      f'Contact {same_day_doctor(clinic.region)}. Your appointment stays booked."', "problem")
            return redirect(url_for("desk.appointment", appointment_id=booked.id), code=303)
    return render_template("desk/book.html", form=form, practitioner=practitioner, start=start,
                           patient=patient, alternatives=None, target=target, problem=problem_text)


def _desk_words(problem: RequestProblem, clinic, practitioner: Practitioner, start: datetime | None) -> str:
    """A booking problem as the desk reads it: the one written for API callers (which names the
    API's address) is said in plain words instead."""
    if problem.field == "start" and "/api/" in problem.message and start is not None:
        # The API's problem covers both ways a time is not free for this visit: off the steps, or
        # not long enough before the next visit or the end of the day (found in a hands-on trial).
        return (f"{describe(clinic, practitioner, start)} cannot be booked for this visit: a visit starts on the "
                f"calendar's {clinic.slot_step_minutes}-minute steps within working hours, and all of it must "
                "be free. Choose a free time on the calendar.")
    window = window_refusal(clinic, start, now(), desk_rules(clinic)) if problem.field == "start" and start else None
    if window == PASSED:
        return f"{describe(clinic, practitioner, start)} has already passed. Choose a time from now on."
    if window == TOO_FAR_AHEAD:
        last = clinic.today(now()) + timedelta(days=DESK_ADVANCE_DAYS)
        return (f"The desk books up to {DESK_ADVANCE_DAYS} days ahead, until {staff_date(clinic, last)}, and "
                f"{staff_date(clinic, start.astimezone(clinic.zone).date())} is later than that. Choose an earlier "
                "date.")
    return problem.message[0].upper() + problem.message[1:]


def _files_under_someone_else(form, patient) -> bool:
    """A "new patient" whose email and date of birth belong to a patient with another name
    would be filed under that patient: say so rather than book silently."""
    if patient is not None:
        return False
    existing = desk.someone_else_with_identity(form.name.data, form.email.data, form.born_on)
    if existing is None:
        return False
    form.name.errors = [*form.name.errors, (
        f"This email address and date of birth belong to {end_sentence(existing.name)} Find {existing.name} instead, "
        "or check the email address and date of birth")]
    return True


def _find_caller(practitioner: Practitioner, start: datetime, target: dict):
    form = PatientSearchForm()
    found = desk.find_patients(_account(), form.text.data, form.birth_date) if form.validate_on_submit() else None
    return render_template("desk/find_caller.html", form=form, found=found, practitioner=practitioner,
                           start=start, target=target)


# --- one appointment -------------------------------------------------------------------

def _no_such_visit(refused=lambda: abort(403, OWN_CALENDAR_ONLY)):
    """An appointment id that names no visit: 404 for who runs the desk; a practitioner gets the answer
    another practitioner's visit gets (`refused`), so that it tells them nothing of which ids exist."""
    if permissions.runs_the_desk(_account()):
        abort(404)
    refused()


def _not_allowed():
    raise permissions.NotAllowed()  # what the operations raise for another practitioner's visit


def _visible_appointment(appointment_id: int):
    appointment = desk.appointment_for(appointment_id)
    if appointment is None:
        _no_such_visit()
    if not desk.may_change(_account(), appointment.practitioner_id):
        abort(403, OWN_CALENDAR_ONLY)
    return appointment


@bp.get("/appointments/<int(max=2147483647):appointment_id>")
@staff_only()
def appointment(appointment_id: int):
    """The appointment's detail panel: who, when, status, flags, history and actions."""
    found = _visible_appointment(appointment_id)
    clinic = load_clinic()
    consent.load_status([found])
    notes.load_status([found])  # signed or not: the desk never reads a note's words
    return render_template("desk/appointment.html", appointment=found, form=ActionForm(),
                           statuses=desk.status_choices(found, clinic, now()), actions=desk.STATUS_ACTIONS,
                           bed=desk.bed_text(found.room, found.bed) if found.holds_time else "",
                           hands_on=desk.hands_on_with_rest(found) if found.holds_time else ())


@bp.post("/appointments/<int(max=2147483647):appointment_id>/status/<status>")
@staff_only()
def mark(appointment_id: int, status: str):
    try:
        wanted = AppointmentStatus(status)
    except ValueError:
        abort(404)
    if wanted is AppointmentStatus.CANCELLED:
        abort(404)  # cancelling has its own page, with a reason
    try:
        was = request.form.get("was", "")
        marked = desk.mark(_account(), appointment_id, wanted, now(),
                           was=AppointmentStatus(was) if was in STATUS_VALUES else None)
    except desk.NotVisible:
        _no_such_visit(_not_allowed)
    except RequestProblem as problem:
        flash(problem.message, "problem")
    else:
        flash(f"{marked.patient.name} is marked {wanted.label.lower()}.", "success")
    return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)


@bp.post("/appointments/<int(max=2147483647):appointment_id>/email-questions")
@staff_only()
def email_questions(appointment_id: int):
    """Send the patient a new link to the visit's questions (they phoned: the email went astray)."""
    try:
        said = desk.email_questions(_account(), appointment_id, now())
    except desk.NotVisible:
        _no_such_visit(_not_allowed)
    except RequestProblem as problem:
        flash(problem.message, "problem")
    else:
        flash(said, "success")
    return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)


@bp.post("/appointments/<int(max=2147483647):appointment_id>/confirm-identity")
@staff_only(StaffRole.ADMIN, StaffRole.RECEPTIONIST)
def confirm_identity(appointment_id: int):
    """The desk has checked who the patient is: their earlier visits open to this booking's practitioner."""
    try:
        confirmed = identity.confirm_by_desk(_account(), appointment_id, now())
    except desk.NotVisible:
        _no_such_visit(_not_allowed)
    except identity.NothingToConfirm as refused:
        flash(refused.message, "problem")
    else:
        flash(f"Identity confirmed: {confirmed.practitioner.name} now sees the earlier visits of "
              f"{end_sentence(confirmed.patient.name)}",
              "success")
    return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)


@bp.route("/appointments/<int(max=2147483647):appointment_id>/cancel", methods=["GET", "POST"])
@staff_only()
def cancel(appointment_id: int):
    found = _visible_appointment(appointment_id)
    if desk.unchangeable(found):
        flash(desk.unchangeable(found), "problem")
        return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            desk.cancel(_account(), appointment_id, form.reason_text, now(), patient_asked=form.reason.data == "patient",
                        seen=form.seen_version(found.sequence))
        except RequestProblem as problem:
            flash(problem.message, "problem")
        else:
            flash(f"The appointment of {found.patient.name} is cancelled; the time is free again.", "success")
        return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)
    return render_template("desk/cancel.html", appointment=found, form=form)


@bp.route("/appointments/<int(max=2147483647):appointment_id>/move", methods=["GET", "POST"])
@staff_only()
def move(appointment_id: int):
    """Choose a practitioner and a day, then one of the free times (the visit's own time counts as free)."""
    found = _visible_appointment(appointment_id)
    clinic = load_clinic()
    if desk.unchangeable(found):
        flash(desk.unchangeable(found), "problem")
        return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)
    able = [p for p in found.service.practitioners
            if p.is_active and desk.may_change(_account(), p.id)]
    form = MoveForm()
    slug = request.values.get("practitioner") or found.practitioner.slug
    practitioner = next((p for p in able if p.slug == slug), None)
    if practitioner is None:
        abort(404)
    day = asked_day(request.args.get("date") or found.starts_at.astimezone(clinic.zone).date().isoformat())
    if form.validate_on_submit():
        start = parse_instant(form.start.data)
        try:
            if start is None:
                raise RequestProblem("start", "Choose a new time from the list")
            desk.move(_account(), appointment_id, practitioner, start, now(), seen=form.seen_version(found.sequence))
        except SlotTaken:
            form.start.errors.append("That time is not free: another visit holds it. The appointment is unchanged: "
                                     "choose another.")
        except RequestProblem as problem:
            form.start.errors.append(_desk_words(problem, clinic, practitioner, start))
        else:
            flash(end_sentence(f"Moved to {describe(clinic, practitioner, start)}"), "success")
            return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)
    times = times_by_day(clinic, found.service, [practitioner], day, 1, now(), ignoring=found.id,
                         rules=desk_rules(clinic))[0]
    if times.starts:
        clash = clashes_with_other_visits(found, times.starts[0], times.starts[-1] + timedelta(days=1))
        times.starts[:] = [s for s in times.starts if not clash(s)  # the move would refuse them
                           and not (s == found.starts_at and practitioner.id == found.practitioner_id)]
    # The year is said when it is not this year's ("on Tuesday, January 1" for 2030: a hands-on trial).
    same_year = day.year == clinic.today(now()).year
    return render_template("desk/move.html", appointment=found, form=form, practitioners=able,
                           practitioner=practitioner, day=day, times=times, day_style="weekday" if same_year else "full",
                           previous=day - timedelta(days=1), following=day + timedelta(days=1))


# --- patients --------------------------------------------------------------------------

@bp.route("/patients", methods=["GET", "POST"])
@staff_only()
def patients():
    """Search by name, email, phone or date of birth (a POST, so no one's name lands in a URL)."""
    form = PatientSearchForm()
    searched = form.validate_on_submit()
    found = desk.find_patients(_account(), form.text.data, form.birth_date) if searched else None
    # Someone only on the waitlist has no patient record, yet is someone the admin may have to erase.
    waiting_only = desk.find_waiting_only(_account(), form.text.data, form.birth_date) if searched else []
    return render_template("desk/patients.html", form=form, found=found, waiting_only=waiting_only)


@bp.get("/patients/<int(max=2147483647):patient_id>")
@staff_only()
def patient(patient_id: int):
    try:
        found, appointments = desk.patient_for(_account(), patient_id)
    except desk.NotVisible:
        abort(404)
    erasure = patient_data.erasure_of(found.id) if found.is_erased else None
    return render_template("desk/patient.html", patient=found, appointments=appointments, erasure=erasure,
                           rights=patient_data.may_use_rights(_account()),
                           shows_past=identity.sees_history(_account(), found))


# --- working hours and time off ----------------------------------------------------------

def _practitioner(slug: str) -> Practitioner:
    practitioner = desk.practitioner_by_slug(slug)
    if practitioner is None:
        abort(404)
    return practitioner


def _appointments_now(outside: list) -> str:
    return "1 booked appointment now falls" if len(outside) == 1 else f"{len(outside)} booked appointments now fall"


@bp.route("/practitioners/<slug>/hours", methods=["GET", "POST"])
@staff_only(StaffRole.ADMIN, StaffRole.RECEPTIONIST)
def hours(slug: str):
    practitioner = _practitioner(slug)
    current = {weekday: [(h.start_time, h.end_time) for h in practitioner.hours if h.weekday == weekday]
               for weekday in range(7)}
    form = HoursForm(data={key: HoursForm.text_for(current[n]) for n, key in enumerate(WEEKDAYS)})
    if form.validate_on_submit():
        desk.set_hours(_account(), practitioner, form.weekly, now())
        outside = desk.outside_working_time(practitioner, now())
        flash(end_sentence(f"Working hours saved for {practitioner.name}") + (
            f" {_appointments_now(outside)} outside them: move or cancel each one below." if outside else ""), "success")
        return redirect(url_for("desk.hours", slug=slug), code=303)
    return render_template("desk/hours.html", form=form, practitioner=practitioner,
                           outside=desk.outside_working_time(practitioner, now()))


@bp.route("/practitioners/<slug>/time-off", methods=["GET", "POST"])
@staff_only()
def time_off(slug: str):
    practitioner = _practitioner(slug)
    if not desk.may_edit_time_off(_account(), practitioner):
        abort(403, OWN_CALENDAR_ONLY)
    clinic = load_clinic()
    form = TimeOffForm()
    if form.validate_on_submit():
        starts, ends = form.span()
        try:
            desk.add_time_off(_account(), practitioner, wall_clock_instant(starts.date(), starts.time(), clinic.zone),
                              wall_clock_instant(ends.date(), ends.time(), clinic.zone), form.reason.data, now())
        except RequestProblem as problem:
            form[problem.field].errors = [*form[problem.field].errors, problem.message]
        else:
            outside = desk.outside_working_time(practitioner, now())
            flash("Time off added." + (
                f" {_appointments_now(outside)} in time off or outside working hours: move or cancel each one below."
                if outside else ""), "success")
            return redirect(url_for("desk.time_off", slug=slug), code=303)
    return render_template("desk/time_off.html", form=form, practitioner=practitioner,
                           upcoming=desk.upcoming_time_off(practitioner, now()),
                           outside=desk.outside_working_time(practitioner, now()))


@bp.get("/practitioners/<slug>/time-off/<int(max=2147483647):time_off_id>/remove")
@staff_only()
def confirm_remove_time_off(slug: str, time_off_id: int):
    """Asks first, on a page of its own (so it works without JavaScript): nothing is removed here."""
    practitioner = _practitioner(slug)
    if not desk.may_edit_time_off(_account(), practitioner):
        abort(403, OWN_CALENDAR_ONLY)
    try:
        span = desk.time_off_of(_account(), practitioner, time_off_id)
    except desk.NotVisible:
        abort(404)
    return render_template("desk/remove_time_off.html", practitioner=practitioner, span=span, form=ActionForm())


@bp.post("/practitioners/<slug>/time-off/<int(max=2147483647):time_off_id>/remove")
@staff_only()
def remove_time_off(slug: str, time_off_id: int):
    """The confirmation page's Remove button."""
    practitioner = _practitioner(slug)
    try:
        removed = desk.remove_time_off(_account(), practitioner, time_off_id, now())
    except desk.NotVisible:
        abort(404)
    flash("Time off removed. Other time off still covers some of those hours: it is listed below."
          if desk.still_off(practitioner, removed) else "Time off removed; those hours are open for booking again.",
          "success")
    return redirect(url_for("desk.time_off", slug=slug), code=303)


@bp.app_template_global()
def time_off_span(span) -> str:
    """A span of time off in words, in the clinic's zone and locale: "Fri, Dec 24 – Tue, Dec 28 (all day)"."""
    clinic = load_clinic()
    return time_off_when(span.starts_at.astimezone(clinic.zone), span.ends_at.astimezone(clinic.zone),
                         get_locale() or "en_US", clinic.today(now()))


@bp.app_template_global()
def may_change(practitioner_id: int) -> bool:
    """May the signed-in staff member act on (and see the patients of) this calendar? Asked for
    every cell of a calendar, so answered once per practitioner in a request."""
    answers = g.setdefault("may_change_answers", {})
    if practitioner_id not in answers:
        answers[practitioner_id] = current_user.is_authenticated and desk.may_change(_account(), practitioner_id)
    return answers[practitioner_id]


@bp.app_template_global()
def book_link(practitioner_slug: str, start: str, patient_id: int | None = None) -> str:
    """The desk's booking form for a free time: what url_for("desk.book", ...) gives, with the
    route built once per request rather than for each of a day's hundreds of free cells (that
    building was most of the calendar's cost). The query is encoded as werkzeug encodes it."""
    if "desk_book_base" not in g:
        g.desk_book_base = url_for("desk.book")
    query = [("practitioner", practitioner_slug), ("start", start)]
    if patient_id is not None:
        query.append(("patient", patient_id))
    return f"{g.desk_book_base}?{urlencode(query, safe=URL_SAFE_IN_QUERY)}"


# What werkzeug leaves unescaped in a query (the WHATWG URL spec's percent-encode set).
URL_SAFE_IN_QUERY = "!$'()*,/:;?@"
