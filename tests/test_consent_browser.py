"""Signing the consent to treatment in a real Chromium: from the confirmation page, keyboard only,
axe-checked at every step, with a screenshot at 375 px; then the same page read in Spanish."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import ConsentRecord
from tests.browser import ARTIFACTS, assert_accessible, tab_to
from tests.test_booking_journey import put_on_file
from tests.test_browser import check, reach_check_answers
from tests.test_languages import offer_spanish

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
