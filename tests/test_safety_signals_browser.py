"""Safety answers after booking, in Chromium: the patient gives an emergency answer on the
second page of the intake with the keyboard alone and JavaScript off, sees the care card,
then checks the safety questions again from their booking page; the receptionist's day
shows the flag at once. axe-core runs on every page in a browser with JavaScript.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from booking.models import StaffRole
from tests.browser import check, tab_to
from tests.test_clinician import manage_path
from tests.test_desk import book_online
from tests.test_desk_browser import sign_in_with_the_keyboard
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_emergency_answer_mid_intake_and_a_fresh_safety_check(staff, new_page, shots):  # noqa: F811
    booking = book_online(staff, start="2027-03-09T10:00:00-08:00")
    manage = manage_path(booking)
    viewer = new_page()  # JavaScript on, for axe

    patient = new_page(java_script_enabled=False)
    patient.goto(manage + "/intake/episode")
    patient.get_by_label("I can say roughly how many weeks ago").check()
    patient.get_by_label("About how many weeks ago?").fill("3")
    patient.get_by_label("Lifting something").check()
    patient.get_by_role("button", name="Continue").click()
    patient.wait_for_url("**/intake/where")
    viewer.goto(patient.url)
    check(viewer, shots, "intake-where-legs")

    # The keyboard alone: Tab to each group, arrows pick within radios, Space ticks a box.
    tab_to(patient, "#side-0")
    patient.keyboard.press("Space")
    tab_to(patient, "#spreads-1")  # into the thigh
    patient.keyboard.press("Space")
    tab_to(patient, "#leg_symptoms-0")
    for _ in range(3):
        patient.keyboard.press("ArrowDown")  # No -> left -> right -> both legs
    expect(patient.get_by_role("group", name="Do you have numbness or tingling in a leg?")
           .get_by_label("Yes, both legs")).to_be_checked()
    tab_to(patient, "#leg_weakness-0")
    patient.keyboard.press("Space")
    tab_to(patient, "#legs_changing-0")
    patient.keyboard.press("Space")
    tab_to(patient, "main button[type=submit]")
    patient.keyboard.press("Enter")

    expect(patient.get_by_role("heading", level=1)).to_contain_text("Call 911 or go to the emergency department now")
    expect(patient.locator(".care-card")).to_contain_text("flagged your visit for the clinic")
    viewer.goto(manage + "/intake/get-help")  # the same card again, for axe
    check(viewer, shots, "intake-emergency-card")

    desk = new_page()
    sign_in_with_the_keyboard(desk, StaffRole.RECEPTIONIST, "**/desk")
    desk.goto("/desk?date=2027-03-09")
    expect(desk.locator(".flag-marker--emergency")).to_have_text("Emergency flag")

    # From the booking page: the safety questions again, a mistake first, then an urgent answer.
    patient.goto(manage)
    patient.get_by_role("link", name="check the safety questions again").click()
    patient.wait_for_url("**/safety-check")
    viewer.goto(patient.url)
    check(viewer, shots, "safety-recheck")
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.locator(".error-summary")).to_contain_text("Select any that apply")
    patient.get_by_label("or you inject drugs").check()
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_role("heading", level=1)).to_contain_text("See a doctor within 24 hours")
    expect(patient.locator(".care-card")).to_contain_text("urgent care center")
    shots.take(patient, "safety-recheck-urgent")
