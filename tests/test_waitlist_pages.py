"""The waitlist's patient pages on both databases, for what a first trial found missing: joining
twice, times already free, every problem named at once, leaving with a confirmation, an offer's
zone and deadline, and a place's link after the place has ended."""

from __future__ import annotations

import re

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Clinic, WaitlistEntry, WaitlistState
from booking.operations import waitlist
from tests.test_booking_journey import PatientBrowser
from tests.test_waitlist import JOIN_FORM, cancel, join, offer_id_of, only_ten_oclock_on_tuesday

JOINED = JOIN_FORM | {"symptoms": ["none"]}


def place_path(response) -> str:
    return re.search(r"(/waitlist/[A-Za-z0-9_-]{20,})$", response.location).group(1)


def test_joining_again_says_so_and_sends_the_link_by_email_never_to_the_page(clinic):
    first = PatientBrowser(clinic).submit("/waitlist/join", JOINED)
    assert first.status_code == 303
    token = place_path(first).rsplit("/", 1)[1]
    stranger = PatientBrowser(clinic)
    again = stranger.submit("/waitlist/join", JOINED | {"practitioner": "any"})
    assert again.status_code == 303 and again.location.endswith("/waitlist/already")
    page = stranger.get(again.location).get_data(as_text=True)
    assert "You already have a place on the waitlist" in page and "emailed the link to your place again" in page
    assert token not in page
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 1


def test_the_place_says_when_times_that_suit_it_are_free_now(clinic):
    patient = PatientBrowser(clinic)
    page = patient.get(place_path(patient.submit("/waitlist/join", JOINED))).get_data(as_text=True)
    assert "times that suit you are free now, the first on Tuesday, March 9, 2027" in page
    assert "We only email you about times that free up later" in page
    evenings = PatientBrowser(clinic)  # Ana works until 5 PM: no evening is free
    page = evenings.get(place_path(evenings.submit("/waitlist/join", JOINED | {
        "email": "eve@example.com", "parts_of_day": "evening"}))).get_data(as_text=True)
    assert "free now" not in page


def test_every_problem_on_the_join_page_is_named_at_once(clinic):
    response = PatientBrowser(clinic).submit("/waitlist/join", JOINED | {
        "name": "", "first_day": "2027-03-20", "last_day": "2027-03-10", "practitioner": "nobody"})
    page = response.get_data(as_text=True)
    assert "Enter your full name" in page
    assert "The last day must be on or after the first day." in page  # with the form's own problems, not after
    assert "Select a practitioner, or anyone" in page
    # The summary lists them as the page shows its fields: what is wanted, the safety check, the details.
    summary = page[page.index('class="error-summary'):page.index("<h1>")]
    assert re.findall(r'href="#([\w-]+)"', summary) == ["practitioner-0", "last_day", "name"]
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_choosing_someone_who_does_not_offer_the_visit_names_them_in_the_patients_words(clinic):
    """The join page lists every practitioner whatever the visit: Ben sees no one for a consult."""
    page = PatientBrowser(clinic).submit("/waitlist/join", JOINED | {"service": "consult", "practitioner": "ben"})
    text = page.get_data(as_text=True)
    assert "Ben Test does not offer this kind of visit. Choose someone who does, or anyone." in text
    assert "'ben'" not in text and "'consult'" not in text
    with clinic.app_context():
        db.session.get(Clinic, 1).languages = ["en", "es"]
        db.session.commit()
    patient = PatientBrowser(clinic)
    patient.get("/waitlist/join?language=es")
    text = patient.submit("/waitlist/join", JOINED | {"service": "consult", "practitioner": "ben"}).get_data(as_text=True)
    assert "Ben Test no ofrece este tipo de consulta." in text


def test_leaving_asks_first_and_the_link_then_says_when_the_place_was_left(clinic):
    patient = PatientBrowser(clinic)
    place = place_path(patient.submit("/waitlist/join", JOINED))
    assert f'href="{place}/leave"' in patient.get(place).get_data(as_text=True)  # a link, not a button that leaves
    asked = patient.get(place + "/leave").get_data(as_text=True)
    assert "Leave the waitlist?" in asked and "Yes, leave the waitlist" in asked and "No, keep my place" in asked
    with clinic.app_context():
        assert db.session.scalar(sa.select(WaitlistEntry.state)) is WaitlistState.WAITING
    assert patient.submit(place + "/leave").location.endswith(place + "/left")
    page = patient.get(place).get_data(as_text=True)
    assert "You left the waitlist on Monday, March 8, 2027." in page


def test_an_offer_names_the_clinics_zone_and_when_it_must_be_booked_by(clinic):
    visit = only_ten_oclock_on_tuesday(clinic)
    joined = join(clinic)
    cancel(clinic, visit)
    page = PatientBrowser(clinic).get(f"/waitlist/{joined.token}/offers/{offer_id_of(clinic, joined.entry_id)}")
    text = page.get_data(as_text=True)
    assert "10:00 AM (PST)" in text and "Book by" in text and "12:00 PM (PST)" in text  # four hours from 8 AM


def test_a_place_booked_from_an_offer_says_so_and_opens_the_visit(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    joined = join(clinic)
    cancel(clinic, visit)
    offer = f"/waitlist/{joined.token}/offers/{offer_id_of(clinic, joined.entry_id)}"
    patient = PatientBrowser(clinic)
    assert patient.submit(offer).status_code == 303
    for path in (f"/waitlist/{joined.token}", offer):  # no 404: what happened, and the way to the visit
        page = patient.get(path).get_data(as_text=True)
        assert "You booked a time from the waitlist" in page and "10:00 AM (PST)" in page
        assert "Manage your visit" in page
    opened = patient.client.post(f"/waitlist/{joined.token}/visit",
                                 data={"csrf_token": patient.token(f"/waitlist/{joined.token}")})
    assert opened.status_code == 303 and "/manage/" in opened.location
    assert "Your appointment" in patient.get(opened.location).get_data(as_text=True)


def test_a_place_whose_dates_are_over_says_when_it_ended(clinic, clock):
    from datetime import timedelta

    from tests.test_waitlist import TUESDAY, local

    joined = join(clinic, last_day=TUESDAY)
    clock.now = local(TUESDAY + timedelta(days=1), 0, 5)
    with clinic.app_context():
        waitlist.expire(clock())
    page = PatientBrowser(clinic).get(f"/waitlist/{joined.token}").get_data(as_text=True)
    assert "Your place ended on Wednesday, March 10, 2027: the last day you asked for was March 9, 2027." in page
    assert PatientBrowser(clinic).get(f"/waitlist/{joined.token}x").status_code == 404  # a wrong link: still 404


def test_a_spanish_place_opens_in_spanish_in_a_fresh_browser_and_a_switch_there_becomes_its_language(clinic):
    from tests.test_languages import offer_spanish
    from tests.test_waitlist_api import PLACE

    offer_spanish(clinic)
    made = clinic.test_client().post("/api/v1/waitlist", json=PLACE | {"language": "es"})
    assert made.status_code == 201, made.get_json()
    place = made.get_json()["manage_url"].removeprefix("http://clinic.test")
    person = PatientBrowser(clinic)  # no language chosen in this browser
    page = person.get(place).get_data(as_text=True)
    assert '<html lang="es">' in page and "Su lugar en la lista de espera" in page
    assert "¿Dejar la lista de espera?" in person.get(place + "/leave").get_data(as_text=True)
    left = person.submit(place + "/leave")
    assert left.status_code == 303
    page = person.get(left.location).get_data(as_text=True)
    assert '<html lang="es">' in page and "Usted dejó la lista de espera" in page
    assert "Usted dejó la lista de espera el" in person.get(place).get_data(as_text=True)

    # As on a visit's page: the switcher there makes English the place's language, for its emails too.
    other = clinic.test_client().post("/api/v1/waitlist", json=PLACE | {"language": "es", "service": "consult"})
    place = other.get_json()["manage_url"].removeprefix("http://clinic.test")
    english = PatientBrowser(clinic)
    english.get(place + "?language=en")
    assert '<html lang="en">' in english.get(place).get_data(as_text=True)
    with clinic.app_context():
        assert db.session.scalar(sa.select(WaitlistEntry.language).where(WaitlistEntry.state == WaitlistState.WAITING)) == "en"


def test_dates_without_the_days_asked_for_are_named_at_the_days_and_nothing_is_written(clinic):
    """A place for Mondays and Fridays from a Tuesday to a Thursday could never be offered a time."""
    response = PatientBrowser(clinic).submit("/waitlist/join", JOINED | {
        "first_day": "2027-03-09", "last_day": "2027-03-11", "weekdays": ["0", "4"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("None of the dates from Mar 9, 2027 to Mar 11, 2027 falls on the days of the week chosen, so no time "
            "could be offered. Choose other days of the week, or other dates.") in page
    summary = page[page.index('class="error-summary'):page.index("<h1>")]
    assert re.findall(r'href="#([\w-]+)"', summary) == ["weekdays-0"]
    assert 'value="Nora Page"' in page  # what was typed stays
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_a_place_on_days_nobody_works_is_kept_and_its_page_says_so_until_it_is_changed(clinic):
    patient = PatientBrowser(clinic)
    place = place_path(patient.submit("/waitlist/join", JOINED | {"practitioner": "ben", "weekdays": ["1", "3"]}))
    page = patient.get(place).get_data(as_text=True)
    assert "No time is likely to come as the hours stand" in page
    assert ("As the clinic&#39;s hours stand, Ben Test does not work on the days chosen: their working days are "
            "Monday and Wednesday.") in page
    changed = patient.submit(place, {"service": "short", "practitioner": "ben", "first_day": "2027-03-09",
                                     "last_day": "2027-03-20", "weekdays": ["0"]})
    assert changed.status_code == 303
    assert "No time is likely to come" not in patient.get(place).get_data(as_text=True)
    with clinic.app_context():
        db.session.get(Clinic, 1).languages = ["en", "es"]
        db.session.commit()
    spanish = PatientBrowser(clinic)
    spanish.get("/waitlist/join?language=es")
    place = place_path(spanish.submit("/waitlist/join", JOINED | {"email": "ana.es@example.com", "practitioner": "ben",
                                                                  "weekdays": ["4"]}))
    page = spanish.get(place).get_data(as_text=True)
    assert "Ben Test no trabaja" in page and "lunes y miércoles" in page
