"""A patient's data rights in Chromium: an admin opens everything held about a patient, prints
it, and erases the patient after the confirmation step; axe-core on every page, and the data
page read with JavaScript off.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.models import StaffRole
from tests.browser import check
from tests.test_clinician import send_intake
from tests.test_desk import book_online
from tests.test_desk_browser import sign_in_with_the_keyboard
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_admin_reads_prints_and_erases_a_patients_records(staff, new_page, shots):  # noqa: F811
    booked = book_online(staff, start="2027-03-09T10:00:00-08:00", name="Rosa Marsh", email="rosa@example.com",
                         safety=["night_pain"])
    send_intake(staff, booked, health={"medications": "Rosehip tablets"})
    book_online(staff, start="2027-03-16T10:00:00-07:00", name="Rosa Marsh", email="rosa@example.com")

    page = new_page()
    sign_in_with_the_keyboard(page, StaffRole.ADMIN, "**/desk")
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Name, email or phone").fill("Rosa")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Rosa Marsh").click()
    expect(page.get_by_role("heading", level=2, name="Everything held about Rosa Marsh")).to_be_visible()
    check(page, shots, "patient")

    page.get_by_role("link", name="All their data, to read or print").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Everything held about Rosa Marsh")
    expect(page.get_by_role("region", name="Back-pain questions")).to_contain_text("Rosehip tablets")
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown once JavaScript runs
    check(page, shots, "data")
    address = page.url

    # On paper: the data without the site's bar, the buttons or the note about printing.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_role("heading", name="Who has opened their records")).to_be_visible()
    page.pdf(path=str(shots.folder / "data.pdf"), format="Letter")
    page.emulate_media(media="screen")

    plain = new_page(java_script_enabled=False)  # the same page with no JavaScript at all
    sign_in_with_the_keyboard(plain, StaffRole.ADMIN, "**/desk")
    plain.goto(address)
    expect(plain.get_by_role("heading", level=1)).to_contain_text("Rosa Marsh")
    expect(plain.get_by_text("Rosehip tablets")).to_be_visible()
    expect(plain.get_by_role("button", name="Print")).to_be_hidden()

    # The JSON file downloads under the patient's number, never their name.
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all their data (JSON)").click()
    assert re.fullmatch(r"patient-\d+\.json", download.value.suggested_filename)

    page.get_by_role("link", name="Erase this patient").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Erase Rosa Marsh")
    expect(page.get_by_role("heading", name="What will be removed")).to_be_visible()
    expect(page.get_by_role("heading", name="What will be kept")).to_be_visible()
    expect(page.get_by_role("heading", name="Booked visits ahead will be cancelled")).to_be_visible()
    check(page, shots, "erase")
    page.get_by_role("button", name="Erase Rosa Marsh").click()  # no reason given
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary")).to_contain_text("Enter why this patient is being erased")
    check(page, shots, "erase-errors")
    page.get_by_label("Why is this patient being erased?").fill("She asked at the desk on 8 March")
    page.get_by_role("button", name="Erase Rosa Marsh").click()
    expect(page.locator(".banner--success")).to_contain_text("is erased")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Erased patient")
    expect(page.get_by_text("Reason given: She asked at the desk on 8 March")).to_be_visible()
    check(page, shots, "erased")
