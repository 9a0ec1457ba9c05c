"""Migration 0031: every visit booked before it gets its one hands-on part (its whole time), a
cancelled one's holding nothing, and the booking's guarantees carry on over the new rows."""

import flask_migrate
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, HandsOnPart
from booking.operations import bookings
from tests.test_api import MONDAY_10, MONDAY_14, body


def test_visits_booked_before_the_upgrade_hold_their_whole_time_as_parts(clinic, client, clock, database_url):
    for start in (MONDAY_10, MONDAY_14):
        assert client.post("/api/v1/bookings", json=body(start=start)).status_code == 201
    with clinic.app_context():
        visits = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)).all()
        kept, cancelled = visits[0].id, visits[1].id
        bookings.cancel(cancelled, "", clock())
        db.session.remove()
        flask_migrate.downgrade(revision="0030")
        flask_migrate.upgrade()
        parts = db.session.execute(sa.select(HandsOnPart.appointment_id, HandsOnPart.starts_at, HandsOnPart.ends_at,
                                             HandsOnPart.holds_time).order_by(HandsOnPart.appointment_id)).all()
        spans = {visit.id: (visit.starts_at, visit.occupied_until) for visit in
                 db.session.scalars(sa.select(Appointment))}
        if database_url.startswith("postgresql"):
            constraints = set(db.session.scalars(sa.text(
                "SELECT conname FROM pg_constraint WHERE contype = 'x' ORDER BY conname")))
            assert constraints == {"appointment_bed_no_overlap", "hands_on_part_no_overlap"}
    assert parts == [(kept, *spans[kept], True), (cancelled, *spans[cancelled], False)]
    # The freed time books again; the kept one is still taken.
    assert client.post("/api/v1/bookings", json=body(start=MONDAY_14, email="again@example.com")).status_code == 201
    assert client.post("/api/v1/bookings", json=body(start=MONDAY_10, email="late@example.com")).status_code == 409

