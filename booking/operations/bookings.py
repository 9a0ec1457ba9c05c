"""Booking, moving and cancelling: take the lock, check again, write, commit once.

The hands-on parts of two visits of one practitioner must never overlap, nor a bed hold two
visits at once, even when several app processes book at the same instant. Each database gets a
lock before the check: SQLite's write lock (BEGIN IMMEDIATE), or on PostgreSQL transaction-level
advisory locks per practitioner, and for a visit that takes a bed the beds' lock after them
(operations.beds); the PostgreSQL exclusion constraints stay as the last word.
A move or cancellation locks the visit's row first and checks it again under the lock,
so of two changes racing for one visit the first wins and the second is told why.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _

from booking import driver
from booking.extensions import db
from booking.formatting import clinic_time, date_text, end_sentence
from booking.i18n import format_locale, in_current_language, offered_languages
from booking.models import (Appointment, AppointmentStatus, BookingDraft, HandsOnPart, Patient, Practitioner, Service,
                            StaffAccount, StaffRole, held_ranges, visit_shape)
from booking.operations import beds, catalogue, identity
from booking.operations.availability import (
    Slot,
    blocked_ranges,
    find_slots,
    load_clinic,
    load_practitioners,
    load_service,
    nearby_slots,
    outside_booking_window,
)
from booking.models import renew_diary_stamps
from booking.scheduling import BookingRules, TimeRange, candidate_starts
from booking.notify import outbox
from booking.operations.problems import CannotBook
from booking.operations.progress_checks import questions_asked
from booking.operations.safety_signals import signal
from booking.safety import classify, levels_of
from booking.tokens import draft_manage_token, hash_token, new_token
from booking.transaction import advisory_lock, locked, takes_advisory_locks, write_transaction
from booking.operations.history import PATIENT, Actor, record, record_for_new_visit

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone; 32 letters
assert len(REFERENCE_ALPHABET) == 32  # new_reference takes five bits per letter

# Keys for pg_advisory_xact_lock(namespace, id): one namespace per kind of thing locked.
LOCK_PRACTITIONER = 1
LOCK_PATIENT = 2


@dataclass(frozen=True)
class PatientDetails:
    name: str
    email: str  # lower-cased
    phone: str
    born_on: date


@dataclass(frozen=True)
class BookingRequest:
    service: str
    practitioner: str  # slug or "any"
    start: datetime  # aware
    patient: PatientDetails
    safety: tuple[str, ...] = ()
    booked_via: str = "online"
    # The patient's language: the visit's emails and reminders follow it. None (the API, the desk,
    # who do not say): the clinic's first language, which a Spanish-only clinic's is.
    language: str | None = None


@dataclass(frozen=True)
class Booked:
    """What a booking made, as plain values taken before its commit: an answer built from these
    reads nothing again, where the committed rows would each be read afresh."""

    reference: str
    starts_at: datetime
    ends_at: datetime
    practitioner: str  # slug
    service: str  # slug
    safety_flags: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class BookingResult:
    appointment_id: int
    manage_token: str  # shown once, to the patient; only its hash is stored
    booked: Booked | None = None  # for a new booking

    @property
    def appointment(self) -> Appointment:
        """The visit's row, read when asked for (the API's answer never asks: `booked` holds it)."""
        return db.session.get(Appointment, self.appointment_id)


class VisitChanged(CannotBook):
    """The visit is no longer as the person changing it saw it (cancelled, marked, or changed
    by someone else a moment ago): nothing was done, and the message says what it is now."""


class PatientBusy(CannotBook):
    """The patient already has a visit that overlaps the time asked for: one person cannot be at
    two visits, and two practitioners (and two beds) would be held for them."""


class AlreadyBooked(Exception):
    """The draft was booked by an earlier press of the same button: there is nothing to book."""


class EmergencyAnswers(Exception):
    """The safety check found an emergency: no booking is made."""


@dataclass
class SlotTaken(Exception):
    """The time was free when shown but someone else got it first."""

    alternatives: list[Slot] = field(default_factory=list)


def new_reference() -> str:
    """Eight characters of REFERENCE_ALPHABET, uniformly random: its 32 letters take five bits of a
    random byte each (secrets.choice per letter asked the system for randomness eight times)."""
    return "".join(REFERENCE_ALPHABET[byte % 32] for byte in secrets.token_bytes(8))


def lock_practitioners(*practitioner_ids: int) -> None:
    """Until the commit, nothing else changes these practitioners' free time: bookings and
    moves, and the desk's changes of hours and time off, take this lock before they read."""
    advisory_lock(LOCK_PRACTITIONER, *practitioner_ids)


def _patient_lock_key(email: str, born_on: date) -> int:
    digest = hashlib.sha256(f"{email}|{born_on.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def lock_patient(email: str, born_on: date) -> None:
    """On PostgreSQL, hold the lock of whoever has this email and date of birth until the commit:
    a booking and an erasure of the same patient happen one after the other."""
    if takes_advisory_locks():
        advisory_lock(LOCK_PATIENT, _patient_lock_key(email, born_on))


def lock_patient_of(appointment_id: int) -> None:
    """lock_patient for the visit's patient, taken before the visit's row: an erasure holds the
    patient's lock and then waits for the rows, so a move holding the row and then waiting for the
    patient's lock deadlocked (found in review). Who a visit is for never changes. Taking it twice
    in one transaction (the desk's move, then the move itself) is harmless."""
    who = db.session.execute(sa.select(Patient.email, Patient.born_on).join(
        Appointment, Appointment.patient_id == Patient.id).where(Appointment.id == appointment_id)).first()
    if who is not None and who.email is not None and who.born_on is not None:
        lock_patient(who.email, who.born_on)


def find_or_add_patient(details: PatientDetails, now: datetime) -> Patient:
    """The patient with this email and date of birth, or a new one."""
    patient = db.session.scalar(
        sa.select(Patient).where(Patient.email == details.email, Patient.born_on == details.born_on)
    )
    if patient is None:
        patient = Patient(**_new_patient(details, now))
        db.session.add(patient)
    # An existing record is not changed here: anyone who knows an email and a date of
    # birth can book, so contact details are corrected by the clinic, not by a booking.
    return patient


def _new_patient(details: PatientDetails, now: datetime) -> dict:
    return {"name": details.name, "email": details.email, "phone": details.phone, "born_on": details.born_on,
            "created_at": now}


class OnFile(NamedTuple):
    """A patient's record as plain values."""

    id: int
    name: str
    email: str
    phone: str


_ON_FILE = sa.select(Patient.id, Patient.name, Patient.email, Patient.phone).where(
    Patient.email == sa.bindparam("email"), Patient.born_on == sa.bindparam("born_on"))
_INSERT_PATIENT = sa.insert(Patient.__table__).returning(Patient.__table__.c.id)


def patient_on_file(details: PatientDetails) -> OnFile | None:
    """The record with this email and date of birth, if there is one (as find_or_add_patient finds it)."""
    rows = driver.run(_ON_FILE, {"email": details.email, "born_on": details.born_on})
    return OnFile(*rows[0]) if rows else None


def _add_patient(details: PatientDetails, now: datetime) -> int:
    """A new patient's record, inserted without the ORM; its id."""
    return driver.run(_INSERT_PATIENT, _new_patient(details, now))[0][0]


def has_visited(patient: Patient | OnFile) -> bool:
    """Whether the patient has a visit that is not cancelled (so a service for new patients is not theirs)."""
    if patient.id is None:
        return False
    return bool(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Appointment).where(
                Appointment.patient_id == patient.id,
                Appointment.status.in_(AppointmentStatus.holding_time()),
            )
        )
    )


def _off_the_grid(clinic, start: datetime) -> str:
    local = start.astimezone(clinic.zone)
    return (
        f"{local:%Y-%m-%d %H:%M %Z} ({clinic.timezone}) is not a start time on offer: starts fall inside "
        f"working hours, every {clinic.slot_step_minutes} minutes from the start of each working period; "
        "the calendar and /api/v1/slots show the free ones"
    )


def describe(clinic, practitioner: Practitioner, start: datetime) -> str:
    """'Mar 9, 2027, 10:00 AM with Ana Test': a time and who, in the clinic's time, as its staff
    read it (English in the clinic's country), for history lines and the desk's messages."""
    return f"{staff_time(clinic, start)} with {practitioner.name}"


def staff_time(clinic, start: datetime) -> str:
    """'Mar 9, 2027, 10:00 AM': a time as describe() writes it."""
    return clinic_time(start, clinic, format_locale('en', clinic.locale), 'medium')


def staff_date(clinic, day: date) -> str:
    """'Mar 9, 2027': a date as staff_time() writes it."""
    return date_text(day, format_locale("en", clinic.locale), "medium")


def booked_line(service, when: str, practitioner, booked_via: str) -> str:
    """The history line of a new booking: what, when (staff_time) and with whom, and how it was booked."""
    return f"{service.name}, {when} with {practitioner.name}, booked {BOOKED_VIA.get(booked_via, booked_via)}"


BOOKED_VIA = {"online": "online", "api": "through the booking API", "desk": "by the clinic",
              "waitlist": "from a waitlist offer"}


def book(
    request: BookingRequest,
    now: datetime,
    *,
    draft: BookingDraft | None = None,
    draft_key: str | None = None,
    actor: Actor = PATIENT,
    rules: BookingRules | None = None,
) -> BookingResult:
    """Book the requested time, or raise CannotBook, EmergencyAnswers or SlotTaken.

    Nothing is written unless the whole booking succeeds. A draft that this booking
    completes (with `draft_key`, the raw key from the patient's session) is updated in the
    same commit, and the manage link is made from that key so the confirmation page can
    make it again (tokens.draft_manage_token). `rules` replaces the clinic's online rules
    (for the desk).

    Only the check of the one time and the writing happen under the lock (SQLite's write lock
    serialises every writer): the secrets and the reference are made before it. The
    rows are written as Core INSERTs, the ORM being most of a booking's cost; what only some
    bookings need (an urgent answer's signal, a returning patient's checks) reads the visit's row
    afterwards, in the same transaction.
    """
    if (draft is None) != (draft_key is None):
        raise ValueError("a draft is booked with its key, and a key only with its draft")
    answers = checked_safety(request)
    reference = new_reference()
    token = draft_manage_token(draft_key, reference) if draft_key else new_token()

    with write_transaction(taken=lambda: _taken(request.service, request.practitioner, request.start, now, rules=rules)):
        if draft is not None and locked(BookingDraft, draft.id).appointment_id is not None:
            raise AlreadyBooked()  # a second press that waited for the first one's lock
        known = catalogue.current()  # under the lock: the hours and rules as they are now
        # The clinic's row is not needed (the catalogue carries its zone, locale and languages): the
        # API reads none, and a caller's copy was dropped with its read transaction anyway.
        # A language the clinic stopped offering since the request was read: its first, as for none.
        when = staff_time(known, request.start)
        language = request.language if request.language in known.languages else known.languages[0]
        service = known.service(request.service)
        practitioners = known.practitioners_for(service, request.practitioner)
        if not practitioners:
            raise CannotBook("practitioner", f"nobody offers {service.slug!r} at the moment")
        lock_patient(request.patient.email, request.patient.born_on)
        lock_practitioners(*(p.id for p in practitioners))
        if service.needs_bed:
            beds.lock_beds()  # before the beds are read, for the check and the choice alike
        chosen = (free_at(known, service, practitioners, request.start, now, rules)
                  or claim_slot(load_clinic(), service, practitioners, request.start, now, rules=rules))
        practitioner = next(p for p in practitioners if p.slug == chosen.practitioner)
        bed = beds.take_bed(service, chosen.start)

        on_file = patient_on_file(request.patient)  # an existing record is not changed (find_or_add_patient)
        if on_file is not None:
            refuse_if_not_new(service, on_file, request.booked_via)
            refuse_if_patient_busy(known, on_file.id, on_file.name, chosen.start, chosen.end, actor=actor,
                                   own_link=request.booked_via == "waitlist")
        patient_id = on_file.id if on_file is not None else _add_patient(request.patient, now)
        [(appointment_id,)] = driver.run(_INSERT_VISIT, {
            **visit_values(service, chosen, request, answers, reference, token, language, now),
            **identity.new_booking_identity(on_file, practitioner.id, request.booked_via, request.patient.name,
                                            request.patient.phone, now),
            "practitioner_id": practitioner.id, "service_id": service.id, "patient_id": patient_id, **bed,
        })
        write_parts(appointment_id, practitioner.id, service, chosen.start)
        renew_diary_stamps(db.session, [practitioner.id])  # as the ORM's flush does for a visit it writes (models)
        record_for_new_visit(appointment_id, actor, "booked",
                             booked_line(service, when, practitioner, request.booked_via), now)
        result = BookingResult(appointment_id, token, Booked(reference, chosen.start, chosen.end, chosen.practitioner,
                                                             service.slug, tuple(answers.urgent), language))
        if draft is not None:  # the draft locked above: its row is in the session
            draft.appointment_id, draft.lost_race = appointment_id, False
        if on_file is None and not answers.urgent:
            # A new patient's plain booking: nothing to signal or confirm, and no earlier intake to build on.
            outbox.queue_for_new_visit("confirmation", appointment_id, request.patient.email, now, questions="intake")
            return result
        appointment = result.appointment
        signal(appointment, levels_of(answers.urgent), "booking", now)
        db.session.flush()  # its alert before the confirmation, as the emails have always been queued
        outbox.queue_for_new_visit("confirmation", appointment_id, appointment.patient.email, now,
                                   questions=questions_asked(appointment))
        ask_who_booked(appointment, actor, now)
    return result


def checked_safety(request: BookingRequest):
    """The request's safety answers classified; CannotBook for unknown codes, EmergencyAnswers for
    an emergency (nothing is booked then)."""
    answers = classify(list(request.safety))
    if answers.unknown:
        raise CannotBook("safety", f"unknown safety codes: {', '.join(answers.unknown)}")
    if answers.stops_booking:
        raise EmergencyAnswers()
    return answers


_OTHER_VISIT = (
    sa.select(Appointment.starts_at, Appointment.practitioner_id, Service.name, Practitioner.name)
    .join(Service, Appointment.service_id == Service.id).join(Practitioner, Appointment.practitioner_id == Practitioner.id)
    .where(Appointment.patient_id == sa.bindparam("patient_id"),
           Appointment.status.in_(AppointmentStatus.holding_time()),
           Appointment.starts_at < sa.bindparam("ends"), Appointment.ends_at > sa.bindparam("starts"),
           Appointment.id != sa.bindparam("ignoring"))
    .order_by(Appointment.starts_at).limit(1)
)


def clashes_with_other_visits(appointment: Appointment, starts: datetime, ends: datetime) -> Callable[[datetime], bool]:
    """Whether a start for this visit (being moved) would overlap another of its patient's visits
    between starts and ends: one read, then a test per start. Such a time is not theirs to take
    (refuse_if_patient_busy), so the lists of times to move to leave it out rather than offer it
    and then refuse it."""
    rows = db.session.execute(sa.select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.patient_id == appointment.patient_id, Appointment.status.in_(AppointmentStatus.holding_time()),
        Appointment.starts_at < ends, Appointment.ends_at > starts, Appointment.id != appointment.id))
    visits, minutes = [TimeRange(begins, finishes) for begins, finishes in rows], appointment.service.minutes
    return lambda start: clashes(visits, start, minutes)


def clashes(visits: list[TimeRange], start: datetime, minutes: int) -> bool:
    """Whether a visit of `minutes` from `start` overlaps one of these (their buffers may overlap)."""
    wanted = TimeRange(start, start + timedelta(minutes=minutes))
    return any(visit.overlaps(wanted) for visit in visits)


def refuse_if_patient_busy(clinic, patient_id: int, patient_name: str, start: datetime, end: datetime, *,
                           actor: Actor, own_link: bool = False, ignoring: int | None = None) -> None:
    """PatientBusy when the patient has another visit (not `ignoring`, the one being moved) that
    overlaps start-end: the desk booked one patient into two visits at once, and so could the API
    and a reschedule (two hands-on trials). Their own buffers may overlap: only the visits may not.
    Read under the booking's locks (the patient's, on PostgreSQL), so two bookings of one patient
    cannot both pass it.

    The other visit is named only to staff who may see it (the desk, an admin, its own
    practitioner): to whoever typed an email and a date of birth, or a practitioner booking a
    patient of theirs who also sees someone else, that the patient has a visit then is all.
    `own_link`: the patient came through a link of their own (a move, a waitlist offer), so they are
    spoken to as themselves, not as "these details"."""
    found = db.session.execute(_OTHER_VISIT, {"patient_id": patient_id, "starts": start, "ends": end,
                                              "ignoring": ignoring or 0}).first()
    if found is None:
        return
    other_start, other_practitioner_id, service_name, practitioner_name = found
    if actor.staff_id is None:
        raise PatientBusy("start", _(
            "You already have another visit at that time. Choose another time, or change that visit with the "
            "link in its email.") if own_link else _(
            "These details match a patient who already has a visit at that time. Choose another time, or change "
            "that visit with the link in its email."))
    account = db.session.get(StaffAccount, actor.staff_id)
    if account is not None and (account.role is not StaffRole.PRACTITIONER
                                or account.practitioner_id == other_practitioner_id):
        raise PatientBusy("start", end_sentence(f"{patient_name} already has a visit then: {service_name}, "
                                                f"{staff_time(clinic, other_start)} with {practitioner_name}")
                          + " Choose another time, or move that visit first.")
    raise PatientBusy("start", f"{patient_name} already has another visit at that time: choose another time.")


def refuse_if_not_new(service: Service, patient: Patient, booked_via: str) -> None:
    """CannotBook when a service for new patients is asked for by someone who has booked before
    (in staff words when the desk asks, `booked_via` "desk")."""
    if service.new_patients_only and has_visited(patient):
        raise CannotBook("service", (
            f"'{service.name}' is for patients new to the clinic, and {patient.name} has booked before. "
            "Choose a follow-up visit instead."
        ) if booked_via == "desk" else _(
            "'%(service)s' is for patients new to the clinic, and these details match a patient who "
            "already has a booking with us. Choose a follow-up, or call the clinic if that is not right.",
            service=in_current_language(service, "name"),
        ))


def add_visit(clinic, service: Service, practitioner: Practitioner, patient: Patient, chosen: Slot,
              request: BookingRequest, answers, reference: str, token: str, actor: Actor, now: datetime) -> Appointment:
    """A new booked visit in the slot just claimed, with its history line; the caller commits."""
    appointment = Appointment(practitioner=practitioner, service=service, patient=patient, **visit_values(
        service, chosen, request, answers, reference, token, request.language or offered_languages(clinic)[0], now),
        **beds.take_bed(service, chosen.start))
    db.session.add(appointment)
    identity.settle_new_booking(appointment, request.patient.name, request.patient.phone, now)
    record(appointment, actor, "booked",
           booked_line(service, staff_time(clinic, chosen.start), practitioner, request.booked_via), now)
    return appointment


_INSERT_VISIT = sa.insert(Appointment.__table__).returning(Appointment.__table__.c.id)
_INSERT_PART = sa.insert(HandsOnPart.__table__)


def write_parts(appointment_id: int, practitioner_id: int, service, start: datetime) -> None:
    """A visit inserted without the ORM gets its hands-on parts as the flush gives them (models._keep_parts)."""
    shape = visit_shape(service)
    for held in held_ranges(shape, start, start + timedelta(minutes=shape.minutes + shape.buffer_minutes)):
        driver.run(_INSERT_PART, {"appointment_id": appointment_id, "practitioner_id": practitioner_id,
                                  "starts_at": held.start, "ends_at": held.end, "holds_time": True})


def visit_values(service, chosen: Slot, request: BookingRequest, answers, reference: str, token: str, language: str,
                 now: datetime) -> dict:
    """A new booked visit's own columns (whose visit it is, with whom and for what, are the caller's)."""
    return {
        "reference": reference,
        "starts_at": chosen.start,
        "ends_at": chosen.end,
        "occupied_until": chosen.start + timedelta(minutes=service.minutes + service.buffer_minutes),
        "status": AppointmentStatus.BOOKED,
        "safety_flags": list(answers.urgent),
        "manage_token_hash": hash_token(token),
        "booked_via": request.booked_via,
        "created_at": now,
        "safety_checked_at": now,
        "safety_answers": list(answers.urgent),
        "language": language,
    }


def ask_who_booked(appointment: Appointment, actor: Actor, now: datetime,
                   course: list[Appointment] | None = None) -> None:
    """A booking matching a patient seen by other practitioners waits for the patient to confirm
    from an emailed link (operations.identity), one email for every visit of a `course` booked
    together; nothing happens for any other booking."""
    if appointment.identity_pending:
        record(appointment, actor, "identity pending", (
            "These details match a patient who has visits with other practitioners: their earlier visits "
            f"stay hidden from {appointment.practitioner.name} until the patient confirms from the link "
            f"emailed to {appointment.patient.email}, or the desk confirms"), now)
        identity.queue_request(appointment, now, course)


def move(
    appointment_id: int,
    start: datetime,
    now: datetime,
    *,
    practitioner_slug: str | None = None,
    actor: Actor = PATIENT,
    rules: BookingRules | None = None,
    new_link: bool = True,
    seen: int | None = None,
) -> BookingResult:
    """Move an appointment to a new start (and practitioner, if named), in one transaction.

    The old time is given up only if the new one is taken. A patient's move replaces
    their manage link (returned in the result); a move by the desk keeps the link the
    patient already has, and returns a result without a token. `seen` is the visit's
    sequence as the person moving it saw it: if it changed since, nothing is moved.
    """
    def alternatives() -> SlotTaken:
        appointment = db.session.get(Appointment, appointment_id)
        return _taken(appointment.service.slug, practitioner_slug or appointment.practitioner.slug, start, now,
                      ignoring=appointment_id, rules=rules)

    with write_transaction(taken=alternatives):
        lock_patient_of(appointment_id)  # (the patient's other visits are read below)
        appointment = _changing(appointment_id, seen, "start", actor)
        if start == appointment.starts_at and practitioner_slug in (None, appointment.practitioner.slug):
            raise CannotBook("start", _("That is the time the visit has now: choose a different time."))
        clinic = load_clinic()
        before = describe(clinic, appointment.practitioner, appointment.starts_at)
        # The old time goes to the email as an instant: it is written there in the patient's language and locale.
        was_at, was_with = appointment.starts_at, appointment.practitioner.name
        before_practitioner_id, was_held = appointment.practitioner_id, TimeRange(was_at, appointment.occupied_until)
        target = load_practitioners(appointment.service, practitioner_slug or appointment.practitioner.slug)[0]
        had_bed = appointment.room_id is not None
        # A visit with a bed gives its old bed back, which is offered to every practitioner's waiting
        # patients below: their locks are all taken now, in one sorted go, before the beds'.
        everyone = [p.id for p in catalogue.current().active_practitioners()] if had_bed else []
        patient = appointment.patient
        lock_practitioners(appointment.practitioner_id, target.id, *everyone)
        if appointment.service.needs_bed:
            beds.lock_beds()
        chosen = claim_slot(clinic, appointment.service, [target], start, now, ignoring=appointment.id, rules=rules)
        refuse_if_patient_busy(clinic, patient.id, patient.name, chosen.start, chosen.end, actor=actor, own_link=True,
                               ignoring=appointment.id)
        bed = beds.take_bed(appointment.service, chosen.start, ignoring=appointment.id)  # read before the move is flushed
        appointment.move_to(chosen.start)
        appointment.room_id, appointment.bed = bed["room_id"], bed["bed"]
        changed_hands = target.id != appointment.practitioner_id
        appointment.practitioner = target
        token = new_token() if new_link else ""
        if new_link:  # the patient's old links stop working; the notice of the move carries a new one
            appointment.manage_token_hash = hash_token(token)
            outbox.drop_links(appointment)
        record(appointment, actor, "moved", f"From {before} to {describe(clinic, target, chosen.start)}", now)
        _offer_to_waitlist(before_practitioner_id, was_held, now, bed_freed=had_bed, patient_id=appointment.patient_id)
        if changed_hands:  # before the email, whose questions follow whether the booking now waits
            identity.after_move_to_another_practitioner(appointment, actor, now)
        outbox.queue("moved", appointment, now, was_at=was_at, was_with=was_with, questions=questions_asked(appointment))
    return BookingResult(appointment.id, token)


def cancel(appointment_id: int, reason: str, now: datetime, *, actor: Actor = PATIENT,
           patient_asked: bool = True, seen: int | None = None, email: bool = True) -> Appointment:
    """Cancel the appointment, freeing its time; the email tells the patient whose wish it was
    (unless `email` is False: the caller sends one email for several visits). `seen` as for move."""
    with write_transaction():
        appointment = _changing(appointment_id, seen, "reason", actor)
        appointment.cancel(now, reason)
        record(appointment, actor, "cancelled", reason or "No reason given", now)
        if email:
            outbox.queue("cancelled", appointment, now, by_clinic=not patient_asked)
        _offer_to_waitlist(appointment.practitioner_id, TimeRange(appointment.starts_at, appointment.occupied_until), now,
                           bed_freed=appointment.room_id is not None, patient_id=appointment.patient_id)
    return appointment


# Called with (practitioner id, the span its visit held, now, bed_freed=..., given_up_by=...) inside the transaction of a
# cancel or a move that gave time up: operations.waitlist offers it. A list it adds itself to, since
# it books through this module and so cannot be imported by it.
WHEN_TIME_FREED: list = []


def _offer_to_waitlist(practitioner_id: int, given_up: TimeRange, now: datetime, *, bed_freed: bool = False,
                      patient_id: int | None = None) -> None:
    """The time a cancel or move gave up goes to the waitlist, in the same commit. `bed_freed`: it
    gave a bed back too, which other practitioners' patients may now have (their times are offered
    as well; a move has taken every practitioner's lock before the beds', for this). `patient_id`:
    whose visit it was, who is not offered it back."""
    for offer in WHEN_TIME_FREED:
        offer(practitioner_id, given_up, now, bed_freed=bed_freed, given_up_by=patient_id)


def set_language(appointment_id: int, language: str) -> None:
    """The language the patient now reads the visit's pages in: its later emails follow it."""
    with write_transaction():
        appointment = locked(Appointment, appointment_id)
        if appointment is not None:
            appointment.language = language


def unchangeable(appointment: Appointment) -> str | None:
    """Why the visit may not be moved or cancelled, or None: only booked visits change, so a
    record of a visit that happened (or was missed) is never rewritten."""
    if appointment.status is AppointmentStatus.CANCELLED:
        return "This appointment is already cancelled."
    if appointment.status is not AppointmentStatus.BOOKED:
        return (f"This appointment is marked {appointment.status.label.lower()}, so it stays as a record of "
                "the visit. Undo the mark first if it was pressed by mistake.")
    return None


def changed_meanwhile() -> str:
    return _("This appointment was changed a moment ago, so nothing was done: look at it again before changing it.")


def _status_word(status: AppointmentStatus) -> str:
    """How a patient reads the mark the clinic put on their visit, in their language."""
    return {AppointmentStatus.ARRIVED: _("arrived"), AppointmentStatus.COMPLETED: _("completed"),
            AppointmentStatus.NO_SHOW: _("missed")}.get(status, status.label.lower())


def _changing(appointment_id: int, seen: int | None, field: str, actor: Actor) -> Appointment:
    """The visit about to be moved or cancelled, locked until the commit and checked again
    under the lock: a racing change that committed first is seen here, never overwritten."""
    appointment = locked(Appointment, appointment_id)
    if appointment is None:
        raise VisitChanged(field, _("This appointment no longer exists."))
    problem = unchangeable(appointment)
    if problem and actor is PATIENT and appointment.status is not AppointmentStatus.CANCELLED:
        problem = _("The clinic has marked this visit as %(status)s, so it can no longer be changed online. "
                    "Phone the clinic if something is not right.", status=_status_word(appointment.status))
    elif problem and actor is PATIENT:
        problem = _("This appointment is already cancelled.")
    if problem:
        raise VisitChanged(field, problem)
    if seen is not None and appointment.sequence != seen:
        raise VisitChanged(field, changed_meanwhile())
    return appointment


def free_at(known, service, practitioners, start: datetime, now: datetime,
            rules: BookingRules | None = None) -> Slot | None:
    """The slot at `start` with the first of the practitioners (by slug, as find_slots orders them) who
    is free then, or None (claim_slot then works out why). One indexed read of what lies across the
    visit's time, not the day's diary: a start is free when it is on the grid of the practitioner's
    hours, inside the booking window, clear of time off for the treatment and clear of visits that
    hold time for the treatment and buffer (exactly what scheduling.free_starts asks)."""
    rules = rules or known.booking_rules
    if service.hands_on or service.needs_bed or outside_booking_window(known, start, now, rules):
        return None  # claim_slot works it out with the whole shape (and says why, when it is not free)
    day, zone = start.astimezone(known.zone).date(), known.zone
    on_grid = [p for p in practitioners
               if start in candidate_starts(day, p.working_intervals, (), service.minutes, rules.step_minutes, zone)]
    if not on_grid:
        return None
    treatment = TimeRange(start, start + timedelta(minutes=service.minutes))
    held = TimeRange(start, treatment.end + timedelta(minutes=service.buffer_minutes))
    time_off, busy = blocked_ranges([p.id for p in on_grid], held)
    for practitioner in sorted(on_grid, key=lambda p: p.slug):
        if not any(cut.overlaps(treatment) for cut in time_off[practitioner.id]) and \
                not any(visit.overlaps(held) for visit in busy[practitioner.id]):
            return Slot(start, treatment.end, practitioner.slug)
    return None


def claim_slot(clinic, service, practitioners, start: datetime, now: datetime, *, ignoring: int | None = None,
           rules: BookingRules | None = None) -> Slot:
    """The free slot at `start`, or CannotBook (never on offer) or SlotTaken (someone was quicker)."""
    outside = outside_booking_window(clinic, start, now, rules)
    if outside:
        raise CannotBook("start", outside)
    day = start.astimezone(clinic.zone).date()
    free = find_slots(clinic, service, practitioners, day, 1, now, ignoring=ignoring, rules=rules)
    chosen = next((slot for slot in free if slot.start == start), None)
    if chosen is not None:
        return chosen
    never = never_on_offer(clinic, service, practitioners, start, now, rules)
    if never is None:
        raise SlotTaken(nearby_slots(clinic, service, practitioners, start, now, ignoring=ignoring, rules=rules))
    raise CannotBook("start", never)


def never_on_offer(clinic, service, practitioners, start: datetime, now: datetime,
                   rules: BookingRules | None = None) -> str | None:
    """Why `start` is no start of this service with these practitioners even with no visit
    booked (off the grid, outside hours, in time off), or None when only visits stand in its way."""
    day = start.astimezone(clinic.zone).date()
    in_empty_diary = find_slots(clinic, service, practitioners, day, 1, now, count_bookings=False, rules=rules)
    return None if any(slot.start == start for slot in in_empty_diary) else _off_the_grid(clinic, start)


def _taken(service_slug: str, practitioner_slug: str, start: datetime, now: datetime, *, ignoring=None,
           rules: BookingRules | None = None) -> SlotTaken:
    """A SlotTaken carrying the free times nearest to the one that was lost."""
    clinic = load_clinic()
    service = load_service(service_slug)
    practitioners = load_practitioners(service, practitioner_slug)
    return SlotTaken(nearby_slots(clinic, service, practitioners, start, now, ignoring=ignoring, rules=rules))
