"""The outbox: emails written with the change that causes them, delivered after it commits.

Writing a message is part of the booking's own transaction, so a booking never exists
without its confirmation and a rolled-back booking sends nothing. Delivering is a
separate step (`flask outbox send`), so a mail server that is down never fails a booking.

A sender claims due messages in a short transaction (on PostgreSQL with SELECT ... FOR
UPDATE SKIP LOCKED, so several senders never claim the same one; on SQLite the write
lock does that), marks them SENDING until a lease runs out, talks to the mail server
outside any transaction, then records what the server said. A message is retried with
growing pauses after a temporary fault, and marked failed at once when the server refuses
it for good (a bounced address), so one bad address never holds up the others.

If a sender dies between the server's "OK" and recording it, the lease runs out and the
message goes once more (with the same Message-ID): sending twice is the lesser harm than
never sending a reminder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlalchemy as sa
from flask import current_app

from booking.extensions import begin_write_transaction, db
from booking.models import Appointment, AppointmentStatus, ManageLink, OutboxMessage, OutboxStatus
from booking.notify.emails import Email, compose, with_link
from booking.notify.smtp import Refused, Transport, Unavailable
from booking.tokens import hash_token, new_token

# Pauses before the 2nd, 3rd... attempt; after the last one the message is marked failed.
RETRY_AFTER = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
LEASE = timedelta(minutes=5)  # a claimed message's sender has this long to report back
BATCH = 10


def queue(kind: str, appointment: Appointment, now: datetime, *, link: bool = True, once_key: str | None = None,
          **context) -> OutboxMessage:
    """Add an email about this appointment to the session; it is written by the caller's commit.

    With `link`, the email gets a secret link of its own (the first link's token is not
    kept, so it cannot be sent again).
    """
    from booking.operations.availability import load_clinic  # operations import this module

    email = compose(kind, appointment, load_clinic(), now, **context)
    token = None
    if link:
        token = new_token()
        db.session.add(ManageLink(appointment=appointment, token_hash=hash_token(token), created_at=now))
    message = _message(kind, appointment.patient.email, email, now, token=token, once_key=once_key)
    message.appointment, message.about_start = appointment, appointment.starts_at
    db.session.add(message)
    return message


def _message(kind: str, to: str, email: Email, now: datetime, *, token: str | None, once_key: str | None):
    return OutboxMessage(
        kind=kind, to_address=to, subject=email.subject, text_body=email.text, html_body=email.html,
        calendar=email.calendar.decode() if email.calendar else None, link_token=token, once_key=once_key,
        status=OutboxStatus.QUEUED, created_at=now, next_attempt_at=now, attempts=0,
    )


def drop_links(appointment: Appointment) -> None:
    """Forget every emailed link to the appointment (the patient has a new one)."""
    db.session.execute(sa.delete(ManageLink).where(ManageLink.appointment_id == appointment.id))


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    ids_sent: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped


def due_query(now: datetime):
    """Messages a sender may take now: queued and due, or claimed by a sender that went quiet."""
    return sa.select(OutboxMessage).where(sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)


def claim(now: datetime, limit: int = BATCH) -> list[int]:
    """Mark up to `limit` due messages as this sender's, in one short transaction."""
    begin_write_transaction()
    query = due_query(now).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    try:
        messages = db.session.scalars(query).all()
        for message in messages:
            message.status, message.claimed_until = OutboxStatus.SENDING, now + LEASE
            message.attempts += 1
            message.last_attempt_at = now
        ids = [message.id for message in messages]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return ids


def stale_because(message: OutboxMessage, now: datetime) -> str | None:
    """Why a message no longer applies when its turn comes, or None to send it.

    Confirmations and notices of changes go while the visit is ahead, even if a later change
    followed (each tells what happened, in order); a reminder or invitation goes only while
    what it says is still true.
    """
    appointment = message.appointment
    if appointment is not None and appointment.starts_at <= now:
        return "The visit had already begun."
    if message.kind not in {"reminder", "progress_invitation"}:
        return None
    if appointment is None or appointment.status is AppointmentStatus.CANCELLED:
        return "The appointment was cancelled."
    if appointment.starts_at != message.about_start:
        return "The appointment was moved; a reminder for the new time replaces this one."
    if message.kind == "progress_invitation" and appointment.progress_check is not None:
        return "The patient had already sent the progress check."
    return None


def deliver(now_function, transport: Transport, *, limit: int = BATCH) -> SendReport:
    """Send every due message, batch by batch, until none is left; report what happened.

    `now_function` is read afresh for each batch (a long run moves on in time).
    """
    report = SendReport()
    while True:
        ids = claim(now_function(), limit)
        if not ids:
            return report
        for message_id in ids:
            _deliver_one(message_id, now_function, transport, report)


def _deliver_one(message_id: int, now_function, transport: Transport, report: SendReport) -> None:
    message = db.session.get(OutboxMessage, message_id)
    skip = stale_because(message, now_function())
    outcome: tuple[OutboxStatus, str | None, str | None]
    if skip:
        outcome = (OutboxStatus.SKIPPED, skip, None)
    else:
        envelope = mime_message(message, current_app.config["MAIL_FROM"])
        db.session.rollback()  # no transaction stays open while the mail server is talked to
        try:
            reply = transport.send(envelope)
        except Refused as refused:
            outcome = (OutboxStatus.FAILED, f"Refused by the mail server: {refused}", None)
        except Unavailable as fault:
            outcome = (OutboxStatus.QUEUED, str(fault), None)
        else:
            outcome = (OutboxStatus.SENT, None, reply)
    _record(message_id, now_function(), *outcome, report=report)


def _record(message_id: int, now: datetime, status: OutboxStatus, error: str | None, reply: str | None, *,
            report: SendReport) -> None:
    """Write down how an attempt went, in its own short transaction."""
    begin_write_transaction()
    message = db.session.get(OutboxMessage, message_id)
    message.claimed_until = None
    message.last_error = error[:500] if error else None
    if status is OutboxStatus.QUEUED:
        if message.attempts >= MAX_ATTEMPTS:
            status = OutboxStatus.FAILED
            message.last_error = f"Gave up after {message.attempts} attempts. Last: {error}"[:500]
        else:
            message.next_attempt_at = now + RETRY_AFTER[message.attempts - 1]
    message.status = status
    if status is OutboxStatus.SENT:
        message.sent_at, message.server_reply = now, (reply or "")[:500]
    if status in (OutboxStatus.SENT, OutboxStatus.SKIPPED):
        message.link_token = None  # delivered or dropped: the database keeps no live link
    db.session.commit()
    counts = {OutboxStatus.SENT: "sent", OutboxStatus.QUEUED: "retrying", OutboxStatus.FAILED: "failed",
              OutboxStatus.SKIPPED: "skipped"}
    setattr(report, counts[status], getattr(report, counts[status]) + 1)
    if status is OutboxStatus.SENT:
        report.ids_sent.append(message_id)


def mime_message(message: OutboxMessage, sender: str) -> EmailMessage:
    """The message as it goes over SMTP: text and HTML alternatives, and the .ics file."""
    envelope = EmailMessage()
    envelope["From"] = sender
    envelope["To"] = message.to_address
    envelope["Subject"] = message.subject
    envelope["Date"] = format_datetime(message.created_at)
    # The same id on every attempt, so a mail client shows a rare second copy as the same message.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    envelope["Message-ID"] = f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    envelope["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    envelope.set_content(with_link(message.text_body, message.link_token))
    envelope.add_alternative(with_link(message.html_body, message.link_token), subtype="html")
    if message.calendar:
        method = "CANCEL" if "METHOD:CANCEL" in message.calendar else "PUBLISH"
        envelope.add_attachment(with_link(message.calendar, message.link_token).encode(), maintype="text",
                                subtype="calendar", filename="appointment.ics", params={"method": method})
    return envelope


def waiting(now: datetime) -> Iterable[OutboxMessage]:
    """What a sender would take now, oldest first (for --dry-run)."""
    return db.session.scalars(due_query(now)).all()


OUTBOX_PAGE = 100


def listing(status: OutboxStatus | None, before_id: int | None = None) -> tuple[list[OutboxMessage], int | None]:
    """The newest messages (of one status, if given), a page of them, and the id to page on from."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    messages = list(db.session.scalars(query.limit(OUTBOX_PAGE + 1)))
    more = messages[OUTBOX_PAGE - 1].id if len(messages) > OUTBOX_PAGE else None
    return messages[:OUTBOX_PAGE], more


def counts() -> dict[OutboxStatus, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: 0 for status in OutboxStatus} | dict(rows.all())


def send_again(message_id: int, now: datetime) -> OutboxMessage | None:
    """Put a failed or waiting message back at the front of the queue, with a fresh set of attempts."""
    begin_write_transaction()
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status not in (OutboxStatus.FAILED, OutboxStatus.QUEUED):
        db.session.rollback()
        return message
    message.status, message.next_attempt_at, message.attempts = OutboxStatus.QUEUED, now, 0
    db.session.commit()
    return message
