"""The booking journey's time list page as a process keeps it (public.routes._time_page): whatever
it kept, each view is the page a fresh render would give at that moment, with the viewer's own
CSRF token, and nothing of one patient's reaches another."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import BookingDraft, Clinic, Practitioner, StaffAccount, StaffRole
from booking.clock import now
from booking.operations import desk, drafts
from booking.operations.staff import add_staff
from booking.transaction import write_transaction
from tests.conftest import app_config, close_database
from tests.test_api import body
from tests.test_booking_journey import DETAILS, MONDAY_10, PatientBrowser
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MONDAY_10_BUTTON = f'value="{MONDAY_10}"'


def at_time_list(app, service="short", practitioner="ana", returning="yes", language=None,
                 client=None) -> PatientBrowser:
    """A patient whose draft has reached the time list (in `client`'s browser, if given)."""
    patient = PatientBrowser(app)
    patient.client = client or patient.client
    if language:
        patient.get(f"/?language={language}")
    patient.answer_first_visit(returning)
    assert patient.submit("/book", {"service": service}).location.endswith("/book/practitioner")
    assert patient.submit("/book/practitioner", {"practitioner": practitioner}).location.endswith("/book/time")
    return patient


def view(patient, url="/book/time") -> str:
    response = patient.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def token_of(page: str) -> str:
    [token] = TOKEN.findall(page)
    return token


def without_token(page: str) -> str:
    return TOKEN.sub('name="csrf_token" type="hidden" value="TOKEN"', page)


def fresh(app, patient, url="/book/time") -> str:
    """The page rendered afresh: nothing kept by the process (pages or free times)."""
    app.extensions.pop("time_pages", None)
    app.extensions.pop("offered_slots", None)
    return view(patient, url)


def desk_account_id(app) -> int:
    with app.app_context():
        return add_staff("desk.pages@example.org", "Desk", StaffRole.RECEPTIONIST, "correct horse battery",
                         app.config["CLOCK"]()).id


def test_another_processs_booking_time_off_and_settings_change_show_on_the_next_view(clinic):
    other = create_app(app_config(clinic.config["SQLALCHEMY_DATABASE_URI"], CLOCK=clinic.config["CLOCK"]))
    try:
        patient = at_time_list(clinic)
        first = view(patient)
        assert MONDAY_10_BUTTON in first and without_token(view(patient)) == without_token(first)  # kept

        booked = other.test_client().post("/api/v1/bookings", json=body())
        assert booked.status_code == 201, booked.get_json()
        after_booking = view(patient)
        assert MONDAY_10_BUTTON not in after_booking and 'value="2027-03-08T10:30:00-08:00"' in after_booking
        assert without_token(after_booking) == without_token(fresh(clinic, patient))

        view(patient)  # kept again
        account_id = desk_account_id(other)
        now = other.config["CLOCK"]()
        with other.app_context():
            ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
            desk.add_time_off(db.session.get(StaffAccount, account_id), ana, now, now + timedelta(days=2),
                              "Away", now)
        after_time_off = view(patient)
        assert "2027-03-08T" not in after_time_off and "2027-03-09T" not in after_time_off
        assert 'value="2027-03-10T09:00:00-08:00"' in after_time_off
        assert without_token(after_time_off) == without_token(fresh(clinic, patient))

        view(patient)
        with other.app_context(), write_transaction():
            db.session.get(Clinic, 1).name = "Riverside Back Clinic"
        renamed = view(patient)
        assert "Riverside Back Clinic" in renamed and "Test Clinic" not in renamed
        assert without_token(renamed) == without_token(fresh(clinic, patient))
    finally:
        close_database(other)


def drafts_as_saved(app) -> list:
    with app.app_context():
        return db.session.execute(sa.select(BookingDraft.id, BookingDraft.updated_at, BookingDraft.starts_at)
                                  .order_by(BookingDraft.id)).all()


def test_patients_never_see_each_others_choices_or_tokens(clinic):
    ana_first, ben, ana_second = (at_time_list(clinic), at_time_list(clinic, practitioner="ben"),
                                  at_time_list(clinic))
    saved = drafts_as_saved(clinic)
    first_page, ben_page, second_page = view(ana_first), view(ben), view(ana_second)
    assert drafts_as_saved(clinic) == saved  # viewing the list writes nothing
    assert "with Ana Test" in first_page and "Ben Test" not in first_page
    assert "with Ben Test" in ben_page and "Ana Test" not in ben_page
    # The same choices share a kept page, but each is served with its own session's token.
    assert without_token(second_page) == without_token(first_page)
    assert len({token_of(first_page), token_of(ben_page), token_of(second_page)}) == 3

    refused = ana_second.client.post("/book/time", data={"csrf_token": token_of(first_page), "start": MONDAY_10})
    assert refused.status_code == 200  # another session's token: the form again, nothing chosen
    assert drafts_as_saved(clinic) == saved
    chosen = ana_second.client.post("/book/time", data={"csrf_token": token_of(view(ana_second)), "start": MONDAY_10})
    assert chosen.status_code == 302 and chosen.location.endswith("/book/safety")
    assert [row.starts_at is not None for row in drafts_as_saved(clinic)] == [False, False, True]

    # Back on the time list after choosing: the page is still the shared one, and the first patient's
    # shows nothing of the second one's choice.
    assert without_token(view(ana_second)) == without_token(view(ana_first)) == without_token(first_page)


def test_a_lost_race_message_is_shown_once_to_its_patient_and_to_no_one_else(clinic):
    onlooker = at_time_list(clinic)
    view(onlooker)  # the shared page, kept
    patient = PatientBrowser(clinic)
    patient.book_until_check(details=DETAILS | {"email": "lost@example.com"})
    assert clinic.test_client().post("/api/v1/bookings", json=body()).status_code == 201  # someone else got 10:00
    assert patient.confirm().location.endswith("/book/time")
    told = view(patient)
    assert "was booked by someone else" in told and MONDAY_10_BUTTON not in told
    assert "was booked by someone else" not in view(onlooker)
    assert "was booked by someone else" not in view(patient)


def test_the_kept_page_is_the_fresh_one_at_every_second_around_the_notices_edge(clinic):
    """At 08:00:00 with two hours' notice, 10:00 may still be booked; a moment later it may not."""
    clock = clinic.config["CLOCK"]
    patient = at_time_list(clinic)
    start = clock.now
    for seconds in (0, 0.5, 30, 59, 60, 61, 899, 900, 901, 3600 * 16):
        clock.now = start + timedelta(seconds=seconds)
        for url in ("/book/time", "/book/time?from=2027-03-15"):
            kept = without_token(view(patient, url))
            assert kept == without_token(fresh(clinic, patient, url)), (seconds, url)
    clock.now = start
    assert MONDAY_10_BUTTON in view(patient)
    clock.now = start + timedelta(microseconds=1)
    assert MONDAY_10_BUTTON not in view(patient) and 'value="2027-03-08T10:15:00-08:00"' in view(patient)


def test_each_language_gets_its_own_page(clinic):
    with clinic.app_context(), write_transaction():
        db.session.get(Clinic, 1).languages = ["en", "es"]
    english, spanish = at_time_list(clinic), at_time_list(clinic, language="es")
    for _ in range(2):
        english_page, spanish_page = view(english), view(spanish)
        assert 'lang="en"' in english_page and "Choose a time" in english_page
        assert 'lang="es"' in spanish_page and "Choose a time" not in spanish_page


def test_signed_in_staff_get_their_own_page_and_never_give_it_to_a_patient(staff, login_as):  # noqa: F811
    patient = at_time_list(staff)
    assert "Sign out" not in view(patient)  # the patients' page, kept
    desk = at_time_list(staff, client=login_as(StaffRole.RECEPTIONIST))
    for _ in range(2):
        assert "Sign out" in view(desk)
        assert "Sign out" not in view(patient)


def test_a_drafts_answers_read_alone_are_the_rows_own_values(clinic):
    """Read on a connection of its own through the driver, or on the request's transaction once one
    has begun: either way the values the row holds, typed as the ORM types them."""
    patient = PatientBrowser(clinic)
    patient.book_until_check(symptoms=("fever",))
    with patient.client.session_transaction() as session:
        key = session["booking"]
    with clinic.test_request_context():
        alone = drafts.find_answers(key, now())
        row = drafts.find_draft(key, now())  # the request's transaction has begun
        in_transaction = drafts.find_answers(key, now())
        expected = drafts.DraftAnswers(row.id, row.service_id, row.practitioner_choice, row.starts_at,
                                       row.safety_codes, row.details, row.appointment_id)
        assert drafts.find_answers("not-a-key", now()) is None
        assert drafts.find_answers(key, now() + drafts.DRAFT_LIFETIME) is None  # untouched for a day: gone
    assert alone == in_transaction == expected
    assert alone.details["name"] == "Pat Example" and alone.safety_codes == ["fever"]
    assert alone.starts_at.isoformat() == "2027-03-08T18:00:00+00:00" and alone.missing_step() is None
