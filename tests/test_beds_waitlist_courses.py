"""Beds shared by every practitioner: a cancelled bed visit gives its bed back to anyone's waiting
patients, and a course plans around beds other practitioners' patients have."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, Practitioner, TimeOff
from booking.operations import bookings
from booking.operations.availability import find_slots, load_clinic, load_practitioners, load_service
from booking.operations.clinic_file import import_clinic_file
from booking.transaction import write_transaction
from tests.test_waitlist import cancel, details, join, local, offers

MONDAY = date(2027, 3, 8)  # the clock's day: Monday 08:00 in Los Angeles, two hours' notice

ONE_BED = """\
[[services]]
slug = "needle"
name = "Needling"
minutes = 30
needs_bed = true
hands_on = ["0-5", "25-30"]

[[rooms]]
slug = "quiet"
name = "Quiet room"
beds = 1

[[practitioners]]
slug = "ana"
name = "Ana Test"
services = ["consult", "short", "needle"]

[[practitioners]]
slug = "ben"
name = "Ben Test"
services = ["short", "needle"]
"""


@pytest.fixture
def one_bed(clinic):
    """The test clinic with one bed, Ana and Ben both needling; Ana's Monday holds one start, 11:00."""
    with clinic.app_context():
        import_clinic_file(ONE_BED, "one_bed.toml")
        with write_transaction():
            ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
            db.session.add_all([TimeOff(practitioner=ana, starts_at=local(MONDAY, 9), ends_at=local(MONDAY, 11)),
                                TimeOff(practitioner=ana, starts_at=local(MONDAY, 11, 30), ends_at=local(MONDAY, 17))])
    return clinic


def anas_monday(app) -> list:
    with app.app_context():
        service = load_service("needle")
        return [slot.start for slot in find_slots(load_clinic(), service, load_practitioners(service, "ana"), MONDAY, 1,
                                                  app.config["CLOCK"]())]


def test_a_cancelled_bed_visit_offers_its_bed_to_another_practitioners_waiting_patient(one_bed, clock):
    assert anas_monday(one_bed) == [local(MONDAY, 11)]
    with one_bed.app_context():
        bens = bookings.book(bookings.BookingRequest("needle", "ben", local(MONDAY, 11), details(50)), clock()).appointment_id
    assert anas_monday(one_bed) == []  # Ana is free, but the only bed is Ben's patient's
    join(one_bed, 1, service="needle", first_day=MONDAY, last_day=MONDAY + timedelta(days=1))
    cancel(one_bed, bens)
    assert anas_monday(one_bed) == [local(MONDAY, 11)]
    assert offers(one_bed) == [("wait1@example.com", "open", local(MONDAY, 11))]


def test_a_cancelled_visit_without_a_bed_offers_only_its_own_practitioners_time(one_bed, clock):
    with one_bed.app_context():
        bens = bookings.book(bookings.BookingRequest("short", "ben", local(MONDAY, 11), details(50)), clock()).appointment_id
        assert db.session.get(Appointment, bens).room_id is None
    join(one_bed, 1, service="short", first_day=MONDAY, last_day=MONDAY + timedelta(days=1))
    cancel(one_bed, bens)
    assert offers(one_bed) == []  # Ana's 11:00 was free all along: not news


def test_a_course_plans_around_a_bed_another_practitioners_patient_has(one_bed, clock):
    """Ana is free the next Monday at 11:00, but Ben's patient has the only bed: that visit of her
    course is offered other times, and booking them gives every visit its parts and the bed."""
    from booking.operations import courses
    from booking.scheduling.course import Repeat

    next_monday = MONDAY + timedelta(days=7)
    with one_bed.app_context():
        bookings.book(bookings.BookingRequest("needle", "ben", local(next_monday, 11), details(50)), clock())
        plan = courses.plan_course("needle", "ana", local(MONDAY, 11), Repeat(7, 2), clock())
        first, second = plan.proposals
        assert (first.is_free, second.is_free) == (True, False)
        assert local(next_monday, 11) not in second.alternatives and second.alternatives
        booked = courses.book_course(bookings.BookingRequest("needle", "ana", local(MONDAY, 11), details(51)),
                                     Repeat(7, 2), [first.wanted, second.alternatives[0]], clock())
        visits = [db.session.get(Appointment, visit.id) for visit in booked.appointments]
        assert [(visit.room.slug, visit.bed, len(visit.parts)) for visit in visits] == [("quiet", 1, 2)] * 2


def test_a_moved_bed_visit_offers_the_bed_it_left_to_another_practitioners_waiting_patient(one_bed, clock):
    with one_bed.app_context():
        bens = bookings.book(bookings.BookingRequest("needle", "ben", local(MONDAY, 11), details(50)), clock()).appointment_id
    join(one_bed, 1, service="needle", first_day=MONDAY, last_day=MONDAY + timedelta(days=1))
    with one_bed.app_context():
        bookings.move(bens, local(MONDAY, 14), clock())
    assert offers(one_bed) == [("wait1@example.com", "open", local(MONDAY, 11))]
