"""The beds core against slow, obvious models, minute by minute, on generated small clinics: working hours
around daylight-saving changes, time off, a practitioner's booked visits of every shape, rooms of one to four
beds with other practitioners' patients in them, notice and how far ahead one may book.

The models share no code with booking.scheduling.beds: they count minutes. The grid of starts (on the step,
treatment in open time, notice, horizon) is the model of tests/test_scheduling_properties.py, which the beds
core leaves as it was.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import event, given
from hypothesis import strategies as st

from booking.scheduling import (
    BedIndex,
    BedTaken,
    BookingRules,
    Room,
    TimeRange,
    VisitShape,
    WorkingInterval,
    free_starts,
    free_starts_with_beds,
    wall_clock_instant,
)
from tests.test_scheduling_properties import DAYS, ZONES, Model, a_day_to_schedule

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ROOM_SLUGS = ["community", "room-1", "room-2"]


def minutes_of(span: TimeRange) -> list[datetime]:
    """Every whole minute in a span, in UTC."""
    first = span.start.astimezone(UTC)
    return [first + MINUTE * n for n in range((span.end - span.start) // MINUTE)]


@given(a_day_to_schedule(), st.booleans())
def test_without_hands_on_it_offers_exactly_what_free_starts_does(case, takes_a_bed_in_an_empty_room):
    """Every existing service keeps every slot: no hands_on (and no bed, or a bed that is always free)."""
    shape = VisitShape(case["minutes"], case["buffer"], needs_bed=takes_a_bed_in_an_empty_room)
    common = dict(days=[case["day"]], hours=case["hours"], time_off=case["time_off"], busy=case["busy"],
                  rules=case["rules"], now=case["now"], zone=case["zone"])
    expected = free_starts(**common, minutes=case["minutes"], buffer_minutes=case["buffer"])
    found = free_starts_with_beds(**common, shape=shape, beds=BedIndex([Room("room-1", 1)], [], case["zone"]))
    event(f"{min(len(expected), 5)}{'+' if len(expected) >= 5 else ''} free starts")
    assert found == expected


@st.composite
def shapes(draw) -> VisitShape:
    """A service: 15-60 minutes, a buffer, and most often one to two hands-on parts on a 5-minute grid."""
    minutes = draw(st.sampled_from([15, 30, 45, 60]))
    hands_on: tuple = ()
    if draw(st.integers(0, 3)):
        cuts = sorted(draw(st.lists(st.sampled_from(range(0, minutes + 1, 5)), min_size=2, max_size=4, unique=True)))
        hands_on = tuple(zip(cuts[::2], cuts[1::2]))
    return VisitShape(minutes, draw(st.sampled_from([0, 5, 10, 15])), hands_on, draw(st.booleans()))


@st.composite
def rooms(draw, fewest: int = 0) -> list[Room]:
    return [Room(slug, draw(st.integers(1, 4)))
            for slug in draw(st.lists(st.sampled_from(ROOM_SLUGS), min_size=fewest, max_size=3, unique=True))]


@st.composite
def a_small_clinic(draw):
    """A day of the scheduling model, a service, the practitioner's booked visits, and the clinic's beds, the
    visits and beds placed around the start of the day's hours so that they meet the starts on offer."""
    case = draw(a_day_to_schedule())
    day, zone = case["day"], case["zone"]
    if draw(st.integers(0, 3)):  # mostly a day well inside the booking window, so that there are starts to refuse
        case["now"] = datetime.combine(day, time(), tzinfo=UTC) - timedelta(days=2)
        case["rules"] = BookingRules(case["rules"].step_minutes, timedelta(0), 3650)
    todays = [h for h in case["hours"] if h.weekday == day.weekday()]
    anchor = wall_clock_instant(day, todays[0].start, zone) if todays else datetime.combine(day, time(), tzinfo=UTC)

    def near_the_hours(most_minutes_before: int = 60):
        return anchor + timedelta(minutes=5 * draw(st.integers(-most_minutes_before // 5, 8 * 12)))

    visits = [(near_the_hours(), draw(shapes())) for _ in range(draw(st.integers(0, 4)))]
    clinic_rooms = draw(rooms())
    taken = [BedTaken(draw(st.sampled_from([room.slug for room in clinic_rooms] + ["gone"])), draw(st.integers(1, 5)),
                      TimeRange(start, start + timedelta(minutes=5 * draw(st.integers(1, 24)))))
             for start in (near_the_hours(120) for _ in range(draw(st.integers(0, 8))))]
    # A day either side: taken beds on the evening before and the morning after count for their own dates.
    taken += [BedTaken(t.room, t.bed, TimeRange(t.span.start + timedelta(days=shift), t.span.end + timedelta(days=shift)))
              for t in taken[:2] for shift in (-1, 1)]
    return {**case, "shape": draw(shapes()), "visits": visits, "rooms": clinic_rooms, "taken": taken}


class BedsModel:
    """The rule said minute by minute: what the practitioner's hands and the clinic's beds hold."""

    def __init__(self, case):
        self.case, self.zone = case, case["zone"]
        self.hands_busy: set[datetime] = set()
        for span in case["busy"]:
            self.hands_busy.update(minutes_of(span))
        for start, shape in case["visits"]:
            self.hands_busy.update(self.hands_minutes(start, shape))
        beds_of = {room.slug: room.beds for room in case["rooms"]}
        self.bed_busy: dict[tuple[str, int], set[datetime]] = {
            (room.slug, bed): set() for room in case["rooms"] for bed in range(1, room.beds + 1)}
        self.visits_on: Counter = Counter()
        for booking in case["taken"]:
            if 1 <= booking.bed <= beds_of.get(booking.room, 0):
                self.bed_busy[booking.room, booking.bed].update(minutes_of(booking.span))
                self.visits_on[booking.room, booking.span.start.astimezone(self.zone).date()] += 1

    @staticmethod
    def hands_minutes(start: datetime, shape: VisitShape) -> list[datetime]:
        """The minutes a visit needs its practitioner: its hands-on parts, or all of it and its buffer."""
        spans = shape.hands_on or ((0, shape.minutes + shape.buffer_minutes),)
        return [start.astimezone(UTC) + MINUTE * n for a, b in spans for n in range(a, b)]

    def choice(self, start: datetime, shape: VisitShape):
        """(room, bed) by fewest visits that clinic date, then slug, then lowest bed; None when every bed is taken."""
        lying = minutes_of(TimeRange(start, start + timedelta(minutes=shape.minutes + shape.buffer_minutes)))
        day = start.astimezone(self.zone).date()
        ranked = sorted((self.visits_on[room, day], room, bed) for (room, bed), busy in self.bed_busy.items()
                        if not any(m in busy for m in lying))
        return (ranked[0][1], ranked[0][2]) if ranked else None

    def grid(self, shape: VisitShape) -> list[datetime]:
        """The starts an empty diary would offer (the scheduling model's, with nothing booked)."""
        case = self.case
        return Model(case["day"], self.zone).free(case["hours"], case["time_off"], [], shape.minutes, 0,
                                                  case["rules"], case["now"])

    def hands_free(self, start: datetime, shape: VisitShape) -> bool:
        return not any(m in self.hands_busy for m in self.hands_minutes(start, shape))

    def free(self, shape: VisitShape) -> list[datetime]:
        return [start for start in self.grid(shape) if self.hands_free(start, shape)
                and (not shape.needs_bed or self.choice(start, shape) is not None)]


@given(a_small_clinic())
def test_free_starts_and_the_bed_chosen_are_exactly_the_models(case):
    shape, model = case["shape"], BedsModel(case)
    busy = case["busy"] + [span for start, visit in case["visits"] for span in visit.held_by_practitioner(start)]
    index = BedIndex(case["rooms"], case["taken"], case["zone"])
    found = free_starts_with_beds(days=[case["day"]], hours=case["hours"], time_off=case["time_off"], busy=busy,
                                  shape=shape, beds=index, rules=case["rules"], now=case["now"], zone=case["zone"])
    expected = model.free(shape)
    grid = model.grid(shape)
    by_hands = sum(not model.hands_free(start, shape) for start in grid)
    event(f"{'hands-on parts' if shape.hands_on else 'held throughout'}: {'some' if by_hands else 'none'} refused")
    event(f"{'bed' if shape.needs_bed else 'no bed'}: {len(grid) - by_hands - len(expected)} refused for a bed"
          if len(grid) - by_hands - len(expected) < 3 else "bed: 3+ refused for a bed")
    assert found == expected
    for start in found:
        if shape.needs_bed:
            chosen = index.choose(shape.bed_time(start))
            assert (chosen.room, chosen.bed) == model.choice(start, shape), start


@given(st.data())
def test_booking_whatever_is_offered_never_doubles_a_bed_or_a_hands_on_part(data):
    """Two practitioners book one offered start after another into shared rooms; then minute by minute no bed
    holds two visits, no room more visits than beds, no practitioner two hands-on parts at once."""
    day, zone = data.draw(st.sampled_from(DAYS)), ZoneInfo(data.draw(st.sampled_from(ZONES)))
    clinic_rooms = data.draw(rooms(fewest=1))
    services = [data.draw(shapes()) for _ in range(3)]
    hours = [WorkingInterval(day.weekday(), time(0, 30), time(3, 30)), WorkingInterval(day.weekday(), time(9), time(12))]
    rules = BookingRules(step_minutes=data.draw(st.sampled_from([5, 10, 15])), min_notice=timedelta(0),
                         max_advance_days=3650)
    now = datetime(2020, 1, 1, tzinfo=UTC)
    held: dict[int, list[tuple[datetime, VisitShape]]] = {0: [], 1: []}
    taken: list[BedTaken] = []
    for _ in range(data.draw(st.integers(1, 12))):
        who, shape = data.draw(st.sampled_from([0, 1])), data.draw(st.sampled_from(services))
        index = BedIndex(clinic_rooms, taken, zone)
        busy = [span for start, visit in held[who] for span in visit.held_by_practitioner(start)]
        free = free_starts_with_beds(days=[day], hours=hours, time_off=[], busy=busy, shape=shape, beds=index,
                                     rules=rules, now=now, zone=zone)
        if not free:
            continue
        start = data.draw(st.sampled_from(free))
        held[who].append((start, shape))
        if shape.needs_bed:
            chosen = index.choose(shape.bed_time(start))
            assert chosen is not None, "offered with a bed, but no bed to take"
            taken.append(BedTaken(chosen.room, chosen.bed, shape.bed_time(start)))
    event(f"{sum(map(len, held.values()))} visits, {len(taken)} in beds")

    for visits in held.values():
        hands = Counter(m for start, shape in visits for m in BedsModel.hands_minutes(start, shape))
        assert max(hands.values(), default=0) <= 1
    beds_of = {room.slug: room.beds for room in clinic_rooms}
    on_bed = Counter((t.room, t.bed, m) for t in taken for m in minutes_of(t.span))
    assert max(on_bed.values(), default=0) <= 1
    in_room = Counter((t.room, m) for t in taken for m in minutes_of(t.span))
    assert all(count <= beds_of[room] for (room, _), count in in_room.items())
    assert all(1 <= t.bed <= beds_of[t.room] for t in taken)
