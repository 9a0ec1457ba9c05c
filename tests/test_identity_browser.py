"""Confirming a booking in Chromium: the email as a mail app shows it, and the page its link opens,
used with the keyboard alone and JavaScript off; axe-core on each.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import check, tab_to
from tests.mail import html_of, text_of
from tests.test_emails import mail, send  # noqa: F401 (fixture)
from tests.test_identity import first_visit_with_ben, someone_books_ana
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_the_patient_reads_the_email_and_confirms_with_the_keyboard(staff, mail, new_page, shots):  # noqa: F811
    first_visit_with_ben(staff)
    someone_books_ana(staff)
    send(staff, mail)
    # Written as it is sent, so in the visit's language by then.
    [email] = [m for m in mail.to("pat@example.com") if m["Subject"].strip().startswith("¿Reservó usted una cita")]
    path = re.search(r"<http://clinic\.test(/confirm-booking/[A-Za-z0-9_-]+)>", text_of(email)).group(1)

    shown = new_page()
    shown.set_content(html_of(email))
    expect(shown.get_by_text("If you did not book this visit", exact=False)).to_be_visible()
    check(shown, shots, "email-identity-check")

    # axe-core needs JavaScript: one browser with it checks each page the patient uses without.
    viewer = new_page()
    viewer.goto(path)
    expect(viewer.get_by_role("heading", level=1)).to_have_text("Did you book this visit?")
    check(viewer, shots, "identity-confirm")

    page = new_page(java_script_enabled=False)
    page.goto(path)
    tab_to(page, 'main form button[type="submit"]')
    expect(page.locator(":focus")).to_have_text("Yes, I booked this visit")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your booking is confirmed as yours")
    viewer.goto(path)
    check(viewer, shots, "identity-confirmed")


def test_the_confirm_page_speaks_the_language_the_visit_was_booked_in(staff, mail, new_page, shots):  # noqa: F811
    """A Spanish-speaking patient's confirmation link, opened on a device that never chose a language."""
    from booking.extensions import db
    from booking.models import Appointment
    from booking.transaction import write_transaction
    from tests.test_languages import offer_spanish

    offer_spanish(staff)
    first_visit_with_ben(staff)
    booked = someone_books_ana(staff)
    with staff.app_context():
        with write_transaction():
            db.session.scalar(db.select(Appointment).where(Appointment.reference == booked["reference"])).language = "es"
    send(staff, mail)
    # Written as it is sent, so in the visit's language by then.
    [email] = [m for m in mail.to("pat@example.com") if m["Subject"].strip().startswith("¿Reservó usted una cita")]
    path = re.search(r"<http://clinic\.test(/confirm-booking/[A-Za-z0-9_-]+)>", text_of(email)).group(1)
    page = new_page()
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("¿Reservó usted esta cita?")
    expect(page.get_by_role("button", name="Sí, yo reservé esta cita")).to_be_visible()
    check(page, shots, "identity-confirm-es")
