"""The second factor in Chromium: a new admin sets up an authenticator app at first sign-in, saves
the recovery codes, then signs in with a code, all with the keyboard. Each page is checked with
axe-core (WCAG 2.2 AA) and for reflow on a phone."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from booking.clock import now
from booking.models import StaffRole
from booking.operations.staff import add_staff
from tests.browser import check, tab_to

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "nova@example.org", "correct horse battery"


def set_up_with_the_keyboard(page, clock, shots=None) -> tuple[str, list[str]]:
    """On the set-up page: read the key shown for typing, type the app's code, and return the key
    and the recovery codes shown."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    expect(page.get_by_role("img", name=re.compile("^QR code that adds"))).to_be_visible()
    secret = page.locator(".secret-key code").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    if shots:
        check(page, shots, "set-up")
    tab_to(page, "#code")
    page.keyboard.press("Control+A")  # over anything typed before
    page.keyboard.type(pyotp.TOTP(secret).at(clock.now))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    if shots:
        check(page, shots, "recovery-codes")
    tab_to(page, "main a.button")
    page.keyboard.press("Enter")
    return secret, codes


def type_password(page, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto("/staff/sign-in")
    tab_to(page, "#email")
    page.keyboard.type(email)
    tab_to(page, "#password")
    page.keyboard.type(password)
    with page.expect_navigation():  # the form's answer has arrived before anything goes elsewhere
        page.keyboard.press("Enter")


def test_a_new_admin_sets_up_the_app_and_signs_in_with_a_code_using_the_keyboard(clinic, page, shots):
    clock = clinic.config["CLOCK"]
    with clinic.test_request_context():
        add_staff(EMAIL, "Nova Admin", StaffRole.ADMIN, PASSWORD, now())

    type_password(page)
    page.wait_for_url("**/staff/second-factor/set-up")
    tab_to(page, "#code")  # a wrong code first: the error, with the key still shown
    page.keyboard.type("000000" if pyotp.TOTP(page.locator(".secret-key code").inner_text().replace(" ", "")).at(
        clock.now) != "000000" else "111111")
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary")).to_contain_text("That code does not match")
    check(page, shots, "set-up-wrong-code")
    secret, codes = set_up_with_the_keyboard(page, clock, shots)
    page.wait_for_url("**/desk")

    page.get_by_role("link", name="Second factor").click()
    expect(page.locator("main")).to_contain_text("Your second factor is on")
    expect(page.locator("main")).to_contain_text("10 unused recovery codes")
    check(page, shots, "second-factor-status")
    page.get_by_role("button", name="Sign out").click()

    clock.advance(seconds=30)  # the next code
    type_password(page)
    page.wait_for_url("**/staff/sign-in/code")
    check(page, shots, "code")
    tab_to(page, "#code")
    page.keyboard.type("12345")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_contain_text("Enter the 6-digit code")
    check(page, shots, "code-error")
    tab_to(page, "#code")
    page.keyboard.press("Control+A")
    page.keyboard.type(pyotp.TOTP(secret).at(clock.now))
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk")
    page.get_by_role("button", name="Sign out").click()

    type_password(page)  # a lost phone: a recovery code instead
    page.wait_for_url("**/staff/sign-in/code")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk")
    expect(page.locator(".banner")).to_contain_text("You have 9 left")


def test_too_many_tries_page_is_accessible(database_url, clinic, chromium, shots):
    from booking import create_app
    from tests.browser import DESKTOP, LiveServer
    from tests.conftest import app_config, close_database

    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="1 per 15 minutes",
                                    CLOCK=clinic.config["CLOCK"]))
    with LiveServer(limited) as server:
        context = chromium.new_context(base_url=server.url, viewport=DESKTOP)
        page = context.new_page()
        for _ in range(2):
            type_password(page, "nobody@example.org", "wrong password!")
        expect(page.get_by_role("heading", level=1)).to_have_text("Too many tries")
        expect(page.locator("main")).to_contain_text("Please try again in")
        check(page, shots, "too-many-tries")
        context.close()
    close_database(limited)


def test_staff_choose_their_own_password_with_the_keyboard(clinic, page, shots):
    """Added by an admin (who typed the password), a receptionist chooses their own at first sign-in,
    keyboard only: a mistyped second box first, then the right one; then changes it again from the
    staff bar's Password link. Each page is checked with axe."""
    with clinic.test_request_context():
        add_staff("rae@example.org", "Rae Desk", StaffRole.RECEPTIONIST, PASSWORD, now(), must_change_password=True)

    type_password(page, "rae@example.org")
    page.wait_for_url("**/staff/password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")
    expect(page.locator("main")).to_contain_text("Your password was set by the clinic's admin")
    check(page, shots, "password-first")

    def type_passwords(current: str, new: str, again: str) -> None:
        for selector, text in (("#current_password", current), ("#new_password", new), ("#new_password_again", again)):
            tab_to(page, selector)
            page.keyboard.type(text)
        with page.expect_navigation():
            page.keyboard.press("Enter")

    type_passwords(PASSWORD, "rae's own passphrase", "rae's own passphrasf")
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".error-summary")).to_contain_text("are not the same")
    for box in ("#current_password", "#new_password", "#new_password_again"):
        expect(page.locator(box)).to_have_value("")  # nothing typed comes back
    check(page, shots, "password-error")
    tab_to(page, ".error-summary a")  # the summary's link leads to the box to fix
    page.keyboard.press("Enter")
    expect(page.locator("#new_password_again")).to_be_focused()

    type_passwords(PASSWORD, "rae's own passphrase", "rae's own passphrase")
    page.wait_for_url("**/desk*")  # (the summary link's #fragment stays with the page, as browsers keep it)
    expect(page.locator(".banner--success")).to_contain_text("Your password is changed")

    tab_to(page, ".staff-nav a[href='/staff/password']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/password")
    expect(page.locator("main")).not_to_contain_text("set by the clinic's admin")
    check(page, shots, "password-change")
    type_passwords("rae's own passphrase", "rae's newer passphrase", "rae's newer passphrase")
    page.wait_for_url("**/desk")
    expect(page.locator(".banner--success")).to_contain_text("any other sessions of yours have ended")
