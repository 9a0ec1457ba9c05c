"""Emails in Chromium: the HTML part as a patient's mail app shows it, and the admin's outbox,
used with the keyboard alone and JavaScript off; axe-core on every page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.models import StaffRole
from tests.browser import check, tab_to
from tests.mail import html_of
from tests.test_desk import book_online
from tests.test_desk_browser import sign_in, sign_in_with_the_keyboard
from tests.test_emails import ADDRESS, WEDNESDAY_10, mail, send, set_clinic, speaks_spanish  # noqa: F401 (fixture)
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_admin_finds_a_bounced_email_and_sends_it_again(staff, mail, new_page, shots):  # noqa: F811
    mail.bouncing.add("tia.typo@example.com")
    book_online(staff, email="tia.typo@example.com", name="Tia Typo", birth_date="1991-09-09")
    book_online(staff, start=WEDNESDAY_10, email="fine@example.com")
    send(staff, mail)

    # The confirmation as the patient's mail app shows it: readable, accessible, fits a phone.
    [confirmation] = mail.to("fine@example.com")
    email = new_page()
    email.set_content(html_of(confirmation))
    expect(email.get_by_role("heading", name="Changing or cancelling")).to_be_visible()
    expect(email.get_by_role("link", name="http://clinic.test/manage/", exact=False).first).to_be_visible()
    check(email, shots, "email-confirmation")

    # axe-core needs JavaScript: a second browser with it checks the pages the admin uses without.
    viewer = new_page()
    sign_in(viewer, StaffRole.ADMIN)
    viewer.goto("/admin/outbox")
    expect(viewer.get_by_role("heading", level=1)).to_contain_text("Outbox")
    expect(viewer.get_by_text("Emails are not being sent")).to_be_hidden()  # SMTP_URL is set
    check(viewer, shots, "outbox")

    page = new_page(java_script_enabled=False)
    sign_in_with_the_keyboard(page, StaffRole.ADMIN, "**/desk")
    page.goto("/admin/outbox")

    tab_to(page, 'a[href$="status=failed"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/outbox?status=failed")
    row = page.get_by_role("row").filter(has_text="tia.typo@example.com")
    expect(row).to_contain_text("550 5.1.1 No such mailbox here")
    expect(page.get_by_role("row").filter(has_text="fine@example.com")).to_have_count(0)

    tab_to(page, 'main a[href*="/admin/outbox/"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/outbox/*")
    expect(page.locator(".email-preview")).to_contain_text("(the patient's secret link)")
    viewer.goto(page.url)
    check(viewer, shots, "outbox-message")

    mail.bouncing.clear()  # the address was put right at the mail server
    tab_to(page, 'form[action$="/send-again"] button')
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("back in the queue")
    assert "Sent 1," in send(staff, mail)
    assert len(mail.to("tia.typo@example.com")) == 1


def test_a_spanish_confirmation_with_the_address_reads_well_in_a_mail_app(staff, mail, clock, new_page, shots):  # noqa: F811
    set_clinic(staff, languages=["en", "es"], **ADDRESS)
    booking = book_online(staff, start=WEDNESDAY_10, email="ines@example.com", name="Inés Ruiz")
    speaks_spanish(staff, booking["reference"], clock())
    send(staff, mail)
    [confirmation] = mail.to("ines@example.com")
    email = new_page()
    email.set_content(html_of(confirmation))
    expect(email.locator("html")).to_have_attribute("lang", "es")
    expect(email.get_by_role("heading", name="Cambiar o cancelar su cita")).to_be_visible()
    expect(email.get_by_role("link", name="Cómo llegar")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/search\?query=1200\+Example\+Ave"))
    expect(email.get_by_role("link", name="+1 213 555 0100").first).to_have_attribute("href", "tel:+12135550100")
    expect(email.get_by_role("listitem").filter(has_text="Dónde")).to_contain_text("Los Angeles, CA 90012")
    check(email, shots, "email-confirmation-es")
