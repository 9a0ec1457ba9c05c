"""Signing the consent to treatment in a real Chromium: from the confirmation page, keyboard only,
axe-checked at every step, with a screenshot at 375 px; then the same page read in Spanish."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import ConsentRecord, StaffRole
from tests.browser import ARTIFACTS, assert_accessible, check, tab_to
from tests.test_booking_journey import put_on_file
from tests.test_browser import reach_check_answers
from tests.test_desk import book_online
from tests.test_desk_browser import sign_in_with_the_keyboard
from tests.test_languages import offer_spanish
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_sign_the_consent_from_the_confirmation_page_with_the_keyboard_only(clinic, page, new_page, shots):
    offer_spanish(clinic)
    put_on_file(clinic)
    reach_check_answers(page)  # Pat Example, a short treatment with Ana on Monday at 10:00 AM
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url("**/book/confirmation")
    check(page, shots, "confirmation")

    tab_to(page, "main a[href$='/consent']")
    expect(page.locator(":focus")).to_have_text("Read and sign the consent")
    page.keyboard.press("Enter")
    page.wait_for_url("**/consent")
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent to treatment")
    expect(page.locator(".consent-text")).to_contain_text("puncture a lung (pneumothorax)")
    expect(page.locator(".consent-text")).to_contain_text("you can stop at any time")
    check(page, shots, "consent")
    page.set_viewport_size({"width": 375, "height": 812})
    folder = ARTIFACTS / "consent-375px"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "consent-to-sign-375px.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the consent page is {overflow}px wider than a 375px phone"

    # a name that is not the booked one: told why, with what was typed kept
    tab_to(page, "#signed_name")
    page.keyboard.type("Pat")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_contain_text("The name you typed is not the name on this booking")
    expect(page.locator("#signed_name")).to_have_value("Pat")
    check(page, shots, "consent-wrong-name")
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0

    tab_to(page, "#signed_name")
    page.keyboard.press("End")
    page.keyboard.type(" example")  # "Pat example": case does not count
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("Your consent to treatment is saved")
    expect(page.locator("main")).to_contain_text("signed as Pat example")
    check(page, shots, "consent-given")
    with clinic.app_context():
        [record] = db.session.scalars(sa.select(ConsentRecord)).all()
        assert (record.signed_name, record.how, record.language) == ("Pat example", "online", "en")

    # The same page in Spanish: its own words translated, the text agreed to kept as read (English)
    consent_url = page.url
    spanish = new_page()
    spanish.goto(consent_url + "?language=es")
    expect(spanish.locator("html")).to_have_attribute("lang", "es")
    main = spanish.locator("main")
    expect(spanish.get_by_role("heading", level=1)).to_have_text("Consentimiento para el tratamiento")
    expect(main).to_contain_text("Usted dio su consentimiento el")
    expect(main).to_contain_text("con la firma Pat example")
    expect(main).to_contain_text("Lo que usted aceptó")
    expect(main).to_contain_text("Volver a su cita")
    expect(spanish.locator(".consent-text")).to_have_attribute("lang", "en")
    spanish.wait_for_load_state("load")
    assert_accessible(spanish)
    shots.take(spanish, "consent-given-spanish")


def test_a_practitioner_records_consent_in_person_and_an_admin_edits_the_text(staff, new_page, shots):  # noqa: F811
    """Staff pages with the keyboard only: the visit record's consent section, the in-person form
    (refused unticked, then recorded), the signed consent and the admin's editor. (The forms use
    no script; the test client's tests send them as a browser without JavaScript would.)"""
    booked = book_online(staff, start="2027-03-08T14:00:00-08:00", name="Pat Caller")
    page = new_page()
    sign_in_with_the_keyboard(page, StaffRole.PRACTITIONER, "**/clinician")
    expect(page.locator("main")).to_contain_text("Consent needed")
    tab_to(page, "main .visit-card__title a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/clinician/visits/*")
    expect(page.locator("#consent")).to_have_text("Consent to treatment")
    check(page, shots, "visit-consent-needed")
    tab_to(page, "form[action$='/consent/in-person'] button")
    page.keyboard.press("Enter")  # not ticked: nothing recorded, and the error summary takes the focus
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#consent-confirm-error")).to_contain_text("Tick the box to confirm")
    expect(page.locator(".error-summary a[href='#consent-confirm']")).to_have_count(1)
    check(page, shots, "visit-consent-not-ticked")
    tab_to(page, "#consent-confirm")
    page.keyboard.press("Space")
    tab_to(page, "form[action$='/consent/in-person'] button")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Consent given in person is recorded")
    check(page, shots, "visit-consent-given")
    tab_to(page, "a[href$='/consent']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/consent")
    expect(page.locator("main")).to_contain_text("in person, recorded by Practitioner")
    check(page, shots, "signed-consent")
    with staff.app_context():
        [record] = db.session.scalars(sa.select(ConsentRecord)).all()
        assert record.appointment.reference == booked["reference"] and record.how == "in_person"

    admin = new_page()
    sign_in_with_the_keyboard(admin, StaffRole.ADMIN, "**/desk")
    admin.goto("/admin/consent")
    check(admin, shots, "admin-consent")
    tab_to(admin, "#text_en")
    admin.keyboard.press("Control+End")
    admin.keyboard.type("\nAsk us anything.")
    tab_to(admin, "main form button[type=submit]")
    admin.keyboard.press("Enter")
    expect(admin.locator(".banner--success")).to_contain_text("Saved as version 2")
    expect(admin.locator(".consent-text").first).to_contain_text("Ask us anything.")
    tab_to(admin, "main table a")  # the newest version first
    admin.keyboard.press("Enter")
    admin.wait_for_url("**/admin/consent/versions/*")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Consent text, version 2")
    check(admin, shots, "admin-consent-version")
