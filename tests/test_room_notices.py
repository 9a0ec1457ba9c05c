"""The patient is told the room of a visit that takes a bed: in the confirmation, moved and reminder
emails, on the manage page and in the calendar file's notes, in the patient's language; nothing is
said of a room when the visit has none. Both databases, emails through a real SMTP server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import icalendar
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Room, StaffRole
from booking.transaction import write_transaction
from tests.mail import calendar_of, html_of
from tests.test_admin_rooms import BEDS_TOML, beds  # noqa: F401 (fixture)
from tests.test_desk import appointment, book_online, submit
from tests.test_emails import (ADDRESS, FRIDAY_PST, WEDNESDAY_10, mail, plain, queue_reminders, send,  # noqa: F401
                               set_clinic, speaks_spanish)
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)


def name_the_room_in_spanish(app) -> None:
    with app.app_context(), write_transaction():
        db.session.scalar(sa.select(Room)).write_versions({"es": {"name": "Sala de tratamiento 1"}})


def manage_path(booked: dict) -> str:
    return urlsplit(booked["manage_url"]).path


def test_every_email_about_a_visit_on_a_bed_names_its_room(beds, login_as, clock, mail):  # noqa: F811
    set_clinic(beds, **ADDRESS)
    booked = book_online(beds, start=WEDNESDAY_10, email="rosa@example.com")
    send(beds, mail)  # before the move, which drops an unsent email's old link
    desk = login_as(StaffRole.RECEPTIONIST)
    visit_id = appointment(beds, booked["reference"]).id
    assert submit(desk, f"/desk/appointments/{visit_id}/move?practitioner=ana&date=2027-03-12",
                  {"practitioner": "ana", "start": FRIDAY_PST}).status_code == 303
    clock.advance(hours=73)  # Thursday 09:00: a day before the new time
    assert "Queued 1 reminder" in queue_reminders(beds)
    send(beds, mail)
    confirmation, moved, reminder = mail.to("rosa@example.com")
    for message in (confirmation, moved, reminder):
        text = plain(message)
        assert f"\n- Room: Treatment room 1\n- Reference: {booked['reference']}\n" in text, text
        assert "Room: Treatment room 1" in html_of(message)
    for message in (confirmation, moved):
        event = icalendar.Calendar.from_ical(calendar_of(message)).walk("VEVENT")[0]
        assert str(event["LOCATION"]) == "1200 Example Ave, Suite 4, Los Angeles, CA 90012"  # maps know no rooms
        assert str(event["DESCRIPTION"]).endswith("\nRoom: Treatment room 1")


def test_a_spanish_speaker_reads_the_rooms_spanish_name(beds, clock, mail):  # noqa: F811
    set_clinic(beds, languages=["en", "es"])
    name_the_room_in_spanish(beds)
    booked = book_online(beds, start=WEDNESDAY_10, email="ines@example.com", name="Inés Ruiz")
    speaks_spanish(beds, booked["reference"], clock())
    send(beds, mail)
    [confirmation] = mail.to("ines@example.com")
    assert f"\n- Sala: Sala de tratamiento 1\n- Referencia: {booked['reference']}\n" in plain(confirmation)
    event = icalendar.Calendar.from_ical(calendar_of(confirmation)).walk("VEVENT")[0]
    assert str(event["DESCRIPTION"]).endswith("\nSala: Sala de tratamiento 1")
    page = beds.test_client().get(manage_path(booked)).get_data(as_text=True)
    assert "<dt>Sala</dt><dd>Sala de tratamiento 1</dd>" in page
    # A Spanish page where the room has no Spanish name shows the clinic's own, marked as English.
    with beds.app_context(), write_transaction():
        db.session.scalar(sa.select(Room)).write_versions({"es": {"name": ""}})
    page = beds.test_client().get(manage_path(booked)).get_data(as_text=True)
    assert '<dt>Sala</dt><dd lang="en">Treatment room 1</dd>' in page


def test_the_manage_page_names_the_room_until_the_visit_is_cancelled(beds):  # noqa: F811
    booked = book_online(beds)
    client = beds.test_client()
    page = client.get(manage_path(booked)).get_data(as_text=True)
    assert "<dt>Room</dt><dd>Treatment room 1</dd>" in page
    calendar = icalendar.Calendar.from_ical(client.get(manage_path(booked) + "/calendar.ics").data)
    assert str(calendar.walk("VEVENT")[0]["DESCRIPTION"]).endswith("\nRoom: Treatment room 1")
    cancel_page = client.get(manage_path(booked) + "/cancel").get_data(as_text=True)
    assert "<dt>Room</dt>" in cancel_page  # what is about to be cancelled
    assert client.post(manage_path(booked) + "/cancel", data={"csrf_token": csrf_from(cancel_page)}).status_code == 303
    assert "<dt>Room</dt>" not in client.get(manage_path(booked)).get_data(as_text=True)


def test_a_visit_without_a_room_says_nothing_of_rooms(staff, mail):  # noqa: F811
    booked = book_online(staff)
    send(staff, mail)
    [confirmation] = mail.received
    assert "Room" not in plain(confirmation) and "Room" not in html_of(confirmation)
    assert f"\n- Where: Test Clinic\n- Reference: {booked['reference']}\n" in plain(confirmation)
    event = icalendar.Calendar.from_ical(calendar_of(confirmation)).walk("VEVENT")[0]
    assert "Room" not in str(event["DESCRIPTION"])
    assert "<dt>Room</dt>" not in staff.test_client().get(manage_path(booked)).get_data(as_text=True)
