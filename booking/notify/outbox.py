"""The outbox: emails queued with the change that causes them, written and delivered after it commits.

Queueing a message is part of the booking's own transaction, so a booking never exists
without its confirmation and a rolled-back booking sends nothing. Delivering is a
separate step (`flask outbox send`), so a mail server that is down never fails a booking.

Queueing stores only what the email is about (the visit, or the place on the waitlist and
the offer), the visit's SEQUENCE, and a small JSON `context` with what the database will not
still say when it goes (a moved visit's old time and practitioner, who cancelled, which
questions were still open, an alert's level): no template is rendered while the booking holds
the database's write lock. The sender writes the email just before its first attempt, from
the rows as they are then and that context (`email_of`), and stores the words before handing
them to the mail server, so every later attempt (after a refusal, a pause, or a sender that
died) sends the same words, and the admin's outbox page shows what was sent.

When what an email is about changed or went before it is written: a visit that changed (its
SEQUENCE), began, or was removed, a patient who was erased, a place that left the waitlist
and an offer that was taken, withdrawn or ran out all make the email out of date, and it is
skipped with the reason, unwritten (`stale_because`, asked again in the last transaction before
the mail server, so a place left while its email was being written is not told it joined). Anything else that changed without a
new SEQUENCE (the patient's name, the clinic's phone or address, a course's other visits) is
written as it is when the email goes, which is what is true when it is read. A message that
cannot be written (a damaged context, a kind with no template any more) is marked failed
with the reason, and the pass goes on.

A sender claims due messages in a short transaction (on PostgreSQL with SELECT ... FOR
UPDATE SKIP LOCKED, so several senders never claim the same one; on SQLite the write
lock does that), marking them SENDING under its own name until a lease runs out. Just
before each message it renews that message's lease, and only if the claim is still its
own; it talks to the mail server outside any transaction, then records what the server
said, again only under its own claim. A message is retried with growing pauses after a
temporary fault, and marked failed at once when the server refuses it for good (a bounced
address), so one bad address never holds up the others. When the server itself cannot
be used, the sender stops the pass and gives its other claims back untouched.

If a sender dies between the server's "OK" and recording it, the lease runs out and the
message goes once more (with the same Message-ID): sending twice is the lesser harm than
never sending a reminder.

Secret links: a stored message holds only a placeholder where its link goes. Each attempt
makes a fresh link in a short transaction that first checks the claim is still its own (so
two senders never both make one for a message, and only the claim's holder stores the words
it wrote), stores only the link's hash (ManageLink), and puts the raw token only into the
copy handed to the mail server. An attempt that fails
leaves a link nobody was told; the next attempt makes another, and every link ends with
the visit.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlalchemy as sa
from flask import current_app
from icalendar import Calendar

from booking import driver
from booking.extensions import db
from booking.transaction import Busy, write_transaction
from booking.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    IdentityCheck,
    IntakeStatus,
    ManageLink,
    OutboxMessage,
    OutboxSender,
    OutboxStatus,
    OfferState,
    WaitlistEntry,
    WaitlistLink,
    WaitlistOffer,
    WaitlistState,
)
from booking.notify.emails import (
    IDENTITY_LINK_PLACEHOLDER,
    LINK_PLACEHOLDER,
    VISIT_LINK,
    VISIT_LINK_PREFIX,
    WAITLIST_LINK_PLACEHOLDER,
    Email,
    compose,
    compose_waitlist,
    link_hidden,
    with_links,
)
from booking.notify.smtp import Deferred, Refused, Transport, Unavailable
from booking.safety import SIGNAL_SOURCES
from booking.tokens import hash_token, new_token

# Pauses before the 2nd, 3rd... attempt; after the last one the message is marked failed.
RETRY_AFTER = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
LEASE = timedelta(minutes=5)  # a claimed message's sender has this long to report back
BATCH = 10

log = logging.getLogger(__name__)


def _queued(kind: str, to_address: str, now: datetime, context: dict, **about) -> dict:
    """A queued message's columns: what it is about (`about`), to whom, and its context as JSON."""
    return dict(kind=kind, to_address=to_address, context=_stored(context), status=OutboxStatus.QUEUED,
                created_at=now, next_attempt_at=now, attempts=0, **about)


def queue(kind: str, appointment: Appointment, now: datetime, *, once_key: str | None = None,
          **context) -> OutboxMessage | None:
    """Add an email about this appointment to the session; it is queued by the caller's commit and
    written when it is sent (see `compose` for each kind's context).

    An email whose text has a secret link gets a link of its own when it is sent (the
    first link's token is not kept, so it cannot be sent again). An erased patient has no
    address: nothing is queued.
    """
    if appointment.patient.is_erased:
        return None
    message = OutboxMessage(**_queued(kind, appointment.patient.email, now, context, once_key=once_key,
                                      appointment=appointment, about_sequence=appointment.sequence))
    db.session.add(message)
    return message


_INSERT_MESSAGE = sa.insert(OutboxMessage.__table__)


def queue_for_new_visit(kind: str, appointment_id: int, to_address: str, now: datetime, **context) -> None:
    """As queue(), for a visit just inserted without the ORM (its SEQUENCE is still 0): one INSERT
    on the transaction's connection, as the booking's other rows are written (bookings.book)."""
    driver.run(_INSERT_MESSAGE, _queued(kind, to_address, now, context, appointment_id=appointment_id, about_sequence=0))


def queue_alert(appointment: Appointment, clinic: Clinic, level: str, source: str, now: datetime) -> OutboxMessage:
    """Tell the clinic's alert address that an emergency or urgent answer was given for this
    visit: which visit, which level and where, never who or what."""
    # No SEQUENCE: the alert stays true when the visit moves, so it is never skipped as out of date.
    message = OutboxMessage(**_queued("safety_alert", clinic.alert_email, now,
                                      {"level": level, "given_in": SIGNAL_SOURCES[source]}, appointment=appointment))
    db.session.add(message)
    return message


def queue_waitlist(kind: str, entry: WaitlistEntry, now: datetime, offer: WaitlistOffer | None = None,
                   **context) -> OutboxMessage:
    """Add an email about a place on the waitlist (and the offer it makes) to the session; it is
    written, and its secret link made, when it is sent, as for a visit's."""
    message = OutboxMessage(**_queued(kind, entry.email, now, context, waitlist_entry=entry, waitlist_offer=offer))
    db.session.add(message)
    return message


# How a context value is kept in JSON: an instant or a day as ISO text, a row (a visit of a
# course, say) by its model and id; lists of these; and plain text, numbers, true/false, null.
_INSTANT, _DAY, _ROW = "instant", "day", "row"


def _stored(context: dict) -> dict:
    """The context as JSON, refusing (when queued, not when sent) a value it could not give back."""
    return {name: _stored_value(value) for name, value in context.items()}


def _stored_value(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("an email's context takes only instants with their zone")
        return {_INSTANT: value.isoformat()}
    if isinstance(value, date):
        return {_DAY: value.isoformat()}
    if isinstance(value, db.Model):
        if value.id is None:  # added in this transaction and not yet flushed
            db.session.flush()
        return {_ROW: type(value).__name__, "id": value.id}
    if isinstance(value, (list, tuple)):
        return [_stored_value(each) for each in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"an email's context cannot keep a {type(value).__name__}")


def _context_of(message: OutboxMessage) -> dict:
    """The context stored with the message, as the values queue() was given (rows read afresh;
    a row that is gone is left out of a list, and None on its own)."""
    return {name: _given_back(value) for name, value in (message.context or {}).items()}


def _given_back(value):
    if isinstance(value, list):
        return [each for each in map(_given_back, value) if each is not None]
    if not isinstance(value, dict):
        return value
    if _INSTANT in value:
        return datetime.fromisoformat(value[_INSTANT])
    if _DAY in value:
        return date.fromisoformat(value[_DAY])
    models = {mapper.class_.__name__: mapper.class_ for mapper in db.Model.registry.mappers}
    return db.session.get(models[value[_ROW]], value["id"])


class NotWritable(Exception):
    """What the email is about is gone, so it cannot be written (the words are shown as they are)."""


def email_of(message: OutboxMessage, now: datetime) -> Email:
    """The message's email: its stored words once written; until then written now, from the rows
    it is about as they are and the context stored when it was queued (nothing is stored here)."""
    if message.is_written:
        return Email(message.subject, message.text_body, message.html_body,
                     message.calendar.encode() if message.calendar else None)
    # Read here rather than through operations, which queue mail: this module stays below them.
    clinic = db.session.get(Clinic, 1)
    if message.kind.startswith("waitlist_"):
        if message.waitlist_entry is None:
            raise NotWritable("The place on the waitlist no longer exists.")
        if message.waitlist_offer_id is not None and message.waitlist_offer is None:
            raise NotWritable("The offer no longer exists.")
        return compose_waitlist(message.kind, message.waitlist_entry, clinic, offer=message.waitlist_offer,
                                **_context_of(message))
    if message.appointment is None:
        raise NotWritable("The appointment no longer exists.")
    return compose(message.kind, message.appointment, clinic, now, **_context_of(message))


@dataclass(frozen=True)
class Preview:
    """A message's words as staff may read them (secret links hidden), for the outbox page and --dry-run."""

    subject: str
    text: str | None
    written: bool  # False: written just now to be read, not kept; the sender writes it as it sends
    problem: str | None = None  # why there is no text
    no_longer_applies: str | None = None  # why, for one waiting or failed that the sender would skip
    calendar: bool | None = None  # an iCalendar file attached (or to be, as written now); None: no text to tell


def no_longer_applies(message: OutboxMessage, now: datetime) -> str | None:
    """Why a message waiting to go (queued, or claimed by a sender that went quiet) or given up on
    (failed) would be skipped if a sender took it now (stale_because), for the outbox page and
    --dry-run. One being sent has been checked by its sender already. A damaged message is not a
    reason for an error page: None, and writing it says what is wrong."""
    if message.status is not OutboxStatus.FAILED and not _takeable(message, now):
        return None
    try:
        return stale_because(message, now)
    except Exception as error:
        log.warning("outbox message %s cannot be checked for a preview: %s", message.id, type(error).__name__)
        return None


def _takeable(message: OutboxMessage, now: datetime) -> bool:
    """Whether a sender will take the message when its time comes, as due_query does."""
    return message.status is OutboxStatus.QUEUED or (
        message.status is OutboxStatus.SENDING and message.claimed_until is not None and message.claimed_until < now)


def preview(message: OutboxMessage, now: datetime) -> Preview:
    """What the message says, or would say if it were written now; never a reason for an error page.
    One that no longer applies says why instead of how it would read: the sender would skip it."""
    if skip := no_longer_applies(message, now):
        then = ("The sender marks it skipped when its turn comes." if _takeable(message, now)
                else "Sending it again would only skip it.")
        return Preview(message.subject if message.is_written else message.title, None, message.is_written,
                       f"It no longer applies, so it will not be sent. {skip} {then}", skip)
    if message.is_written:
        return Preview(message.subject, link_hidden(message.text_body), True, calendar=bool(message.calendar))
    if message.status not in (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED):
        return Preview(message.title, None, False, "It was never written: it was skipped before its turn came.")
    try:
        email = email_of(message, now)
    except NotWritable as gone:
        return Preview(message.title, None, False, f"It cannot be written: {gone}")
    except Exception as error:  # a damaged context or a missing template: the sender will say the same
        log.warning("outbox message %s cannot be written for a preview: %s", message.id, type(error).__name__)
        return Preview(message.title, None, False, f"It cannot be written ({type(error).__name__}).")
    return Preview(email.subject, link_hidden(email.text), False, calendar=bool(email.calendar))


def needs_link(message: OutboxMessage) -> bool:
    """Whether the message's text has a place for a secret link (to manage the visit, to confirm
    who booked it, or to a place on the waitlist), made as it is sent."""
    text = message.text_body + message.html_body
    if message.waitlist_entry_id is not None and WAITLIST_LINK_PLACEHOLDER in text:
        return True
    return message.appointment_id is not None and (LINK_PLACEHOLDER in text or IDENTITY_LINK_PLACEHOLDER in text
                                                   or VISIT_LINK_PREFIX in text)


# How long the link in "Did you book a visit ...? Please confirm" works.
CONFIRM_LINK_DAYS = 7


def _new_identity_link(appointment_id: int, now: datetime) -> str:
    """A fresh secret for the identity email about to be sent (operations.identity reads it back);
    only its hash is stored, in the sender's write transaction, committed before the email goes."""
    token = new_token()
    db.session.add(IdentityCheck(appointment_id=appointment_id, token_hash=hash_token(token),
                                 created_at=now, expires_at=now + timedelta(days=CONFIRM_LINK_DAYS)))
    return token


def new_manage_link(appointment_id: int, now: datetime) -> str:
    """A new secret link to the appointment: the hash is added to the session, the token returned."""
    token = new_token()
    db.session.add(ManageLink(appointment_id=appointment_id, token_hash=hash_token(token), created_at=now))
    return token


def _visit_of_same_course(appointment: Appointment, reference: str) -> int | None:
    """The id of the visit with this reference, only if it is of the same course (and so the same
    patient) as the message's own visit: a link is never made for someone else's visit."""
    if appointment.course_id is None:
        return None
    return db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == reference,
                                                             Appointment.course_id == appointment.course_id))
def _new_waitlist_link(entry_id: int, now: datetime) -> str:
    """A new secret link to a place on the waitlist: the hash is added to the session, the token returned."""
    token = new_token()
    db.session.add(WaitlistLink(entry_id=entry_id, token_hash=hash_token(token), created_at=now))
    return token


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
    server_problem: str | None = None  # why this pass stopped early

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped


# A sender quiet for longer than this (or three of its own pauses) is taken to have stopped.
QUIET_AFTER = timedelta(minutes=10)
FORGET_SENDERS_AFTER = timedelta(days=7)


def note_pass(name: str, now: datetime, *, every_seconds: int | None, mail_server: str, problem: str | None) -> None:
    """Write down this sender's pass (its heartbeat), for the admin's outbox page."""
    def write() -> None:
        row = db.session.scalar(sa.select(OutboxSender).where(OutboxSender.name == name))
        if row is None:
            row = OutboxSender(name=name)
            db.session.add(row)
        row.last_pass_at, row.every_seconds, row.mail_server = now, every_seconds, mail_server[:200]
        row.problem = problem[:500] if problem else None
        # Each start of a sender is a new name (its process id): forget those long gone.
        db.session.execute(sa.delete(OutboxSender).where(OutboxSender.last_pass_at < now - FORGET_SENDERS_AFTER))

    _writing(write)


@dataclass(frozen=True)
class Sending:
    """Whether emails are going out, as the freshest sender last said."""

    sender: OutboxSender | None  # None: no sender has ever reported

    def quiet(self, now: datetime) -> bool:
        if self.sender is None:
            return True
        pause = timedelta(seconds=3 * (self.sender.every_seconds or 0))
        return self.sender.last_pass_at < now - max(QUIET_AFTER, pause)

    def working(self, now: datetime) -> bool:
        return not self.quiet(now) and bool(self.sender.mail_server) and not self.sender.problem


def sending() -> Sending:
    return Sending(db.session.scalar(sa.select(OutboxSender).order_by(OutboxSender.last_pass_at.desc()).limit(1)))


def due_query(now: datetime):
    """Messages a sender may take now: queued and due, or claimed by a sender that went quiet."""
    return sa.select(OutboxMessage).where(sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)


def _writing(work):
    """Run work() in a short write transaction of its own, and give back what it returns."""
    with write_transaction():
        result = work()
    return result


def claim(now: datetime, sender: str, limit: int = BATCH) -> list[int]:
    """Mark up to `limit` due messages as this sender's, in one short transaction."""
    def take() -> list[int]:
        query = due_query(now).limit(limit)
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        taken = []
        for message in db.session.scalars(query):
            if message.attempts >= MAX_ATTEMPTS:  # its sender died on the last attempt
                message.status, message.claimed_by, message.claimed_until = OutboxStatus.FAILED, None, None
                message.last_error = f"Gave up after {message.attempts} attempts; the last one never reported back."
                continue
            message.status, message.claimed_by, message.claimed_until = OutboxStatus.SENDING, sender, now + LEASE
            message.attempts += 1
            message.last_attempt_at = now
            taken.append(message.id)
        return taken

    return _writing(take)


def _still_mine(message_id: int, sender: str):
    return sa.and_(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.SENDING,
                   OutboxMessage.claimed_by == sender)


def _renew(message_id: int, sender: str, now: datetime) -> bool:
    """Extend this sender's claim on the message for one more send; False if it is no longer ours."""
    return _writing(lambda: db.session.execute(
        sa.update(OutboxMessage).where(_still_mine(message_id, sender)).values(claimed_until=now + LEASE)
    ).rowcount == 1)


def _prepare_attempt(message_id: int, sender: str, now: datetime, written: Email | None,
                     report: SendReport) -> dict[str, str] | None:
    """Keep the words just `written` for the message (if it had none), and make fresh secret
    links for the attempt about to be made, by the placeholder each fills, stored as hashes only;
    None (nothing kept, no link) when the claim is no longer ours, so two senders never both
    make one for a message, or when what the email is about changed while it was being written
    (a place that left the waitlist a moment ago, a visit cancelled): it is skipped then, as it
    would have been a moment earlier (stale_because, asked again in this last transaction before
    the mail server)."""
    def make() -> tuple[dict[str, str] | None, OutboxStatus | None]:
        message = db.session.scalar(sa.select(OutboxMessage).where(_still_mine(message_id, sender)))
        if message is None:
            return None, None
        if skip := stale_because(message, now):
            return None, _settle(message, now, OutboxStatus.SKIPPED, skip, None)
        if written is not None and not message.is_written:
            message.subject, message.text_body, message.html_body = written.subject[:200], written.text, written.html
            message.calendar = written.calendar.decode() if written.calendar else None
        text, links = message.text_body + message.html_body, {}
        if LINK_PLACEHOLDER in text:
            links[LINK_PLACEHOLDER] = new_manage_link(message.appointment_id, now)
        if IDENTITY_LINK_PLACEHOLDER in text:
            links[IDENTITY_LINK_PLACEHOLDER] = _new_identity_link(message.appointment_id, now)
        for reference in sorted(set(VISIT_LINK.findall(text))):
            visit_id = _visit_of_same_course(message.appointment, reference)
            if visit_id is not None:
                links[VISIT_LINK_PREFIX + reference] = new_manage_link(visit_id, now)
        if WAITLIST_LINK_PLACEHOLDER in text and message.waitlist_entry_id is not None:
            links[WAITLIST_LINK_PLACEHOLDER] = _new_waitlist_link(message.waitlist_entry_id, now)
        return links, None

    links, skipped = _writing(make)
    _count(message_id, skipped, report)
    return links


# Emails about every visit of a course (their context lists the visits), queued on one of them.
COURSE_KINDS = {"course_confirmation", "course_cancelled"}


def stale_because(message: OutboxMessage, now: datetime) -> str | None:
    """Why a message no longer applies when its turn comes, or None to send it.

    Each email tells the visit as it was when written (its SEQUENCE); once the visit has
    changed, a later email tells the patient, so this one would only mislead.
    """
    if message.kind.startswith("waitlist_"):
        return _waitlist_stale_because(message, now)
    appointment = message.appointment
    if appointment is None:
        return "The appointment no longer exists."
    if appointment.patient.is_erased:  # erasing skips their emails too; this covers one claimed meanwhile
        return "The patient's record was erased."
    if message.kind == "identity_check":  # no later email carries its link, so a move does not stale it
        if appointment.status is AppointmentStatus.CANCELLED:
            return "The booking was cancelled: there is nothing to confirm."
        return None if appointment.identity_pending else "The booking was confirmed before the email could go."
    if message.kind == "safety_alert":  # true whatever changed since, until the visit is over
        return "The visit was over before the alert could go; its record shows the flag." if appointment.ends_at <= now else None
    if message.kind in COURSE_KINDS:  # about every visit it lists: it still matters until the last begins
        listed = [visit.starts_at for visit in _context_of(message).get("visits", [])]
        if max([appointment.starts_at, *listed]) <= now:
            return "Every visit of the course had already begun."
    elif appointment.starts_at <= now:
        return "The visit had already begun."
    if message.about_sequence is not None and appointment.sequence != message.about_sequence:
        return "The visit changed after this email was written; a later email tells the patient."
    if message.kind in {"intake_invitation", "progress_invitation"} and appointment.intake_status is IntakeStatus.SENT:
        return "The patient had already answered the questions."
    return None


def _waitlist_stale_because(message: OutboxMessage, now: datetime) -> str | None:
    """Why an email about a place on the waitlist no longer applies: the place left the list, or
    the offer it makes was taken, withdrawn or ran out."""
    entry = message.waitlist_entry
    if entry is None or entry.state is not WaitlistState.WAITING:
        return "The place is no longer on the waitlist."
    offer = message.waitlist_offer
    # An offer's email whose offer row went (its id set to NULL with it) is as out of date as one taken.
    about_an_offer = message.waitlist_offer_id is not None or message.kind == "waitlist_offer"
    if about_an_offer and (offer is None or offer.state is not OfferState.OPEN or offer.expires_at <= now):
        return "The offer was taken, withdrawn or ran out before the email could go."
    return None


BUSY_PROBLEM = "The database was busy with other changes for too long; the next pass goes on."


def deliver(now_function, transport: Transport, *, limit: int = BATCH) -> SendReport:
    """Send every due message, batch by batch, until none is left or the server cannot be used.

    `now_function` is read afresh for each step (a long run moves on in time).
    """
    report = SendReport()
    sender = secrets.token_hex(16)
    while True:
        try:
            ids = claim(now_function(), sender, limit)
        except Busy:
            report.server_problem = BUSY_PROBLEM
            return report
        if not ids:
            return report
        for position, message_id in enumerate(ids):
            try:
                _deliver_one(message_id, sender, now_function, transport, report)
            except Unavailable as problem:
                report.server_problem = str(problem)
                _give_back(ids[position + 1:], sender)
                return report
            except Busy:  # not the message's fault: its claim runs out and the next pass takes it
                report.server_problem = BUSY_PROBLEM
                return report
            except Exception as error:  # this message could not even be built: it alone fails, the pass goes on
                db.session.rollback()
                log.error("outbox message %s could not be built: %s\n%s", message_id, type(error).__name__,
                          "".join(traceback.format_tb(error.__traceback__)))
                _record(message_id, sender, now_function(), OutboxStatus.FAILED,
                        f"Could not be built ({type(error).__name__}); the sender's log has the details.", None, report)


def _deliver_one(message_id: int, sender: str, now_function, transport: Transport, report: SendReport) -> None:
    if not _renew(message_id, sender, now_function()):
        return  # another sender took it over after our lease ran out
    message = db.session.get(OutboxMessage, message_id)
    skip = stale_because(message, now_function())
    if skip:
        _record(message_id, sender, now_function(), OutboxStatus.SKIPPED, skip, None, report)
        return
    # Written here, outside any write transaction: nobody waits on the database's lock for it.
    written = None
    if not message.is_written:
        try:
            written = email_of(message, now_function())
        except Exception as error:  # this message alone fails, with the reason; the pass goes on
            db.session.rollback()
            _could_not_write(message_id, sender, now_function(), error, report)
            return
    links: dict[str, str] = {}
    if written is not None or needs_link(message):
        db.session.rollback()
        links = _prepare_attempt(message_id, sender, now_function(), written, report)
        if links is None:
            return  # another sender took it over meanwhile, or it no longer applies
        message = db.session.get(OutboxMessage, message_id)
    envelope = mime_message(message, current_app.config["MAIL_FROM"], links)
    db.session.rollback()  # no transaction stays open while the mail server is talked to

    def outcome(status: OutboxStatus, error: str | None, reply: str | None = None) -> None:
        _record(message_id, sender, now_function(), status, _without(links, error), _without(links, reply), report)

    try:
        reply = transport.send(envelope)
    except Refused as refused:
        outcome(OutboxStatus.FAILED, f"Refused by the mail server: {refused}")
    except Deferred as deferred:
        outcome(OutboxStatus.QUEUED, str(deferred))
    except Unavailable as problem:
        outcome(OutboxStatus.QUEUED, str(problem))
        raise
    except Exception as error:  # a fault of ours: say what it was, and carry on with the others
        said = _without(links, f"{type(error).__name__}: {error}")
        # The frames without the exception's own words, which might quote the link.
        log.error("outbox message %s could not be sent: %s\n%s", message_id, said,
                  "".join(traceback.format_tb(error.__traceback__)))
        outcome(OutboxStatus.FAILED, f"Could not be sent: {said}")
    else:
        outcome(OutboxStatus.SENT, None, reply)


def _could_not_write(message_id: int, sender: str, now: datetime, error: Exception, report: SendReport) -> None:
    """Mark the message failed because its email could not be written, saying why: a missing row in
    so many words, anything else by its kind (the frames go to the log, not the words, which might
    quote the patient)."""
    if isinstance(error, NotWritable):
        reason = f"Could not be written: {error}"
    else:
        reason = f"Could not be written ({type(error).__name__}); the sender's log has the details."
        log.error("outbox message %s could not be written: %s\n%s", message_id, type(error).__name__,
                  "".join(traceback.format_tb(error.__traceback__)))
    _record(message_id, sender, now, OutboxStatus.FAILED, reason, None, report)


def _without(links: dict[str, str], text: str | None) -> str | None:
    """What a mail server or an error said, with this attempt's secret links taken out, in case it
    quoted the message: the database and the log never hold a live link."""
    for token in links.values():
        if text:
            text = text.replace(token, "(a secret link)")
    return text


def _give_back(message_ids: list[int], sender: str) -> None:
    """Return claims this pass will not use, as they were: queued, the attempt not counted."""
    if not message_ids:
        return
    _writing(lambda: db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == OutboxStatus.SENDING,
               OutboxMessage.claimed_by == sender)
        .values(status=OutboxStatus.QUEUED, claimed_by=None, claimed_until=None, attempts=OutboxMessage.attempts - 1)
    ))


def _record(message_id: int, sender: str, now: datetime, status: OutboxStatus, error: str | None, reply: str | None,
            report: SendReport) -> None:
    """Write down how an attempt went, in its own short transaction, if the claim is still ours."""
    def write() -> OutboxStatus | None:
        message = db.session.scalar(sa.select(OutboxMessage).where(_still_mine(message_id, sender)))
        return None if message is None else _settle(message, now, status, error, reply)

    _count(message_id, _writing(write), report)


def _settle(message: OutboxMessage, now: datetime, status: OutboxStatus, error: str | None,
            reply: str | None) -> OutboxStatus:
    """Release the sender's claim on the message with how its attempt went; the status it ends in
    (a message out of tries fails rather than waits)."""
    outcome = status
    message.claimed_by, message.claimed_until = None, None
    message.last_error = error[:500] if error else None
    if outcome is OutboxStatus.QUEUED:
        if message.attempts >= MAX_ATTEMPTS:
            outcome = OutboxStatus.FAILED
            message.last_error = f"Gave up after {message.attempts} attempts. Last: {error}"[:500]
        else:
            message.next_attempt_at = now + RETRY_AFTER[message.attempts - 1]
    message.status = outcome
    if outcome is OutboxStatus.SENT:
        message.sent_at, message.server_reply = now, (reply or "")[:500]
    return outcome


def _count(message_id: int, outcome: OutboxStatus | None, report: SendReport) -> None:
    """Add a message's outcome to the pass's report (None: not ours to record, so not counted)."""
    if outcome is None:
        return
    counted = {OutboxStatus.SENT: "sent", OutboxStatus.QUEUED: "retrying", OutboxStatus.FAILED: "failed",
               OutboxStatus.SKIPPED: "skipped"}[outcome]
    setattr(report, counted, getattr(report, counted) + 1)
    if outcome is OutboxStatus.SENT:
        report.ids_sent.append(message_id)


def mime_message(message: OutboxMessage, sender: str, links: dict[str, str] | None = None) -> EmailMessage:
    """The message as it goes over SMTP: text and HTML alternatives with `links` (tokens by
    placeholder) put in, and the .ics file (which never carries a link: a calendar app may
    share or sync it)."""
    envelope = EmailMessage()
    envelope["From"] = sender
    envelope["To"] = message.to_address
    envelope["Subject"] = message.subject
    envelope["Date"] = format_datetime(message.created_at)
    # The same id on every attempt, so a mail client shows a rare second copy as the same message.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    envelope["Message-ID"] = f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    envelope["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    envelope.set_content(with_links(message.text_body, links))
    envelope.add_alternative(with_links(message.html_body, links), subtype="html")
    if message.calendar:
        calendar = Calendar.from_ical(message.calendar)
        method = str(calendar.get("method", "PUBLISH"))
        # A course's email carries all its visits: the file is named for what it holds.
        name = "appointments.ics" if len(calendar.walk("VEVENT")) > 1 else "appointment.ics"
        envelope.add_attachment(message.calendar.encode(), maintype="text", subtype="calendar",
                                filename=name, params={"method": method, "charset": "utf-8"})
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


def send_again(message_id: int, now: datetime) -> str | None:
    """Put a failed or waiting message back at the front of the queue, with a fresh set of
    attempts (its secret link is made when it goes); None when done, else why it was left as it
    is: neither failed nor waiting, or no longer applying (the sender would only skip it)."""
    def requeue() -> str | None:
        message = db.session.get(OutboxMessage, message_id)
        if message is None:
            return "This email is no longer in the outbox."
        if message.status not in (OutboxStatus.FAILED, OutboxStatus.QUEUED):
            return f"This email is {message.status.label.lower()}, so it was left as it is."
        if skip := no_longer_applies(message, now):
            return f"This email no longer applies, so it was left as it is. {skip}"
        message.status, message.next_attempt_at, message.attempts = OutboxStatus.QUEUED, now, 0
        return None

    return _writing(requeue)
