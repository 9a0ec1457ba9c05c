"""The waitlist in a real Chromium: joining from the time list, an offer booked, and an offer someone
else booked first; each journey with the keyboard alone and axe-checked at every page, and again
with JavaScript off (where axe and the focus checks cannot run, as they need JavaScript)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import WaitlistEntry, WaitlistOffer, WaitlistState
from booking.operations import waitlist
from tests.browser import check, tab_to
from tests.test_browser import reach_safety_check
from tests.test_staff import staff  # noqa: F401 (fixture)
from tests.test_waitlist import cancel, join, offer_id_of, only_ten_oclock_on_tuesday

pytestmark = pytest.mark.browser


def press(page, selector: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Space" if page.evaluate("document.activeElement.type") in ("checkbox", "radio") else "Enter")


def test_join_the_waitlist_with_the_keyboard(clinic, page, shots):
    page.goto("/waitlist/join?service=short&practitioner=ana")
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the waitlist")
    check(page, shots, "join")

    press(page, "main form button[type=submit]")  # nothing answered: each problem named, at its field
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Select any that apply to you now, or select 'None of these'")
    expect(summary).to_contain_text("Enter the last day you could come")  # the first is filled in: today
    check(page, shots, "join-problems")

    tab_to(page, "#last_day")
    page.keyboard.type("03122027")  # month, day, year: the date box of an American browser
    press(page, "#weekdays-1")  # Tuesday
    press(page, "#parts_of_day-0")  # mornings
    press(page, "input[name=symptoms][value=none]")
    for field, typed in (("#name", "Wendy Waiting"), ("#email", "wendy@example.com"), ("#phone", "213 555 0150"),
                         ("#birth_month", "4"), ("#birth_day", "2"), ("#birth_year", "1980")):
        tab_to(page, field)
        page.keyboard.type(typed)
    press(page, "main form button[type=submit]")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your place on the waitlist")
    expect(page.locator(".banner--success")).to_contain_text("You are on the waitlist")
    expect(page.locator("#weekdays-1")).to_be_checked()
    expect(page.locator("#last_day")).to_have_value("2027-03-12")
    check(page, shots, "place")
    with clinic.app_context():
        [entry] = db.session.scalars(sa.select(WaitlistEntry)).all()
        assert (entry.name, entry.weekdays, entry.parts_of_day) == ("Wendy Waiting", [1], ["morning"])

    press(page, "main a[href$='/leave']")  # leaving asks first, on a page of its own
    expect(page.get_by_role("heading", level=1)).to_have_text("Leave the waitlist?")
    check(page, shots, "leave")
    press(page, "main form button[type=submit]")
    expect(page.get_by_role("heading", level=1)).to_have_text("You have left the waitlist")
    check(page, shots, "left")
    with clinic.app_context():
        assert db.session.scalar(sa.select(WaitlistEntry.state)) is WaitlistState.LEFT


def test_the_time_list_leads_to_the_waitlist(clinic, page):
    reach_safety_check(page)  # through the time list, for Ana's short treatment
    page.goto("/book/time")
    link = page.get_by_role("link", name="No suitable time? Join the waitlist")
    expect(link).to_have_attribute("href", "/waitlist/join?service=short&practitioner=ana")


def test_join_the_waitlist_with_javascript_off(clinic, new_page, shots):
    page = new_page(java_script_enabled=False)
    page.goto("/waitlist/join?service=short&practitioner=any")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter the last day you could come")
    page.get_by_label("Until").fill("2027-03-20")
    page.get_by_label("Evening (from 5 PM)").check()
    page.get_by_label("Pain between the shoulder blades").check()
    page.get_by_label("Full name").fill("Nora Script")
    page.get_by_label("Email address").fill("nora@example.com")
    page.get_by_label("Phone number").fill("213 555 0151")
    page.get_by_label("Month", exact=True).fill("7")
    page.get_by_label("Day", exact=True).fill("9")
    page.get_by_label("Year", exact=True).fill("1969")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", level=1).first).to_have_text("Your place on the waitlist")
    expect(page.locator(".care-card--urgent")).to_contain_text("Pain between the shoulder blades")
    shots.take(page, "place-no-javascript")
    with clinic.app_context():
        [entry] = db.session.scalars(sa.select(WaitlistEntry)).all()
        assert (entry.practitioner_id, entry.parts_of_day, entry.safety_answers) == (None, ["evening"],
                                                                                     ["between_shoulders"])


def test_an_offer_booked_with_the_keyboard(clinic, page, shots):
    visit = only_ten_oclock_on_tuesday(clinic)
    joined = join(clinic)
    cancel(clinic, visit)
    page.goto(f"/waitlist/{joined.token}/offers/{offer_id_of(clinic, joined.entry_id)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("A time has freed up")
    expect(page.locator("main")).to_contain_text("Ana Test")
    check(page, shots, "offer")
    press(page, "main form button[type=submit]")
    page.wait_for_url("**/manage/**")
    expect(page.locator(".banner--success")).to_contain_text("Your visit is booked")
    check(page, shots, "booked")


def test_an_offer_lost_to_someone_quicker_is_said_kindly_and_the_place_stays(clinic, clock, new_page, shots):
    visit = only_ten_oclock_on_tuesday(clinic)
    slow, quick = join(clinic, 1), join(clinic, 2)
    cancel(clinic, visit)
    offer_page = f"/waitlist/{slow.token}/offers/{offer_id_of(clinic, slow.entry_id)}"
    no_script = new_page(java_script_enabled=False)
    no_script.goto(offer_page)
    expect(no_script.get_by_role("button", name="Book it")).to_be_visible()
    with clinic.app_context():
        waitlist.confirm(quick.entry_id, offer_id_of(clinic, quick.entry_id), clock())
    no_script.get_by_role("button", name="Book it").click()
    expect(no_script.locator(".error-summary")).to_contain_text("Sorry, this time has gone")
    expect(no_script.locator(".error-summary")).to_contain_text("You are still on the waitlist")
    expect(no_script.get_by_role("button", name="Book it")).to_have_count(0)
    shots.take(no_script, "offer-lost-no-javascript")

    page = new_page()  # the same page with JavaScript, for axe and the keyboard
    page.goto(offer_page)
    expect(page.locator(".error-summary")).to_contain_text("Sorry, this time has gone")
    check(page, shots, "offer-lost")
    press(page, "main a.button")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your place on the waitlist")
    with clinic.app_context():
        assert db.session.get(WaitlistEntry, slow.entry_id).state is WaitlistState.WAITING
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistOffer)) == 2


def test_the_desk_offers_a_time_from_the_days_waitlist_with_the_keyboard(staff, page, shots):  # noqa: F811
    from datetime import date

    from tests.test_desk_browser import sign_in

    join(staff, 1, first_day=date(2027, 3, 10), last_day=date(2027, 3, 10), parts_of_day=("afternoon",))
    sign_in(page)
    page.goto("/desk?date=2027-03-10")
    expect(page.locator("#waitlist-heading")).to_have_text("Waitlist for this day")
    check(page, shots, "calendar-with-waitlist")
    press(page, "aside a[href^='/desk/waitlist']")
    expect(page.get_by_role("heading", level=1)).to_have_text("Waitlist for Wednesday, March 10, 2027")
    check(page, shots, "desk-waitlist")
    press(page, "main form button[type=submit]")  # the first time Wait Er1 would take: 1:30 PM with Ana
    expect(page.locator(".banner--success")).to_contain_text("The time is offered")
    with staff.app_context():
        assert db.session.scalar(sa.select(WaitlistOffer.offered_by)) == "Receptionist"
    press(page, "main a[href^='/desk/waitlist/add']")
    page.wait_for_url("**/desk/waitlist/add?date=2027-03-10")
    expect(page.locator("#first_day")).to_have_value("2027-03-10")  # the day the desk was showing
    press(page, "main form button[type=submit]")
    expect(page.locator(".error-summary")).to_contain_text("Ask the caller each question")
    check(page, shots, "desk-add-problems")


def test_switching_language_half_way_through_the_form_keeps_what_was_typed(clinic, new_page, shots):
    """The language links opened the page afresh, every box empty. With the script, the page comes
    in the chosen language with the typing in it; without, the link still switches (boxes empty)."""
    from booking.models import Clinic

    with clinic.app_context():
        db.session.get(Clinic, 1).languages = ["en", "es"]
        db.session.commit()
    page = new_page()
    page.goto("/waitlist/join?service=short&practitioner=ana")
    page.fill("#name", "Rosa Ruiz")
    page.fill("#email", "rosa@example.com")
    page.fill("#last_day", "2027-03-19")
    page.check("#weekdays-3")  # Thursday
    page.check("input[name=symptoms][value=none]")
    page.check("input[name=practitioner][value=any]")
    press(page, ".language-nav a[lang=es]")
    expect(page.get_by_role("heading", level=1)).to_have_text("Unirse a la lista de espera")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#name")).to_have_value("Rosa Ruiz")
    expect(page.locator("#email")).to_have_value("rosa@example.com")
    expect(page.locator("#last_day")).to_have_value("2027-03-19")
    expect(page.locator("#weekdays-3")).to_be_checked()
    expect(page.locator("#weekdays-1")).not_to_be_checked()
    expect(page.locator("input[name=symptoms][value=none]")).to_be_checked()
    expect(page.locator("input[name=practitioner][value=any]")).to_be_checked()
    expect(page.locator("input[name=practitioner][value=ana]")).not_to_be_checked()
    check(page, shots, "switched-language")
    # The page works on as any other: its own token, its own script (the language link back).
    for field, typed in (("#phone", "213 555 0152"), ("#birth_month", "5"), ("#birth_day", "6"),
                         ("#birth_year", "1977")):
        page.fill(field, typed)
    press(page, "main form button[type=submit]")
    expect(page.get_by_role("heading", level=1)).to_have_text("Su lugar en la lista de espera")
    with clinic.app_context():
        [entry] = db.session.scalars(sa.select(WaitlistEntry)).all()
        assert (entry.name, entry.weekdays, entry.practitioner_id, entry.language) == ("Rosa Ruiz", [3], None, "es")

    # A page sent back with a problem holds the typing as its own: switching to read the problem keeps it.
    again = new_page()
    again.goto("/waitlist/join?service=short&practitioner=ana")
    again.fill("#name", "Luz Lopez")
    again.check("input[name=symptoms][value=none]")
    press(again, "main form button[type=submit]")
    expect(again.locator(".error-summary")).to_contain_text("Enter the last day you could come")
    press(again, ".language-nav a[lang=es]")
    expect(again.get_by_role("heading", level=1)).to_have_text("Unirse a la lista de espera")
    expect(again.locator("#name")).to_have_value("Luz Lopez")
    expect(again.locator("input[name=symptoms][value=none]")).to_be_checked()
    expect(again.get_by_role("heading", level=1)).to_be_focused()  # no page load to announce: the heading says it

    still = new_page(java_script_enabled=False)  # without the script: the link, as before
    still.goto("/waitlist/join?service=short&practitioner=ana")
    still.fill("#name", "Sin Script")
    still.click(".language-nav a[lang=es]")
    expect(still.get_by_role("heading", level=1)).to_have_text("Unirse a la lista de espera")
