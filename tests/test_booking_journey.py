"""The patient's booking journey and manage-my-booking, through the Flask test client on both databases.

The browser tests (test_browser.py) walk the same pages in Chromium; these cover every
branch and bad input cheaply.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from markupsafe import escape

from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, BookingDraft, Clinic, Patient
from booking.forms import SAFETY_CHOICES
from booking.safety import EMERGENCY, GROUPS, URGENT
from booking.transaction import write_transaction
from booking.validation import clean_email

UTC = timezone.utc
MONDAY_10 = "2027-03-08T10:00:00-08:00"
MONDAY_14 = "2027-03-08T14:00:00-08:00"
TUESDAY_14 = "2027-03-09T14:00:00-08:00"  # 30 hours ahead: outside the 24 hours' cancellation notice
DETAILS = {
    "name": "Pat Example",
    "email": "pat@example.com",
    "phone": "+1 213 555 0142",
    "birth_day": "17",
    "birth_month": "5",
    "birth_year": "1980",
    "returning": "yes",  # most tests book a follow-up ("short"), which is for returning patients
}


class PatientBrowser:
    """A patient's browser: a cookie jar, and forms sent with the token from the page."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.known_to_the_clinic = None  # details put on the clinic's records when Confirm is pressed

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, path) -> str:
        page = self.get(path).get_data(as_text=True)
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def submit(self, path, data=None, *, follow=False, token=True):
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.token(path)
        return self.client.post(path, data=data, follow_redirects=follow)

    def answer_first_visit(self, returning: str):
        """The first question: have you been to this clinic before? ("yes" or "no")."""
        assert self.submit("/book/first-visit", {"returning": returning}).location.endswith("/book")

    def reach_safety_check(self, service="short", practitioner="ana", start=MONDAY_10, returning=None,
                           on_file=DETAILS):
        """Answer up to the safety check. Visits for new patients (consult) are offered to first-time
        patients, the rest to returning ones. A returning patient is on the clinic's records (as an
        earlier visit would have put them) by the time they confirm, unless on_file=None; put there
        only then, so a booking left unfinished leaves no patient behind."""
        returning = returning or ("no" if service == "consult" else "yes")
        self.known_to_the_clinic = on_file if returning == "yes" else None
        self.answer_first_visit(returning)
        assert self.submit("/book", {"service": service}).location.endswith("/book/practitioner")
        assert self.submit("/book/practitioner", {"practitioner": practitioner}).location.endswith("/book/time")
        assert self.submit("/book/time", {"start": start}).location.endswith("/book/safety")

    def book_until_check(self, service="short", practitioner="ana", start=MONDAY_10, symptoms=("none",), details=DETAILS,
                         on_file=True):
        """Answer every question (details["returning"] answers the first one)."""
        self.reach_safety_check(service, practitioner, start, returning=details.get("returning"),
                                on_file=details if on_file else None)
        self.submit("/book/safety", {"symptoms": list(symptoms)})
        response = self.submit("/book/details", details)
        assert response.location.endswith("/book/check"), response.get_data(as_text=True)

    def confirm(self):
        self.put_on_file()
        return self.submit("/book/check")

    def put_on_file(self):
        """The returning patient this browser answers for, on the clinic's records."""
        if self.known_to_the_clinic:
            put_on_file(self.app, self.known_to_the_clinic)


def put_on_file(app, details=DETAILS) -> None:
    """The clinic knows this patient (from a visit before online booking, say): a returning
    patient the clinic cannot find is asked to check their details rather than booked."""
    email = clean_email(details["email"])
    born_on = date(int(details["birth_year"]), int(details["birth_month"]), int(details["birth_day"]))
    with app.app_context():
        if db.session.scalar(sa.select(Patient.id).where(Patient.email == email, Patient.born_on == born_on)):
            return
        with write_transaction():
            db.session.add(Patient(name=details["name"], email=email, phone=details["phone"], born_on=born_on,
                                   created_at=now()))


@pytest.fixture
def patient(clinic):
    return PatientBrowser(clinic)


def text(response) -> str:
    return response.get_data(as_text=True)


def appointments(app) -> list[Appointment]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Appointment).order_by(Appointment.id)).all()
        for row in rows:
            _ = (row.service.slug, row.practitioner.slug, row.patient.email)
        db.session.expunge_all()
        return rows


def the_draft(app) -> BookingDraft:
    with app.app_context():
        draft = db.session.scalar(sa.select(BookingDraft).order_by(BookingDraft.id.desc()))
        db.session.expunge_all()
        return draft


# --- the whole journey -------------------------------------------------------------------------


def test_book_end_to_end(clinic, patient):
    start_page = text(patient.get("/"))
    assert "Book a visit" in start_page and "Ana Test" in start_page
    patient.book_until_check()
    check = text(patient.get("/book/check"))
    assert "Check your answers before booking" in check
    assert "Monday, March 8, 2027, 10:00 AM (PST)" in check and "May 17, 1980" in check

    confirmed = patient.confirm()
    assert confirmed.status_code == 303 and confirmed.location.endswith("/book/confirmation")
    page = text(patient.get("/book/confirmation"))
    [booked] = appointments(clinic)
    assert "Booking confirmed" in page and booked.reference in page
    assert booked.starts_at == datetime(2027, 3, 8, 18, 0, tzinfo=UTC)
    assert (booked.service.slug, booked.practitioner.slug, booked.patient.email) == ("short", "ana", "pat@example.com")
    assert booked.safety_flags == [] and booked.booked_via == "online"
    manage_url = re.search(r'href="(http://clinic\.test/manage/[^"]+)"', page).group(1)
    assert patient.get(manage_url.replace("http://clinic.test", "")).status_code == 200


def test_the_first_available_practitioner(clinic, patient):
    patient.book_until_check(practitioner="any")
    assert "The first available practitioner" in text(patient.get("/book/check"))
    patient.confirm()
    assert appointments(clinic)[0].practitioner.slug == "ana"


def test_a_double_press_of_confirm_books_once(clinic, patient):
    patient.book_until_check()
    patient.put_on_file()
    token = patient.token("/book/check")
    first = patient.client.post("/book/check", data={"csrf_token": token})
    second = patient.client.post("/book/check", data={"csrf_token": token})
    assert first.location.endswith("/book/confirmation") and second.location.endswith("/book/confirmation")
    assert len(appointments(clinic)) == 1


def test_steps_cannot_be_skipped(patient):
    assert patient.get("/book").location.endswith("/book/first-visit")  # the first question comes first
    assert patient.get("/book/details").location.endswith("/book/first-visit")
    patient.answer_first_visit("yes")
    assert patient.get("/book/details").location.endswith("/book")
    patient.submit("/book", {"service": "short"})
    assert patient.get("/book/check").location.endswith("/book/practitioner")
    assert patient.get("/book/safety").location.endswith("/book/practitioner")


def test_answers_are_prefilled_when_going_back(patient):
    patient.book_until_check()
    assert 'value="Pat Example"' in text(patient.get("/book/details"))
    assert re.search(r'value="none" checked', text(patient.get("/book/safety")))
    assert re.search(r'value="ana" checked', text(patient.get("/book/practitioner")))


def test_changing_the_answer_about_having_been_before_asks_for_a_visit_that_fits(clinic, patient):
    patient.book_until_check()  # a follow-up (short), as a returning patient
    assert re.search(r'value="yes"\s+checked', text(patient.get("/book/first-visit")))
    patient.answer_first_visit("no")  # the follow-up is not for new patients: choose again
    choices = text(patient.get("/book"))
    assert 'value="consult"' in choices and 'value="short"' not in choices
    assert patient.submit("/book", {"service": "consult"}).location.endswith("/book/time")
    assert patient.submit("/book/time", {"start": MONDAY_14}).location.endswith("/book/check")
    patient.confirm()
    assert appointments(clinic)[0].service.slug == "consult"


def test_changing_to_a_service_the_practitioner_does_not_offer_asks_again(patient):
    patient.book_until_check(practitioner="ben")
    patient.answer_first_visit("no")
    assert patient.submit("/book", {"service": "consult"}).location.endswith("/book/practitioner")


# --- the safety check ------------------------------------------------------------------------------


def test_urgent_answers_warn_then_let_the_patient_book(clinic, patient):
    patient.reach_safety_check()
    response = patient.submit("/book/safety", {"symptoms": ["fever", "night_pain"]})
    assert response.location.endswith("/book/urgent")
    panel = text(patient.get("/book/urgent"))
    assert "See a doctor within 24 hours" in panel and "worse at night" in panel
    patient.submit("/book/details", DETAILS)
    patient.confirm()
    assert appointments(clinic)[0].safety_flags == ["fever", "night_pain"]
    confirmation = text(patient.get("/book/confirmation"))
    assert "/articles/back-pain-warning-signs" in confirmation


@pytest.mark.parametrize("symptom", ["cancer_new_pain", "worsening_weakness", "infection_risk", "fragility_fracture"])
def test_the_new_urgent_answers_flag_the_booking(clinic, patient, symptom):
    patient.reach_safety_check()
    assert patient.submit("/book/safety", {"symptoms": [symptom]}).location.endswith("/book/urgent")
    patient.submit("/book/details", DETAILS)
    patient.confirm()
    assert appointments(clinic)[0].safety_flags == [symptom]


@pytest.mark.parametrize("region, where", [
    ("US", "Contact your own doctor or an urgent care center today."),
    ("GB", "Contact your GP, or NHS 111."),
    ("DE", "Contact a doctor."),
])
def test_the_urgent_card_says_where_to_get_a_doctor_in_the_clinics_region(clinic, patient, region, where):
    with clinic.app_context():
        db.session.get(Clinic, 1).region = region
        db.session.commit()
    patient.reach_safety_check()
    patient.submit("/book/safety", {"symptoms": ["cancer_new_pain"]})
    panel = " ".join(text(patient.get("/book/urgent")).split())
    assert where in panel and "You have had cancer, and this back pain is new" in panel
    assert ("urgent care" in panel) == (region == "US") and ("NHS 111" in panel) == (region == "GB")


def test_the_safety_question_is_one_list_in_groups_with_none_of_these_last(clinic, patient):
    patient.reach_safety_check()
    page = text(patient.get("/book/safety"))
    boxes = re.findall(r'name="symptoms" type="checkbox" value="([a-z_]+)"', page)
    assert sorted(boxes) == sorted([*EMERGENCY, *URGENT, "none"]) and boxes[-1] == "none"
    assert boxes == [choice.value for choice in SAFETY_CHOICES]  # an error links to the first box shown
    assert page.count("<h1>") == 1 and page.count('class="choices-group__legend"') == len(GROUPS)
    for heading, _ in GROUPS:
        assert f'<legend class="choices-group__legend">{heading}</legend>' in page.replace("&#39;", "'")
    assert page.index("Legs, bladder") < page.index('value="both_legs"') < page.index("How the pain started")
    assert "you can&#39;t feel the toilet paper when you wipe" in page
    assert "new or getting worse" in page and "trouble getting an erection or reaching orgasm" in page


@pytest.mark.parametrize("symptom", [*EMERGENCY])
def test_emergency_answers_stop_the_booking(clinic, patient, symptom):
    patient.reach_safety_check()
    response = patient.submit("/book/safety", {"symptoms": [symptom, "fever"]})
    assert response.location.endswith("/book/emergency")
    panel = text(patient.get("/book/emergency"))
    assert "Call 911 or go to the emergency department now" in panel and "+1 213 555 0100" in panel
    assert "nerve" not in panel  # the same card serves chest pain and a possible aneurysm
    assert the_draft(clinic).safety_codes is None  # nothing kept of the answer
    assert patient.get("/book/details").location.endswith("/book/safety")
    assert appointments(clinic) == []


@pytest.mark.parametrize(
    "symptoms, message",
    [
        ([], "Select any that apply to you now, or select &#39;None of these&#39;"),
        (["none", "fever"], "Select &#39;None of these&#39; only if nothing in the list applies to you"),
        (["headache"], "Select only from the list below"),
    ],
)
def test_bad_safety_answers(clinic, patient, symptoms, message):
    patient.reach_safety_check()
    page = text(patient.submit("/book/safety", {"symptoms": symptoms}))
    assert message in page and "<title>Error: " in page
    assert the_draft(clinic).safety_codes is None


# --- bad input --------------------------------------------------------------------------------------


BAD_DETAILS = [
    ({"name": ""}, "Enter your full name"),
    ({"name": "x" * 121}, "Full name must be 120 characters or fewer"),
    ({"name": "Pat \u202eredeeM"}, "Full name must not include hidden characters"),  # shows as "Pat Meeder"
    ({"email": ""}, "Enter your email address"),
    ({"email": "pat@"}, "Enter an email address in the correct format, like name@example.com"),
    ({"phone": ""}, "Enter a phone number"),
    ({"phone": "call me maybe"}, "Enter a phone number of 7 to 15 digits"),
    ({"birth_day": "", "birth_month": "", "birth_year": ""}, "Enter your date of birth"),
    ({"birth_year": ""}, "Date of birth must include a year"),
    ({"birth_day": "", "birth_year": ""}, "Date of birth must include a day and a year"),
    ({"birth_day": "31", "birth_month": "2"}, "Date of birth must be a real date"),
    ({"birth_year": "80"}, "Date of birth must be a real date"),
    ({"birth_day": "21355501420000000000"}, "Date of birth must be a real date"),
    ({"birth_month": "0005"}, "Date of birth must be a real date"),
    ({"birth_year": "2030"}, "Date of birth must be in the past"),
]


@pytest.mark.parametrize("change, message", BAD_DETAILS)
def test_bad_details_get_a_message_beside_the_field_and_keep_what_was_typed(clinic, patient, change, message):
    patient.reach_safety_check()
    patient.submit("/book/safety", {"symptoms": ["none"]})
    typed = DETAILS | change
    response = patient.submit("/book/details", typed)
    page = text(response)
    assert response.status_code == 200
    assert "<title>Error: Your details" in page
    assert page.count(message) == 2  # in the error summary and beside the field
    for field in ("name", "email", "phone"):
        if typed[field]:
            assert f'value="{typed[field]}"' in page
    assert the_draft(clinic).details == {"returning": True}  # only the first answer, from before


def test_a_tampered_service_changes_nothing(clinic, patient):
    patient.answer_first_visit("yes")
    for tampered in ("surgery", "consult"):  # unknown, and a visit for new patients only
        page = text(patient.submit("/book", {"service": tampered}))
        assert "Select the kind of visit you need" in page
    assert the_draft(clinic).service_id is None


@pytest.mark.parametrize("answer", ["", "maybe"])
def test_a_missing_or_tampered_first_visit_answer_changes_nothing(clinic, patient, answer):
    page = text(patient.submit("/book/first-visit", {"returning": answer}))
    assert page.count("Select whether you have been to this clinic before") == 2
    assert "<title>Error: Have you been to this clinic before?" in page
    assert the_draft(clinic) is None


def test_a_time_that_is_not_free_is_refused_on_the_time_page(clinic, patient):
    patient.answer_first_visit("yes")
    patient.submit("/book", {"service": "short"})
    patient.submit("/book/practitioner", {"practitioner": "ana"})
    for tampered in ("2027-03-08T10:05:00-08:00", "2027-03-08T12:45:00-08:00", "yesterday", "",
                     "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+00:00", "2999-01-04T10:00:00-08:00"):
        page = text(patient.submit("/book/time", {"start": tampered}))
        assert "That time is no longer free. Choose another time." in page
    assert the_draft(clinic).starts_at is None


def test_a_missing_or_wrong_csrf_token_keeps_the_answers_and_writes_nothing(clinic, patient):
    patient.reach_safety_check()
    patient.submit("/book/safety", {"symptoms": ["none"]})
    for token in (None, "forged"):
        data = DETAILS | ({"csrf_token": token} if token else {})
        response = patient.client.post("/book/details", data=data)
        page = text(response)
        assert "This page was open too long or was sent twice" in page
        assert 'value="Pat Example"' in page and 'value="pat@example.com"' in page
    assert "name" not in the_draft(clinic).details


def test_time_list_shows_only_bookable_times_in_the_clinic_zone(patient):
    patient.answer_first_visit("no")
    patient.submit("/book", {"service": "consult"})
    patient.submit("/book/practitioner", {"practitioner": "ana"})
    page = text(patient.get("/book/time"))
    assert "All times are Los Angeles time" in page
    assert "Monday, March 8" in page and f'value="{MONDAY_10}"' in page
    assert '>10:00 AM<span class="visually-hidden"> on Monday, March 8</span>' in page
    assert 'value="2027-03-08T09:45:00-08:00"' not in page  # inside the two hours' notice
    assert 'value="2027-03-08T11:45:00-08:00"' not in page  # would run into lunch
    later = text(patient.get("/book/time?from=2027-03-15"))
    assert "Monday, March 15" in later and 'value="2027-03-15T09:00:00-07:00"' in later  # after the clocks change
    assert '<h2 id="day-2027-03-08">Monday, March 8</h2>' in text(patient.get("/book/time?from=not-a-date"))


# --- a lost race -----------------------------------------------------------------------------------


def test_a_lost_race_returns_to_the_time_list_with_everything_kept(clinic):
    first, second = PatientBrowser(clinic), PatientBrowser(clinic)
    first.book_until_check()
    second.book_until_check(details=DETAILS | {"name": "Sam Second", "email": "sam@example.com"})
    assert first.confirm().location.endswith("/book/confirmation")
    lost = second.confirm()
    assert lost.status_code == 303 and lost.location.endswith("/book/time")
    page = text(second.get("/book/time"))
    assert "Sorry, Monday, March 8, 2027, 10:00 AM was booked by someone else a moment ago" in page
    assert f'value="{MONDAY_10}"' not in page
    draft = the_draft(clinic)
    assert draft.details["name"] == "Sam Second" and draft.safety_codes == [] and draft.starts_at is None
    assert second.submit("/book/time", {"start": MONDAY_14}).location.endswith("/book/check")
    assert second.confirm().location.endswith("/book/confirmation")
    assert [a.patient.email for a in appointments(clinic)] == ["pat@example.com", "sam@example.com"]


# --- patients, articles and calendar files ----------------------------------------------------------


def test_a_returning_patient_keeps_one_record(clinic):
    for start in (MONDAY_10, MONDAY_14):
        visitor = PatientBrowser(clinic)
        visitor.book_until_check(start=start, details=DETAILS | {"email": "PAT@example.com"})
        visitor.confirm()
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 1


def test_a_new_patients_only_visit_is_refused_on_check_with_a_way_to_change(clinic):
    earlier = PatientBrowser(clinic)
    earlier.book_until_check()
    earlier.confirm()
    again = PatientBrowser(clinic)  # says it is a first visit, but the details match that patient
    again.book_until_check(service="consult", start=MONDAY_14, details=DETAILS | {"returning": "no"})
    page = text(again.confirm())
    assert "is for patients new to the clinic" in page and 'href="#change-service"' in page
    assert len(appointments(clinic)) == 1


@pytest.mark.parametrize(
    "service, returning, symptoms, expected",
    [
        ("consult", "no", ["none"], ["your-first-visits", "before-your-appointment", "lower-back-pain-causes",
                                     "acupuncture-and-back-pain", "back-pain-warning-signs"]),
        # Says they have been before, but no visit is on record: the first-visit reading too.
        ("short", "yes", ["none"], ["your-first-visits", "before-your-appointment", "lower-back-pain-causes",
                                    "acupuncture-and-back-pain", "back-pain-warning-signs"]),
        ("short", "yes", ["back_lump"], ["back-pain-warning-signs", "your-first-visits", "before-your-appointment",
                                         "lower-back-pain-causes", "acupuncture-and-back-pain"]),
    ],
)
def test_confirmation_links_the_articles_that_fit(patient, service, returning, symptoms, expected):
    patient.book_until_check(service=service, symptoms=symptoms, details=DETAILS | {"returning": returning})
    patient.confirm()
    page = text(patient.get("/book/confirmation"))
    assert re.findall(r'href="/articles/([a-z-]+)"', page) == expected


@pytest.mark.parametrize("service, returning, told", [("consult", "no", False), ("short", "yes", True)])
def test_only_a_returning_patient_is_told_a_confirming_email_may_come(patient, service, returning, told):
    patient.book_until_check(service=service, details=DETAILS | {"returning": returning})
    patient.confirm()
    page = text(patient.get("/book/confirmation"))
    assert ("As you have been to Test Clinic before, we may also email you a link" in page) is told
    assert ("earlier visits" in page) is told


def manage_path(patient) -> str:
    page = text(patient.get("/book/confirmation"))
    return re.search(r'href="http://clinic\.test(/manage/[^"]+)"', page).group(1)


def test_calendar_file_has_a_stable_uid_and_utc_times(clinic, patient):
    patient.book_until_check()
    patient.confirm()
    response = patient.get(manage_path(patient) + "/calendar.ics")
    assert response.mimetype == "text/calendar"
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    [booked] = appointments(clinic)
    assert str(event["UID"]) == f"appointment-{booked.reference}@clinic-booking"
    assert event.decoded("DTSTART") == datetime(2027, 3, 8, 18, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2027, 3, 8, 18, 30, tzinfo=UTC)
    assert int(event["SEQUENCE"]) == 0
    # The visit's details, never its secret link: calendar apps share and sync events.
    notes = str(event["DESCRIPTION"])
    assert booked.reference in notes and "link in your booking email" in notes
    assert "/manage/" not in response.get_data(as_text=True)


def test_no_health_data_in_the_session_cookie(clinic, patient):
    patient.book_until_check(symptoms=["fever"])
    cookie = patient.client.get_cookie("session")
    session = clinic.session_interface.get_signing_serializer(clinic).loads(cookie.value)
    assert set(session) <= {"booking", "csrf_token", "_flashes"}
    assert "fever" not in repr(session) and "Pat" not in repr(session)


# --- manage my booking -------------------------------------------------------------------------------


@pytest.fixture
def booked(clinic, patient):
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    return manage_path(patient)


def test_cancel_with_a_reason_frees_the_time(clinic, patient, booked):
    page = text(patient.get(booked))
    assert "Change the time" in page and "Cancel appointment" in page
    response = patient.submit(booked + "/cancel", {"reason": "Feeling better"})
    assert response.status_code == 303
    assert "Your appointment has been cancelled" in text(patient.get(booked))
    [cancelled] = appointments(clinic)
    assert cancelled.status is AppointmentStatus.CANCELLED and cancelled.cancel_reason == "Feeling better"
    api = clinic.test_client().get("/api/v1/slots?service=short&practitioner=ana&days=2").get_json()
    assert TUESDAY_14 in [s["start"] for s in api["slots"]]


def test_a_cancel_reason_over_the_limit_is_refused_and_kept(clinic, patient, booked):
    page = text(patient.submit(booked + "/cancel", {"reason": "z" * 501}))
    assert "Reason must be 500 characters or fewer" in page and "z" * 501 in page
    assert appointments(clinic)[0].status is AppointmentStatus.BOOKED


def test_reschedule_moves_atomically_and_replaces_the_link(clinic, patient, booked):
    choose = text(patient.get(booked + "/reschedule"))
    assert f'value="{TUESDAY_14}"' not in choose  # the time they have now is not offered again...
    assert 'value="2027-03-09T14:15:00-08:00"' in choose  # ...but their own visit does not block a move nearby
    response = patient.submit(booked + "/reschedule", {"start": "2027-03-10T09:00:00-08:00"})
    assert "/reschedule/confirm" in response.location
    confirm_path = response.location
    moved = patient.submit(confirm_path)
    assert moved.status_code == 303 and moved.location != booked
    assert patient.get(booked).status_code == 404  # the old link no longer works
    assert "Wednesday, March 10, 2027, 9:00 AM" in text(patient.get(moved.location))
    [appointment] = appointments(clinic)
    assert appointment.starts_at == datetime(2027, 3, 10, 17, 0, tzinfo=UTC) and appointment.sequence == 1


def test_reschedule_to_a_taken_time_leaves_the_visit_where_it_was(clinic, patient, booked):
    confirm = patient.submit(booked + "/reschedule", {"start": MONDAY_10}).location
    token = patient.token(confirm)  # the patient is looking at "Move your appointment?"...
    other = PatientBrowser(clinic)
    other.book_until_check(start=MONDAY_10, details=DETAILS | {"email": "other@example.com"})
    other.confirm()  # ...when someone else books that time
    response = patient.client.post(confirm, data={"csrf_token": token, "start": MONDAY_10})
    # The time named, and the list on its week (it said "That time is not free" and went back to
    # this week: a hands-on trial).
    assert response.location.endswith("/reschedule?from=2027-03-08")
    assert ("Sorry, Monday, March 8, 2027, 10:00 AM was booked by someone else a moment ago. Your visit is "
            "unchanged: choose another time.") in text(patient.get(response.location))
    mine = [a for a in appointments(clinic) if a.patient.email == "pat@example.com"][0]
    assert mine.starts_at == datetime(2027, 3, 9, 22, 0, tzinfo=UTC) and mine.sequence == 0


def test_inside_the_notice_window_the_patient_is_asked_to_phone(clinic, patient, booked):
    clock = clinic.config["CLOCK"]
    clock.now = datetime(2027, 3, 8, 22, 0, tzinfo=UTC)  # exactly 24 hours before: still allowed
    assert patient.get(booked + "/cancel").status_code == 200
    clock.advance(minutes=1)
    assert ('please call the clinic at <a href="tel:+12135550100" class="phone-link">+1 213 555 0100</a>'
            in text(patient.get(booked)))
    for path in ("/cancel", "/reschedule"):
        refused = patient.get(booked + path)
        assert refused.status_code == 409 and "Phone the clinic to change this appointment" in text(refused)
    refused = patient.client.post(booked + "/cancel", data={"reason": "late"})
    assert refused.status_code == 409
    assert appointments(clinic)[0].status is AppointmentStatus.BOOKED


@pytest.mark.parametrize("taken_off", ["practitioner inactive", "service inactive", "service no longer offered"])
def test_a_visit_kept_after_its_practitioner_or_service_was_taken_off_is_moved_by_phone(clinic, patient, booked,
                                                                                       taken_off):
    """The admin pages keep booked visits when a practitioner or service is taken off online
    booking; the patient's link then answered 500 on "Change the time"."""
    with clinic.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        if taken_off == "practitioner inactive":
            appointment.practitioner.is_active = False
        elif taken_off == "service inactive":
            appointment.service.is_active = False
        else:
            appointment.practitioner.services.remove(appointment.service)
        db.session.commit()
    page = text(patient.get(booked))
    assert "Ana Test is not taking online bookings for this kind of visit now" in page
    assert "Change the time" not in page and "Cancel appointment" in page
    for path in ("/reschedule", "/reschedule/confirm?start=2027-03-10T09:00:00-08:00"):
        refused = patient.get(booked + path)
        assert refused.status_code == 409 and "Phone the clinic to change the time" in text(refused)
    token = patient.token(booked + "/cancel")
    refused = patient.client.post(f"{booked}/reschedule/confirm?start=2027-03-10T09:00:00-08:00",
                                  data={"csrf_token": token, "start": "2027-03-10T09:00:00-08:00"})
    assert refused.status_code == 409
    assert appointments(clinic)[0].starts_at == datetime(2027, 3, 9, 22, 0, tzinfo=UTC)
    assert patient.submit(booked + "/cancel", {"reason": ""}).status_code == 303  # cancelling still works
    assert appointments(clinic)[0].status is AppointmentStatus.CANCELLED


def test_bad_manage_links_all_look_the_same(clinic, patient, booked):
    unknown = patient.get("/manage/not-a-real-token")
    tampered = patient.get(booked[:-2] + ("xx" if not booked.endswith("xx") else "yy"))
    assert unknown.status_code == tampered.status_code == 404
    assert text(unknown) == text(tampered)
    clinic.config["CLOCK"].now = datetime(2027, 3, 9, 22, 30, tzinfo=UTC)  # the visit has ended
    expired = patient.get(booked)
    assert expired.status_code == 404 and text(expired) == text(unknown)


def test_the_time_list_costs_the_same_queries_whatever_the_week_or_bookings(clinic, patient, count_queries):
    patient.answer_first_visit("yes")
    patient.submit("/book", {"service": "short"})
    patient.submit("/book/practitioner", {"practitioner": "any"})

    def cost(url) -> int:
        with count_queries() as counted:
            assert patient.get(url).status_code == 200
        return counted.total

    rendered, kept = [], []
    for url in ("/book/time", "/book/time?from=2027-03-15", "/book/time?from=2027-03-29"):
        rendered.append(cost(url))
        kept.append(cost(url))
    other = PatientBrowser(clinic)
    other.book_until_check(details=DETAILS | {"email": "other@example.com"})
    other.confirm()
    rendered.append(cost("/book/time"))  # a diary changed: rendered again
    kept.append(cost("/book/time"))
    assert rendered == [4] * 4  # the draft, the stamps (settings and diaries), the window, the clinic
    assert kept == [2] * 4  # the draft, the stamps


def test_a_tampered_reschedule_time_changes_nothing(clinic, patient, booked):
    token = patient.token(booked + "/reschedule")
    for tampered in ("2027-03-10T09:05:00-08:00", "2027-03-14T10:00:00-07:00", "not-a-time",
                     "9999-12-31T23:59:59+14:00", "2999-01-04T10:00:00-08:00"):
        response = patient.client.post(f"{booked}/reschedule/confirm?start={tampered}", data={"csrf_token": token, "start": tampered})
        assert response.status_code == 303 and "/reschedule" in response.location
        said = text(patient.get(response.location))  # never free, so nobody is said to have taken it
        assert "is not free. Your visit is unchanged" in said and "someone else" not in said
    [appointment] = appointments(clinic)
    assert appointment.starts_at == datetime(2027, 3, 9, 22, 0, tzinfo=UTC) and appointment.sequence == 0


def test_a_cancelled_visit_cannot_be_cancelled_or_moved_again(clinic, patient, booked):
    patient.submit(booked + "/cancel", {"reason": ""})
    page = text(patient.get(booked))
    assert "This appointment is cancelled" in page and "Change the time" not in page
    again = patient.get(booked + "/reschedule")
    assert again.status_code == 409 and "already cancelled" in text(again)
    assert appointments(clinic)[0].cancel_reason is None


@pytest.mark.parametrize("returning, offered, hidden", [("yes", "short", "consult"), ("no", "consult", "short")])
def test_the_first_visit_question_comes_before_the_list_which_offers_only_what_fits(patient, returning, offered,
                                                                                   hidden):
    first = text(patient.get("/book/first-visit"))
    assert "<h1>Have you been to this clinic before?</h1>" in first
    assert 'name="returning" type="radio" value="no"' in first and 'name="service"' not in first
    patient.answer_first_visit(returning)
    page = text(patient.get("/book"))
    assert f'value="{offered}"' in page and f'value="{hidden}"' not in page
    assert re.search(rf'value="{offered}"\s+checked', page)  # the one visit that fits starts chosen
    assert 'href="/book/first-visit">Change your answer</a>' in page


def test_a_returning_patient_the_clinic_cannot_find_is_told_what_to_do(clinic, patient):
    patient.book_until_check(on_file=False)  # says they have been before; no record has these details
    message = ("We could not find an earlier visit for pat@example.com with this date of birth. Check your email "
               "address and date of birth, call the clinic at +1 213 555 0100, or change your answer and book a "
               "first visit.")
    assert message in text(patient.get("/book/check"))
    page = text(patient.confirm())
    assert message in page and 'href="#change-returning"' in page and 'id="change-returning"' in page
    assert appointments(clinic) == []
    patient.answer_first_visit("no")  # a first visit after all: the follow-up no longer fits
    assert patient.submit("/book", {"service": "consult"}).location.endswith("/book/time")
    assert patient.submit("/book/time", {"start": MONDAY_14}).location.endswith("/book/check")
    assert patient.confirm().location.endswith("/book/confirmation")
    assert appointments(clinic)[0].service.slug == "consult"


def test_the_confirmation_page_stops_offering_stale_links(clinic, patient):
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    manage = manage_path(patient)
    confirm = patient.submit(manage + "/reschedule", {"start": "2027-03-10T09:00:00-08:00"}).location
    moved = patient.submit(confirm).location
    page = text(patient.get("/book/confirmation"))
    assert "has been moved since" in page and "/manage/" not in page
    patient.submit(moved + "/cancel", {"reason": ""})
    assert "has been cancelled" in text(patient.get("/book/confirmation"))


def test_a_visit_inside_the_notice_window_says_to_phone_from_the_start(patient):
    patient.book_until_check(start=MONDAY_14)  # six hours away; the clinic asks for 24 hours' notice
    assert "This visit is less than 24 hours away" in text(patient.get("/book/check"))
    patient.confirm()
    assert "Your visit is less than 24 hours away: to change or cancel it, call" in text(patient.get("/book/confirmation"))


def test_a_cancelled_visit_calendar_file_cancels_the_event(clinic, patient, booked):
    patient.submit(booked + "/cancel", {"reason": ""})
    calendar = Calendar.from_ical(patient.get(booked + "/calendar.ics").data)
    event = calendar.walk("VEVENT")[0]
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1 and "cancelled" in str(event["DESCRIPTION"])


# --- a lost booking, Book again, where the clinic is, phone links, the date of birth ---------------------


def test_a_booking_lost_on_the_way_says_so_and_starts_again(clinic, patient):
    patient.reach_safety_check()
    clinic.config["CLOCK"].advance(hours=25)  # a day untouched: the draft has gone
    posted = patient.client.post("/book/safety", data={"symptoms": ["none"]})  # a form sent after it went
    assert posted.status_code == 303 and posted.location.endswith("/book/first-visit")
    page = text(patient.get(posted.location))
    assert "We could not find the booking you started: it may have expired." in page
    assert "<h1>Have you been to this clinic before?</h1>" in page
    assert the_draft(clinic) is None or "symptoms" not in (the_draft(clinic).details or {})
    # Told once: the browser now holds no booking, and later steps say just that.
    for step in ("/book/time", "/book/check"):
        gone = patient.get(step)
        assert gone.status_code == 302 and gone.location.endswith("/book/first-visit")
        page = text(patient.get(gone.location))
        assert "There is no booking in progress in this browser" in page and "could not find" not in page


def test_a_new_visitor_is_not_told_anything_was_lost(patient):
    start = patient.get("/book")
    assert start.location.endswith("/book/first-visit")
    assert "in progress" not in text(patient.get(start.location))
    later = patient.get("/book/details")  # a later step's address opened directly (or a cleared cookie)
    assert later.location.endswith("/book/first-visit")
    page = text(patient.get(later.location))
    assert "There is no booking in progress in this browser, so please start from the first question." in page
    assert "could not find" not in page
    sent = patient.client.post("/book/check")  # "Confirm booking" pressed after the cookie went
    assert sent.status_code == 303 and sent.location.endswith("/book/first-visit")
    assert "so nothing was booked. Please start from the first question." in text(patient.get(sent.location))


def test_a_cancelled_booking_offers_book_again(clinic, patient, booked):
    assert "Book again" not in text(patient.get(booked))
    patient.submit(booked + "/cancel", {"reason": ""})
    page = text(patient.get(booked))
    assert re.search(r'<a class="button" href="/book/first-visit"[^>]*>Book again</a>', page)
    assert "Add to your calendar" not in page


def give_the_clinic_an_address(app, directions="Step-free entrance on the side street; parking behind the building."):
    with app.app_context():
        with write_transaction():
            place = db.session.get(Clinic, 1)
            place.address_street, place.address_city = "1200 Example Ave, Suite 4", "Los Angeles"
            place.address_region, place.address_postcode, place.address_country = "CA", "90012", "US"
            place.directions = directions


def test_where_shows_the_address_directions_and_a_map_link(clinic, patient):
    give_the_clinic_an_address(clinic)
    with clinic.app_context():  # a plain map search for the address (the model's, whichever map it uses)
        map_link = db.session.get(Clinic, 1).directions_url
    assert map_link.startswith("https://") and "1200+Example+Ave" in map_link
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    for page in (text(patient.get("/book/confirmation")), text(patient.get(manage_path(patient)))):
        where = page[page.index("<dt>Where</dt>"):]
        where = where[:where.index("</dd>")]
        assert "Test Clinic" in where and "1200 Example Ave, Suite 4<br>Los Angeles, CA 90012" in where
        assert "Step-free entrance on the side street" in where
        assert f'<a href="{escape(map_link)}" rel="noopener">Get directions' in where


def test_a_clinic_without_an_address_shows_only_its_name(clinic, patient):
    patient.book_until_check()
    patient.confirm()
    page = text(patient.get("/book/confirmation"))
    assert "<dt>Where</dt><dd>Test Clinic</dd>" in page
    assert "Get directions" not in page and "<address" not in page


def test_phone_numbers_are_tap_to_call_links(clinic, patient):
    clinic_phone = '<a href="tel:+12135550100" class="phone-link">+1 213 555 0100</a>'
    emergency = '<a href="tel:911" class="phone-link">911</a>'
    home = text(patient.get("/"))
    assert f"Questions about a booking? Call Test Clinic at {clinic_phone}." in home and f"In an emergency, call {emergency}." in home
    assert f"You can also book by phone at {clinic_phone}." in home
    patient.reach_safety_check()
    patient.submit("/book/safety", {"symptoms": ["chest_pain"]})
    page = text(patient.get("/book/emergency"))
    assert f'call <span class="call-number">{emergency}</span> for an ambulance now' in page
    assert f"call the clinic at {clinic_phone}." in page


def test_the_date_of_birth_is_asked_month_first_in_the_us(clinic, patient):
    patient.reach_safety_check()
    patient.submit("/book/safety", {"symptoms": ["none"]})
    page = text(patient.get("/book/details"))
    boxes = re.findall(r'id="(birth_(?:day|month|year))"', page)
    assert boxes == ["birth_month", "birth_day", "birth_year"]
    assert "For example, 3/27/1980" in page
    wrong = text(patient.submit("/book/details", DETAILS | {"birth_day": "31", "birth_month": "2"}))
    assert "Date of birth must be a real date, like 3/27/1980" in wrong
    # The summary leads to the first box, the month: it led to the day, the second (a hands-on trial).
    assert '<a href="#birth_month">Date of birth must be a real date, like 3/27/1980</a>' in wrong


def test_an_online_booking_keeps_the_language_it_was_made_in(clinic, patient):
    patient.book_until_check()
    patient.confirm()
    assert appointments(clinic)[0].language == "en"
