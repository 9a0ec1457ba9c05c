"""The scheduling core against a slow, obvious model of "What a slot is" (design.md), minute by minute,
on generated weeks: working hours (some edges inside a skipped or repeated hour), time off, bookings,
notice, how far ahead, and days on and around daylight-saving changes in zones that have them.

The model shares no code with booking.scheduling: it walks every minute and reads the clock of each.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import event, given
from hypothesis import strategies as st

from booking.scheduling import BookingRules, TimeRange, WorkingInterval, free_starts

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ZONES = ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo", "UTC"]
# Changes of clock in 2027 and their neighbours (Lord Howe moves by half an hour), and plain days.
DAYS = [date(2027, 3, 13), date(2027, 3, 14), date(2027, 3, 15), date(2027, 3, 28), date(2027, 4, 4),
        date(2027, 10, 3), date(2027, 10, 31), date(2027, 11, 7), date(2027, 11, 8), date(2027, 6, 16)]


class Model:
    """Every minute of the three days around one clinic date, with its wall-clock reading."""

    def __init__(self, day: date, zone: ZoneInfo):
        self.day, self.zone = day, zone
        first = datetime.combine(day - timedelta(days=1), time(), tzinfo=UTC)
        self.minutes = [first + MINUTE * n for n in range(3 * 24 * 60)]
        self.wall = [m.astimezone(zone).replace(tzinfo=None) for m in self.minutes]

    def edge(self, wall: time) -> datetime:
        """Where a working interval's edge lands: the first minute whose clock reads that time or later."""
        target = datetime.combine(self.day, wall)
        return next(m for m, w in zip(self.minutes, self.wall) if w >= target)

    def exact(self, wall: datetime) -> datetime | None:
        """The first minute whose clock reads exactly `wall`, or None when the clock skips it."""
        return next((m for m, w in zip(self.minutes, self.wall) if w == wall), None)

    def free(self, hours, time_off, busy, minutes, buffer, rules: BookingRules, now: datetime) -> list[datetime]:
        if self.day > now.astimezone(self.zone).date() + timedelta(days=rules.max_advance_days):
            return []
        open_spans = [(self.edge(h.start), self.edge(h.end)) for h in hours if h.weekday == self.day.weekday()]

        def is_open(m: datetime) -> bool:
            return (any(start <= m < end for start, end in open_spans)
                    and not any(off.start <= m < off.end for off in time_off))

        def is_busy(m: datetime) -> bool:
            return any(taken.start <= m < taken.end for taken in busy)

        found = set()
        for interval in (h for h in hours if h.weekday == self.day.weekday()):
            wall = datetime.combine(self.day, interval.start)
            while wall < datetime.combine(self.day, interval.end):
                start = self.exact(wall)
                if (start is not None and start >= now + rules.min_notice
                        and all(is_open(start + MINUTE * n) for n in range(minutes))
                        and not any(is_busy(start + MINUTE * n) for n in range(minutes + buffer))):
                    found.add(start)
                wall += timedelta(minutes=rules.step_minutes)
        return sorted(found)


# Clock times on a 5-minute grid, with the hours where clocks change (00:00-03:00) well represented.
clock_times = st.one_of(
    st.builds(time, st.integers(0, 3), st.sampled_from(range(0, 60, 15))),
    st.builds(time, st.integers(0, 23), st.sampled_from(range(0, 60, 15))),
)


@st.composite
def working_hours(draw, day: date) -> list[WorkingInterval]:
    """Up to three intervals on the day's weekday (now and then the next one's), often touching
    end to start (a morning and an afternoon), so a visit may run across the join."""
    edges = sorted(draw(st.lists(clock_times, min_size=2, max_size=4, unique=True)))
    touching = draw(st.booleans())
    pairs = list(zip(edges, edges[1:])) if touching else list(zip(edges[::2], edges[1::2]))
    weekday = draw(st.sampled_from([day.weekday()] * 4 + [(day.weekday() + 1) % 7]))
    return [WorkingInterval(weekday, start, end) for start, end in pairs]


@st.composite
def ranges_near(draw, day: date, most: int) -> list[TimeRange]:
    """Up to `most` spans of absolute time on a 5-minute grid within a day either side of `day`."""
    base = datetime.combine(day - timedelta(days=1), time(), tzinfo=UTC)
    spans = []
    for _ in range(draw(st.integers(0, most))):
        start = base + timedelta(minutes=5 * draw(st.integers(0, 3 * 24 * 12 - 1)))
        spans.append(TimeRange(start, start + timedelta(minutes=5 * draw(st.integers(1, 48)))))
    return spans


@st.composite
def a_day_to_schedule(draw):
    day = draw(st.sampled_from(DAYS))
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    rules = BookingRules(step_minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])),
                         min_notice=timedelta(hours=draw(st.integers(0, 48))),
                         max_advance_days=draw(st.integers(1, 4)))
    # From five days before the date (sometimes beyond how far ahead one may book) to during it.
    now = datetime.combine(day, time(), tzinfo=UTC) + timedelta(minutes=15 * draw(st.integers(-5 * 96, 96)))
    return {
        "day": day, "zone": zone, "rules": rules, "now": now,
        "hours": draw(working_hours(day)), "time_off": draw(ranges_near(day, 2)), "busy": draw(ranges_near(day, 4)),
        "minutes": draw(st.sampled_from([5, 15, 30, 45, 60, 90])), "buffer": draw(st.sampled_from([0, 0, 5, 15])),
    }


@given(a_day_to_schedule())
def test_free_starts_are_exactly_the_models(case):
    expected = Model(case["day"], case["zone"]).free(case["hours"], case["time_off"], case["busy"], case["minutes"],
                                                     case["buffer"], case["rules"], case["now"])
    found = free_starts(days=[case["day"]], hours=case["hours"], time_off=case["time_off"], busy=case["busy"],
                        minutes=case["minutes"], buffer_minutes=case["buffer"], rules=case["rules"], now=case["now"],
                        zone=case["zone"])
    event(f"{min(len(expected), 5)}+ free starts" if len(expected) >= 5 else f"{len(expected)} free starts")
    assert found == expected


@given(a_day_to_schedule())
def test_no_free_start_overlaps_a_booking_or_leaves_open_time(case):
    """The same rules said directly, so a failure names which one broke."""
    found = free_starts(days=[case["day"]], hours=case["hours"], time_off=case["time_off"], busy=case["busy"],
                        minutes=case["minutes"], buffer_minutes=case["buffer"], rules=case["rules"], now=case["now"],
                        zone=case["zone"])
    model = Model(case["day"], case["zone"])
    spans = [(model.edge(h.start), model.edge(h.end)) for h in case["hours"] if h.weekday == case["day"].weekday()]
    for start in found:
        held = TimeRange(start, start + timedelta(minutes=case["minutes"] + case["buffer"]))
        assert not any(held.overlaps(taken) for taken in case["busy"]), start
        treatment = TimeRange(start, start + timedelta(minutes=case["minutes"]))
        assert not any(treatment.overlaps(off) for off in case["time_off"]), start
        assert all(any(s <= m < e for s, e in spans) for m in (treatment.start, treatment.end - MINUTE)), start
        assert start >= case["now"] + case["rules"].min_notice
    assert found == sorted(set(found))
