"""How dates and times read to people: in the clinic's zone, with the zone named.

Pure functions of their arguments (the clinic is passed in), with no Flask and no database,
so pages, emails and operations all format alike from one place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from booking.models import Clinic

LONG_TIME = "%A %-d %B %Y at %H:%M"


def clinic_time(instant: datetime, clinic: Clinic, pattern: str = LONG_TIME) -> str:
    """An instant as the clinic's wall-clock time, e.g. "Monday 8 March 2027 at 10:00"."""
    return instant.astimezone(clinic.zone).strftime(pattern)


def zone_abbreviation(instant: datetime, clinic: Clinic) -> str:
    """PDT, GMT, CET... at that instant; zones with no letters abbreviation ("-03") read UTC-03."""
    name = instant.astimezone(clinic.zone).tzname() or ""
    return name if name.isalpha() else f"UTC{name}"


def zone_label(clinic: Clinic) -> str:
    """"Los Angeles" for America/Los_Angeles: how people name a zone."""
    return clinic.timezone.rsplit("/", 1)[-1].replace("_", " ")


def email_time(instant: datetime, clinic: Clinic) -> str:
    """'Tue 16 Mar 2027, 09:00 PDT': the clinic's wall-clock time, its zone named."""
    return f"{clinic_time(instant, clinic, '%a %-d %b %Y, %H:%M')} {zone_abbreviation(instant, clinic)}"


def birth_date(iso_date: str) -> str:
    """A stored YYYY-MM-DD date of birth as people write it, e.g. "7 June 1980"."""
    return date.fromisoformat(iso_date).strftime("%-d %B %Y")
