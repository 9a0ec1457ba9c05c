"""The course in a patient's booking draft, for the journey's pages (public.routes and courses.routes).

It is kept in the draft's details, like every other answer, as {"every_days", "weekdays", "count",
"practitioner", "first", "starts", "kept"}: `first` is the first time it was planned from, `starts` is
None until a time is chosen for every visit, and `kept` the times still chosen after a lost race.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import flash, redirect, url_for

from booking.clock import now
from booking.operations import drafts
from booking.operations.courses import VisitNotFree, book_course
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


def repeat_of(course: dict) -> Repeat:
    """The draft's course's repeat (a course saved before weekdays were kept has none)."""
    return Repeat(course["every_days"], course["count"], tuple(course.get("weekdays") or ()))


def saved_repeat(repeat: Repeat) -> dict:
    """A repeat as the draft keeps it (repeat_of reads it back)."""
    return {"every_days": repeat.every_days, "weekdays": list(repeat.weekdays), "count": repeat.count}


def chosen_starts(course: dict) -> list[datetime] | None:
    return [datetime.fromisoformat(start) for start in course["starts"]] if course.get("starts") else None


def book(draft, course: dict, request, draft_key: str):
    """Book the draft's course at the chosen times, all or none (book_course)."""
    wanted = replace(request, practitioner=course["practitioner"])
    return book_course(wanted, repeat_of(course), chosen_starts(course), now(),
                       draft=draft, draft_key=draft_key)


def chosen_before(course: dict) -> set[str]:
    """The times the patient has chosen so far (as saved), for the course's times page to tick."""
    return set(course.get("starts") or course.get("kept") or ())


def lost_race(draft, course: dict, lost: VisitNotFree):
    """Back to the course's times, saying which visit is no longer free; every other answer stays,
    the times chosen for the other visits too: only the lost visit is asked again."""
    kept = [start for number, start in enumerate(course["starts"], 1) if number != lost.number]
    drafts.save(draft, now(), details=draft.details | {"course": course | {"starts": None, "kept": kept}})
    flash(lost.message, "lost-race")
    return redirect(url_for("public.course_times"), code=303)
