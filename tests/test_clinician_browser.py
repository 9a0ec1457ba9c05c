"""The practitioner's pages in Chromium: a return visit's progress check sent by the patient,
then the practitioner signs in, opens the next patient with the keyboard, and reads the
flags and the chart; axe-core on every page, and the record as it prints.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.models import StaffRole
from booking.safety import URGENT
from tests.browser import check, tab_to
from tests.test_clinician import manage_path, send_intake
from tests.test_desk import book_online
from tests.test_desk_browser import sign_in_with_the_keyboard
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_the_practitioner_reads_flags_and_progress_before_a_return_visit(staff, clock, new_page, shots):  # noqa: F811
    first = book_online(staff, start="2027-03-09T10:00:00-08:00", safety=["night_pain"])
    send_intake(staff, first, health={"precautions": ["pregnant"], "blood_thinners": "yes"})
    clock.advance(days=2)
    second = book_online(staff, start="2027-03-16T10:00:00-07:00")

    # The patient sends the progress check from their booking page, with JavaScript off;
    # a second browser with JavaScript checks the same pages with axe-core.
    viewer = new_page()
    viewer.goto(manage_path(second) + "/progress")
    check(viewer, shots, "progress-check")
    viewer.get_by_role("button", name="Send to your practitioner").click()  # nothing chosen yet
    expect(viewer).to_have_title(re.compile("^Error: "))
    check(viewer, shots, "progress-check-errors")

    patient = new_page(java_script_enabled=False)
    patient.goto(manage_path(second))
    patient.get_by_role("button", name="Tell us how you are getting on").click()
    patient.get_by_label("2", exact=True).first.check()  # only pain now: the rest is missing
    patient.get_by_role("button", name="Send to your practitioner").click()
    expect(patient.locator(".error-summary")).to_contain_text("Choose a number from 0 to 10 for your average pain")
    expect(patient.get_by_role("group", name="How bad is your back pain right now?").get_by_label("2", exact=True)).to_be_checked()
    for group, value in (("On average, how bad has it been over the last week?", "2"),
                         ("At its worst in the last week, how bad was it?", "4"),
                         ("How well can you do this now: Gardening?", "7"),
                         ("How well can you do this now: Putting on socks?", "8")):
        patient.get_by_role("group", name=group).get_by_label(value, exact=True).check()
    patient.get_by_label("Soreness where the needles were").check()
    patient.get_by_role("group", name="Do any of these apply to you now?").get_by_label("None of these").check()
    patient.get_by_role("button", name="Send to your practitioner").click()
    expect(patient.get_by_role("heading", level=1)).to_have_text("Progress check sent")
    shots.take(patient, "progress-check-sent")

    # The morning of the visit: the practitioner signs in and lands on their day.
    clock.advance(days=6)  # Tuesday 16 March, 09:00 PDT
    page = new_page()
    sign_in_with_the_keyboard(page, StaffRole.PRACTITIONER, "**/clinician")
    expect(page.get_by_role("heading", level=1)).to_contain_text("My day")
    card = page.locator(".visit-card")
    expect(card).to_contain_text("Return visit (visit 2)")
    expect(card).to_contain_text("Progress check sent")
    expect(card).to_contain_text("Urgent flag")  # from the first visit's answers: they still matter
    expect(card).to_contain_text("Precautions: blood thinners, pregnant")
    check(page, shots, "my-day")

    tab_to(page, "main .visit-card a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/clinician/visits/*")
    summary = page.locator(".read-first")
    expect(summary).to_contain_text(URGENT["night_pain"])
    expect(summary).to_contain_text("Precaution: Pregnant, or might be")
    expect(summary).to_contain_text("Precaution: Takes blood thinners")
    expect(summary).to_contain_text("After the last treatment")
    expect(summary).to_contain_text("Soreness where the needles were")
    chart = page.get_by_role("img", name="Pain and function over 2 visits")
    expect(chart).to_be_visible()
    expect(page.locator(".chart__meaningful")).to_have_count(2)  # pain 5 -> 2, function 4.5 -> 7.5
    expect(page.get_by_role("table").filter(has_text="meaningful improvement")).to_be_visible()
    check(page, shots, "visit")

    # On paper: no navigation or buttons, the flags boxed, the chart kept.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("link", name="Print version")).to_be_hidden()
    expect(chart).to_be_visible()
    page.screenshot(path=str(shots.folder / "print-media.png"), full_page=True)
    page.pdf(path=str(shots.folder / "visit.pdf"), format="Letter")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Print version").click()
    page.wait_for_url("**/print")
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown once JavaScript runs
    check(page, shots, "print-version")


def test_the_practitioner_makes_a_calendar_link_and_copies_it(staff, new_page, shots):  # noqa: F811
    book_online(staff, start="2027-03-09T10:00:00-08:00", name="Jane Smith")
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in_with_the_keyboard(page, StaffRole.PRACTITIONER, "**/clinician")
    page.get_by_role("link", name="Your visits in your phone's calendar").click()
    check(page, shots, "calendar-feed")
    page.get_by_role("button", name="Create my calendar link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your new calendar link")
    check(page, shots, "calendar-feed-made")
    link = page.get_by_label("Your calendar link").input_value()
    page.get_by_role("button", name="Copy the link").click()
    expect(page.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    feed = page.request.get(link.replace("http://clinic.test", ""))
    assert feed.ok and "SUMMARY:J.S. · Short treatment" in feed.text()

    page.get_by_role("button", name="Stop the link").click()
    expect(page.locator(".banner--success")).to_contain_text("Your calendar link is stopped")
    assert page.request.get(link.replace("http://clinic.test", "")).status == 404
