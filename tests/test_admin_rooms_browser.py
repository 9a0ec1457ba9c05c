"""The rooms pages and the service form's beds in Chromium, on both databases: an admin adds a room
with the keyboard, is refused too many beds, takes the room out of use and gives a service its
hands-on parts; axe-core on every page, each at phone and desktop width.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.models import StaffRole
from tests.browser import check, tab_to
from tests.test_desk_browser import sign_in_with_the_keyboard
from tests.test_staff import staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_admin_sets_up_a_room_and_a_bed_service_with_the_keyboard(staff, new_page, shots):  # noqa: F811
    page = new_page()
    sign_in_with_the_keyboard(page, StaffRole.ADMIN, "**/desk")
    page.goto("/admin")
    tab_to(page, 'a[href="/admin/rooms"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/rooms")
    expect(page.locator("tbody")).to_contain_text("No rooms yet.")
    check(page, shots, "rooms-none")

    page.get_by_role("link", name="Add a room").click()
    page.get_by_label("Short name (for web addresses and the clinic file)").fill("community")
    page.get_by_label("Name", exact=True).fill("Community room")
    page.get_by_label("Beds").fill("41")
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary")).to_contain_text("Beds must be between 1 and 40 beds")
    check(page, shots, "room-error")
    page.locator(".error-summary a").first.click()  # the summary's link takes the keyboard to the box
    expect(page.get_by_label("Beds")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    page.keyboard.press("Enter")
    expect(page.locator(".banner--success")).to_contain_text("Community room is added, with 6 beds.")
    expect(page.locator("tbody")).to_contain_text("Community room")
    check(page, shots, "rooms")

    page.get_by_role("link", name="Community room").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Community room")
    check(page, shots, "room")
    tab_to(page, "#is_active")
    page.keyboard.press("Space")  # out of use
    page.get_by_role("button", name="Save room").click()
    expect(page.locator(".banner--success")).to_contain_text("New visits are no longer given a bed in it.")
    expect(page.locator("tbody")).to_contain_text("Out of use")

    # With no room in use a service cannot need a bed: said on the box.
    page.goto("/admin/services/short")
    page.get_by_label("Hands-on parts (optional)").fill("0-10, 5-40")
    page.get_by_label("Needs a bed").check()
    page.get_by_role("button", name="Save service").click()
    expect(page).to_have_title(re.compile("^Error: "))
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text('Hands-on parts: "5-40" ends after the visit does (30 minutes)')
    expect(summary).to_contain_text("No room is in use")
    check(page, shots, "service-error")

    page.goto("/admin/rooms/community")
    page.get_by_label("In use").check()
    page.get_by_role("button", name="Save room").click()
    expect(page.locator("tbody")).to_contain_text("In use")
    page.goto("/admin/services/short")
    page.get_by_label("Hands-on parts (optional)").fill("0-10, 20-30")
    page.get_by_label("Needs a bed").check()
    page.get_by_role("button", name="Save service").click()
    expect(page.locator(".banner--success")).to_contain_text("Short treatment is saved.")
    page.goto("/admin/services/short")
    expect(page.get_by_label("Hands-on parts (optional)")).to_have_value("0-10, 20-30")
    expect(page.get_by_label("Needs a bed")).to_be_checked()
    check(page, shots, "service")
