"""A course racing single bookings for its own times, against real gunicorn worker processes on
SQLite and PostgreSQL: the course gets all its visits or none, and no two visits ever overlap."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus
from tests.conftest import app_config, close_database
from tests.test_concurrency import call, gunicorn  # noqa: F401 (fixture)

VISITS = 4
SINGLES_PER_TIME = 2
ROUNDS = 3


def patient(number: int) -> dict:
    return {"name": f"Patient {number}", "email": f"p{number}@example.com", "phone": "+1 213 555 0100",
            "birth_date": "1980-01-01"}


def weekly(start: str) -> list[str]:
    """The course's times: the same wall-clock time every seven days (no clock change in these weeks
    matters: the offset is carried over only when it is the same, which the check below asserts)."""
    first = datetime.fromisoformat(start)
    return [(first + timedelta(days=7 * n)).isoformat() for n in range(VISITS)]


def course_start(base: str) -> str:
    """The first free time whose three weekly repeats are free too."""
    status, found = call(f"{base}/api/v1/slots?service=short&practitioner=ana&days=28")
    assert status == 200, found
    free = {slot["start"] for slot in found["slots"] if slot["practitioner"] == "ana"}
    return next(start for start in sorted(free, key=datetime.fromisoformat) if set(weekly(start)) <= free)


def race(base: str, start: str, round_number: int) -> tuple[tuple[int, dict], list[tuple[int, dict, str]]]:
    """The course and SINGLES_PER_TIME single bookings of each of its times, released together."""
    times = weekly(start)
    contenders = [("course", start)] + [("single", at) for at in times for _ in range(SINGLES_PER_TIME)]
    release = threading.Barrier(len(contenders), timeout=30)

    def contend(number: int):
        kind, at = contenders[number]
        payload = {"service": "short", "practitioner": "ana", "start": at,
                   "patient": patient(1000 * round_number + number), "safety": []}
        if kind == "course":
            payload["repeat"] = {"every_days": 7, "count": VISITS}
        release.wait()
        status, answer = call(f"{base}/api/v1/bookings", payload)
        return status, answer, at

    with ThreadPoolExecutor(max_workers=len(contenders)) as pool:
        answers = list(pool.map(contend, range(len(contenders))))
    return answers[0][:2], answers[1:]


def holding(database_url: str) -> list[tuple[datetime, datetime, int | None]]:
    check = create_app(app_config(database_url))
    with check.app_context():
        rows = db.session.execute(sa.select(Appointment.starts_at, Appointment.occupied_until, Appointment.course_id)
                                  .where(Appointment.status.in_(AppointmentStatus.holding_time()),
                                         Appointment.practitioner.has(slug="ana"))
                                  .order_by(Appointment.starts_at)).all()
    close_database(check)
    return [tuple(row) for row in rows]


@pytest.mark.slow
def test_a_course_racing_single_bookings_gets_all_its_visits_or_none_and_nothing_overlaps(gunicorn, database_url):  # noqa: F811
    outcomes = []
    for round_number in range(1, ROUNDS + 1):
        start = course_start(gunicorn)
        times = weekly(start)
        (course_status, course_answer), singles = race(gunicorn, start, round_number)
        assert course_status in (201, 409), course_answer
        single_wins = [at for status, _, at in singles if status == 201]
        for status, answer, _ in singles:
            assert status in (201, 409), answer
            if status == 409:
                assert answer["error"] == "slot_taken"
        if course_status == 201:
            assert [visit["start"] for visit in course_answer["visits"]] == times
            assert single_wins == []  # every time went to the course
        else:
            assert course_answer["error"] == "course_not_free"
            assert {visit["number"] for visit in course_answer["visits"]} <= set(range(1, VISITS + 1))
            assert sorted(single_wins) == sorted(times)  # one single booking won each time
        outcomes.append(course_status)

        rows = holding(database_url)
        for (_, end, _), (next_start, _, _) in zip(rows, rows[1:]):
            assert end <= next_start, rows  # no overlap, in any round
        by_course: dict[int, int] = {}
        for _, _, course_id in rows:
            if course_id is not None:
                by_course[course_id] = by_course.get(course_id, 0) + 1
        assert all(count == VISITS for count in by_course.values()), by_course  # never half a course
    assert len(outcomes) == ROUNDS
