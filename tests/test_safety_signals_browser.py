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


def answer_both_legs_with_the_keyboard(patient, question: str, both_legs: str):
    """The "where it hurts" page by keyboard alone: Tab to each group, arrows pick within radios,
    Space ticks a box; new numbness in both legs (an emergency answer), then Enter sends it."""
    tab_to(patient, "#side-0")
    patient.keyboard.press("Space")
    tab_to(patient, "#spreads-1")  # into the thigh
    patient.keyboard.press("Space")
    tab_to(patient, "#leg_symptoms-0")
    for _ in range(3):
        patient.keyboard.press("ArrowDown")  # No -> left -> right -> both legs
    expect(patient.get_by_role("group", name=question).get_by_label(both_legs)).to_be_checked()
    tab_to(patient, "#leg_weakness-0")
    patient.keyboard.press("Space")
    tab_to(patient, "#legs_changing-0")
    patient.keyboard.press("Space")
    tab_to(patient, "main button[type=submit]")
    patient.keyboard.press("Enter")


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

    answer_both_legs_with_the_keyboard(patient, "Do you have numbness or tingling in a leg?", "Yes, both legs")

    expect(patient.get_by_role("heading", level=1)).to_contain_text("Call 911 or go to the emergency department now")
    expect(patient.locator(".care-card")).to_contain_text("flagged your visit for the clinic")
    viewer.goto(manage + "/intake/get-help")  # the same card again, for axe
    check(viewer, shots, "intake-emergency-card")

    desk = new_page()
    sign_in_with_the_keyboard(desk, StaffRole.RECEPTIONIST, "**/desk")
    desk.goto("/desk?date=2027-03-09")
    # The desktop grid shows it (the phone list below holds the same visit, hidden at this width).
    expect(desk.locator(".flag-marker--emergency").first).to_have_text("Emergency flag")
    expect(desk.locator(".flag-marker--emergency").first).to_be_visible()

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


def test_the_intake_in_spanish_with_the_keyboard_alone(staff, new_page, shots):  # noqa: F811
    """A patient reading Spanish answers the first pages with the keyboard alone and JavaScript
    off, and gets the emergency card in Spanish; axe checks each page as shown in Spanish."""
    from tests.test_languages import offer_spanish

    offer_spanish(staff)
    booking = book_online(staff, start="2027-03-09T10:00:00-08:00")
    manage = manage_path(booking)
    viewer = new_page()  # JavaScript on, for axe
    patient = new_page(java_script_enabled=False)

    patient.goto(manage + "/intake?language=es")
    expect(patient.locator("html")).to_have_attribute("lang", "es")
    viewer.goto(manage + "/intake?language=es")
    check(viewer, shots, "intake-es-start")
    patient.get_by_role("button", name="Empezar ahora").click()
    patient.wait_for_url("**/intake/episode")
    viewer.goto(patient.url)
    check(viewer, shots, "intake-es-episode")

    tab_to(patient, "#start_kind-0")
    patient.keyboard.press("ArrowDown")  # "I can say roughly how many weeks ago"
    expect(patient.get_by_label("Puedo decir más o menos hace cuántas semanas")).to_be_checked()
    tab_to(patient, "#weeks_ago")
    patient.keyboard.type("3")
    tab_to(patient, "#how-0")
    patient.keyboard.press("Space")
    tab_to(patient, "main button[type=submit]")
    patient.keyboard.press("Enter")
    patient.wait_for_url("**/intake/where")
    expect(patient.get_by_role("heading", level=1)).to_have_text("Dónde le duele")
    expect(patient.locator(".caption")).to_have_text("Paso 2 de 6")

    # Sent with nothing chosen: the error summary in Spanish, then the answers by keyboard.
    tab_to(patient, "main button[type=submit]")
    patient.keyboard.press("Enter")
    expect(patient.locator(".error-summary")).to_contain_text("Indique dónde siente el dolor")
    viewer.goto(patient.url)
    check(viewer, shots, "intake-es-where")
    answer_both_legs_with_the_keyboard(patient, "¿Tiene adormecimiento u hormigueo en una pierna?",
                                       "Sí, en las dos piernas")

    expect(patient.get_by_role("heading", level=1)).to_contain_text(
        "Llame al 911 o vaya ahora mismo a la sala de emergencias")
    expect(patient.locator(".care-card")).to_contain_text("Dolor, hormigueo, adormecimiento o debilidad en las dos piernas")
    viewer.goto(manage + "/intake/get-help")
    check(viewer, shots, "intake-es-emergency-card")

    patient.get_by_role("link", name="Seguir con las preguntas").click()
    patient.wait_for_url("**/intake/history")
    viewer.goto(patient.url)
    check(viewer, shots, "intake-es-history")
