"""The free times a process keeps (operations.availability.offered_slots) are exactly what it would
work out afresh: every change to a practitioner's diary renews their diary stamp in its own
transaction, whichever process makes it, and the clock is part of what an answer is kept under."""

from datetime import timedelta

import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, Patient, Practitioner, StaffAccount, StaffRole
from booking.operations import bookings, catalogue, desk
from booking.operations.availability import find_slots
from booking.operations.staff import add_staff
from tests.conftest import app_config, close_database
from tests.test_api import body, slots
from tests.test_booking_journey import PatientBrowser

WEEK = {"practitioner": "any", "days": 7}


def diary_stamps(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Practitioner.slug, Practitioner.diary_stamp)).all())


def desk_account(app):
    with app.app_context():
        account = add_staff("desk.diary@example.org", "Desk", StaffRole.RECEPTIONIST, "correct horse battery",
                            app.config["CLOCK"]())
        return account.id


def as_account(account_id) -> StaffAccount:
    return db.session.get(StaffAccount, account_id)


def practitioner(slug: str) -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == slug))


def fresh_answer(app, **params) -> list[dict]:
    """The slots as a request would get them with nothing kept: find_slots at the clock's now."""
    with app.app_context():
        known = catalogue.current()
        service = known.service(params.get("service", "short"))
        chosen = known.practitioners_for(service, params["practitioner"])
        now = app.config["CLOCK"]()
        found = find_slots(known, service, chosen, known.today(now), params["days"], now)
        return [{"start": s.start.astimezone(known.zone).isoformat(), "end": s.end.astimezone(known.zone).isoformat(),
                 "practitioner": s.practitioner} for s in found]


def test_each_change_to_a_diary_renews_only_the_stamps_of_the_practitioners_it_touches(clinic):
    account_id = desk_account(clinic)
    before = diary_stamps(clinic)

    booked = clinic.test_client().post("/api/v1/bookings", json=body())
    assert booked.status_code == 201, booked.get_json()
    after_booking = diary_stamps(clinic)
    assert after_booking["ana"] != before["ana"] and after_booking["ben"] == before["ben"]

    with clinic.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booked.get_json()["reference"]))
        visit_id = visit.id
        desk.move(as_account(account_id), visit_id, practitioner("ben"), visit.starts_at + timedelta(hours=2),
                  clinic.config["CLOCK"]())
    after_move = diary_stamps(clinic)
    assert after_move["ana"] != after_booking["ana"] and after_move["ben"] != after_booking["ben"]

    with clinic.app_context():
        db.session.get(Patient, db.session.get(Appointment, visit_id).patient_id).phone = "+1 213 555 0199"
        db.session.commit()  # not a change to anyone's time
    assert diary_stamps(clinic) == after_move

    with clinic.app_context():
        desk.cancel(as_account(account_id), visit_id, "test", clinic.config["CLOCK"](), patient_asked=True)
    after_cancel = diary_stamps(clinic)
    assert after_cancel["ben"] != after_move["ben"] and after_cancel["ana"] == after_move["ana"]

    now = clinic.config["CLOCK"]()
    with clinic.app_context():
        time_off = desk.add_time_off(as_account(account_id), practitioner("ana"), now + timedelta(days=1),
                                     now + timedelta(days=2), "Course", now)
        time_off_id = time_off.id
    after_time_off = diary_stamps(clinic)
    assert after_time_off["ana"] != after_cancel["ana"] and after_time_off["ben"] == after_cancel["ben"]
    with clinic.app_context():
        desk.remove_time_off(as_account(account_id), practitioner("ana"), time_off_id, clinic.config["CLOCK"]())
    assert diary_stamps(clinic)["ana"] != after_time_off["ana"]


def test_a_process_that_kept_the_free_times_sees_another_processs_booking_cancel_and_time_off(clinic):
    """Two apps on one database stand for two processes."""
    other = create_app(app_config(clinic.config["SQLALCHEMY_DATABASE_URI"], CLOCK=clinic.config["CLOCK"]))
    try:
        keeper, writer = clinic.test_client(), other.test_client()
        first = slots(keeper, **WEEK)
        assert slots(keeper, **WEEK) == first  # kept
        taken = first["slots"][0]
        booked = writer.post("/api/v1/bookings", json=body(start=taken["start"], practitioner=taken["practitioner"]))
        assert booked.status_code == 201, booked.get_json()
        after_booking = slots(keeper, **WEEK)
        assert taken not in after_booking["slots"]
        assert after_booking["slots"] == fresh_answer(clinic, **WEEK)

        with other.app_context():
            visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booked.get_json()["reference"]))
            bookings.cancel(visit.id, "test", other.config["CLOCK"]())
        assert slots(keeper, **WEEK) == first  # the time is free again

        account_id = desk_account(other)
        now = other.config["CLOCK"]()
        with other.app_context():
            desk.add_time_off(as_account(account_id), practitioner("ben"), now, now + timedelta(days=8), "Away", now)
        after_time_off = slots(keeper, **WEEK)
        assert {s["practitioner"] for s in after_time_off["slots"]} == {"ana"}
        assert after_time_off["slots"] == fresh_answer(clinic, **WEEK)
    finally:
        close_database(other)


def test_a_kept_answer_never_outlives_the_minute_its_notice_ends_in(clinic):
    """At 08:00:00 with two hours' notice, 10:00 may still be booked; a moment later it may not.
    Whatever the second, the kept answer is the one worked out afresh."""
    clock = clinic.config["CLOCK"]
    client = clinic.test_client()
    start = clock.now
    for seconds in (0, 0.5, 30, 59, 60, 61, 899, 900, 901, 3600 * 16):
        clock.now = start + timedelta(seconds=seconds)
        for params in (WEEK, {"practitioner": "ana", "days": 1}):
            assert slots(client, **params)["slots"] == fresh_answer(clinic, **params), (seconds, params)
    clock.now = start
    assert slots(client, practitioner="ana", days=1)["slots"][0]["start"] == "2027-03-08T10:00:00-08:00"
    clock.now = start + timedelta(microseconds=1)
    assert slots(client, practitioner="ana", days=1)["slots"][0]["start"] == "2027-03-08T10:15:00-08:00"


def test_a_repeated_slots_request_asks_the_database_one_thing(client, clinic, count_queries):
    slots(client, practitioner="any", days=2)  # the process reads the clinic's settings once
    costs = []
    for _ in range(2):
        with count_queries() as counted:
            slots(client, **WEEK)
        costs.append(counted.total)
    # The first: the stamps (settings and diaries, one statement), then the window. The next: the stamps.
    assert costs == [2, 1]


def test_the_time_list_page_keeps_its_times_too_and_drops_one_booked_meanwhile(clinic):
    patient = PatientBrowser(clinic)
    patient.answer_first_visit("yes")
    patient.submit("/book", {"service": "short"})
    patient.submit("/book/practitioner", {"practitioner": "ana"})
    monday_10 = 'value="2027-03-08T10:00:00-08:00"'
    assert monday_10 in patient.get("/book/time").get_data(as_text=True)
    assert monday_10 in patient.get("/book/time").get_data(as_text=True)  # kept
    assert clinic.test_client().post("/api/v1/bookings", json=body()).status_code == 201  # someone else books it
    page = patient.get("/book/time").get_data(as_text=True)
    assert monday_10 not in page and 'value="2027-03-08T10:30:00-08:00"' in page
