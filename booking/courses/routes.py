"""Courses on the web: the patient's "Book a course" (after choosing the first time), "cancel the rest
of the course" from the manage link, and the desk's the same for a caller.

The course the patient is putting together is kept in the booking draft (courses.web).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from booking.clock import now
from booking.courses.forms import CourseForm, CourseTimesForm
from booking.forms import how_often_choices
from booking.desk.forms import CancelForm as DeskCancelForm
from booking.formatting import clinic_time
from booking.desk.routes import _account, _visible_appointment
from booking.desk.routes import bp as desk_bp
from booking.manage.routes import bp as manage_bp
from booking.manage.forms import CancelForm
from booking.manage.routes import changeable
from booking.manage_link import with_appointment
from booking.models import Appointment
from booking.operations import desk, drafts
from booking.operations.bookings import VisitChanged
from booking.operations.courses import (
    CoursePlan,
    cancel_rest,
    cancel_rest_for_desk,
    course_visits,
    plan_course,
    rest_of_course,
    worked_weekdays,
)
from booking.operations.availability import load_clinic
from booking.operations.problems import CannotBook, RequestProblem
from booking.public.courses import chosen_before, course_of, repeat_of, saved_repeat, without_course
from booking.public.routes import bp as public_bp
from booking.public.routes import journey_step, next_page
from booking.scheduling.course import Length, how_often_value, overlapping, repeat_from
from booking.staff_access import staff_only
from booking.time_list import parse_instant

# The pages join the blueprints of their area, so each is a patient's or a staff page like its
# neighbours (language, caching, error pages): imported by create_app before those are registered.


def _plan(draft, course: dict) -> CoursePlan:
    return plan_course(draft.service.slug, course["practitioner"], draft.starts_at, repeat_of(course), now())


def _first_time_gone(draft):
    """The first visit's time can no longer be booked (it is too soon now): back to the time list,
    as for a single visit, with every other answer kept."""
    gone = clinic_time(draft.starts_at, load_clinic(), get_locale())
    drafts.save(draft, now(), starts_at=None, details=without_course(draft.details))
    flash(_("%(time)s can no longer be booked online. Choose another time for your first visit: your other "
            "answers are saved.", time=gone), "lost-race")
    return redirect(url_for("public.choose_time"), code=303)


@public_bp.route("/book/course", methods=["GET", "POST"])
@journey_step("safety")
def choose_course(draft):
    """How often and how many, after the first time is chosen."""
    saved = (draft.details or {}).get("course") or {}
    form = CourseForm(data={"how_often": how_often_value(repeat_of(saved)) if saved else None,
                            "count": str(saved.get("count", "")) or None})
    first_weekday = draft.starts_at.astimezone(load_clinic().zone).weekday()
    form.how_often.choices = how_often_choices(
        first_weekday, worked_weekdays(draft.service.slug, draft.practitioner_choice))
    if "single" in request.form and CourseTimesForm().validate_on_submit():
        drafts.save(draft, now(), details=without_course(draft.details))
        flash(_("You are booking one visit."), "success")
        return next_page(draft)
    if form.validate_on_submit():
        repeat = repeat_from(form.how_often.data, int(form.count.data))
        try:
            plan = plan_course(draft.service.slug, draft.practitioner_choice, draft.starts_at, repeat, now())
        except CannotBook as problem:
            if problem.field == "start":
                return _first_time_gone(draft)
            form.count.errors.append(problem.message)
        else:
            drafts.save(draft, now(), details=draft.details | {"course": saved_repeat(repeat) | {
                "practitioner": plan.practitioner.slug, "first": draft.starts_at.isoformat(), "starts": None}})
            return redirect(url_for("public.course_times"), code=303)
    return render_template("courses/choose.html", form=form, draft=draft)


@public_bp.route("/book/course/times", methods=["GET", "POST"])
@journey_step("safety")
def course_times(draft):
    """Every proposed time; for each one not free, the nearest free times to choose from."""
    course = course_of(draft)
    if course is None:
        return redirect(url_for("public.choose_course"))
    try:
        plan = _plan(draft, course)
    except CannotBook as problem:
        if problem.field == "start":
            return _first_time_gone(draft)
        flash(problem.message, "lost-race")
        return redirect(url_for("public.choose_course"))
    form = CourseTimesForm()
    saved = chosen_before(course)
    picked = {p.number: next((alt for alt in p.alternatives if alt.isoformat() in saved), None)
              for p in plan.proposals if not p.is_free}
    errors: list[tuple[str, str]] = []
    if form.validate_on_submit():
        for proposal in plan.proposals:
            if proposal.is_free:
                continue
            wanted = parse_instant(request.form.get(f"visit-{proposal.number}", ""))
            picked[proposal.number] = wanted if wanted in proposal.alternatives else None
            if picked[proposal.number] is None:
                errors.append((f"visit-{proposal.number}-0", _("Choose a time for visit %(number)s",
                                                               number=proposal.number)))
        if not errors:
            starts = [p.wanted if p.is_free else picked[p.number] for p in plan.proposals]
            lengths = [Length(plan.service_of(p.number).minutes, plan.service_of(p.number).buffer_minutes)
                       for p in plan.proposals]
            clash = overlapping(starts, lengths)
            if clash:
                errors.append((f"visit-{clash[1]}-0", _("Visits %(one)s and %(other)s would overlap: choose another "
                                                        "time for one of them.", one=clash[0], other=clash[1])))
            else:
                drafts.save(draft, now(), details=draft.details | {"course": course | {
                    "starts": [start.isoformat() for start in starts]}})
                return next_page(draft)
    errors = form.error_list() + errors
    return render_template("courses/times.html", form=form, plan=plan, picked=picked, errors=errors,
                           error_for={target.rsplit("-", 1)[0]: message for target, message in errors})


@manage_bp.route("/cancel-course", methods=["GET", "POST"], endpoint="cancel_rest_of_course")
@with_appointment
@changeable
def patient_cancels_rest(appointment, token):
    """The patient cancels this visit and the later visits of its course in one step."""
    rest = rest_of_course(appointment)
    if appointment.course_id is None or not rest:
        return redirect(url_for("manage.cancel_visit", token=token))
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancelled = cancel_rest(appointment.id, form.reason.data, now(), seen=form.seen_version(appointment.sequence))
        except VisitChanged as problem:
            flash(problem.message, "problem")
        except CannotBook as problem:
            flash(problem.message, "problem")
        else:
            flash(_("%(count)s visits of your course have been cancelled.", count=len(cancelled)), "success")
        return redirect(url_for("manage.show", token=token), code=303)
    return render_template("courses/manage_cancel.html", appointment=appointment, token=token, form=form, rest=rest)


@desk_bp.route("/appointments/<int(max=2147483647):appointment_id>/cancel-course", methods=["GET", "POST"],
               endpoint="cancel_rest_of_course")
@staff_only()
def desk_cancels_rest(appointment_id: int):
    """The desk cancels a visit and the later visits of its course for a caller, in one step."""
    found = _visible_appointment(appointment_id)
    rest = rest_of_course(found)
    if found.course_id is None or not rest:
        flash("This visit has no booked visits of a course from here on.", "problem")
        return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)
    form = DeskCancelForm()
    if form.validate_on_submit():
        try:
            cancelled = cancel_rest_for_desk(_account(), appointment_id, form.reason_text, now(),
                                             patient_asked=form.reason.data == "patient",
                                             seen=form.seen_version(found.sequence))
        except (RequestProblem, desk.NotVisible) as problem:
            flash(getattr(problem, "message", "This visit can no longer be changed here."), "problem")
        else:
            flash(f"{len(cancelled)} visits of the course of {found.patient.name} are cancelled; their times are "
                  "free again.", "success")
        return redirect(url_for("desk.appointment", appointment_id=appointment_id), code=303)
    return render_template("courses/desk_cancel.html", appointment=found, form=form, rest=rest)


@public_bp.app_template_global("course_visits")
def visits_of(appointment: Appointment) -> list[Appointment]:
    """The visits of the appointment's course, for a page (none for a visit in no course)."""
    return course_visits(appointment) if appointment.course_id is not None else []
