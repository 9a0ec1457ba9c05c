"""The large clinic `make bench` measures: the demo clinic grown to ten practitioners, with
a long history and a diary filling up ahead.

The clinic, its services, practitioners and weekly hours go in through the clinic file
import, as a real clinic's would. Patients, time off and appointments go in with SQLAlchemy
Core, thousands of rows per statement, so building 22,000 appointments takes seconds
rather than the minutes that booking each one through the app would.

Appointments are laid out the way a diary fills: each practitioner's working periods are
packed with visits on the clinic's slot grid (treatment plus buffer, never overlapping,
never in time off), and the visits kept are drawn at random from those candidates. So
PostgreSQL's no-overlap constraint holds, and the free times left are the app's own.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    HandsOnPart,
    Patient,
    Practitioner,
    Room,
    Service,
    StaffRole,
    TimeOff,
    held_ranges,
)
from booking.operations.bookings import REFERENCE_ALPHABET
from booking.operations.clinic_file import import_clinic_file
from booking.operations.demo import DEMO_ACCOUNTS, DEMO_STAFF, demo_clinic_text
from booking.operations.identity import NOT_NEEDED
from booking.operations.staff import add_staff

UTC = timezone.utc
# Online booking opens a year ahead (the demo clinic's 60 days is raised), so the booking
# POSTs of a bench run find enough distinct free times.
ADVANCE_DAYS = 365
PAST_FILL = 0.9  # the share of packed candidate visits kept in the past: a busy, not quite full, diary
ROWS_PER_STATEMENT = 2000

# Seven practitioners beside the demo's three; made-up people, as in the demo clinic file.
MORE_PRACTITIONERS = [
    ("grace-holloway", "Grace Holloway, L.Ac.", "Treats desk workers' back and neck pain; runs the clinic's evening list.",
     ["first-visit", "follow-up", "review"], {d: ["08:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}),
    ("jamal-wright", "Jamal Wright, L.Ac.", "Former athletic trainer; sees many runners and weekend sports injuries.",
     ["follow-up", "review"], {**{d: ["10:00-14:00", "15:00-19:00"] for d in ("mon", "tue", "wed", "thu")},
                               "sat": ["09:00-13:00"]}),
    ("sofia-ramirez", "Sofia Ramirez, DACM", "Doctor of acupuncture and Chinese medicine; bilingual in English and Spanish.",
     ["first-visit", "follow-up"], {d: ["09:00-13:00", "14:00-18:00"] for d in ("tue", "wed", "thu", "fri", "sat")}),
    ("ethan-park", "Ethan Park, L.Ac.", "Works with older patients with long-standing back pain and arthritis.",
     ["first-visit", "follow-up", "review"], {**{d: ["07:30-12:00", "13:00-16:30"] for d in ("mon", "wed", "fri")},
                                              **{d: ["12:00-20:00"] for d in ("tue", "thu")}}),
    ("claire-bennett", "Claire Bennett, L.Ac.", "Part-time; focuses on back pain in pregnancy and after birth.",
     ["follow-up", "review"], {d: ["09:00-15:00"] for d in ("mon", "tue", "wed", "thu", "fri")}),
    ("omar-haddad", "Omar Haddad, L.Ac., MSOM", "Came to acupuncture from nursing; sees many shift workers.",
     ["first-visit", "follow-up", "review"], {d: ["11:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}),
    ("lily-nguyen", "Lily Nguyen, L.Ac.", "Treats sciatica and back pain from lifting at work.",
     ["first-visit", "follow-up"], {**{d: ["08:00-12:30", "13:30-17:00"] for d in ("mon", "tue", "thu", "fri")},
                                    "sat": ["09:00-13:00"]}),
]
DEMO_PRACTITIONERS = 3

# How often each service is booked: mostly follow-ups, as in a practice with courses of treatment.
SERVICE_WEIGHTS = {"first-visit": 15, "follow-up": 70, "review": 15}
FIRST_NAMES = ["James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Aisha",
               "Kevin", "Emily", "Luis", "Nicole", "Brian", "Keisha", "Steven", "Megan", "Tyrone", "Rachel",
               "Anthony", "Mai", "Jose", "Hannah", "Andre", "Olga", "Wei", "Fatima", "Daniel", "Grace"]
LAST_NAMES = ["Smith", "Johnson", "Garcia", "Nguyen", "Brown", "Martinez", "Lee", "Walker", "Hernandez", "Patel",
              "Robinson", "Clark", "Lopez", "Young", "Allen", "Wright", "Scott", "Kim", "Torres", "Hill",
              "Adams", "Baker", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Washington", "Cohen"]


@dataclass(frozen=True)
class Visit:
    """One candidate visit: where a practitioner could be busy, on the slot grid."""

    practitioner_id: int
    service_id: int
    starts_at: datetime
    ends_at: datetime
    occupied_until: datetime


@dataclass(frozen=True)
class BuiltClinic:
    practitioners: int
    services: int
    patients: int
    past: int
    future: int
    history_starts: date  # the first day with a past visit


def clinic_file_text(practitioners: int) -> str:
    """The demo clinic file, booking further ahead, with practitioners added up to `practitioners`."""
    text = demo_clinic_text()
    opening = "max_advance_days = 60"
    if opening not in text:
        raise RuntimeError("the demo clinic file changed: update tests/bench_clinic.py")
    text = text.replace(opening, f"max_advance_days = {ADVANCE_DAYS}")
    for slug, name, bio, services, hours in MORE_PRACTITIONERS[: practitioners - DEMO_PRACTITIONERS]:
        listed = ", ".join(f'"{s}"' for s in services)
        text += f'\n[[practitioners]]\nslug = "{slug}"\nname = "{name}"\nbio = "{bio}"\nservices = [{listed}]\n'
        text += "[practitioners.hours]\n" + "".join(
            f"{day} = [{', '.join(repr(p).replace(chr(39), chr(34)) for p in periods)}]\n"
            for day, periods in hours.items())
    # Beds enough for ten practitioners' patients at once: the diaries are packed a visit at a time
    # per practitioner, and a bed is found for every one (_beds_for).
    text += '\n[[rooms]]\nslug = "east-wing"\nname = "East wing"\nbeds = 8\n'
    return text


def build_clinic(now: datetime, *, practitioners: int = 10, past: int = 20_000, future: int = 2_000,
                 seed: int = 1) -> BuiltClinic:
    """Fill an empty, migrated database (inside an app context) with the bench's clinic."""
    if not DEMO_PRACTITIONERS <= practitioners <= DEMO_PRACTITIONERS + len(MORE_PRACTITIONERS):
        raise ValueError(f"practitioners: between {DEMO_PRACTITIONERS} and "
                         f"{DEMO_PRACTITIONERS + len(MORE_PRACTITIONERS)}")
    rng = random.Random(seed)
    import_clinic_file(clinic_file_text(practitioners), "bench_clinic.toml")
    for email, password, role in DEMO_STAFF:  # the desk and Mei sign in for the staff pages
        name, slug = DEMO_ACCOUNTS[email]
        if role is StaffRole.RECEPTIONIST or slug == "mei-lin":  # one account per practitioner
            add_staff(email, name, role, password, now, slug)
    clinic = db.session.get(Clinic, 1)
    _add_holidays(clinic, now, rng)
    past_pool, future_pool = _candidate_visits(clinic, now, past, rng)
    if len(future_pool) < future:
        raise ValueError(f"only {len(future_pool)} free visits ahead; ask for fewer than {future}")
    kept_past = rng.sample(past_pool, past)
    kept_future = rng.sample(future_pool, future)
    patient_ids = _add_patients(max(20, (past + future) // 6), now, rng)
    _add_appointments(kept_past, kept_future, patient_ids, now, rng)
    db.session.commit()
    return BuiltClinic(
        practitioners=practitioners, services=len(SERVICE_WEIGHTS), patients=len(patient_ids), past=past,
        future=future,
        history_starts=min(v.starts_at for v in kept_past).astimezone(clinic.zone).date() if past else now.date(),
    )


def _add_holidays(clinic: Clinic, now: datetime, rng: random.Random) -> None:
    """A week off for each practitioner in the last year and one in the months ahead."""
    today = clinic.today(now)
    rows = []
    for practitioner_id in db.session.scalars(sa.select(Practitioner.id).order_by(Practitioner.id)):
        for first_day in (today - timedelta(days=rng.randint(30, 330)), today + timedelta(days=rng.randint(20, 100))):
            monday = first_day - timedelta(days=first_day.weekday())
            rows.append({
                "practitioner_id": practitioner_id,
                "starts_at": datetime.combine(monday, time(0), clinic.zone),
                "ends_at": datetime.combine(monday + timedelta(days=7), time(0), clinic.zone),
                "reason": "Vacation",
            })
    db.session.execute(sa.insert(TimeOff.__table__), rows)


def _candidate_visits(clinic: Clinic, now: datetime, past: int, rng: random.Random) -> tuple[list[Visit], list[Visit]]:
    """Packed diaries: every day back as far as `past` visits need (at PAST_FILL), and up to the
    clinic's booking horizon ahead. Returns the visits before `now` and those from `now` on."""
    people = db.session.scalars(sa.select(Practitioner).order_by(Practitioner.id)).all()
    services = {s.slug: s for s in db.session.scalars(sa.select(Service))}
    time_off: dict[int, list[tuple[datetime, datetime]]] = {person.id: [] for person in people}
    for practitioner_id, starts_at, ends_at in db.session.execute(
            sa.select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at)):
        time_off[practitioner_id].append((starts_at, ends_at))
    today = clinic.today(now)
    past_pool: list[Visit] = []
    future_pool: list[Visit] = []
    for offset in range(ADVANCE_DAYS + 1):
        for visit in _day_of_visits(clinic, people, services, time_off, today + timedelta(days=offset), rng):
            (future_pool if visit.starts_at >= now else past_pool).append(visit)
    day = today
    while len(past_pool) < past / PAST_FILL:
        day -= timedelta(days=1)
        if (today - day).days > 5 * 365:
            raise ValueError(f"{past} past visits do not fit in five years of these hours")
        past_pool.extend(_day_of_visits(clinic, people, services, time_off, day, rng))
    return past_pool, future_pool


def _day_of_visits(clinic, people, services, time_off, day: date, rng: random.Random) -> list[Visit]:
    """Each practitioner's working periods of `day` packed with visits: a treatment must end by
    the period's end, its buffer may not run into the next visit, and now and then a slot is
    left empty, as in a real diary."""
    step = timedelta(minutes=clinic.slot_step_minutes)
    visits = []
    for person in people:
        offered = [s for s in person.services if s.slug in SERVICE_WEIGHTS]
        weights = [SERVICE_WEIGHTS[s.slug] for s in offered]
        for hours in person.hours:
            if hours.weekday != day.weekday():
                continue
            cursor = datetime.combine(day, hours.start_time, clinic.zone)
            closes = datetime.combine(day, hours.end_time, clinic.zone)
            while True:
                if rng.random() < 0.15:
                    cursor += step
                service = rng.choices(offered, weights)[0]
                ends = cursor + timedelta(minutes=service.minutes)
                occupied = ends + timedelta(minutes=service.buffer_minutes)
                if ends > closes:
                    break
                if not any(start < occupied and cursor < end for start, end in time_off[person.id]):
                    visits.append(Visit(person.id, service.id, cursor.astimezone(UTC), ends.astimezone(UTC),
                                        occupied.astimezone(UTC)))
                steps = -(-(occupied - cursor) // step)  # round up to the slot grid
                cursor += steps * step
    return visits


def _add_patients(count: int, now: datetime, rng: random.Random) -> list[int]:
    rows = []
    for number in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        rows.append({
            "name": f"{first} {last}",
            "email": f"{first}.{last}.{number}@example.com".lower(),
            "phone": f"+1 213 555 01{number % 100:02d}",  # 555-01xx: reserved for fiction
            "born_on": date(1940, 1, 1) + timedelta(days=rng.randint(0, 65 * 365)),
            "created_at": now - timedelta(days=rng.randint(0, 3 * 365)),
        })
    for chunk in _chunks(rows):
        db.session.execute(sa.insert(Patient.__table__), chunk)
    return list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id)))


def _add_appointments(past: list[Visit], future: list[Visit], patient_ids: list[int], now: datetime,
                      rng: random.Random) -> None:
    references: set[str] = set()
    rows = []
    for visit in past + future:
        status = _status(visit, now, rng)
        booked_at = min(now, visit.starts_at - timedelta(days=rng.randint(1, 28), minutes=rng.randint(0, 600)))
        reference = _new_reference(references, rng)
        rows.append({
            "reference": reference,
            "practitioner_id": visit.practitioner_id,
            "service_id": visit.service_id,
            "patient_id": rng.choice(patient_ids),
            "starts_at": visit.starts_at,
            "ends_at": visit.ends_at,
            "occupied_until": visit.occupied_until,
            "status": status,
            "safety_flags": [],
            "safety_checked_at": booked_at,
            "safety_answers": [],
            "manage_token_hash": hashlib.sha256(f"bench-{reference}".encode()).hexdigest(),
            "booked_via": "desk",
            "sequence": 0,
            "created_at": booked_at,
            "cancelled_at": booked_at + timedelta(hours=1) if status is AppointmentStatus.CANCELLED else None,
            "identity_confirmed_at": booked_at,
            "identity_confirmed_by": NOT_NEEDED["desk"],
        })
    beds = _beds_for(past + future, rows)
    for row, bed in zip(rows, beds):
        row["room_id"], row["bed"] = bed
    for chunk in _chunks(rows):
        db.session.execute(sa.insert(Appointment.__table__), chunk)
    _add_parts()


def _beds_for(visits: list[Visit], rows: list[dict]) -> list[tuple[int | None, int | None]]:
    """A room and bed for each visit of a service that needs one, as no two visits share a bed at
    once (the lowest bed free when the visit starts; cancelled visits take none)."""
    needs_bed = {service.id for service in db.session.scalars(sa.select(Service)) if service.needs_bed}
    free_from = {(room.id, bed): datetime.min.replace(tzinfo=UTC)
                 for room in db.session.scalars(sa.select(Room).order_by(Room.slug))
                 for bed in range(1, room.beds + 1)}
    chosen: list[tuple[int | None, int | None]] = [(None, None)] * len(visits)
    for index in sorted(range(len(visits)), key=lambda i: visits[i].starts_at):
        visit = visits[index]
        if visit.service_id not in needs_bed or rows[index]["status"] is AppointmentStatus.CANCELLED:
            continue
        place = next((place for place, free in free_from.items() if free <= visit.starts_at), None)
        if place is None:
            raise RuntimeError("the bench clinic has too few beds for its diaries: add beds in clinic_file_text")
        free_from[place] = visit.occupied_until
        chosen[index] = place
    return chosen


def _add_parts() -> None:
    """Each visit's hands-on parts, as the app writes them (models.held_ranges)."""
    shapes = {service.id: service.shape for service in db.session.scalars(sa.select(Service))}
    rows = [{"appointment_id": visit_id, "practitioner_id": practitioner_id, "starts_at": held.start,
             "ends_at": held.end, "holds_time": status is not AppointmentStatus.CANCELLED}
            for visit_id, practitioner_id, service_id, starts_at, occupied_until, status in db.session.execute(
                sa.select(Appointment.id, Appointment.practitioner_id, Appointment.service_id, Appointment.starts_at,
                          Appointment.occupied_until, Appointment.status).order_by(Appointment.id))
            for held in held_ranges(shapes[service_id], starts_at, occupied_until)]
    for chunk in _chunks(rows):
        db.session.execute(sa.insert(HandsOnPart.__table__), chunk)


def _status(visit: Visit, now: datetime, rng: random.Random) -> AppointmentStatus:
    """Past visits mostly completed, a few missed or cancelled; visits ahead booked, a few cancelled."""
    roll = rng.random()
    if visit.starts_at >= now:
        return AppointmentStatus.CANCELLED if roll < 0.05 else AppointmentStatus.BOOKED
    if roll < 0.07:
        return AppointmentStatus.CANCELLED
    return AppointmentStatus.NO_SHOW if roll < 0.11 else AppointmentStatus.COMPLETED


def _new_reference(taken: set[str], rng: random.Random) -> str:
    while True:
        reference = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(8))
        if reference not in taken:
            taken.add(reference)
            return reference


def _chunks(rows: list[dict]):
    for first in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[first:first + ROWS_PER_STATEMENT]


def count_rows(now: datetime) -> Counter:
    """How many practitioners, services and appointments before and from `now` the database holds."""
    return Counter({
        "practitioners": db.session.scalar(sa.select(sa.func.count()).select_from(Practitioner)),
        "services": db.session.scalar(sa.select(sa.func.count()).select_from(Service)),
        "past": db.session.scalar(sa.select(sa.func.count()).where(Appointment.starts_at < now)),
        "future": db.session.scalar(sa.select(sa.func.count()).where(Appointment.starts_at >= now)),
    })


# --- what beds add: the demo clinic's week, filled ----------------------------------------------

CAPACITY_WEEK = date(2027, 1, 11)  # a Monday; no clock change that week in Los Angeles
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WeekCapacity:
    with_beds: int  # follow-ups that fit with the services' hands-on parts and the clinic's beds
    without: int  # the same hours with hands_on and needs_bed taken out: the practitioner held throughout
    rooms: int
    beds: int

    @property
    def ratio(self) -> float:
        return self.with_beds / self.without


def week_capacity(service_slug: str = "follow-up", first_day: date = CAPACITY_WEEK) -> WeekCapacity:
    """How many visits of one service the demo clinic's week holds, filled greedily through the
    scheduling core (earliest free start first, then practitioner by slug; the bed by the booking's
    own rule), with the service as the clinic file has it and again with its hands-on parts and bed
    taken out. The same practitioners and hours; no notice, no time off, nothing booked before.
    Pure: no database, a fraction of a second."""
    import tomllib
    from zoneinfo import ZoneInfo

    from booking.scheduling import (BedIndex, BedTaken, BookingRules, Room, VisitShape, WorkingInterval,
                                    free_starts_with_beds, parse_hands_on)

    clinic = tomllib.loads(demo_clinic_text())
    zone = ZoneInfo(clinic["clinic"]["timezone"])
    rules = BookingRules(step_minutes=clinic["clinic"]["slot_step_minutes"], min_notice=timedelta(0),
                         max_advance_days=100_000)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    service = next(s for s in clinic["services"] if s["slug"] == service_slug)
    minutes, buffer = service["minutes"], service.get("buffer_minutes", 0)
    as_filed = VisitShape(minutes, buffer, parse_hands_on(service["hands_on"], minutes) if "hands_on" in service else (),
                          service.get("needs_bed", False))
    rooms = [Room(room["slug"], room["beds"]) for room in clinic.get("rooms", ())]
    hours = {
        p["slug"]: [WorkingInterval(WEEKDAY_KEYS.index(day), time.fromisoformat(start), time.fromisoformat(end))
                    for day, periods in p.get("hours", {}).items() for period in periods
                    for start, end in [period.split("-")]]
        for p in clinic["practitioners"] if service_slug in p.get("services", ())
    }

    def filled(shape: VisitShape) -> int:
        booked = 0
        for day in (first_day + timedelta(days=n) for n in range(7)):
            busy: dict[str, list] = {slug: [] for slug in hours}
            taken: list[BedTaken] = []
            while True:
                beds = BedIndex(rooms, taken, zone) if shape.needs_bed else None
                free = [(start, slug) for slug in sorted(hours) for start in free_starts_with_beds(
                    days=[day], hours=hours[slug], time_off=[], busy=busy[slug], shape=shape, beds=beds,
                    rules=rules, now=long_ago, zone=zone)[:1]]
                if not free:
                    break
                start, slug = min(free)
                busy[slug].extend(shape.held_by_practitioner(start))
                if beds is not None:
                    choice = beds.choose(shape.bed_time(start))
                    taken.append(BedTaken(choice.room, choice.bed, shape.bed_time(start)))
                booked += 1
        return booked

    return WeekCapacity(filled(as_filed), filled(VisitShape(minutes, buffer)), len(rooms),
                        sum(room.beds for room in rooms))
