"""The course pages on both databases: the patient's "Book a course" with one time replaced, a lost
race naming the visit, "cancel the rest" from the manage link and from the desk."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Course, OutboxMessage, Practitioner, StaffRole
from booking.transaction import write_transaction
from tests.test_booking_journey import PatientBrowser, text
from tests.test_desk import book_online
from tests.test_languages import offer_spanish
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

TUESDAY_14 = "2027-03-09T14:00:00-08:00"
TAKEN = "2027-03-16T14:00:00-07:00"  # the course's second visit


def visits(app) -> list[Appointment]:
    with app.app_context():
        found = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)).all()
        db.session.expunge_all()
        return found


def start_course(patient: PatientBrowser, how_often="7", count="4"):
    patient.book_until_check(service="short", start=TUESDAY_14)
    assert "Book a course of visits" in text(patient.get("/book/check"))
    return patient.submit("/book/course", {"how_often": how_often, "count": count})


def test_a_course_with_one_time_replaced_books_every_visit(clinic):
    book_online(clinic, start=TAKEN, email="other@example.com")
    patient = PatientBrowser(clinic)
    assert start_course(patient).location.endswith("/book/course/times")
    page = text(patient.get("/book/course/times"))
    assert "Visit 2: choose another time" in page and "Tuesday, March 16, 2027, 2:00 PM is not free." in page
    assert "Visit 3: Tuesday, March 23, 2027, 2:00 PM" in page

    refused = patient.submit("/book/course/times", {})
    assert refused.status_code == 200
    assert 'href="#visit-2-0">Choose a time for visit 2</a>' in text(refused)
    tampered = patient.submit("/book/course/times", {"visit-2": "2027-03-16T03:00:00-07:00"})
    assert "Choose a time for visit 2" in text(tampered)

    alternative = re.search(r'name="visit-2" type="radio" value="([^"]+)"', page).group(1)
    assert patient.submit("/book/course/times", {"visit-2": alternative}).location.endswith("/book/check")
    check = text(patient.get("/book/check"))
    assert "Course" in check and check.count("<li>") >= 4
    confirmed = patient.confirm()
    assert confirmed.location.endswith("/book/confirmation"), text(confirmed)
    page = text(patient.get("/book/confirmation"))
    assert "You have booked 4 visits." in page
    booked = [v for v in visits(clinic) if v.course_id is not None]
    assert len(booked) == 4 and booked[1].starts_at.isoformat() != TAKEN
    assert {v.course_id for v in booked} != {None}


def test_book_only_one_visit_drops_the_course(clinic):
    patient = PatientBrowser(clinic)
    start_course(patient)
    assert patient.submit("/book/course", {"single": "1"}).location.endswith("/book/check")
    assert "Book a course of visits" in text(patient.get("/book/check"))
    patient.confirm()
    assert len(visits(clinic)) == 1


def test_a_course_too_long_for_the_horizon_is_refused_beside_the_field(clinic):
    patient = PatientBrowser(clinic)
    refused = start_course(patient, count="6")
    assert refused.status_code == 200
    assert "The last visit would be on Apr 13, 2027" in text(refused)
    assert 'href="#count-0"' in text(refused) and 'value="7" checked' in text(refused)


def test_a_visit_taken_before_confirming_returns_to_the_times_naming_it(clinic):
    patient = PatientBrowser(clinic)
    start_course(patient)
    assert patient.submit("/book/course/times", {}).location.endswith("/book/check")
    book_online(clinic, start="2027-03-23T14:00:00-07:00", email="quick@example.com")
    lost = patient.confirm()
    assert lost.location.endswith("/book/course/times")
    page = text(patient.get("/book/course/times"))
    assert "Visit 3 of 4 (Mar 23, 2027, 2:00 PM) is no longer free, so nothing was booked" in page
    assert "Visit 3: choose another time" in page
    assert len(visits(clinic)) == 1  # only the other patient's


def test_a_visit_taken_before_confirming_keeps_the_times_chosen_for_the_other_visits(clinic):
    book_online(clinic, start=TAKEN, email="other@example.com")
    patient = PatientBrowser(clinic)
    start_course(patient)
    page = text(patient.get("/book/course/times"))
    chosen = re.search(r'name="visit-2" type="radio" value="([^"]+)"', page).group(1)
    assert patient.submit("/book/course/times", {"visit-2": chosen}).location.endswith("/book/check")
    book_online(clinic, start="2027-03-23T14:00:00-07:00", email="quick@example.com")

    assert patient.confirm().location.endswith("/book/course/times")
    page = text(patient.get("/book/course/times"))
    assert "Visit 3 of 4 (Mar 23, 2027, 2:00 PM) is no longer free, so nothing was booked" in page
    assert f'name="visit-2" type="radio" value="{chosen}" checked' in page  # still chosen
    assert 'name="visit-3" type="radio"' in page and re.search(r'name="visit-3" [^>]* checked', page) is None

    # The patient chooses only the lost visit's time again, as a browser sends the ticked radios.
    instead = re.search(r'name="visit-3" type="radio" value="([^"]+)"', page).group(1)
    assert patient.submit("/book/course/times", {"visit-2": chosen, "visit-3": instead}).location.endswith("/book/check")
    assert patient.confirm().location.endswith("/book/confirmation")
    booked = [v.starts_at for v in visits(clinic) if v.course_id is not None]
    assert [start.isoformat() for start in booked[1:3]] == [
        datetime.fromisoformat(chosen).astimezone(UTC).isoformat(), datetime.fromisoformat(instead).astimezone(UTC).isoformat()]


def book_api_course(app) -> dict:
    response = app.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": TUESDAY_14, "safety": [],
        "patient": {"name": "Pat Course", "email": "pat@example.com", "phone": "+1 213 555 0142",
                    "birth_date": "1980-04-02"},
        "repeat": {"every_days": 7, "count": 3}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def cancellation_kinds(app) -> list[str]:
    """The kinds of the cancellation emails queued so far."""
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.kind.like("%cancelled"))))


def test_the_manage_link_cancels_the_rest_of_the_course_in_one_step(clinic):
    course = book_api_course(clinic)
    second = course["visits"][1]["manage_url"].removeprefix("http://clinic.test")
    patient = PatientBrowser(clinic)
    page = text(patient.get(second))
    assert "Your course" in page and "(this visit)" in page and "Cancel the rest of the course" in page
    form = text(patient.get(f"{second}/cancel-course"))
    assert form.count("<li>") >= 2 and "Cancel these visits" in form
    done = patient.submit(f"{second}/cancel-course", {"reason": "Feeling better", "seen": "0"})
    assert done.status_code == 303
    assert [v.status for v in visits(clinic)] == [AppointmentStatus.BOOKED] + [AppointmentStatus.CANCELLED] * 2
    assert "2 visits of your course have been cancelled." in text(patient.get(second))
    assert cancellation_kinds(clinic) == ["course_cancelled"]  # one email for both


def test_the_desk_cancels_the_rest_of_a_course(staff, login_as):  # noqa: F811
    book_api_course(staff)
    first = visits(staff)[0]
    desk = login_as(StaffRole.RECEPTIONIST)
    page = desk.get(f"/desk/appointments/{first.id}").get_data(as_text=True)
    assert "Cancel the rest of the course" in page
    form = desk.get(f"/desk/appointments/{first.id}/cancel-course").get_data(as_text=True)
    refused = desk.post(f"/desk/appointments/{first.id}/cancel-course", data={"csrf_token": csrf_from(form)})
    assert "Select why the appointment is being cancelled" in refused.get_data(as_text=True)
    assert all(v.status is AppointmentStatus.BOOKED for v in visits(staff))
    done = desk.post(f"/desk/appointments/{first.id}/cancel-course",
                     data={"csrf_token": csrf_from(form), "reason": "patient", "seen": "0"})
    assert done.status_code == 303
    assert all(v.status is AppointmentStatus.CANCELLED for v in visits(staff))
    assert cancellation_kinds(staff) == ["course_cancelled"]


def test_a_visit_in_no_course_has_no_cancel_the_rest(clinic):
    booked = book_online(clinic)
    link = booked["manage_url"].removeprefix("http://clinic.test")
    patient = PatientBrowser(clinic)
    assert "Your course" not in text(patient.get(link))
    assert patient.get(f"{link}/cancel-course").location.endswith("/cancel")


def test_the_desk_undoes_a_course_clicked_by_mistake_with_no_one_visit(staff, login_as):  # noqa: F811
    """Radios cannot be cleared (and the page works without JavaScript): a count clicked before
    choosing 'No, one visit' books the one visit."""
    desk = login_as(StaffRole.RECEPTIONIST)
    path = "/desk/book?practitioner=ana&start=2027-03-09T14:00:00-08:00&patient=new"
    form = desk.get(path).get_data(as_text=True)
    assert "No, one visit" in form
    caller = {"csrf_token": csrf_from(form), "name": "Una Once", "email": "una@example.com",
              "phone": "213 555 0112", "birth_day": "2", "birth_month": "4", "birth_year": "1970",
              "service": "short", "symptoms": "none", "how_often": "", "count": "3"}
    booked = desk.post(path, data=caller)
    assert booked.status_code == 303, booked.get_data(as_text=True)
    assert len(visits(staff)) == 1


def test_the_desk_books_a_course_for_a_caller_choosing_another_time_for_one_visit(staff, login_as):  # noqa: F811
    book_online(staff, start=TAKEN, email="other@example.com")
    desk = login_as(StaffRole.RECEPTIONIST)
    path = "/desk/book?practitioner=ana&start=2027-03-09T14:00:00-08:00&patient=new"
    form = desk.get(path).get_data(as_text=True)
    assert "Course of visits (optional)" in form and "Twice a week: Tuesdays and Fridays" in form
    assert 'name="how_often" type="radio" value="" checked' in form  # "No, one visit" until a course is chosen
    caller = {"csrf_token": csrf_from(form), "name": "Cal Caller", "email": "cal@example.com",
              "phone": "213 555 0111", "birth_day": "2", "birth_month": "4", "birth_year": "1970",
              "service": "short", "symptoms": "none", "how_often": "7"}
    refused = desk.post(path, data=caller).get_data(as_text=True)
    assert "For a course, select how many visits too" in refused and 'value="Cal Caller"' in refused
    proposed = desk.post(path, data=caller | {"count": "3"})
    page = proposed.get_data(as_text=True)
    assert proposed.status_code == 409 and "Visit 2 of 3 is not free: choose another time for it below" in page
    assert '<a href="#visit-2-0">Visit 2 of 3 is not free' in page  # the summary leads to its first other time
    assert 'value="Cal Caller"' in page and len(visits(staff)) == 1  # what was typed stays; nothing booked
    alternative = re.search(r'name="visit-2" type="radio" value="([^"]+)"', page).group(1)
    done = desk.post(path, data=caller | {"count": "3", "visit-2": alternative})
    assert done.status_code == 303, done.get_data(as_text=True)
    booked = [v for v in visits(staff) if v.course_id is not None]
    assert len(booked) == 3 and booked[1].starts_at.isoformat() != TAKEN
    assert all(v.booked_via == "desk" for v in booked)
    assert "Booked a course of 3 visits for Cal Caller" in desk.get(done.location).get_data(as_text=True)


def test_twice_a_week_is_offered_on_the_first_visits_weekday_and_keeps_it(clinic):
    patient = PatientBrowser(clinic)
    patient.book_until_check(service="short", start=TUESDAY_14)
    choose = text(patient.get("/book/course"))
    # From a Tuesday: with Fridays (three days on); not with Saturdays, when Ana does not work.
    assert "Twice a week: Tuesdays and Fridays" in choose and "Saturdays" not in choose
    assert "Once a week: Tuesdays" in choose and "Every 3 days" not in choose
    tampered = patient.submit("/book/course", {"how_often": "tuesday+saturday", "count": "4"})
    assert tampered.status_code == 200 and "Select how often you would like to come" in text(tampered)
    assert patient.submit("/book/course", {"how_often": "tuesday+friday", "count": "5"}).location.endswith(
        "/book/course/times")
    times = text(patient.get("/book/course/times"))
    assert [day for day in re.findall(r"Visit \d: (\w+day, March \d+)", times)] == [
        "Tuesday, March 9", "Friday, March 12", "Tuesday, March 16", "Friday, March 19", "Tuesday, March 23"]
    patient.submit("/book/course/times", {})
    check = text(patient.get("/book/check"))
    assert "Now book your 5 visits" in check and "each visit online up to 24 hours before it" in check
    assert patient.confirm().location.endswith("/book/confirmation")
    with clinic.app_context():
        assert db.session.scalar(sa.select(Course.weekdays)) == [1, 4]
    assert 'value="tuesday+friday" checked' not in choose  # nothing chosen until the patient chose


def test_a_name_or_time_that_ends_in_a_full_stop_takes_no_second_one(clinic):
    with clinic.app_context(), write_transaction():
        db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana")).name = "Ana Test, L.Ac."
    offer_spanish(clinic)
    patient = PatientBrowser(clinic)
    start_course(patient)
    times = text(patient.get("/book/course/times"))
    assert "4 visits with Ana Test, L.Ac. All times are" in times and ".." not in times
    spanish = text(patient.get("/book/course?language=es", follow_redirects=True))
    assert "su primera visita: martes, 9 de marzo de 2027, 2:00" in spanish and "m.." not in spanish
    assert "con Ana Test, L.Ac. Todas las horas" in text(patient.get("/book/course/times"))


def test_the_confirmation_of_a_course_speaks_of_every_visit(clinic):
    patient = PatientBrowser(clinic)
    start_course(patient, count="3")
    patient.submit("/book/course/times", {})
    assert "Confirm all 3 visits" in text(patient.get("/book/check"))
    patient.confirm()
    page = text(patient.get("/book/confirmation"))
    assert "You have booked 3 visits." in page and page.count(", 2:00 PM: Short treatment") == 3
    assert "Add the first visit to your calendar" in page and "cancel your first visit; each of the others" in page
    assert "each visit online up to 24 hours before it" in page and "cancel your booking." not in page


def test_a_first_time_now_too_soon_sends_the_patient_back_to_the_time_list(clinic):
    patient = PatientBrowser(clinic)
    patient.book_until_check(service="short", start="2027-03-08T14:00:00-08:00")  # today, six hours ahead
    assert patient.submit("/book/course", {"how_often": "7", "count": "3"}).location.endswith("/book/course/times")
    clinic.config["CLOCK"].advance(hours=5)  # 13:00: less than the 2 hours' notice is left
    gone = patient.get("/book/course/times")
    assert gone.location.endswith("/book/time")
    page = text(patient.get("/book/time"))
    assert "Monday, March 8, 2027, 2:00 PM can no longer be booked online. Choose another time" in page
    assert len(visits(clinic)) == 0
