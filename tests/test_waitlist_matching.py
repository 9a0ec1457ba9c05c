"""The waitlist's pure matching: which places a freed time suits, in which order. No app, no database."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.scheduling.core import WorkingInterval
from booking.scheduling.waitlist import FreedTime, Wish, part_of_day, suited, suits, why_never_offered

UTC = timezone.utc
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2027, 3, 8, 16, 0, tzinfo=UTC)  # Monday 08:00 in Los Angeles
NOTICE = timedelta(hours=2)


def wish(entry_id=1, *, service=1, practitioner=None, first=date(2027, 3, 8), last=date(2027, 3, 31),
         weekdays=(), parts=(), joined=NOW - timedelta(days=1)) -> Wish:
    return Wish(entry_id, service, practitioner, first, last, frozenset(weekdays), frozenset(parts), joined)


def freed_at(*local_args, service=1, practitioner=7) -> FreedTime:
    return FreedTime(service, practitioner, datetime(*local_args, tzinfo=LA))


@pytest.mark.parametrize("clock, part", [
    (time(0, 0), "morning"), (time(11, 59), "morning"), (time(12, 0), "afternoon"), (time(16, 45), "afternoon"),
    (time(17, 0), "evening"), (time(23, 30), "evening"),
])
def test_the_parts_of_the_day_have_one_set_of_boundaries(clock, part):
    assert part_of_day(clock) == part


@pytest.mark.parametrize("place, expected", [
    (wish(), True),
    (wish(service=2), False),  # another service
    (wish(practitioner=7), True),
    (wish(practitioner=8), False),  # another practitioner
    (wish(first=date(2027, 3, 11)), False),  # before the range
    (wish(last=date(2027, 3, 9)), False),  # after the range
    (wish(first=date(2027, 3, 10), last=date(2027, 3, 10)), True),  # both ends count
    (wish(weekdays=[2]), True),  # Wednesday
    (wish(weekdays=[0, 4]), False),
    (wish(parts=["afternoon"]), True),
    (wish(parts=["morning", "evening"]), False),
])
def test_a_freed_time_suits_the_places_that_asked_for_it(place, expected):
    assert suits(place, freed_at(2027, 3, 10, 14, 0), LA) is expected  # a Wednesday afternoon


def test_the_day_and_part_are_read_in_the_clinics_zone():
    # 01:30 UTC on Thursday is 17:30 on Wednesday in Los Angeles: a Wednesday evening.
    late = FreedTime(1, 7, datetime(2027, 3, 11, 1, 30, tzinfo=UTC))
    assert suits(wish(weekdays=[2], parts=["evening"], last=date(2027, 3, 10)), late, LA)
    assert not suits(wish(weekdays=[3]), late, LA)


def test_places_are_asked_in_the_order_they_joined():
    first = wish(3, joined=NOW - timedelta(days=5))
    second = wish(1, joined=NOW - timedelta(days=2))
    same_moment = wish(2, joined=NOW - timedelta(days=2))
    later = wish(4, joined=NOW - timedelta(hours=1))
    found = suited(freed_at(2027, 3, 10, 14, 0), [later, same_moment, second, first], zone=LA, now=NOW,
                   min_notice=NOTICE)
    assert [w.entry_id for w in found] == [3, 1, 2, 4]


def test_a_time_inside_the_minimum_notice_is_offered_to_nobody():
    places = [wish()]
    assert suited(freed_at(2027, 3, 8, 9, 59), places, zone=LA, now=NOW, min_notice=NOTICE) == []
    assert suited(freed_at(2027, 3, 8, 10, 0), places, zone=LA, now=NOW, min_notice=NOTICE) == places


def test_a_place_whose_range_is_over_is_offered_nothing():
    over = wish(last=date(2027, 3, 7), first=date(2027, 3, 1))
    assert suited(freed_at(2027, 3, 7, 14, 0), [over], zone=LA, now=NOW - timedelta(days=3), min_notice=NOTICE) == [over]
    assert suited(freed_at(2027, 3, 10, 14, 0), [over], zone=LA, now=NOW, min_notice=NOTICE) == []


# --- which free times a change freed (gap W1) ----------------------------------------------------

def test_a_given_up_visit_frees_the_starts_it_blocked_and_no_others():
    from booking.scheduling import TimeRange
    from booking.scheduling.waitlist import Change, freed_by

    held = TimeRange(datetime(2027, 3, 9, 10, 0, tzinfo=LA), datetime(2027, 3, 9, 10, 45, tzinfo=LA))
    change = Change(7, visits=(held,))
    blocked = [freed_by(change, freed_at(2027, 3, 9, hour, minute), 30, 15, LA)
               for hour, minute in ((9, 0), (9, 15), (9, 30), (10, 0), (10, 30), (10, 45))]
    assert blocked == [False, False, True, True, True, False]  # 9:15 + 30 min + 15 min buffer ends as it starts
    assert not freed_by(change, freed_at(2027, 3, 9, 10, 0, practitioner=8), 30, 15, LA)  # someone else's diary


def test_new_hours_free_only_what_they_add_to_the_week():
    from booking.scheduling import WorkingInterval
    from booking.scheduling.waitlist import Change, added_hours, freed_by

    before = [WorkingInterval(1, time(9), time(12)), WorkingInterval(2, time(9), time(12))]
    after = [WorkingInterval(1, time(8), time(13)), WorkingInterval(2, time(9), time(12)), WorkingInterval(3, time(9), time(10))]
    added = added_hours(before, after)
    assert sorted(added, key=lambda p: (p.weekday, p.start)) == [
        WorkingInterval(1, time(8), time(9)), WorkingInterval(1, time(12), time(13)), WorkingInterval(3, time(9), time(10))]
    change = Change(7, new_hours=added)
    assert freed_by(change, freed_at(2027, 3, 9, 8, 30), 60, 0, LA)  # a Tuesday: runs into 9:00, was not bookable
    assert not freed_by(change, freed_at(2027, 3, 9, 9, 0), 60, 0, LA)  # free all along
    assert not freed_by(change, freed_at(2027, 3, 10, 9, 0), 60, 0, LA)  # Wednesday: unchanged


# Monday and Wednesday 10:00-16:00, and Friday 16:00-17:30 (a visit of 30 minutes may start until 17:00).
HOURS = [WorkingInterval(0, time(10), time(16)), WorkingInterval(2, time(10), time(16)),
         WorkingInterval(4, time(16), time(17, 30))]
MONDAY = date(2027, 3, 8)


@pytest.mark.parametrize("first, last, weekdays, parts, minutes, why", [
    (MONDAY, MONDAY + timedelta(days=30), (), (), 30, None),
    (MONDAY, MONDAY, [0], ["morning"], 30, None),
    (MONDAY, MONDAY, [0], ["afternoon"], 30, None),
    (MONDAY, MONDAY, [1], (), 30, "weekdays"),  # no Tuesday between Monday and Monday
    (MONDAY + timedelta(days=1), MONDAY + timedelta(days=5), [0, 6], (), 30, "weekdays"),  # Tuesday to Saturday
    (MONDAY + timedelta(days=1), MONDAY + timedelta(days=1), (), (), 30, "days"),  # a Tuesday: nobody works
    (MONDAY, MONDAY + timedelta(days=30), [1, 3], (), 30, "days"),  # Tuesdays and Thursdays
    (MONDAY, MONDAY + timedelta(days=6), [0, 2], ["evening"], 30, "times"),  # they stop at 16:00
    (MONDAY, MONDAY + timedelta(days=6), (), ["evening"], 30, None),  # Friday 17:00 still takes a visit of 30
    (MONDAY, MONDAY + timedelta(days=6), (), ["evening"], 60, "times"),  # but not one of 60: it must start by 16:30
    (MONDAY, MONDAY + timedelta(days=6), [4], (), 90, None),  # 16:00-17:30 holds exactly 90 minutes
    (MONDAY, MONDAY + timedelta(days=6), [4], (), 91, "times"),
    (MONDAY, MONDAY + timedelta(days=6), [4], ["morning"], 30, "times"),
    (MONDAY + timedelta(days=4), MONDAY + timedelta(days=4), (), ["afternoon", "evening"], 30, None),
])
def test_a_place_no_time_could_ever_suit_is_told_apart_from_one_that_waits(first, last, weekdays, parts, minutes, why):
    assert why_never_offered(first, last, weekdays, parts, HOURS, minutes) == why


def test_a_place_is_never_ruled_out_when_some_time_could_suit_it():
    """Against every time a week of the hours above could offer, on the 15-minute grid: a place some
    time suits is never told none could; one that no time suits is."""
    for first_offset in range(7):
        for length in range(1, 9):
            first = MONDAY + timedelta(days=first_offset)
            last = first + timedelta(days=length - 1)
            for weekdays in ((), (0,), (1,), (4,), (2, 5)):
                for parts in ((), ("morning",), ("evening",), ("afternoon", "evening")):
                    for minutes in (30, 60, 90):
                        could = any(
                            (not weekdays or day.weekday() in weekdays) and period.weekday == day.weekday()
                            and (not parts or part_of_day(start) in parts)
                            for day in (first + timedelta(days=n) for n in range(length))
                            for period in HOURS
                            for start in (time(hour, minute) for hour in range(24) for minute in (0, 15, 30, 45))
                            if period.start <= start and (datetime.combine(day, start) + timedelta(minutes=minutes)
                                                          <= datetime.combine(day, period.end)))
                        assert (why_never_offered(first, last, weekdays, parts, HOURS, minutes) is None) is could, (
                            first, last, weekdays, parts, minutes)
