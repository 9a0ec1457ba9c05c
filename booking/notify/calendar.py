"""iCalendar files for appointments, built with the icalendar package.

The UID stays the same for the life of an appointment, so a calendar app updates the
event it already has when the visit moves (SEQUENCE goes up with each move). The
patient's file and the practitioner's feed make their events with one function and
differ only in what the event says.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parseaddr

from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress, vDuration, vText

from booking.i18n import in_current_language
from booking.models import Appointment, AppointmentStatus, Clinic, Practitioner

# How often a subscribed calendar app should fetch the practitioner's feed again.
FEED_REFRESH = timedelta(minutes=15)


def appointment_uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.reference}@clinic-booking"


def visit_event(appointment: Appointment, clinic: Clinic, *, summary: str, stamp: datetime) -> Event:
    """The VEVENT of one visit: its lasting UID and SEQUENCE, times in UTC, the clinic's address as
    the place (on one line, which calendar apps hand to their maps), or its name without one."""
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", summary)
    event.add("location", vText(clinic.address_text or clinic.name))
    event.add("status", "CANCELLED" if appointment.status is AppointmentStatus.CANCELLED else "CONFIRMED")
    return event


def appointment_calendar(appointment: Appointment, clinic: Clinic, *, stamped_at: datetime,
                         organizer: str | None = None) -> bytes:
    """The patient's file: one VEVENT for the visit, its reference and the clinic's phone in the notes,
    in the language being spoken (the email's, or the manage page's).

    It never carries the manage link: calendar apps sync, share and forward events, and a
    link in one would open the booking to whoever sees it. The email and the manage page
    carry the link instead.

    `organizer` ("Name <address>") is the clinic's sending address: calendar apps apply a
    cancellation sent by email only when it names the organiser of the event.
    """
    return visits_calendar([appointment], clinic, stamped_at=stamped_at, organizer=organizer)


def visits_calendar(appointments: Iterable[Appointment], clinic: Clinic, *, stamped_at: datetime,
                    organizer: str | None = None) -> bytes:
    """The patient's file for one or more visits (a course): one VEVENT each, with its own UID, so
    each visit is moved or cancelled in the patient's calendar on its own later. When every visit
    is cancelled (one, or the rest of a course) the file is a METHOD:CANCEL that takes them out."""
    appointments = list(appointments)
    cancelled = all(appointment.status is AppointmentStatus.CANCELLED for appointment in appointments)
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic booking//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    for appointment in appointments:
        calendar.add_component(_patient_event(appointment, clinic, stamped_at, organizer))
    return calendar.to_ical()


def _patient_event(appointment: Appointment, clinic: Clinic, stamped_at: datetime, organizer: str | None) -> Event:
    summary = _("%(service)s with %(practitioner)s", service=in_current_language(appointment.service, "name"),
                practitioner=appointment.practitioner.name)
    event = visit_event(appointment, clinic, summary=summary, stamp=stamped_at)
    if organizer:
        name, address = parseaddr(organizer)
        clinic_address = vCalAddress(f"mailto:{address}")
        clinic_address.params["cn"] = vText(name or clinic.name)
        event.add("organizer", clinic_address)
    if appointment.status is AppointmentStatus.CANCELLED:
        description = _("Reference %(reference)s. This appointment is cancelled.", reference=appointment.reference)
    else:
        description = _("Reference %(reference)s. To change or cancel, use the link in your booking email or call "
                        "%(phone)s.", reference=appointment.reference, phone=clinic.phone)
    if appointment.room is not None and appointment.status is not AppointmentStatus.CANCELLED:
        # In the notes, not LOCATION: calendar apps hand that to their maps, which know no rooms.
        description += "\n" + _("Room: %(room)s", room=in_current_language(appointment.room, "name"))
    event.add("description", description)
    return event


def initials(name: str) -> str:
    """"J.S." for "Jane Smith": the first letter of the first and of the last name, in any script.

    A hyphenated name counts as one ("Anne-Marie Smith-Jones" is "A.S."), a one-word name
    gives one letter, and leading marks such as an apostrophe are skipped. "" when the name
    has no letter at all.
    """
    words = [word for word in unicodedata.normalize("NFC", name).split() if any(ch.isalpha() for ch in word)]
    letters = []
    for word in words[:1] + words[1:][-1:]:
        letter = next(ch for ch in word if ch.isalpha())
        # Upper case when that is still one letter ("ß" would become "SS").
        letters.append(letter.upper() if len(letter.upper()) == 1 else letter)
    return "".join(f"{letter}." for letter in letters)


def feed_summary(appointment: Appointment) -> str:
    """What the practitioner's feed says about a visit: the patient's initials and the service, nothing else."""
    return f"{initials(appointment.patient.name) or 'Patient'} · {appointment.service.name}"


def practitioner_feed(practitioner: Practitioner, appointments: Iterable[Appointment], clinic: Clinic, *,
                      now: datetime) -> bytes:
    """The practitioner's calendar feed: a calendar app subscribes to it and fetches it again every
    FEED_REFRESH. Each visit reads "J.S. · Follow-up": no name, contact detail, flag or answer."""
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic booking//practitioner feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    title = f"{clinic.name}: {practitioner.name}"
    calendar.add("name", title)  # RFC 7986
    calendar.add("x-wr-calname", title)  # what Apple, Google and Outlook read
    calendar.add("x-wr-timezone", clinic.timezone)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    for appointment in appointments:
        # With METHOD:PUBLISH, DTSTAMP is when this copy was made.
        calendar.add_component(visit_event(appointment, clinic, summary=feed_summary(appointment), stamp=now))
    return calendar.to_ical()
