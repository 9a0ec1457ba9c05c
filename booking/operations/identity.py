"""Identity before history: knowing a patient's email and date of birth is not enough to show
their earlier records to another practitioner.

A patient is recognised by email and date of birth, and anyone who knows those two can book
online. So an online or API booking that matches a patient who already has appointments with
another practitioner waits for confirmation (`Appointment.identity_confirmed_at` is None):
the patient confirms from a link emailed to the address on file, or the desk confirms after
checking who they are. Until then:

- the booking's practitioner reads this booking's own answers, and of the patient's earlier
  visits only those they had with the patient themselves (what they could already read);
- the patient's pages reached by this booking's link (and its emails) are those of a first
  booking, so they look the same whether or not the details matched anyone, and show nothing
  given at earlier visits;
- its answers are not part of the patient's history anywhere else, as they may not be the
  patient's.

Confirmation is a fact about the booking (was it made by the patient on file?), so it is
kept on the appointment, not as a grant to a practitioner: a confirmed booking moved by the
desk to a colleague still shows the history, and one still waiting stays waiting.
A desk booking (the receptionist checks who is calling) and a patient's first booking need
no confirmation.

The link is made when its email is sent (only the SHA-256 of its secret is kept), works for
CONFIRM_LINK_DAYS, and opens a page whose button (a POST with CSRF) confirms: a mail
scanner that follows links confirms nothing.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import locked, write_transaction
from booking.models import Appointment, AppointmentStatus, IdentityCheck, Patient, StaffAccount
from booking.notify import outbox
from booking.notify.emails import IDENTITY_LINK_PLACEHOLDER
from booking.operations.history import PATIENT, record
from booking.operations.history import staff_actor as actor
from booking.operations.permissions import NotAllowed, NotVisible, runs_the_desk
from booking.tokens import hash_token

CONFIRM_LINK_DAYS = outbox.CONFIRM_LINK_DAYS
EMAIL_KIND = "identity_check"

BY_PATIENT = "Patient, from the emailed link"
NOT_NEEDED = {"desk": "Not needed: booked by the clinic", "first": "Not needed: first booking",
              "own": "Not needed: no visits with other practitioners"}

# What staff read where earlier visits are held back (My day, the visit record, exports).
HIDDEN_NOTE = ("Identity not yet confirmed: earlier visits with other practitioners are hidden until the patient "
               "confirms from the email sent to the address on file, or the desk confirms.")


class NothingToConfirm(Exception):
    """The booking is cancelled or already confirmed; `message` says which, for the desk."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- a new booking -----------------------------------------------------------------------

def _why_not_needed(patient_id: int | None, practitioner_id: int, booked_via: str) -> str | None:
    """Why this booking needs no confirmation, or None when it does (`patient_id` None: a new patient)."""
    if booked_via == "desk":
        return NOT_NEEDED["desk"]
    if patient_id is None:
        return NOT_NEEDED["first"]
    elsewhere = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.patient_id == patient_id, Appointment.practitioner_id != practitioner_id))
    return None if elsewhere else NOT_NEEDED["own"]


def new_booking_identity(on_file, practitioner_id: int, booked_via: str, typed_name: str, typed_phone: str,
                         now: datetime) -> dict:
    """A new booking's identity columns: confirmed at once (and why), or left waiting with what was
    typed kept beside it where it differs from the record. `on_file`: the patient's record as it
    was before this booking (anything with id, name and phone), None for a patient it adds."""
    reason = _why_not_needed(on_file.id if on_file is not None else None, practitioner_id, booked_via)
    if reason is not None:
        return {"identity_confirmed_at": now, "identity_confirmed_by": reason}
    typed = {"name": typed_name, "phone": typed_phone}
    return {"booked_as": typed} if typed != {"name": on_file.name, "phone": on_file.phone} else {}


def settle_new_booking(appointment: Appointment, typed_name: str, typed_phone: str, now: datetime) -> None:
    """Confirm a new booking at once, or leave it waiting with what was typed kept beside it (the
    email is queued by queue_request once the booking has its id)."""
    patient = appointment.patient
    for column, value in new_booking_identity(patient if patient.id is not None else None, appointment.practitioner.id,
                                              appointment.booked_via, typed_name, typed_phone, now).items():
        setattr(appointment, column, value)


def after_move_to_another_practitioner(appointment: Appointment, actor, now: datetime) -> None:
    """An online booking that needed no confirmation only because of whom it was with (a first
    booking, or the patient's only practitioner) is looked at again when it moves to someone else:
    the new practitioner may not see visits the patient had with others until it is confirmed."""
    if appointment.identity_confirmed_by not in (NOT_NEEDED["first"], NOT_NEEDED["own"]):
        return  # booked by the desk, confirmed by someone, or still waiting: nothing to look at
    elsewhere = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.patient_id == appointment.patient_id, Appointment.id != appointment.id,
        Appointment.practitioner_id != appointment.practitioner.id))  # the new one (practitioner_id: not yet flushed)
    if not elsewhere:
        return
    appointment.identity_confirmed_at = appointment.identity_confirmed_by = None
    record(appointment, actor, "identity pending", (
        f"Moved to {appointment.practitioner.name}, who has not seen this patient's visits with other practitioners: "
        f"they stay hidden until the patient confirms from the link emailed to {appointment.patient.email}, "
        "or the desk confirms"), now)
    queue_request(appointment, now)


def queue_request(appointment: Appointment, now: datetime, course: list[Appointment] | None = None) -> None:
    """Email the address on file a link to confirm the booking (the link is made when it goes);
    for a course booked together, one email naming every visit of `course`, whose link confirms them all."""
    if not appointment.identity_pending:
        return
    if course and len(course) > 1:
        outbox.queue(EMAIL_KIND, appointment, now, link_days=CONFIRM_LINK_DAYS,
                     placeholder=IDENTITY_LINK_PLACEHOLDER, visits=course)
    else:
        outbox.queue(EMAIL_KIND, appointment, now, link_days=CONFIRM_LINK_DAYS,
                     placeholder=IDENTITY_LINK_PLACEHOLDER)


# --- whose history a visit shows ---------------------------------------------------------

def history_filter(appointment: Appointment, *, as_patient: bool = False):
    """SQL over Appointment: the patient's appointments read together with this one.

    Always itself, and others confirmed to be the patient's. While this one waits, its
    practitioner reads only their own visits with the patient, and the patient's link
    (`as_patient`) reads nothing else at all.
    """
    if as_patient and appointment.identity_pending:
        return Appointment.id == appointment.id
    shown = [Appointment.patient_id == appointment.patient_id,
             sa.or_(Appointment.id == appointment.id, Appointment.identity_confirmed_at.is_not(None))]
    if appointment.identity_pending:
        shown.append(Appointment.practitioner_id == appointment.practitioner_id)
    return sa.and_(*shown)


def in_history(appointment: Appointment, other, *, as_patient: bool = False) -> bool:
    """history_filter for a row already loaded (an Appointment, or a row with the same names)."""
    if other.id == appointment.id:
        return True
    if other.patient_id != appointment.patient_id or other.identity_confirmed_at is None:
        return False
    if appointment.identity_pending:
        return not as_patient and other.practitioner_id == appointment.practitioner_id
    return True


def sees_history(account: StaffAccount, patient: Patient) -> bool:
    """Does this practitioner have a confirmed booking of the patient (so may know they have a
    past at the clinic)? Everyone else who opens the patient's page sees it all, as before."""
    if account.practitioner_id is None:
        return True
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.practitioner_id == account.practitioner_id,
        Appointment.identity_confirmed_at.is_not(None), Appointment.status != AppointmentStatus.CANCELLED)))


# --- confirming --------------------------------------------------------------------------

def check_for(token: str, now: datetime) -> IdentityCheck | None:
    """The confirmation link's check, if the link is known and has not expired."""
    check = db.session.scalar(sa.select(IdentityCheck).where(IdentityCheck.token_hash == hash_token(token)))
    if check is None or check.expires_at <= now:
        return None
    return check


def waiting_with(appointment: Appointment) -> list[Appointment]:
    """The bookings one confirmation settles, locked: the visit, or every visit of its course (booked
    together by one person), that is still booked and waiting."""
    if appointment.course_id is None:
        together = [appointment]
    else:
        query = sa.select(Appointment).where(Appointment.course_id == appointment.course_id).order_by(Appointment.id)
        together = list(db.session.scalars(query.with_for_update().execution_options(populate_existing=True)))
    return [visit for visit in together if visit.status is not AppointmentStatus.CANCELLED and visit.identity_pending]


def _confirm(appointment: Appointment, by: str, actor, detail, now: datetime) -> None:
    """Confirm the booking, and the other visits of its course still waiting; `detail(visit)` is each one's record."""
    waiting = waiting_with(appointment)
    if not waiting and appointment.status is AppointmentStatus.CANCELLED:
        raise NothingToConfirm("This appointment is cancelled, so there is nothing to confirm.")
    if not waiting:
        raise NothingToConfirm("The patient's identity is already confirmed for this booking.")
    for visit in waiting:
        visit.identity_confirmed_at, visit.identity_confirmed_by = now, by
        record(visit, actor, "identity confirmed", detail(visit), now)


def confirm_from_link(token: str, now: datetime) -> Appointment | None:
    """The patient pressed "Yes, I booked this": confirm the booking (once; pressing again, or
    after the desk confirmed, changes nothing). None for an unknown or expired link."""
    with write_transaction():
        check = check_for(token, now)
        if check is None:
            return None
        appointment = locked(Appointment, check.appointment_id)
        try:
            _confirm(appointment, BY_PATIENT, PATIENT,
                     lambda visit: f"From the link emailed to {visit.patient.email}: earlier visits are now shown "
                                   f"to {visit.practitioner.name}", now)
        except NothingToConfirm:
            pass  # already confirmed (a second press, or the desk was first): nothing to change
    return appointment


def confirm_by_desk(account: StaffAccount, appointment_id: int, now: datetime) -> Appointment:
    """The desk has checked who the patient is (in person or on the phone) and confirms."""
    if not runs_the_desk(account):
        raise NotAllowed()  # a practitioner confirming would open the history to themselves
    with write_transaction():
        appointment = locked(Appointment, appointment_id)
        if appointment is None:
            raise NotVisible()
        _confirm(appointment, account.name, actor(account),
                 lambda visit: f"Checked by the desk: earlier visits are now shown to {visit.practitioner.name}", now)
    return appointment
