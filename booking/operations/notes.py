"""Treatment notes: the practitioner's SOAP record of each visit, signed and then changed only by addendum.

Who: the visit's own practitioner writes, signs and adds to its note; an admin reads every
note (as every intake); a receptionist sees only whether a visit's note is signed
(`load_status`), never its words. Every staff read of a note's words writes the audit log
first, in its own commit, as an intake's does (operations.clinical).

A draft: saved as the practitioner types (the page's script) or on "Save" (without one).
Each save carries the revision its page started from, so a save from an older page (a second
tab, a second device) is refused with the words kept in the form, never written over newer ones.

Signing: saves the words shown and locks them, with the signer's name and the time, once the
visit has begun. After that only addenda, each signed as it is added. On both databases a
trigger refuses any change to what a signed note or an addendum says (migration 0024).

A new note starts from what the patient told us for this visit (the intake, or the progress
check of a return visit) and from the points of the patient's last signed note: the starting
prescription the issue asks for. Named prescriptions (templates) are the practitioner's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from booking.extensions import db
from booking.measures.intake import AFTER_EFFECTS
from booking.models import (Appointment, AppointmentStatus, AuditEntry, NoteAddendum, PrescriptionTemplate,
                            StaffAccount, StaffRole, TreatmentNote)
from booking.notes import content as note_content
from booking.notes.billing import claim_codes
from booking.operations import identity
from booking.operations.clinical import may_read_visit
from booking.operations.permissions import NotAllowed, NotVisible
from booking.operations.problems import RequestProblem
from booking.transaction import advisory_lock, locked, write_transaction

# A note is written for a visit that is ahead, under way or over; not for one missed or cancelled.
WRITABLE = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED)
ADDENDUM_LIMIT = 5_000  # characters: a correction or a later finding, not a second note
TEMPLATE_NAME_LIMIT = 80
TEMPLATES_EACH = 50  # named prescriptions per practitioner
LOCK_PRESCRIPTIONS = 5  # pg_advisory_xact_lock namespace (1, 2: bookings.py; 3: reminders.py; 4: consent.py)


class NoteProblem(RequestProblem):
    """A save, signature or addendum that cannot be kept; `field` names the input to fix. Nothing was stored."""


class NoteChanged(NoteProblem):
    """The note was saved from another page since this one was opened: nothing was written over it."""


def may_write(account: StaffAccount, appointment: Appointment) -> bool:
    """Only the visit's own practitioner writes its note (an admin reads, never writes, clinical records)."""
    return (account.role is StaffRole.PRACTITIONER and account.practitioner_id == appointment.practitioner_id
            and appointment.status in WRITABLE)


def _audit(account: StaffAccount, appointment: Appointment, action: str, address: str, now: datetime) -> None:
    db.session.add(AuditEntry(
        at=now, staff_id=account.id, staff_name=account.name, staff_role=account.role.value, action=action,
        appointment_id=appointment.id, patient_id=appointment.patient_id, address=address[:64]))


# --- reading -------------------------------------------------------------------------------------

@dataclass
class NotePage:
    """What the note's page shows: the visit, its note (None before the first save), the words the
    form starts from, the patient's last signed note before this visit, and the writer's templates."""

    appointment: Appointment
    note: TreatmentNote | None
    content: dict
    previous: TreatmentNote | None
    templates: list[PrescriptionTemplate]
    writable: bool

    @property
    def revision(self) -> int:
        """What the form carries back: 0 before the first save."""
        return self.note.revision if self.note is not None else 0


def open_note(account: StaffAccount, appointment_id: int, address: str, now: datetime,
              shown: bool = True) -> NotePage:
    """The note's page for its practitioner or an admin, with the look written to the audit log
    first. A HEAD request (`shown` False) checks the page without receiving it: nothing logged."""
    with write_transaction():
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or not may_read_visit(account, appointment):
            raise NotVisible()
        if shown:
            _audit(account, appointment, "note", address, now)
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:  # deleted between the audit's commit and now
        raise NotVisible()
    note, previous = for_visit(appointment, with_addenda=True)
    templates = templates_of(account.practitioner_id) if account.practitioner_id else []
    content = note.content if note is not None else starting_content(appointment, previous)
    return NotePage(appointment, note, content, previous, templates,
                    writable=may_write(account, appointment) and (note is None or not note.is_signed))


def _last_signed_id(appointment: Appointment):
    """SQL: the id of the patient's latest signed note for a visit before this one (of the visits this
    one may show: operations.identity), whoever wrote it."""
    return (sa.select(TreatmentNote.id).join(Appointment, Appointment.id == TreatmentNote.appointment_id)
            .where(identity.history_filter(appointment), Appointment.starts_at < appointment.starts_at,
                   TreatmentNote.signed_at.is_not(None))
            .order_by(Appointment.starts_at.desc(), Appointment.id.desc()).limit(1).scalar_subquery())


def _activities_text(activities: list[dict]) -> str:
    return "; ".join(f"{row.get('name', '').strip()} {row.get('rating')}/10" for row in activities or []
                     if row.get("name"))


def starting_content(appointment: Appointment, previous: TreatmentNote | None) -> dict:
    """A new note's words: what the patient told us for this visit, and the last note's points."""
    intake, check = appointment.intake, appointment.progress_check
    if intake is not None and intake.is_sent:
        activities = intake.answers.get("activities", {}).get("activities", [])
        content = note_content.prefilled_subjective(
            pain_now=intake.pain_now, pain_worst=intake.pain_worst, activities=_activities_text(activities),
            changes="", after_effects="")
    elif check is not None:
        effects = [str(AFTER_EFFECTS[key]) for key in check.after_effects or [] if key in AFTER_EFFECTS]
        if check.after_effects_other:
            effects.append(check.after_effects_other)
        content = note_content.prefilled_subjective(
            pain_now=check.pain_now, pain_worst=check.pain_worst, activities=_activities_text(check.activities),
            changes="", after_effects="; ".join(effects))
    else:
        content = note_content.blank_note()
    if previous is not None:
        try:
            content = note_content.with_prescription(content, note_content.points_as_prescription(previous.content))
        except ValueError:  # a point no longer in the shipped list: start without the last points
            pass
    return content


def load_status(appointments) -> None:
    """Set `note_state` on each visit ("signed", "draft" or None), for lists: one query, no words read."""
    appointments = list(appointments)
    if not appointments:
        return
    states = dict(db.session.execute(
        sa.select(TreatmentNote.appointment_id, TreatmentNote.signed_at.is_not(None))
        .where(TreatmentNote.appointment_id.in_({a.id for a in appointments}))).all())
    for appointment in appointments:
        signed = states.get(appointment.id)
        appointment.note_state = None if signed is None else ("signed" if signed else "draft")


def for_visit(appointment: Appointment, with_addenda: bool = False) -> tuple[TreatmentNote | None, TreatmentNote | None]:
    """This visit's note and the patient's last signed note before it (`_last_signed_id`), in one
    query; `with_addenda` loads the addenda too (one more query)."""
    query = sa.select(TreatmentNote).where(sa.or_(TreatmentNote.appointment_id == appointment.id,
                                                  TreatmentNote.id == _last_signed_id(appointment)))
    if with_addenda:
        query = query.options(sa.orm.selectinload(TreatmentNote.addenda))
    found = list(db.session.scalars(query))
    own = next((note for note in found if note.appointment_id == appointment.id), None)
    return own, next((note for note in found if note.appointment_id != appointment.id), None)


# --- writing -------------------------------------------------------------------------------------

def _writable_visit(account: StaffAccount, appointment_id: int) -> Appointment:
    appointment = locked(Appointment, appointment_id)
    if appointment is None or not may_read_visit(account, appointment):
        raise NotVisible()
    if account.role is not StaffRole.PRACTITIONER or account.practitioner_id != appointment.practitioner_id:
        raise NotAllowed()
    if appointment.status not in WRITABLE:
        raise NoteProblem("note", f"This visit is marked {appointment.status.label.lower()}, so it takes no "
                                  "treatment note.")
    return appointment


def _locked_note(appointment: Appointment) -> TreatmentNote | None:
    note_id = db.session.scalar(sa.select(TreatmentNote.id).where(TreatmentNote.appointment_id == appointment.id))
    return locked(TreatmentNote, note_id) if note_id is not None else None


def _saved(account: StaffAccount, appointment: Appointment, content: dict, revision_seen: int,
           now: datetime) -> TreatmentNote:
    """Write the words over the draft the page started from (or as the first draft)."""
    note = _locked_note(appointment)
    if note is not None and note.is_signed:
        raise NoteProblem("note", f"This note was signed by {note.signed_by}, so it no longer changes: "
                                  "add an addendum below instead.")
    if (note.revision if note is not None else 0) != revision_seen:
        raise NoteChanged("note", "This note was saved from another page after you opened this one, so nothing "
                                  "was written over it. Your words are still in the form below: compare them with "
                                  "the saved note (open it in a new tab), then save again.")
    if note is None:
        note = TreatmentNote(appointment_id=appointment.id, patient_id=appointment.patient_id, content=content,
                             revision=1, created_at=now, updated_at=now, staff_id=account.id,
                             written_by=account.name)
        db.session.add(note)
    else:
        note.content, note.revision, note.updated_at = content, note.revision + 1, now
    db.session.flush()
    return note


def save_draft(account: StaffAccount, appointment_id: int, content: dict, revision_seen: int,
               now: datetime) -> TreatmentNote:
    """Keep the words as the visit's draft note; raise NoteProblem (nothing written) when it cannot."""
    with write_transaction():
        appointment = _writable_visit(account, appointment_id)
        return _saved(account, appointment, content, revision_seen, now)


def sign(account: StaffAccount, appointment_id: int, content: dict, revision_seen: int,
         now: datetime) -> TreatmentNote:
    """Save the words shown and lock them with the signer's name and the time, in one commit."""
    with write_transaction():
        appointment = _writable_visit(account, appointment_id)
        if appointment.starts_at > now:
            raise NoteProblem("note", "A note is signed once the visit has begun: save it as a draft until then.")
        if note_content.is_blank(content):
            raise NoteProblem("note", "This note says nothing yet: write what you found and did, then sign.")
        note = _saved(account, appointment, content, revision_seen, now)
        note.signed_at, note.signed_by = now, account.name
    return note


def add_addendum(account: StaffAccount, appointment_id: int, text: str | None, now: datetime) -> NoteAddendum:
    """Add signed words to a signed note: its practitioner only, and never to a draft (edit that)."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise NoteProblem("addendum", "Write the addendum before signing it.")
    if len(text) > ADDENDUM_LIMIT:
        raise NoteProblem("addendum", f"Shorten the addendum to {ADDENDUM_LIMIT:,} characters or fewer "
                                      f"(it has {len(text):,}).")
    if note_content.has_control_characters(text):
        raise NoteProblem("addendum", "The addendum holds characters that are not text: type or paste it again.")
    with write_transaction():
        appointment = locked(Appointment, appointment_id)
        if appointment is None or not may_read_visit(account, appointment):
            raise NotVisible()
        if account.role is not StaffRole.PRACTITIONER or account.practitioner_id != appointment.practitioner_id:
            raise NotAllowed()
        note = _locked_note(appointment)
        if note is None or not note.is_signed:
            raise NoteProblem("addendum", "Only a signed note takes addenda: change the draft itself, then sign it.")
        addendum = NoteAddendum(note_id=note.id, text=text, signed_at=now, staff_id=account.id,
                                signed_by=account.name)
        db.session.add(addendum)
    return addendum


# --- named prescriptions -------------------------------------------------------------------------

def templates_of(practitioner_id: int) -> list[PrescriptionTemplate]:
    return list(db.session.scalars(
        sa.select(PrescriptionTemplate).where(PrescriptionTemplate.practitioner_id == practitioner_id)
        .order_by(sa.func.lower(PrescriptionTemplate.name), PrescriptionTemplate.id)))


def _own_practitioner(account: StaffAccount) -> int:
    if account.role is not StaffRole.PRACTITIONER or account.practitioner_id is None:
        raise NotAllowed()
    return account.practitioner_id


def save_template(account: StaffAccount, name: str | None, rows: list[dict], now: datetime) -> PrescriptionTemplate:
    """Keep the points as a named prescription of the practitioner's; the same name again replaces its points."""
    practitioner_id = _own_practitioner(account)
    name = " ".join((name or "").split())
    if not name:
        raise NoteProblem("template_name", "Name the prescription to save it, such as \u201cKidney deficiency back\u201d.")
    if len(name) > TEMPLATE_NAME_LIMIT or note_content.has_control_characters(name):
        raise NoteProblem("template_name", f"Give the prescription a name of {TEMPLATE_NAME_LIMIT} characters or "
                                           "fewer, in plain text.")
    if not rows:
        raise NoteProblem("template_name", "Add at least one point before saving the points as a prescription.")
    with write_transaction():
        # One save of a practitioner's prescriptions at a time (a double click, two tabs): the name
        # is looked up ignoring case, which no unique constraint can do, and the count is checked.
        advisory_lock(LOCK_PRESCRIPTIONS, practitioner_id)
        same = db.session.scalar(
            sa.select(PrescriptionTemplate).where(PrescriptionTemplate.practitioner_id == practitioner_id,
                                                  sa.func.lower(PrescriptionTemplate.name) == name.lower()))
        if same is not None:
            same.points = rows
            return same
        count = db.session.scalar(sa.select(sa.func.count()).where(
            PrescriptionTemplate.practitioner_id == practitioner_id))
        if count >= TEMPLATES_EACH:
            raise NoteProblem("template_name", f"You have {TEMPLATES_EACH} saved prescriptions, the most kept: "
                                               "delete one you no longer use first.")
        template = PrescriptionTemplate(practitioner_id=practitioner_id, name=name, points=rows, created_at=now)
        db.session.add(template)
    return template


def save_points_as_template(account: StaffAccount, appointment_id: int, name: str | None, content: dict,
                            revision_seen: int, now: datetime) -> tuple[PrescriptionTemplate, TreatmentNote]:
    """Keep the note's points as a named prescription and its words as the draft, in one commit, so
    the page can reload after it (post/redirect/get) without losing what was typed; all or nothing."""
    with write_transaction():
        template = save_template(account, name, note_content.points_as_prescription(content), now)
        note = save_draft(account, appointment_id, content, revision_seen, now)
    return template, note


def find_template(account: StaffAccount, template_id: int) -> PrescriptionTemplate:
    """One of the practitioner's own prescriptions; another's, or none, is NotVisible."""
    template = db.session.get(PrescriptionTemplate, template_id)
    if template is None or template.practitioner_id != _own_practitioner(account):
        raise NotVisible()
    return template


def delete_template(account: StaffAccount, template_id: int) -> str:
    """Delete one of the practitioner's own prescriptions; returns its name, for the message."""
    with write_transaction():
        template = find_template(account, template_id)
        name = template.name
        db.session.delete(template)
    return name


# --- what leaves the clinic ------------------------------------------------------------------------

@dataclass(frozen=True)
class Superbill:
    """What a patient's receipt for their insurer shows of one visit: the codes of a signed note."""

    appointment: Appointment
    note: TreatmentNote
    claim: dict  # booking.notes.billing.claim_codes: procedures and diagnoses


def superbill(appointment: Appointment, now: datetime) -> Superbill | None:
    """The visit's receipt once it is over and its note is signed (the codes come from the signed
    words, never a draft); None until then."""
    note = appointment.note
    if (note is None or not note.is_signed or appointment.ends_at > now
            or appointment.status not in (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED)):
        return None
    return Superbill(appointment, note, claim_codes(note.content))


def notes_by_appointment(appointment_ids) -> dict[int, TreatmentNote]:
    """Notes (with their addenda) of these visits, for exports: two queries."""
    ids = set(appointment_ids)
    if not ids:
        return {}
    notes = db.session.scalars(sa.select(TreatmentNote).where(TreatmentNote.appointment_id.in_(ids))
                               .options(sa.orm.selectinload(TreatmentNote.addenda)))
    return {note.appointment_id: note for note in notes}


def as_data(note: TreatmentNote, local) -> dict:
    """A note as plain data for an export; `local` turns an instant into the clinic's time."""
    return {"status": "signed" if note.is_signed else "draft", "written_by": note.written_by,
            "updated_at": local(note.updated_at), "signed_by": note.signed_by, "signed_at": local(note.signed_at),
            "content": note.content,
            "addenda": [{"text": a.text, "signed_by": a.signed_by, "signed_at": local(a.signed_at)}
                        for a in note.addenda]}


def erase_for(appointment_ids) -> int:
    """Delete the notes (and addenda) of these visits, for a patient's erasure: how many notes went."""
    ids = set(appointment_ids)
    if not ids:
        return 0
    note_ids = list(db.session.scalars(sa.select(TreatmentNote.id).where(TreatmentNote.appointment_id.in_(ids))))
    if note_ids:
        db.session.execute(sa.delete(NoteAddendum).where(NoteAddendum.note_id.in_(note_ids)))
        db.session.execute(sa.delete(TreatmentNote).where(TreatmentNote.id.in_(note_ids)))
    return len(note_ids)

