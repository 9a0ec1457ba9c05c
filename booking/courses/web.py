"""The course in a patient's booking draft, for the journey's pages (public.routes and courses.routes).

It is kept in the draft's details, like every other answer, as {"every_days", "count",
"practitioner", "first", "starts"}: `first` is the first time it was planned from, `starts` is
None until a time is chosen for every visit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import flash, redirect, render_template, request, url_for

from booking.clock import now
from booking.operations import drafts
from booking.formatting import end_sentence
from booking.operations.availability import desk_rules, load_clinic
from booking.operations.bookings import describe
from booking.operations.courses import VisitNotFree, book_course, book_course_for_caller, plan_course
from booking.safety import same_day_doctor
from booking.time_list import parse_instant
from booking.scheduling.course import Repeat


def without_course(details: dict) -> dict:
    return {key: value for key, value in details.items() if key != "course"}


def course_of(draft) -> dict | None:
    """The course the draft asks for, or None for a single visit. A course planned from another
    first time (the patient changed it since) no longer applies and is dropped."""
    course = (draft.details or {}).get("course")
    if not course:
        return None
    if draft.starts_at is None or course.get("first") != draft.starts_at.isoformat():
        drafts.save(draft, now(), details=without_course(draft.details))
        return None
    return course


def chosen_starts(course: dict) -> list[datetime] | None:
    return [datetime.fromisoformat(start) for start in course["starts"]] if course.get("starts") else None


def book(draft, course: dict, request, draft_key: str):
    """Book the draft's course at the chosen times, all or none (book_course)."""
    wanted = replace(request, practitioner=course["practitioner"])
    return book_course(wanted, Repeat(course["every_days"], course["count"]), chosen_starts(course), now(),
                       draft=draft, draft_key=draft_key)


def lost_race(draft, course: dict, lost: VisitNotFree):
    """Back to the course's times, saying which visit is no longer free; every other answer stays."""
    drafts.save(draft, now(), details=draft.details | {"course": course | {"starts": None}})
    flash(lost.message, "lost-race")
    return redirect(url_for("public.course_times"), code=303)


def desk_course(account, form, wanted, practitioner, patient, target):
    """The desk's course for a caller: booked whole when every visit has a time, else the booking
    page again with each visit's proposal and, for those not free, the nearest times to choose
    (what was typed stays). EmergencyAnswers and CannotBook (VisitNotFree) go to the caller."""
    repeat = Repeat(int(form.every_days.data), int(form.count.data))
    clinic = load_clinic()
    plan = plan_course(wanted.service, wanted.practitioner, wanted.start, repeat, now(), rules=desk_rules(clinic))
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
                               course_plan=plan, picked=picked), 409
    starts = [p.wanted if p.is_free else picked[p.number] for p in plan.proposals]
    result = book_course_for_caller(account, wanted, repeat, starts, now())
    first = result.appointments[0]
    flash(end_sentence(f"Booked a course of {repeat.count} visits for {first.patient.name}, the first "
                       f"{describe(clinic, first.practitioner, first.starts_at)}"), "success")
    if first.safety_flags:
        flash('Tell the caller: "Some of your answers need a doctor within 24 hours, before this visit. '
              f'Contact {same_day_doctor(clinic.region)}. Your appointments stay booked."', "problem")
    return redirect(url_for("desk.appointment", appointment_id=first.id), code=303)
