"""What practitioners read before a visit: their day, and one visit's intake, scores and progress.

Who may read intakes follows the design's table: a practitioner, those of patients who
have an appointment with them (through their own visits' pages); an admin, all;
receptionists, none (they see status and flag level on the desk). Every staff view,
print and export is written to the audit log in its own commit before anything is
shown, so a page that was seen is always in the log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.transaction import write_transaction
from booking.measures import Instrument
from booking.measures.progress import Measured, TrendPoint, trend
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Intake,
    Patient,
    Practitioner,
    ProgressCheck,
    StaffAccount,
    StaffRole,
    flag_level,
)
from booking.operations import identity
from booking.operations.availability import load_clinic
from booking.operations.permissions import NotVisible
from booking.safety import SIGNAL_SOURCES, levels_of
from booking.scheduling import wall_clock_instant

AUDIT_ACTIONS = {"view": "Viewed", "print": "Printed", "export": "Exported", "refused": "Was refused",
                 "consent": "Read the signed consent",  # operations.consent.open_signed
                 "note": "Opened the treatment note",  # operations.notes.open_note
                 # a patient's data rights (operations.patient_data): whole records, not one visit
                 "data_page": "Opened all their data", "data_file": "Downloaded all their data",
                 "erase": "Erased their record", "second_factor_reset": "Reset a second factor",
                 # a staff account's password (operations.staff): never the password itself
                 "password_set": "Set a new password", "password_change": "Changed their own password"}


def may_read_visit(account: StaffAccount, appointment: Appointment) -> bool:
    """An admin reads every visit; a practitioner only their own, and not once it is cancelled
    (the patient then has no appointment with them)."""
    if account.role is StaffRole.ADMIN:
        return True
    return (account.role is StaffRole.PRACTITIONER and account.practitioner_id == appointment.practitioner_id
            and appointment.status is not AppointmentStatus.CANCELLED)


# --- the practitioner's day ------------------------------------------------------------

@dataclass
class DayVisit:
    appointment: Appointment
    earlier_visits: int  # this patient's visits before this one (AppointmentStatus.visits())
    has_baseline: bool  # an earlier intake was sent, so this visit asks for a progress check instead
    flag_level: str | None  # emergency or urgent, from this booking or the intake read for it
    precautions: list[str]  # keys of PRECAUTIONS named by the intake read for it
    risk_factors: int  # how many risk factors it names
    nerve_root_pattern: bool

    @property
    def is_return(self) -> bool:
        return self.earlier_visits > 0

    @property
    def questions(self) -> str:
        """Where the patient is with this visit's questions, in the desk's words."""
        if self.has_baseline and self.appointment.intake is None:
            return "Progress check sent" if self.appointment.progress_check else "Progress check not sent"
        return f"Intake: {self.appointment.intake_status.label.lower()}"


# The intake's markers: what the day list reads, leaving the answers in the database.
MARKERS = (Intake.sent_at, Intake.urgent_flags, Intake.emergency_flags, Intake.precautions, Intake.risk_factors,
           Intake.nerve_root_pattern)


def _day_visit(appointment: Appointment, earlier: list) -> DayVisit:
    """A visit with what is known of the patient before it: the intake read for it is this
    visit's own once sent, else the latest one sent for an earlier visit (of those this visit
    may show: operations.identity)."""
    before = [row for row in earlier if row.starts_at < appointment.starts_at and identity.in_history(appointment, row)]
    baselines = [row for row in before if row.sent_at is not None]
    own = appointment.intake if appointment.intake is not None and appointment.intake.is_sent else None
    read = own or (max(baselines, key=lambda row: row.starts_at) if baselines else None)
    # What the patient is asked follows their own link, which shows nothing earlier until confirmed.
    asked_progress = bool(baselines) and not appointment.identity_pending
    return DayVisit(
        appointment, earlier_visits=sum(row.status in AppointmentStatus.visits() for row in before),
        has_baseline=asked_progress, flag_level=flag_level(appointment.alert_level, read),
        precautions=list(read.precautions or []) if read else [],
        risk_factors=len(read.risk_factors or []) if read else 0,
        nerve_root_pattern=bool(read and read.nerve_root_pattern),
    )


def practitioner_day(practitioner: Practitioner, day: date) -> list[DayVisit]:
    """The practitioner's visits on a clinic date, in order: a fixed number of queries however many there are."""
    zone = load_clinic().zone
    start = wall_clock_instant(day, time(0), zone)
    end = wall_clock_instant(day + timedelta(days=1), time(0), zone)
    appointments = list(db.session.scalars(
        sa.select(Appointment)
        .where(Appointment.practitioner_id == practitioner.id, Appointment.starts_at >= start,
               Appointment.starts_at < end, Appointment.status.in_(AppointmentStatus.holding_time()))
        .options(
            selectinload(Appointment.patient), selectinload(Appointment.service), selectinload(Appointment.parts),
            selectinload(Appointment.intake).load_only(*MARKERS),
            selectinload(Appointment.progress_check).load_only(ProgressCheck.id),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ))
    earlier = defaultdict(list)
    if appointments:
        rows = db.session.execute(
            sa.select(Appointment.id, Appointment.patient_id, Appointment.practitioner_id, Appointment.starts_at,
                      Appointment.status, Appointment.identity_confirmed_at, *MARKERS)
            .outerjoin(Intake, Intake.appointment_id == Appointment.id)
            .where(Appointment.patient_id.in_({a.patient_id for a in appointments}),
                   Appointment.starts_at < max(a.starts_at for a in appointments),
                   Appointment.status.in_(AppointmentStatus.holding_time()))
        )
        for row in rows:
            earlier[row.patient_id].append(row)
    return [_day_visit(appointment, earlier[appointment.patient_id]) for appointment in appointments]


# --- one visit -------------------------------------------------------------------------

def open_record(account: StaffAccount, appointment_id: int, action: str, address: str, now: datetime,
                shown: bool = True) -> None:
    """Check that this account may read the visit's intake, and log the look before it happens.
    `shown` is False for a HEAD request, which checks a page without receiving it: nothing to log."""
    with write_transaction():
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or not may_read_visit(account, appointment):
            raise NotVisible()
        if not shown:
            return
        db.session.add(AuditEntry(
            at=now, staff_id=account.id, staff_name=account.name, staff_role=account.role.value,
            action=action, appointment_id=appointment.id, patient_id=appointment.patient_id, address=address[:64],
        ))


def record_refusal(account: StaffAccount, page: str, appointment_id: int | None, patient_id: int | None,
                   address: str, now: datetime) -> None:
    """Log a staff request that was refused (403) or named a record the account may not see (404),
    so an admin can tell who tried which record. Ids that name no record are kept only in `page`."""
    db.session.rollback()  # whatever the refused request began is not kept
    with write_transaction():
        appointment = db.session.get(Appointment, appointment_id) if appointment_id else None
        if appointment is not None:
            patient_id = appointment.patient_id
        elif patient_id is not None and db.session.get(Patient, patient_id) is None:
            patient_id = None
        db.session.add(AuditEntry(
            at=now, staff_id=account.id, staff_name=account.name, staff_role=account.role.value, action="refused",
            appointment_id=appointment.id if appointment else None, patient_id=patient_id, address=address[:64],
            page=page[:200],
        ))


@dataclass(frozen=True)
class RedFlag:
    code: str  # a safety-check code (booking.safety)
    level: str  # emergency or urgent
    given_in: str  # where the patient gave it, in staff's words
    for_visit: datetime | None  # the earlier visit it was given for; None when for this one
    given_at: datetime


@dataclass
class VisitRecord:
    appointment: Appointment
    intake: Intake | None  # this visit's sent intake, or else the patient's latest earlier one
    earlier_visits: list[Appointment]  # newest first, cancelled ones included
    trend: list[TrendPoint]

    @property
    def identity_pending(self) -> bool:
        """Earlier visits with other practitioners are held back until the patient is confirmed."""
        return self.appointment.identity_pending

    @property
    def intake_is_earlier(self) -> bool:
        return self.intake is not None and self.intake.appointment_id != self.appointment.id

    @property
    def counted_before(self) -> int:
        return sum(visit.status in AppointmentStatus.visits() for visit in self.earlier_visits)

    @property
    def red_flags(self) -> list[RedFlag]:
        """Every emergency or urgent answer to read for this visit, most severe first, each saying
        where and when the patient gave it: this visit's own signals, then those the earlier
        intake read for it was sent with."""
        found: dict[str, RedFlag] = {}
        for raised in self.appointment.signals:
            for code, level in levels_of(raised.codes).items():
                found.setdefault(code, RedFlag(code, level, SIGNAL_SOURCES[raised.source], None, raised.raised_at))
        if self.intake_is_earlier:
            earlier = self.intake
            codes = [*(earlier.emergency_flags or []), *(earlier.urgent_flags or [])]
            for code, level in levels_of(codes).items():
                found.setdefault(code, RedFlag(code, level, "the intake", earlier.appointment.starts_at, earlier.sent_at))
        return sorted(found.values(), key=lambda flag: flag.level != "emergency")


def _measured(appointment: Appointment, zone) -> Measured | None:
    """Pain and function as this visit's questions recorded them, if it has any."""
    day = appointment.starts_at.astimezone(zone).date()
    if appointment.intake is not None and appointment.intake.is_sent:
        return Measured(day, appointment.intake.pain_average, appointment.intake.psfs_score)
    if appointment.progress_check is not None:
        return Measured(day, appointment.progress_check.pain_average, appointment.progress_check.psfs_score)
    return None


def meaningful_changes(instruments: Mapping[str, Instrument]) -> tuple[float | None, float | None]:
    """The smallest change between visits that matters, for the pain trended (the week's average) and function."""
    pain = next(rule for rule in instruments["nprs"].scores if rule.key == "pain_average")
    return pain.meaningful_change, instruments["psfs"].scores[0].meaningful_change


def visit_record(appointment_id: int, instruments: Mapping[str, Instrument]) -> VisitRecord:
    """The visit, the intake to read for it, the visits before it and the trend up to it: two queries."""
    this = db.session.get(Appointment, appointment_id)
    if this is None:  # deleted between the audit's commit and now
        raise NotVisible()
    visits = list(db.session.scalars(
        sa.select(Appointment)
        .where(identity.history_filter(this), Appointment.starts_at <= this.starts_at)
        .options(selectinload(Appointment.patient), selectinload(Appointment.service),
                 selectinload(Appointment.practitioner), selectinload(Appointment.intake),
                 selectinload(Appointment.progress_check), selectinload(Appointment.signals))
        .order_by(Appointment.starts_at, Appointment.id)
    ))
    earlier = [v for v in visits if v.id != this.id and v.starts_at < this.starts_at]
    # A cancelled visit's answers are set aside; a missed one's still stand (AppointmentStatus.visits()).
    sent = [v.intake for v in visits if v.holds_time and v.intake and v.intake.is_sent
            and (v.id == this.id or v.starts_at < this.starts_at)]
    own = this.intake if this.intake is not None and this.intake.is_sent else None
    zone = load_clinic().zone
    measured = [m for v in visits if v.holds_time and (m := _measured(v, zone))]
    pain, function = meaningful_changes(instruments)
    return VisitRecord(
        appointment=this,
        intake=own or (sent[-1] if sent else None),
        earlier_visits=list(reversed(earlier)),
        trend=trend(measured, pain, function),
    )


# --- the audit log ---------------------------------------------------------------------

AUDIT_PAGE = 100


@dataclass(frozen=True)
class AuditFilter:
    staff_id: int | None = None
    action: str | None = None
    patient_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_entries(chosen: AuditFilter, before_id: int | None = None) -> tuple[list[AuditEntry], int | None]:
    """The newest entries matching the filter (a page of them), and the id to page on from."""
    query = (sa.select(AuditEntry).options(selectinload(AuditEntry.patient), selectinload(AuditEntry.appointment))
             .order_by(AuditEntry.id.desc()))
    if chosen.staff_id is not None:
        query = query.where(AuditEntry.staff_id == chosen.staff_id)
    if chosen.action is not None:
        query = query.where(AuditEntry.action == chosen.action)
    if chosen.patient_id is not None:
        query = query.where(AuditEntry.patient_id == chosen.patient_id)
    if chosen.since is not None:
        query = query.where(AuditEntry.at >= chosen.since)
    if chosen.until is not None:
        query = query.where(AuditEntry.at < chosen.until)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    entries = list(db.session.scalars(query.limit(AUDIT_PAGE + 1)))
    more = entries[AUDIT_PAGE - 1].id if len(entries) > AUDIT_PAGE else None
    return entries[:AUDIT_PAGE], more


def export(record: VisitRecord, clinic) -> dict:
    """The record as plain data: the visit, the patient, the intake read for it, the progress."""
    def local(instant):
        return instant.astimezone(clinic.zone).isoformat() if instant else None

    appointment, intake, check = record.appointment, record.intake, record.appointment.progress_check
    return {
        "visit": {"reference": appointment.reference, "start": local(appointment.starts_at),
                  "service": appointment.service.name, "practitioner": appointment.practitioner.name,
                  "status": appointment.status.value, "safety_check_flags": list(appointment.safety_flags),
                  "flag_level": appointment.alert_level, "safety_checked_at": local(appointment.safety_checked_at),
                  # False: earlier visits with other practitioners are left out (operations.identity)
                  "identity_confirmed": not appointment.identity_pending,
                  "safety_signals": [{"level": raised.level, "given_in": raised.source, "codes": list(raised.codes),
                                      "at": local(raised.raised_at)} for raised in appointment.signals]},
        "patient": {"name": appointment.patient.name,
                    "born_on": appointment.patient.born_on.isoformat() if appointment.patient.born_on else None},
        "intake": None if intake is None else {
            "for_visit": intake.appointment.reference, "form_version": intake.form_version,
            "sent_at": local(intake.sent_at), "answers": intake.answers,
            "derived": {name: getattr(intake, name) for name in (
                "duration_band", "duration_days", "nerve_root_pattern", "emergency_flags", "urgent_flags",
                "precautions", "risk_factors", "pain_now", "pain_average", "pain_worst", "psfs_score",
                "start_back_total", "start_back_psychosocial", "start_back_risk")},
        },
        "progress_check": None if check is None else {
            "sent_at": local(check.sent_at), "pain_now": check.pain_now, "pain_average": check.pain_average,
            "pain_worst": check.pain_worst, "activities": check.activities, "psfs_score": check.psfs_score,
            "after_effects": check.after_effects or [], "after_effects_other": check.after_effects_other,
            "safety_codes": check.safety_codes or [],
        },
        "progress": [{"date": point.day.isoformat(), "pain_average": point.pain, "psfs": point.function}
                     for point in record.trend],
    }
