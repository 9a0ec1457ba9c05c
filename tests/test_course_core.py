"""The pure course planner: visits keep their wall-clock time across daylight-saving changes, a taken
time is flagged with the nearest free ones, and nothing proposed overlaps or breaks the horizon."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.scheduling import BookingRules, TimeRange, WorkingInterval, free_starts
from booking.scheduling.course import CourseProblem, Length, Repeat, overlapping, propose, visit_days

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


def test_a_taken_time_is_flagged_with_the_nearest_free_times_first():
    taken = local(2027, 3, 8, 10)
    busy = [TimeRange(taken - timedelta(minutes=30), taken + timedelta(minutes=60))]
    proposals = plan(local(2027, 3, 1, 10), Repeat(7, 3), busy=busy)
    second = proposals[1]
    assert not second.is_free and second.start is None and second.wanted == taken
    assert second.alternatives[0] == local(2027, 3, 8, 11)  # the first start clear of the visit and buffer
    distances = [abs(alt - taken) for alt in second.alternatives if alt.astimezone(LA).date() == date(2027, 3, 8)]
    assert distances == sorted(distances) and len(second.alternatives) == 5
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
    assert second.alternatives[0] in (local(2027, 3, 9, 10), local(2027, 3, 5, 10))


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
                                           (Repeat(0, 4), "every_days"), (Repeat(29, 2), "every_days")])
def test_repeats_out_of_bounds_are_refused(repeat, field):
    with pytest.raises(CourseProblem) as refused:
        plan(local(2027, 3, 1, 10), repeat)
    assert refused.value.field == field


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
    repeat = Repeat(draw(st.integers(1, 10)), draw(st.integers(2, 12)))
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
