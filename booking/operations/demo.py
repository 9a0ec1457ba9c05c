"""The demo clinic: three practitioners, three services and a week of bookings, last week's
visits with signed treatment notes (one with an addendum), the next one with a draft, and
each practitioner's saved prescriptions."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from importlib.resources import files

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import Appointment, AppointmentStatus, Practitioner, StaffAccount, StaffRole
from booking.operations.availability import find_slots, load_clinic, load_service
from booking.notes.content import note_from_form
from booking.operations import intakes, notes, progress_checks
from booking.operations.bookings import Actor, BookingRequest, PatientDetails, SlotTaken, book, record
from booking.operations.problems import CannotBook
from booking.operations.staff import add_staff
from booking.operations.clinic_file import import_clinic_file

DEMO_CLINIC_NAME = "Demo Back Pain Clinic"  # as in data/demo_clinic.toml
DEMO_DESK = Actor("Front desk (demo data)")
PAST_DAYS = 7

# Sign-ins for trying the staff pages of a demo on your own machine; never for a real clinic.
# Mei comes last of the practitioners: she is the one the README and tests sign in as.
DEMO_STAFF = [
    ("admin@example.com", "demo-admin-password", StaffRole.ADMIN),
    ("desk@example.com", "demo-desk-password", StaffRole.RECEPTIONIST),
    ("daniel@example.com", "demo-daniel-password", StaffRole.PRACTITIONER),
    ("amara@example.com", "demo-amara-password", StaffRole.PRACTITIONER),
    ("mei@example.com", "demo-mei-password", StaffRole.PRACTITIONER),
]
# Each demo account's name, and the practitioner a practitioner's account writes notes as.
DEMO_ACCOUNTS = {
    "admin@example.com": ("Alex Admin", None),
    "desk@example.com": ("Dana Desk", None),
    "daniel@example.com": ("Daniel Ortiz", "daniel-ortiz"),
    "amara@example.com": ("Amara Okafor", "amara-okafor"),
    "mei@example.com": ("Mei Lin", "mei-lin"),
}

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
            name, slug = DEMO_ACCOUNTS[email]
            add_staff(email, name, role, password, now, slug)
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
    _write_notes(now, rng)
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


# --- treatment notes ---------------------------------------------------------------------------

# Three ways a lower back is treated, as a practitioner charts them (the note form's fields:
# booking.notes.content). Each past visit's note is one of them, with its own pain and minutes.
DEMO_NOTES = [
    {  # Kidney yang deficiency: an ache worse with cold and tiredness
        "o_rom_flexion": ["reduced_little"], "o_rom_extension": ["reduced_moderately"],
        "o_rom_extension_painful": ["on"], "o_slr_left": ["negative"], "o_slr_right": ["negative"],
        "o_tenderness": ["paraspinal_left", "paraspinal_right"],
        "o_tongue_body": ["pale"], "o_tongue_coating": ["thin_white"], "o_tongue_features": ["swollen", "tooth_marked"],
        "o_pulse_left_chi": ["deep"], "o_pulse_right_chi": ["weak"], "o_pulse_rate": ["62"],
        "o_pulse_qualities": ["deep", "slow"],
        "a_interior_exterior": ["interior"], "a_cold_heat": ["cold"], "a_deficiency_excess": ["deficiency"],
        "a_yin_yang": ["yang"], "a_patterns": ["kidney_yang_deficiency", "bladder_channel"],
        "a_diagnoses": ["M54.50"], "a_working_diagnosis": ["Non-specific chronic low back pain"],
        "p_principle": ["Warm and tonify Kidney yang, strengthen the lower back"],
        "p_next_visit": ["In one week; keep the lower back warm"], "p_review_at": ["4, 8"],
        "t_point_code": ["BL23", "GV4", "KI3", "BL40"], "t_point_side": ["both", "", "both", "both"],
        "t_point_technique": ["tonifying", "tonifying", "tonifying", "even"],
        "t_needles": ["7"], "t_retention_minutes": ["25"], "t_methods": ["moxibustion"],
        "t_method_notes": ["Moxa box over GV4 and BL23 for ten minutes"],
        "narrative": ["Ache eases with warmth. Taught a warm compress for the evenings."],
    },
    {  # Qi and Blood stagnation with sciatica on the right: electroacupuncture
        "o_rom_flexion": ["reduced_markedly"], "o_rom_flexion_painful": ["on"],
        "o_rom_side_bending_right": ["reduced_moderately"], "o_slr_right": ["positive"], "o_slr_right_angle": ["55"],
        "o_slr_left": ["negative"], "o_tenderness": ["gluteal_right", "paraspinal_right"],
        "o_tongue_body": ["purple"], "o_tongue_coating": ["thin_white"], "o_tongue_features": ["purple_spots"],
        "o_pulse_left_guan": ["wiry"], "o_pulse_right_chi": ["choppy"], "o_pulse_rate": ["74"],
        "o_pulse_qualities": ["wiry", "choppy"],
        "a_interior_exterior": ["interior"], "a_deficiency_excess": ["excess"],
        "a_patterns": ["qi_blood_stagnation", "gallbladder_channel"],
        "a_diagnoses": ["M54.41"], "a_working_diagnosis": ["Right-sided sciatica, no red flags"],
        "p_principle": ["Move Qi and Blood, unblock the Bladder and Gallbladder channels"],
        "p_next_visit": ["Twice a week for two weeks"], "p_review_at": ["4"],
        "t_point_code": ["BL25", "GB30", "BL40", "BL57", "GB34"], "t_point_side": ["both", "right", "right", "right", "right"],
        "t_point_technique": ["reducing", "reducing", "reducing", "even", "even"],
        "t_needles": ["7"], "t_retention_minutes": ["20"], "t_electro": ["on"],
        "t_electro_settings": ["2/100 Hz dense-disperse, BL25 to GB30 on the right, to comfort, 20 minutes"],
        "narrative": ["Leg pain down to the calf before treatment; to the knee after."],
    },
    {  # Cold-Damp obstruction: heavy, stiff, worse in the mornings
        "o_rom_flexion": ["reduced_moderately"], "o_rom_rotation_left": ["reduced_little"],
        "o_rom_rotation_right": ["reduced_little"], "o_slr_left": ["negative"], "o_slr_right": ["negative"],
        "o_tenderness": ["lumbar_midline", "sacroiliac_left"],
        "o_tongue_body": ["pale_red"], "o_tongue_coating": ["thick_white", "greasy"],
        "o_pulse_right_guan": ["slippery"], "o_pulse_rate": ["70"], "o_pulse_qualities": ["slippery", "soggy"],
        "a_cold_heat": ["cold"], "a_deficiency_excess": ["excess"], "a_patterns": ["cold_damp_bi"],
        "a_diagnoses": ["M54.50"], "a_working_diagnosis": ["Mechanical low back pain"],
        "p_principle": ["Dispel Cold and Damp, warm the channels"], "p_next_visit": ["In ten days"],
        "p_review_at": ["4, 8"],
        "t_point_code": ["BL23", "BL25", "GB30", "BL40"], "t_point_side": ["both", "both", "left", "both"],
        "t_point_technique": ["even", "reducing", "reducing", "even"],
        "t_needles": ["7"], "t_retention_minutes": ["30"], "t_methods": ["cupping", "heat_lamp"],
        "t_method_notes": ["Stationary cups over the lumbar muscles for five minutes"],
    },
]
DEMO_ADDENDUM = ("Phoned the next day: the bruise at BL40 is fading and the back feels looser. "
                 "No change to the plan.")
# A practitioner's saved prescriptions: named point sets to start a note from.
DEMO_PRESCRIPTIONS = [
    ("Kidney deficiency back", [("BL23", "both", "tonifying"), ("GV4", "midline", "tonifying"),
                                ("KI3", "both", "tonifying")]),
    ("Sciatica, right leg", [("BL25", "both", "reducing"), ("GB30", "right", "reducing"),
                             ("BL40", "right", "reducing"), ("GB34", "right", "even")]),
]


def _demo_note(index: int, rng: random.Random, contact_minutes: int) -> dict:
    """One of the demo notes, with this visit's pain and minutes."""
    form = {key: list(value) for key, value in DEMO_NOTES[index % len(DEMO_NOTES)].items()}
    pain = rng.randint(3, 7)
    form |= {"s_pain_now": [str(pain)], "s_pain_worst": [str(min(10, pain + 2))],
             "t_contact_minutes": [str(contact_minutes)]}
    if index == 0:  # one visit's small bruise, recorded as an adverse event
        form |= {"t_adverse_type": ["bruising"], "t_adverse_severity": ["mild"],
                 "t_adverse_action": ["Pressed for a minute; told the patient it fades in days"]}
    content, problems = note_from_form(form)
    if problems:
        raise ValueError(f"demo note {index}: {problems}")
    return content


def _write_notes(now: datetime, rng: random.Random) -> None:
    """Sign a note for each completed visit as its practitioner would, an addendum on the first,
    a draft for the next visit still booked (today's, on a working day), and each
    practitioner's saved prescriptions."""
    accounts = {account.practitioner_id: account for account in db.session.scalars(
        sa.select(StaffAccount).where(StaffAccount.role == StaffRole.PRACTITIONER))}
    visits = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at, Appointment.id)).all()
    written = 0
    for visit in visits:
        account = accounts.get(visit.practitioner_id)
        if account is None or visit.service.minutes < 30:
            continue  # a review is a talk, with no needles to chart
        if visit.status is AppointmentStatus.COMPLETED:
            content = _demo_note(written, rng, rng.randint(25, 40))
            notes.sign(account, visit.id, content, 0, visit.ends_at)
            if written == 0:
                notes.add_addendum(account, visit.id, DEMO_ADDENDUM, visit.ends_at + timedelta(days=1))
            written += 1
        elif visit.status is AppointmentStatus.BOOKED:  # the next visit (today's, on a working day)
            notes.save_draft(account, visit.id, _demo_note(written, rng, 30), 0, now)
            break  # one draft is enough to show
    for account in accounts.values():
        for name, rows in DEMO_PRESCRIPTIONS[: 1 + account.practitioner_id % 2]:
            notes.save_template(account, name, [{"code": code, "side": side, "technique": technique}
                                                for code, side, technique in rows], now)
