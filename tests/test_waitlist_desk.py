"""The desk's waitlist on both databases: the day's list beside the calendar (who would take which
free time), a caller added by phone, and a time offered to one person directly."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from booking.notify import outbox
from booking.extensions import db
from booking.models import StaffRole, WaitlistEntry, WaitlistOffer
from tests.test_desk import submit
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)
from tests.test_waitlist import TUESDAY, join, only_ten_oclock_on_tuesday


def test_the_days_waitlist_shows_who_would_take_which_free_time_and_offers_one(staff, login_as):  # noqa: F811
    only_ten_oclock_on_tuesday(staff)  # Ana's Tuesday: only 10:00, booked
    join(staff, 1, first_day=TUESDAY, last_day=TUESDAY + timedelta(days=1), practitioner="any", safety=["fever"])
    join(staff, 2, first_day=TUESDAY, last_day=TUESDAY + timedelta(days=1), weekdays=(2,))  # Wednesdays only
    desk = login_as(StaffRole.RECEPTIONIST)
    assert "Waitlist for this day" in desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    page = desk.get("/desk/waitlist?date=2027-03-09").get_data(as_text=True)
    assert "Wait Er1" in page and "Wait Er2" not in page
    assert '<a href="tel:2135550142" class="phone-link">213 555 0142</a>' in page  # dialable, as elsewhere
    assert "Flag: urgent" in page and "fever" not in page.lower()  # the flag, never the answer
    assert "No free time on this day suits what they asked for." in page  # Ana full, Ben off on Tuesdays

    beside = desk.get("/desk?date=2027-03-10").get_data(as_text=True)  # the calendar names who would come
    assert "Wait Er1: Short treatment, would take" in beside and "(first 9:00 AM)" in beside
    assert "Wait Er1" not in login_as(StaffRole.PRACTITIONER).get("/desk?date=2027-03-10").get_data(as_text=True)
    page = desk.get("/desk/waitlist?date=2027-03-10").get_data(as_text=True)  # Wednesday: Ben works
    assert "Offer 10:00 AM" in page and "with Ben Test" in page
    with staff.app_context():
        entry_id = db.session.scalar(sa.select(WaitlistEntry.id).where(WaitlistEntry.email == "wait1@example.com"))
    response = submit(desk, f"/desk/waitlist/{entry_id}/offer", {
        "start": "2027-03-09T10:00:00-08:00", "practitioner": "1", "date": "2027-03-09"},
        page="/desk/waitlist?date=2027-03-09")
    assert response.status_code == 303
    assert "That time is not free for this visit" in desk.get(response.location).get_data(as_text=True)
    with staff.app_context():
        ben = db.session.execute(sa.text("SELECT id FROM practitioner WHERE slug = 'ben'")).scalar()
    response = submit(desk, f"/desk/waitlist/{entry_id}/offer", {
        "start": "2027-03-10T10:00:00-08:00", "practitioner": str(ben), "date": "2027-03-10"},
        page="/desk/waitlist?date=2027-03-10")
    assert "The time is offered" in desk.get(response.location).get_data(as_text=True)
    with staff.app_context():
        [offer] = db.session.scalars(sa.select(WaitlistOffer)).all()
        assert (offer.entry_id, offer.offered_by, offer.practitioner_id) == (entry_id, "Receptionist", ben)
    page = desk.get("/desk/waitlist?date=2027-03-10").get_data(as_text=True)
    assert "<strong>Offered Mar 10, 2027, 10:00 AM with Ben Test</strong>" in page and "(by Receptionist)" in page
    # The time they hold is shown as their offer, with no button to offer it to them again.
    place = page[page.index('id="place-%d"' % entry_id):]
    place = place[:place.index("</section>")]
    assert "Other free times they would take" in place
    assert re.search(r"Offer 10:00 AM\s+with Ben Test", place) is None
    assert re.search(r"Offer 10:30 AM\s+with Ben Test", place) and re.search(r"Offer 10:00 AM\s+with Ana Test", place)

    # A second time for the same person replaces the first: one open offer per place, as the list
    # keeps (pressing Offer twice sent two open offers and two emails, a hands-on trial).
    response = submit(desk, f"/desk/waitlist/{entry_id}/offer", {
        "start": "2027-03-10T10:30:00-08:00", "practitioner": str(ben), "date": "2027-03-10"},
        page="/desk/waitlist?date=2027-03-10")
    said = desk.get(response.location).get_data(as_text=True)
    assert ("Their earlier offer, Mar 10, 2027, 10:00 AM with Ben Test, is withdrawn: a person holds one offer "
            "at a time.") in said
    assert "Offered Mar 10, 2027, 10:30 AM with Ben Test" in said and "Offered Mar 10, 2027, 10:00 AM" not in said
    with staff.app_context():
        states = {(o.starts_at.isoformat(), o.state.value) for o in db.session.scalars(sa.select(WaitlistOffer))}
    assert states == {("2027-03-10T18:00:00+00:00", "withdrawn"), ("2027-03-10T18:30:00+00:00", "open")}


def test_the_desk_adds_a_caller_and_an_emergency_answer_adds_nobody(staff, login_as):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    form = {"service": "short", "practitioner": "any", "first_day": "2027-03-09", "last_day": "2027-03-20",
            "parts_of_day": "afternoon", "symptoms": "both_legs", "name": "Carl Caller", "email": "carl@example.com",
            "phone": "213 555 0160", "birth_month": "1", "birth_day": "5", "birth_year": "1960"}
    refused = submit(desk, "/desk/waitlist/add", form)
    assert refused.status_code == 200 and "Do not add them: emergency care now" in refused.get_data(as_text=True)
    assert 'value="Carl Caller"' in refused.get_data(as_text=True)  # what was typed stays
    # Whatever else is wrong with the form, the advice comes at once, and is what the page says first.
    dated_wrong = submit(desk, "/desk/waitlist/add", form | {"last_day": "2027-03-01", "name": ""}).get_data(as_text=True)
    assert "Do not add them: emergency care now" in dated_wrong and 'class="error-summary"' not in dated_wrong
    missing = submit(desk, "/desk/waitlist/add", {key: value for key, value in form.items() if key != "symptoms"})
    assert "Ask the caller each question" in missing.get_data(as_text=True)
    added = submit(desk, "/desk/waitlist/add", form | {"symptoms": "none"})
    assert added.status_code == 303 and "Carl Caller is on the waitlist" in desk.get(added.location).get_data(as_text=True)
    with staff.app_context():
        [entry] = db.session.scalars(sa.select(WaitlistEntry)).all()
        assert (entry.joined_via, entry.practitioner_id, entry.parts_of_day) == ("desk", None, ["afternoon"])
    again = submit(desk, "/desk/waitlist/add", form | {"symptoms": "none"})
    assert "Carl Caller already has a place on the waitlist for this visit" in desk.get(again.location).get_data(as_text=True)
    practitioner = login_as(StaffRole.PRACTITIONER)
    assert practitioner.get("/desk/waitlist?date=2027-03-09").status_code == 403


def test_the_desk_takes_a_caller_off_the_list_and_their_offer_goes_to_the_next_person(staff, login_as):  # noqa: F811
    from tests.test_waitlist import cancel, offers

    visit = only_ten_oclock_on_tuesday(staff)
    first = join(staff, 1)
    join(staff, 2)
    cancel(staff, visit)  # 10:00 offered to both
    desk = login_as(StaffRole.RECEPTIONIST)
    response = submit(desk, f"/desk/waitlist/{first.entry_id}/remove", {"date": "2027-03-09"},
                      page="/desk/waitlist?date=2027-03-09")
    assert response.status_code == 303
    page = desk.get(response.location).get_data(as_text=True)
    assert "Wait Er1 is off the waitlist." in page and "Take off the list<span class=\"visually-hidden\">: Wait Er2" in page
    assert [(email, state) for email, state, _ in offers(staff)] == [("wait1@example.com", "withdrawn"),
                                                                      ("wait2@example.com", "open")]
    again = submit(desk, f"/desk/waitlist/{first.entry_id}/remove", {"date": "2027-03-09"},
                   page="/desk/waitlist?date=2027-03-09")
    assert "no longer on the waitlist: nothing was changed" in desk.get(again.location).get_data(as_text=True)


def test_adding_a_caller_starts_at_the_desks_day_and_speaks_about_the_caller(staff, login_as):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    assert 'href="/desk/waitlist/add?date=2027-03-12"' in desk.get("/desk/waitlist?date=2027-03-12").get_data(as_text=True)
    page = desk.get("/desk/waitlist/add?date=2027-03-12").get_data(as_text=True)
    assert 'value="2027-03-12"' in page  # the day the desk was showing, not today
    assert "What kind of visit do they need?" in page and "The last day they could come." in page
    # Staff words, about the caller (the safety questions alone are read out to them as written).
    asked = page.split("<main", 1)[1].split('id="symptoms', 1)[0] + page.split("Their details", 1)[1]
    assert not re.search(r"\byour?\b", asked, re.IGNORECASE), re.findall(r".{60}\byour?\b.{30}", asked, re.I | re.S)
    assert page.index('name="birth_month"') < page.index('name="birth_day"')  # the clinic is in the US
    past = desk.get("/desk/waitlist/add?date=2027-03-01").get_data(as_text=True)
    assert re.search(r'name="first_day"[^>]*value="2027-03-08"', past)  # never before today


def test_the_desks_booking_form_orders_the_date_of_birth_as_the_clinics_locale_does(staff, login_as):  # noqa: F811
    page = login_as(StaffRole.RECEPTIONIST).get(
        "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new").get_data(as_text=True)
    assert page.index('name="birth_month"') < page.index('name="birth_day"') < page.index('name="birth_year"')
    assert "For example, 3/27/1980" in page


def test_the_waitlist_lists_practitioners_in_the_booking_pages_order(staff):  # noqa: F811
    from booking.operations.clinic_file import import_clinic_file
    from tests.conftest import CLINIC_TOML
    from tests.test_booking_journey import PatientBrowser

    with staff.app_context():  # Abe offers only the short visit, listed after the consultation
        import_clinic_file(CLINIC_TOML + '\n[[practitioners]]\nslug = "abe"\nname = "Abe Early"\nservices = ["short"]\n'
                                         '[practitioners.hours]\nmon = ["10:00-12:00"]\n')
    page = PatientBrowser(staff).get("/waitlist/join").get_data(as_text=True)
    assert page.index("Abe Early") < page.index("Ana Test") < page.index("Ben Test")  # by slug, as /book/practitioner


def test_a_time_the_desk_offers_is_not_said_to_have_freed_up(staff, login_as):  # noqa: F811
    from booking.models import OutboxMessage

    joined = join(staff, 1, first_day=TUESDAY + timedelta(days=1), last_day=TUESDAY + timedelta(days=1))
    desk = login_as(StaffRole.RECEPTIONIST)
    with staff.app_context():
        ben = db.session.execute(sa.text("SELECT id FROM practitioner WHERE slug = 'ben'")).scalar()
    submit(desk, f"/desk/waitlist/{joined.entry_id}/offer", {
        "start": "2027-03-10T10:00:00-08:00", "practitioner": str(ben), "date": "2027-03-10"},
        page="/desk/waitlist?date=2027-03-10")
    with staff.app_context():
        message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_offer"))
        email = outbox.email_of(message, staff.config["CLOCK"]())
        assert email.subject == "A time for you from the clinic: Wed, Mar 10, 2027, 10:00 AM PST"
        assert "freed up" not in email.text and "The clinic is offering you a time" in email.text


def test_offering_a_time_someone_else_holds_names_them_and_who_it_went_to(staff, login_as):  # noqa: F811
    """A trial offered one time to two people with no word that the first already held it."""
    for n in (1, 2):
        join(staff, n, first_day=TUESDAY + timedelta(days=1), last_day=TUESDAY + timedelta(days=1), practitioner="any")
    desk = login_as(StaffRole.RECEPTIONIST)
    with staff.app_context():
        ben = db.session.execute(sa.text("SELECT id FROM practitioner WHERE slug = 'ben'")).scalar()
        first, second = db.session.scalars(sa.select(WaitlistEntry.id).order_by(WaitlistEntry.id)).all()
    said = []
    for entry_id in (first, second):
        response = submit(desk, f"/desk/waitlist/{entry_id}/offer", {
            "start": "2027-03-10T10:00:00-08:00", "practitioner": str(ben), "date": "2027-03-10"},
            page="/desk/waitlist?date=2027-03-10")
        said.append(" ".join(desk.get(response.location).get_data(as_text=True).split()))
    assert "The time is offered to Wait Er1: they are emailed a link to book it." in said[0]
    assert "holds an offer of it too" not in said[0]
    assert ("The time is offered to Wait Er2: they are emailed a link to book it. Wait Er1 holds an offer of it too: "
            "the first to book it gets it, and the others are told it has gone.") in said[1]


def test_the_desk_is_told_when_a_callers_place_is_on_days_nobody_works(staff, login_as):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    form = {"service": "short", "practitioner": "ben", "first_day": "2027-03-09", "last_day": "2027-03-20",
            "weekdays": ["1"], "symptoms": "none", "name": "Tia Tuesday", "email": "tia@example.com",
            "phone": "213 555 0161", "birth_month": "2", "birth_day": "6", "birth_year": "1961"}
    added = submit(desk, "/desk/waitlist/add", form)
    assert added.status_code == 303
    page = desk.get(added.location).get_data(as_text=True)
    assert "Tia Tuesday is on the waitlist" in page
    assert "Ben Test does not work on the days chosen: their working days are Monday and Wednesday." in page
    refused = submit(desk, "/desk/waitlist/add", form | {"last_day": "2027-03-09", "weekdays": ["3"],
                                                         "email": "tia2@example.com"})
    assert "None of the dates from Mar 9, 2027 to Mar 9, 2027 falls on the days of the week chosen" in \
        refused.get_data(as_text=True)
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 1
