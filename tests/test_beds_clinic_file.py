"""The clinic file against what is already stored for beds, on both databases: a service that
leaves hands_on out keeps its stored parts, so they must still fit the minutes the file gives; and
a room the file gives fewer beds may not lose one that a visit still to come is booked on."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Room, Service
from booking.operations.clinic_file import ClinicFileError, import_clinic_file
from tests.test_beds_booking import TUESDAY, WEDNESDAY, at, bed_of, book, clinic, client, starts, visit_id  # noqa: F401 (fixtures)

SHORTER_NEEDLING = """\
# The needling is shorter now; hands_on is left out, so its parts would stay 0-10 and 35-45.
[[services]]
slug = "needles"
name = "Needling"
minutes = 30
"""


def stored(app, slug: str) -> tuple:
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
        return service.minutes, service.hands_on


def test_kept_hands_on_parts_that_no_longer_fit_the_minutes_are_refused_on_the_line(clinic, client):  # noqa: F811
    before = starts(client, TUESDAY)
    with clinic.app_context(), pytest.raises(ClinicFileError) as refused:
        import_clinic_file(SHORTER_NEEDLING, "shorter.toml")
    assert refused.value.problems == [
        "shorter.toml:5: services[0].minutes: the service keeps its hands-on parts 0-10, 35-45 (hands_on is left "
        "out), and they do not fit in 30 minutes: give hands_on for the new length, or hands_on = [] for none"]
    assert stored(clinic, "needles") == (45, [[0, 10], [35, 45]])
    assert starts(client, TUESDAY) == before  # every page that reads the services still works

    # Given with the new length, or cleared, the change goes through; a longer visit keeps its parts.
    with clinic.app_context():
        import_clinic_file(SHORTER_NEEDLING + 'hands_on = ["0-10", "20-30"]\n')
    assert stored(clinic, "needles") == (30, [[0, 10], [20, 30]])
    with clinic.app_context():
        import_clinic_file(SHORTER_NEEDLING.replace("minutes = 30", "minutes = 50"))
    assert stored(clinic, "needles") == (50, [[0, 10], [20, 30]])
    with clinic.app_context():
        import_clinic_file(SHORTER_NEEDLING.replace("minutes = 30", "minutes = 20") + "hands_on = []\n")
    assert stored(clinic, "needles") == (20, None)
    assert starts(client, TUESDAY)


ONE_COMMUNITY_BED = """\
[[rooms]]
slug = "community"
name = "Community room"
beds = 1
"""


def beds_of_rooms(app) -> dict[str, int]:
    with app.app_context():
        return {room.slug: room.beds for room in db.session.scalars(sa.select(Room))}


def test_a_room_keeps_the_beds_that_visits_to_come_are_booked_on(clinic, client):  # noqa: F811
    # Three beds on Wednesday: Ana's 10:00 takes alpha (the first by slug), her 10:15 (needled while the
    # first rests) the community room's bed 1, and Ben's 10:00 its bed 2.
    references = [book(client, at(WEDNESDAY, "10:00")), book(client, at(WEDNESDAY, "10:15")),
                  book(client, at(WEDNESDAY, "10:00"), practitioner="ben")]
    assert [bed_of(clinic, reference) for reference in references] == [("alpha", 1), ("community", 1),
                                                                       ("community", 2)]
    with clinic.app_context(), pytest.raises(ClinicFileError) as refused:
        import_clinic_file(ONE_COMMUNITY_BED, "rooms.toml")
    assert refused.value.problems == [
        "rooms.toml:4: rooms[0].beds: 1 booked visit uses a bed above bed 1 (the first at 2027-03-10T10:00): "
        "keep 2 beds, or move those visits from the desk first"]
    # Had it gone through, bed 2's visit would have been left out of the beds counted (bed_index keeps
    # a room's beds only), and the room would have taken a second visit beside it at once.
    assert beds_of_rooms(clinic) == {"alpha": 1, "community": 2}
    assert "10:30" not in starts(client, WEDNESDAY, practitioner="ben")  # every bed is still taken then

    # Once that visit is cancelled, its bed may go.
    with clinic.app_context():
        from booking.operations import bookings
        bookings.cancel(visit_id(clinic, references[2]), "", clinic.config["CLOCK"]())
        import_clinic_file(ONE_COMMUNITY_BED)
    assert beds_of_rooms(clinic) == {"alpha": 1, "community": 1}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_import_waits_for_the_beds_lock_before_it_holds_the_clinics_row(clinic):  # noqa: F811
    """The admin's room and service saves take the beds lock, then write the clinic's row (the
    settings stamp); an import that wrote that row first (its services) and then asked for the beds
    lock would wait on them in a circle. So while someone holds the beds lock, an import holds
    nothing of the clinic's yet."""
    with clinic.app_context():
        engine = db.engine
    renamed = ONE_COMMUNITY_BED.replace("beds = 1", "beds = 3") + SHORTER_NEEDLING.replace(
        "minutes = 30", "minutes = 45").replace('name = "Needling"', 'name = "Needling, renamed"')
    failed: list[BaseException] = []

    def run_import():
        try:
            with clinic.app_context():
                import_clinic_file(renamed)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failed.append(error)

    with engine.connect() as holder:
        holder.execute(sa.select(sa.func.pg_advisory_xact_lock(6, 0)))  # operations.beds.LOCK_BEDS
        importer = threading.Thread(target=run_import)
        importer.start()
        importer.join(timeout=1)
        assert importer.is_alive()  # waiting for the beds lock
        with engine.connect() as other:
            other.execute(sa.text("SET lock_timeout = '300ms'"))
            assert other.execute(sa.text("SELECT id FROM clinic FOR UPDATE")).scalar() == 1
            other.rollback()
        holder.rollback()  # the lock goes
    importer.join(timeout=30)
    assert not importer.is_alive() and not failed
    assert beds_of_rooms(clinic)["community"] == 3
