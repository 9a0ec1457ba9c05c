"""iCalendar files for appointments, built with the icalendar package.

The UID stays the same for the life of an appointment, so a calendar app updates the
event it already has when the visit moves (SEQUENCE goes up with each move).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from booking.models import Appointment, AppointmentStatus, Clinic


def appointment_uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.reference}@clinic-booking"


def appointment_calendar(appointment: Appointment, clinic: Clinic, *, manage_url: str, stamped_at: datetime,
                         organizer: str | None = None) -> bytes:
    """One VEVENT for the visit, with times in UTC and the manage link in the notes.

    `organizer` ("Name <address>") is the clinic's sending address: calendar apps apply a
    cancellation sent by email only when it names the organiser of the event.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic booking//appointments//EN")
    calendar.add("version", "2.0")
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", stamped_at)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"{appointment.service.name} with {appointment.practitioner.name}")
    event.add("location", vText(clinic.name))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if organizer:
        name, address = parseaddr(organizer)
        clinic_address = vCalAddress(f"mailto:{address}")
        clinic_address.params["cn"] = vText(name or clinic.name)
        event.add("organizer", clinic_address)
    if cancelled:
        description = f"Reference {appointment.reference}. This appointment is cancelled."
    else:
        description = f"Reference {appointment.reference}. To change or cancel: {manage_url} or phone {clinic.phone}."
    event.add("description", description)
    calendar.add_component(event)
    return calendar.to_ical()
