"""Emails written when they are sent, not in the change that queues them: what a booking's
transaction keeps (the context, no words), what the sender writes and keeps, and what happens
when what an email is about changed, went, or cannot be written. Both databases; emails read
from a real SMTP server (tests/mail.py)."""

from __future__ import annotations

from datetime import datetime

import flask_migrate
import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, OutboxMessage, OutboxStatus, StaffRole, WaitlistLink
from booking.notify import outbox
from booking.notify.emails import LINK_PLACEHOLDER
from booking.transaction import write_transaction
from tests.mail import calendar_of, text_of
from tests.test_desk import appointment, book_online, submit
from tests.test_emails import FRIDAY_PST, WEDNESDAY_10, event_of, link_in, mail, plain, send, set_clinic  # noqa: F401
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)
from tests.test_waitlist import cancel, join, only_ten_oclock_on_tuesday

WRITTEN = ("subject", "text_body", "html_body", "calendar")


def rows(app) -> list[OutboxMessage]:
    """Every outbox row, oldest first, readable after the app context closes."""
    with app.app_context():
        found = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def words(message: OutboxMessage) -> tuple:
    return tuple(getattr(message, name) for name in WRITTEN)


def move(desk, appointment_id: int, practitioner: str, start: str) -> None:
    assert submit(desk, f"/desk/appointments/{appointment_id}/move?practitioner={practitioner}&date={start[:10]}",
                  {"practitioner": practitioner, "start": start}).status_code == 303


def test_a_booking_and_its_moves_keep_what_the_email_needs_and_the_sender_writes_the_old_time_from_it(
        staff, login_as, mail):  # noqa: F811
    booking = book_online(staff, email="moves@example.com")  # Tuesday 10:00 with Ana
    [confirmation] = rows(staff)
    assert words(confirmation) == (None, None, None, None)  # the booking's transaction wrote no email
    assert (confirmation.kind, confirmation.context, confirmation.about_sequence) == ("confirmation",
                                                                                     {"questions": "intake"}, 0)
    desk = login_as(StaffRole.RECEPTIONIST)
    visit_id = appointment(staff, booking["reference"]).id
    move(desk, visit_id, "ben", WEDNESDAY_10)
    move(desk, visit_id, "ana", FRIDAY_PST)  # moved again before any email went
    _, first_move, second_move = rows(staff)
    assert words(first_move) == words(second_move) == (None, None, None, None)
    assert first_move.context == {"was_at": {"instant": "2027-03-09T18:00:00+00:00"}, "was_with": "Ana Test",
                                  "questions": "intake"}
    assert second_move.context["was_at"] == {"instant": "2027-03-10T18:00:00+00:00"}
    assert second_move.context["was_with"] == "Ben Test"

    assert "Sent 1, will retry 0, failed 0, skipped 2" in send(staff, mail)
    [moved] = mail.to("moves@example.com")
    # Only the context still knew Wednesday with Ben: the visit says Friday with Ana by now.
    assert "It was with Ben Test on Wed, Mar 10, 2027, 10:00 AM PST. It is now:" in text_of(moved)
    assert moved["Subject"] == "Your visit has moved to Fri, Mar 12, 2027, 9:00 AM PST"
    assert event_of(moved)["sequence"] == 2
    skipped_first, skipped_move, sent = rows(staff)
    for skipped in (skipped_first, skipped_move):  # out of date before their turn: never written
        assert skipped.status is OutboxStatus.SKIPPED and words(skipped) == (None, None, None, None)
        assert skipped.last_error.startswith("The visit changed after this email was written")
    # What was sent is kept: the subject, both parts with the link's placeholder, the calendar file.
    assert sent.status is OutboxStatus.SENT and sent.subject == moved["Subject"]
    token = link_in(moved).removeprefix("/manage/")
    assert plain(moved).replace(token, LINK_PLACEHOLDER).rstrip() == sent.text_body.rstrip()
    assert calendar_of(moved) == sent.calendar.encode()

    with staff.app_context():  # a value the context could not give back is refused when queued, not sent
        visit = db.session.get(Appointment, visit_id)
        with pytest.raises(TypeError, match="instants with their zone"):
            outbox.queue("moved", visit, datetime(2027, 3, 8, 8), was_at=datetime(2027, 3, 9, 10))
        db.session.rollback()


def test_a_retry_sends_the_words_written_for_the_first_attempt(staff, mail, clock, login_as):  # noqa: F811
    mail.busy.add("retry@example.com")
    book_online(staff, email="retry@example.com")
    assert "will retry 1" in send(staff, mail)
    [kept] = rows(staff)
    assert kept.status is OutboxStatus.QUEUED and kept.subject.startswith("Booking confirmed: ")
    assert "+1 213 555 0100" in kept.text_body  # the clinic's phone, as written for the first attempt

    set_clinic(staff, phone="+1 213 555 0199")  # the clinic changes its number before the retry
    book_online(staff, start=WEDNESDAY_10, email="later@example.com", name="Lee Later", birth_date="1970-07-07")
    mail.busy.clear()
    clock.advance(minutes=1)
    assert "Sent 2," in send(staff, mail)
    [retried] = mail.to("retry@example.com")
    assert "+1 213 555 0100" in text_of(retried) and "+1 213 555 0199" not in text_of(retried)
    assert "+1 213 555 0199" in text_of(mail.to("later@example.com")[0])  # one not yet written says the new one
    first, _ = rows(staff)
    assert words(first) == words(kept) and first.attempts == 2
    assert retried["Message-ID"].startswith(f"<outbox-{first.id}.")
    page = login_as(StaffRole.ADMIN).get(f"/admin/outbox/{first.id}").get_data(as_text=True)
    assert "+1 213 555 0100" in page and "not written yet" not in page  # the page shows what was sent


def test_an_offer_that_ran_out_before_its_email_went_is_skipped_unwritten(clinic, clock, mail):  # noqa: F811
    visit = only_ten_oclock_on_tuesday(clinic)
    join(clinic)
    cancel(clinic, visit)  # the freed time is offered to the place on the waitlist
    offer = next(message for message in rows(clinic) if message.kind == "waitlist_offer")
    assert words(offer) == (None, None, None, None) and offer.waitlist_offer_id is not None
    clock.advance(hours=5)  # the clinic's offers hold 4 hours
    send(clinic, mail)
    assert [m["Subject"] for m in mail.to("wait1@example.com")] == ["You are on the waitlist of Test Clinic"]
    [skipped] = [message for message in rows(clinic) if message.kind == "waitlist_offer"]
    assert skipped.status is OutboxStatus.SKIPPED and words(skipped) == (None, None, None, None)
    assert skipped.last_error == "The offer was taken, withdrawn or ran out before the email could go."
    with clinic.app_context():  # the joined email's link only: none was made for the offer's
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistLink)) == 1


def test_a_message_that_cannot_be_written_fails_alone_and_can_be_tried_again(staff, mail, login_as):  # noqa: F811
    for number in range(3):
        book_online(staff, start=f"2027-03-1{number}T10:00:00-08:00", email=f"w{number}@example.com",
                    name=f"Wren {number}", birth_date=f"198{number}-02-02")
    with staff.app_context(), write_transaction():  # queued by a newer version, whose template this one lacks
        message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.to_address == "w1@example.com"))
        message.kind, broken_id = "welcome_back", message.id
    assert "Sent 2, will retry 0, failed 1" in send(staff, mail)  # the mail server was fine: exit 0
    assert sorted(m["To"] for m in mail.received) == ["w0@example.com", "w2@example.com"]
    [broken] = [message for message in rows(staff) if message.id == broken_id]
    assert broken.status is OutboxStatus.FAILED and broken.claimed_by is None and not broken.is_written
    assert broken.last_error == "Could not be written (TemplateNotFound); the sender's log has the details."
    admin = login_as(StaffRole.ADMIN)
    listing = admin.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "Welcome back (never written)" in listing and "Could not be written" in listing
    page = admin.get(f"/admin/outbox/{broken_id}")
    assert page.status_code == 200 and "It cannot be written (TemplateNotFound)." in page.get_data(as_text=True)

    with staff.app_context(), write_transaction():  # the kind is put right (a fixed version, say)
        db.session.get(OutboxMessage, broken_id).kind = "confirmation"
    assert submit(admin, f"/admin/outbox/{broken_id}/send-again", {}, page=f"/admin/outbox/{broken_id}").status_code == 303
    assert "Sent 1," in send(staff, mail)
    assert mail.received[-1]["To"] == "w1@example.com" and mail.received[-1]["Subject"].startswith("Booking confirmed")


def test_a_message_too_damaged_to_check_is_no_error_on_its_page_or_in_a_dry_run(staff, login_as):  # noqa: F811
    """Whether an email still applies is read from its stored context too (a course's visits): a
    context no version wrote made the admin's page a 500 and stopped --dry-run (found in review)."""
    book_online(staff, email="damaged@example.com")
    with staff.app_context(), write_transaction():
        message = db.session.scalar(sa.select(OutboxMessage))
        message.kind, message.context, damaged_id = "course_confirmation", {"visits": ["not a visit"]}, message.id
    page = login_as(StaffRole.ADMIN).get(f"/admin/outbox/{damaged_id}")
    assert page.status_code == 200 and "It cannot be written (" in page.get_data(as_text=True)
    dry = staff.test_cli_runner().invoke(args=["outbox", "send", "--dry-run", "--show-text"])
    assert dry.exit_code == 0 and f"#{damaged_id} course_confirmation" in dry.output
    assert "    It cannot be written (" in dry.output and "1 message due; nothing was sent." in dry.output


def test_going_back_a_version_marks_what_was_never_written_and_keeps_what_was(staff, mail):  # noqa: F811
    book_online(staff, email="written@example.com")
    send(staff, mail)
    book_online(staff, start=WEDNESDAY_10, email="waiting@example.com", name="Wai Ting", birth_date="1966-06-06")
    [sent_before] = [message for message in rows(staff) if message.to_address == "written@example.com"]
    with staff.app_context():
        db.session.remove()
        flask_migrate.downgrade(revision="0028")  # the older version reads every row as written
        found = {row.to_address: row for row in db.session.execute(sa.text(
            "SELECT to_address, status, subject, text_body, last_error FROM outbox_message"))}
        db.session.rollback()
        flask_migrate.upgrade()
    assert (found["written@example.com"].status, found["written@example.com"].subject,
            found["written@example.com"].text_body) == ("sent", sent_before.subject, sent_before.text_body)
    waiting = found["waiting@example.com"]
    assert (waiting.status, waiting.subject, waiting.text_body) == ("skipped", "(never written)", "")
    assert waiting.last_error.startswith("Never written: the database was taken back to a version")
    assert "Sent 0," in send(staff, mail)  # nothing empty goes out
