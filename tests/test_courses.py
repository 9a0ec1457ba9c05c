"""Courses of treatment on both databases: every visit booked in one transaction or none, the
visit that is not free named, one email listing every visit with one .ics of them all, and
"cancel the rest" in one step.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Course, ManageLink, OutboxMessage, Patient, StaffRole
from booking.operations.bookings import BookingRequest, EmergencyAnswers, PatientDetails, cancel
from booking.operations import identity
from booking.operations.courses import VisitNotFree, book_course, cancel_rest, plan_course
from booking.operations.problems import CannotBook
from booking.scheduling.course import Repeat
from tests.mail import MailServer, calendar_of, text_of
from tests.test_desk import book_online
from tests.test_emails import send
from tests.test_languages import offer_spanish
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

UTC = timezone.utc
LA = ZoneInfo("America/Los_Angeles")
PATIENT = PatientDetails("Pat Course", "pat@example.com", "+1 213 555 0142", date(1980, 4, 2))


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=LA).astimezone(UTC)


WEEKLY = [at(3, 9, 10), at(3, 16, 10), at(3, 23, 10), at(3, 30, 10)]  # Tuesdays, across the change to PDT


def request(start=WEEKLY[0], service="consult", **changes) -> BookingRequest:
    return BookingRequest(**{"service": service, "practitioner": "ana", "start": start, "patient": PATIENT,
                             "safety": (), **changes})


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_weekly_course_books_every_visit_at_the_same_local_time(clinic):
    with clinic.test_request_context():
        plan = plan_course("consult", "ana", WEEKLY[0], Repeat(7, 4), now())
        assert plan.all_free and [p.wanted for p in plan.proposals] == WEEKLY
        assert (plan.first_service.slug, plan.follow_up.slug) == ("consult", "short")
        result = book_course(request(), Repeat(7, 4), WEEKLY, now())
        visits = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)).all()
        assert [v.starts_at for v in visits] == WEEKLY
        assert [v.service.slug for v in visits] == ["consult", "short", "short", "short"]
        assert {v.course_id for v in visits} == {result.course_id}
        assert len({v.manage_token_hash for v in visits}) == 4 and len(result.manage_tokens) == 4
        course = db.session.get(Course, result.course_id)
        assert (course.every_days, course.visits, course.booked_via) == (7, 4, "online")
        assert [m.kind for m in db.session.scalars(sa.select(OutboxMessage))] == ["course_confirmation"]


def test_a_visit_that_is_taken_books_nothing_and_is_named(clinic):
    book_online(clinic, start="2027-03-23T10:00:00-07:00", email="other@example.com")  # visit 3's time
    with clinic.test_request_context():
        plan = plan_course("consult", "ana", WEEKLY[0], Repeat(7, 4), now())
        third = plan.proposals[2]
        assert not third.is_free and third.alternatives and all(p.is_free for i, p in enumerate(plan.proposals) if i != 2)
        with pytest.raises(VisitNotFree) as refused:
            book_course(request(), Repeat(7, 4), WEEKLY, now())
        assert refused.value.number == 3 and refused.value.alternatives
        assert refused.value.message == ("Visit 3 of 4 (Mar 23, 2027, 10:00 AM) is no longer free, so nothing "
                                         "was booked: choose another time for it.")
    assert rows(clinic, Appointment) == 1 and rows(clinic, Course) == 0
    assert rows(clinic, Patient) == 1  # the course's patient was not kept either
    with clinic.test_request_context():  # the same course with visit 3 at an alternative books all four
        chosen = WEEKLY[:2] + [third.alternatives[0]] + WEEKLY[3:]
        result = book_course(request(), Repeat(7, 4), chosen, now())
        assert [a.starts_at for a in result.appointments] == chosen
    assert rows(clinic, Appointment) == 5


def test_a_twice_weekly_course_keeps_its_weekdays_even_when_its_first_visit_moves_to_another_day(clinic):
    book_online(clinic, start="2027-03-09T10:00:00-08:00", email="other@example.com")  # the first visit's time
    twice = Repeat.on_weekdays([1, 4], 4)  # Tuesdays and Fridays
    with clinic.test_request_context():
        plan = plan_course("short", "ana", WEEKLY[0], twice, now())
        assert [p.day.isoformat() for p in plan.proposals] == ["2027-03-09", "2027-03-12", "2027-03-16",
                                                              "2027-03-19"]
        assert not plan.proposals[0].is_free
        chosen = [at(3, 10, 10)] + [p.wanted for p in plan.proposals[1:]]  # the first on Wednesday instead
        result = book_course(request(service="short"), twice, chosen, now())
        assert [a.starts_at for a in result.appointments] == chosen
        assert db.session.get(Course, result.course_id).weekdays == [1, 4]
    assert rows(clinic, Appointment) == 5


def test_visits_of_one_course_may_not_overlap_each_other(clinic):
    with clinic.test_request_context():
        with pytest.raises(CannotBook) as refused:
            book_course(request(), Repeat(7, 2), [WEEKLY[0], WEEKLY[0] + timedelta(minutes=30)], now())
        assert refused.value.message == "Visits 1 and 2 would overlap: choose another time for one of them."
    assert rows(clinic, Appointment) == 0


@pytest.mark.parametrize("repeat, starts, field, message", [
    (Repeat(7, 13), WEEKLY, "count", "A course has from 2 to 12 visits."),
    (Repeat(0, 4), WEEKLY, "every_days", "Choose from 1 to 28 days between visits."),
    (Repeat(7, 4), WEEKLY[:3], "visits", "Choose a time for each of the 4 visits."),
])
def test_a_course_out_of_bounds_is_refused_with_a_clear_message(clinic, repeat, starts, field, message):
    with clinic.test_request_context():
        with pytest.raises(CannotBook) as refused:
            book_course(request(), repeat, starts, now())
        assert (refused.value.field, refused.value.message) == (field, message)
    assert rows(clinic, Appointment) == 0


def test_a_course_past_the_booking_horizon_is_refused_naming_the_dates(clinic):
    with clinic.test_request_context():
        with pytest.raises(CannotBook) as refused:
            plan_course("consult", "ana", WEEKLY[0], Repeat(7, 6), now())  # Apr 13; bookings open until Apr 7
        assert refused.value.message == ("The last visit would be on Apr 13, 2027, but bookings are open only until "
                                         "Apr 7, 2027: choose fewer visits or fewer days between them.")
        with pytest.raises(VisitNotFree) as refused:
            book_course(request(), Repeat(7, 6), WEEKLY + [at(4, 6, 10), at(4, 13, 10)], now())
        assert refused.value.number == 6 and "Visit 6 of 6" in refused.value.message
    assert rows(clinic, Appointment) == 0


def test_a_returning_patient_cannot_start_a_course_with_a_first_visit_but_with_a_follow_up(clinic):
    book_online(clinic, start="2027-03-10T14:00:00-08:00")  # the same patient, earlier
    with clinic.test_request_context():
        with pytest.raises(CannotBook) as refused:
            book_course(request(), Repeat(7, 2), WEEKLY[:2], now())
        assert refused.value.field == "service"
        result = book_course(request(service="short"), Repeat(7, 2), WEEKLY[:2], now())
        assert [a.service.slug for a in result.appointments] == ["short", "short"]


def test_emergency_answers_book_no_course(clinic):
    with clinic.test_request_context():
        with pytest.raises(EmergencyAnswers):
            book_course(request(safety=("both_legs",)), Repeat(7, 2), WEEKLY[:2], now())
    assert rows(clinic, Appointment) == 0


def test_any_practitioner_books_the_course_with_whoever_is_free_at_the_first_time(clinic):
    with clinic.test_request_context():
        monday = at(3, 15, 10)
        result = book_course(request(start=monday, service="short", practitioner="any"), Repeat(2, 3),
                             [monday, at(3, 17, 10), at(3, 19, 10)], now())
        assert {a.practitioner.slug for a in result.appointments} == {"ana"}  # "ana" sorts before "ben"


@pytest.fixture
def mail():
    server = MailServer().start()
    yield server
    server.stop()


def test_one_email_lists_every_visit_with_its_own_link_and_one_calendar_of_them_all(staff, mail):  # noqa: F811
    with staff.test_request_context():
        book_course(request(), Repeat(7, 4), WEEKLY, now())
    assert "Sent 1," in send(staff, mail)
    [email] = mail.received
    assert email["Subject"] == "Course booked: 4 visits from Tue, Mar 9, 2027, 10:00 AM PST"
    text = text_of(email)
    for number, when in enumerate(["Tue, Mar 9, 2027, 10:00 AM PST", "Tue, Mar 16, 2027, 10:00 AM PDT",
                                   "Tue, Mar 23, 2027, 10:00 AM PDT", "Tue, Mar 30, 2027, 10:00 AM PDT"], start=1):
        assert f"Visit {number} of 4" in text and f"- When: {when}" in text
    links = re.findall(r"See, change or cancel this visit: <http://clinic\.test(/manage/[A-Za-z0-9_-]+)>", text)
    assert len(set(links)) == 4
    client = staff.test_client()
    with staff.app_context():
        visits = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)).all()
        references = [v.reference for v in visits]
        assert rows(staff, ManageLink) >= 4
    for link, reference in zip(links, references):  # each link opens its own visit
        assert reference in client.get(link).get_data(as_text=True)
    data = calendar_of(email)
    events = list(icalendar.Calendar.from_ical(data).walk("VEVENT"))
    assert [e.decoded("DTSTART") for e in events] == WEEKLY
    assert len({str(e["UID"]) for e in events}) == 4
    assert {str(e["UID"]) for e in events} == {f"appointment-{r}@clinic-booking" for r in references}
    assert len(vobject.readOne(data.decode()).vevent_list) == 4  # a second reader agrees
    [attached] = [part for part in email.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert attached.get_filename() == "appointments.ics"  # named for all it holds (one visit: appointment.ics)
    with staff.app_context():
        stored = db.session.scalar(sa.select(OutboxMessage))
        assert "VISIT-LINK-MADE-WHEN-SENT-" in stored.text_body  # only placeholders are kept


def _events(email) -> dict[str, icalendar.Event]:
    """The email's calendar's VEVENTs by UID."""
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(calendar_of(email)).walk("VEVENT")}


def test_cancel_the_rest_is_one_email_listing_every_visit_with_one_calendar_cancelling_them(staff, mail):  # noqa: F811
    with staff.test_request_context():
        result = book_course(request(), Repeat(7, 4), WEEKLY, now())
        ids = [a.id for a in result.appointments]
    send(staff, mail)
    [confirmation] = mail.received
    booked = _events(confirmation)
    with staff.test_request_context():
        cancelled = cancel_rest(ids[1], "Feeling better", now())
        assert [a.id for a in cancelled] == ids[1:]
        statuses = [db.session.get(Appointment, i).status for i in ids]
        assert statuses == [AppointmentStatus.BOOKED] + [AppointmentStatus.CANCELLED] * 3
        references = [db.session.get(Appointment, i).reference for i in ids]
        with pytest.raises(CannotBook):  # the visit is already cancelled: nothing more happens
            cancel_rest(ids[1], "", now())
    assert "Sent 1," in send(staff, mail)
    [email] = mail.received[1:]
    assert email["Subject"] == "Cancelled: 3 visits of your course from Tue, Mar 16, 2027, 10:00 AM PDT"
    text = text_of(email)
    assert "As you asked, we have cancelled these 3 visits of your course." in text
    for when, reference in zip(["Tue, Mar 16, 2027, 10:00 AM PDT", "Tue, Mar 23, 2027, 10:00 AM PDT",
                                "Tue, Mar 30, 2027, 10:00 AM PDT"], references[1:]):
        assert f"- {when}: Short treatment with Ana Test (reference {reference})" in text
    assert references[0] not in text and "Mar 9" not in text  # the visit still booked is not named
    calendar = icalendar.Calendar.from_ical(calendar_of(email))
    assert str(calendar["METHOD"]) == "CANCEL"
    events = _events(email)
    assert set(events) == {f"appointment-{r}@clinic-booking" for r in references[1:]} < set(booked)
    for uid, event in events.items():  # the confirmation's events, each a newer version, cancelled
        assert event["SEQUENCE"] > booked[uid]["SEQUENCE"] and str(event["STATUS"]) == "CANCELLED"
        assert event.decoded("DTSTART") == booked[uid].decoded("DTSTART")


def test_the_rest_cancelled_from_a_visit_under_way_still_tells_the_patient_of_the_later_ones(staff, clock, mail):  # noqa: F811
    """The desk cancels the rest of a course from a visit that has begun (the patient phoned at 10:05):
    the one email is about every visit it lists, so it goes while any of them is still to come."""
    with staff.test_request_context():
        ids = [a.id for a in book_course(request(), Repeat(7, 3), WEEKLY[:3], now()).appointments]
    send(staff, mail)
    clock.advance(hours=26, minutes=5)  # Tue, Mar 9, 10:05: the first visit is under way
    with staff.test_request_context():
        assert [a.id for a in cancel_rest(ids[0], "Moving away", now(), patient_asked=True)] == ids
    assert "Sent 1," in send(staff, mail)
    [email] = mail.received[1:]
    assert email["Subject"] == "Cancelled: 3 visits of your course from Tue, Mar 9, 2027, 10:00 AM PST"
    assert len(_events(email)) == 3


def test_a_single_visit_of_a_course_and_its_last_visit_are_cancelled_with_the_single_visit_email(staff, mail):  # noqa: F811
    with staff.test_request_context():
        result = book_course(request(), Repeat(7, 4), WEEKLY, now())
        ids = [a.id for a in result.appointments]
        cancel(ids[0], "", now(), patient_asked=False)
        cancel_rest(ids[3], "", now())  # nothing after it: the rest is the one visit
    send(staff, mail)
    subjects = [m["Subject"] for m in mail.received]
    assert subjects[1:] == ["Cancelled: your visit on Tue, Mar 9, 2027, 10:00 AM PST",
                            "Cancelled: your visit on Tue, Mar 30, 2027, 10:00 AM PDT"]
    assert "has cancelled your visit" in text_of(mail.received[1])
    for email in mail.received[1:]:
        calendar = icalendar.Calendar.from_ical(calendar_of(email))
        assert str(calendar["METHOD"]) == "CANCEL" and len(list(calendar.walk("VEVENT"))) == 1


def test_cancel_the_rest_of_a_visit_in_no_course_is_refused(clinic):
    booked = book_online(clinic)
    with clinic.test_request_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booked["reference"]))
        with pytest.raises(CannotBook) as refused:
            cancel_rest(visit.id, "", now())
        assert refused.value.message == "This visit is not part of a course."
        assert db.session.get(Appointment, visit.id).status is AppointmentStatus.BOOKED


def test_a_returning_patients_course_is_confirmed_by_one_email_that_names_every_visit(staff, mail):  # noqa: F811
    book_online(staff, start="2027-03-08T10:00:00-08:00", practitioner="ben")  # the patient's visit with Ben
    with staff.test_request_context():  # someone with their email and date of birth books Ana online
        result = book_course(request(service="short"), Repeat(7, 4), WEEKLY, now())
        ids = [a.id for a in result.appointments]
        references = [a.reference for a in result.appointments]
        assert all(a.identity_pending for a in result.appointments)
    send(staff, mail)
    [email] = [m for m in mail.received if m["Subject"].startswith("Did you book")]
    assert email["Subject"] == ("Did you book a course of 4 visits, from Tue, Mar 9, 2027, 10:00 AM PST to "
                                "Tue, Mar 30, 2027, 10:00 AM PDT? Please confirm")
    text = text_of(email)
    assert "A course of 4 visits with Ana Test was booked online with Test Clinic" in text
    for when, reference in zip(["Tue, Mar 9, 2027, 10:00 AM PST", "Tue, Mar 16, 2027, 10:00 AM PDT",
                                "Tue, Mar 23, 2027, 10:00 AM PDT", "Tue, Mar 30, 2027, 10:00 AM PDT"], references):
        assert f"- {when}: Short treatment (reference {reference})" in text
    assert "Confirming once confirms every visit of the course." in text
    path = re.search(r"<http://clinic\.test(/confirm-booking/[A-Za-z0-9_-]+)>", text).group(1)
    client = staff.test_client()
    page = client.get(path).get_data(as_text=True)
    assert "This visit is one of a course of 4 visits booked together." in page
    assert page.count("Short treatment</li>") == 4 and "Yes, I booked these visits" in page
    assert client.post(path, data={"csrf_token": csrf_from(page)}).status_code == 303
    with staff.app_context():
        visits = [db.session.get(Appointment, i) for i in ids]
        assert [v.identity_confirmed_by for v in visits] == [identity.BY_PATIENT] * 4
        assert all(["identity confirmed" in [e.action for e in v.history] for v in visits])


def test_the_desk_cancelling_the_rest_of_a_spanish_course_sends_one_spanish_email(staff, mail, login_as):  # noqa: F811
    offer_spanish(staff)
    with staff.test_request_context():
        result = book_course(request(language="es"), Repeat(7, 4), WEEKLY, now())
        first = result.appointments[0].id
    desk = login_as(StaffRole.RECEPTIONIST)
    form = desk.get(f"/desk/appointments/{first}/cancel-course").get_data(as_text=True)
    done = desk.post(f"/desk/appointments/{first}/cancel-course",
                     data={"csrf_token": csrf_from(form), "reason": "clinic", "seen": "0"})
    assert done.status_code == 303
    send(staff, mail)
    [email] = mail.received[1:]
    assert email["Subject"].startswith("Canceladas: 4 visitas de su serie desde el ")
    text = text_of(email)
    assert "Test Clinic ha cancelado estas 4 visitas de su serie." in text and text.count("(referencia ") == 4
    assert "El archivo de calendario adjunto quita cada una de estas visitas" in text
    assert len(_events(email)) == 4


def test_the_desk_confirming_one_visit_of_a_waiting_course_confirms_them_all(staff, login_as):  # noqa: F811
    book_online(staff, start="2027-03-08T10:00:00-08:00", practitioner="ben")
    with staff.test_request_context():
        ids = [a.id for a in book_course(request(service="short"), Repeat(7, 3), WEEKLY[:3], now()).appointments]
    desk = login_as(StaffRole.RECEPTIONIST)
    page = desk.get(f"/desk/appointments/{ids[1]}").get_data(as_text=True)
    done = desk.post(f"/desk/appointments/{ids[1]}/confirm-identity", data={"csrf_token": csrf_from(page)})
    assert done.status_code == 303
    with staff.app_context():
        assert [db.session.get(Appointment, i).identity_pending for i in ids] == [False] * 3
