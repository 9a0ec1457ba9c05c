"""JSON API v1 on both databases: listings, slots, bookings, and every kind of bad input."""

import json
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from limits.storage import storage_from_string

from booking import create_app
from booking.extensions import db
from booking import rate_limits
from booking.rate_limits import TidiedMemoryStorage
from booking.models import Appointment, AppointmentStatus, Clinic, Patient, Practitioner, Service, StaffRole
from booking.operations import bookings, catalogue, desk
from booking.api.schemas import read_whole_number
from booking.validation import clean_name
from booking.operations.staff import add_staff
from booking.tokens import hash_token
from tests.conftest import app_config, close_database
from tests.postgres import free_port

UTC = timezone.utc

# The pinned clock is Monday 8 March 2027, 08:00 in Los Angeles (PST, UTC-8); with two hours'
# notice the first bookable start that day is 10:00.
MONDAY_10 = "2027-03-08T10:00:00-08:00"
MONDAY_14 = "2027-03-08T14:00:00-08:00"


def body(start=MONDAY_10, service="short", practitioner="ana", **patient_changes):
    patient = {"name": "Pat Example", "email": "pat@example.com", "phone": "+1 213 555 0142", "birth_date": "1980-05-17"}
    patient.update(patient_changes)
    return {"service": service, "practitioner": practitioner, "start": start, "patient": patient, "safety": []}


def slots(client, **params):
    params.setdefault("service", "short")
    response = client.get("/api/v1/slots", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def row_counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Patient)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)),
        )


@pytest.fixture
def client(clinic):
    return clinic.test_client()


# --- listings ------------------------------------------------------------------------------


def test_services_and_practitioners(client):
    services = client.get("/api/v1/services").get_json()["services"]
    assert [s["slug"] for s in services] == ["consult", "short"]
    assert services[0]["minutes"] == 60 and services[0]["new_patients_only"] is True
    practitioners = client.get("/api/v1/practitioners").get_json()["practitioners"]
    assert [(p["slug"], p["services"]) for p in practitioners] == [("ana", ["consult", "short"]), ("ben", ["short"])]


# --- slots ---------------------------------------------------------------------------------


def test_slots_are_in_the_clinic_zone_with_their_offset(client):
    found = slots(client, practitioner="ana", days=1)
    assert found["timezone"] == "America/Los_Angeles"
    assert found["slots"][0] == {"start": MONDAY_10, "end": "2027-03-08T10:30:00-08:00", "practitioner": "ana"}
    assert found["slots"][-1]["start"] == "2027-03-08T16:30:00-08:00"


def test_any_practitioner_merges_sorted_by_start_then_practitioner(client):
    found = slots(client, practitioner="any", days=1)["slots"]
    assert found == sorted(found, key=lambda s: (s["start"], s["practitioner"]))
    ten = [s["practitioner"] for s in found if s["start"] == MONDAY_10]
    assert ten == ["ana", "ben"]


def test_slots_after_the_spring_change_carry_the_new_offset(client):
    found = slots(client, practitioner="ana", **{"from": "2027-03-12", "days": 4})["slots"]
    days = {s["start"][:10]: s["start"] for s in reversed(found)}
    assert days == {"2027-03-12": "2027-03-12T09:00:00-08:00", "2027-03-15": "2027-03-15T09:00:00-07:00"}


def test_days_default_to_seven_from_the_clinic_today(client):
    found = slots(client, practitioner="ana")["slots"]
    assert {s["start"][:10] for s in found} == {"2027-03-08", "2027-03-09", "2027-03-10", "2027-03-11", "2027-03-12"}


def test_booked_time_and_its_buffer_disappear_and_cancelling_frees_them(clinic, client):
    created = client.post("/api/v1/bookings", json=body(start=MONDAY_10, service="consult"))
    assert created.status_code == 201
    starts = [s["start"][11:16] for s in slots(client, practitioner="ana", days=1)["slots"]]
    # 10:00-11:00 treatment + 15 minute buffer: 09:45 (ends 10:15) and 10:00-11:00 are gone.
    assert "09:30" not in starts  # before the notice anyway
    assert "10:00" not in starts and "10:45" not in starts and "11:00" not in starts
    assert "11:15" in starts
    with clinic.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        appointment.status = AppointmentStatus.CANCELLED
        db.session.commit()
    assert "10:00" in [s["start"][11:16] for s in slots(client, practitioner="ana", days=1)["slots"]]


@pytest.mark.parametrize(
    "params, status, field, words",
    [
        ({"practitioner": "any"}, 422, "service", "is required"),
        ({"service": "massage"}, 404, "service", "no service 'massage'; known services: consult, short"),
        ({"service": "short", "practitioner": "zed"}, 404, "practitioner", "no practitioner 'zed'"),
        ({"service": "consult", "practitioner": "ben"}, 422, "practitioner", "'ben' does not offer 'consult'"),
        ({"service": "short", "days": "0"}, 422, "days", "must be a whole number from 1 to 31, not 0"),
        ({"service": "short", "days": "32"}, 422, "days", "must be a whole number from 1 to 31, not 32"),
        ({"service": "short", "days": "1000"}, 422, "days", "must be a whole number from 1 to 31, not 1000"),
        ({"service": "short", "days": "-3"}, 422, "days", "must be a whole number from 1 to 31, not -3"),
        ({"service": "short", "days": "9" * 5000}, 422, "days", "must be a whole number from 1 to 31, not 999999999999..."),
        ({"service": "short", "days": "a week"}, 422, "days", "must be a whole number from 1 to 31, not the text 'a week'"),
        ({"service": "short", "days": "2.5"}, 422, "days", "must be a whole number from 1 to 31, not the text '2.5'"),
        ({"service": "short", "days": ""}, 422, "days", "must be a whole number from 1 to 31, not empty"),
        ({"service": "short", "from": "08/03/2027"}, 422, "from", "use YYYY-MM-DD"),
        ({"service": "short", "from": "20270308"}, 422, "from", "use YYYY-MM-DD"),
        ({"service": "short", "from": "9999-12-31"}, 422, "from", "2027-04-07, the last date open for booking"),
        ({"service": "short", "from": "0001-01-01"}, 422, "from", "must be between a year ago"),
        ({"service": "short", "days": "1_0"}, 422, "days", "must be a whole number from 1 to 31, not the text '1_0'"),
        ({"service": "short", "days": "\u0663"}, 422, "days", "not the text"),  # an Arabic-Indic 3: digits are ASCII
    ],
)
def test_bad_slot_queries(client, params, status, field, words):
    response = client.get("/api/v1/slots", query_string=params)
    assert response.status_code == status
    payload = response.get_json()
    message = payload["errors"][field] if status == 422 else payload["message"]
    assert words in message
    if status == 404:
        assert payload["field"] == field


@pytest.mark.parametrize("raw, message", [
    (40, "must be a whole number from 1 to 31, not 40"),
    (0.0, "must be a whole number from 1 to 31, not 0"),
    (2.5, "must be a whole number from 1 to 31, not a fraction (2.5)"),
    (True, "must be a whole number from 1 to 31, not true or false"),
    ([7], "must be a whole number from 1 to 31, not a list"),
    ({"days": 7}, "must be a whole number from 1 to 31, not an object"),
    (None, "must be a whole number from 1 to 31, not null"),
])
def test_a_bounded_number_of_the_wrong_kind_says_the_range_and_what_came(raw, message):
    with pytest.raises(ValueError) as refused:
        read_whole_number(raw, 1, 31)
    assert str(refused.value) == message


@pytest.mark.parametrize("raw, value", [("7", 7), (" 31 ", 31), ("+1", 1), (12, 12), (3.0, 3)])
def test_a_bounded_number_in_range_is_read(raw, value):
    assert read_whole_number(raw, 1, 31) == value


def test_slot_queries_cost_the_same_whatever_the_window(client, count_queries):
    slots(client, practitioner="ana", days=2)  # the process reads the clinic's settings once
    costs = []
    for params in ({"practitioner": "ana", "days": 1}, {"practitioner": "ana", "days": 31}, {"practitioner": "any", "days": 31}):
        with count_queries() as counted:
            slots(client, **params)
        costs.append(counted.total)
    # Whatever the window or practitioners: the settings and diary stamps (one statement), then one
    # query for time off and booked time. Asked again, the answer is kept (tests/test_offered_slots.py).
    assert costs == [2, 2, 2]


def test_a_booking_sends_a_fixed_number_of_statements_and_reads_nothing_again_for_its_answer(client, count_queries, database_url):
    slots(client, practitioner="ana", days=1)  # the process reads the clinic's settings once
    with count_queries() as counted:
        response = client.post("/api/v1/bookings", json=body(start=MONDAY_14))
    assert response.status_code == 201
    # The settings stamp under the lock (the body is read with the process's copy as it was), what
    # lies across the visit's time, the patient, then the new patient, visit, its one hands-on part
    # (the whole visit, for a service without parts), diary stamp, history line and email;
    # PostgreSQL adds its two advisory locks. A new patient has no earlier intake to ask about, so
    # nothing is read for the email. The answer is built from values taken before the commit: it
    # reads nothing again (it was 18 and 20, then 13 and 15, then 9 and 11 before parts, then 10 and
    # 12 with a second stamp read before the lock).
    assert counted.total == (9 if database_url.startswith("sqlite") else 11)


def test_an_admins_change_reaches_the_next_slots_request_of_every_process(clinic, tmp_path):
    """Two apps on one database stand for two processes: each keeps its own copy of the clinic's
    settings, and a change saved through one is seen by the other's next request."""
    other = create_app(app_config(clinic.config["SQLALCHEMY_DATABASE_URI"], CLOCK=clinic.config["CLOCK"]))
    try:
        first, second = clinic.test_client(), other.test_client()
        before = slots(first, practitioner="ana", days=7)
        assert slots(second, practitioner="ana", days=7) == before
        with clinic.app_context():
            service = db.session.scalar(sa.select(Service).where(Service.slug == "short"))
            service.minutes += 15  # longer visits: fewer starts fit before the end of the day
            db.session.commit()
        after = slots(second, practitioner="ana", days=7)
        assert after != before and len(after["slots"]) < len(before["slots"])
        assert slots(first, practitioner="ana", days=7) == after
    finally:
        close_database(other)


def test_a_change_committed_while_a_request_holds_the_old_rows_is_not_kept_under_the_new_stamp(clinic):
    """A request that loaded the clinic and a service before an admin's change, and then checks
    the catalogue, must not keep the old values it holds under the stamp the change made."""
    with clinic.app_context():
        catalogue.current()  # this process's copy, from before the change
    with clinic.app_context():
        # Loaded, as a page would, and held (the session keeps only rows someone refers to).
        held = db.session.get(Clinic, 1), db.session.scalar(sa.select(Service).where(Service.slug == "short"))
        with clinic.app_context():  # meanwhile another process's admin saves new settings
            db.session.get(Clinic, 1).slot_step_minutes = 30
            db.session.scalar(sa.select(Service).where(Service.slug == "short")).minutes += 15
            db.session.commit()
        catalogue.current()
        assert held
    with clinic.app_context():
        known = catalogue.current()
        saved = (db.session.get(Clinic, 1).slot_step_minutes,
                 db.session.scalar(sa.select(Service.minutes).where(Service.slug == "short")))
        assert (known.booking_rules.step_minutes, known.service("short").minutes) == saved


def test_settings_changed_and_rolled_back_are_never_kept(clinic):
    with clinic.app_context():
        before = catalogue.current().service("short").minutes
        db.session.scalar(sa.select(Service).where(Service.slug == "short")).minutes += 30
        db.session.flush()
        assert catalogue.current().service("short").minutes == before  # only what is committed
        db.session.rollback()
    with clinic.app_context():
        assert catalogue.current().service("short").minutes == before


def test_bookings_leave_the_settings_stamp_and_a_change_of_hours_renews_it(clinic):
    """Bookings must not renew the stamp (every process would re-read, and bookings would queue on
    the clinic row); taking away all of a practitioner's hours, a bulk delete, must."""
    def stamp() -> str:
        with clinic.app_context():
            return db.session.scalar(sa.select(Clinic.settings_stamp))

    before = stamp()
    start = slots(clinic.test_client(), practitioner="ana", days=7)["slots"][0]["start"]
    booked = clinic.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": start, "safety": [],
        "patient": {"name": "Pat Stamp", "email": "pat.stamp@example.com", "phone": "213 555 0142",
                    "birth_date": "1980-04-02"},
    })
    assert booked.status_code == 201, booked.get_json()
    with clinic.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booked.get_json()["reference"]))
        bookings.cancel(visit.id, "test", clinic.config["CLOCK"]())
    assert stamp() == before
    with clinic.app_context():
        account = add_staff("desk.stamp@example.org", "Desk", StaffRole.RECEPTIONIST, "correct horse battery",
                            clinic.config["CLOCK"]())
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        desk.set_hours(account, ana, {}, clinic.config["CLOCK"]())
    assert stamp() != before
    assert slots(clinic.test_client(), practitioner="ana", days=7)["slots"] == []  # no hours: no times


# --- booking -------------------------------------------------------------------------------


def test_booking_returns_the_appointment_and_a_working_manage_link(clinic, client):
    response = client.post("/api/v1/bookings", json=body(start=MONDAY_14) | {"safety": ["fever", "night_pain"]})
    assert response.status_code == 201
    made = response.get_json()
    assert made["start"] == MONDAY_14 and made["end"] == "2027-03-08T14:30:00-08:00"
    assert len(made["reference"]) == 8
    assert made["manage_url"].startswith("http://clinic.test/manage/")
    # Urgent answers: the advice for the patient comes back with the booking, for the caller to pass on.
    assert made["advice"].startswith("See a doctor within 24 hours: contact your own doctor or an urgent care center today")
    assert "advice" not in client.post("/api/v1/bookings", json=body(start=MONDAY_10)).get_json()
    token = made["manage_url"].rsplit("/", 1)[1]
    with clinic.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.starts_at == datetime(2027, 3, 8, 22, 0, tzinfo=UTC)
        assert appointment.occupied_until == appointment.ends_at  # "short" has no buffer
        assert appointment.safety_flags == ["fever", "night_pain"]
        assert appointment.manage_token_hash == hash_token(token) and token not in appointment.manage_token_hash
        assert appointment.status is AppointmentStatus.BOOKED
    page = client.get(f"/manage/{token}")
    assert page.status_code == 200 and made["reference"] in page.get_data(as_text=True)


def test_the_manage_page_names_the_zone_of_the_last_moment_to_change_online(client):
    made = client.post("/api/v1/bookings", json=body(start="2027-03-10T10:00:00-08:00")).get_json()
    page = client.get(made["manage_url"].removeprefix("http://clinic.test")).get_data(as_text=True)
    assert re.search(r"You can do this online until [^.<]+ \(PST\)\.", page), page


def test_manage_link_tampered_unknown_or_expired_all_look_the_same(clinic, client):
    token = client.post("/api/v1/bookings", json=body()).get_json()["manage_url"].rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = client.get("/manage/nothing-here")
    assert client.get(f"/manage/{tampered}").status_code == 404 and unknown.status_code == 404
    clinic.config["CLOCK"].advance(hours=3)  # the 10:00-10:30 visit has ended
    expired = client.get(f"/manage/{token}")
    assert expired.status_code == 404 and expired.get_data() == unknown.get_data()


def test_any_practitioner_books_the_first_free_one_by_slug(client):
    first = client.post("/api/v1/bookings", json=body(practitioner="any"))
    second = client.post("/api/v1/bookings", json=body(practitioner="any", email="other@example.com"))
    assert (first.get_json()["practitioner"], second.get_json()["practitioner"]) == ("ana", "ben")
    third = client.post("/api/v1/bookings", json=body(practitioner="any", email="third@example.com"))
    assert third.status_code == 409


def test_a_taken_time_is_409_with_nearby_alternatives_and_nothing_written(clinic, client):
    assert client.post("/api/v1/bookings", json=body()).status_code == 201
    before = row_counts(clinic)
    lost = client.post("/api/v1/bookings", json=body(email="late@example.com"))
    assert lost.status_code == 409
    payload = lost.get_json()
    assert payload["error"] == "slot_taken"
    alternatives = [a["start"] for a in payload["alternatives"]]
    assert alternatives and MONDAY_10 not in alternatives
    assert "2027-03-08T10:30:00-08:00" in alternatives  # the very next free start
    assert row_counts(clinic) == before


def test_returning_patient_is_matched_by_email_and_birth_date(clinic, client):
    client.post("/api/v1/bookings", json=body())
    again = client.post("/api/v1/bookings", json=body(start=MONDAY_14, email="PAT@Example.com", phone="+1 213 555 0199"))
    assert again.status_code == 201
    assert row_counts(clinic) == (1, 2)
    with clinic.app_context():  # a booking never rewrites the record it matched
        assert db.session.scalar(sa.select(Patient.phone)) == "+1 213 555 0142"
    other_birthday = client.post("/api/v1/bookings", json=body(start="2027-03-08T15:00:00-08:00", birth_date="1981-05-17"))
    assert other_birthday.status_code == 201 and row_counts(clinic) == (2, 3)


def test_new_patients_only_service_refuses_a_returning_patient(clinic, client):
    assert client.post("/api/v1/bookings", json=body()).status_code == 201
    before = row_counts(clinic)
    again = client.post("/api/v1/bookings", json=body(start=MONDAY_14, service="consult"))
    assert again.status_code == 422
    assert "is for patients new to the clinic" in again.get_json()["errors"]["service"]
    assert row_counts(clinic) == before


def test_emergency_answers_stop_the_booking_with_advice(clinic, client):
    response = client.post("/api/v1/bookings", json=body() | {"safety": ["fever", "saddle_numbness"]})
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["error"] == "emergency"
    assert "911" in payload["advice"] and "+1 213 555 0100" in payload["advice"]
    assert row_counts(clinic) == (0, 0)


def test_the_newer_urgent_codes_book_with_their_flags(clinic, client):
    codes = ["cancer_new_pain", "worsening_weakness", "infection_risk", "fragility_fracture"]
    response = client.post("/api/v1/bookings", json=body() | {"safety": codes})
    assert response.status_code == 201
    with clinic.app_context():
        assert db.session.scalar(sa.select(Appointment.safety_flags)) == codes


def test_aortic_symptoms_are_an_emergency(clinic, client):
    response = client.post("/api/v1/bookings", json=body() | {"safety": ["aortic_symptoms"]})
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["error"] == "emergency"
    assert "call 911 for an ambulance" in payload["advice"] and "nerve" not in payload["advice"]
    assert row_counts(clinic) == (0, 0)


def test_emergency_advice_comes_before_other_mistakes(client):
    response = client.post("/api/v1/bookings", json={"safety": ["chest_pain"], "patient": {}})
    assert response.status_code == 422 and response.get_json()["error"] == "emergency"


BAD_BOOKINGS = [
    # (change to the body, the field blamed, words in the message)
    ({"start": "2027-03-08T10:05:00-08:00"}, "start", "not a start time on offer"),
    ({"start": "2027-03-08T12:45:00-08:00"}, "start", "not a start time on offer"),  # lunch break
    ({"start": "2027-03-14T10:00:00-07:00"}, "start", "not a start time on offer"),  # Sunday
    ({"start": "2027-03-08T09:00:00-08:00"}, "start", "2 hours' notice"),
    ({"start": "2027-05-03T10:00:00-07:00"}, "start", "30 days ahead"),
    ({"start": "2027-03-08T10:00:00"}, "start", "no UTC offset"),
    ({"start": "9999-12-31T23:00:00-08:00"}, "start", "not a time anyone could book"),
    ({"start": "2999-12-31T23:00:00-08:00"}, "start", "30 days ahead"),
    ({"start": "1901-01-01T00:00:00+14:00"}, "start", "has already passed"),
    ({"start": "2027-03-08T07:00:00-08:00"}, "start", "2027-03-08 07:00 PST has already passed"),  # not "too soon"
    ({"start": "tomorrow at ten"}, "start", "not an ISO 8601 time"),
    ({"start": None}, "start", "is required"),
    ({"service": None}, "service", "is required"),
    ({"practitioner": ""}, "practitioner", "slug or \"any\""),
    ({"service": "consult", "practitioner": "ben"}, "practitioner", "does not offer"),
    ({"safety": None}, "safety", "[] when none do"),
    ({"safety": "none"}, "safety", "[] when none do"),
    ({"safety": ["headache"]}, "safety", "unknown safety codes: headache"),
    ({"patient": None}, "patient", "is required: an object"),
    ({"patient": "Pat Example"}, "patient", "must be an object: {\"name\", \"email\", \"phone\", \"birth_date\"}, not text"),
    ({"patient": {"email": "pat@example.com", "phone": "+1 213 555 0142", "birth_date": "1980-05-17"}}, "patient.name", "Enter your full name"),
    ({"patient": {"name": "P", "email": "not-an-address", "phone": "+1 213 555 0142", "birth_date": "1980-05-17"}}, "patient.email", "correct format"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "call me", "birth_date": "1980-05-17"}}, "patient.phone", "7 to 15 digits"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "12", "birth_date": "1980-05-17"}}, "patient.phone", "7 to 15 digits"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "17/05/1980"}}, "patient.birth_date", "use YYYY-MM-DD"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "2030-01-01"}}, "patient.birth_date", "must be in the past"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "2027-03-08"}}, "patient.birth_date", "must be in the past"),  # today
    # 120 years to the day, not to the year: 1 January 1907 would have passed a comparison of years.
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "1907-03-08"}}, "patient.birth_date", "less than 120 years ago"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "1907-01-01"}}, "patient.birth_date", "less than 120 years ago"),
    ({"patient": {"name": "P" * 121, "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "1980-05-17"}}, "patient.name", "120 characters or fewer"),
    # A misspelt key is named, rather than read as left out (which for "practitioner" means any).
    ({"practioner": "ben"}, "practioner", "is not a field here; the fields are service, practitioner, start"),
    ({"patient": {"name": "P", "email": "p@example.com", "phone": "+1 213 555 0142", "birth_date": "1980-05-17",
                  "dob": "1980-05-17"}}, "patient.dob", "the fields are name, email, phone, birth_date"),
]


@pytest.mark.parametrize("change, field, words", BAD_BOOKINGS)
def test_bad_bookings_are_422_per_field_and_write_nothing(clinic, client, change, field, words):
    response = client.post("/api/v1/bookings", json=body() | change)
    assert response.status_code == 422, response.get_json()
    assert words in response.get_json()["errors"][field]
    assert row_counts(clinic) == (0, 0)


# Characters that show as nothing but change how a name reads on staff pages and in emails: a right-to-left
# override ("Pat \u202eredeeM" shows as "Pat Meeder"), isolates, zero-width spaces and joiners, a soft hyphen.
HIDDEN_IN_NAMES = ["Pat \u202eredeeM", "\u2067Pat\u2069 Example", "Pat\u200bExample", "Pat\u200c Example",
                   "Pa\u00adt Example", "\ufeffPat Example", "Pat Exa\u200dmple", "Pat \u200fExample"]


@pytest.mark.parametrize("name", HIDDEN_IN_NAMES)
def test_a_name_with_hidden_characters_is_refused_by_name(clinic, client, name):
    response = client.post("/api/v1/bookings", json=body(name=name))
    assert response.status_code == 422, response.get_json()
    assert "Full name must not include hidden characters" in response.get_json()["errors"]["patient.name"]
    assert row_counts(clinic) == (0, 0)


# Names in any script stay bookable, with the joiners the scripts that need them use: a Persian
# surname's non-joiner between Arabic letters, a Devanagari half form's joiner after a virama.
ANY_SCRIPT = ["José Núñez", "李雷", "محمد عبد الله", "علی حسین\u200cزاده", "Zoë O'Brien-Łukasz", "Ἀλέξανδρος",
              "क्\u200dषमा शर्मा", "יעל כהן"]


def test_names_in_any_script_pass_the_one_check_that_refuses_hidden_characters(clinic, client):
    with clinic.test_request_context():
        assert [clean_name(name) for name in ANY_SCRIPT] == ANY_SCRIPT
        for name in HIDDEN_IN_NAMES:
            with pytest.raises(ValueError, match="hidden characters"):
                clean_name(name)
    response = client.post("/api/v1/bookings", json=body(name="علی حسین\u200cزاده"))
    assert response.status_code == 201, response.get_json()
    with clinic.app_context():
        assert db.session.scalar(sa.select(Patient.name)) == "علی حسین\u200cزاده"


@pytest.mark.parametrize(
    "service, practitioner, field",
    [("massage", "ana", "service"), ("short", "zed", "practitioner")],
)
def test_booking_unknown_service_or_practitioner_is_404(clinic, client, service, practitioner, field):
    response = client.post("/api/v1/bookings", json=body(service=service, practitioner=practitioner))
    assert response.status_code == 404 and response.get_json()["field"] == field
    assert row_counts(clinic) == (0, 0)


@pytest.mark.parametrize("raw, content_type, says", [
    (b"{not json", "application/json",
     "the body is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
    (b'{"a": 1,\n "b": }', "application/json", "the body is not valid JSON: Expecting value (line 2, column 7)"),
    (b'{"a": 1}', "text/plain", "send the body as JSON, with Content-Type: application/json"),
    (b"", "application/json", "the body is empty: send a JSON object"),
    (b" \n", "application/json", "the body is empty: send a JSON object"),
    (b"null", "application/json", "the body is JSON null: send a JSON object"),
    ('{"name": "Inés"}'.encode("latin-1"), "application/json",
     "the body is not UTF-8 text (nor UTF-16 or UTF-32): send it as UTF-8"),
    (b"\xef\xbb\xbf \r\n", "application/json", "the body is empty: send a JSON object"),
    (b"\x0c", "application/json", "the body is not valid JSON: Expecting value (line 1, column 1)"),  # not JSON's space
    (b'{"count": ' + b"7" * 5000 + b"}", "application/json",
     "the body could not be read as JSON: Exceeds the limit (4300 digits) for integer string conversion: "
     "value has 5000 digits"),  # a 500 once (found in review)
    # Python's json reads these, JSON has no such numbers: they were read and left unchecked in an
    # ignored field, and refused as "not a number" in a known one.
    (b'{"service": "short", "note": NaN}', "application/json", "the body is not valid JSON: NaN is not a JSON number"),
    (b'{"repeat": {"count": Infinity}}', "application/json",
     "the body is not valid JSON: Infinity is not a JSON number"),
    (b"-Infinity", "application/json", "the body is not valid JSON: -Infinity is not a JSON number"),
    (b'{"repeat": {"count": 1e400}}', "application/json",  # read as inf, past the check above (review)
     "the body has a number too large to read: 1e400"),
    # The last one won: "practitioner" twice booked whoever came second (a hands-on trial).
    (b'{"service": "short", "practitioner": "ana", "practitioner": "ben"}', "application/json",
     'the body names "practitioner" more than once in one object: name each key once'),
    (b'{"patient": {"name": "A", "email": "a@example.com", "name": "B"}}', "application/json",
     'the body names "name" more than once in one object: name each key once'),
])
def test_a_body_that_is_not_json_is_400_saying_what_is_wrong_with_it(clinic, client, raw, content_type, says):
    """The message once said "must be JSON ... nested no more than 32 levels deep" for every one
    of these, naming neither the encoding nor where the syntax broke (found in a hands-on trial)."""
    response = client.post("/api/v1/bookings", data=raw, content_type=content_type)
    assert response.status_code == 400 and response.get_json() == {"error": "invalid_json", "message": says}
    assert row_counts(clinic) == (0, 0)


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_deeper_than_any_body_needs_is_400_and_books_nothing(clinic, client, depth):
    """100,000 levels once exhausted Python's recursion while the body was read: a 500."""
    for raw in ("[" * depth + "]" * depth, '{"a":' * min(depth, 40_000) + "1" + "}" * min(depth, 40_000)):
        response = client.post("/api/v1/bookings", data=raw, content_type="application/json")
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"
        assert response.get_json()["message"] == ("the body is nested more than 32 levels deep: "
                                                  "no request needs that many")
    assert row_counts(clinic) == (0, 0)


@pytest.mark.parametrize("field", ["service", "practitioner", "name", "key"])
def test_half_a_surrogate_pair_in_a_json_string_is_400_and_books_nothing(clinic, client, field):
    """JSON may spell "\\ud800" (half of a UTF-16 pair), which Python reads as a lone surrogate that no
    database driver can encode: a service or practitioner slug holding one was a 500 (found by
    tests/test_hostile_input.py)."""
    booking = body()
    if field == "name":
        booking["patient"]["name"] = "Pat \\ud800"
    elif field == "key":
        booking["\\udfff"] = 1
    else:
        booking[field] = "short\\ud800"
    raw = json.dumps(booking).replace("\\\\u", "\\u")  # the escape as a client sends it, not escaped again
    response = client.post("/api/v1/bookings", data=raw, content_type="application/json")
    assert response.status_code == 400 and "surrogate" in response.get_json()["message"]
    assert row_counts(clinic) == (0, 0)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-32-be"])
@pytest.mark.parametrize("spelled", ["escaped", "raw"])
@pytest.mark.parametrize("character, refusal", [("\x00", "NUL"), ("\ud800", "surrogate")])
def test_nul_and_half_a_surrogate_pair_are_refused_however_the_json_is_encoded(clinic, client, encoding, spelled,
                                                                                 character, refusal):
    """json.loads reads UTF-16 and UTF-32 bodies too, and bytes that spell a surrogate in UTF-8: the
    check that skips reading plain ASCII bodies (web._may_hold_nul_or_surrogate) must not skip these."""
    booking = body()
    booking["patient"]["name"] = f"Pat {character}"
    raw = json.dumps(booking, ensure_ascii=False)
    if spelled == "escaped":
        raw = raw.replace(character, "\\u%04x" % ord(character))
    response = client.post("/api/v1/bookings", data=raw.encode(encoding, "surrogatepass"),
                           content_type="application/json")
    assert response.status_code == 400 and refusal in response.get_json()["message"]
    assert row_counts(clinic) == (0, 0)


def test_json_as_deep_as_allowed_is_read(client):
    raw = '{"service":' * 31 + '"short"' + "}" * 31  # 31 objects deep and a string: refused for its content only
    response = client.post("/api/v1/bookings", data=raw, content_type="application/json")
    assert response.status_code in (404, 422) and response.get_json()["error"] != "invalid_json"


def test_a_json_array_body_is_422(client):
    response = client.post("/api/v1/bookings", json=[1, 2])
    assert response.status_code == 422 and "JSON object" in response.get_json()["errors"]["body"]


def test_api_errors_are_json_even_for_unknown_routes_and_methods(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong_method = client.delete("/api/v1/services")
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"] == "method_not_allowed"


def test_api_before_the_clinic_is_set_up_says_so(app):
    response = app.test_client().get("/api/v1/slots?service=short")
    assert response.status_code == 503 and "flask clinic import" in response.get_json()["message"]


def test_api_needs_no_csrf_token_and_sets_no_cookie(client):
    response = client.post("/api/v1/bookings", json=body())
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers


def test_reads_are_rate_limited_with_a_json_429(database_url, clinic):
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, API_READ_LIMIT="3 per minute"))
    api = limited.test_client()
    statuses = [api.get("/api/v1/services").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert api.get("/api/v1/services").get_json()["error"] == "too_many_requests"
    close_database(limited)


# --- the database's own guarantee --------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_exclusion_constraint_refuses_overlap_even_behind_the_apps_back(clinic, client):
    """Only PostgreSQL has the constraint; on SQLite the booking's write lock does this job."""
    client.post("/api/v1/bookings", json=body(service="consult"))
    with clinic.app_context():
        existing = db.session.scalar(sa.select(Appointment))
        clash = Appointment(
            reference="CLASH001",
            practitioner_id=existing.practitioner_id,
            service_id=existing.service_id,
            patient_id=existing.patient_id,
            starts_at=existing.ends_at,  # inside the buffer of the existing one
            ends_at=existing.ends_at + timedelta(minutes=30),
            occupied_until=existing.ends_at + timedelta(minutes=30),
            safety_flags=[],
            manage_token_hash="0" * 64,
            created_at=existing.created_at,
        )
        db.session.add(clash)
        with pytest.raises(sa.exc.IntegrityError, match="hands_on_part_no_overlap"):
            db.session.commit()
        db.session.rollback()
        clash.status = AppointmentStatus.CANCELLED  # cancelled appointments hold no time
        db.session.add(clash)
        db.session.commit()


def test_limits_go_on_in_memory_while_their_storage_is_unreachable(database_url, clinic, caplog):
    """Redis down: the API still answers, and still refuses past the limit, counting in the
    process's memory; the storage is tried again once the pause has passed."""
    nothing_listens = f"redis://127.0.0.1:{free_port()}"
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=nothing_listens,
                                    API_READ_LIMIT="2 per minute"))
    api = limited.test_client()
    answers = [api.get("/api/v1/services") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["1", "0", "0"]
    assert int(answers[2].headers["Retry-After"]) > 0
    assert "Rate limit storage unreachable (ConnectionError)" in caplog.text
    counters = limited.extensions["rate_limits"]
    with limited.test_request_context():
        assert rate_limits.strategy() is counters.fallback
        counters.fallback_until = 0.0  # the pause is over
        assert rate_limits.strategy() is counters.configured
    close_database(limited)


def test_the_in_process_rate_counters_are_tidied_by_the_requests_that_count_not_by_new_threads():
    storage = storage_from_string("memory://")  # the RATELIMIT_STORAGE_URI default
    assert isinstance(storage, TidiedMemoryStorage)
    timer = storage.timer
    storage.TIDY_EVERY_SECONDS = 0  # tidy at every count
    storage.incr("expired", 0)
    storage.incr("counting", 60)
    assert dict(storage.storage) == {"counting": 1}
    assert storage.timer is timer  # no thread was started to do it


def test_a_429_says_when_to_retry(database_url, clinic):
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, API_BOOKING_LIMIT="1 per minute"))
    api = limited.test_client()
    api.post("/api/v1/bookings", json=body())
    refused = api.post("/api/v1/bookings", json=body(start=MONDAY_14))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    close_database(limited)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_overlap_that_slips_past_the_locks_still_answers_slot_taken(clinic, client):
    """If the exclusion constraint fires inside a booking transaction, the patient gets 409, not 500."""
    from booking.clock import now
    from booking.operations.bookings import SlotTaken
    from booking.transaction import write_transaction

    client.post("/api/v1/bookings", json=body())
    with clinic.test_request_context():
        existing = db.session.scalar(sa.select(Appointment))
        with pytest.raises(SlotTaken) as lost:
            with write_transaction(taken=lambda: SlotTaken(["alternatives were computed"])):
                db.session.add(Appointment(
                    reference="RACE0001", practitioner_id=existing.practitioner_id, service_id=existing.service_id,
                    patient_id=existing.patient_id, starts_at=existing.starts_at, ends_at=existing.ends_at,
                    occupied_until=existing.occupied_until, safety_flags=[], manage_token_hash="1" * 64,
                    created_at=now(),
                ))
        assert lost.value.alternatives == ["alternatives were computed"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


def test_the_check_under_the_lock_agrees_with_the_days_free_times(client, clinic):
    """A booking checks only its own time under the lock (bookings.free_at: one read of what lies
    across it); for every five minutes of a day, around visits, buffers and time off, for one
    practitioner and for any, under the online rules and the desk's, it finds exactly the slot
    the day's free times offer at that start (the first practitioner by name), and none elsewhere."""
    from booking.models import TimeOff
    from booking.operations.availability import desk_rules, find_slots, load_clinic
    from booking.scheduling import wall_clock_instant

    for start, practitioner, service in (("2027-03-08T11:00:00-08:00", "ana", "short"),
                                         ("2027-03-08T10:30:00-08:00", "ben", "short"),
                                         ("2027-03-08T14:00:00-08:00", "ana", "consult")):
        booked = client.post("/api/v1/bookings", json=body(start=start, service=service, practitioner=practitioner,
                                                           email=f"{practitioner}.{start[11:13]}@example.com"))
        assert booked.status_code == 201, booked.get_json()
    with clinic.app_context():
        ana = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana"))
        zone = load_clinic().zone
        day = datetime(2027, 3, 8).date()
        # Off the grid on purpose: they cut into some treatments, and only into the buffer of one
        # (a consultation at 15:15, free: its treatment ends before the second).
        for begins, ends in ((time(13, 10), time(13, 50)), (time(16, 20), time(16, 40))):
            db.session.add(TimeOff(practitioner_id=ana, reason="Errand", starts_at=wall_clock_instant(day, begins, zone),
                                   ends_at=wall_clock_instant(day, ends, zone)))
        db.session.commit()
        moment = clinic.config["CLOCK"]()
        for rules in (None, desk_rules(load_clinic())):
            known = catalogue.current()
            for slug in ("short", "consult"):
                service = known.service(slug)
                for choice in ("ana", "ben", "any"):
                    if choice == "ben" and slug == "consult":
                        continue  # Ben does not offer it
                    chosen = known.practitioners_for(service, choice)
                    offered = {}
                    for slot in find_slots(known, service, chosen, day, 1, moment, rules=rules):
                        offered.setdefault(slot.start, slot)  # sorted by start, then name
                    assert offered, (slug, choice)
                    instant = wall_clock_instant(day, time(6, 0), zone)
                    while instant < wall_clock_instant(day, time(20, 0), zone):
                        assert bookings.free_at(known, service, chosen, instant, moment, rules) == offered.get(instant), \
                            (slug, choice, rules, instant)
                        instant += timedelta(minutes=5)
            db.session.rollback()


@pytest.mark.parametrize("today, born_on, refused", [
    (date(2027, 3, 8), date(2027, 3, 7), None),
    (date(2027, 3, 8), date(1907, 3, 9), None),  # 120 years less a day
    (date(2027, 3, 8), date(1907, 3, 8), "less than 120 years ago"),
    (date(2028, 2, 29), date(1908, 3, 1), None),  # a leap day, 120 years after another
    (date(2028, 2, 29), date(1908, 2, 29), "less than 120 years ago"),
    (date(2020, 2, 29), date(1900, 3, 1), None),  # a leap day, 120 years after a year without one
    (date(2020, 2, 29), date(1900, 2, 28), "less than 120 years ago"),
])
def test_a_date_of_birth_is_checked_to_the_day(clinic, today, born_on, refused):
    from booking.validation import check_birth_date

    with clinic.test_request_context():
        if refused is None:
            assert check_birth_date(born_on, today) == born_on
        else:
            with pytest.raises(ValueError, match=refused):
                check_birth_date(born_on, today)
