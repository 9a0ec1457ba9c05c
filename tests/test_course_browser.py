"""Booking a course in a real Chromium with one of its times replaced: with the keyboard only and
axe-checked at every step, and again with JavaScript off."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Appointment
from tests.browser import check, tab_to
from tests.test_booking_journey import put_on_file
from tests.test_browser import reach_check_answers
from tests.test_desk import book_online

pytestmark = pytest.mark.browser

TAKEN = "2027-03-15T10:00:00-07:00"  # the course's second Monday, booked by someone else first


def course_visits(app) -> list[Appointment]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Appointment).where(Appointment.course_id.is_not(None))
                                  .order_by(Appointment.starts_at)).all()
        db.session.expunge_all()
        return rows


def test_a_course_with_one_time_replaced_with_the_keyboard_only(clinic, page, shots):
    book_online(clinic, start=TAKEN, email="first@example.com")
    put_on_file(clinic)
    reach_check_answers(page)  # Pat Example, a short treatment with Ana on Monday, March 8 at 10:00 AM
    check(page, shots, "check-with-course-offer")

    tab_to(page, "main a[href$='/book/course']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/book/course")
    check(page, shots, "course")
    tab_to(page, "main form button[type=submit]:not([name])")
    page.keyboard.press("Enter")  # nothing chosen: both questions say so, each linked from the summary
    expect(page.locator(".error-summary")).to_contain_text("Select how often you would like to come")
    expect(page.locator(".error-summary")).to_contain_text("Select how many visits you would like")
    check(page, shots, "course-error")
    tab_to(page, "#how_often-0")  # once a week
    page.keyboard.press("Space")
    tab_to(page, "#count-0")  # a group of radios takes one Tab; the arrows move within it
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#count-2")).to_be_checked()  # 4 visits
    tab_to(page, "main form button[type=submit]:not([name])")
    page.keyboard.press("Enter")
    page.wait_for_url("**/book/course/times")
    expect(page.locator("legend")).to_contain_text("Visit 2: choose another time")
    expect(page.locator("#visit-2-hint")).to_contain_text("Monday, March 15, 2027, 10:00 AM is not free.")
    check(page, shots, "course-times")

    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")  # no other time chosen for visit 2
    expect(page.locator(".error-summary")).to_contain_text("Choose a time for visit 2")
    check(page, shots, "course-times-error")
    page.locator(".error-summary a").first.click()
    expect(page.locator("#visit-2-0")).to_be_focused()  # the summary's link leads to the question
    page.keyboard.press("Space")
    replacement = page.locator("label[for='visit-2-0']").inner_text()
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/book/check(#[\w-]*)?$"))  # the summary's #fragment stays through the redirect
    expect(page.locator("main")).to_contain_text(replacement)
    check(page, shots, "check-course")

    tab_to(page, "main form button[type=submit]")
    expect(page.locator(":focus")).to_have_text("Confirm all 4 visits")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/book/confirmation(#[\w-]*)?$"))
    expect(page.locator("main")).to_contain_text("You have booked 4 visits.")
    check(page, shots, "course-confirmation")
    booked = course_visits(clinic)
    assert len(booked) == 4 and len({visit.course_id for visit in booked}) == 1
    assert booked[1].starts_at.isoformat() != TAKEN


def test_a_course_with_one_time_replaced_with_javascript_off(clinic, new_page, shots):
    book_online(clinic, start=TAKEN, email="first@example.com")
    put_on_file(clinic)
    page = new_page(java_script_enabled=False)
    reach_check_answers(page)
    page.get_by_role("link", name="Book a course of visits").click()
    page.get_by_label("Twice a week: Mondays and Thursdays").check()  # from the first visit's Monday
    page.get_by_label("4", exact=True).check()
    page.get_by_role("button", name="See the times").click()
    page.wait_for_url("**/book/course/times")
    expect(page.locator("main")).to_contain_text("Visit 2: Thursday, March 11, 2027, 10:00 AM")
    shots.take(page, "course-times-no-js")
    page.locator("#visit-3-1").check()  # Monday the 15th at 10:00 is taken
    page.get_by_role("button", name="Continue with these times").click()
    page.wait_for_url("**/book/check")
    page.get_by_role("button", name="Confirm all 4 visits").click()
    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert len(course_visits(clinic)) == 4
