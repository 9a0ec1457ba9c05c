"""The front desk in Chromium: sign in, book a caller, mark arrived, move, cancel, change hours.

Every page is checked with axe-core (WCAG 2.2 AA) and for reflow on a phone; the
clock is Monday 8 March 2027, 08:00 in Los Angeles.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Practitioner, StaffRole, TimeOff
from booking.scheduling import UTC
from tests.browser import check, tab_to
from tests.test_desk import book_online, shift
from tests.test_staff import ACCOUNTS, AUTHENTICATORS, PASSWORD, staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def sign_in_with_the_keyboard(page, role: StaffRole, lands_on: str) -> None:
    page.goto("/staff/sign-in")
    tab_to(page, "#email")
    page.keyboard.type(ACCOUNTS[role])
    tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    if ACCOUNTS[role] in AUTHENTICATORS:  # then the code from the phone app
        page.wait_for_url("**/staff/sign-in/code**")
        tab_to(page, "#code")
        page.keyboard.type(AUTHENTICATORS[ACCOUNTS[role]].code())
        page.keyboard.press("Enter")
    page.wait_for_url(lands_on)


def sign_in(page, role=StaffRole.RECEPTIONIST):
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if ACCOUNTS[role] in AUTHENTICATORS:  # then the code from the phone app
        page.wait_for_url("**/staff/sign-in/code**")
        page.get_by_label("Code").fill(AUTHENTICATORS[ACCOUNTS[role]].code())
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk")


def appointments(app) -> list[Appointment]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(Appointment).order_by(Appointment.id)))
        for appointment in found:
            appointment.practitioner  # noqa: B018 (load before the context closes)
        return found


def test_book_a_caller_and_mark_them_arrived_with_the_keyboard(staff, page, shots):  # noqa: F811
    sign_in_with_the_keyboard(page, StaffRole.RECEPTIONIST, "**/desk")
    check(page, shots, "day")
    expect(page.get_by_role("heading", level=1)).to_have_text("Monday, March 8, 2027")

    tab_to(page, 'a[href*="start=2027-03-08T10:30:00-08:00"][href*="practitioner=ana"]', limit=300)
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/book?**")
    check(page, shots, "who-is-calling")
    tab_to(page, "a.button")  # New patient
    page.keyboard.press("Enter")
    page.wait_for_url("**patient=new**")
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")  # nothing filled in: the errors, with the summary focused
    expect(page).to_have_title(re.compile("^Error: "))
    check(page, shots, "book-errors")
    for selector, typed in (("#name", "Kim Caller"), ("#email", "kim@example.com"), ("#phone", "213 555 0177"),
                            ("#birth_month", "9"), ("#birth_day", "9"), ("#birth_year", "1969")):  # US order
        tab_to(page, selector)
        page.keyboard.type(typed)
    tab_to(page, "#service-0")
    page.keyboard.press("ArrowDown")  # the short treatment
    tab_to(page, "input[value=none]")
    page.keyboard.press("Space")
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_url("**/desk/appointments/*")
    expect(page.locator(".banner")).to_contain_text("Booked Kim Caller for Mar 8, 2027, 10:30 AM with Ana Test")
    check(page, shots, "appointment")
    tab_to(page, 'form[action$="/status/arrived"] button')
    page.keyboard.press("Enter")
    expect(page.locator(".banner")).to_contain_text("Kim Caller is marked arrived")
    expect(page.locator(".history")).to_contain_text("Arrived by Receptionist: Booked → Arrived")
    [booked] = appointments(staff)
    assert booked.status is AppointmentStatus.ARRIVED and booked.booked_via == "desk"

    page.get_by_role("link", name="Back").click()
    block = page.locator("a.block", has_text="Kim Caller")
    expect(block).to_contain_text("Arrived")


def test_move_then_cancel_an_appointment(staff, page, shots):  # noqa: F811
    book_online(staff, name="Mo Mover", safety=["fever"])  # Tuesday 10:00 with Ana
    sign_in(page)
    page.get_by_role("link", name="Next day").click()
    expect(page.locator("a.block", has_text="Mo Mover")).to_contain_text("Urgent flag")
    check(page, shots, "next-day")
    page.locator("a.block", has_text="Mo Mover").click()
    expect(page.get_by_text("Urgent flag: the patient's answers mean they should see a doctor within 24 hours")).to_be_visible()
    page.get_by_role("link", name="Move appointment").click()
    check(page, shots, "move")
    page.get_by_label("Practitioner").select_option("ben")
    page.get_by_label("Date").fill("2027-03-10")
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_role("heading", name="Free times with Ben Test on Wednesday, March 10")).to_be_visible()
    page.get_by_role("button", name=re.compile("^11:00 AM")).click()
    expect(page.locator(".banner")).to_contain_text("Moved to Mar 10, 2027, 11:00 AM with Ben Test")
    expect(page.locator(".history")).to_contain_text("From Mar 9, 2027, 10:00 AM with Ana Test to Mar 10, 2027, 11:00 AM with Ben Test")

    page.get_by_role("link", name="Cancel appointment").click()
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(".error-summary")).to_contain_text("Select why the appointment is being cancelled")
    check(page, shots, "cancel-error")
    page.get_by_label("The clinic is closed").check()
    page.get_by_label("Note (optional)").fill("Snow day")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(".banner")).to_contain_text("is cancelled; the time is free again")
    check(page, shots, "cancelled")
    [moved] = appointments(staff)
    assert moved.status is AppointmentStatus.CANCELLED and moved.practitioner.slug == "ben"
    assert moved.cancel_reason == "The clinic is closed: Snow day"
    page.goto("/desk?date=2027-03-10")
    expect(page.locator("a.block", has_text="Mo Mover")).to_have_count(0)
    expect(page.get_by_role("heading", name="Cancelled")).to_be_visible()


def test_change_hours_and_the_calendar_follows_with_javascript_off(staff, new_page, shots):  # noqa: F811
    book_online(staff, name="Early Bird")  # Tuesday 10:00 with Ana
    page = new_page(java_script_enabled=False)  # axe needs JavaScript: the pages are checked at the end
    sign_in(page)
    page.get_by_role("link", name="Hours of Ana Test").click()
    shots.take(page, "hours")
    page.get_by_label("Tuesday").fill("18:00-09:00")
    page.get_by_role("button", name="Save hours").click()
    expect(page.locator(".error-summary")).to_contain_text("Tuesday: 18:00-09:00 ends before it starts")
    shots.take(page, "hours-error")
    page.get_by_label("Tuesday").fill("13:00-17:00")
    page.get_by_role("button", name="Save hours").click()
    expect(page.locator(".banner")).to_contain_text("1 booked appointment now falls outside them")
    expect(page.locator("#outside + p + ul")).to_contain_text("Early Bird")
    shots.take(page, "hours-saved")

    page.goto("/desk?date=2027-03-09")
    shots.take(page, "day-after")
    expect(page.locator('a.free-link[href*="start=2027-03-09T09:00"]')).to_have_count(0)
    expect(page.locator('a.free-link[href*="start=2027-03-09T13:00"][href*="ana"]')).to_have_count(1)
    expect(page.locator(".outside-note")).to_have_text("Outside working hours")

    page.goto("/desk/practitioners/ana/time-off")
    page.get_by_label("From (date)").fill("2027-03-11")
    page.get_by_label("Until (date)").fill("2027-03-12")
    page.get_by_label("Reason (optional)").fill("Course")
    page.get_by_role("button", name="Add time off").click()
    expect(page.locator(".banner")).to_contain_text("Time off added")
    shots.take(page, "time-off")
    page.goto("/desk/week?practitioner=ana&date=2027-03-11")
    shots.take(page, "week-ana")
    expect(page.locator("td.cell--time_off")).to_have_count(2)
    page.goto("/desk/week?date=2027-03-11")
    shots.take(page, "week-everyone")

    checked = new_page()
    sign_in(checked)
    for path, name in (("/desk/practitioners/ana/hours", "hours"), ("/desk/practitioners/ana/time-off", "time-off"),
                       ("/desk/week?practitioner=ana&date=2027-03-11", "week-ana"),
                       ("/desk/week?date=2027-03-11", "week-everyone"), ("/desk?date=2027-03-09", "day-after")):
        checked.goto(path)
        check(checked, shots, f"checked-{name}")
    checked.goto("/desk/practitioners/ana/hours")
    checked.get_by_label("Monday").fill("9 to 5")
    checked.get_by_role("button", name="Save hours").click()
    expect(checked.locator(".error-summary")).to_contain_text("Monday: 9 to 5 is not a period of time; write it like 9:00 AM–12:30 PM")
    check(checked, shots, "checked-hours-error")


def test_patient_search_and_page(staff, page, shots):  # noqa: F811
    book_online(staff, name="Sam Searched")
    sign_in(page)
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter part of a name")
    check(page, shots, "search-error")
    page.get_by_label("Name, email or phone").fill("searched")
    page.get_by_role("button", name="Search").click()
    check(page, shots, "search-results")
    page.get_by_role("link", name="Sam Searched").click()
    check(page, shots, "patient")
    page.get_by_role("link", name="Book an appointment for Sam Searched").click()
    expect(page.get_by_role("status")).to_contain_text("Booking for Sam Searched")
    cell = page.locator("td.cell--free", has=page.locator('a.free-link[href*="start=2027-03-08T11:00"][href*="ana"]'))
    width = cell.bounding_box()["width"]
    cell.click(position={"x": width - 4, "y": 4})  # with JavaScript, anywhere in a free cell starts a booking
    expect(page.get_by_role("heading", name="Patient")).to_be_visible()
    page.get_by_label("Short treatment (30 minutes)").check()
    page.get_by_label("None of these").check()
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator(".banner")).to_contain_text("Booked Sam Searched")
    assert len({a.patient_id for a in appointments(staff)}) == 1


PHONE_375 = {"width": 375, "height": 812}


def page_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_phone_shows_one_practitioner_at_a_time_without_javascript(staff, new_page, shots):  # noqa: F811
    book_online(staff, name="Pat Phone")  # Tuesday 10:00 with Ana
    page = new_page(java_script_enabled=False, viewport=PHONE_375)
    sign_in(page)
    page.goto("/desk?date=2027-03-09")
    switch = page.get_by_role("navigation", name="Whose calendar")
    expect(switch.get_by_text("Everyone")).to_have_attribute("aria-current", "page")
    shots.take(page, "phone-everyone")
    switch.get_by_role("link", name="Ana Test").click()
    page.wait_for_url("**practitioner=ana**")
    expect(page.locator("table.calendar thead th")).to_have_count(2)  # the time and Ana's column
    expect(page.locator("a.block", has_text="Pat Phone")).to_be_visible()
    assert page_overflow(page) <= 0
    shots.take(page, "phone-ana")
    page.get_by_role("link", name="Next day").click()
    page.wait_for_url("**date=2027-03-10**practitioner=ana**")
    page.get_by_role("navigation", name="Whose calendar").get_by_role("link", name="Ben Test").click()
    expect(page.locator("table.calendar thead th").nth(1)).to_contain_text("Ben Test")
    expect(page.locator("table.calendar thead th")).to_have_count(2)
    shots.take(page, "phone-ben")
    checked = new_page()
    sign_in(checked)
    checked.goto("/desk?date=2027-03-09&practitioner=ana")
    check(checked, shots, "checked-one-column")


def fits_375(page, shots, name: str) -> None:
    """At 375 px nothing scrolls sideways, the page itself or a grid inside it; a screenshot at that width."""
    page.wait_for_load_state("load")
    assert page_overflow(page) <= 0, f"{page.url} scrolls sideways at 375 px"
    wider = page.evaluate("""[...document.querySelectorAll('main *')].filter(e => e.offsetParent !== null
        && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1)
        .map(e => e.className)""")
    assert not wider, f"{page.url}: these scroll sideways inside the page at 375 px: {wider}"
    page.screenshot(path=str(shots.folder / f"{name}-375.png"), full_page=True)


def test_a_phone_opens_on_one_practitioner_after_another_and_nothing_scrolls_sideways(staff, new_page, shots):  # noqa: F811
    book_online(staff, name="Pat Phone")  # Tuesday 10:00 with Ana
    book_online(staff, start="2027-03-10T11:00:00-08:00", practitioner="ben", name="Bea Wednesday", email="bea@example.com")
    page = new_page(java_script_enabled=False, viewport=PHONE_375)
    sign_in(page)

    page.goto("/desk?date=2027-03-10")  # everyone's day: each practitioner's day in turn, not a wide grid
    expect(page.locator(".calendar-scroll--columns")).to_be_hidden()
    stack = page.locator(".calendar-stack")
    expect(stack.get_by_role("heading", level=2)).to_have_text(["Ana Test", "Ben Test"])
    expect(page.locator("#stack-ben a.visit-block")).to_contain_text("Bea Wednesday")
    expect(page.locator("#stack-ana a.visit-block")).to_have_count(0)
    fits_375(page, shots, "day-everyone")
    tab_to(page, '.calendar-stack nav a[href="#stack-ben"]', limit=120)  # the jump list, by keyboard
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the next stop is inside Ben's day
    assert page.evaluate("document.activeElement.closest('section') && document.activeElement.closest('section').id") == "stack-ben"
    tab_to(page, '#stack-ben a.stack-book[href*="start=2027-03-10T12:00:00-08:00"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/book?**practitioner=ben**")

    page.goto("/desk?date=2027-03-10&practitioner=ana")  # one practitioner: the one-column grid, as before
    expect(page.locator("table.calendar thead th")).to_have_count(2)
    expect(page.locator(".calendar-stack")).to_have_count(0)
    fits_375(page, shots, "day-ana")
    page.goto("/desk/week?date=2027-03-10&practitioner=ana")  # a week: day after day
    expect(page.locator(".calendar-stack").get_by_role("heading", level=2)).to_have_count(7)
    expect(page.locator("#stack-2027-03-09 a.visit-block")).to_contain_text("Pat Phone")
    expect(page.locator("#stack-2027-03-13")).to_contain_text("Not working, and nothing booked.")
    fits_375(page, shots, "week-ana")
    page.goto("/desk/week?date=2027-03-10")  # everyone's week: each practitioner's row a list of days
    ben = page.locator("table.calendar--week tbody tr", has_text="Ben Test")
    expect(ben.locator('td[data-label="Wed, Mar 10"]')).to_contain_text("Bea Wednesday")
    assert ben.locator("td").first.evaluate("td => getComputedStyle(td, '::before').content") == '"Mon, Mar 8"'
    fits_375(page, shots, "week-everyone")
    page.goto("/desk/practitioners/ana/hours")  # each day's box shows all it holds
    boxes = page.locator("textarea")
    expect(boxes).to_have_count(7)
    assert boxes.evaluate_all("all => all.filter(box => box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight).length") == 0
    fits_375(page, shots, "hours")
    page.goto("/desk/practitioners/ana/time-off")
    page.get_by_label("From (date)").fill("2027-12-24")
    page.get_by_label("Until (date)").fill("2027-12-28")
    page.get_by_role("button", name="Add time off").click()
    expect(page.locator("td[data-label=When]")).to_have_text("Fri, Dec 24 – Tue, Dec 28 (all day)")
    fits_375(page, shots, "time-off")

    checked = new_page(viewport=PHONE_375)  # axe, with JavaScript, on what a phone shows
    sign_in(checked)
    for path, name in (("/desk?date=2027-03-10", "day-everyone"), ("/desk/week?date=2027-03-10&practitioner=ana", "week-ana"),
                       ("/desk/week?date=2027-03-10", "week-everyone"), ("/desk/practitioners/ana/hours", "hours"),
                       ("/desk/practitioners/ana/time-off", "time-off")):
        checked.goto(path)
        check(checked, shots, f"checked-{name}")
        fits_375(checked, shots, f"checked-{name}")
    desktop = new_page()  # and a desktop still has the grid, not the list
    sign_in(desktop)
    desktop.goto("/desk?date=2027-03-10")
    expect(desktop.locator(".calendar-scroll--columns")).to_be_visible()
    expect(desktop.locator(".calendar-stack")).to_be_hidden()
    expect(desktop.locator("table.calendar thead th")).to_have_count(3)  # the time, Ana and Ben
    check(desktop, shots, "desktop-day-everyone")


def test_a_visit_off_the_step_and_one_in_time_off_read_as_such(staff, page, shots):  # noqa: F811
    made = book_online(staff, name="Odd Start")  # Tuesday 10:00 with Ana
    shift(staff, made["reference"], 35)
    with staff.app_context():
        add = db.session.get(Practitioner, db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana")))
        db.session.add(TimeOff(practitioner_id=add.id, reason="Course", starts_at=datetime(2027, 3, 9, 18, 0, tzinfo=UTC),
                               ends_at=datetime(2027, 3, 9, 19, 0, tzinfo=UTC)))  # 10:00-11:00 in Los Angeles
        db.session.commit()
    sign_in(page)
    page.goto("/desk?date=2027-03-09")
    row = page.locator("tr", has=page.locator("th.calendar__time", has_text=re.compile("^10:30 AM$")))
    expect(row.locator("a.block")).to_contain_text("10:35 AM–11:05 AM")
    expect(page.locator("th.calendar__time", has_text="10:35")).to_have_count(0)
    expect(page.locator(".outside-note", has_text="During time off")).to_have_count(1)
    check(page, shots, "day-odd-and-clash")
    page.goto("/desk/week?date=2027-03-09")
    expect(page.locator(".outside-note", has_text="During time off")).to_have_count(1)
    check(page, shots, "week-clash")


def test_removing_time_off_asks_first_without_javascript(staff, new_page, shots):  # noqa: F811
    page = new_page(java_script_enabled=False)
    sign_in(page)
    page.goto("/desk/practitioners/ana/time-off")
    page.get_by_label("From (date)").fill("2027-12-24")
    page.get_by_label("Until (date)").fill("2027-12-28")
    page.get_by_role("button", name="Add time off").click()
    page.get_by_role("link", name=re.compile("^Remove")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove time off for Ana Test?")
    expect(page.locator(".summary-list dd").first).to_have_text("Fri, Dec 24 – Tue, Dec 28 (all day)")
    shots.take(page, "remove-asks")
    page.get_by_role("link", name="Keep").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Time off: Ana Test")
    page.get_by_role("link", name=re.compile("^Remove")).click()
    page.get_by_role("button", name="Remove").click()
    expect(page.locator(".banner")).to_contain_text("Time off removed")
    checked = new_page()
    sign_in(checked)
    checked.goto("/desk/practitioners/ana/time-off")
    checked.get_by_label("From (date)").fill("2027-12-24")
    checked.get_by_label("Until (date)").fill("2027-12-28")
    checked.get_by_role("button", name="Add time off").click()
    checked.get_by_role("link", name=re.compile("^Remove")).click()
    check(checked, shots, "checked-remove-asks")


def test_a_refusal_is_a_page_of_the_clinic_with_a_way_back(staff, page, shots):  # noqa: F811
    sign_in(page)
    page.goto("/admin/settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account cannot open this page")
    expect(page.get_by_text("This page is for admins.")).to_be_visible()
    expect(page.get_by_text("You are signed in as a receptionist.")).to_be_visible()
    check(page, shots, "refused")
    page.get_by_role("link", name="Go to the calendar").click()
    page.wait_for_url("**/desk")


def test_the_outbox_fits_a_phone(staff, new_page, shots):  # noqa: F811
    for number in range(3):
        book_online(staff, start=f"2027-03-09T1{number}:00:00-08:00", name=f"Outbox Person{number}",
                    email=f"a.rather.long.address.{number}@example-clinic-mail.com")
    page = new_page(viewport=PHONE_375)
    sign_in(page, StaffRole.ADMIN)
    page.goto("/admin/outbox")
    expect(page.locator("table.table--stack tbody tr").first).to_be_visible()
    assert page_overflow(page) <= 0
    label = page.evaluate("getComputedStyle(document.querySelector('td[data-label=To]'), '::before').content")
    assert "To" in label
    check(page, shots, "outbox-phone")


def test_beds_the_day_in_lanes_and_the_rooms_view_by_keyboard_and_without_javascript(staff, new_page, shots):  # noqa: F811
    """One practitioner's overlapping visits each in a lane, resting rows saying so, the time a rest
    leaves bookable; the rooms view reached from the day, each visit on its bed, with axe on both."""
    from booking.operations.clinic_file import import_clinic_file
    from tests.test_desk_beds import BEDS_CLINIC, needling, visit_id

    with staff.app_context():
        import_clinic_file(BEDS_CLINIC, "beds_clinic.toml")
    pat = needling(staff, 9, 0, name="Pat Resting")
    needling(staff, 9, 15, name="Quinn Needled")
    needling(staff, 11, 0, name="Sam Alone")  # 11:10-11:35 resting: Ana is free at 11:15
    needling(staff, 10, 0, practitioner="ben", name="Ruth Benson")
    page = new_page()
    sign_in(page)
    page.goto("/desk?date=2027-03-10")
    check(page, shots, "beds-day")
    for patient in ("Pat Resting", "Quinn Needled", "Sam Alone", "Ruth Benson"):
        expect(page.locator("table.calendar a.block", has_text=patient)).to_be_visible()
    expect(page.locator("table.calendar td.cell--resting").first).to_contain_text("Resting")
    expect(page.get_by_role("list", name="Key")).to_contain_text("Busy: the practitioner is with another patient")
    tab_to(page, 'table.calendar a[href*="start=2027-03-10T11:15:00-08:00"][href*="practitioner=ana"]', limit=300)
    page.goto("/desk?date=2027-03-10")  # from the top again: the rooms link sits above the grid
    tab_to(page, 'a[href="/desk/rooms?date=2027-03-10"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/rooms?date=2027-03-10")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rooms")
    check(page, shots, "beds-rooms")
    table = page.locator("table.calendar--rooms")
    expect(table.locator("thead")).to_contain_text("Community room")
    expect(table.locator("thead")).to_contain_text("Treatment room 1")
    expect(table.locator("a.block", has_text="Ruth Benson")).to_contain_text("with Ben Test")
    tab_to(page, f'table.calendar--rooms a.block[href="/desk/appointments/{visit_id(staff, pat["reference"])}"]', limit=100)
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/appointments/*")
    expect(page.locator(".summary-list")).to_contain_text("Community room, bed 1")
    check(page, shots, "beds-appointment")

    plain = new_page(java_script_enabled=False)  # no JavaScript: the same page, links and all
    sign_in(plain)
    plain.goto("/desk/rooms?date=2027-03-10")
    expect(plain.locator("table.calendar--rooms a.block")).to_have_count(4)
    shots.take(plain, "beds-rooms-no-js")

    phone = new_page(viewport=PHONE_375)  # Ana's day alone, her visits in lanes: on a phone, a list
    sign_in(phone)
    phone.goto("/desk?date=2027-03-10&practitioner=ana")
    assert page_overflow(phone) == 0
    for patient in ("Pat Resting", "Quinn Needled", "Sam Alone"):
        expect(phone.locator(".calendar-stack", has_text=patient)).to_be_visible()
    check(phone, shots, "beds-day-phone")
