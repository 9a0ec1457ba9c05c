"""Hands-on parts and beds in the pure scheduling core, table by table: no app, no database, no real clock."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.scheduling import (
    BedChoice,
    BedIndex,
    BedTaken,
    BookingRules,
    HandsOnProblem,
    Room,
    TimeRange,
    VisitShape,
    WorkingInterval,
    free_starts_with_beds,
    parse_hands_on,
    to_instant,
)

UTC = timezone.utc
LA = ZoneInfo("America/Los_Angeles")
RULES = BookingRules(step_minutes=15, min_notice=timedelta(0), max_advance_days=3650)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
MONDAY = date(2027, 1, 4)
SPRING_FORWARD = date(2027, 3, 14)  # 02:00-02:59 does not happen in Los Angeles
FALL_BACK = date(2027, 11, 7)  # 01:00-01:59 happens twice, PDT then PST

# Needles in for ten minutes, rest, needles out at 35-45; the bed turned over in ten minutes.
NEEDLING = VisitShape(45, 10, ((0, 10), (35, 45)), needs_bed=True)
NEEDLING_NO_TURNOVER = VisitShape(45, 0, ((0, 10), (35, 45)), needs_bed=True)
FIRST_VISIT = VisitShape(60, 10, ((0, 20), (50, 60)), needs_bed=True)
NEEDLES_THEN_REST = VisitShape(45, 10, ((0, 10),), needs_bed=True)  # no return: the patient gets up alone
WHOLE_HOUR = VisitShape(45, 10, needs_bed=True)  # no hands_on: the practitioner stays throughout, as today
TALK = VisitShape(15)  # a short consultation: the practitioner throughout, no bed

PRIVATE = Room("room-1", 1)
PRIVATE_2 = Room("room-2", 1)
COMMUNITY = Room("community", 4)


@dataclass(frozen=True)
class Visit:
    """A booked visit in a table: its wall-clock start that day, shape, bed, and whose patient it is."""

    wall: str
    shape: VisitShape
    room: str | None = None
    bed: int | None = None
    mine: bool = True  # False: another practitioner's patient, who takes a bed but none of my time


def instant(day: date, wall: str, zone=LA) -> datetime:
    return to_instant(day, time.fromisoformat(wall), zone)


def every_day(start: str, end: str) -> list[WorkingInterval]:
    return [WorkingInterval(d, time.fromisoformat(start), time.fromisoformat(end)) for d in range(7)]


def offered(day, hours, shape, rooms=(), visits=(), *, time_off=(), zone=LA, rules=RULES, now=LONG_AGO) -> list[str]:
    """The free starts that day as wall-clock times, for my practitioner with these visits booked."""
    busy, taken = [], []
    for visit in visits:
        start = instant(day, visit.wall, zone)
        if visit.mine:
            busy += visit.shape.held_by_practitioner(start)
        if visit.room is not None:
            taken.append(BedTaken(visit.room, visit.bed, visit.shape.bed_time(start)))
    found = free_starts_with_beds(
        days=[day], hours=every_day(*hours.split("-")), time_off=list(time_off), busy=busy, shape=shape,
        beds=BedIndex(rooms, taken, zone), rules=rules, now=now, zone=zone,
    )
    return [start.astimezone(zone).strftime("%H:%M") for start in found]


EVERY_START_9_TO_11 = ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15"]


@pytest.mark.parametrize("day, hours, shape, rooms, visits, time_off, expected", [
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [COMMUNITY], [Visit("09:00", NEEDLING, "community", 1)], (),
                 ["09:15", "09:45", "10:00", "10:15"], id="a second patient is needled while the first rests"),
    pytest.param(MONDAY, "09:00-11:00", WHOLE_HOUR, [COMMUNITY], [Visit("09:00", WHOLE_HOUR, "community", 1)], (),
                 ["10:00", "10:15"], id="without hands-on parts the practitioner is held throughout, as today"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [COMMUNITY], [Visit("09:00", FIRST_VISIT, "community", 1)], (),
                 ["09:30", "10:00", "10:15"], id="hands-on parts that would overlap are refused"),
    pytest.param(MONDAY, "09:00-10:30", TALK, [], [Visit("09:00", NEEDLING, "community", 1)], (),
                 ["09:15", "09:45", "10:00", "10:15"], id="a short consultation fits in another patient's rest"),
    pytest.param(MONDAY, "08:45-11:00", NEEDLING, [COMMUNITY], [Visit("09:30", TALK)], (),
                 ["08:45", "09:15", "09:45", "10:00", "10:15"], id="needling around a consultation"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [PRIVATE], [Visit("09:00", NEEDLING, "room-1", 1, mine=False)], (),
                 ["10:00", "10:15"], id="the private room's bed is taken until it is turned over at 09:55"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [PRIVATE, PRIVATE_2],
                 [Visit("09:00", NEEDLING, "room-1", 1, mine=False)], (),
                 EVERY_START_9_TO_11, id="another room is free"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [COMMUNITY],
                 [Visit("09:00", NEEDLING, "community", bed, mine=False) for bed in (1, 2, 3, 4)], (),
                 ["10:00", "10:15"], id="the community room's four beds are full"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [COMMUNITY],
                 [Visit("09:00", NEEDLING, "community", bed, mine=False) for bed in (1, 2, 3)], (),
                 EVERY_START_9_TO_11, id="the community room has a fourth bed"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [PRIVATE],
                 [Visit("09:00", NEEDLING_NO_TURNOVER, "room-1", 1, mine=False)], (),
                 ["09:45", "10:00", "10:15"], id="a visit with no buffer frees its bed when it ends"),
    pytest.param(MONDAY, "09:00-12:00", NEEDLING, [PRIVATE], [Visit("10:30", NEEDLING, "room-1", 1, mine=False)], (),
                 ["09:00", "09:15", "09:30"], id="the new visit's own turnover must end before the next patient lies down"),
    pytest.param(MONDAY, "09:00-12:00", NEEDLING_NO_TURNOVER, [PRIVATE],
                 [Visit("10:30", NEEDLING, "room-1", 1, mine=False)], (),
                 ["09:00", "09:15", "09:30", "09:45"], id="a visit may end as the next patient lies down"),
    pytest.param(MONDAY, "09:00-10:00", NEEDLING, [COMMUNITY], [], (),
                 ["09:00", "09:15"], id="a hands-on part after closing is refused; the turnover may run past it"),
    pytest.param(MONDAY, "09:00-10:00", NEEDLES_THEN_REST, [COMMUNITY], [], (),
                 ["09:00", "09:15"], id="resting after closing is refused too"),
    pytest.param(MONDAY, "09:00-11:00", NEEDLING, [COMMUNITY], [],
                 [TimeRange(instant(MONDAY, "09:20"), instant(MONDAY, "09:30"))],
                 ["09:30", "09:45", "10:00", "10:15"], id="time off during the rest is refused"),
    pytest.param(SPRING_FORWARD, "01:00-04:00", NEEDLING, [COMMUNITY], [Visit("01:30", NEEDLING, "community", 1)], (),
                 ["01:15", "01:45", "03:15"], id="spring forward: 01:30's needles come out at 03:05, so 03:00 is refused"),
    pytest.param(SPRING_FORWARD, "01:00-05:00", NEEDLING, [PRIVATE],
                 [Visit("01:30", NEEDLING, "room-1", 1, mine=False)], (),
                 ["03:30", "03:45", "04:00", "04:15"], id="spring forward: 01:30's bed is turned over at 03:25"),
    pytest.param(FALL_BACK, "00:30-03:00", NEEDLING, [COMMUNITY], [Visit("01:30", NEEDLING, "community", 1)], (),
                 ["00:30", "00:45", "01:15", "01:45", "02:00", "02:15"],
                 id="fall back: 01:30 PDT's needles come out at 01:05-01:15 PST"),
    pytest.param(FALL_BACK, "00:30-03:00", NEEDLING, [PRIVATE], [Visit("01:30", NEEDLING, "room-1", 1, mine=False)], (),
                 ["00:30", "02:00", "02:15"], id="fall back: 01:30 PDT's bed is turned over at 01:25 PST"),
])
def test_free_starts_with_hands_on_parts_and_beds(day, hours, shape, rooms, visits, time_off, expected):
    assert offered(day, hours, shape, rooms, visits, time_off=time_off) == expected


def test_fall_back_counts_real_minutes_across_the_repeated_hour():
    found = free_starts_with_beds(
        days=[FALL_BACK], hours=every_day("00:30", "03:00"), time_off=[], shape=NEEDLING, rules=RULES, now=LONG_AGO,
        busy=NEEDLING.held_by_practitioner(instant(FALL_BACK, "01:30")), beds=BedIndex([COMMUNITY], [], LA), zone=LA,
    )
    # 01:30 PDT (08:30 UTC) needles until 08:40 and again 09:05-09:15 (01:05-01:15 PST); 01:15 and 01:45 are PDT.
    assert [start.astimezone(UTC).strftime("%H:%M") for start in found] == \
        ["07:30", "07:45", "08:15", "08:45", "10:00", "10:15"]


def test_a_booked_patient_is_never_moved_to_make_a_bed_whole():
    # Two beds, each half taken across 09:15-10:00: the room is never more than half full, but no one bed
    # is free for the whole visit, and the core does not move anyone who is booked.
    pair = Room("pair", 2)
    taken = [BedTaken("pair", 1, TimeRange(instant(MONDAY, "09:00"), instant(MONDAY, "09:30"))),
             BedTaken("pair", 2, TimeRange(instant(MONDAY, "09:45"), instant(MONDAY, "10:15")))]
    index = BedIndex([pair], taken, LA)
    span = TimeRange(instant(MONDAY, "09:15"), instant(MONDAY, "10:00"))
    assert index.free_bed(pair, span) is None and not index.any_free(span.start, span.end)
    assert index.choose(span) is None
    assert index.free_bed(pair, TimeRange(instant(MONDAY, "09:30"), instant(MONDAY, "09:45"))) == 1


def test_bookings_on_a_room_or_bed_the_clinic_no_longer_has_are_left_out():
    taken = [BedTaken("gone", 1, TimeRange(instant(MONDAY, "09:00"), instant(MONDAY, "10:00"))),
             BedTaken("room-1", 2, TimeRange(instant(MONDAY, "09:00"), instant(MONDAY, "10:00")))]
    index = BedIndex([PRIVATE], taken, LA)
    span = TimeRange(instant(MONDAY, "09:00"), instant(MONDAY, "09:55"))
    assert index.choose(span) == BedChoice("room-1", 1)


# --- which room and bed ---------------------------------------------------------------------


def booked(room: str, bed: int, wall: str, day: date = MONDAY, minutes: int = 55) -> BedTaken:
    start = instant(day, wall)
    return BedTaken(room, bed, TimeRange(start, start + timedelta(minutes=minutes)))


@pytest.mark.parametrize("rooms, taken, expected", [
    pytest.param([PRIVATE_2, PRIVATE], [], BedChoice("room-1", 1), id="empty rooms: the first by slug"),
    pytest.param([PRIVATE, PRIVATE_2], [booked("room-1", 1, "14:00"), booked("room-1", 1, "15:00"),
                                        booked("room-2", 1, "16:00")],
                 BedChoice("room-2", 1), id="the room with the fewest visits that day"),
    pytest.param([PRIVATE, PRIVATE_2], [booked("room-1", 1, "14:00"), booked("room-2", 1, "16:00")],
                 BedChoice("room-1", 1), id="equal visits: the first by slug"),
    pytest.param([PRIVATE, PRIVATE_2], [booked("room-1", 1, "14:00"), booked("room-1", 1, "15:00"),
                                        booked("room-2", 1, "08:30")],
                 BedChoice("room-1", 1), id="the emptier room has no bed free then"),
    # Sunday evening's visits (20:00 and 21:00 in Los Angeles) fall on Monday in UTC.
    pytest.param([PRIVATE, PRIVATE_2], [booked("room-1", 1, "20:00", MONDAY - timedelta(days=1)),
                                        booked("room-1", 1, "21:00", MONDAY - timedelta(days=1)),
                                        booked("room-2", 1, "16:00")],
                 BedChoice("room-1", 1), id="visits on the evening before count for that date, by the clinic's clock"),
    pytest.param([PRIVATE, PRIVATE_2], [booked("room-1", 1, "09:30"), booked("room-2", 1, "08:30")],
                 None, id="no bed anywhere"),
    pytest.param([PRIVATE, COMMUNITY], [booked("community", 1, "13:00"), booked("community", 2, "14:00"),
                                        booked("community", 3, "15:00")],
                 BedChoice("room-1", 1), id="a private room with fewer visits before a community room with beds free"),
    pytest.param([PRIVATE, COMMUNITY], [booked("room-1", 1, "13:00")],
                 BedChoice("community", 1), id="a community room with fewer visits before a private room"),
    pytest.param([COMMUNITY], [booked("community", 1, "09:30"), booked("community", 2, "08:05")],
                 BedChoice("community", 2), id="the lowest bed free: one that frees as the visit begins"),
    pytest.param([COMMUNITY], [booked("community", 1, "09:30"), booked("community", 2, "08:30"),
                               booked("community", 4, "09:50")],
                 BedChoice("community", 3), id="the lowest bed free for the whole visit"),
])
def test_the_room_and_bed_a_visit_takes(rooms, taken, expected):
    span = NEEDLING.bed_time(instant(MONDAY, "09:00"))  # 09:00-09:55
    index = BedIndex(rooms, taken, LA)
    assert index.choose(span) == expected
    assert index.any_free(span.start, span.end) is (expected is not None)


# --- hands_on as an admin writes it ---------------------------------------------------------


@pytest.mark.parametrize("entries, minutes, expected", [
    (["0-10", "35-45"], 45, ((0, 10), (35, 45))),
    (["0-45"], 45, ((0, 45),)),
    ([" 0-10 ", "10-20"], 45, ((0, 10), (10, 20))),  # touching parts are two parts, not an overlap
    (("5-15",), 30, ((5, 15),)),
    (["0\u201310", "35 \u2013 45"], 45, ((0, 10), (35, 45))),  # en dashes, as the staff pages write ranges
])
def test_hands_on_is_read(entries, minutes, expected):
    assert parse_hands_on(entries, minutes) == expected


@pytest.mark.parametrize("entries, problems", [
    ("0-10", ['must be a list of minute ranges from the start, e.g. ["0-10", "35-45"]']),
    (None, ['must be a list of minute ranges from the start, e.g. ["0-10", "35-45"]']),
    ([], ["needs at least one minute range; leave hands_on out when the practitioner stays for the whole visit"]),
    (["0-10", 35], ['35 is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")']),
    (["0:10"], ['"0:10" is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")']),
    (["0-10.5"], ['"0-10.5" is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")']),
    (["-5-10"], ['"-5-10" is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")']),
    (["10-10"], ['"10-10" must end after it starts']),
    (["20-10"], ['"20-10" must end after it starts']),
    (["35-50"], ['"35-50" ends after the visit does (45 minutes)']),
    (["35-45", "0-10"], ['"0-10" is listed after "35-45" but starts earlier: list the parts in the order they happen']),
    (["0-20", "15-30"], ['"0-20" and "15-30" overlap: each part must end by the time the next begins']),
    (["0-10", "0-10"], ['"0-10" and "0-10" overlap: each part must end by the time the next begins']),
    (["ten", "0-50", "0-10"], ['"ten" is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")',
                               '"0-50" ends after the visit does (45 minutes)']),
])
def test_hands_on_mistakes_are_named_one_by_one(entries, problems):
    with pytest.raises(HandsOnProblem) as raised:
        parse_hands_on(entries, 45)
    assert list(raised.value.problems) == problems
    assert str(raised.value) == "; ".join(problems)


def test_a_shape_says_what_it_holds():
    start = instant(MONDAY, "09:00")
    assert NEEDLING.held_by_practitioner(start) == [TimeRange(start, start + timedelta(minutes=10)),
                                                    TimeRange(start + timedelta(minutes=35), start + timedelta(minutes=45))]
    assert WHOLE_HOUR.held_by_practitioner(start) == [TimeRange(start, start + timedelta(minutes=55))]
    assert NEEDLING.bed_time(start) == TimeRange(start, start + timedelta(minutes=55))


@pytest.mark.parametrize("arguments", [
    {"minutes": 45, "hands_on": ((35, 45), (0, 10))},
    {"minutes": 45, "hands_on": ((0, 50),)},
    {"minutes": 0},
    {"minutes": 45, "buffer_minutes": -5},
])
def test_a_shape_refuses_what_cannot_happen(arguments):
    with pytest.raises(ValueError):
        VisitShape(**arguments)


def test_a_room_needs_a_bed():
    with pytest.raises(ValueError):
        Room("cupboard", 0)


def test_a_bed_service_needs_the_beds_and_an_aware_now():
    arguments = dict(days=[MONDAY], hours=every_day("09:00", "10:00"), time_off=[], busy=[], rules=RULES, zone=LA)
    with pytest.raises(ValueError):
        free_starts_with_beds(**arguments, shape=NEEDLING, beds=None, now=LONG_AGO)
    with pytest.raises(ValueError):
        free_starts_with_beds(**arguments, shape=TALK, beds=None, now=datetime(2027, 1, 1))
    assert free_starts_with_beds(**arguments, shape=TALK, beds=None, now=LONG_AGO)  # no bed, no beds needed
