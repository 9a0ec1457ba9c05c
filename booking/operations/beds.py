"""The clinic's beds as the scheduling core needs them, and the bed a booking takes.

Rooms are the clinic's, shared by every practitioner's patients, so the beds taken over a window
are read once, for all of them, in one statement (scheduling.beds.BedIndex indexes them). Which
bed a visit takes follows the core's fixed rule (the room with the fewest visits that clinic date,
then by slug; its lowest free bed), worked out under the beds lock, so that on PostgreSQL two
bookings for different practitioners cannot both take the last bed; the exclusion constraint
appointment_bed_no_overlap (migration 0031) stays the last word, as on SQLite the write lock is.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from booking import driver
from booking.extensions import db
from booking.limits import LONGEST_VISIT_MINUTES
from booking.models import Appointment, AppointmentStatus, Clinic, visit_shape
from booking.models import Room as RoomRow
from booking.operations import catalogue
from booking.operations.problems import CannotBook
from booking.scheduling import BedIndex, BedTaken, Room, TimeRange, wall_clock_instant
from booking.transaction import advisory_lock

# pg_advisory_xact_lock(LOCK_BEDS, 0): one lock for all the clinic's beds, taken after the
# practitioners' (operations.bookings), by every change that takes a bed or changes the rooms.
LOCK_BEDS = 6


def lock_beds() -> None:
    """Until the commit, nobody else takes a bed or changes the rooms (PostgreSQL; SQLite's write
    lock already serialises every writer)."""
    advisory_lock(LOCK_BEDS, 0)


# Built once: the visits holding a bed across a window, with their room and bed.
_BEDS_TAKEN = sa.select(Appointment.room_id, Appointment.bed, Appointment.starts_at, Appointment.occupied_until).where(
    # Room by room, so the (room, start) index reads only the window of each.
    Appointment.room_id.in_(sa.bindparam("rooms", expanding=True)),
    Appointment.status.in_(AppointmentStatus.holding_time()),
    Appointment.starts_at < sa.bindparam("window_end"),
    # As availability's read of the parts: no visit lasts longer, so nothing is dropped.
    Appointment.starts_at > sa.bindparam("earliest_start"),
    Appointment.occupied_until > sa.bindparam("window_start"),
    Appointment.id != sa.bindparam("ignoring"),
)


def bed_index(window: TimeRange, *, ignoring: int | None = None, count_bookings: bool = True,
              rooms: list | None = None, zone=None) -> BedIndex:
    """The clinic's rooms in use and the beds booked across `window` (leaving out visit `ignoring`,
    which is being moved; with count_bookings=False, none: the beds of an empty clinic). `rooms`
    and `zone`: the rooms in use and the clinic's zone as a change sees them, when it may have
    changed them itself (the catalogue holds what is committed)."""
    if rooms is None:
        known = catalogue.current()
        rooms, zone = known.active_rooms(), known.zone  # a room out of use keeps its visits' beds, takes no more
    slug_of = {room.id: room.slug for room in rooms}
    rows = driver.run(_BEDS_TAKEN, {
        "rooms": sorted(slug_of),
        "window_start": window.start,
        "window_end": window.end,
        "earliest_start": window.start - timedelta(minutes=LONGEST_VISIT_MINUTES),
        "ignoring": ignoring or 0,  # 0: no visit has that id
    }) if count_bookings and slug_of else []
    return BedIndex([Room(room.slug, room.beds) for room in rooms],
                    [BedTaken(slug_of[room_id], bed, TimeRange(start, end)) for room_id, bed, start, end in rows],
                    zone)


def beds_in_use_above(room_id: int, beds: int, now: datetime) -> tuple[int, datetime | None]:
    """How many visits still to come (or under way) hold a bed of the room numbered above `beds`,
    and when the first of them starts: a room may not be given fewer beds while any does, or it
    would hold more visits at once than it has beds (bed_index leaves such beds out). Asked under
    the beds lock, so no booking takes such a bed meanwhile."""
    count, first = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Appointment.starts_at)).where(
            Appointment.room_id == room_id, Appointment.bed > beds, Appointment.occupied_until > now,
            Appointment.status.in_(AppointmentStatus.holding_time()))
    ).one()
    return count, first


class NoBedFree(CannotBook):
    """Every bed is taken for the visit's time. The booking checked the beds under the same lock
    before choosing, so this means the rooms changed under it; nothing is written."""

    def __init__(self) -> None:
        super().__init__("start", _("Every bed is taken at that time. Choose another time."))


def take_bed(service, start: datetime, *, ignoring: int | None = None) -> dict:
    """The room and bed a visit of `service` starting at `start` takes, as the visit's columns
    ({"room_id": None, "bed": None} for a service that takes no bed), chosen under the beds lock.
    `ignoring`: the visit being moved, whose own bed is free to it."""
    shape = visit_shape(service)
    if not shape.needs_bed:
        return {"room_id": None, "bed": None}
    lock_beds()
    known = catalogue.current()
    span = shape.bed_time(start)
    choice = bed_index(_day_of(span, known.zone), ignoring=ignoring).choose(span)
    if choice is None:
        raise NoBedFree()
    room = next(room for room in known.rooms if room.slug == choice.room)
    return {"room_id": room.id, "bed": choice.bed}


def _day_of(span: TimeRange, zone) -> TimeRange:
    """What to read to choose a bed for `span`: its whole clinic date, since the rule counts the
    day's visits in each room, and the visit's own time if it runs past midnight."""
    day = span.start.astimezone(zone).date()
    return TimeRange(wall_clock_instant(day, time(0), zone),
                     max(span.end, wall_clock_instant(day + timedelta(days=1), time(0), zone)))


def bed_for_each_visit_booked_without(service, now: datetime) -> Appointment | None:
    """When `service` comes to take a bed, each of its visits still to come (or under way) that has
    none takes one, in the order they start, by the booking's own rule: otherwise those patients
    would lie on beds the clinic's count does not know are taken, and a new booking could be given
    the same bed. Each keeps its booked time. Returns the first visit that finds every bed taken
    (the caller refuses the change; the caller's transaction writes nothing then), or None when
    every one has its bed. Under the beds lock, with the rooms as the change has left them."""
    lock_beds()
    zone = db.session.get(Clinic, 1).zone
    rooms = list(db.session.scalars(sa.select(RoomRow).where(RoomRow.is_active).order_by(RoomRow.slug)))
    waiting = db.session.scalars(sa.select(Appointment).where(
        Appointment.service_id == service.id, Appointment.room_id.is_(None), Appointment.occupied_until > now,
        Appointment.status.in_(AppointmentStatus.holding_time()),
    ).order_by(Appointment.starts_at, Appointment.id)).all()
    for visit in waiting:
        span = TimeRange(visit.starts_at, visit.occupied_until)
        # Each read flushes the beds given so far (driver.run), so the next visit sees them taken.
        choice = bed_index(_day_of(span, zone), ignoring=visit.id, rooms=rooms, zone=zone).choose(span)
        if choice is None:
            return visit
        visit.room_id, visit.bed = next(room.id for room in rooms if room.slug == choice.room), choice.bed
    return None
