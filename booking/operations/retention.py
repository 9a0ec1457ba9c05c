"""The clinic's retention period, and `flask retention purge`: what is past it goes.

A patient's records are kept for the clinic's `retention_years` after their last appointment
on record (whatever became of it; when they have none, after their record was made), and
for someone under 18 then, after their 18th birthday if that is later. Past that, the purge
erases them exactly as an admin would (operations.patient_data), with the reason
"retention". A patient with a visit ahead is never past it.

It also removes what accumulates with no reason to be kept: booking drafts past their
lifetime (abandoned bookings: names, contact details and safety answers), places on the waitlist
that ended PLACES_KEPT ago (left, expired, or taken up as a booking: the visit keeps what it
needs), staff sessions
that ended long enough ago, emailed manage links of visits that are over (they open nothing
now), and finished outbox messages older than OUTBOX_KEPT. The audit log and the record of
each erasure are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import (
    Appointment,
    BookingDraft,
    Clinic,
    ManageLink,
    OutboxMessage,
    OutboxStatus,
    Patient,
    StaffSession,
    WaitlistEntry,
    WaitlistState,
)
from booking.operations.availability import load_clinic
from booking.operations.drafts import DRAFT_LIFETIME
from booking.operations.patient_data import (
    RETENTION_PURGE,
    RETENTION_REASON,
    AlreadyErased,
    NoLongerDue,
    erase_in_transaction,
)
from booking.retention_period import retained_until

OUTBOX_KEPT = timedelta(days=90)  # a finished email stays this long for the admin's outbox page
SESSIONS_KEPT = timedelta(days=30)  # an ended staff session stays this long ("was I signed in there?")
# An ended place on the waitlist stays this long: the desk can still answer "was I on the list?",
# and then the name, contact details and safety answers of someone who may never have visited go.
PLACES_KEPT = timedelta(days=30)
FINISHED = (OutboxStatus.SENT, OutboxStatus.SKIPPED, OutboxStatus.FAILED)

log = logging.getLogger(__name__)


# --- what is due ---------------------------------------------------------------------------

@dataclass
class PurgePlan:
    """What a purge would remove now: numbers and counts only, never what the records hold."""

    retention_years: int
    patients: list[int]  # patient numbers past retention
    drafts: int
    waitlist_places: int
    sessions: int
    manage_links: int
    emails: int


def _due_patients(clinic: Clinic, now: datetime) -> list[int]:
    today = clinic.today(now)
    # A record made within the period cannot be past it (a year has at least 365 days; a day's
    # slack for the clinic's zone), so those are not read at all.
    made_before = now - timedelta(days=365 * clinic.retention_years - 1)
    rows = db.session.execute(
        sa.select(Patient.id, Patient.created_at, Patient.born_on, sa.func.max(Appointment.starts_at))
        .outerjoin(Appointment, Appointment.patient_id == Patient.id)
        .where(Patient.erased_at.is_(None), Patient.created_at < made_before)
        .group_by(Patient.id, Patient.created_at, Patient.born_on)
        .order_by(Patient.id)
    )
    due = []
    for patient_id, created_at, born_on, last_start in rows:
        last_seen = (last_start or created_at).astimezone(clinic.zone).date()
        if retained_until(last_seen, born_on, clinic.retention_years) <= today:
            due.append(patient_id)
    return due


def _expired(now: datetime, idle: timedelta):
    """The statements selecting each kind of expired row (for counting, then deleting)."""
    ended_sessions = sa.or_(
        StaffSession.ended_at < now - SESSIONS_KEPT,
        sa.and_(StaffSession.ended_at.is_(None), StaffSession.last_seen_at < now - SESSIONS_KEPT - idle),
    )
    over = sa.select(Appointment.id).where(Appointment.ends_at <= now)
    return {
        "drafts": (BookingDraft, BookingDraft.updated_at <= now - DRAFT_LIFETIME),
        # Their offers and links go with them (ON DELETE CASCADE); their emails lose the reference.
        "waitlist_places": (WaitlistEntry, sa.and_(WaitlistEntry.state != WaitlistState.WAITING,
                                                   WaitlistEntry.ended_at < now - PLACES_KEPT)),
        "sessions": (StaffSession, ended_sessions),
        "manage_links": (ManageLink, ManageLink.appointment_id.in_(over)),
        "emails": (OutboxMessage, sa.and_(OutboxMessage.status.in_(FINISHED),
                                          OutboxMessage.created_at < now - OUTBOX_KEPT)),
    }


def plan(now: datetime, idle: timedelta) -> PurgePlan:
    """What `purge` would do now; changes nothing."""
    clinic = load_clinic()
    counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(model).where(where))
              for name, (model, where) in _expired(now, idle).items()}
    due = _due_patients(clinic, now)
    db.session.rollback()
    return PurgePlan(retention_years=clinic.retention_years, patients=due, **counts)


@dataclass
class PurgeReport:
    erased: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # patient number -> the kind of error (no data)
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def purge(now: datetime, idle: timedelta) -> PurgeReport:
    """Erase every patient past retention, each in its own write transaction (so one that fails
    is left whole, and the others still go), then remove the expired rows in one more."""
    report = PurgeReport()
    for patient_id in plan(now, idle).patients:
        try:
            with write_transaction():
                erase_in_transaction(patient_id, RETENTION_REASON, now, RETENTION_PURGE, only_past_retention=True)
        except AlreadyErased:
            continue  # an admin erased them meanwhile
        except NoLongerDue:
            continue  # they booked again since the plan was read
        except Exception as error:  # noqa: BLE001 - reported and counted; the purge exits non-zero
            log.exception("retention purge: patient %s could not be erased", patient_id)
            report.failed[patient_id] = type(error).__name__
        else:
            report.erased.append(patient_id)
    with write_transaction():
        for name, (model, where) in _expired(now, idle).items():
            report.removed[name] = db.session.execute(
                sa.delete(model).where(where), execution_options={"synchronize_session": False}).rowcount
    return report
