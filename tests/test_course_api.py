"""POST /api/v1/bookings with "repeat": a course booked whole or not at all (both databases)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, Course
from tests.test_desk import book_online

PATIENT = {"name": "Pat Course", "email": "pat@example.com", "phone": "+1 213 555 0142", "birth_date": "1980-04-02"}
TUESDAY = "2027-03-09T10:00:00-08:00"


def course(client, **changes):
    body = {"service": "consult", "practitioner": "ana", "start": TUESDAY, "patient": PATIENT, "safety": [],
            "repeat": {"every_days": 7, "count": 4}, **changes}
    return client.post("/api/v1/bookings", json=body)


def visits(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))


def test_a_repeat_books_every_visit_and_lists_them(clinic):
    response = course(clinic.test_client())
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["course"] == {"every_days": 7, "count": 4}
    assert [v["start"] for v in answer["visits"]] == [
        "2027-03-09T10:00:00-08:00", "2027-03-16T10:00:00-07:00", "2027-03-23T10:00:00-07:00",
        "2027-03-30T10:00:00-07:00"]
    assert [v["service"] for v in answer["visits"]] == ["consult", "short", "short", "short"]
    assert len({v["manage_url"] for v in answer["visits"]}) == 4
    assert all(clinic.test_client().get(v["manage_url"].removeprefix("http://clinic.test")).status_code == 200
               for v in answer["visits"])
    assert visits(clinic) == 4


def test_a_visit_not_free_books_nothing_and_names_it_with_alternatives(clinic):
    book_online(clinic, start="2027-03-16T10:00:00-07:00", email="other@example.com")
    response = course(clinic.test_client())
    assert response.status_code == 409
    answer = response.get_json()
    assert answer["error"] == "course_not_free"
    [second] = answer["visits"]
    assert second["number"] == 2 and second["start"] == "2027-03-16T10:00:00-07:00"
    assert second["alternatives"] and all(a["practitioner"] == "ana" for a in second["alternatives"])
    assert visits(clinic) == 1


@pytest.mark.parametrize("repeat, errors", [
    ({"every_days": 7, "count": 13}, {"repeat.count": "must be a whole number from 2 to 12, not 13 (visits in all, "
                                                       "the first included)"}),
    ({"every_days": "weekly", "count": 4}, {"repeat.every_days": "must be a whole number from 1 to 28, not the "
                                                                 "text 'weekly'"}),
    ({"every_days": 7, "count": 4, "until": "2027-04-01"}, {"repeat.until": "is not a field here; the fields are "
                                                                             "every_days, weekdays, count"}),
    ([7, 4], {"repeat": 'must be an object: {"every_days": 7, "count": 4} or {"weekdays": ["mon", "thu"], '
                        '"count": 6}, not a list'}),
    (5, {"repeat": 'must be an object: {"every_days": 7, "count": 4} or {"weekdays": ["mon", "thu"], '
                   '"count": 6}, not a number'}),
    ({"every_days": 7}, {"repeat.count": "is required: a whole number from 2 to 12 (visits in all, the first "
                                          "included)"}),
    ({"every_days": 7, "count": None}, {"repeat.count": "is required: a whole number from 2 to 12 (visits in all, "
                                                        "the first included)"}),
    ({"every_days": 7, "count": "four"}, {"repeat.count": "must be a whole number from 2 to 12, not the text 'four' "
                                                          "(visits in all, the first included)"}),
    ({"weekdays": "tuesday", "count": 4}, {"repeat.weekdays": "must be two different days of the week (mon, tue, "
                                           "wed, thu, fri, sat, sun), e.g. "
                                           '["mon", "thu"], not text'}),
    ({"weekdays": ["tue", "tuesday"], "count": 4}, {"repeat.weekdays": "must be two different days of the week "
                                                    "(mon, tue, wed, thu, fri, sat, sun), "
                                                    "e.g. [\"mon\", \"thu\"], not one holding 'tuesday'"}),
    ({"weekdays": ["tue"], "count": 4}, {"repeat.weekdays": "must be two different days of the week (mon, tue, wed, "
                                          'thu, fri, sat, sun), e.g. ["mon", "thu"]: twice a week (once a week is '
                                          "every_days 7), not 1 day"}),
    ({"weekdays": ["mon", "wed", "fri"], "count": 4}, {"repeat.weekdays": "must be two different days of the week "
                                                       '(mon, tue, wed, thu, fri, sat, sun), e.g. ["mon", "thu"]: '
                                                       "twice a week (once a week is every_days 7), not 3 days"}),
    ({"weekdays": ["tue", "tue"], "count": 4}, {"repeat.weekdays": "must be two different days of the week (mon, tue, "
                                                "wed, thu, fri, sat, sun), e.g. [\"mon\", \"thu\"], each once"}),
    ({"weekdays": ["tue", "fri"], "every_days": 7, "count": 4}, {"repeat": 'needs every_days or weekdays, not both: '
                                                              '{"every_days": 7, "count": 4} or {"weekdays": '
                                                              '["mon", "thu"], "count": 6}'}),
    ({"count": 4}, {"repeat": 'needs every_days or weekdays, one of them: {"every_days": 7, "count": 4} or '
                              '{"weekdays": ["mon", "thu"], "count": 6}'}),
])
def test_a_bad_repeat_is_refused_naming_the_field(clinic, repeat, errors):
    response = course(clinic.test_client(), repeat=repeat)
    assert response.status_code == 422
    assert response.get_json() == {"error": "invalid", "errors": errors}
    assert visits(clinic) == 0


def test_a_course_past_the_horizon_is_refused_with_the_dates(clinic):
    response = course(clinic.test_client(), repeat={"every_days": 7, "count": 6})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"repeat.count": (
        "The last visit would be on Apr 13, 2027, but bookings are open only until Apr 7, 2027: choose fewer "
        "visits or fewer days between them.")}
    assert visits(clinic) == 0


def test_twice_a_week_books_the_same_two_weekdays(clinic):
    response = course(clinic.test_client(), repeat={"weekdays": ["fri", "tue"], "count": 5})
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["course"] == {"weekdays": ["tue", "fri"], "count": 5}
    assert [v["start"][:10] for v in answer["visits"]] == ["2027-03-09", "2027-03-12", "2027-03-16", "2027-03-19",
                                                          "2027-03-23"]
    assert {v["start"][11:16] for v in answer["visits"]} == {"10:00"}
    with clinic.app_context():
        assert db.session.scalar(sa.select(Course.weekdays)) == [1, 4]
    assert visits(clinic) == 5


def test_weekdays_without_the_first_visits_day_are_refused(clinic):
    response = course(clinic.test_client(), repeat={"weekdays": ["mon", "thu"], "count": 4})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"repeat.weekdays": (
        "The first visit is on a Tuesday, so the days of the course must include it: choose days that do, or "
        "another first time.")}
    assert visits(clinic) == 0


def test_a_first_time_never_on_offer_and_a_weekday_not_worked_are_422_not_409(clinic):
    """Both came back 409 course_not_free, with alternatives, as if the visits had been taken (a
    hands-on trial): the README promises a 422 keyed as for a single booking."""
    outside = "2027-03-09T07:00:00-08:00"  # Ana starts at 09:00
    single = clinic.test_client().post("/api/v1/bookings", json={
        "service": "consult", "practitioner": "ana", "start": outside, "patient": PATIENT, "safety": []})
    response = course(clinic.test_client(), start=outside)
    assert response.status_code == single.status_code == 422
    assert response.get_json() == single.get_json()
    assert "is not a start time on offer" in response.get_json()["errors"]["start"]
    ben = course(clinic.test_client(), service="short", practitioner="ben", start="2027-03-08T10:00:00-08:00",
                 repeat={"weekdays": ["mon", "thu"], "count": 4})  # Ben works Mondays and Wednesdays
    assert ben.status_code == 422
    assert ben.get_json()["errors"] == {"repeat.weekdays": (
        "Ben Test does not work on Thursday: choose two days of the week they work.")}
    assert visits(clinic) == 0


def test_a_course_starting_in_the_past_is_refused_as_a_single_booking_is(clinic):
    past = "2027-03-01T10:00:00-08:00"
    single = clinic.test_client().post("/api/v1/bookings", json={
        "service": "consult", "practitioner": "ana", "start": past, "patient": PATIENT, "safety": []})
    response = course(clinic.test_client(), start=past)
    assert response.status_code == single.status_code == 422
    assert response.get_json() == single.get_json() == {"error": "invalid", "errors": {
        "start": "2027-03-01 10:00 PST has already passed"}}
    assert visits(clinic) == 0


@pytest.mark.parametrize("changes, errors", [
    ({"service": 5}, {"service": "must be a service slug from /api/v1/services, not a number"}),
    ({"service": ""}, {"service": "is required: a service slug from /api/v1/services"}),
    ({"start": ["2027-03-09"]}, {"start": "must be an ISO 8601 time with its offset, as /api/v1/slots gives it, "
                                          "not a list"}),
    ({"safety": "none"}, {"safety": "must be a list of the safety codes that apply, [] when none do, not text"}),
    ({"patient": None}, {"patient": 'is required: an object: {"name", "email", "phone", "birth_date"}'}),
    # It read "phone must be a string", unlike every other field (a hands-on trial).
    ({"patient": PATIENT | {"phone": 2135550199}},
     {"patient.phone": 'must be a phone number as text, like "+1 213 555 0142", not a number'}),
    ({"patient": PATIENT | {"name": ["Pat"]}}, {"patient.name": "must be the patient's full name, not a list"}),
])
def test_a_value_of_the_wrong_type_is_named_not_called_missing(clinic, changes, errors):
    response = course(clinic.test_client(), **changes)
    assert response.status_code == 422
    assert response.get_json() == {"error": "invalid", "errors": errors}
