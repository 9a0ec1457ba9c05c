"""The pure course planner: visits keep their wall-clock time across daylight-saving changes, a taken
time is flagged with the nearest free ones, and nothing proposed overlaps or breaks the horizon."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.scheduling import BookingRules, TimeRange, WorkingInterval, free_starts
from booking.scheduling.course import (CourseProblem, Length, Repeat, how_often_value, overlapping, patterns_offered,
                                      propose, repeat_from, twice_a_week, visit_days)

UTC = timezone.utc
LA = ZoneInfo("America/Los_Angeles")
WEEKDAYS_9_TO_5 = [WorkingInterval(day, time(9), time(17)) for day in range(5)]
RULES = BookingRules(step_minutes=15, min_notice=timedelta(hours=12), max_advance_days=60)
FIRST = Length(75, 15)
FOLLOW_UP = Length(45, 15)


def local(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LA).astimezone(UTC)


def plan(first_start, repeat, *, busy=(), time_off=(), now=None, rules=RULES, hours=WEEKDAYS_9_TO_5, first=FIRST):
    return propose(first_start=first_start, repeat=repeat, first=first, rest=FOLLOW_UP, hours=hours,
                   time_off=list(time_off), busy=list(busy), rules=rules,
                   now=now or local(2027, 2, 25, 8), zone=LA)


def test_weekly_visits_keep_their_wall_clock_time_across_the_spring_change():
    # Clocks go forward in Los Angeles on Sunday 2027-03-14: 10:00 stays 10:00 local, an hour less in UTC.
    proposals = plan(local(2027, 3, 1, 10), Repeat(7, 4))
    assert [p.wanted.astimezone(LA).time() for p in proposals] == [time(10)] * 4
    assert [p.day for p in proposals] == [date(2027, 3, 1), date(2027, 3, 8), date(2027, 3, 15), date(2027, 3, 22)]
    assert proposals[1].wanted.astimezone(UTC).hour == 18 and proposals[2].wanted.astimezone(UTC).hour == 17
    assert all(p.is_free and p.start == p.wanted and p.alternatives == () for p in proposals)


def test_a_taken_time_is_flagged_with_the_nearest_free_times_in_time_order():
    taken = local(2027, 3, 8, 10)
    busy = [TimeRange(taken - timedelta(minutes=30), taken + timedelta(minutes=60))]
    proposals = plan(local(2027, 3, 1, 10), Repeat(7, 3), busy=busy)
    second = proposals[1]
    assert not second.is_free and second.start is None and second.wanted == taken
    # The five nearest are 11:00, 11:15, 11:30, 11:45 and 12:00 that day (before 10:00 the visit would run
    # into the taken one), listed as a time list reads.
    assert second.alternatives == tuple(local(2027, 3, 8, 11, minute) for minute in (0, 15, 30, 45)) + (
        local(2027, 3, 8, 12),)
    free = set(free_starts(days=[date(2027, 3, 8) + timedelta(days=n) for n in range(-3, 4)],
                           hours=WEEKDAYS_9_TO_5, time_off=[], busy=busy, minutes=45, buffer_minutes=15,
                           rules=RULES, now=local(2027, 2, 25, 8), zone=LA))
    assert set(second.alternatives) <= free
    assert proposals[0].is_free and proposals[2].is_free


def test_a_day_off_offers_other_days_of_that_week():
    off = TimeRange(local(2027, 3, 8, 0), local(2027, 3, 9, 0))
    second = plan(local(2027, 3, 1, 10), Repeat(7, 2), time_off=[off])[1]
    assert not second.is_free
    assert {alt.astimezone(LA).date() for alt in second.alternatives} <= {date(2027, 3, 5), date(2027, 3, 9)}
    assert list(second.alternatives) == sorted(second.alternatives)


def test_the_first_visit_may_be_longer_than_the_follow_ups():
    # A 75-minute first visit at 16:00 runs past 17:00; a 45-minute follow-up at 16:00 fits.
    proposals = plan(local(2027, 3, 1, 16), Repeat(7, 2))
    assert not proposals[0].is_free and proposals[1].is_free
    proposals = plan(local(2027, 3, 1, 16), Repeat(7, 2), first=FOLLOW_UP)
    assert proposals[0].is_free


def test_alternatives_never_land_on_another_visit_of_the_course():
    # Daily visits: an alternative for a taken day must not be the time kept for the next day.
    hours = [WorkingInterval(day, time(9), time(11)) for day in range(7)]
    taken = local(2027, 3, 2, 9)
    proposals = plan(local(2027, 3, 1, 9), Repeat(1, 3), hours=hours,
                     busy=[TimeRange(taken, taken + timedelta(hours=2))])
    held = {p.wanted for p in proposals if p.is_free}
    assert not proposals[1].is_free
    for alt in proposals[1].alternatives:
        assert all(not FOLLOW_UP.occupies(alt).overlaps(FOLLOW_UP.occupies(start)) for start in held)


def test_a_skipped_wall_clock_time_is_flagged_not_moved():
    every_day = [WorkingInterval(day, time(0), time(23)) for day in range(7)]
    proposals = plan(local(2027, 3, 13, 2, 30), Repeat(1, 3), hours=every_day)
    assert proposals[1].day == date(2027, 3, 14) and proposals[1].wanted is None and not proposals[1].is_free
    assert proposals[1].alternatives  # nearby times of that date and the next ones
    assert proposals[2].is_free


@pytest.mark.parametrize("repeat, field", [(Repeat(7, 13), "count"), (Repeat(7, 1), "count"),
                                           (Repeat(0, 4), "every_days"), (Repeat(29, 2), "every_days"),
                                           (Repeat.on_weekdays([1, 4], 4), "weekdays"),  # not the first's Monday
                                           (Repeat(7, 4, (3, 0)), "weekdays"), (Repeat(3, 4, (0, 3)), "weekdays")])
def test_repeats_out_of_bounds_are_refused(repeat, field):
    with pytest.raises(CourseProblem) as refused:
        plan(local(2027, 3, 1, 10), repeat)
    assert refused.value.field == field


def test_twice_a_week_keeps_the_same_two_weekdays_and_their_time():
    # Monday 1 March 2027 at 10:00, Mondays and Thursdays: the clocks' change on the 14th moves nothing.
    proposals = plan(local(2027, 3, 1, 10), Repeat.on_weekdays([3, 0], 6))
    assert [p.day for p in proposals] == [date(2027, 3, day) for day in (1, 4, 8, 11, 15, 18)]
    assert all(p.is_free and p.wanted.astimezone(LA).time() == time(10) for p in proposals)
    # From a Thursday the week's pattern starts there.
    assert visit_days(date(2027, 3, 4), Repeat.on_weekdays([0, 3], 3)) == [date(2027, 3, 4), date(2027, 3, 8),
                                                                            date(2027, 3, 11)]


def test_the_forms_how_often_offers_fixed_weekdays_the_practitioner_works():
    assert twice_a_week(0) == [(0, 3), (0, 4)] and twice_a_week(3) == [(3, 6), (0, 3)]
    weekdays_only = {0, 1, 2, 3, 4}
    assert [p.value for p in patterns_offered(3, weekdays_only)] == ["7", "monday+thursday", "14"]
    assert [p.value for p in patterns_offered(0, weekdays_only)] == ["7", "monday+thursday", "monday+friday", "14"]
    for pattern in patterns_offered(0, weekdays_only):
        assert how_often_value(repeat_from(pattern.value, 4)) == pattern.value
    assert repeat_from("friday+monday", 6) == Repeat(7, 6, (0, 4))


def test_a_course_past_the_booking_horizon_is_refused_with_the_date():
    with pytest.raises(CourseProblem) as refused:
        plan(local(2027, 3, 1, 10), Repeat(7, 12))  # the 12th visit is May 17; bookings open until Apr 26
    assert "2027-05-17" in refused.value.message and "2027-04-26" in refused.value.message


def test_twelve_visits_within_the_horizon_are_proposed():
    proposals = plan(local(2027, 3, 1, 10), Repeat(2, 12))
    assert len(proposals) == 12 and [p.number for p in proposals] == list(range(1, 13))


def test_overlapping_names_the_visits():
    start = local(2027, 3, 1, 10)
    assert overlapping([start, start + timedelta(days=7)], [FIRST, FOLLOW_UP]) is None
    assert overlapping([start, start + timedelta(minutes=60), start + timedelta(days=1)],
                       [FIRST, FOLLOW_UP, FOLLOW_UP]) == (1, 2)


ZONES = ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "UTC"]


@st.composite
def courses(draw):
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    first_day = date(2027, 3, 1) + timedelta(days=draw(st.integers(0, 250)))
    now = datetime.combine(first_day - timedelta(days=draw(st.integers(1, 5))), time(), tzinfo=UTC)
    rules = BookingRules(step_minutes=draw(st.sampled_from([15, 30, 60])), min_notice=timedelta(hours=12),
                         max_advance_days=draw(st.integers(40, 120)))
    hours = [WorkingInterval(day, time(draw(st.integers(6, 10))), time(draw(st.integers(14, 20))))
             for day in draw(st.sets(st.integers(0, 6), min_size=1))]
    count = draw(st.integers(2, 12))
    repeat = (Repeat.on_weekdays(draw(st.sets(st.integers(0, 6), min_size=1)) | {first_day.weekday()}, count)
              if draw(st.booleans()) else Repeat(draw(st.integers(1, 10)), count))
    lengths = [Length(draw(st.sampled_from([20, 45, 75, 600])), draw(st.sampled_from([0, 15]))) for _ in range(2)]
    start = datetime.combine(first_day, time(draw(st.integers(6, 19)), draw(st.sampled_from([0, 15, 30, 45]))),
                             tzinfo=zone)
    busy = []
    for _ in range(draw(st.integers(0, 20))):
        at = start + timedelta(days=draw(st.integers(-3, 130)), minutes=15 * draw(st.integers(-40, 40)))
        busy.append(TimeRange(at, at + timedelta(minutes=draw(st.sampled_from([30, 60, 240])))))
    return dict(first_start=start, repeat=repeat, first=lengths[0], rest=lengths[1], hours=hours, time_off=[],
                busy=busy, rules=rules, now=now, zone=zone)


@settings(max_examples=150, deadline=None)
@given(courses())
def test_proposals_never_overlap_and_each_is_free_or_flagged(case):
    try:
        proposals = propose(**case)
    except CourseProblem:
        days = visit_days(case["first_start"].date(), case["repeat"])
        assert days[-1] > case["now"].astimezone(case["zone"]).date() + timedelta(days=case["rules"].max_advance_days)
        return
    lengths = [case["first"]] + [case["rest"]] * (case["repeat"].count - 1)
    searched = sorted({p.day + timedelta(days=n) for p in proposals for n in range(-3, 4)})

    def free_for(length):
        return set(free_starts(days=searched, hours=case["hours"], time_off=[], busy=case["busy"],
                               minutes=length.minutes, buffer_minutes=length.buffer_minutes, rules=case["rules"],
                               now=case["now"], zone=case["zone"]))

    free = {length: free_for(length) for length in set(lengths)}
    chosen = [(p.start, length) for p, length in zip(proposals, lengths) if p.is_free]
    assert overlapping([s for s, _ in chosen], [length for _, length in chosen]) is None
    for proposal, length in zip(proposals, lengths):
        if proposal.is_free:
            assert proposal.wanted in free[length] and not proposal.alternatives
            assert proposal.wanted.astimezone(case["zone"]).time() == case["first_start"].time()
        else:
            assert proposal.start is None
            for alt in proposal.alternatives:  # each alternative is free and clear of every visit kept
                assert alt in free[length]
                assert all(not length.occupies(alt).overlaps(other.occupies(start)) for start, other in chosen)


@settings(max_examples=60, deadline=None)
@given(first_day=st.dates(date(2026, 1, 1), date(2030, 12, 31)), others=st.sets(st.integers(0, 6), max_size=6),
       count=st.integers(2, 12))
def test_a_weekday_course_keeps_its_weekdays_and_skips_none_of_them(first_day, others, count):
    repeat = Repeat.on_weekdays(others | {first_day.weekday()}, count)
    days = visit_days(first_day, repeat)
    assert len(days) == count and days[0] == first_day
    assert all(day.weekday() in repeat.weekdays for day in days)
    for earlier, later in zip(days, days[1:]):  # in order, a week apart at most, no kept weekday skipped
        between = [earlier + timedelta(days=n) for n in range(1, (later - earlier).days)]
        assert 1 <= (later - earlier).days <= 7 and not any(day.weekday() in repeat.weekdays for day in between)
