"""A patient's data rights: everything held about them, and erasing them.

Only admins reach these (booking.rights). Every export is written to the audit log in its
own commit before anything is shown, like every look at an intake (operations.clinical).

Erasing removes the patient's contact details, date of birth and every answer they gave
(booking safety answers, intakes with their scores, progress checks, safety signals, booking
drafts, the bodies of emails about them, free text in cancellations and history), their
consents and their visits' treatment notes with the addenda, and keeps
their appointments as anonymous history: times, practitioner, service and status, so the
calendar and every count stay true. Booked visits still ahead are cancelled (README: why).
It all happens in one write transaction, with the erasure's record (who, when, why) and an
audit entry, so a patient is never half-erased. `flask retention purge` erases through the
same `erase_in_transaction`, with the reason "retention".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.transaction import locked, write_transaction
from booking.retention_period import retention_of
from booking.models import (
    ERASED_NAME,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AuditEntry,
    BookingDraft,
    Clinic,
    IdentityCheck,
    ConsentRecord,
    Intake,
    ManageLink,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientErasure,
    ProgressCheck,
    SafetySignal,
    StaffAccount,
    StaffRole,
    TreatmentNote,
    WaitlistEntry,
    WaitlistLink,
    WaitlistOffer,
)
from booking.operations import bookings, notes
from booking.operations.availability import load_clinic
from booking.operations.permissions import NotVisible
from booking.tokens import hash_token, new_token

EXPORT_FORMAT = {"name": "patient-data", "version": 1}

# History lines whose detail is only times, practitioners, services and statuses: kept as they
# are. Any other line's detail (a cancellation's reason, the address a link went to, and any
# kind added later) is emptied by an erasure.
PLAIN_HISTORY = frozenset({"booked", "moved", "arrived", "completed", "no-show", "reopened"})
CANCELLED_BY_ERASURE = "The patient's record was erased"
ERASED_EVENT = "The patient's contact details and answers were erased; the visit is kept as anonymous history"
ERASED_EMAIL = "Erased with the patient's record"
NOT_SENT = "Not sent: the patient's record was erased first."
REASON_LENGTH = 500


@dataclass(frozen=True)
class Who:
    """Who exports or erases, as the audit log and the erasure's record name them: a staff
    member, or the retention purge."""

    name: str
    role: str
    staff_id: int | None = None

    @classmethod
    def of(cls, account: StaffAccount) -> Who:
        return cls(account.name, account.role.value, account.id)


RETENTION_PURGE = Who("Retention purge", "system")
RETENTION_REASON = "retention"


class AlreadyErased(Exception):
    """The patient was erased before; `erasure` says when, by whom and why."""

    def __init__(self, erasure: PatientErasure | None):
        super().__init__("already erased")
        self.erasure = erasure


# --- who may, and the audit log ----------------------------------------------------------

def may_use_rights(account: StaffAccount) -> bool:
    """Exports and erasure are the clinic owner's: they hold every answer a patient gave."""
    return account.role is StaffRole.ADMIN


def open_patient_data(account: StaffAccount, patient_id: int, action: str, address: str, now: datetime,
                      shown: bool = True) -> None:
    """Check the account may export this patient, and log the export before it happens (its own
    commit). `shown` is False for a HEAD request, which receives nothing: nothing to log."""
    with write_transaction():
        if not may_use_rights(account) or db.session.get(Patient, patient_id) is None:
            raise NotVisible()
        if shown:
            db.session.add(_audit(Who.of(account), action, patient_id, address, now))


def _audit(who: Who, action: str, patient_id: int, address: str, now: datetime) -> AuditEntry:
    return AuditEntry(at=now, staff_id=who.staff_id, staff_name=who.name, staff_role=who.role, action=action,
                      appointment_id=None, patient_id=patient_id, address=address[:64])


# --- everything held about a patient --------------------------------------------------------

def erasure_of(patient_id: int) -> PatientErasure | None:
    return db.session.scalar(sa.select(PatientErasure).where(PatientErasure.patient_id == patient_id))


@dataclass
class PatientData:
    """Every record held about one patient, loaded in a fixed number of queries."""

    patient: Patient
    appointments: list[Appointment]  # oldest first, each with its history, signals, intake and check
    emails: list[OutboxMessage]
    audit: list[AuditEntry]
    erasure: PatientErasure | None
    notes_by_visit: dict[int, TreatmentNote]  # each visit's treatment note, with its addenda
    # Their places on the waitlist, by their email and date of birth (as erasure takes them).
    waitlist_places: list[WaitlistEntry] = field(default_factory=list)

    @property
    def treatment_notes(self) -> list[TreatmentNote]:
        """The notes in the order of their visits, oldest first."""
        return [self.notes_by_visit[a.id] for a in self.appointments if a.id in self.notes_by_visit]

    @property
    def intakes(self) -> list[Intake]:
        return [a.intake for a in self.appointments if a.intake is not None]

    @property
    def progress_checks(self) -> list[ProgressCheck]:
        return [a.progress_check for a in self.appointments if a.progress_check is not None]

    @property
    def consents(self) -> list[ConsentRecord]:
        return [a.consent for a in self.appointments if a.consent is not None]

    @property
    def signals(self) -> list[SafetySignal]:
        return [signal for a in self.appointments for signal in a.signals]


def patient_data(patient_id: int) -> PatientData:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotVisible()
    appointments = list(db.session.scalars(
        sa.select(Appointment).where(Appointment.patient_id == patient_id)
        .options(selectinload(Appointment.service), selectinload(Appointment.practitioner),
                 selectinload(Appointment.history), selectinload(Appointment.signals),
                 selectinload(Appointment.intake), selectinload(Appointment.progress_check),
                 selectinload(Appointment.consent).selectinload(ConsentRecord.version))
        .order_by(Appointment.starts_at, Appointment.id)
    ))
    ids = [a.id for a in appointments]
    # By visit, never by address: a parent and child may share one email address.
    emails = list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.appointment_id.in_(ids))
        .options(selectinload(OutboxMessage.appointment)).order_by(OutboxMessage.id))) if ids else []
    audit = list(db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.patient_id == patient_id)
        .options(selectinload(AuditEntry.appointment)).order_by(AuditEntry.id)))
    places = list(db.session.scalars(
        sa.select(WaitlistEntry).where(WaitlistEntry.email == patient.email, WaitlistEntry.born_on == patient.born_on)
        .options(selectinload(WaitlistEntry.service), selectinload(WaitlistEntry.practitioner))
        .order_by(WaitlistEntry.id))) if patient.email else []
    return PatientData(patient, appointments, emails, audit, erasure_of(patient_id), notes.notes_by_appointment(ids),
                       places)


def export(data: PatientData, clinic: Clinic, now: datetime,
           readable: Callable[[dict], list[tuple[str, str, list[tuple[str, str]]]]]) -> dict:
    """The patient's data as plain JSON-ready values, in the shape the README documents.

    Times are ISO 8601 in the clinic's zone, with their offset. `readable` turns an intake's
    stored answers into (step, heading, [(question, answer)]) as the patient was asked them.
    Outbox messages are described, never copied: no body (it would carry a manage link's
    placeholder, or a live link while unsent), no token.
    """
    def local(instant: datetime | None) -> str | None:
        return instant.astimezone(clinic.zone).isoformat() if instant else None

    patient = data.patient
    references = {a.id: a.reference for a in data.appointments}

    def scores(record, names):
        return {name: getattr(record, name) for name in names}

    return {
        "format": EXPORT_FORMAT,
        "exported_at": local(now),
        "clinic": {"name": clinic.name, "timezone": clinic.timezone},
        "patient": {
            "id": patient.id, "name": patient.name, "email": patient.email, "phone": patient.phone,
            "born_on": patient.born_on.isoformat() if patient.born_on else None,
            "created_at": local(patient.created_at), "erased_at": local(patient.erased_at),
        },
        "appointments": [{
            "reference": a.reference,
            "service": {"slug": a.service.slug, "name": a.service.name},
            "practitioner": {"slug": a.practitioner.slug, "name": a.practitioner.name},
            "start": local(a.starts_at), "end": local(a.ends_at), "status": a.status.value,
            "booked_via": a.booked_via, "booked_at": local(a.created_at),
            "cancelled_at": local(a.cancelled_at), "cancel_reason": a.cancel_reason,
            "questions": a.intake_status.value, "flag_level": a.alert_level,
            "safety_check": {"urgent_at_booking": list(a.safety_flags or []),
                             "last_answered_at": local(a.safety_checked_at),
                             "last_answers": a.safety_answers},
            "history": [{"at": local(e.at), "by": e.actor, "action": e.action, "detail": e.detail}
                        for e in a.history],
        } for a in data.appointments],
        "safety_signals": [{
            "appointment": references[s.appointment_id], "level": s.level, "given_in": s.source,
            "codes": list(s.codes), "at": local(s.raised_at),
        } for s in data.signals],
        "intakes": [{
            "appointment": references[i.appointment_id], "form_version": i.form_version,
            "started_at": local(i.started_at), "updated_at": local(i.updated_at), "sent_at": local(i.sent_at),
            "answers": i.answers,
            "readable": [{"section": heading, "answers": [{"question": q, "answer": answer} for q, answer in rows]}
                         for _, heading, rows in readable(i.answers)],
            "derived": scores(i, ("duration_band", "duration_days", "nerve_root_pattern", "emergency_flags",
                                  "urgent_flags", "precautions", "risk_factors")),
            "scores": scores(i, ("pain_now", "pain_average", "pain_worst", "psfs_score", "start_back_total",
                                 "start_back_psychosocial", "start_back_risk")),
        } for i in data.intakes],
        "progress_checks": [{
            "appointment": references[c.appointment_id], "sent_at": local(c.sent_at),
            "scores": scores(c, ("pain_now", "pain_average", "pain_worst", "psfs_score")),
            "activities": c.activities, "after_effects": c.after_effects or [],
            "after_effects_other": c.after_effects_other, "safety_codes": c.safety_codes or [],
        } for c in data.progress_checks],
        # Each consent with the very text agreed to (its version, in the language it was read in).
        "consents": [{
            "appointment": references[c.appointment_id], "given_at": local(c.given_at), "how": c.how,
            "how_given": c.how_given, "signed_name": c.signed_name, "version": c.version.number,
            "language": c.language, "text": c.version.texts.get(c.language),
        } for c in data.consents],
        # Each visit's note as written: a draft says so ("status"); a signed one has its signer and addenda.
        "treatment_notes": [{"appointment": references[n.appointment_id], **notes.as_data(n, local)}
                            for n in data.treatment_notes],
        # Each place on the waitlist: what they asked for, and the urgent answers it keeps.
        "waitlist_places": [{
            "service": w.service.slug, "practitioner": w.practitioner.slug if w.practitioner else "any",
            "from": w.first_day.isoformat(), "to": w.last_day.isoformat(), "weekdays": w.weekdays,
            "parts_of_day": w.parts_of_day, "name": w.name, "email": w.email, "phone": w.phone,
            "safety_answers": w.safety_answers, "joined_at": local(w.joined_at), "joined_via": w.joined_via,
            "state": w.state.value, "ended_at": local(w.ended_at),
            "appointment": references.get(w.appointment_id),
        } for w in data.waitlist_places],
        "emails": [{
            "id": m.id, "kind": m.kind, "appointment": references.get(m.appointment_id), "to": m.to_address,
            "subject": m.subject, "status": m.status.value, "written_at": local(m.created_at),
            "sent_at": local(m.sent_at), "attempts": m.attempts,
        } for m in data.emails],
        "audit": [{
            "at": local(entry.at), "by": entry.staff_name, "role": entry.staff_role, "action": entry.action,
            "appointment": references.get(entry.appointment_id),
        } for entry in data.audit],
        "erasure": None if data.erasure is None else {
            "erased_at": local(data.erasure.erased_at), "by": data.erasure.erased_by, "reason": data.erasure.reason,
            "appointments_kept": data.erasure.appointments_kept,
            "appointments_cancelled": data.erasure.appointments_cancelled,
        },
    }


# --- erasure ---------------------------------------------------------------------------------

@dataclass
class ErasurePlan:
    """What erasing a patient would remove and keep, for the confirmation page."""

    patient: Patient
    appointments: list[Appointment]  # kept, as anonymous history
    cancelled: list[Appointment]  # booked visits ahead: cancelled by the erasure
    intakes: int
    progress_checks: int
    signals: int
    emails: int
    erasure: PatientErasure | None  # already erased: when, by whom, why
    consents: int = 0  # signed consents to treatment, which go with the rest
    treatment_notes: int = 0  # the practitioners' notes of their visits, with their addenda
    addenda: int = 0


def _ahead(appointment: Appointment, now: datetime) -> bool:
    return appointment.status is AppointmentStatus.BOOKED and appointment.starts_at > now


def erasure_plan(patient_id: int, now: datetime) -> ErasurePlan:
    data = patient_data(patient_id)
    return ErasurePlan(
        patient=data.patient, appointments=data.appointments,
        cancelled=[a for a in data.appointments if _ahead(a, now)],
        intakes=len(data.intakes), progress_checks=len(data.progress_checks), signals=len(data.signals),
        emails=len(data.emails), erasure=data.erasure, consents=len(data.consents),
        treatment_notes=len(data.treatment_notes), addenda=sum(len(n.addenda) for n in data.treatment_notes),
    )


def erase(patient_id: int, reason: str, now: datetime, by: Who, address: str = "") -> PatientErasure:
    """Erase the patient in one write transaction, or raise AlreadyErased / NotVisible."""
    with write_transaction():
        return erase_in_transaction(patient_id, reason, now, by, address)


class NoLongerDue(Exception):
    """The patient booked again since the retention purge listed them: they are kept."""


def erase_in_transaction(patient_id: int, reason: str, now: datetime, by: Who, address: str = "", *,
                         only_past_retention: bool = False) -> PatientErasure:
    """Erase the patient inside the caller's write transaction (which commits or rolls back whole).
    With `only_past_retention` (the purge), raise NoLongerDue instead when, read under the locks,
    their records are still within the clinic's retention period."""
    reason = " ".join(reason.split())[:REASON_LENGTH]
    if not reason:
        raise ValueError("an erasure needs a reason")
    patient = locked(Patient, patient_id)
    if patient is None:
        raise NotVisible()
    if patient.is_erased:
        raise AlreadyErased(erasure_of(patient_id))
    # A booking for this email and date of birth waits, then files the patient anew.
    bookings.lock_patient(patient.email, patient.born_on)
    appointments = list(db.session.scalars(
        sa.select(Appointment).where(Appointment.patient_id == patient_id)
        .order_by(Appointment.id).with_for_update()  # an intake page being saved waits, then finds nothing
        .execution_options(populate_existing=True)))
    ids = [a.id for a in appointments]
    if only_past_retention:
        clinic = load_clinic()
        if retention_of(patient, appointments, clinic)[1] > clinic.today(now):
            raise NoLongerDue()
    actor = bookings.Actor(by.name, by.staff_id)

    cancelled = {a.id for a in appointments if _ahead(a, now)}
    for appointment in appointments:
        if appointment.id in cancelled:
            appointment.cancel(now, CANCELLED_BY_ERASURE)
        else:
            appointment.cancel_reason = None  # typed by the desk or the patient: it may say anything
        appointment.safety_flags = []
        appointment.alert_level = None
        appointment.safety_checked_at = None
        appointment.safety_answers = None
        appointment.manage_token_hash = hash_token(new_token())  # a key no one holds: every link stops
        appointment.booked_as = None  # a name and phone typed with a booking awaiting confirmation
        if appointment.identity_confirmed_at is None:  # nobody is left to confirm, and no history to open
            appointment.identity_confirmed_at, appointment.identity_confirmed_by = now, ERASED_IDENTITY
    if ids:
        db.session.execute(
            sa.update(AppointmentEvent)
            .where(AppointmentEvent.appointment_id.in_(ids), AppointmentEvent.action.not_in(PLAIN_HISTORY))
            .values(detail=""), execution_options={"synchronize_session": False})
        for model in (Intake, ProgressCheck, SafetySignal, ManageLink, IdentityCheck, ConsentRecord):
            db.session.execute(sa.delete(model).where(model.appointment_id.in_(ids)),
                               execution_options={"synchronize_session": False})
        notes.erase_for(ids)  # the treatment notes and their addenda
    for appointment in appointments:
        db.session.expire(appointment, ["history"])  # read again, with the details emptied above
        if appointment.id in cancelled:
            bookings.record(appointment, actor, "cancelled", CANCELLED_BY_ERASURE, now)
        bookings.record(appointment, actor, "erased", ERASED_EVENT, now)
    _forget_drafts(patient, ids)
    _blank_emails(patient, ids)
    _forget_waitlist(patient)

    patient.name, patient.email, patient.phone, patient.born_on = ERASED_NAME, None, None, None
    patient.erased_at = now
    erasure = PatientErasure(patient_id=patient.id, erased_at=now, staff_id=by.staff_id, erased_by=by.name,
                             reason=reason, appointments_kept=len(appointments), appointments_cancelled=len(cancelled))
    db.session.add(erasure)
    db.session.add(_audit(by, "erase", patient.id, address, now))
    db.session.flush()
    db.session.expire_all()  # rows changed by the bulk statements above are read afresh
    return erasure


ERASED_IDENTITY = "Not needed: the patient's record was erased"


# --- someone known only by their places on the waitlist ---------------------------------------

class HasPatientRecord(Exception):
    """The person on the waitlist is a patient: they are erased from their patient record."""

    def __init__(self, patient_id: int):
        super().__init__("a patient record holds them")
        self.patient_id = patient_id


def _patient_like(entry: WaitlistEntry) -> Patient | None:
    """The patient with the place's email and date of birth (as a booking from it would file them)."""
    return db.session.scalar(sa.select(Patient).where(Patient.email == entry.email, Patient.born_on == entry.born_on))


def places_of_person(entry_id: int) -> list[WaitlistEntry]:
    """Every place on the waitlist of the person who holds this one (email and date of birth, as
    erasure takes them), first joined first; NotVisible when there is no such place, or
    HasPatientRecord when the clinic also holds a patient record for them."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise NotVisible()
    patient = _patient_like(entry)
    if patient is not None:
        raise HasPatientRecord(patient.id)
    return list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.email == entry.email, WaitlistEntry.born_on == entry.born_on)
        .options(selectinload(WaitlistEntry.service), selectinload(WaitlistEntry.practitioner))
        .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)))


def erase_waiting_person(entry_id: int, reason: str, now: datetime, by: Who, address: str = "") -> PatientErasure:
    """Erase someone known only by places on the waitlist (no visit, so no patient record): a
    patient number is made to hold the record of the erasure, and erased at once as any patient
    is, which takes every place of theirs with its offers, links and emails; one transaction."""
    with write_transaction():
        entry = locked(WaitlistEntry, entry_id)
        if entry is None:
            raise NotVisible()
        bookings.lock_patient(entry.email, entry.born_on)  # a booking from an offer now would file them
        if (patient := _patient_like(entry)) is not None:
            raise HasPatientRecord(patient.id)
        patient = bookings.find_or_add_patient(
            bookings.PatientDetails(entry.name, entry.email, entry.phone, entry.born_on), now)
        db.session.flush()
        return erase_in_transaction(patient.id, reason, now, by, address)


def _forget_drafts(patient: Patient, appointment_ids: list[int]) -> None:
    """Online bookings in progress or done for this patient: their drafts hold what they typed."""
    # Email and date of birth together, as a patient is known: another person may share the address.
    typed = [draft.id for draft in db.session.scalars(sa.select(BookingDraft).where(BookingDraft.details.is_not(None)))
             if isinstance(draft.details, dict) and str(draft.details.get("email", "")).lower() == patient.email
             and patient.born_on is not None and draft.details.get("birth_date") == patient.born_on.isoformat()]
    conditions = [BookingDraft.id.in_(typed)] if typed else []
    if appointment_ids:
        conditions.append(BookingDraft.appointment_id.in_(appointment_ids))
    if conditions:
        db.session.execute(sa.delete(BookingDraft).where(sa.or_(*conditions)),
                           execution_options={"synchronize_session": False})


def _forget_waitlist(patient: Patient) -> None:
    """Places on the waitlist under this email and date of birth go, with their offers and links;
    the emails about them are blanked as a visit's are."""
    entries = list(db.session.scalars(sa.select(WaitlistEntry.id).where(
        WaitlistEntry.email == patient.email, WaitlistEntry.born_on == patient.born_on)))
    if not entries:
        return
    _blank_emails_where(patient, OutboxMessage.waitlist_entry_id.in_(entries))
    for statement in (
        sa.update(OutboxMessage).where(OutboxMessage.waitlist_entry_id.in_(entries)).values(
            waitlist_entry_id=None, waitlist_offer_id=None),
        sa.delete(WaitlistLink).where(WaitlistLink.entry_id.in_(entries)),
        sa.delete(WaitlistOffer).where(WaitlistOffer.entry_id.in_(entries)),
        sa.delete(WaitlistEntry).where(WaitlistEntry.id.in_(entries)),
    ):
        db.session.execute(statement, execution_options={"synchronize_session": False})


def _blank_emails(patient: Patient, appointment_ids: list[int]) -> None:
    """Emails about the patient's visits keep their kind, times and outcome; their address (if the
    patient's), subject, bodies, calendar file, context and server messages go. Any not yet sent
    will not be. Chosen by visit, never by address: a parent and child may share one email address."""
    if appointment_ids:
        _blank_emails_where(patient, OutboxMessage.appointment_id.in_(appointment_ids))


def _blank_emails_where(patient: Patient, chosen) -> None:
    """Blank the chosen emails as `_blank_emails` says."""
    unsent = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED)  # "Try again" must find nothing to send
    for statement in (
        sa.update(OutboxMessage).where(chosen, OutboxMessage.to_address == patient.email).values(to_address=""),
        sa.update(OutboxMessage).where(chosen).values(
            subject=ERASED_EMAIL, text_body="", html_body="", calendar=None, context=None,
            last_error=None, server_reply=None),
        sa.update(OutboxMessage).where(chosen, OutboxMessage.status.in_(unsent)).values(
            status=OutboxStatus.SKIPPED, claimed_by=None, claimed_until=None, last_error=NOT_SENT),
    ):
        db.session.execute(statement, execution_options={"synchronize_session": False})


def erasures(before_id: int | None = None, limit: int = 100) -> list[PatientErasure]:
    """The newest erasures first, for the admin's list."""
    query = sa.select(PatientErasure).order_by(PatientErasure.id.desc())
    if before_id is not None:
        query = query.where(PatientErasure.id < before_id)
    return list(db.session.scalars(query.limit(limit)))
