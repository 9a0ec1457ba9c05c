"""The receipt for a patient's insurer in a real Chromium: reached from the manage link with the
keyboard after the visit, axe-checked, printed to one page, without JavaScript, and in Spanish."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Clinic, Practitioner
from booking.transaction import write_transaction
from tests.browser import check, tab_to
from tests.notes_helpers import write_note
from tests.test_clinician import appointment_id, manage_path
from tests.test_desk import book_online
from tests.test_languages import offer_spanish
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_the_receipt_from_the_manage_link_with_the_keyboard_prints_on_one_page(staff, clock, page, new_page, shots):  # noqa: F811
    offer_spanish(staff)
    with staff.app_context(), write_transaction():
        db.session.get(Clinic, 1).tax_id = "12-3456789"
        db.session.scalar(db.select(Practitioner).where(Practitioner.slug == "ana")).npi = "1234567893"
    booking = book_online(staff)
    write_note(staff, appointment_id(staff, booking))
    clock.advance(days=2)

    page.goto(manage_path(booking))
    check(page, shots, "manage-after-the-visit")
    tab_to(page, "main a[href$='/receipt']")
    expect(page.locator(":focus")).to_have_text("Receipt for your insurer")
    page.keyboard.press("Enter")
    page.wait_for_url("**/receipt")
    assert re.search(r"/manage/[A-Za-z0-9_-]{43}/receipt$", page.url)  # the link's token, nothing else
    main = page.locator("main")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Receipt for your insurer")
    for words in ("12-3456789", "1234567893", "M54.50", "97813", "97814", "11 (office)",
                  "This is not a bill, and not a receipt of payment."):
        expect(main).to_contain_text(words)
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # the script shows it
    check(page, shots, "receipt")
    pdf = page.pdf(format="Letter")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the receipt prints on more than one page"

    no_script = new_page(java_script_enabled=False)
    no_script.goto(page.url)
    expect(no_script.locator("main")).to_contain_text("Print this page from your browser")
    expect(no_script.get_by_role("button", name="Print")).to_be_hidden()

    spanish = new_page()
    spanish.goto(page.url + "?language=es")
    spanish.wait_for_url("**/receipt")
    expect(spanish.locator("html")).to_have_attribute("lang", "es")
    expect(spanish.get_by_role("heading", level=1)).to_contain_text("Recibo para su aseguradora")
    expect(spanish.locator("main")).to_contain_text("No es una factura ni un comprobante de pago.")
    check(spanish, shots, "receipt-es")
