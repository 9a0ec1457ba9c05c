"""The demo clinic: three practitioners, three services and a week of bookings."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from importlib.resources import files

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import Appointment, AppointmentStatus, Practitioner, StaffAccount, StaffRole
from booking.operations.availability import find_slots, load_clinic, load_service
from booking.operations import intakes, progress_checks
from booking.operations.bookings import Actor, BookingRequest, PatientDetails, SlotTaken, book, record
from booking.operations.problems import CannotBook
from booking.operations.staff import add_staff
from booking.operations.clinic_file import import_clinic_file

DEMO_CLINIC_NAME = "Demo Back Pain Clinic"  # as in data/demo_clinic.toml
DEMO_DESK = Actor("Front desk (demo data)")
PAST_DAYS = 7

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


def load_demo(now: datetime, instruments, days: int = 7, seed: int | None = None) -> int:
    """Import the demo clinic, then book a believable last week (visits completed) and the days
    ahead, if there are no bookings yet. Last week's visits are booked as of the day before
    each, so that this week's return visits have something to measure progress against.

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
    seen: set[str] = set()  # patients booked so far: a first visit, then follow-ups
    for offset in range(-PAST_DAYS, days):
        day = clinic.today(now) + timedelta(days=offset)
        booked_on = min(now, now + timedelta(days=offset - 1))  # a past visit was booked the day before it
        for practitioner in practitioners:
            for _ in range(rng.randint(2, 5)):
                patient = _patient(patient_index)
                first = patient.email not in seen
                offered = [s.slug for s in practitioner.services if s.new_patients_only == first] or [
                    s.slug for s in practitioner.services if not s.new_patients_only]
                slug = rng.choice(offered)
                service = load_service(slug)
                free = find_slots(clinic, service, [practitioner], day, 1, booked_on)
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
                    booked = book(request, booked_on, actor=DEMO_DESK)
                except (CannotBook, SlotTaken):
                    continue  # e.g. a returning patient offered a new-patients-only service
                seen.add(patient.email)
                _answer_questions(booked.appointment, rng, booked_on, instruments)
                if booked.appointment.ends_at <= now:
                    with write_transaction():
                        booked.appointment.status = AppointmentStatus.COMPLETED
                        record(booked.appointment, DEMO_DESK, "completed", "Booked → Completed",
                               booked.appointment.ends_at)
                made += 1
                patient_index += 1
    return made


# What demo patients say: a few precautions and pain levels, so the practitioner's pages have something to show.
DEMO_PRECAUTIONS = [[], [], [], [], [], [], ["pregnant"], ["needle_fear"], ["implanted_device"], ["diabetes"]]
DEMO_ACTIVITIES = [["Gardening", "Sitting through a film"], ["Lifting my toddler"], ["Running", "Putting on socks"]]


def _answer_questions(appointment: Appointment, rng: random.Random, now: datetime, instruments) -> None:
    """Most demo patients answer their questions: the full intake on a first visit, the
    progress check when an earlier visit's intake was sent."""
    if rng.random() < 0.25:
        return
    baseline = progress_checks.baseline_for(appointment)
    if baseline is not None:
        if progress_checks.closed_because(appointment, baseline, now):
            return  # the earlier visit is still to come: nothing to measure yet
        ratings = [min(10, activity["rating"] + rng.randint(0, 3)) for activity in baseline.answers["activities"]["activities"]]
        pain = max(0, baseline.pain_average - rng.randint(0, 3))
        progress_checks.send(appointment.id, progress_checks.ProgressAnswers(
            pain={"pain_now": pain, "pain_average": pain, "pain_worst": min(10, pain + 2)}, ratings=ratings,
            after_effects=rng.choice([[], [], ["soreness"], ["tiredness", "flare_up"]])), now, instruments)
        return
    today = load_clinic().today(now)
    weeks = rng.choice([2, 6, 20])
    pain = rng.randint(3, 8)
    answers = {
        "episode": {"started_on": (today - timedelta(weeks=weeks)).isoformat(), "estimated": True, "weeks_ago": weeks,
                    "how": rng.choice(["lifting", "twisting", "home_job", "no_cause"]), "how_other": ""},
        "where": {"side": rng.choice(["left", "right", "centre"]), "spreads": rng.choice([[], ["buttock"], ["thigh", "below_knee"]]),
                  **rng.choice([{"leg_symptoms": "no", "leg_weakness": "no", "legs_changing": None}] * 3
                               + [{"leg_symptoms": "left", "leg_weakness": "no", "legs_changing": "unchanged"}])},
        "history": {"worse": ["sitting", "bending"], "better": ["walking"], "morning_stiffness": "yes",
                    "previous_episodes": rng.choice(["yes", "no"]), "imaging": "none", "imaging_findings": "",
                    "treatments": rng.choice([[], ["physio"], ["massage", "medication"]])},
        "health": {"medications": rng.choice(["", "Ibuprofen when needed"]), "blood_thinners": rng.choice(["no"] * 5 + ["yes"]),
                   "antiplatelets": rng.choice(["no"] * 5 + ["yes"]),
                   "precautions": rng.choice(DEMO_PRECAUTIONS), "risk_factors": [], "improving": rng.choice(["yes", "yes", "not_sure", "no"])},
        "pain": {"pain_now": pain, "pain_average": pain, "pain_worst": min(10, pain + 2), "goals": "Get through a work day without pain"},
        "activities": {"activities": [{"name": name, "rating": rng.randint(2, 6)} for name in rng.choice(DEMO_ACTIVITIES)]},
    }
    for step, answer in answers.items():
        intakes.save_step(appointment, step, answer, now)
    intakes.send(appointment, list(answers), now, today, instruments)
