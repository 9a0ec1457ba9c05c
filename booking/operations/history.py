"""An appointment's history: who changed it, and the line each change adds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    appointment.history.append(
        AppointmentEvent(at=now, staff_id=actor.staff_id, actor=actor.label, action=action, detail=detail)
    )
