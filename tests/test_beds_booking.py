"""Beds and hands-on parts through the booking path, on both databases: the JSON API's slots and
bookings, the desk's booking, moves and cancellations, a course and a waitlist offer, each judged
by the rows it leaves (hands_on_part, and the visit's room and bed) as well as by what is offered.

The clinic: Ana and Ben needle ("needles": 45 minutes, hands on for minutes 0-10 and 35-45, a bed
for the visit and its 15-minute buffer) and talk ("talk": 30 minutes, no parts, no bed). Two
rooms: "alpha" with one bed and "community" with two, three beds in all. The clock is Monday 8 March
2027, 08:00 in Los Angeles (PST, UTC-8); with two hours' notice the first start is 10:00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (Appointment, HandsOnPart, Practitioner, StaffRole,
                            WaitlistOffer)
from booking.operations import bookings, catalogue, desk, waitlist
from booking.operations.availability import find_slots, load_clinic, offered_slots
from booking.operations.clinic_file import import_clinic_file
from booking.operations.history import staff_actor
from booking.operations.staff import add_staff
from booking.scheduling import free_starts
from tests.conftest import CLINIC_TOML

UTC = timezone.utc
MONDAY, TUESDAY, WEDNESDAY = date(2027, 3, 8), date(2027, 3, 9), date(2027, 3, 10)

# The test clinic's own [clinic] table, with services, rooms and practitioners of its own.
BEDS_TOML = CLINIC_TOML[:CLINIC_TOML.index("[[services]]")] + """\
[[services]]
slug = "needles"
name = "Needling"
minutes = 45
buffer_minutes = 15
needs_bed = true
hands_on = ["0-10", "35-45"]

[[services]]
slug = "talk"
name = "Talk"
minutes = 30

[[rooms]]
slug = "alpha"
name = "Alpha room"
beds = 1

[[rooms]]
slug = "community"
name = "Community room"
beds = 2

[[practitioners]]
slug = "ana"
name = "Ana Test"
services = ["needles", "talk"]
[practitioners.hours]
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[[practitioners]]
slug = "ben"
name = "Ben Test"
services = ["needles", "talk"]
[practitioners.hours]
mon = ["09:00-17:00"]
wed = ["09:00-17:00"]
"""


def at(day: date, wall: str) -> str:
    """The API's form of a wall-clock time in Los Angeles before the change to PDT (14 March)."""
    return f"{day.isoformat()}T{wall}:00-08:00"


def instant(day: date, wall: str) -> datetime:
    return datetime.fromisoformat(at(day, wall)).astimezone(UTC)


@pytest.fixture
def clinic(app):
    with app.app_context():
        import_clinic_file(BEDS_TOML, "beds_clinic.toml")
    return app


@pytest.fixture
def client(clinic):
    return clinic.test_client()


_numbers = iter(range(1, 10_000))


def body(start: str, service="needles", practitioner="ana", **extra) -> dict:
    number = next(_numbers)
    return {"service": service, "practitioner": practitioner, "start": start, "safety": [],
            "patient": {"name": f"Bed Patient {number}", "email": f"bed{number}@example.com",
                        "phone": "+1 213 555 0142", "birth_date": "1980-05-17"}} | extra


def book(client, start: str, service="needles", practitioner="ana", **extra) -> str:
    """Book through the API; the visit's reference."""
    answer = client.post("/api/v1/bookings", json=body(start, service, practitioner, **extra))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["reference"]


def starts(client, day: date, service="needles", practitioner="ana") -> list[str]:
    """The wall-clock starts /api/v1/slots offers on `day` ("10:15")."""
    answer = client.get("/api/v1/slots", query_string={"service": service, "practitioner": practitioner,
                                                        "from": day.isoformat(), "days": 1})
    assert answer.status_code == 200, answer.get_json()
    return [slot["start"][11:16] for slot in answer.get_json()["slots"]]


def local(moment: datetime) -> str:
    return moment.astimezone(load_clinic().zone).strftime("%H:%M")


def visit_id(app, reference: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == reference))


def bed_of(app, reference: str) -> tuple[str | None, int | None]:
    """The room slug and bed number stored on the visit's row."""
    with app.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        return (visit.room.slug if visit.room else None), visit.bed


def parts_of(app, reference: str) -> list[tuple[str, str, str, bool]]:
    """The visit's hands_on_part rows as (practitioner, start, end, holds_time), wall clock, by start."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Practitioner.slug, HandsOnPart.starts_at, HandsOnPart.ends_at, HandsOnPart.holds_time)
            .join(Practitioner, Practitioner.id == HandsOnPart.practitioner_id)
            .join(Appointment, Appointment.id == HandsOnPart.appointment_id)
            .where(Appointment.reference == reference).order_by(HandsOnPart.starts_at)).all()
        return [(who, local(start), local(end), holds) for who, start, end, holds in rows]


def receptionist(app):
    with app.app_context():
        account = add_staff("desk.beds@example.org", "Dana Desk", StaffRole.RECEPTIONIST, "correct horse battery",
                            app.config["CLOCK"]())
        return account.id


def account_of(account_id: int):
    from booking.models import StaffAccount

    return db.session.get(StaffAccount, account_id)


# --- hands-on parts: a start during another patient's rest -------------------------------------


def test_a_practitioner_offers_and_books_a_start_during_another_patients_rest(clinic, client):
    first = book(client, at(MONDAY, "10:00"))
    offered = starts(client, MONDAY)
    # Ana needles 10:00-10:10 and takes the needles out 10:35-10:45: 10:15 fits between (its parts are
    # 10:15-10:25 and 10:50-11:00), 10:30 does not (10:30-10:40 meets the needles coming out).
    assert "10:00" not in offered and "10:15" in offered and "10:30" not in offered and "10:45" in offered
    second = book(client, at(MONDAY, "10:15"))

    assert parts_of(clinic, first) == [("ana", "10:00", "10:10", True), ("ana", "10:35", "10:45", True)]
    assert parts_of(clinic, second) == [("ana", "10:15", "10:25", True), ("ana", "10:50", "11:00", True)]
    assert bed_of(clinic, first) == ("alpha", 1) and bed_of(clinic, second) == ("community", 1)
    with clinic.app_context():
        visits = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)).all()
        assert [v.occupied_until - v.starts_at for v in visits] == [timedelta(minutes=60)] * 2  # the bed's time
    # A visit holding Ana throughout cannot go in the rest: "talk" at 10:15 would run into 10:35-10:45.
    assert "10:15" not in starts(client, MONDAY, service="talk")


def test_a_service_without_hands_on_behaves_as_before_one_part_for_the_whole_visit_and_no_bed(clinic, client):
    with clinic.app_context():
        known, moment = catalogue.current(), clinic.config["CLOCK"]()
        talk, [ana] = known.service("talk"), known.practitioners_for(known.service("talk"), "ana")
        before = [slot.start for slot in find_slots(known, talk, [ana], MONDAY, 1, moment)]
        # Exactly the core's free_starts, as before beds: the same grid, notice and hours.
        assert before == free_starts(days=[MONDAY], hours=ana.working_intervals, time_off=[], busy=[], minutes=30,
                                     buffer_minutes=0, rules=known.booking_rules, now=moment, zone=known.zone)
    reference = book(client, at(MONDAY, "10:00"), service="talk")
    assert parts_of(clinic, reference) == [("ana", "10:00", "10:30", True)]
    assert bed_of(clinic, reference) == (None, None)
    offered = starts(client, MONDAY, service="talk")
    assert "10:00" not in offered and "10:15" not in offered and "10:30" in offered
    # The needling fits around it only where its own parts do: 10:30 (needles in at 10:30-10:40).
    needles = starts(client, MONDAY)
    assert "10:00" not in needles and "10:15" not in needles and "10:30" in needles
    with clinic.app_context():
        bookings.cancel(visit_id(clinic, reference), "", clinic.config["CLOCK"]())
    assert parts_of(clinic, reference) == [("ana", "10:00", "10:30", False)]
    assert "10:00" in starts(client, MONDAY, service="talk")


# --- which bed -----------------------------------------------------------------------------------


def test_the_bed_is_the_room_with_fewest_visits_that_day_then_by_slug_and_its_lowest_free_bed(clinic, client):
    # An empty day: both rooms have no visits, so the first by slug ("alpha" before "community").
    assert bed_of(clinic, book(client, at(WEDNESDAY, "14:00"))) == ("alpha", 1)
    # Alpha is free at 16:00 too, but has a visit that day and the community room none.
    assert bed_of(clinic, book(client, at(WEDNESDAY, "16:00"), practitioner="ben")) == ("community", 1)
    # One visit each: alpha again, by slug.
    assert bed_of(clinic, book(client, at(WEDNESDAY, "16:00"))) == ("alpha", 1)
    # Alpha has two, the community room one, whose bed 1 is taken until 17:00: its bed 2.
    assert bed_of(clinic, book(client, at(WEDNESDAY, "16:15"), practitioner="ben")) == ("community", 2)
    # Another day counts afresh.
    assert bed_of(clinic, book(client, at(TUESDAY, "16:00"))) == ("alpha", 1)


def test_when_every_bed_is_taken_the_time_is_not_offered_though_the_practitioner_is_free(clinic, client):
    book(client, at(MONDAY, "10:00"))  # alpha 1, 10:00-11:00
    book(client, at(MONDAY, "10:15"))  # community 1, 10:15-11:15
    book(client, at(MONDAY, "10:00"), practitioner="ben")  # community 2, 10:00-11:00
    # Ben's own parts are 10:00-10:10 and 10:35-10:45: 10:15 is free for him, but no bed is free
    # for 10:15-11:15 in any room. At 11:00 two beds are free again.
    offered = starts(client, MONDAY, practitioner="ben")
    assert "10:15" not in offered and "11:00" in offered
    assert "10:15" not in starts(client, MONDAY, practitioner="any")
    refused = client.post("/api/v1/bookings", json=body(at(MONDAY, "10:15"), practitioner="ben"))
    assert refused.status_code == 409 and refused.get_json()["error"] == "slot_taken"
    alternatives = [slot["start"] for slot in refused.get_json()["alternatives"]]
    assert alternatives and at(MONDAY, "10:15") not in alternatives
    # A service that takes no bed is not held back by the beds: Ben may talk from 10:45, when his
    # needles are out ("talk" at 10:15 would hold him through 10:35-10:45).
    assert "10:45" in starts(client, MONDAY, service="talk", practitioner="ben")
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 3


def test_another_practitioners_visit_on_the_last_bed_takes_the_time_away_and_the_kept_answers_see_it(clinic, client):
    book(client, at(MONDAY, "10:00"), practitioner="ben")  # alpha 1, 10:00-11:00
    book(client, at(MONDAY, "10:15"))  # Ana: community 1, 10:15-11:15

    def bens_kept_starts() -> list[datetime]:
        with clinic.app_context():
            known, diaries = catalogue.current_with_diaries()
            needles = known.service("needles")
            return [slot.start for slot in offered_slots(known, needles, known.practitioners_for(needles, "ben"),
                                                         MONDAY, 1, clinic.config["CLOCK"](), diaries)]

    # Ben is free at 10:15 (his parts 10:15-10:25 and 10:50-11:00 miss his 10:00 visit's), and the
    # community room's bed 2 is free for 10:15-11:15.
    assert instant(MONDAY, "10:15") in bens_kept_starts()
    assert "10:15" in starts(client, MONDAY, practitioner="ben")
    # Ana, free at 10:30 between her own parts, takes that last bed for 10:30-11:30.
    assert bed_of(clinic, book(client, at(MONDAY, "10:30"))) == ("community", 2)
    # Only Ana's diary changed, yet Ben's answers (kept under every practitioner's diary stamp for a
    # service that takes a bed) are made afresh: 10:15 is gone for him, though he is still free.
    assert instant(MONDAY, "10:15") not in bens_kept_starts()
    assert "10:15" not in starts(client, MONDAY, practitioner="ben")
    lost = client.post("/api/v1/bookings", json=body(at(MONDAY, "10:15"), practitioner="ben"))
    assert lost.status_code == 409


def test_kept_answers_for_a_bed_service_are_each_practitioners_own(clinic, client):
    """A bed service's kept answer is keyed on every practitioner's diary stamp; it once left out who
    was asked about, so the first practitioner's free times were served for the next one asked."""
    book(client, at(MONDAY, "10:00"), practitioner="ben")
    anas, bens = starts(client, MONDAY), starts(client, MONDAY, practitioner="ben")
    assert "10:00" in anas and "10:00" not in bens and anas != bens
    assert starts(client, MONDAY, practitioner="any") != anas


# --- moves and cancellations ---------------------------------------------------------------------


def test_a_move_takes_a_bed_at_the_new_time_and_frees_the_old_bed_and_parts(clinic, client):
    moving = book(client, at(MONDAY, "10:00"))  # alpha 1
    book(client, at(MONDAY, "10:15"))  # community 1
    book(client, at(MONDAY, "10:00"), practitioner="ben")  # community 2: every bed taken 10:15-11:00
    assert "10:15" not in starts(client, MONDAY, practitioner="ben")
    moving_id = visit_id(clinic, moving)
    with clinic.app_context():
        part_ids = db.session.scalars(sa.select(HandsOnPart.id).where(HandsOnPart.appointment_id == moving_id)
                                      .order_by(HandsOnPart.id)).all()
        bookings.move(moving_id, instant(MONDAY, "14:00"), clinic.config["CLOCK"]())

    # At 14:00 (leaving the visit itself out) alpha has no visit that day and the community room two.
    assert bed_of(clinic, moving) == ("alpha", 1)
    assert parts_of(clinic, moving) == [("ana", "14:00", "14:10", True), ("ana", "14:35", "14:45", True)]
    with clinic.app_context():  # the same rows, moved: nothing of the old time is held
        assert db.session.scalars(sa.select(HandsOnPart.id).where(HandsOnPart.appointment_id == moving_id)
                                  .order_by(HandsOnPart.id)).all() == part_ids
    offered = starts(client, MONDAY)
    assert "10:30" in offered or "10:45" in offered  # Ana's 10:00 parts are free again
    # Alpha's bed is free again at 10:15-11:15: Ben may take it.
    assert "10:15" in starts(client, MONDAY, practitioner="ben")
    assert bed_of(clinic, book(client, at(MONDAY, "10:15"), practitioner="ben")) == ("alpha", 1)


def test_a_move_keeps_its_own_bed_when_it_is_still_the_one_the_rule_gives(clinic, client):
    moving = book(client, at(TUESDAY, "10:00"))
    assert bed_of(clinic, moving) == ("alpha", 1)
    with clinic.app_context():
        # 10:15-11:15 overlaps its own 10:00-11:00 on alpha's only bed, which is its own to keep.
        bookings.move(visit_id(clinic, moving), instant(TUESDAY, "10:15"), clinic.config["CLOCK"]())
    assert bed_of(clinic, moving) == ("alpha", 1)
    assert parts_of(clinic, moving) == [("ana", "10:15", "10:25", True), ("ana", "10:50", "11:00", True)]


def test_the_desk_moves_a_visit_to_another_practitioner_and_bed(clinic, client):
    account_id = receptionist(clinic)
    moving = book(client, at(MONDAY, "10:00"))  # Ana, alpha 1
    book(client, at(MONDAY, "10:00"), practitioner="ben")  # Ben, community 1
    with clinic.app_context():
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        # To Ben at 10:15, in his rest; alpha's own bed is free to it (itself left out), and alpha has
        # no other visit that day against the community room's one.
        desk.move(account_of(account_id), visit_id(clinic, moving), ben, instant(MONDAY, "10:15"),
                  clinic.config["CLOCK"]())
    assert parts_of(clinic, moving) == [("ben", "10:15", "10:25", True), ("ben", "10:50", "11:00", True)]
    assert bed_of(clinic, moving) == ("alpha", 1)
    assert "10:00" in starts(client, MONDAY)  # Ana's time is hers again


def test_a_cancellation_frees_the_bed_and_the_parts_together(clinic, client):
    references = [book(client, at(MONDAY, "10:00")), book(client, at(MONDAY, "10:15")),
                  book(client, at(MONDAY, "10:00"), practitioner="ben")]
    assert "10:15" not in starts(client, MONDAY, practitioner="ben")
    with clinic.app_context():
        bookings.cancel(visit_id(clinic, references[0]), "", clinic.config["CLOCK"]())
    assert parts_of(clinic, references[0]) == [("ana", "10:00", "10:10", False), ("ana", "10:35", "10:45", False)]
    with clinic.app_context():
        holding = db.session.scalar(sa.select(sa.func.count()).select_from(HandsOnPart).where(HandsOnPart.holds_time))
        assert holding == 4  # the other two visits' parts
    assert "10:00" in starts(client, MONDAY)  # Ana's parts are free
    assert "10:15" in starts(client, MONDAY, practitioner="ben")  # and so is alpha's bed
    # The same time and bed again: the cancelled row keeps its room and bed as a record, and holds neither.
    again = book(client, at(MONDAY, "10:00"))
    assert bed_of(clinic, again) == ("alpha", 1) == bed_of(clinic, references[0])
    assert parts_of(clinic, again) == [("ana", "10:00", "10:10", True), ("ana", "10:35", "10:45", True)]


# --- the other ways in: the desk, a course, the waitlist -----------------------------------------


def test_the_desks_booking_writes_parts_and_a_bed_and_may_fill_inside_the_notice(clinic, client):
    account_id = receptionist(clinic)
    request = bookings.BookingRequest("needles", "ben", instant(MONDAY, "09:00"), bookings.PatientDetails(
        "Desk Caller", "caller@example.com", "+1 213 555 0142", date(1975, 1, 2)), booked_via="desk")
    with clinic.app_context():
        reference = desk.book_for_caller(account_of(account_id), request, clinic.config["CLOCK"]()).appointment.reference
    assert parts_of(clinic, reference) == [("ben", "09:00", "09:10", True), ("ben", "09:35", "09:45", True)]
    assert bed_of(clinic, reference) == ("alpha", 1)
    # In Ben's rest, for another caller, under the desk's rules: the next room.
    with clinic.app_context():
        second = desk.book_for_caller(account_of(account_id), bookings.BookingRequest(
            "needles", "ben", instant(MONDAY, "09:15"), bookings.PatientDetails(
                "Second Caller", "second@example.com", "+1 213 555 0143", date(1976, 1, 2)), booked_via="desk"),
            clinic.config["CLOCK"]()).appointment.reference
    assert bed_of(clinic, second) == ("community", 1)


def test_a_course_books_a_bed_and_parts_for_every_visit(clinic, client):
    answer = client.post("/api/v1/bookings", json=body(at(TUESDAY, "10:00"), repeat={"every_days": 7, "count": 3}))
    assert answer.status_code == 201, answer.get_json()
    references = [visit["reference"] for visit in answer.get_json()["visits"]]
    assert len(references) == 3
    for reference in references:
        assert parts_of(clinic, reference) == [("ana", "10:00", "10:10", True), ("ana", "10:35", "10:45", True)]
        assert bed_of(clinic, reference) == ("alpha", 1)


def test_a_course_may_start_during_another_patients_rest_as_the_slots_offer(clinic, client):
    book(client, at(TUESDAY, "10:00"))
    assert "10:15" in starts(client, TUESDAY)
    answer = client.post("/api/v1/bookings", json=body(at(TUESDAY, "10:15"), repeat={"every_days": 7, "count": 2}))
    assert answer.status_code == 201, answer.get_json()


def test_a_waitlist_booking_writes_parts_and_a_bed(clinic, client):
    account_id = receptionist(clinic)
    moment = clinic.config["CLOCK"]()
    with clinic.app_context():
        joined = waitlist.join(waitlist.JoinRequest(
            waitlist.Wishes(service="needles", practitioner="ben", first_day=WEDNESDAY, last_day=WEDNESDAY,
                            weekdays=(), parts_of_day=()),
            bookings.PatientDetails("Wait Er", "wait@example.com", "+1 213 555 0142", date(1980, 4, 2)), ()), moment)
        ben = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ben"))
        offer = waitlist.offer_directly(joined.entry_id, ben, instant(WEDNESDAY, "11:00"), moment,
                                        by=staff_actor(account_of(account_id)))
        offer_id = offer.offer.id
        db.session.commit()
    with clinic.app_context():
        result = waitlist.confirm(joined.entry_id, offer_id, moment)
        reference = result.appointment.reference
    assert parts_of(clinic, reference) == [("ben", "11:00", "11:10", True), ("ben", "11:35", "11:45", True)]
    assert bed_of(clinic, reference) == ("alpha", 1)
    with clinic.app_context():
        assert db.session.get(WaitlistOffer, offer_id).state.value == "booked"
