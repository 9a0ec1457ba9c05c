"""The patient's journey in a real browser: Debian's Chromium driven by Playwright, on both databases.

Every page is checked with axe-core (WCAG 2.2 AA) and saved at phone and desktop width
under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Clinic
from booking.safety import EMERGENCY, GROUPS, URGENT
from tests.browser import check, tab_to
from tests.mail import html_of, text_of
from tests.test_booking_journey import DETAILS, give_the_clinic_an_address, put_on_file
from tests.test_emails import mail, send  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def appointments(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Appointment)).all()
        db.session.expunge_all()
        return rows


def fill_details(page, name="Pat Example", email="pat@example.com"):
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Phone number").fill("+1 213 555 0142")
    page.get_by_label("Day").fill("17")
    page.get_by_label("Month").fill("5")
    page.get_by_label("Year").fill("1980")


def reach_safety_check(page, practitioner="Ana Test", time="10:00 AM"):
    """With the mouse: from the start page to the safety check, for a returning patient's short treatment."""
    page.goto("/")
    page.get_by_role("button", name="Book a visit").click()
    page.get_by_label("Yes, I have been before").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Short treatment").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(practitioner).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name=f"{time} on Monday, March 8").click()
    page.wait_for_url("**/book/safety")


def reach_check_answers(page, name="Pat Example", email="pat@example.com", time="10:00 AM"):
    """With the mouse: from the start page to Check your answers for Ana, short treatment (the
    returning patient must be on the clinic's records: put_on_file)."""
    reach_safety_check(page, time=time)
    page.get_by_label("None of these").check()
    page.get_by_role("button", name="Continue").click()
    fill_details(page, name, email)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Check your answers before booking")).to_be_visible()


def keys(page, *presses):
    """For each (selector, key): Tab to the element, then press the key."""
    for selector, key in presses:
        tab_to(page, selector)
        page.keyboard.press(key)


def next_page(page, shots, step):
    page.wait_for_url(f"**/book/{step}")
    check(page, shots, step)


def test_book_end_to_end_with_the_keyboard_only(clinic, page, shots):
    give_the_clinic_an_address(clinic)
    put_on_file(clinic, DETAILS | {"name": "Kay Board", "email": "kay@example.com", "phone": "213 555 0199",
                                   "birth_day": "2", "birth_month": "11", "birth_year": "1975"})
    page.goto("/")
    check(page, shots, "start")
    tab_to(page, "a.button--start")
    page.keyboard.press("Enter")

    next_page(page, shots, "first-visit")
    keys(page, ("#returning-0", "ArrowDown"), ("button[type=submit]", "Enter"))  # "yes, I have been before"

    page.wait_for_url("**/book")
    check(page, shots, "service")
    assert page.get_by_role("radio").count() == 1  # only the follow-up: the consultation is for new patients
    keys(page, ("#service-0", "Space"), ("button[type=submit]", "Enter"))

    next_page(page, shots, "practitioner")
    keys(page, ("#practitioner-0", "Space"), ("button[type=submit]", "Enter"))  # first available

    next_page(page, shots, "time")
    keys(page, ("button.time-button", "Enter"))

    next_page(page, shots, "safety")
    keys(page, ("input[value=none]", "Space"), ("button[type=submit]", "Enter"))

    next_page(page, shots, "details")
    for selector, typed in (("#name", "Kay Board"), ("#email", "kay@example.com"), ("#phone", "213 555 0199"),
                            ("#birth_month", "11"), ("#birth_day", "2"), ("#birth_year", "1975")):
        tab_to(page, selector)
        page.keyboard.type(typed)
    keys(page, ("button[type=submit]", "Enter"))

    next_page(page, shots, "check")
    keys(page, ("form button[type=submit]", "Enter"))

    page.wait_for_url("**/book/confirmation")
    check(page, shots, "confirmation")
    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    [booked] = appointments(clinic)
    assert booked.reference in page.inner_text(".panel")
    assert booked.status is AppointmentStatus.BOOKED and booked.safety_flags == [] and booked.language == "en"
    with clinic.app_context():
        expect(page.get_by_role("link", name="Get directions")).to_have_attribute(
            "href", db.session.get(Clinic, 1).directions_url)
    expect(page.locator("main a[href='tel:+12135550100']").first).to_be_visible()


def test_book_with_javascript_off(clinic, new_page, shots):
    put_on_file(clinic)
    page = new_page(java_script_enabled=False)
    page.goto("/book/details")  # no booking here (a cleared cookie): back to the first question, told why
    assert page.url.endswith("/book/first-visit")
    expect(page.locator(".banner")).to_contain_text("There is no booking in progress in this browser")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary").get_by_role(
        "link", name="Select whether you have been to this clinic before")).to_be_visible()
    shots.take(page, "first-visit-error")
    reach_check_answers(page)
    shots.take(page, "check-answers")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert len(appointments(clinic)) == 1


def test_error_states_are_accessible_and_keep_what_was_typed(clinic, page, shots):
    page.goto("/book")
    page.wait_for_url("**/book/first-visit")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary")).to_be_focused()  # focus moved to the summary
    check(page, shots, "first-visit-error")
    page.get_by_label("Yes, I have been before").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Short treatment")).to_be_checked()  # the one visit that fits starts chosen
    check(page, shots, "service-only-one")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Ana Test").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="10:00 AM on Monday, March 8").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: Do any of these apply"))
    check(page, shots, "safety-error")
    # With JavaScript, ticking "None of these" clears a ticked symptom, and the other way round.
    page.get_by_label("Chest pain").check()
    page.get_by_label("None of these").check()
    assert not page.get_by_label("Chest pain").is_checked()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Full name").fill("Pat Example")
    page.get_by_label("Email address").fill("pat@example")
    page.get_by_label("Year").fill("2090")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title("Error: Your details – Test Clinic")
    summary = page.locator(".error-summary").inner_text()
    for message in ("Enter an email address in the correct format", "Enter a phone number",
                    "Date of birth must include a day and a month"):
        assert message in summary
    assert page.get_by_label("Full name").input_value() == "Pat Example"
    assert page.get_by_label("Email address").input_value() == "pat@example"
    check(page, shots, "details-error")
    page.locator(".error-summary").get_by_role("link", name=re.compile("email address")).click()
    expect(page.get_by_label("Email address")).to_be_focused()
    assert appointments(clinic) == []


def test_the_emergency_branch_stops_the_booking(clinic, page, shots):
    reach_safety_check(page, "First available")
    page.get_by_label("you can't feel the toilet paper when you wipe").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Call 911 or go to the emergency department now")
    assert "+1 213 555 0100" in page.inner_text("main")
    check(page, shots, "emergency")
    page.goto("/book/details")
    assert page.url.endswith("/book/safety")  # the booking cannot go on past the safety check
    assert appointments(clinic) == []


def test_the_safety_questions_come_in_groups_of_one_question(clinic, page, shots):
    reach_safety_check(page)
    question = page.get_by_role("group", name="Do any of these apply to you now?")
    for heading, codes in GROUPS:
        expect(question.get_by_role("group", name=heading).get_by_role("checkbox")).to_have_count(len(codes))
    expect(question.get_by_role("checkbox")).to_have_count(len(EMERGENCY) + len(URGENT) + 1)
    check(page, shots, "safety-groups")
    # With the keyboard: Space ticks a new question in the last group; "None of these" still clears it.
    keys(page, ("input[value=infection_risk]", "Space"))
    assert page.get_by_label("you inject drugs").is_checked()
    keys(page, ("input[value=none]", "Space"))
    assert not page.get_by_label("you inject drugs").is_checked()
    keys(page, ("input[value=aortic_symptoms]", "Space"), ("button[type=submit]", "Enter"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Call 911 or go to the emergency department now")
    assert "If you have chest pain, or feel faint, dizzy or cold and sweaty, call 911 for an ambulance now" in (
        " ".join(page.inner_text("main").split()))
    check(page, shots, "emergency-aortic")
    assert appointments(clinic) == []


def test_urgent_answers_show_a_panel_and_the_booking_goes_on(clinic, page, shots):
    put_on_file(clinic)
    reach_safety_check(page)
    page.get_by_label("Pain between the shoulder blades").check()
    page.get_by_label("You have had cancer, and this back pain is new").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("See a doctor within 24 hours")
    expect(page.locator(".care-card")).to_contain_text(
        "Contact your own doctor or an urgent care center today.")
    check(page, shots, "urgent")
    page.get_by_role("button", name="Continue booking").click()
    fill_details(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("link", name="Back pain warning signs: when to get urgent help")).to_be_visible()
    assert appointments(clinic)[0].safety_flags == ["between_shoulders", "cancer_new_pain"]


def test_the_new_questions_work_without_javascript(clinic, new_page, shots):
    with clinic.app_context():
        db.session.get(Clinic, 1).region = "GB"
        db.session.commit()
    page = new_page(java_script_enabled=False)
    reach_safety_check(page)
    page.get_by_label("a foot that drops or catches when you walk").check()
    page.get_by_label("None of these").check()  # without JavaScript nothing unticks: the server says so
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error-summary")).to_contain_text("Select 'None of these' only if nothing in the list applies")
    page.get_by_label("None of these").uncheck()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".care-card")).to_contain_text("Contact your GP, or NHS 111.")
    shots.take(page, "urgent-gb")


def test_two_browsers_race_for_one_time(clinic, new_page, shots):
    put_on_file(clinic)
    put_on_file(clinic, DETAILS | {"name": "Sam Second", "email": "sam@example.com"})
    first, second = new_page(), new_page()
    reach_check_answers(first)
    reach_check_answers(second, name="Sam Second", email="sam@example.com")
    first.get_by_role("button", name="Confirm booking").click()
    expect(first.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    second.get_by_role("button", name="Confirm booking").click()
    second.wait_for_url("**/book/time")
    expect(second.locator(".banner")).to_contain_text("Monday, March 8, 2027, 10:00 AM was booked by someone else")
    assert second.get_by_role("button", name="10:00 AM on Monday, March 8").count() == 0
    check(second, shots, "time-after-lost-race")
    second.get_by_role("button", name="10:30 AM on Monday, March 8").click()
    second.wait_for_url("**/book/check")  # every other answer was kept
    assert "Sam Second" in second.inner_text("main") and "sam@example.com" in second.inner_text("main")
    second.get_by_role("link", name="Change name").click()
    expect(second.get_by_label("Full name")).to_have_value("Sam Second")
    expect(second.get_by_label("Year")).to_have_value("1980")
    second.get_by_role("button", name="Continue").click()
    second.get_by_role("button", name="Confirm booking").click()
    expect(second.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert sorted(a.starts_at.minute for a in appointments(clinic)) == [0, 30]


def test_cancel_and_reschedule_from_the_manage_link(clinic, site, page, shots):
    made = clinic.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": "2027-03-09T14:00:00-08:00", "safety": [],
        "patient": {"name": "Mo Manage", "email": "mo@example.com", "phone": "213 555 0177", "birth_date": "1970-01-02"},
    }).get_json()
    page.goto(made["manage_url"].replace("http://clinic.test", site.url))
    check(page, shots, "manage")
    assert "Tuesday, March 9, 2027, 2:00 PM" in page.inner_text("main")

    page.get_by_role("button", name="Change the time").click()
    page.wait_for_url("**/reschedule")
    check(page, shots, "reschedule")
    page.get_by_role("link", name="Later dates").click()
    page.wait_for_url("**/reschedule?from=2027-03-15")
    page.get_by_role("link", name="Earlier dates").click()
    page.wait_for_url("**/reschedule?from=2027-03-08")
    page.get_by_role("button", name="9:00 AM on Wednesday, March 10").click()
    page.wait_for_url("**/reschedule/confirm?start=*")
    check(page, shots, "reschedule-confirm")
    page.get_by_role("button", name="Move appointment").click()
    expect(page.locator(".banner")).to_contain_text("Your appointment has been moved")
    assert "Wednesday, March 10, 2027, 9:00 AM" in page.inner_text("main")
    check(page, shots, "manage-after-move")
    assert page.url != made["manage_url"].replace("http://clinic.test", site.url)

    page.get_by_role("button", name="Cancel appointment").click()
    page.wait_for_url("**/cancel")
    check(page, shots, "cancel")
    page.get_by_label("Why are you cancelling? (optional)").fill("Back feels better")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(".banner")).to_contain_text("Your appointment has been cancelled")
    check(page, shots, "cancelled")
    page.get_by_role("button", name="Book again").click()
    page.wait_for_url("**/book/first-visit")
    [appointment] = appointments(clinic)
    assert appointment.status is AppointmentStatus.CANCELLED and appointment.cancel_reason == "Back feels better"
    assert appointment.sequence == 2  # moved once, then cancelled


def test_times_say_when_the_device_is_in_another_zone(new_page, shots):
    page = new_page(timezone_id="Europe/London")
    page.goto("/book")
    page.get_by_label("Yes, I have been before").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Short treatment").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Ana Test").check()
    page.get_by_role("button", name="Continue").click()
    note = page.locator("[data-clinic-zone]")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Europe/London")
    check(page, shots, "time-other-zone")


def test_the_articles_are_accessible_and_a_first_visit_gets_its_reading(clinic, page, shots):
    page.goto("/articles")
    check(page, shots, "articles")
    titles = page.locator(".article-list h2 a").all_inner_texts()
    assert len(titles) == 5
    for number, title in enumerate(titles, start=1):
        page.goto("/articles")
        page.get_by_role("link", name=title).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        check(page, shots, f"article-{number}")
    page.goto("/articles/no-such-article")
    check(page, shots, "article-not-found")

    page.goto("/book")
    page.get_by_label("No, this is my first visit").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Consultation").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Ana Test").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="10:00 AM on Monday, March 8").click()
    page.get_by_label("None of these").check()
    page.get_by_role("button", name="Continue").click()
    fill_details(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    # Waited for, as the confirmation page loads: read at once, the list was sometimes the page before's.
    expect(page.locator("main ul").last.get_by_role("link")).to_have_text([
        "Your first acupuncture visits: what to expect",
        "Before your appointment",
        "Lower back pain: common causes and what helps",
        "How acupuncture may help lower back pain (and what the evidence says)",
        "Back pain warning signs: when to get urgent help",
    ])
    page.get_by_role("link", name="Before your appointment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Before your appointment")


def test_the_back_pain_questions_in_the_browser(clinic, page, shots):
    put_on_file(clinic)
    reach_check_answers(page)
    page.get_by_role("button", name="Confirm booking").click()
    page.get_by_role("button", name="Tell us about your back pain").click()
    check(page, shots, "intake-start")
    page.get_by_role("button", name="Start now").click()

    page.wait_for_url("**/intake/episode")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    check(page, shots, "intake-episode-error")
    page.get_by_label("I can say roughly how many weeks ago").check()
    page.get_by_label("About how many weeks ago?").fill("14")
    page.get_by_label("A big job at home, such as gardening, painting or home repairs").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/intake/where")
    check(page, shots, "intake-where")
    page.get_by_label("Right side").check()
    page.get_by_label("Into the foot").check()
    page.get_by_role("group", name="Do you have numbness or tingling in a leg?").get_by_label("Yes, my right leg").check()
    page.get_by_role("group", name="Does a leg or foot feel weak?").get_by_label("No", exact=True).check()
    page.get_by_label("No: I have had them for a while and they are not changing").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/intake/history")
    check(page, shots, "intake-history")
    page.locator("#worse-0").check()  # sitting
    page.get_by_role("group", name="Is your back stiff in the morning?").get_by_label("No").check()
    page.get_by_role("group", name="Have you had back pain like this before?").get_by_label("No").check()
    page.get_by_label("Yes, an MRI scan").check()
    page.get_by_label("What did it show? (optional)").fill("A bulging disc, low down")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/intake/health")
    check(page, shots, "intake-health")
    page.get_by_role("group", name=re.compile("blood thinners")).get_by_label("Yes", exact=True).check()
    page.get_by_role("group", name=re.compile("antiplatelet")).get_by_label("No", exact=True).check()
    page.get_by_label("Pregnant, or might be").check()
    page.get_by_role("group", name="Have you had any of these?").get_by_label("None of these").check()
    page.get_by_role("group", name=re.compile("getting better")).get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/intake/pain")
    for question, rating in (("right now", "6"), ("On average", "5"), ("At its worst", "9")):
        page.get_by_role("group", name=re.compile(question)).get_by_label(rating, exact=True).check()
    page.get_by_label("What would you most like to be able to do again?").fill("Walk the dog")
    check(page, shots, "intake-pain")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/intake/activities")
    page.get_by_label("Activity 1").fill("Walking the dog")
    page.get_by_role("group", name="How well can you do activity 1 now?").get_by_label("2", exact=True).check()
    page.get_by_label("Activity 2 (optional)").fill("Sitting at work")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))  # activity 2 named but not rated
    check(page, shots, "intake-activities-error")
    expect(page.get_by_label("Activity 2 (optional)")).to_have_value("Sitting at work")
    page.get_by_role("group", name="How well can you do activity 2 now?").get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/intake/check")
    check(page, shots, "intake-check")
    page.get_by_role("link", name="Change pain now").click()
    page.get_by_role("group", name=re.compile("right now")).get_by_label("7", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/intake/check")
    expect(page.locator("main")).to_contain_text("7 out of 10")
    page.get_by_role("button", name="Send to the clinic").click()
    expect(page.get_by_role("heading", name="Answers sent")).to_be_visible()
    check(page, shots, "intake-sent")

    with clinic.app_context():
        from booking.models import Intake

        intake = db.session.scalar(sa.select(Intake))
        assert (intake.duration_band, intake.nerve_root_pattern) == ("chronic", True)
        assert intake.precautions == ["blood_thinners", "pregnant"]
        assert intake.risk_factors == ["no_improvement"]  # 14 weeks and not getting better
        assert (intake.pain_now, intake.pain_average, intake.pain_worst, intake.psfs_score) == (7, 5, 9, 3.0)
        assert intake.urgent_flags == []
    page.goto("/book/confirmation")
    expect(page.locator("main")).to_contain_text("You have sent your answers about your back pain.")
    expect(page.locator("main")).to_contain_text("Read and sign the consent")  # the one thing left to do


def test_staff_sign_in_pages_are_accessible(clinic, page, shots):
    from booking.clock import now
    from booking.models import StaffRole
    from booking.operations.staff import add_staff

    with clinic.test_request_context():
        add_staff("admin@example.org", "Alex Admin", StaffRole.ADMIN, "correct horse battery", now())
    page.goto("/staff/sign-in")
    check(page, shots, "sign-in")
    page.get_by_label("Email address").fill("admin@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_title(re.compile("^Error: "))
    check(page, shots, "sign-in-error")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/second-factor/set-up")  # an admin's first sign-in: the authenticator app
    from tests.test_second_factor_browser import set_up_with_the_keyboard

    set_up_with_the_keyboard(page, clinic.config["CLOCK"])
    page.wait_for_url("**/desk")
    check(page, shots, "desk")
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/admin")
    check(page, shots, "admin-hub")
    page.get_by_role("link", name="Clinic details and booking rules").click()
    page.get_by_label("Slot step (minutes)").fill("0")
    page.keyboard.press("Enter")  # the keyboard sends the form
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary")).to_contain_text("Slot step must be between 5 and 240 minutes")
    check(page, shots, "admin-settings-error")
    page.get_by_label("Slot step (minutes)").fill("30")
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("settings are saved")
    page.get_by_role("link", name="Back").click()
    page.get_by_role("link", name="Staff accounts").click()
    page.wait_for_url("**/admin/staff")
    check(page, shots, "admin-staff")
    # Which practitioner an account belongs to is chosen from the clinic's, None for other roles.
    chooser = page.get_by_label("Which practitioner")
    expect(chooser).to_have_value("")
    expect(chooser.locator("option").first).to_have_text("None (a receptionist or admin)")
    chooser.focus()
    page.keyboard.press("ArrowDown")
    expect(chooser).not_to_have_value("")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".banner")).to_contain_text("You have signed out")
    page.goto("/desk")
    page.wait_for_url("**/staff/sign-in?next=*")


def test_book_in_spanish_with_the_keyboard_only(clinic, page, new_page, shots, mail):  # noqa: F811
    """The whole journey in Spanish, keyboard only, each page checked by axe at phone and desktop width:
    a first visit (the consultation), dates in es_US, the date of birth day first."""
    from tests.test_languages import offer_spanish

    offer_spanish(clinic)
    give_the_clinic_an_address(clinic, directions="Entrada sin escalones por la calle lateral.")
    page.goto("/")
    tab_to(page, "a[hreflang=es]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    check(page, shots, "es-start")
    tab_to(page, "a.button--start")
    page.keyboard.press("Enter")

    next_page(page, shots, "first-visit")
    expect(page.get_by_role("heading", level=1)).to_have_text("¿Ha venido antes a esta clínica?")
    keys(page, ("#returning-0", "Space"), ("button[type=submit]", "Enter"))  # "No, es mi primera cita"

    page.wait_for_url("**/book")
    check(page, shots, "es-service")
    expect(page.get_by_role("radio")).to_have_count(1)  # only the consultation, for new patients
    keys(page, ("#service-0", "Space"), ("button[type=submit]", "Enter"))

    next_page(page, shots, "practitioner")
    keys(page, ("#practitioner-0", "Space"), ("button[type=submit]", "Enter"))  # el primero disponible

    next_page(page, shots, "time")
    expect(page.get_by_role("heading", name="lunes, 8 de marzo")).to_be_visible()
    keys(page, ("button.time-button", "Enter"))

    next_page(page, shots, "safety")
    keys(page, ("input[value=none]", "Space"), ("button[type=submit]", "Enter"))

    next_page(page, shots, "details")
    boxes = page.locator(".date-input input").evaluate_all("inputs => inputs.map(input => input.id)")
    assert boxes == ["birth_day", "birth_month", "birth_year"]  # day first in Spanish
    for selector, typed in (("#name", "Lucía Teclado"), ("#email", "lucia@example.com"), ("#phone", "213 555 0123"),
                            ("#birth_day", "2"), ("#birth_month", "11"), ("#birth_year", "1975")):
        tab_to(page, selector)
        page.keyboard.type(typed)
    keys(page, ("button[type=submit]", "Enter"))

    next_page(page, shots, "check")
    main = " ".join(page.inner_text("main").split())
    assert "Revise sus respuestas antes de reservar" in main and "2 de noviembre de 1975" in main
    assert re.search(r"lunes, 8 de marzo de 2027, \d+:\d\d a\.\s?m\. \(PST\)", main)
    keys(page, ("form button[type=submit]", "Enter"))

    page.wait_for_url("**/book/confirmation")
    check(page, shots, "es-confirmation")
    expect(page.get_by_role("heading", name="Reserva confirmada")).to_be_visible()
    expect(page.get_by_role("link", name="Cómo llegar")).to_be_visible()
    [booked] = appointments(clinic)
    assert booked.language == "es"

    # Her confirmation, from the real mail server: Spanish, es_US times, as her mail app shows it.
    send(clinic, mail)
    [confirmation] = mail.to("lucia@example.com")
    assert confirmation["Subject"].startswith("Cita confirmada: lun, 8 de mar de 2027, ")
    assert "Hola, Lucía Teclado:" in text_of(confirmation)
    email = new_page()  # a blank page, as a mail app shows it (not under the site's CSP)
    email.set_content(html_of(confirmation))
    expect(email.get_by_role("link", name="Cómo llegar")).to_be_visible()
    check(email, shots, "es-email-confirmation")
