"""The desk's course for a caller: how often and how many on the booking form, every visit's
time proposed, and the nearest free times for any that is not free."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from booking.clock import now
from booking.formatting import end_sentence
from booking.operations.availability import desk_rules, load_clinic
from booking.operations.bookings import describe
from booking.operations.courses import book_course_for_caller, plan_course
from booking.operations.desk import past_the_hours_said
from booking.operations.problems import CannotBook
from booking.safety import same_day_doctor
from booking.scheduling.course import repeat_from
from booking.time_list import parse_instant


def desk_course(account, form, wanted, practitioner, patient, target):
    """The desk's course for a caller: booked whole when every visit has a time, else the booking
    page again with each visit's proposal and, for those not free, the nearest times to choose
    (what was typed stays). EmergencyAnswers and CannotBook (VisitNotFree) go to the caller."""
    repeat = repeat_from(form.how_often.data, int(form.count.data))
    clinic = load_clinic()
    try:
        plan = plan_course(wanted.service, wanted.practitioner, wanted.start, repeat, now(), rules=desk_rules(clinic))
    except CannotBook as problem:
        raise past_the_hours_said(problem, practitioner, wanted, now()) from None
    picked = {}
    for proposal in plan.proposals:
        if not proposal.is_free:
            chosen = parse_instant(request.form.get(f"visit-{proposal.number}", ""))
            picked[proposal.number] = chosen if chosen in proposal.alternatives else None
    missing = [number for number, start in picked.items() if start is None]
    if missing:
        problem = (f"Visit {missing[0]} of {repeat.count} is not free: choose another time for it below, then book "
                   "again." if len(missing) == 1 else
                   f"Visits {', '.join(map(str, missing))} are not free: choose another time for each below, then "
                   "book again.")
        return render_template("desk/book.html", form=form, practitioner=practitioner, start=wanted.start,
                               patient=patient, alternatives=None, target=target, problem=problem,
                               problem_at=_first_choice(plan, missing[0]), course_plan=plan, picked=picked), 409
    starts = [p.wanted if p.is_free else picked[p.number] for p in plan.proposals]
    result = book_course_for_caller(account, wanted, repeat, starts, now())
    first = result.appointments[0]
    flash(end_sentence(f"Booked a course of {repeat.count} visits for {first.patient.name}, the first "
                       f"{describe(clinic, first.practitioner, first.starts_at)}"), "success")
    if first.safety_flags:
        flash('Tell the caller: "Some of your answers need a doctor within 24 hours, before this visit. '
              f'Contact {same_day_doctor(clinic.region)}. Your appointments stay booked."', "problem")
    return redirect(url_for("desk.appointment", appointment_id=first.id), code=303)


def _first_choice(plan, number: int) -> str:
    """Where the error summary leads for a visit not free: its first other time, as on the patient's
    page, or the top of the page when it has none to choose."""
    proposal = next(p for p in plan.proposals if p.number == number)
    return f"visit-{number}-0" if proposal.alternatives else "main"
