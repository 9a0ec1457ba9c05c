"""Beds and hands-on parts under races, against real gunicorn worker processes on SQLite and
PostgreSQL: racers for one start and one bed, and racers for one practitioner's overlapping
hands-on parts at different starts, each have exactly one winner; the rest are told 409 with other
times. And, on PostgreSQL, the database's own constraints refuse an overlapping part and a doubly
booked bed written behind the app's back, which a booking's write_transaction reports as "taken".
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, HandsOnPart, Practitioner, Room
from booking.operations.bookings import SlotTaken
from booking.operations.clinic_file import import_clinic_file
from booking.transaction import write_transaction
from tests import servers
from tests.conftest import DATABASES, app_config, close_database, fresh_database
from tests.test_concurrency import call

WORKERS = 4  # single-threaded gunicorn workers: racers land in different processes
CONTENDERS = 8
ROUNDS = 2
PRACTITIONERS = ("p1", "p2", "p3", "p4")

# One room with one bed, so that every needling visit of every practitioner competes for it; and a
# service with the same hands-on parts that takes no bed, so that only the practitioner's parts do.
RACE_TOML = """\
[clinic]
name = "Bed Race Clinic"
timezone = "America/Los_Angeles"
phone = "+1 213 555 0100"
emergency_number = "911"
slot_step_minutes = 15
min_notice_hours = 1
max_advance_days = 30
cancellation_notice_hours = 0
region = "US"
alert_email = "alerts@clinic.example.com"

[[services]]
slug = "needles"
name = "Needling"
minutes = 45
buffer_minutes = 15
needs_bed = true
hands_on = ["0-10", "35-45"]

[[services]]
slug = "chair"
name = "Needling in a chair"
minutes = 45
hands_on = ["0-10", "35-45"]

[[rooms]]
slug = "solo"
name = "Solo room"
beds = 1
""" + "".join(f"""
[[practitioners]]
slug = "{slug}"
name = "Practitioner {slug.upper()}"
services = ["needles", "chair"]
[practitioners.hours]
{chr(10).join(f'{day} = ["08:00-20:00"]' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
""" for slug in PRACTITIONERS)

_patients = itertools.count(1)


def patient() -> dict:
    number = next(_patients)
    return {"name": f"Racer {number}", "email": f"racer{number}@example.com", "phone": "+1 213 555 0100",
            "birth_date": "1980-01-01"}


@pytest.fixture(scope="module", params=DATABASES)
def served(request, tmp_path_factory):
    """The race clinic on a fresh database of each kind, served by gunicorn; (base URL, checker app)."""
    folder = tmp_path_factory.mktemp(f"bed-races-{request.param}")
    with fresh_database(request, request.param, folder) as url:
        setup = create_app(app_config(url))
        with setup.app_context():
            import_clinic_file(RACE_TOML, "bed_races.toml")
        close_database(setup)
        env = {"API_BOOKING_LIMIT": "1000 per minute", "API_READ_LIMIT": "1000 per minute"}
        with servers.gunicorn(url, folder, workers=WORKERS, threads=1, env=env) as base:
            checker = create_app(app_config(url))
            try:
                yield base, checker
            finally:
                close_database(checker)


def at_once(bodies: list[dict], base: str) -> list[tuple[int, dict]]:
    """POST the bookings released together by a barrier; their (status, answer) in order."""
    release = threading.Barrier(len(bodies), timeout=30)

    def post(payload: dict) -> tuple[int, dict]:
        release.wait()
        return call(f"{base}/api/v1/bookings", payload)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def free_for_all(base: str, service: str) -> list[str]:
    """Starts every practitioner offers for the service, on the hour, from tomorrow (clear of the notice)."""
    status, found = call(f"{base}/api/v1/slots?service={service}&practitioner=any&days=14")
    assert status == 200, found
    offered: dict[str, set[str]] = {}
    for slot in found["slots"]:
        offered.setdefault(slot["start"], set()).add(slot["practitioner"])
    first_day = min(start[:10] for start in offered)
    return [start for start, who in offered.items()
            if who == set(PRACTITIONERS) and start[14:16] == "00" and start[:10] > first_day]


def assert_lost_kindly(results: list[tuple[int, dict]], lost_start: str) -> None:
    for status, answer in results:
        assert status in (201, 409), answer
        if status == 409:
            assert answer["error"] == "slot_taken", answer
            alternatives = [slot["start"] for slot in answer["alternatives"]]
            assert alternatives and lost_start not in alternatives, answer


def holding(checker) -> tuple[list, list]:
    """Every part that holds time as (practitioner, start, end), and every visit on a bed as
    (room, bed, start, end), from the database itself."""
    with checker.app_context():
        parts = db.session.execute(sa.select(HandsOnPart.practitioner_id, HandsOnPart.starts_at, HandsOnPart.ends_at)
                                   .where(HandsOnPart.holds_time).order_by(HandsOnPart.starts_at)).all()
        beds = db.session.execute(sa.select(Appointment.room_id, Appointment.bed, Appointment.starts_at,
                                            Appointment.occupied_until)
                                  .where(Appointment.room_id.is_not(None),
                                         Appointment.status.in_(AppointmentStatus.holding_time()))
                                  .order_by(Appointment.starts_at)).all()
        db.session.remove()
    return [tuple(row) for row in parts], [tuple(row) for row in beds]


def assert_nothing_overlaps(checker) -> None:
    parts, beds = holding(checker)
    for key, rows in (("practitioner's parts", [((who,), s, e) for who, s, e in parts]),
                      ("bed", [((room, bed), s, e) for room, bed, s, e in beds])):
        by_owner: dict = {}
        for owner, start, end in rows:
            by_owner.setdefault(owner, []).append((start, end))
        for spans in by_owner.values():
            spans.sort()
            for (_, end), (next_start, _) in zip(spans, spans[1:]):
                assert end <= next_start, f"a {key} overlaps: {spans}"


@pytest.mark.slow
def test_racers_of_four_practitioners_for_one_start_and_the_one_bed_have_one_winner(served):
    """The practitioners' own locks do not meet (each racer names a different one): only the beds'
    lock, or SQLite's write lock, and the bed's constraint stand between them."""
    base, checker = served
    for _ in range(ROUNDS):
        start = free_for_all(base, "needles")[0]  # asked afresh: free as the round begins
        results = at_once([{"service": "needles", "practitioner": PRACTITIONERS[n % len(PRACTITIONERS)],
                            "start": start, "patient": patient(), "safety": []} for n in range(CONTENDERS)], base)
        assert sorted(status for status, _ in results) == [201] + [409] * (CONTENDERS - 1), results
        assert_lost_kindly(results, start)
        with checker.app_context():
            won = db.session.execute(sa.select(Appointment.room_id, Appointment.bed).where(
                Appointment.starts_at == datetime.fromisoformat(start))).all()
            db.session.remove()
        assert [tuple(row) for row in won] == [(1, 1)]
    assert_nothing_overlaps(checker)


def free_pair(base: str) -> tuple[str, str]:
    """Two free starts of p4's "chair" half an hour apart, on the hour, from tomorrow: free now, and
    each visit's needles coming out (minutes 35-45) meet the other's going in (minutes 30-40)."""
    status, found = call(f"{base}/api/v1/slots?service=chair&practitioner=p4&days=14")
    assert status == 200, found
    offered = [slot["start"] for slot in found["slots"]]
    first_day = min(start[:10] for start in offered)
    for start in offered:
        later = (datetime.fromisoformat(start) + timedelta(minutes=30)).isoformat()
        if start[:10] > first_day and start[14:16] == "00" and later in offered:
            return start, later
    raise AssertionError(f"no two free starts half an hour apart: {offered}")


@pytest.mark.slow
def test_racers_for_one_practitioners_overlapping_hands_on_parts_at_different_starts_have_one_winner(served):
    """Visits at S and S+30 of a service with parts 0-10 and 35-45 meet at S+35..S+40 (and take no
    bed): of racers for both starts, exactly one books."""
    base, checker = served
    for _ in range(ROUNDS):
        first, second = free_pair(base)
        bodies = [{"service": "chair", "practitioner": "p4", "start": (first, second)[n % 2], "patient": patient(),
                   "safety": []} for n in range(CONTENDERS)]
        results = at_once(bodies, base)
        assert sorted(status for status, _ in results) == [201] + [409] * (CONTENDERS - 1), results
        for lost_start in (first, second):  # whichever won, neither time is free for p4 any more
            assert_lost_kindly(results, lost_start)
    assert_nothing_overlaps(checker)


# --- the database's own word (PostgreSQL) --------------------------------------------------------


@pytest.fixture
def booked(app):
    """The race clinic with one needling visit of p1 on the solo room's bed, written through the app;
    the visit's row as plain values."""
    from booking.operations import bookings
    from booking.operations.bookings import BookingRequest, PatientDetails

    with app.app_context():
        import_clinic_file(RACE_TOML, "bed_races.toml")
        start = datetime.fromisoformat("2027-03-09T10:00:00-08:00")  # the pinned clock is Monday 08:00
        result = bookings.book(BookingRequest("needles", "p1", start, PatientDetails(
            "First Patient", "first@example.com", "+1 213 555 0100", datetime(1980, 1, 1).date())),
            app.config["CLOCK"]())
        visit = db.session.get(Appointment, result.appointment_id)
        return {column: getattr(visit, column) for column in (
            "id", "practitioner_id", "service_id", "patient_id", "starts_at", "ends_at", "occupied_until",
            "room_id", "bed", "created_at")}


def _insert_visit(visit: dict, **changes) -> int:
    """A visit written with a plain INSERT: no availability check, no flush hook, no parts."""
    number = next(_patients)
    values = {**{key: value for key, value in visit.items() if key != "id"},
              "reference": f"RAW{number:05d}", "status": AppointmentStatus.BOOKED, "safety_flags": [],
              "manage_token_hash": f"{number:064d}", **changes}
    return db.session.execute(sa.insert(Appointment).returning(Appointment.id), values).scalar_one()


def _other_practitioner() -> int:
    return db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "p2"))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_refuses_an_overlapping_hands_on_part_written_directly_and_the_booking_hears_taken(app, booked):
    with app.app_context():
        # Another visit (p2's, no bed) whose part for p1 is written by hand across p1's 10:35-10:45.
        with pytest.raises(SlotTaken) as lost:
            with write_transaction(taken=lambda: SlotTaken(["the caller's alternatives"])):
                other = _insert_visit(booked, practitioner_id=_other_practitioner(), room_id=None, bed=None)
                db.session.execute(sa.insert(HandsOnPart), {
                    "appointment_id": other, "practitioner_id": booked["practitioner_id"],
                    "starts_at": booked["starts_at"] + timedelta(minutes=40),
                    "ends_at": booked["starts_at"] + timedelta(minutes=50), "holds_time": True})
        assert lost.value.alternatives == ["the caller's alternatives"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1  # all rolled back
        # Outside write_transaction the constraint is named as it is.
        other = _insert_visit(booked, practitioner_id=_other_practitioner(), room_id=None, bed=None)
        part = {"appointment_id": other, "practitioner_id": booked["practitioner_id"],
                "starts_at": booked["starts_at"], "ends_at": booked["starts_at"] + timedelta(minutes=5)}
        with pytest.raises(sa.exc.IntegrityError, match="hands_on_part_no_overlap"):
            db.session.execute(sa.insert(HandsOnPart), part | {"holds_time": True})
        db.session.rollback()
        # A part that holds no time (a cancelled visit's), or one in p1's rest (10:10-10:35), is allowed.
        other = _insert_visit(booked, practitioner_id=_other_practitioner(), room_id=None, bed=None)
        db.session.execute(sa.insert(HandsOnPart), part | {"appointment_id": other, "holds_time": False})
        db.session.execute(sa.insert(HandsOnPart), part | {
            "appointment_id": other, "starts_at": booked["starts_at"] + timedelta(minutes=10),
            "ends_at": booked["starts_at"] + timedelta(minutes=35), "holds_time": True})
        db.session.commit()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_refuses_a_doubly_booked_bed_written_directly_and_the_booking_hears_taken(app, booked):
    with app.app_context():
        with pytest.raises(SlotTaken) as lost:
            with write_transaction(taken=lambda: SlotTaken(["the caller's alternatives"])):
                # p2's visit on the same bed, starting in the first one's buffer.
                _insert_visit(booked, practitioner_id=_other_practitioner(),
                              starts_at=booked["occupied_until"] - timedelta(minutes=5),
                              ends_at=booked["occupied_until"] + timedelta(minutes=40),
                              occupied_until=booked["occupied_until"] + timedelta(minutes=55))
        assert lost.value.alternatives == ["the caller's alternatives"]
        with pytest.raises(sa.exc.IntegrityError, match="appointment_bed_no_overlap"):
            _insert_visit(booked, practitioner_id=_other_practitioner())
        db.session.rollback()
        # Cancelled, or starting as the bed is free again, it is allowed; so is another room's bed 1.
        _insert_visit(booked, practitioner_id=_other_practitioner(), status=AppointmentStatus.CANCELLED)
        length = booked["occupied_until"] - booked["starts_at"]
        _insert_visit(booked, practitioner_id=_other_practitioner(), starts_at=booked["occupied_until"],
                      ends_at=booked["occupied_until"] + timedelta(minutes=45),
                      occupied_until=booked["occupied_until"] + length)
        spare = db.session.execute(sa.insert(Room).returning(Room.id), {
            "slug": "spare", "name": "Spare room", "beds": 1, "is_active": True, "translations": {}}).scalar_one()
        _insert_visit(booked, practitioner_id=_other_practitioner(), room_id=spare)
        db.session.commit()
