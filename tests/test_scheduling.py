"""The pure scheduling core, table by table: no app, no database, no real clock."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.scheduling import (
    BookingRules,
    TimeRange,
    WorkingInterval,
    free_starts,
    merge,
    subtract,
    to_instant,
    wall_clock_instant,
)

UTC = timezone.utc
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
RULES = BookingRules(step_minutes=15, min_notice=timedelta(0), max_advance_days=3650)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


def every_day(start: str, end: str) -> list[WorkingInterval]:
    return [WorkingInterval(d, time.fromisoformat(start), time.fromisoformat(end)) for d in range(7)]


def starts(day, hours, *, zone=LA, minutes=60, buffer=0, busy=(), time_off=(), rules=RULES, now=LONG_AGO):
    return free_starts(
        days=[day] if isinstance(day, date) else day,
        hours=hours,
        time_off=list(time_off),
        busy=list(busy),
        minutes=minutes,
        buffer_minutes=buffer,
        rules=rules,
        now=now,
        zone=zone,
    )


def wall_times(instants, zone=LA) -> list[str]:
    return [i.astimezone(zone).strftime("%H:%M") for i in instants]


# --- time ranges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ranges, expected",
    [
        ([], []),
        ([(9, 10), (10, 11)], [(9, 11)]),  # touching ranges join
        ([(9, 12), (10, 11)], [(9, 12)]),
        ([(13, 14), (9, 10)], [(9, 10), (13, 14)]),
        ([(9, 11), (10, 12), (14, 15)], [(9, 12), (14, 15)]),
    ],
)
def test_merge(ranges, expected):
    made = merge(TimeRange(utc(2027, 1, 4, a), utc(2027, 1, 4, b)) for a, b in ranges)
    assert [(r.start.hour, r.end.hour) for r in made] == expected


@pytest.mark.parametrize(
    "cuts, expected",
    [
        ([], [(9, 17)]),
        ([(12, 13)], [(9, 12), (13, 17)]),
        ([(8, 10)], [(10, 17)]),
        ([(16, 18)], [(9, 16)]),
        ([(8, 18)], []),
        ([(10, 11), (14, 15)], [(9, 10), (11, 14), (15, 17)]),
        ([(17, 18)], [(9, 17)]),  # touching the end removes nothing
    ],
)
def test_subtract(cuts, expected):
    day = TimeRange(utc(2027, 1, 4, 9), utc(2027, 1, 4, 17))
    left = subtract([day], [TimeRange(utc(2027, 1, 4, a), utc(2027, 1, 4, b)) for a, b in cuts])
    assert [(r.start.hour, r.end.hour) for r in left] == expected


def test_time_range_refuses_naive_and_backwards():
    with pytest.raises(ValueError):
        TimeRange(datetime(2027, 1, 1, 9), utc(2027, 1, 1, 10))
    with pytest.raises(ValueError):
        TimeRange(utc(2027, 1, 1, 10), utc(2027, 1, 1, 9))


def test_working_interval_must_end_after_start():
    with pytest.raises(ValueError):
        WorkingInterval(0, time(18), time(9))


# --- the grid ------------------------------------------------------------------------------

MONDAY = date(2027, 1, 4)
SPLIT_DAY = [WorkingInterval(0, time(9), time(12, 30)), WorkingInterval(0, time(13, 30), time(18))]


def test_morning_and_afternoon_grids_each_start_at_their_interval():
    found = wall_times(starts(MONDAY, SPLIT_DAY, minutes=75))
    assert found[:3] == ["09:00", "09:15", "09:30"]
    assert "11:15" in found and "11:30" not in found  # 11:15 + 75 min = 12:30 exactly
    assert found[found.index("11:15") + 1] == "13:30"  # no start in the lunch break
    assert found[-1] == "16:45"  # 16:45 + 75 min = 18:00 exactly


def test_grid_counts_from_an_interval_that_starts_off_the_hour():
    hours = [WorkingInterval(0, time(13, 10), time(15, 0))]
    assert wall_times(starts(MONDAY, hours, minutes=45)) == ["13:10", "13:25", "13:40", "13:55", "14:10"]


def test_no_starts_on_a_day_without_hours():
    assert starts(date(2027, 1, 5), SPLIT_DAY) == []  # Tuesday


def test_buffer_keeps_time_free_after_a_booking():
    busy = [TimeRange(local(LA, 2027, 1, 4, 10, 0), local(LA, 2027, 1, 4, 11, 15))]  # 60 min + 15 buffer
    found = wall_times(starts(MONDAY, SPLIT_DAY, minutes=45, buffer=15, busy=busy))
    # 09:00 + 45 + 15 = 10:00 touches the booking: allowed. 09:15 would run into it.
    assert "09:00" in found and "09:15" not in found
    assert "10:00" not in found and "11:00" not in found
    assert "11:15" in found


def test_buffer_does_not_have_to_fit_inside_working_hours():
    found = wall_times(starts(MONDAY, SPLIT_DAY, minutes=60, buffer=30))
    assert found[-1] == "17:00"  # treatment ends 18:00; the buffer may run past closing


def test_time_off_removes_starts_but_not_the_grid():
    off = [TimeRange(local(LA, 2027, 1, 4, 10, 0), local(LA, 2027, 1, 4, 10, 40))]
    found = wall_times(starts(MONDAY, SPLIT_DAY, minutes=30, time_off=off))
    assert "09:30" in found  # ends 10:00, exactly when time off begins
    assert "09:45" not in found and "10:30" not in found
    assert "10:45" in found  # the grid still counts from 09:00


def test_treatment_may_not_span_two_pieces_of_open_time():
    off = [TimeRange(local(LA, 2027, 1, 4, 10, 0), local(LA, 2027, 1, 4, 10, 5))]
    found = wall_times(starts(MONDAY, SPLIT_DAY, minutes=60, time_off=off))
    assert "09:00" in found and "09:15" not in found and "10:00" not in found and "10:15" in found


# --- notice and horizon ------------------------------------------------------------------


def test_minimum_notice_is_inclusive():
    rules = BookingRules(step_minutes=15, min_notice=timedelta(hours=2), max_advance_days=60)
    now = local(LA, 2027, 1, 4, 8, 0)
    found = wall_times(starts(MONDAY, SPLIT_DAY, rules=rules, now=now))
    assert found[0] == "10:00"


def test_max_advance_counts_clinic_dates_from_the_clinic_today():
    rules = BookingRules(step_minutes=15, min_notice=timedelta(0), max_advance_days=2)
    # 2027-01-04 06:00 UTC is still Sunday 3 January in Los Angeles: the last bookable date is the 5th.
    now = utc(2027, 1, 4, 6, 0)
    days = [date(2027, 1, 4) + timedelta(days=n) for n in range(4)]
    found = starts(days, every_day("09:00", "10:00"), rules=rules, now=now)
    assert sorted({s.astimezone(LA).date() for s in found}) == [date(2027, 1, 4), date(2027, 1, 5)]


# --- daylight saving time ------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, day, wall, expected_utc",
    [
        # Los Angeles, spring forward on Sunday 14 March 2027
        (LA, date(2027, 3, 13), "09:00", utc(2027, 3, 13, 17, 0)),
        (LA, date(2027, 3, 14), "09:00", utc(2027, 3, 14, 16, 0)),
        (LA, date(2027, 3, 14), "13:30", utc(2027, 3, 14, 20, 30)),
        (LA, date(2027, 3, 15), "13:30", utc(2027, 3, 15, 20, 30)),
        # Los Angeles, fall back on Sunday 7 November 2027
        (LA, date(2027, 11, 6), "09:00", utc(2027, 11, 6, 16, 0)),
        (LA, date(2027, 11, 7), "09:00", utc(2027, 11, 7, 17, 0)),
        (LA, date(2027, 11, 7), "14:15", utc(2027, 11, 7, 22, 15)),
        # London, clocks forward on Sunday 28 March 2027 and back on Sunday 31 October 2027
        (LONDON, date(2027, 3, 27), "09:00", utc(2027, 3, 27, 9, 0)),
        (LONDON, date(2027, 3, 29), "09:00", utc(2027, 3, 29, 8, 0)),
        (LONDON, date(2027, 10, 30), "14:00", utc(2027, 10, 30, 13, 0)),
        (LONDON, date(2027, 11, 1), "14:00", utc(2027, 11, 1, 14, 0)),
        # Sydney, southern hemisphere: clocks go back on Sunday 4 April 2027
        (SYDNEY, date(2027, 4, 3), "09:00", utc(2027, 4, 2, 22, 0)),
        (SYDNEY, date(2027, 4, 5), "09:00", utc(2027, 4, 4, 23, 0)),
    ],
)
def test_local_starts_stay_on_the_wall_clock_across_dst(zone, day, wall, expected_utc):
    hours = every_day(wall, "18:00")
    found = starts(day, hours, zone=zone)
    assert found[0] == expected_utc
    assert found[0].astimezone(zone).strftime("%H:%M") == wall


def test_one_window_across_the_spring_change_keeps_nine_oclock():
    days = [date(2027, 3, 12) + timedelta(days=n) for n in range(5)]
    found = starts(days, every_day("09:00", "10:00"))
    assert wall_times(found) == ["09:00"] * 5
    assert [s.astimezone(UTC).hour for s in found] == [17, 17, 16, 16, 16]


def test_skipped_wall_clock_times_are_not_offered():
    # 02:00-02:59 does not exist in Los Angeles on 14 March 2027.
    hours = every_day("01:00", "04:00")
    found = starts(date(2027, 3, 14), hours, minutes=60)
    assert wall_times(found) == ["01:00", "01:15", "01:30", "01:45", "03:00"]
    # 01:45 PST + 60 real minutes is 03:45 PDT; 03:15 + 60 would end after 04:00.


def test_repeated_wall_clock_times_take_the_first_occurrence():
    # 01:00-01:59 happens twice in Los Angeles on 7 November 2027 (PDT, then PST).
    hours = every_day("00:30", "03:00")
    found = starts(date(2027, 11, 7), hours, minutes=60)
    assert wall_times(found) == ["00:30", "00:45", "01:00", "01:15", "01:30", "01:45", "02:00"]
    assert found[2] == utc(2027, 11, 7, 8, 0)  # 01:00 PDT, not 01:00 PST (09:00 UTC)
    assert found[-1] == utc(2027, 11, 7, 10, 0)  # 02:00 PST ends at 03:00 PST, the close


def test_working_hours_that_begin_inside_the_gap_open_when_clocks_resume():
    hours = every_day("02:30", "05:00")
    found = starts(date(2027, 3, 14), hours, minutes=60)
    assert wall_times(found) == ["03:00", "03:15", "03:30", "03:45", "04:00"]


def test_to_instant_and_wall_clock_instant():
    assert to_instant(date(2027, 3, 14), time(2, 30), LA) is None
    assert wall_clock_instant(date(2027, 3, 14), time(2, 30), LA) == utc(2027, 3, 14, 10, 0)
    assert to_instant(date(2027, 11, 7), time(1, 30), LA) == utc(2027, 11, 7, 8, 30)


def test_free_starts_refuses_a_naive_now():
    with pytest.raises(ValueError):
        starts(MONDAY, SPLIT_DAY, now=datetime(2027, 1, 1))


def test_busy_ranges_may_arrive_unsorted_and_overlapping():
    busy = [
        TimeRange(local(LA, 2027, 1, 4, 14, 0), local(LA, 2027, 1, 4, 15, 0)),
        TimeRange(local(LA, 2027, 1, 4, 9, 0), local(LA, 2027, 1, 4, 10, 0)),
        TimeRange(local(LA, 2027, 1, 4, 9, 30), local(LA, 2027, 1, 4, 10, 30)),
    ]
    found = wall_times(starts(MONDAY, SPLIT_DAY, minutes=30, busy=busy))
    assert found[:2] == ["10:30", "10:45"]
    assert "13:30" in found and "14:00" not in found and "14:45" not in found and "15:00" in found
