"""Calendar pages kept per process (booking.kept_pages) read exactly as pages rendered afresh: after
every kind of change they show, made through another process, on the very next view; for each
staff member their own; with a message shown once; with each session's own CSRF token; and
across the clock's moments. On both databases.

The clock is Monday 8 March 2027, 08:00 in Los Angeles; Ana works 09:00-12:30 and 13:30-17:00,
Ben 10:00-16:00. Two apps on one database stand for two processes.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Clinic, Intake, Patient, Practitioner, StaffAccount, StaffRole
from booking.operations import bookings, consent, desk, notes
from booking.operations.patient_data import Who, erase
from booking.operations import staff as staff_sessions
from booking.operations.staff import add_staff
from booking.transaction import write_transaction
from tests.conftest import app_config, close_database
from tests.notes_helpers import content
from tests.test_clinician import send_intake
from tests.test_desk import book_online
from tests.test_staff import PASSWORD, csrf_from, login_as, sign_in, staff  # noqa: F401 (fixtures)
from tests.test_waitlist import join

MONDAY = "2027-03-08"
MONDAY_11 = "2027-03-08T11:00:00-08:00"
MONDAY_DATE = date(2027, 3, 8)
PAGES = {
    StaffRole.RECEPTIONIST: (f"/desk?date={MONDAY}", f"/desk?date={MONDAY}&practitioner=ana",
                             f"/desk/week?date={MONDAY}", f"/desk/week?date={MONDAY}&practitioner=ana"),
    StaffRole.PRACTITIONER: (f"/desk?date={MONDAY}", f"/clinician?date={MONDAY}"),
}
TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


@pytest.fixture
def other(staff):  # noqa: F811
    """A second process on the same database, with the same clock."""
    app = create_app(app_config(staff.config["SQLALCHEMY_DATABASE_URI"], CLOCK=staff.config["CLOCK"]))
    yield app
    close_database(app)


@pytest.fixture
def clients(login_as):  # noqa: F811
    return {role: login_as(role) for role in PAGES}


def kept(app):
    return app.extensions["kept_calendar_pages"]


def views(clients) -> dict:
    """Every calendar page for each staff member, with the CSRF token left out (compared apart)."""
    pages = {}
    for role, paths in PAGES.items():
        for path in paths:
            response = clients[role].get(path)
            assert response.status_code == 200, path
            pages[(role, path)] = TOKEN.sub('name="csrf_token" value=""', response.get_data(as_text=True))
    return pages


def fresh_views(app, clients) -> dict:
    """The same pages rendered afresh: nothing kept in the process."""
    app.extensions.pop("kept_calendar_pages", None)
    return views(clients)


def account(email: str) -> StaffAccount:
    return db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == email))


def visit(reference: str) -> Appointment:
    return db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))


def ana() -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))


# Each change, made through another process: what it does, and words only a page showing it holds.

def _book_another(app, booked):
    book_online(app, start="2027-03-08T14:00:00-08:00", name="Nora Next", email="nora@example.com")
    return "Nora Next"


def _move(app, booked):
    with app.app_context():
        now = app.config["CLOCK"]()
        desk.move(account("desk@example.org"), visit(booked["reference"]).id, ana(),
                  now.replace(hour=22, minute=0), now)  # 14:00 in Los Angeles
    return f"practitioner=ana&amp;start={MONDAY}T11:00:00-08:00"  # the time it left is free to book


def _cancel(app, booked):
    with app.app_context():
        bookings.cancel(visit(booked["reference"]).id, "test", app.config["CLOCK"]())
    return "<h2>Cancelled</h2>"


def _arrive(app, booked):
    with app.app_context():
        desk.mark(account("desk@example.org"), visit(booked["reference"]).id, AppointmentStatus.ARRIVED,
                  app.config["CLOCK"]())
    return "<strong>Arrived</strong>"


def _send_intake(app, booked):
    send_intake(app, booked, health={"precautions": ["pregnant"]})
    return "Precautions: pregnant"


def _consent_in_person(app, booked):
    with app.app_context():
        consent.record_in_person(account("ana@example.org"), visit(booked["reference"]).id, app.config["CLOCK"]())
    return "Consent given"


def _draft_note(app, booked):
    with app.app_context():
        notes.save_draft(account("ana@example.org"), visit(booked["reference"]).id, content(), 0,
                         app.config["CLOCK"]())
    return "Draft</p>"


def _rename_patient(app, booked):
    with app.app_context():
        visit(booked["reference"]).patient.name = "Pat Renamed"
        db.session.commit()
    return "Pat Renamed"


def _red_flag(app, booked):
    with app.app_context():
        visit(booked["reference"]).alert_level = "emergency"
        db.session.commit()
    return "Emergency flag"


def _hours(app, booked):
    with app.app_context():
        weekly = {weekday: [(time(9), time(18))] for weekday in range(5)}
        desk.set_hours(account("desk@example.org"), ana(), weekly, app.config["CLOCK"]())
    return f"start={MONDAY}T17:30:00-08:00"


def _time_off(app, booked):
    with app.app_context():
        now = app.config["CLOCK"]()
        desk.add_time_off(account("desk@example.org"), ana(), now + timedelta(hours=6), now + timedelta(hours=8),
                          "Dentist", now)  # 14:00-16:00
    return "cell cell--time_off"


def _settings(app, booked):
    with app.app_context():
        db.session.get(Clinic, 1).alert_email = None
        db.session.commit()
    return "No alert address is set"


def _rename_practitioner(app, booked):
    with app.app_context():
        ana().name = "Ana Renamed"
        db.session.commit()
    return "Ana Renamed"


def _join_waitlist(app, booked):
    join(app, first_day=MONDAY_DATE, last_day=MONDAY_DATE)
    return "Wait Er1"


def _rename_staff_member(app, booked):
    with app.app_context():
        account("desk@example.org").name = "Front Desk Renamed"
        db.session.commit()
    return "Front Desk Renamed"


CHANGES = [_book_another, _move, _cancel, _arrive, _send_intake, _consent_in_person, _draft_note, _rename_patient,
           _red_flag, _hours, _time_off, _settings, _rename_practitioner, _join_waitlist, _rename_staff_member]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__.strip("_") for change in CHANGES])
def test_after_a_change_made_by_another_process_the_next_view_shows_it(staff, other, clients, change):  # noqa: F811
    booked = book_online(staff, start=MONDAY_11)
    before = views(clients)
    assert len(kept(staff)) == 6  # one page per staff member and address
    assert views(clients) == before  # served as kept
    shows = change(other, booked)
    after = views(clients)
    assert after == fresh_views(staff, clients)
    assert not any(shows in page for page in before.values())
    assert any(shows in page for page in after.values())


def test_a_booking_through_the_same_process_shows_on_the_next_view(staff, clients):  # noqa: F811
    views(clients)
    book_online(staff, start=MONDAY_11, name="Sam Same")
    after = views(clients)
    assert after == fresh_views(staff, clients)
    assert "Sam Same" in after[(StaffRole.RECEPTIONIST, f"/desk?date={MONDAY}")]


def test_staff_members_never_get_each_others_copy(staff, login_as):  # noqa: F811
    book_online(staff, start=MONDAY_11, practitioner="ben", name="Bea Ben", email="bea@example.com")
    practitioner, receptionist = login_as(StaffRole.PRACTITIONER), login_as(StaffRole.RECEPTIONIST)
    with staff.app_context():
        add_staff("desk2@example.org", "Second Desk", StaffRole.RECEPTIONIST, PASSWORD, staff.config["CLOCK"]())
    second = staff.test_client()
    assert sign_in(second, "desk2@example.org").status_code == 303
    day = f"/desk?date={MONDAY}"
    for _ in range(2):  # rendered, then kept: each their own either way
        ana_page = practitioner.get(day).get_data(as_text=True)
        desk_page = receptionist.get(day).get_data(as_text=True)
        second_page = second.get(day).get_data(as_text=True)
        # Ana reads Ben's calendar without his patients' names, and has no desk links.
        assert "Bea Ben" not in ana_page and "Bea Ben" in desk_page and "Bea Ben" in second_page
        assert "/desk/practitioners/ben/hours" not in ana_page and "/desk/practitioners/ben/hours" in desk_page
        assert ">Receptionist<" in desk_page and ">Second Desk<" in second_page
        assert ">Second Desk<" not in desk_page and ">Receptionist<" not in second_page
    assert len(kept(staff)) == 3


def test_a_message_is_shown_once_and_never_kept(staff, clients):  # noqa: F811
    receptionist = clients[StaffRole.RECEPTIONIST]
    day = f"/desk?date={MONDAY}"
    plain = receptionist.get(day).get_data(as_text=True)
    with receptionist.session_transaction() as session:
        session["_flashes"] = [("success", "Booked Pat Caller for Monday.")]
    with_message = receptionist.get(day).get_data(as_text=True)
    assert "Booked Pat Caller for Monday." in with_message
    again = receptionist.get(day).get_data(as_text=True)
    assert "Booked Pat Caller for Monday." not in again
    assert TOKEN.sub("", again) == TOKEN.sub("", plain)


def test_a_kept_page_carries_each_sessions_own_csrf_token(staff, login_as, count_queries):  # noqa: F811
    first, second = login_as(StaffRole.RECEPTIONIST), login_as(StaffRole.RECEPTIONIST)  # one person, two sessions
    day = f"/desk?date={MONDAY}"
    first_token = csrf_from(first.get(day).get_data(as_text=True))
    with count_queries() as counted:
        second_token = csrf_from(second.get(day).get_data(as_text=True))
    assert counted.total == 3  # the page as kept: session (with the second-factor setting), stamps, waitlist
    assert first_token != second_token
    # A token works only in the session it was written for (the sign-out form on every page).
    assert second.post("/staff/sign-out", data={"csrf_token": first_token}).status_code == 400
    assert first.post("/staff/sign-out", data={"csrf_token": second_token}).status_code == 400
    assert second.post("/staff/sign-out", data={"csrf_token": second_token}).status_code == 303
    assert first.post("/staff/sign-out", data={"csrf_token": first_token}).status_code == 303


def test_a_kept_day_holds_until_a_free_time_passes_and_no_longer(staff, login_as, clock, count_queries):  # noqa: F811
    clock.now = clock.now.replace(hour=16, minute=59, second=30)  # 08:59:30 in Los Angeles
    receptionist = login_as(StaffRole.RECEPTIONIST)
    day = f"/desk?date={MONDAY}"
    nine = f'href="/desk/book?practitioner=ana&amp;start={MONDAY}T09:00:00-08:00"'
    assert nine in receptionist.get(day).get_data(as_text=True)
    clock.now = clock.now.replace(hour=17, minute=0, second=0)  # 09:00: still bookable, the same page
    with count_queries() as counted:
        at_nine = receptionist.get(day).get_data(as_text=True)
    assert nine in at_nine and counted.total == 3
    clock.now += timedelta(microseconds=1)  # just after: 09:00 has passed
    after_nine = receptionist.get(day).get_data(as_text=True)
    assert nine not in after_nine and f"practitioner=ana&amp;start={MONDAY}T09:15:00-08:00" in after_nine
    staff.extensions.pop("kept_calendar_pages")
    assert TOKEN.sub("", after_nine) == TOKEN.sub("", receptionist.get(day).get_data(as_text=True))


def test_my_day_as_kept_asks_the_database_three_things_and_writes_no_audit(staff, clients, count_queries):  # noqa: F811
    book_online(staff, start=MONDAY_11)
    practitioner = clients[StaffRole.PRACTITIONER]
    practitioner.get(f"/clinician?date={MONDAY}")
    with count_queries() as counted:
        page = practitioner.get(f"/clinician?date={MONDAY}").get_data(as_text=True)
    assert "Pat Caller" in page and counted.total == 2  # session (with the second-factor setting), stamps
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("audit_entry"))) == 0


def test_a_kept_calendar_page_begins_no_transaction(staff, clients):  # noqa: F811
    """A kept page's reads (who is signed in, the stamps, the waitlist) each go alone, as
    driver.run does for the settings stamp: the session's transaction (its connection,
    BEGIN and ROLLBACK) was a tenth of such a page, and begins only for a page rendered."""
    book_online(staff, start=MONDAY_11)
    with staff.app_context():
        engine = db.engine
    begun = []

    def on_begin(connection):
        begun.append(connection)

    for role, paths in PAGES.items():
        for path in paths:
            clients[role].get(path)  # rendered (in a transaction) and kept
            sa.event.listen(engine, "begin", on_begin)
            try:
                assert clients[role].get(path).status_code == 200
            finally:
                sa.event.remove(engine, "begin", on_begin)
            assert not begun, path


def test_the_stamps_move_only_for_what_the_calendars_show(staff):  # noqa: F811
    booked = book_online(staff, start=MONDAY_11)

    def stamps():
        with staff.app_context():
            return dict(db.session.execute(sa.select(Practitioner.slug, Practitioner.calendar_stamp)).all())

    before = stamps()
    with staff.app_context():
        patient = db.session.scalar(sa.select(Patient).where(Patient.name == "Pat Caller"))
        patient.phone = "213 555 0199"  # not shown on a calendar
        db.session.commit()
    assert stamps() == before
    _rename_patient(staff, booked)
    renamed = stamps()
    assert renamed["ana"] != before["ana"] and renamed["ben"] == before["ben"]
    with staff.app_context():  # a visit's record changed with the visit itself not in the session: one query finds whose
        intake = Intake(appointment_id=visit(booked["reference"]).id, form_version="1", answers={},
                        started_at=staff.config["CLOCK"](), updated_at=staff.config["CLOCK"]())
        db.session.expunge_all()
        db.session.add(intake)
        db.session.commit()
    assert stamps()["ana"] != renamed["ana"] and stamps()["ben"] == before["ben"]


def test_one_flush_renews_one_diary_and_another_calendar(staff):  # noqa: F811
    """Ana's visit marked, and the patient of Ben's renamed, in one commit: Ana's diary and calendar
    stamps move, Ben's calendar stamp alone (in one statement, locking the rows in order)."""
    anas = book_online(staff, start=MONDAY_11)
    bens = book_online(staff, start=MONDAY_11, practitioner="ben", name="Bea Ben", email="bea@example.com")

    def stamps():
        with staff.app_context():
            return {slug: (diary, calendar) for slug, diary, calendar in db.session.execute(
                sa.select(Practitioner.slug, Practitioner.diary_stamp, Practitioner.calendar_stamp))}

    before = stamps()
    with staff.app_context():
        visit(anas["reference"]).status = AppointmentStatus.ARRIVED
        visit(bens["reference"]).patient.name = "Bea Renamed"
        db.session.commit()
    after = stamps()
    assert after["ana"][0] != before["ana"][0] and after["ana"][1] != before["ana"][1]
    assert after["ben"][0] == before["ben"][0] and after["ben"][1] != before["ben"][1]


# Changes whose mark on the pages is not one phrase: an erasure (names and markers go), a signed
# note, and a booking at another practitioner (My day counts a patient's earlier visits).

def _erase(app, booked):
    with app.app_context():
        erase(visit(booked["reference"]).patient_id, "asked", app.config["CLOCK"](), Who("Admin", "admin"))


def _sign_note(app, booked):
    with app.app_context():
        seen = visit(booked["reference"])
        notes.sign(account("ana@example.org"), seen.id, content(), 0, seen.starts_at + timedelta(hours=1))


def _earlier_visit_at_ben(app, booked):
    with app.app_context():
        bookings.book(bookings.BookingRequest(
            service="short", practitioner="ben", start=datetime.fromisoformat("2027-03-08T10:00:00-08:00"),
            patient=bookings.PatientDetails("Pat Caller", "pat@example.com", "213 555 0142", date(1980, 4, 2)),
            safety=(), booked_via="desk"), app.config["CLOCK"]())


@pytest.mark.parametrize("change", [_erase, _sign_note, _earlier_visit_at_ben],
                         ids=["erase", "sign_note", "earlier_visit_at_ben"])
def test_after_other_changes_by_another_process_the_next_view_is_a_fresh_one(staff, other, clients, change):  # noqa: F811
    booked = book_online(staff, start=MONDAY_11)
    before = views(clients)
    change(other, booked)
    after = views(clients)
    assert after != before
    assert after == fresh_views(staff, clients)


def test_pages_kept_under_an_older_version_are_dropped_once_a_newer_one_is_kept(staff, other, clients):  # noqa: F811
    """Never served again, they would only hold what the database no longer does (an erased
    patient's name) in the process's memory."""
    booked = book_online(staff, start=MONDAY_11)
    views(clients)
    assert len(kept(staff)) == 6
    _erase(other, booked)
    assert clients[StaffRole.RECEPTIONIST].get(f"/desk?date={MONDAY}").status_code == 200
    assert len(kept(staff)) == 1


def _end_sessions(app, email):
    with app.app_context(), write_transaction():
        staff_sessions.end_sessions(account(email).id, app.config["CLOCK"]())


def _deactivate(app, email):
    with app.app_context():
        staff_sessions.deactivate(account(email).id, app.config["CLOCK"]())


def _new_password(app, email):
    with app.app_context():
        staff_sessions.set_password(account(email), "a new password for sure", app.config["CLOCK"](), by=None,
                                    must_change=None)


def _second_factor_for_all(app, email):
    with app.app_context(), write_transaction():
        db.session.get(Clinic, 1).second_factor_for_all_staff = True


def _made_an_admin(app, email):  # an admin must have a second factor, and this one has none
    with app.app_context(), write_transaction():
        account(email).role = StaffRole.ADMIN


def _idle_too_long(app, email):
    app.config["CLOCK"].advance(minutes=31)


SIGN_OUTS = [_end_sessions, _deactivate, _new_password, _second_factor_for_all, _made_an_admin, _idle_too_long]


@pytest.mark.parametrize("change", SIGN_OUTS, ids=[change.__name__.strip("_") for change in SIGN_OUTS])
def test_a_kept_page_is_never_served_to_a_session_another_process_has_ended(staff, other, clients, change):  # noqa: F811
    """Who is signed in is read afresh for every request, kept page or not: a session ended, an
    account deactivated, a new password, a second factor asked of someone without one, and
    idleness all sign out on the very next view, whichever process made the change."""
    receptionist = clients[StaffRole.RECEPTIONIST]
    day = f"/desk?date={MONDAY}"
    for _ in range(2):  # rendered, then kept
        assert receptionist.get(day).status_code == 200
    change(other, "desk@example.org")
    refused = receptionist.get(day)
    assert refused.status_code == 302 and "/staff/sign-in" in refused.location


def test_a_role_changed_by_another_process_applies_to_the_next_view_of_a_kept_page(staff, other, login_as):  # noqa: F811
    admin = login_as(StaffRole.ADMIN)
    day = f"/desk?date={MONDAY}"
    for _ in range(2):
        as_admin = admin.get(day).get_data(as_text=True)
    assert '>Settings</a>' in as_admin
    with other.app_context(), write_transaction():
        account("admin@example.org").role = StaffRole.RECEPTIONIST
    assert admin.get("/admin/staff").status_code == 403
    as_receptionist = admin.get(day).get_data(as_text=True)
    assert '>Settings</a>' not in as_receptionist
    staff.extensions.pop("kept_calendar_pages", None)
    assert TOKEN.sub("", as_receptionist) == TOKEN.sub("", admin.get(day).get_data(as_text=True))  # as a fresh one
