"""The treatment note in a real Chromium: written with the keyboard alone, saved by the page's
script as it is typed, signed, then amended, axe-checked on the editor and on the signed note; the
point search used from the keyboard; and with JavaScript off, the grouped select and Save."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import StaffRole, TreatmentNote
from booking.scheduling import UTC
from tests.browser import assert_accessible, check, tab_to
from tests.test_desk import book_online
from tests.test_desk_browser import sign_in_with_the_keyboard
from tests.test_staff import ACCOUNTS, PASSWORD, staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

MONDAY_14 = "2027-03-08T14:00:00-08:00"
FAR = 400  # Tab presses: the note has many boxes to pass on the way down


def saved_note(app) -> TreatmentNote | None:
    with app.app_context():
        note = db.session.scalar(sa.select(TreatmentNote))
        if note is not None:
            list(note.addenda)
            db.session.expunge(note)
        return note


def open_note(page, app) -> None:
    """From My day to the visit's treatment note, with the keyboard."""
    sign_in_with_the_keyboard(page, StaffRole.PRACTITIONER, "**/clinician")
    tab_to(page, "main a[href$='/note']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/note")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Treatment note")


def test_write_sign_and_amend_a_note_with_the_keyboard_alone(staff, clock, new_page, shots):  # noqa: F811
    book_online(staff, start=MONDAY_14, name="Pat Caller")
    clock.now = datetime(2027, 3, 8, 22, 10, tzinfo=UTC)  # 2:10 PM: the visit has begun
    page = new_page()
    open_note(page, staff)
    expect(page.locator("[data-note-status]")).to_have_text("Not saved yet.")
    check(page, shots, "note-editor")

    tab_to(page, "#s_pain_now")
    page.keyboard.type("6")
    page.keyboard.press("Tab")  # leaving a changed field saves at once
    expect(page.locator("input[name=revision]")).to_have_value("1")
    tab_to(page, "#narrative", FAR)
    page.keyboard.type("Warmth spread down the left leg.")
    # the page's script saves it once typing stops, and says so in a polite live region
    expect(page.locator("input[name=revision]")).to_have_value("2")
    expect(page.locator("[data-note-status]")).to_have_text("Saved at 2:10 PM.")
    expect(page.locator("[data-note-status]")).to_have_attribute("role", "status")
    assert saved_note(staff).content["narrative"] == "Warmth spread down the left leg."

    tab_to(page, "#t_contact_minutes", FAR)
    page.keyboard.type("25")
    page.keyboard.press("Tab")  # to the re-insertions: the receipt's codes follow the save
    expect(page.locator("input[name=revision]")).to_have_value("3")
    expect(page.locator("[data-note-codes]")).to_contain_text("97810")
    expect(page.locator(":focus")).to_have_attribute("id", "t_reinsertions")
    page.keyboard.type("1")
    page.keyboard.press("Tab")  # each further unit needs a re-insertion
    expect(page.locator("[data-note-codes]")).to_contain_text("97811")
    expect(page.locator("input[name=revision]")).to_have_value("4")

    # Two diagnoses, and the primary chosen among them from the keyboard: it goes first on the receipt.
    for box in ("#a_diagnoses", "#a_diagnoses-6"):  # M54.50 (first in the list), then M54.42
        tab_to(page, box, FAR)
        page.keyboard.press("Space")
    tab_to(page, "#a_primary_diagnosis", FAR)
    for _ in range(6):  # past "The first one ticked above" and M54.50 ... M54.41 to M54.42
        page.keyboard.press("ArrowDown")
    expect(page.locator("#a_primary_diagnosis")).to_have_value("M54.42")
    page.keyboard.press("Tab")
    expect(page.locator("[data-codes-diagnoses] li").first).to_contain_text("M54.42")
    expect(page.locator("[data-codes-diagnoses] li").nth(1)).to_contain_text("M54.50")

    tab_to(page, "button[value=sign]", FAR)
    expect(page.locator(":focus")).to_have_text("Sign and lock the note")
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("The note is signed and locked")
    expect(page.locator("main")).to_contain_text("Signed by Practitioner on Monday, March 8, 2027, 2:10 PM.")
    expect(page.locator("main")).to_contain_text("Warmth spread down the left leg.")
    check(page, shots, "note-signed")

    tab_to(page, "#addendum", FAR)
    page.keyboard.type("Also cupping over BL23, 5 minutes.")
    tab_to(page, "form[action$='/addendum'] button")
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("The addendum is signed and added")
    expect(page.locator(".note-addendum")).to_contain_text("Also cupping over BL23, 5 minutes.")
    expect(page.locator(".note-addendum")).to_contain_text("Signed by Practitioner on Monday, March 8, 2027, 2:10 PM.")
    check(page, shots, "note-addendum")
    note = saved_note(staff)
    assert note.signed_by == "Practitioner" and [a.text for a in note.addenda] == ["Also cupping over BL23, 5 minutes."]
    assert note.content["assessment"]["diagnoses"] == ["M54.42", "M54.50"]


def test_the_point_search_adds_a_point_from_the_keyboard(staff, new_page, shots):  # noqa: F811
    book_online(staff, start=MONDAY_14, name="Pat Caller")
    page = new_page()
    open_note(page, staff)
    tab_to(page, "#point-search", FAR)
    page.keyboard.type("shen")
    results = page.locator("#point-results [role=option]")
    expect(results.first).to_have_attribute("aria-selected", "true")
    expect(page.locator("#point-search")).to_have_attribute("aria-expanded", "true")
    assert_accessible(page)  # the open list too
    wanted = results.nth(1).text_content()
    page.keyboard.press("ArrowDown")
    expect(results.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    rows = page.locator("[data-point-row]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("legend")).to_have_text(wanted)
    expect(page.locator("#point-search")).to_be_focused()
    # a code the way it is spoken, then the side chosen in the picker
    page.keyboard.type("bl 23")
    expect(results.first).to_have_text("BL23 Shenshu")
    tab_to(page, "#add_point_side")
    page.keyboard.press("ArrowDown")  # Left
    page.keyboard.press("Shift+Tab")  # the grouped select
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#point-search")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the list again, BL23 first
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator("select[name=t_point_side]")).to_have_value("left")
    expect(page.locator("[data-note-status]")).to_contain_text("Saved at")
    points = saved_note(staff).content["treatment"]["points"]
    assert [point["code"] for point in points][1:] == ["BL23"] and points[1]["side"] == "left"
    # Remove, from the keyboard: the row goes, and so does its point once saved
    revision = page.locator("input[name=revision]").input_value()
    tab_to(page, "[data-point-row]:nth-child(1) [data-remove-point]", FAR)
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1)
    expect(page.locator("input[name=revision]")).not_to_have_value(revision)
    assert [point["code"] for point in saved_note(staff).content["treatment"]["points"]] == ["BL23"]
    check(page, shots, "note-points")


def test_without_javascript_the_grouped_select_adds_a_point_and_save_keeps_it(staff, new_page):  # noqa: F811
    book_online(staff, start=MONDAY_14, name="Pat Caller")
    # Playwright's evaluate (tab_to, axe) waits forever where scripts are off: locators only here.
    page = new_page(java_script_enabled=False)
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS[StaffRole.PRACTITIONER])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/clinician")
    page.get_by_role("link", name="Treatment note for Pat Caller").click()
    page.wait_for_url("**/note")
    expect(page.locator("#point-search")).to_have_count(0)
    page.locator("#narrative").fill("Typed before the point was added.")
    page.select_option("#add_point_code", "GV4")
    page.get_by_role("button", name="Add point").click()
    expect(page.locator("main")).to_contain_text("Added GV4 Mingmen. Not saved yet")
    expect(page.locator("[data-point-row] legend")).to_have_text("GV4 Mingmen")
    expect(page.locator("[data-point-row] select[name=t_point_side]")).to_have_value("midline")
    expect(page.locator("#narrative")).to_have_value("Typed before the point was added.")
    assert saved_note(staff) is None
    page.get_by_role("button", name="Save draft", exact=True).click()
    expect(page.locator(".banner--success")).to_contain_text("Draft saved.")
    note = saved_note(staff)
    assert note.content["treatment"]["points"] == [{"code": "GV4", "side": "midline", "technique": ""}]
    assert note.content["narrative"] == "Typed before the point was added."


def test_signing_straight_after_typing_waits_for_the_save_and_a_fixed_problem_clears(staff, clock, new_page):  # noqa: F811
    book_online(staff, start=MONDAY_14, name="Pat Caller", safety=["night_pain"])
    clock.now = datetime(2027, 3, 8, 22, 10, tzinfo=UTC)
    page = new_page()
    open_note(page, staff)
    expect(page.locator("#note-safety").locator("..")).to_contain_text("Pain that rest does not ease")
    # A refused save: the problem is named at the top and at its box, the typing kept.
    page.fill("#s_pain_now", "11")
    page.locator("button[value=save]").last.click()
    expect(page.locator(".error-summary")).to_contain_text("Pain now must be a whole number from 0 to 10")
    expect(page.locator("#s_pain_now")).to_have_value("11")
    page.wait_for_load_state("load")  # the page's script listens for typing only once it has run (a CI race)
    # Corrected: the page's own save goes through, and the old messages go with it.
    page.fill("#s_pain_now", "6")
    page.locator("#s_pain_now").blur()
    expect(page.locator("[data-note-status]")).to_contain_text("Saved at")
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("form[data-note-form] .error-message")).to_have_count(0)
    # Typing, then pressing Sign at once: leaving the box starts a save, and the signature waits for it.
    page.fill("#narrative", "Warmth spread down the left leg.")
    page.locator("button[value=sign]").click()
    expect(page.locator("main")).to_contain_text("The note is signed and locked")
    note = saved_note(staff)
    assert note.is_signed and note.content["narrative"] == "Warmth spread down the left leg."


def note_for_a_patient_with_a_pacemaker(staff, clock, new_page):  # noqa: F811
    """The note's page of a visit that has begun, for a patient whose intake told of a pacemaker."""
    from tests.test_clinician import send_intake

    booking = book_online(staff, start=MONDAY_14, name="Pat Caller")
    send_intake(staff, booking, health={"precautions": ["implanted_device"]})
    clock.now = datetime(2027, 3, 8, 22, 10, tzinfo=UTC)  # 2:10 PM: the visit has begun
    page = new_page()
    open_note(page, staff)
    return page


def test_a_caution_is_read_and_ticked_before_signing_with_the_keyboard_alone(staff, clock, new_page, shots):  # noqa: F811
    page = note_for_a_patient_with_a_pacemaker(staff, clock, new_page)
    tab_to(page, "#t_electro", FAR)
    page.keyboard.press("Space")
    tab_to(page, "button[value=save]", FAR)
    page.keyboard.press("Enter")
    cautions = page.locator("#note-cautions")
    expect(cautions).to_contain_text("Electroacupuncture is recorded, and this patient told us of a pacemaker")
    check(page, shots, "note-caution")
    tab_to(page, "button[value=sign]", FAR)
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary")).to_contain_text("tick that you have checked them to sign")
    assert saved_note(staff).signed_at is None
    tab_to(page, "#precautions_checked", FAR)
    page.keyboard.press("Space")
    tab_to(page, "button[value=sign]", FAR)
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("The note is signed and locked")
    expect(page.locator("main")).to_contain_text("Recorded against the patient's precautions")
    assert_accessible(page)
    assert saved_note(staff).signed_by == "Practitioner"


def test_a_caution_shows_as_the_draft_saves_itself_and_the_tick_follows_it(staff, clock, new_page, shots):  # noqa: F811
    """With the script, the note saves itself as it is typed: the cautions came only with Save draft."""
    page = note_for_a_patient_with_a_pacemaker(staff, clock, new_page)
    expect(page.locator("#note-cautions")).to_have_count(0)
    page.check("#t_electro")
    status = page.locator("[data-note-status]")
    expect(status).to_contain_text("Check the cautions above the buttons before signing.")
    expect(page.locator("#note-cautions")).to_contain_text(
        "Electroacupuncture is recorded, and this patient told us of a pacemaker")
    expect(page.locator("#precautions_checked")).not_to_be_checked()
    page.check("#precautions_checked")
    page.fill("#narrative", "Settled after the first needles.")  # the same caution: the tick stays
    expect(status).to_contain_text("Saved at")
    expect(status).not_to_contain_text("Check the cautions")
    expect(page.locator("#precautions_checked")).to_be_checked()
    assert_accessible(page)
    page.uncheck("#t_electro")  # nothing against the precautions now: the block goes
    expect(page.locator("#note-cautions")).to_have_count(0)
    expect(page.locator("#precautions_checked")).to_have_count(0)
    page.locator("button[value=sign]").click()
    expect(page.locator(".banner--success")).to_contain_text("The note is signed and locked")
    assert saved_note(staff).content["treatment"]["electro"] is False
