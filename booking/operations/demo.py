"""The demo clinic: three practitioners, three services and a week of bookings."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from importlib.resources import files

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, Practitioner, StaffAccount, StaffRole
from booking.operations.availability import find_slots, load_clinic, load_service
from booking.operations.bookings import Actor, BookingRequest, PatientDetails, SlotTaken, book
from booking.operations.problems import CannotBook
from booking.operations.staff import add_staff
from booking.operations.clinic_file import import_clinic_file

DEMO_CLINIC_NAME = "Demo Back Pain Clinic"  # as in data/demo_clinic.toml
DEMO_DESK = Actor("Front desk (demo data)")

# Sign-ins for trying the staff pages of a demo on your own machine; never for a real clinic.
DEMO_STAFF = [
    ("admin@example.com", "demo-admin-password", StaffRole.ADMIN),
    ("desk@example.com", "demo-desk-password", StaffRole.RECEPTIONIST),
    ("mei@example.com", "demo-mei-password", StaffRole.PRACTITIONER),
]

# Made-up people; example.com addresses never deliver anywhere.
DEMO_PATIENTS = [
    ("Rosa Delgado", "1971-04-12"),
    ("Tom Becker", "1985-09-30"),
    ("Priya Raman", "1990-01-17"),
    ("George Whitfield", "1958-06-03"),
    ("Hana Sato", "1979-11-22"),
    ("Marcus Green", "1966-02-08"),
    ("Olivia Brandt", "1994-07-14"),
    ("Samuel Adeyemi", "1982-03-27"),
    ("Laura Chen", "1975-12-05"),
    ("Diego Fuentes", "1988-08-19"),
    ("Ingrid Larsen", "1963-05-01"),
    ("Noah Kim", "2001-10-09"),
]


def demo_clinic_text() -> str:
    return files("booking").joinpath("data/demo_clinic.toml").read_text()


def _patient(index: int) -> PatientDetails:
    name, born = DEMO_PATIENTS[index % len(DEMO_PATIENTS)]
    email = name.lower().replace(" ", ".") + "@example.com"
    return PatientDetails(name=name, email=email, phone=f"+1 213 555 01{index % 100:02d}", born_on=date.fromisoformat(born))


def load_demo(now: datetime, days: int = 7, seed: int | None = None) -> int:
    """Import the demo clinic, then book a believable week if there are no bookings yet.

    Returns how many bookings were made.
    """
    import_clinic_file(demo_clinic_text(), "demo_clinic.toml")
    for email, password, role in DEMO_STAFF:
        if not db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == email)):
            name = {"admin": "Alex Admin", "receptionist": "Dana Desk", "practitioner": "Mei Lin"}[role.value]
            add_staff(email, name, role, password, now, "mei-lin" if role is StaffRole.PRACTITIONER else None)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)):
        return 0
    clinic = load_clinic()
    rng = random.Random(seed if seed is not None else clinic.today(now).toordinal())
    practitioners = db.session.scalars(sa.select(Practitioner).order_by(Practitioner.slug)).all()
    made, patient_index = 0, 0
    for offset in range(days):
        day = clinic.today(now) + timedelta(days=offset)
        for practitioner in practitioners:
            for _ in range(rng.randint(2, 5)):
                patient = _patient(patient_index)
                offered = [s.slug for s in practitioner.services]
                slug = rng.choice(offered)
                service = load_service(slug)
                free = find_slots(clinic, service, [practitioner], day, 1, now)
                if not free:
                    break
                slot = rng.choice(free)
                request = BookingRequest(
                    service=slug,
                    practitioner=practitioner.slug,
                    start=slot.start,
                    patient=patient,
                    safety=("night_pain",) if rng.random() < 0.1 else (),
                    booked_via="desk",
                )
                try:
                    book(request, now, actor=DEMO_DESK)
                except (CannotBook, SlotTaken):
                    continue  # e.g. a returning patient offered a new-patients-only service
                made += 1
                patient_index += 1
    return made
