"""One patient is never booked into two visits at once.

The desk booked Hana Sato at 10:00 with one practitioner while she had a 10:15 visit with another,
holding two practitioners and two beds for one person; the API and a reschedule let the same
happen (two hands-on trials). Every way a visit is made or moved now refuses a time that overlaps
another of the patient's visits, saying which one, and writes nothing. Visits may touch (one ends
as the next starts), and a cancelled visit holds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Course, Patient, Practitioner, StaffRole, WaitlistOffer
from booking.operations import bookings, waitlist
from booking.operations.bookings import cancel
from booking.operations.history import PATIENT
from booking.scheduling import wall_clock_instant
from tests.test_booking_journey import DETAILS, PatientBrowser, manage_path, text
from tests.test_desk import book_online, submit
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)
from tests.test_waitlist import wishes

UTC = timezone.utc
# Wednesday 10 March 2027 (the pinned clock is Monday 8 March, 08:00): Ana works 09:00-12:30,
# Ben 10:00-16:00, both in Los Angeles (PST, UTC-8). A short treatment is 30 minutes.
WEDNESDAY = "2027-03-10T{}:00-08:00"
PAT = {"name": "Pat Caller", "email": "pat@example.com", "birth_date": "1980-04-02"}


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Patient, Appointment, Course))


def api_booking(client, start: str, practitioner: str, **extra):
    return client.post("/api/v1/bookings", json={
        "service": "short", "practitioner": practitioner, "start": start, "safety": [],
        "patient": {"name": PAT["name"], "email": PAT["email"], "phone": "213 555 0142",
                    "birth_date": PAT["birth_date"]}, **extra})


# Never naming the other visit: whoever typed an email and a date of birth learns only that there is one.
PATIENT_WORDS = ("These details match a patient who already has a visit at that time. Choose another time, or "
                 "change that visit with the link in its email.")


def test_the_api_refuses_a_time_overlapping_another_of_the_patients_visits_and_writes_nothing(staff):  # noqa: F811
    client = staff.test_client()
    assert api_booking(client, WEDNESDAY.format("10:00"), "ana").status_code == 201
    before = counts(staff)
    for start in ("10:15", "10:00"):  # across its end, the same time
        refused = api_booking(client, WEDNESDAY.format(start), "ben")
        assert refused.status_code == 422, start
        assert refused.get_json() == {"error": "invalid", "errors": {"start": PATIENT_WORDS}}
    assert counts(staff) == before
    # Touching is not overlapping: the next half hour, with someone else, books.
    assert api_booking(client, WEDNESDAY.format("10:30"), "ben").status_code == 201


def test_a_course_visit_overlapping_another_visit_of_the_patient_is_named_and_nothing_is_booked(staff):  # noqa: F811
    client = staff.test_client()
    assert api_booking(client, "2027-03-17T10:00:00-07:00", "ana").status_code == 201  # after the change to PDT
    before = counts(staff)
    refused = api_booking(client, WEDNESDAY.format("10:00"), "ben", repeat={"every_days": 7, "count": 3})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"visits": f"Visit 2 of 3: {PATIENT_WORDS}"}
    assert counts(staff) == before


def test_a_cancelled_visit_holds_nothing_for_the_patient(staff):  # noqa: F811
    client = staff.test_client()
    made = api_booking(client, WEDNESDAY.format("10:00"), "ana").get_json()
    with staff.app_context():
        visit = db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == made["reference"]))
        cancel(visit, "Asked to", staff.config["CLOCK"]())
        db.session.commit()
    assert api_booking(client, WEDNESDAY.format("10:15"), "ben").status_code == 201


def test_the_desk_is_told_in_its_own_words_and_books_nothing(staff, login_as):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    book_online(staff, start=WEDNESDAY.format("10:15"), practitioner="ben")
    with staff.app_context():
        patient_id = db.session.scalar(sa.select(Patient.id))
    before = counts(staff)
    target = f"/desk/book?practitioner=ana&start={WEDNESDAY.format('10:00')}&patient={patient_id}"
    page = text(submit(desk, target, {"service": "short", "symptoms": "none"}))
    assert ("Pat Caller already has a visit then: Short treatment, Mar 10, 2027, 10:15 AM with Ben Test. "
            "Choose another time, or move that visit first.") in page
    assert counts(staff) == before
    # Back to back, the desk books.
    target = f"/desk/book?practitioner=ana&start={WEDNESDAY.format('09:45')}&patient={patient_id}"
    assert submit(desk, target, {"service": "short", "symptoms": "none"}).status_code == 303


def test_a_practitioner_at_the_desk_is_not_told_of_another_practitioners_visit(staff, login_as):  # noqa: F811
    """A practitioner sees only their own patients' visits: booking a patient of theirs who is
    with someone else then, they learn only that there is another visit (found in review)."""
    book_online(staff, start=WEDNESDAY.format("10:15"), practitioner="ben")  # Pat with Ben
    book_online(staff, start=WEDNESDAY.format("11:00"), practitioner="ana")  # ...and a patient of Ana's
    with staff.app_context():
        patient_id = db.session.scalar(sa.select(Patient.id))
    ana = login_as(StaffRole.PRACTITIONER)
    target = f"/desk/book?practitioner=ana&start={WEDNESDAY.format('10:00')}&patient={patient_id}"
    page = text(submit(ana, target, {"service": "short", "symptoms": "none"}))
    assert "Pat Caller already has another visit at that time: choose another time." in page
    assert "Ben Test" not in page and "10:15" not in page


def test_a_desk_move_onto_the_patients_other_visit_is_refused(staff, login_as):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    first = book_online(staff, start=WEDNESDAY.format("10:00"), practitioner="ana")
    book_online(staff, start=WEDNESDAY.format("11:00"), practitioner="ana")
    with staff.app_context():
        later = db.session.scalar(sa.select(Appointment).where(Appointment.reference != first["reference"]))
        later_id, later_start = later.id, later.starts_at
    path = f"/desk/appointments/{later_id}/move?practitioner=ben&date=2027-03-10"
    # The list leaves out Ben's times that would overlap her 10:00-10:30 with Ana; 10:30 touches it.
    listed = text(desk.get(path))
    assert f'value="{WEDNESDAY.format("10:30")}"' in listed and f'value="{WEDNESDAY.format("11:15")}"' in listed
    assert f'value="{WEDNESDAY.format("10:00")}"' not in listed and f'value="{WEDNESDAY.format("10:15")}"' not in listed
    # Chosen all the same (a page opened before her other visit was booked), it is refused.
    page = text(submit(desk, path, {"practitioner": "ben", "start": WEDNESDAY.format("10:15")}))
    assert "Pat Caller already has a visit then: Short treatment, Mar 10, 2027, 10:00 AM with Ana Test." in page
    with staff.app_context():
        assert db.session.get(Appointment, later_id).starts_at == later_start  # unmoved
    # Its own time does not count against it: moved half an hour along, with Ben, it moves.
    assert submit(desk, path, {"practitioner": "ben", "start": WEDNESDAY.format("11:15")}).status_code == 303


def test_a_reschedule_onto_the_patients_other_visit_says_so_not_that_it_was_taken(clinic):
    patient = PatientBrowser(clinic)
    patient.book_until_check(start="2027-03-09T14:00:00-08:00")  # Tuesday, with Ana
    patient.confirm()
    booked = manage_path(patient)
    other = clinic.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ben", "start": WEDNESDAY.format("10:00"), "safety": [],
        "patient": {"name": DETAILS["name"], "email": DETAILS["email"], "phone": DETAILS["phone"],
                    "birth_date": "-".join((DETAILS["birth_year"], DETAILS["birth_month"].zfill(2),
                                            DETAILS["birth_day"].zfill(2)))}})
    assert other.status_code == 201, other.get_json()
    # The list of times to move to leaves out Ana's that would overlap the 10:00-10:30 visit with Ben.
    listed = text(patient.get(booked + "/reschedule?from=2027-03-10"))
    assert f'value="{WEDNESDAY.format("09:30")}"' in listed and f'value="{WEDNESDAY.format("10:30")}"' in listed
    assert f'value="{WEDNESDAY.format("09:45")}"' not in listed and f'value="{WEDNESDAY.format("10:15")}"' not in listed
    # Chosen all the same (a page opened before the other visit was booked), it is refused.
    confirm = patient.submit(booked + "/reschedule", {"start": WEDNESDAY.format("10:15")}).location
    moved = patient.submit(confirm, {"start": WEDNESDAY.format("10:15")})
    assert moved.location.endswith("/reschedule?from=2027-03-10")
    page = text(patient.get(moved.location))
    # Their own visit, in their own words, and not said to be someone else's booking.
    assert ("You already have another visit at that time. Choose another time, or change that visit with the "
            "link in its email.") in page
    assert "someone else" not in page
    with clinic.app_context():
        starts = sorted(db.session.scalars(sa.select(Appointment.starts_at)))
    assert starts == [datetime(2027, 3, 9, 22, tzinfo=UTC), datetime(2027, 3, 10, 18, tzinfo=UTC)]


def test_the_online_journey_shows_why_on_the_check_page_and_keeps_every_answer(clinic):
    first = PatientBrowser(clinic)
    first.book_until_check(start=WEDNESDAY.format("10:00"))
    first.confirm()
    again = PatientBrowser(clinic)
    again.book_until_check(practitioner="ben", start=WEDNESDAY.format("10:15"))
    page = text(again.submit("/book/check", follow=True))
    assert PATIENT_WORDS in page and "Ana Test" not in page.split("There is a problem")[1].split("</ul>")[0]
    assert "booked by someone else" not in page
    assert "Check your answers" in page and "Pat Example" in page  # the check page still, every answer kept
    with clinic.app_context():
        assert [a.status for a in db.session.scalars(sa.select(Appointment))] == [AppointmentStatus.BOOKED]


def test_a_waitlist_offer_at_the_patients_own_visit_is_refused_as_such_and_stays_open(staff):  # noqa: F811
    """The booking was refused as the patient's own visit, but the offer was closed as "gone" and
    the time lost to everyone (found in review). No offer is made at a time the person already has
    a visit at, so here they book the other visit after the offer went out."""
    wednesday = date(2027, 3, 10)
    moment = staff.config["CLOCK"]()
    with staff.app_context():
        joined = waitlist.join(waitlist.JoinRequest(
            wishes(first_day=wednesday, last_day=wednesday, practitioner="ben"),
            bookings.PatientDetails("Wait Er", "wait@example.com", "213 555 0142", date(1980, 4, 2)), ()), moment)
        ben = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ben"))
        start = wall_clock_instant(wednesday, time(10, 15), ZoneInfo("America/Los_Angeles"))
        offer_id = waitlist.offer_directly(joined.entry_id, ben, start, moment, by=PATIENT).offer.id
        db.session.commit()
    book_online(staff, start=WEDNESDAY.format("10:00"), practitioner="ana", name="Wait Er", email="wait@example.com")
    patient = PatientBrowser(staff)  # presses Book it on the offer's page, as the email leads them
    pressed = patient.submit(f"/waitlist/{joined.token}/offers/{offer_id}")
    page = text(pressed)
    assert pressed.status_code == 409 and "<h2 id=\"problem-title\">You already have a visit at that time</h2>" in page
    assert ("You already have another visit at that time. Choose another time, or change that visit with the link "
            "in its email.") in page  # known by their link: spoken to as themselves, and not "time has gone"
    assert "This time has gone" not in page
    with staff.app_context():
        assert db.session.get(WaitlistOffer, offer_id).state.value == "open"
