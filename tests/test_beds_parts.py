"""A visit's hands-on parts follow it through the ORM: laid out when it is booked or moved, kept as
booked through the desk's marks, released when it is cancelled."""

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, HandsOnPart, Service
from booking.operations import bookings
from booking.transaction import write_transaction
from tests.test_beds_waitlist_courses import MONDAY, details, local, one_bed  # noqa: F401 (fixture)


def parts_of(visit_id: int) -> list[tuple]:
    return [(row.starts_at, row.ends_at, row.holds_time) for row in db.session.scalars(
        sa.select(HandsOnPart).where(HandsOnPart.appointment_id == visit_id).order_by(HandsOnPart.starts_at))]


def test_parts_are_kept_as_booked_through_marks_and_released_by_a_cancellation(one_bed, clock):  # noqa: F811
    with one_bed.app_context():
        visit_id = bookings.book(bookings.BookingRequest("needle", "ben", local(MONDAY, 11), details(50)),
                                 clock()).appointment_id
        booked = [(local(MONDAY, 11), local(MONDAY, 11, 5), True), (local(MONDAY, 11, 25), local(MONDAY, 11, 30), True)]
        assert parts_of(visit_id) == booked
        with write_transaction():  # the clinic reshapes the service after the booking...
            db.session.scalar(sa.select(Service).where(Service.slug == "needle")).hands_on = [[0, 15]]
        with write_transaction():  # ...and the visit's marks leave its parts as booked
            db.session.get(Appointment, visit_id).status = AppointmentStatus.ARRIVED
        assert parts_of(visit_id) == booked
        with write_transaction():
            db.session.get(Appointment, visit_id).status = AppointmentStatus.BOOKED
        bookings.move(visit_id, local(MONDAY, 12), clock(), actor=bookings.PATIENT)
        # A move lays them out again, in the service's shape as it is now.
        assert parts_of(visit_id) == [(local(MONDAY, 12), local(MONDAY, 12, 15), True)]
        bookings.cancel(visit_id, "", clock())
        assert parts_of(visit_id) == [(local(MONDAY, 12), local(MONDAY, 12, 15), False)]
        assert db.session.get(Appointment, visit_id).room_id is not None  # kept as a record; the bed is free
