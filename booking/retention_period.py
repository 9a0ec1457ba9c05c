"""How long a patient's records are kept: the rule alone, with no database and no clock.

Records are kept for the clinic's retention period (years) from the patient's last
appointment, or, for someone who was a minor then, from their 18th birthday if later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from booking.models import Appointment, Clinic, Patient

ADULT_AGE = 18


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February in other years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retained_until(last_seen: date, born_on: date | None, years: int) -> date:
    """The first day a patient's records may be erased: `years` after the later of their last
    appointment and, for a minor then, their 18th birthday."""
    start = last_seen
    if born_on is not None:
        start = max(start, add_years(born_on, ADULT_AGE))
    return add_years(start, years)


def retention_of(patient: Patient, appointments: Iterable[Appointment], clinic: Clinic) -> tuple[date, date]:
    """(the day the retention period counts from, the first day it allows erasure) for one patient."""
    starts = [a.starts_at for a in appointments]
    last_seen = max(starts, default=patient.created_at).astimezone(clinic.zone).date()
    return last_seen, retained_until(last_seen, patient.born_on, clinic.retention_years)
