"""A practitioner's calendar feed: a secret address their phone's calendar subscribes to.

The address holds a `secrets.token_urlsafe(32)` token that is shown once, when it is
made; only its SHA-256 is stored. Making a new one replaces the hash, so the old address
stops working; stopping it clears the hash. A feed is served only while an active staff
account names the practitioner, so deactivating their account stops it too.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.transaction import locked, write_transaction
from booking.models import Appointment, AppointmentStatus, Clinic, Patient, Practitioner, StaffAccount, StaffRole
from booking.operations.availability import desk_rules
from booking.tokens import hash_token, new_token
from booking.scheduling import wall_clock_instant

# Visits this many days back stay in the feed, so the practitioner can look up last week.
DAYS_BACK = 30


def issue(practitioner_id: int) -> str:
    """A new feed token for the practitioner, replacing (and so stopping) any old one. The caller
    shows it once: it cannot be read back."""
    with write_transaction():
        practitioner = locked(Practitioner, practitioner_id)
        if practitioner is None:
            raise LookupError(f"no practitioner {practitioner_id}")
        token = new_token()
        practitioner.feed_token_hash = hash_token(token)
    return token


def revoke(practitioner_id: int) -> bool:
    """Stop the practitioner's feed; False when they had none (nothing changes)."""
    with write_transaction():
        practitioner = locked(Practitioner, practitioner_id)
        if practitioner is None or practitioner.feed_token_hash is None:
            return False
        practitioner.feed_token_hash = None
    return True


def practitioner_for(token: str) -> Practitioner | None:
    """The practitioner whose feed this token opens, or None for an unknown, stopped or tampered
    token, and for a practitioner no active account names."""
    has_account = sa.exists().where(StaffAccount.practitioner_id == Practitioner.id, StaffAccount.is_active,
                                    StaffAccount.role == StaffRole.PRACTITIONER)
    return db.session.scalar(
        sa.select(Practitioner).where(Practitioner.feed_token_hash == hash_token(token), has_account))


def window(clinic: Clinic, now: datetime) -> tuple[datetime, datetime]:
    """The instants the feed covers: from the clinic's midnight DAYS_BACK days ago to the end of the
    last date anyone can book (the desk books further ahead than patients online)."""
    today = clinic.today(now)
    last_day = today + timedelta(days=desk_rules(clinic).max_advance_days)
    return (wall_clock_instant(today - timedelta(days=DAYS_BACK), time(0), clinic.zone),
            wall_clock_instant(last_day + timedelta(days=1), time(0), clinic.zone))


def feed_appointments(practitioner: Practitioner, clinic: Clinic, now: datetime) -> list[Appointment]:
    """The practitioner's visits in the feed's window that are not cancelled, in order: three queries
    however many there are. Of the patient only the name is loaded (for the initials)."""
    start, end = window(clinic, now)
    return list(db.session.scalars(
        sa.select(Appointment)
        .where(Appointment.practitioner_id == practitioner.id, Appointment.starts_at >= start,
               Appointment.starts_at < end, Appointment.status.in_(AppointmentStatus.holding_time()))
        .options(selectinload(Appointment.patient).load_only(Patient.name), selectinload(Appointment.service))
        .order_by(Appointment.starts_at, Appointment.id)
    ))
