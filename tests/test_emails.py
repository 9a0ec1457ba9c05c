"""Emails through the outbox, delivered to a real SMTP server (aiosmtpd on 127.0.0.1).

Both databases: every test asks for `app` through the clinic/staff fixtures.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from booking.extensions import db
from booking.models import Appointment, Clinic, ManageLink, OutboxMessage, OutboxSender, OutboxStatus, StaffRole
from booking.notify import outbox
from booking.notify.emails import LINK_PLACEHOLDER
from booking.notify.smtp import SmtpTransport
from booking.operations import bookings, reminders
from booking.operations.progress_checks import questions_asked
from booking.tokens import hash_token
from booking.transaction import write_transaction
from tests.mail import MailServer, calendar_of, html_of, text_of
from tests.test_clinician import send_intake
from tests.test_desk import appointment, book_online, submit
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)
from tests.test_booking_journey import DETAILS, PatientBrowser

UTC = timezone.utc
FRIDAY_PST = "2027-03-12T09:00:00-08:00"  # before the clocks go forward on Sunday 14 March
MONDAY_PDT = "2027-03-15T09:00:00-07:00"  # after
WEDNESDAY_10 = "2027-03-10T10:00:00-08:00"


@pytest.fixture
def mail():
    server = MailServer().start()
    yield server
    server.stop()


def send(app, mail: MailServer, *, stops_early: bool = False) -> str:
    """What `flask outbox send` prints, sending to the test's mail server; it exits 1 when the
    server could not be used and the pass stopped early, else 0."""
    app.config["SMTP_URL"] = mail.url
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == (1 if stops_early else 0), result.output
    return result.output


def queue_reminders(app) -> str:
    result = app.test_cli_runner().invoke(args=["reminders", "queue"])
    assert result.exit_code == 0, result.output
    return result.output


def messages(app) -> list[tuple[str, OutboxStatus]]:
    with app.app_context():
        return [(m.kind, m.status) for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]


def both_at_once(app, work, timeout: float = 120) -> list:
    """Run work() in two threads, each in its own app context (so its own database connection),
    started together; return both results, or fail with the first error either thread raised."""
    start, results, errors = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context():
                start.wait(timeout=10)
                results.append(work())
                db.session.remove()
        except Exception as error:  # a thread's exception would otherwise be lost
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
    assert len(results) == 2, "a thread did not finish in time"
    return results


def link_in(message) -> str:
    """The patient's manage link in an email's text, as a path on the site."""
    return re.search(r"<http://clinic\.test(/manage/[A-Za-z0-9_-]+)>", text_of(message)).group(1)


def event_of(message) -> dict:
    """The .ics attachment read by two libraries that share no code: they must agree."""
    data = calendar_of(message)
    first = icalendar.Calendar.from_ical(data)
    [event] = list(first.walk("VEVENT"))
    assert [part.get_filename() for part in message.iter_attachments()] == ["appointment.ics"]
    second = vobject.readOne(data.decode())
    assert second.vevent.uid.value == str(event["UID"])
    assert int(second.vevent.sequence.value) == int(event["SEQUENCE"])
    assert second.vevent.dtstart.value == event.decoded("DTSTART")
    assert second.method.value == str(first["METHOD"])
    return {"uid": str(event["UID"]), "sequence": int(event["SEQUENCE"]), "method": str(first["METHOD"]),
            "start": event.decoded("DTSTART"), "status": str(event["STATUS"])}


def test_book_move_cancel_each_tell_the_patient_in_local_time_with_one_calendar_event(staff, mail):  # noqa: F811
    booking = book_online(staff, start=FRIDAY_PST, email="pat@example.com")
    assert "Sent 1," in send(staff, mail)
    [confirmation] = mail.received
    assert confirmation["Subject"] == "Booking confirmed: Fri, Mar 12, 2027, 9:00 AM PST"
    assert confirmation["To"] == "pat@example.com" and confirmation["Auto-Submitted"] == "auto-generated"
    text, html = text_of(confirmation), html_of(confirmation)
    assert "- When: Fri, Mar 12, 2027, 9:00 AM PST" in text and "Fri, Mar 12, 2027, 9:00 AM PST" in html
    assert "/intake>" in text  # the questions, not yet answered
    link = link_in(confirmation)
    assert f'href="http://clinic.test{link}"' in html
    assert staff.test_client().get(link).status_code == 200
    assert link not in booking["manage_url"]  # a link of its own, so the first one is not kept anywhere
    assert "/articles/" in text  # the reading list
    first = event_of(confirmation)
    assert first["sequence"] == 0 and first["method"] == "PUBLISH"
    assert first["start"] == datetime(2027, 3, 12, 17, tzinfo=UTC)

    patient = PatientBrowser(staff)
    assert patient.submit(f"{link}/reschedule/confirm?start={MONDAY_PDT}", {"start": MONDAY_PDT}).status_code == 303
    assert "Sent 1," in send(staff, mail)
    moved = mail.received[1]
    assert moved["Subject"] == "Your visit has moved to Mon, Mar 15, 2027, 9:00 AM PDT"
    assert "It was with Ana Test on Fri, Mar 12, 2027, 9:00 AM PST." in text_of(moved)
    second = event_of(moved)
    assert (second["uid"], second["sequence"], second["method"]) == (first["uid"], 1, "PUBLISH")
    assert second["start"] == datetime(2027, 3, 15, 16, tzinfo=UTC)  # 09:00 local on both sides of the change
    assert staff.test_client().get(link).status_code == 404  # the patient's move replaced every old link
    new_link = link_in(moved)
    assert staff.test_client().get(new_link).status_code == 200

    assert patient.submit(f"{new_link}/cancel", {"reason": "Feeling better"}).status_code == 303
    assert "Sent 1," in send(staff, mail)
    cancelled = mail.received[2]
    assert cancelled["Subject"] == "Cancelled: your visit on Mon, Mar 15, 2027, 9:00 AM PDT"
    assert "As you asked, we have cancelled" in text_of(cancelled) and "/manage/" not in text_of(cancelled)
    third = event_of(cancelled)
    assert (third["uid"], third["sequence"], third["method"], third["status"]) == (first["uid"], 2, "CANCEL", "CANCELLED")
    assert len(mail.received) == 3


def test_the_desk_moving_or_cancelling_tells_the_patient_and_keeps_their_link(staff, login_as, mail):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    booking = book_online(staff, email="desk@example.com")
    send(staff, mail)
    moved_id = appointment(staff, booking["reference"]).id
    assert submit(desk, f"/desk/appointments/{moved_id}/move?practitioner=ben&date=2027-03-10",
                  {"practitioner": "ben", "start": WEDNESDAY_10}).status_code == 303
    send(staff, mail)
    assert submit(desk, f"/desk/appointments/{moved_id}/cancel", {"reason": "clinic"}).status_code == 303
    send(staff, mail)
    confirmation, moved, cancelled = mail.to("desk@example.com")
    assert "It was with Ana Test on Tue, Mar 9, 2027, 10:00 AM PST." in text_of(moved)
    assert "- With: Ben Test" in text_of(moved) and "- When: Wed, Mar 10, 2027, 10:00 AM PST" in text_of(moved)
    assert "Test Clinic has cancelled your visit (Short treatment) with Ben Test" in text_of(cancelled)
    assert "+1 213 555 0100" in text_of(cancelled)
    assert [event_of(m)["sequence"] for m in (confirmation, moved, cancelled)] == [0, 1, 2]


def test_the_outbox_keeps_no_live_link_and_hides_the_links_place_from_staff(staff, login_as, mail):  # noqa: F811
    booking = book_online(staff, email="secret@example.com")
    with staff.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert not message.is_written  # written as it is sent
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(ManageLink))  # made when it goes
        message_id = message.id
    admin = login_as(StaffRole.ADMIN)
    page = admin.get(f"/admin/outbox/{message_id}").get_data(as_text=True)  # written to be read, not kept
    assert "(the patient&#39;s secret link)" in page and "Booking confirmed" in page and "not written yet" in page
    assert "<dt>Calendar file</dt><dd>Attached when it is written</dd>" in page  # it said "None" before
    send(staff, mail)
    with staff.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert message.status is OutboxStatus.SENT and LINK_PLACEHOLDER in message.text_body
        assert LINK_PLACEHOLDER in message.html_body and "/manage/" not in message.calendar
        stored = message.text_body + message.html_body
        assert message.server_reply.startswith("250 ")
        [made] = db.session.scalars(sa.select(ManageLink)).all()  # the link sent, as its hash only
    page = admin.get(f"/admin/outbox/{message_id}").get_data(as_text=True)  # now the words it was sent with
    assert "(the patient&#39;s secret link)" in page and "not written yet" not in page
    assert "<dt>Calendar file</dt><dd>Attached</dd>" in page
    link = link_in(mail.received[0])
    assert made.token_hash == hash_token(link.removeprefix("/manage/")) and made.appointment_id == message.appointment_id
    assert link not in stored  # the words were kept with the placeholder, the link only sent
    assert staff.test_client().get(link).status_code == 200
    assert link not in booking["manage_url"]
    assert b"/manage/" not in calendar_of(mail.received[0])  # the calendar file keeps the visit, not the link


def test_each_attempt_makes_its_own_link_and_only_the_delivered_one_reaches_the_patient(staff, clock):  # noqa: F811
    mail = MailServer()  # not started: the first attempt fails after its link was made
    book_online(staff, email="retry@example.com")
    assert "will retry 1" in send(staff, mail, stops_early=True)
    mail.start()
    try:
        clock.advance(minutes=1)
        assert "Sent 1," in send(staff, mail)
    finally:
        mail.stop()
    with staff.app_context():
        hashes = set(db.session.scalars(sa.select(ManageLink.token_hash)))
    [delivered] = mail.received
    link = link_in(delivered)
    assert len(hashes) == 2 and hash_token(link.removeprefix("/manage/")) in hashes
    assert staff.test_client().get(link).status_code == 200


def test_reminders_go_once_a_day_ahead_with_the_questions_link_until_answered(staff, clock, mail):  # noqa: F811
    unanswered = book_online(staff, start=WEDNESDAY_10, email="later@example.com")
    answered = book_online(staff, start="2027-03-10T11:00:00-08:00", email="done@example.com", name="Dee Done",
                           birth_date="1975-01-01")
    send_intake(staff, answered)
    send(staff, mail)
    assert "Queued 0 reminders" in queue_reminders(staff)  # Monday 08:00: two days ahead
    clock.advance(hours=26)  # Tuesday 10:00: Wednesday 10:00 is 24 hours away, 11:00 is 25
    assert "Queued 1 reminder" in queue_reminders(staff)
    clock.advance(hours=1)
    assert "Queued 1 reminder" in queue_reminders(staff)
    assert "Queued 0 reminders" in queue_reminders(staff)  # running again adds nothing
    send(staff, mail)
    [later] = [m for m in mail.to("later@example.com") if m["Subject"].startswith("Reminder")]
    [done] = [m for m in mail.to("done@example.com") if m["Subject"].startswith("Reminder")]
    assert later["Subject"] == "Reminder: your visit on Wed, Mar 10, 2027, 10:00 AM PST"
    assert "/intake" in text_of(later) and "/intake" not in text_of(done)
    assert "call +1 213 555 0100" in text_of(later)  # too late to change online (24-hour notice)
    assert staff.test_client().get(link_in(later)).status_code == 200
    assert calendar_of(later) is None
    assert unanswered["reference"] in text_of(later)


def test_a_cancelled_visit_gets_no_reminder(staff, login_as, clock, mail):  # noqa: F811
    book_online(staff, start=WEDNESDAY_10, email="kept@example.com")
    gone = book_online(staff, start="2027-03-10T11:00:00-08:00", email="gone@example.com", name="Gone Again",
                       birth_date="1970-05-05")
    send(staff, mail)
    clock.advance(hours=27)  # both reminders due
    assert "Queued 2 reminders" in queue_reminders(staff)
    desk = login_as(StaffRole.RECEPTIONIST)  # too late to cancel online: the patient phones
    gone_id = appointment(staff, gone["reference"]).id
    assert submit(desk, f"/desk/appointments/{gone_id}/cancel", {"reason": "patient"}).status_code == 303
    send(staff, mail)
    assert "As you asked, we have cancelled" in text_of(mail.to("gone@example.com")[-1])  # the patient phoned
    assert [m["Subject"].split(":")[0] for m in mail.to("gone@example.com")] == ["Booking confirmed", "Cancelled"]
    assert [m["Subject"].split(":")[0] for m in mail.to("kept@example.com")] == ["Booking confirmed", "Reminder"]
    with staff.app_context():
        skipped = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SKIPPED))
        assert skipped.kind == "reminder" and skipped.last_error.startswith("The visit changed after this email")
    assert "Queued 0 reminders" in queue_reminders(staff)  # a cancelled visit is not reminded again


def test_a_moved_visit_is_reminded_of_its_new_time_only(staff, login_as, clock, mail):  # noqa: F811
    booking = book_online(staff, start=WEDNESDAY_10, email="moved@example.com")
    send(staff, mail)
    clock.advance(hours=26)
    assert "Queued 1 reminder" in queue_reminders(staff)
    desk = login_as(StaffRole.RECEPTIONIST)
    moved_id = appointment(staff, booking["reference"]).id
    assert submit(desk, f"/desk/appointments/{moved_id}/move?practitioner=ana&date=2027-03-12",
                  {"practitioner": "ana", "start": FRIDAY_PST}).status_code == 303
    clock.advance(hours=47)  # Thursday 09:00: a day before the new time
    assert "Queued 1 reminder" in queue_reminders(staff)
    send(staff, mail)
    subjects = [m["Subject"] for m in mail.to("moved@example.com")]
    assert subjects == ["Booking confirmed: Wed, Mar 10, 2027, 10:00 AM PST",
                        "Your visit has moved to Fri, Mar 12, 2027, 9:00 AM PST",
                        "Reminder: your visit on Fri, Mar 12, 2027, 9:00 AM PST"]
    with staff.app_context():
        skipped = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SKIPPED))
        assert skipped.kind == "reminder" and skipped.last_error.startswith("The visit changed after this email")


def test_a_visit_booked_inside_the_reminder_window_gets_no_reminder(staff, clock, mail):  # noqa: F811
    book_online(staff, start="2027-03-08T15:00:00-08:00", email="soon@example.com")
    assert "Queued 0 reminders" in queue_reminders(staff)
    send(staff, mail)
    assert [m["Subject"].split(":")[0] for m in mail.received] == ["Booking confirmed"]


def test_a_return_visit_gets_a_progress_check_invitation_once_the_last_visit_is_over(staff, clock, mail):  # noqa: F811
    first = book_online(staff, start="2027-03-08T11:00:00-08:00", email="back@example.com")
    send_intake(staff, first)
    book_online(staff, start="2027-03-11T09:00:00-08:00", email="back@example.com")
    send(staff, mail)
    confirmation = mail.received[-1]
    assert "/progress" in text_of(confirmation) and "/intake" not in text_of(confirmation)
    assert "Queued 0 reminders and 0 progress-check invitations" in queue_reminders(staff)  # first visit not over
    clock.advance(hours=4)  # Monday 12:00: the first visit is over, the second 69 hours away
    assert "0 reminders and 1 progress-check invitation" in queue_reminders(staff)
    assert "0 reminders and 0 progress-check invitations" in queue_reminders(staff)
    send(staff, mail)
    invitation = mail.received[-1]
    assert invitation["Subject"] == "How have you been since your last visit?"
    assert "Thu, Mar 11, 2027, 9:00 AM PST" in text_of(invitation)
    progress = re.search(r"<http://clinic\.test(/manage/[^>]+/progress)>", text_of(invitation)).group(1)
    assert staff.test_client().get(progress).status_code == 200


def test_mail_server_down_during_a_booking_then_up_delivers_exactly_once(staff, clock):  # noqa: F811
    mail = MailServer()  # not started: nothing listens on its port
    booking = book_online(staff, email="patient@example.com")
    assert booking["reference"]  # the booking stands without the mail server
    assert "will retry 1" in send(staff, mail, stops_early=True)
    with staff.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.status is OutboxStatus.QUEUED and message.attempts == 1
        assert "not reachable" in message.last_error and message.next_attempt_at == clock() + timedelta(minutes=1)
    mail.start()
    try:
        assert "Sent 0," in send(staff, mail)  # not due again yet
        clock.advance(minutes=1)
        assert "Sent 1," in send(staff, mail)
        clock.advance(hours=1)
        assert "Sent 0," in send(staff, mail)
        assert len(mail.received) == 1 and mail.received[0]["To"] == "patient@example.com"
    finally:
        mail.stop()


def test_a_bounced_address_fails_with_the_reason_and_others_still_go(staff, login_as, mail):  # noqa: F811
    mail.bouncing.add("nobody@example.com")
    book_online(staff, email="nobody@example.com", name="No Body", birth_date="1990-01-01")
    book_online(staff, start=WEDNESDAY_10, email="somebody@example.com")
    assert "Sent 1, will retry 0, failed 1" in send(staff, mail)
    assert [m["To"] for m in mail.received] == ["somebody@example.com"]
    with staff.app_context():
        failed = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED))
        assert failed.to_address == "nobody@example.com" and "550 5.1.1 No such mailbox here" in failed.last_error
        failed_id = failed.id
    admin = login_as(StaffRole.ADMIN)
    page = admin.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "nobody@example.com" in page and "No such mailbox" in page and "somebody@example.com" not in page
    # Once the address is put right at the mail server, the admin sends it again.
    mail.bouncing.clear()
    assert submit(admin, f"/admin/outbox/{failed_id}/send-again", {}, page=f"/admin/outbox/{failed_id}").status_code == 303
    assert "Sent 1," in send(staff, mail)
    assert [m["To"] for m in mail.received] == ["somebody@example.com", "nobody@example.com"]
    assert staff.test_client().get(link_in(mail.received[1])).status_code == 200  # a new link, as the old was let go


def test_a_message_that_never_gets_through_is_marked_failed_after_its_last_attempt(staff, clock):  # noqa: F811
    down = MailServer()
    book_online(staff)
    for pause in outbox.RETRY_AFTER:
        assert "Stopped early" in send(staff, down, stops_early=True)
        clock.advance(minutes=pause.total_seconds() / 60)
    assert "failed 1" in send(staff, down, stops_early=True)
    with staff.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.status is OutboxStatus.FAILED and message.attempts == outbox.MAX_ATTEMPTS
        assert message.last_error.startswith(f"Gave up after {outbox.MAX_ATTEMPTS} attempts.")
    assert "Sent 0, will retry 0, failed 0" in send(staff, down)


def test_without_smtp_url_messages_wait_and_dry_run_lists_them(staff, login_as):  # noqa: F811
    book_online(staff, email="waiting@example.com")
    result = staff.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "SMTP_URL is not set" in result.output
    dry = staff.test_cli_runner().invoke(args=["outbox", "send", "--dry-run"])
    assert "confirmation" in dry.output and "waiting@example.com" in dry.output and "1 message due" in dry.output
    assert "Thank you for booking" not in dry.output  # the list alone: no email's words
    shown = staff.test_cli_runner().invoke(args=["outbox", "send", "--dry-run", "--show-text"])
    assert shown.exit_code == 0 and "1 message due; nothing was sent." in shown.output
    assert "    Thank you for booking" in shown.output and "(the patient's secret link)" in shown.output
    assert not re.search(r"/manage/[A-Za-z0-9_-]{16}", shown.output)  # no working link to a visit
    alone = staff.test_cli_runner().invoke(args=["outbox", "send", "--show-text"])
    assert alone.exit_code == 2 and "--show-text only goes with --dry-run" in alone.output
    assert messages(staff) == [("confirmation", OutboxStatus.QUEUED)]
    page = login_as(StaffRole.ADMIN).get("/admin/outbox").get_data(as_text=True)
    assert "Emails are not being sent" in page and "waiting@example.com" in page
    assert "Confirmation (not written yet)" in page  # the list writes no email: it names each one's kind


def test_an_email_out_of_date_before_it_goes_says_it_will_be_skipped_not_how_it_reads(staff, login_as, mail):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    booking = book_online(staff, email="changed@example.com")
    moved_id = appointment(staff, booking["reference"]).id
    assert submit(desk, f"/desk/appointments/{moved_id}/move?practitioner=ben&date=2027-03-10",
                  {"practitioner": "ben", "start": WEDNESDAY_10}).status_code == 303
    with staff.app_context():
        confirmation_id, moved_id = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
    admin = login_as(StaffRole.ADMIN)
    page = admin.get(f"/admin/outbox/{confirmation_id}").get_data(as_text=True)
    assert ("It no longer applies, so it will not be sent. The visit changed after this email was written; a later "
            "email tells the patient. The sender marks it skipped when its turn comes.") in page
    assert "send-again" not in page and "email-preview" not in page  # nothing to send again, no words to read
    assert "Waiting for the sender, which will skip it" in page and "Calendar file" not in page
    page = admin.get(f"/admin/outbox/{moved_id}").get_data(as_text=True)  # the email about the move still goes
    assert "send-again" in page and "email-preview" in page and "will not be sent" not in page
    assert "<dt>Calendar file</dt><dd>Attached when it is written</dd>" in page
    dry = staff.test_cli_runner().invoke(args=["outbox", "send", "--dry-run", "--show-text"])
    assert dry.exit_code == 0
    assert f"#{confirmation_id} confirmation" in dry.output
    assert "(no longer applies, will be skipped: The visit changed after" in dry.output
    assert "2 messages due, 1 of them no longer applies and will be skipped; nothing was sent." in dry.output
    assert "Thank you for booking" not in dry.output and "(the patient's secret link)" in dry.output  # the move's text alone
    assert "Sent 1, will retry 0, failed 0, skipped 1" in send(staff, mail)  # as the pages said
    page = admin.get(f"/admin/outbox/{confirmation_id}").get_data(as_text=True)  # its title says it, once
    assert "Confirmation (never written)" in page and "not written yet" not in page
    [moved] = mail.to("changed@example.com")
    assert moved["Subject"].startswith("Your visit has moved to Wed, Mar 10, 2027")


def test_a_failed_email_that_no_longer_applies_offers_no_try_again(staff, login_as):  # noqa: F811
    """A failed email is taken again only when an admin sends it again, and one that no longer
    applies would only be skipped then: the page says so rather than "when its turn comes"."""
    booking = book_online(staff, email="gaveup@example.com")
    with staff.app_context(), write_transaction():
        message = db.session.scalar(sa.select(OutboxMessage))
        message.status, message.last_error, failed_id = OutboxStatus.FAILED, "Gave up after 8 attempts.", message.id
    with staff.app_context():  # the patient cancels: the confirmation no longer applies
        bookings.cancel(appointment(staff, booking["reference"]).id, "", staff.config["CLOCK"]())
    page = login_as(StaffRole.ADMIN).get(f"/admin/outbox/{failed_id}").get_data(as_text=True)
    assert "It no longer applies, so it will not be sent. The visit changed after this email was written" in page
    assert "Sending it again would only skip it." in page and "when its turn comes" not in page
    assert "send-again" not in page
    admin = login_as(StaffRole.ADMIN)  # a send-again from a page opened before the visit was cancelled
    response = submit(admin, f"/admin/outbox/{failed_id}/send-again", {}, page="/admin/outbox")
    page = admin.get(response.location).get_data(as_text=True)
    assert "This email no longer applies, so it was left as it is. The visit changed after" in page
    with staff.app_context():
        assert db.session.get(OutboxMessage, failed_id).status is OutboxStatus.FAILED


def test_only_admins_see_the_outbox_and_a_wrong_status_is_explained(staff, login_as):  # noqa: F811
    assert login_as(StaffRole.RECEPTIONIST).get("/admin/outbox").status_code == 403
    assert login_as(StaffRole.PRACTITIONER).get("/admin/outbox").status_code == 403
    wrong = login_as(StaffRole.ADMIN).get("/admin/outbox?status=lost")
    assert wrong.status_code == 400 and "Choose one of the statuses listed" in wrong.get_data(as_text=True)


def test_the_outbox_page_takes_the_same_queries_for_one_email_or_many(staff, login_as, count_queries):  # noqa: F811
    admin = login_as(StaffRole.ADMIN)
    book_online(staff)
    admin.get("/admin/outbox")
    with count_queries() as one:
        assert admin.get("/admin/outbox").status_code == 200
    for day in (10, 11, 12):
        book_online(staff, start=f"2027-03-{day}T10:00:00-08:00")
    with count_queries() as many:
        assert admin.get("/admin/outbox").status_code == 200
    assert many.total == one.total


def test_two_senders_at_once_deliver_each_of_200_messages_exactly_once(staff, mail, clock):  # noqa: F811
    booking = book_online(staff, email="many@example.com")
    with staff.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booking["reference"]))
        for _ in range(199):
            outbox.queue("reminder", visit, clock())
        db.session.commit()
    def sender():
        with SmtpTransport(mail.url) as transport:
            return outbox.deliver(clock, transport, limit=5)

    reports = both_at_once(staff, sender)
    ids = [message["Message-ID"] for message in mail.received]
    assert len(ids) == 200 and len(set(ids)) == 200
    first, second = (set(report.ids_sent) for report in reports)
    assert first and second and not first & second  # both worked, and never on the same message
    assert messages(staff).count(("reminder", OutboxStatus.SENT)) == 199


def test_reminders_queued_by_two_runs_at_once_are_queued_once(staff, clock):  # noqa: F811
    for hour in (10, 11):
        book_online(staff, start=f"2027-03-10T{hour}:00:00-08:00")
    clock.advance(hours=49)  # Wednesday 09:00: both within 24 hours
    both_at_once(staff, lambda: reminders.queue_due(clock()))
    assert [kind for kind, _ in messages(staff)].count("reminder") == 2
    with staff.app_context():  # no link is made until an email goes
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ManageLink)) == 0


def test_the_desk_emails_a_new_questions_link_when_the_patient_asks(staff, login_as, mail):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    booking = book_online(staff, email="lost@example.com")
    detail = f"/desk/appointments/{appointment(staff, booking['reference']).id}"
    response = submit(desk, f"{detail}/email-questions", {}, page=detail)
    assert response.status_code == 303
    page = desk.get(detail).get_data(as_text=True)
    assert "A link to the back-pain questions is on its way to lost@example.com." in page
    assert "Emailed</strong> by Receptionist: A link to the back-pain questions, to lost@example.com" in page
    # Pressed again (another tab) before it went: one email, and the desk is told (three tabs
    # queued three, a hands-on trial).
    again = submit(desk, f"{detail}/email-questions", {}, page=detail)
    assert ("A link to the back-pain questions is already waiting to be sent to lost@example.com (asked Mar 8, 2027, 8:00 AM): "
            "they get one email, not another.") in desk.get(again.location).get_data(as_text=True)
    assert [kind for kind, _ in messages(staff)].count("intake_invitation") == 1
    send(staff, mail)
    invitation = mail.to("lost@example.com")[-1]
    assert invitation["Subject"] == "Please tell us about your back pain before your visit"
    intake = re.search(r"<http://clinic\.test(/manage/[^>]+/intake)>", text_of(invitation)).group(1)
    assert staff.test_client().get(intake).status_code == 200

    send_intake(staff, booking)
    answered = submit(desk, f"{detail}/email-questions", {}, page=f"{detail}/cancel")
    assert "already answered" in desk.get(answered.location).get_data(as_text=True)
    assert "Email the questions link" not in desk.get(detail).get_data(as_text=True)
    assert [kind for kind, _ in messages(staff)].count("intake_invitation") == 1


def test_an_email_written_before_the_visit_changed_is_not_sent_a_later_one_tells_the_patient(staff, login_as):  # noqa: F811
    mail = MailServer()  # down while the desk books and moves
    booking = book_online(staff, email="changed@example.com")
    desk = login_as(StaffRole.RECEPTIONIST)
    moved_id = appointment(staff, booking["reference"]).id
    assert submit(desk, f"/desk/appointments/{moved_id}/move?practitioner=ana&date=2027-03-10",
                  {"practitioner": "ana", "start": WEDNESDAY_10}).status_code == 303
    mail.start()
    try:
        assert "Sent 1, will retry 0, failed 0, skipped 1" in send(staff, mail)
    finally:
        mail.stop()
    [moved] = mail.received  # the confirmation of the old time would only mislead
    assert moved["Subject"] == "Your visit has moved to Wed, Mar 10, 2027, 10:00 AM PST"
    assert event_of(moved)["sequence"] == 1


def test_the_outbox_page_tells_whether_emails_go_out_from_the_senders_own_heartbeat(staff, clock, login_as):  # noqa: F811
    admin = login_as(StaffRole.ADMIN)

    def banner() -> str:
        page = admin.get("/admin/outbox").get_data(as_text=True)
        return " ".join(re.sub(r"<[^>]+>", "", page.split("</h1>")[1].split("<nav")[0]).split())

    assert "Emails are not being sent: no email sender has run yet" in banner()
    staff.config["SMTP_URL"] = None
    assert staff.test_cli_runner().invoke(args=["outbox", "send"]).exit_code == 0
    assert "the email sender has no mail server set up (SMTP_URL)" in banner()

    down = MailServer()
    book_online(staff)
    send(staff, down, stops_early=True)
    assert f"could not use the mail server (mail server 127.0.0.1:{down.port} not reachable" in banner()

    mail = MailServer().start()
    try:
        clock.advance(minutes=1)
        send(staff, mail)
    finally:
        mail.stop()
    # The web process's own setting no longer matters: in production the sender runs apart, with its own.
    staff.config["SMTP_URL"] = None
    assert "Emails are not being sent" not in banner()
    assert f"over the clinic's mail server (127.0.0.1:{mail.port})" in banner() and "last pass was at 8:01 AM on Mar 8" in banner()
    clock.advance(minutes=11)
    assert "the email sender last reported at 8:01 AM on Mar 8 and has been quiet since" in banner()
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxSender)) == 1  # one process, one row


def test_a_message_that_cannot_be_built_fails_alone_and_the_pass_goes_on(staff, mail, login_as, clock):  # noqa: F811
    for number in range(3):
        book_online(staff, start=f"2027-03-1{number}T10:00:00-08:00", email=f"p{number}@example.com",
                    name=f"Pat {number}", birth_date=f"198{number}-01-01")
    mail.busy.add("p1@example.com")  # the middle one is written at its first attempt, and waits
    assert "Sent 2, will retry 1, failed 0" in send(staff, mail)
    mail.busy.clear()
    clock.advance(minutes=1)
    with staff.app_context():  # then its stored calendar file was damaged (by hand, or an old bug)
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.to_address == "p1@example.com")
                           .values(calendar="BEGIN:VCALENDAR\nnot a calendar"))
        db.session.commit()
    for number, day in ((3, 15), (4, 16)):  # queued after it: the pass goes on to them
        book_online(staff, start=f"2027-03-{day}T10:00:00-07:00", email=f"p{number}@example.com",
                    name=f"Pat {number}", birth_date=f"198{number}-01-01")
    assert "Sent 2, will retry 0, failed 1" in send(staff, mail)  # exit 0: the mail server was fine
    assert sorted(m["To"] for m in mail.received) == [f"p{n}@example.com" for n in (0, 2, 3, 4)]
    with staff.app_context():  # its retry sends the words it kept, so the damage shows rather than being written over
        broken = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.to_address == "p1@example.com"))
        assert broken.status is OutboxStatus.FAILED and broken.claimed_by is None
        assert broken.last_error.startswith("Could not be built (")
    page = login_as(StaffRole.ADMIN).get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "p1@example.com" in page and "Could not be built" in page


def test_a_sender_that_went_quiet_loses_its_claim_and_cannot_record_over_another(staff, clock, mail):  # noqa: F811
    book_online(staff, email="quiet@example.com")
    with staff.app_context():
        [claimed] = outbox.claim(clock(), "a-sender-that-died")
    assert "Sent 0, will retry 0, failed 0, skipped 0" in send(staff, mail)  # still claimed
    clock.advance(minutes=6)  # its lease has run out
    assert "Sent 1," in send(staff, mail)
    with staff.app_context():
        late = outbox.SendReport()
        outbox._record(claimed, "a-sender-that-died", clock(), OutboxStatus.QUEUED, "timed out", None, late)
        message = db.session.get(OutboxMessage, claimed)
        assert late.handled == 0 and message.status is OutboxStatus.SENT and message.attempts == 2
    assert len(mail.received) == 1


def test_each_refusal_is_read_for_what_it_means(staff, clock, mail):  # noqa: F811
    mail.busy.add("busy@example.com")
    mail.spam.add("spam@example.com")
    for number, address in enumerate(("busy@example.com", "spam@example.com", "fine@example.com")):
        book_online(staff, start=f"2027-03-1{number}T10:00:00-08:00", email=address, name=f"Pat {number}",
                    birth_date=f"198{number}-01-01")
    assert "Sent 1, will retry 1, failed 1" in send(staff, mail)
    with staff.app_context():
        outcome = {m.to_address: (m.status, m.last_error) for m in db.session.scalars(sa.select(OutboxMessage))}
    assert outcome["busy@example.com"] == (OutboxStatus.QUEUED, "busy@example.com: 450 4.2.1 Mailbox busy, try later")
    assert outcome["spam@example.com"][0] is OutboxStatus.FAILED and "554 5.7.1" in outcome["spam@example.com"][1]

    # A refused sender is the clinic's set-up, not the patient's address: nothing fails for good,
    # and the messages not tried are given back without using an attempt.
    book_online(staff, start="2027-03-11T11:00:00-08:00", email="later@example.com", name="Lee Later",
                birth_date="1970-07-07")
    book_online(staff, start="2027-03-11T14:00:00-08:00", email="last@example.com", name="Lu Last",
                birth_date="1971-07-07")
    mail.refuse_sender = "530 5.7.0 Authentication required"
    output = send(staff, mail, stops_early=True)
    assert "Sent 0, will retry 1, failed 0" in output and "530 5.7.0 Authentication required" in output
    with staff.app_context():
        waiting = {m.to_address: m.attempts for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.QUEUED))}
    assert waiting == {"busy@example.com": 1, "later@example.com": 1, "last@example.com": 0}


def test_a_name_cannot_put_links_or_markup_into_the_clinics_email(staff, mail):  # noqa: F811
    name = "Pat [Verify your card](https://evil.example/a) <https://evil.example/b> **Caller** # _x_"
    book_online(staff, name=name, email="name@example.com")
    send(staff, mail)
    [confirmation] = mail.received
    html = html_of(confirmation)
    assert "evil.example" not in "".join(re.findall(r'href="([^"]*)"', html))
    assert "<strong>" not in html.split("Thank you")[0] and "<h1" not in html
    assert f"Hello {name}," in text_of(confirmation)  # the plain text says it as typed
    assert "Hello Pat [Verify your card](https://evil.example/a) &lt;https://evil.example/b&gt; **Caller** # _x_," in html
    refused = staff.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": WEDNESDAY_10, "safety": [],
        "patient": {"name": "Pat\n\n# You won", "email": "x@example.com", "phone": "213 555 0100", "birth_date": "1980-01-01"},
    })
    assert refused.status_code == 422 and "on one line" in refused.get_json()["errors"]["patient.name"], refused.get_json()


def test_an_address_with_letters_beyond_ascii_is_delivered(staff, mail):  # noqa: F811
    book_online(staff, email="josé@example.com", name="José Núñez")
    assert "Sent 1," in send(staff, mail)
    assert mail.received[0]["To"] == "josé@example.com"
    assert "Hello José Núñez," in text_of(mail.received[0])


@pytest.mark.parametrize("url", ["smtp://127.0.0.1:notaport", "smtp://127.0.0.1:99999", "http://127.0.0.1:25"])
def test_a_wrong_smtp_url_is_explained_without_a_traceback(staff, url):  # noqa: F811
    staff.config["SMTP_URL"] = url
    result = staff.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 2 and "SMTP_URL" in result.output and "Traceback" not in result.output


# --- the patient's language, the clinic's locale and address ---------------------------------

ADDRESS = {"address_street": "1200 Example Ave, Suite 4", "address_city": "Los Angeles", "address_region": "CA",
           "address_postcode": "90012", "address_country": "US",
           "directions": "Step-free entrance on the side street; parking behind the building."}


def set_clinic(app, **values) -> None:
    with app.app_context(), write_transaction():
        clinic = db.session.get(Clinic, 1)
        for name, value in values.items():
            setattr(clinic, name, value)


def speaks_spanish(app, reference: str, now: datetime) -> None:
    """What the booking does once the patient's pages hand their language on: the visit speaks
    Spanish from its confirmation on (written again here, as this booking was made in English)."""
    with app.app_context(), write_transaction():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        visit.language = "es"
        db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.appointment_id == visit.id))
        outbox.queue("confirmation", visit, now, questions=questions_asked(visit))


def plain(message) -> str:
    """The text part with its lines ended as Python writes them (mail ends them CRLF)."""
    return text_of(message).replace("\r\n", "\n")


def assert_plain_prose(message) -> None:
    """The text/plain part shows no Markdown: no bold marks, no [text](url), no # headings."""
    text = plain(message)
    assert "**" not in text and "](" not in text, text
    assert not [line for line in text.splitlines() if line.lstrip().startswith("#")], text


def test_a_visit_in_spanish_is_told_in_spanish_whoever_causes_the_email(staff, login_as, clock, mail):  # noqa: F811
    set_clinic(staff, languages=["en", "es"], **ADDRESS)
    booking = book_online(staff, start=WEDNESDAY_10, email="ines@example.com", name="Inés Ruiz")
    speaks_spanish(staff, booking["reference"], clock())
    send(staff, mail)
    [confirmation] = mail.to("ines@example.com")
    assert confirmation["Subject"] == "Cita confirmada: mié, 10 de mar de 2027, 10:00 a.m. PST"
    text, html = plain(confirmation), html_of(confirmation)
    assert text.startswith("Hola, Inés Ruiz:\n\nGracias por reservar con Test Clinic. Su cita:")
    assert "- Cuándo: mié, 10 de mar de 2027, 10:00 a.m. PST" in text
    directions = "https://www.openstreetmap.org/search?query=1200+Example+Ave%2C+Suite+4%2C+Los+Angeles%2C+CA+90012%2C+United+States"
    assert ("- Dónde: Test Clinic\n  1200 Example Ave, Suite 4\n  Los Angeles, CA 90012\n"
            "  Step-free entrance on the side street; parking behind the building.\n"
            f"  Cómo llegar: <{directions}>\n- Referencia: {booking['reference']}") in text
    assert "llame al 911 de inmediato" in text and "Cambiar o cancelar su cita" in text
    assert '<html lang="es">' in html
    assert re.search(rf'<a href="{re.escape(directions)}"[^>]*>Cómo llegar</a>', html)
    assert "1200 Example Ave, Suite 4<br" in html and "Los Angeles, CA 90012<br" in html
    assert re.search(r'<a href="tel:\+12135550100"[^>]*>\+1 213 555 0100</a>', html)
    assert re.search(r'<a href="tel:911"[^>]*>911</a>', html)
    assert "+1 213 555 0100" in text and "tel:" not in text  # the plain text says the number
    event = icalendar.Calendar.from_ical(calendar_of(confirmation)).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == "1200 Example Ave, Suite 4, Los Angeles, CA 90012"
    assert str(event["SUMMARY"]) == "Short treatment con Ana Test"
    assert str(event["DESCRIPTION"]).startswith(f"Referencia {booking['reference']}. Para cambiarla")

    # The desk (whose pages are English) moves it: the patient still reads Spanish.
    desk = login_as(StaffRole.RECEPTIONIST)
    visit_id = appointment(staff, booking["reference"]).id
    assert submit(desk, f"/desk/appointments/{visit_id}/move?practitioner=ana&date=2027-03-12",
                  {"practitioner": "ana", "start": FRIDAY_PST}).status_code == 303
    # A command, with no patient and no page at all, queues the reminder: Spanish again.
    clock.advance(hours=73)  # Thursday 09:00: a day before the new time
    assert "Queued 1 reminder" in queue_reminders(staff)
    send(staff, mail)
    confirmation, moved, reminder = mail.to("ines@example.com")
    assert moved["Subject"] == "Su cita se cambió al vie, 12 de mar de 2027, 9:00 a.m. PST"
    assert "Su cita cambió. Era con Ana Test el mié, 10 de mar de 2027, 10:00 a.m. PST. Ahora es:" in plain(moved)
    assert str(icalendar.Calendar.from_ical(calendar_of(moved)).walk("VEVENT")[0]["LOCATION"]).startswith("1200 Example")
    assert reminder["Subject"] == "Recordatorio: su cita del vie, 12 de mar de 2027, 9:00 a.m. PST"
    assert "¿Ha cambiado algo?" in plain(reminder) and "Cómo llegar: <https://www.openstreetmap.org/" in plain(reminder)
    assert "Llegue unos minutos antes" in plain(reminder)
    for message in (confirmation, moved, reminder):
        assert_plain_prose(message)
        assert "Hello" not in plain(message) and "Visit:" not in plain(message)


def test_the_clinics_alert_stays_english_when_the_patient_speaks_spanish(staff, clock, mail):  # noqa: F811
    set_clinic(staff, languages=["en", "es"])
    booking = book_online(staff, start=WEDNESDAY_10, email="alerta@example.com")
    with staff.app_context(), write_transaction():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booking["reference"]))
        visit.language = "es"
        outbox.queue_alert(visit, db.session.get(Clinic, 1), "urgent", "booking", clock())
    send(staff, mail)
    [alert] = mail.to("alerts@clinic.example.com")
    assert alert["Subject"] == f"Urgent flag: visit {booking['reference']} on Wed, Mar 10, 2027, 10:00 AM PST"
    assert '<html lang="en">' in html_of(alert)


def test_a_clinic_in_britain_writes_its_times_on_the_24_hour_clock(staff, mail):  # noqa: F811
    set_clinic(staff, locale="en_GB")
    book_online(staff, start="2027-03-09T15:45:00-08:00", email="uk@example.com")
    send(staff, mail)
    [confirmation] = mail.to("uk@example.com")
    assert confirmation["Subject"] == "Booking confirmed: Tue, 9 Mar 2027, 15:45 PST"
    assert "- When: Tue, 9 Mar 2027, 15:45 PST" in plain(confirmation)
    assert "until Mon, 8 Mar 2027, 15:45 PST:" in plain(confirmation)


def test_without_an_address_the_email_names_the_clinic_and_the_calendar_its_name(staff, mail):  # noqa: F811
    book_online(staff, email="plain@example.com")
    send(staff, mail)
    [confirmation] = mail.to("plain@example.com")
    text = plain(confirmation)
    assert "- Where: Test Clinic\n- Reference: " in text and "Get directions" not in text
    assert str(icalendar.Calendar.from_ical(calendar_of(confirmation)).walk("VEVENT")[0]["LOCATION"]) == "Test Clinic"
    assert "Reading before your visit\n\n- " in text and "/articles/" in text  # links read "title: <URL>"
    assert re.search(r"^- [^\n]+: <http://clinic\.test/articles/[^>]+>$", text, re.M)
    assert '<a href="http://clinic.test/articles/' in html_of(confirmation)
    assert_plain_prose(confirmation)


def test_a_booking_made_on_the_spanish_pages_is_confirmed_in_spanish(staff, mail):  # noqa: F811
    """The whole way as a patient goes: Spanish chosen on the start page, a first visit booked
    through the pages, the confirmation read from the mail server in Spanish with es_US times."""
    set_clinic(staff, languages=["en", "es"], **ADDRESS)
    patient = PatientBrowser(staff)
    assert patient.get("/?language=es").status_code == 303
    patient.book_until_check(service="consult", start="2027-03-09T14:00:00-08:00",
                             details=DETAILS | {"returning": "no"})  # a first visit
    assert "Revise sus respuestas" in patient.get("/book/check").get_data(as_text=True)
    assert patient.confirm().location.endswith("/book/confirmation")

    send(staff, mail)
    [confirmation] = mail.to("pat@example.com")
    assert confirmation["Subject"] == "Cita confirmada: mar, 9 de mar de 2027, 2:00 p.m. PST"
    text = plain(confirmation)
    assert text.startswith("Hola, Pat Example:\n\nGracias por reservar con Test Clinic. Su cita:")
    assert "- Cuándo: mar, 9 de mar de 2027, 2:00 p.m. PST" in text and "Cómo llegar:" in text
    assert '<html lang="es">' in html_of(confirmation)
    assert_plain_prose(confirmation)
    [calendar] = [part for part in confirmation.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert calendar.get_content_charset() == "utf-8"
    assert "con Ana Test" in calendar.get_content()  # read as UTF-8 by any mail app, accents and all


def test_a_courses_confirmation_asks_for_the_consent_and_lists_the_reading_as_one_visits_does(staff, mail):  # noqa: F811
    """A trial found the course's email without the reading list or the consent its page asks for."""
    from tests.test_consent import sign
    from tests.test_booking_journey import PatientBrowser

    response = staff.test_client().post("/api/v1/bookings", json={
        "service": "consult", "practitioner": "ana", "start": "2027-03-09T10:00:00-08:00", "safety": [],
        "patient": {"name": "Pat Course", "email": "course@example.com", "phone": "+1 213 555 0142",
                    "birth_date": "1980-04-02"}, "repeat": {"every_days": 7, "count": 3}})
    assert response.status_code == 201
    send(staff, mail)
    [course] = mail.to("course@example.com")
    text = plain(course)
    assert course["Subject"].startswith("Course booked: 3 visits")
    assert "Reading before your visit\n\n- " in text and "/articles/" in text
    consent_link = re.search(r"- Read and sign the consent: <http://clinic\.test(/manage/[^>]+/consent)>", text)
    assert consent_link is not None and "Your consent to treatment" in text
    patient = PatientBrowser(staff)
    assert "agree" in patient.get(consent_link.group(1)).get_data(as_text=True)  # the first visit's own link
    sign(patient, {"manage_url": consent_link.group(1).removesuffix("/consent")}, "Pat Course")
    # Once a consent covers the patient's visits, a new booking's confirmation asks for none.
    book_online(staff, start="2027-03-11T14:00:00-08:00", name="Pat Course",
                email="course@example.com")
    send(staff, mail)
    later = plain(mail.to("course@example.com")[-1])
    assert "Reading before your visit" in later and "Read and sign the consent" not in later
