"""An appointment's history: who changed it, and the line each change adds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from booking import driver
from booking.models import Appointment, AppointmentEvent, StaffAccount


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the appointment's history will name them."""

    label: str
    staff_id: int | None = None


PATIENT = Actor("Patient")


def staff_actor(account: StaffAccount) -> Actor:
    return Actor(account.name, account.id)


def record(appointment: Appointment, actor: Actor, action: str, detail: str, now: datetime) -> None:
    """Add a line to the appointment's history, in the same commit as the change itself."""
    appointment.history.append(AppointmentEvent(**_line(actor, action, detail, now)))


def _line(actor: Actor, action: str, detail: str, now: datetime) -> dict:
    return {"at": now, "staff_id": actor.staff_id, "actor": actor.label, "action": action, "detail": detail}


_INSERT_LINE = sa.insert(AppointmentEvent.__table__)


def record_for_new_visit(appointment_id: int, actor: Actor, action: str, detail: str, now: datetime) -> None:
    """As record(), for a visit just inserted without the ORM: one INSERT on the transaction's
    connection (bookings.book writes a new visit's rows so)."""
    driver.run(_INSERT_LINE, _line(actor, action, detail, now) | {"appointment_id": appointment_id})
