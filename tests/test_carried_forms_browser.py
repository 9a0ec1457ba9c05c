"""A treatment note written past the idle limit, in a real Chromium: Save draft meets the sign-in
page, and signing in again with the keyboard leads to one button that saves every word, axe-checked."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from booking.models import StaffRole
from booking.scheduling import UTC
from tests.browser import check, tab_to
from tests.test_desk import book_online
from tests.test_notes_browser import MONDAY_14, open_note, saved_note
from tests.test_staff import ACCOUNTS, PASSWORD, staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

WORDS = "Warmth spread down the left leg.\nEased after ten minutes; 5/10 -> 3/10 & \"much looser\"."


def test_a_note_saved_after_the_session_ended_keeps_every_word_through_signing_in(staff, clock, new_page, shots):  # noqa: F811
    book_online(staff, start=MONDAY_14, name="Pat Caller")
    clock.now = datetime(2027, 3, 8, 22, 10, tzinfo=UTC)  # 2:10 PM: the visit has begun
    page = new_page()
    open_note(page, staff)
    page.wait_for_load_state("load")
    clock.advance(minutes=31)  # called away: the session runs out while the note is open
    tab_to(page, "#narrative", 400)
    page.keyboard.type(WORDS)
    # The page's own save is refused (the session ended), and says so where the words still are.
    expect(page.locator("[data-note-status]")).to_contain_text("Not saved: your session may have ended")

    tab_to(page, "button[value=save]", 400)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign in")
    expect(page.locator("main [role=alert]")).to_contain_text(
        "so what you sent has not been saved yet. Sign in again as Practitioner to save it.")
    check(page, shots, "sign-in-holding-a-form")
    assert saved_note(staff) is None

    tab_to(page, "#email")
    page.keyboard.type(ACCOUNTS[StaffRole.PRACTITIONER])
    tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your form has not been saved yet")
    check(page, shots, "save-what-you-sent")
    assert saved_note(staff) is None

    tab_to(page, "main button")
    expect(page.locator(":focus")).to_have_text("Send it again")  # first, before Leave it unsaved
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("Draft saved.")
    expect(page.locator("#narrative")).to_have_value(WORDS)
    assert saved_note(staff).content["narrative"] == WORDS
