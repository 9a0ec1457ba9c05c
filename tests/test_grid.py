"""The desk calendar's grid, laid out by a pure function: no app, no database."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from booking.scheduling import TimeRange, WorkingInterval
from booking.scheduling.grid import BOOKED, BUFFER, CLOSED, FREE, TIME_OFF, Booked, ColumnPlan, lay_out

LA = ZoneInfo("America/Los_Angeles")
TUESDAY = date(2027, 3, 9)
EARLY = datetime(2027, 3, 1, tzinfo=LA)  # "now", before everything in these tests
TUESDAY_WEEKDAY = TUESDAY.weekday()


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LA)


def hours(*periods, weekday=TUESDAY_WEEKDAY):
    return [WorkingInterval(weekday, time(*start), time(*end)) for start, end in periods]


def column(grid, index=0):
    """(row start "HH:MM", kind, rowspan) for the cells that begin in one column."""
    return [(start.strftime("%H:%M"), cells[index].kind, cells[index].rowspan)
            for start, cells in zip(grid.rows, grid.cells, strict=True) if cells[index] is not None]


def test_rows_follow_the_slot_step_and_free_cells_stay_one_per_row():
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))))], 15, LA, EARLY)
    assert [r.strftime("%H:%M") for r in grid.rows] == ["09:00", "09:15", "09:30", "09:45"]
    assert column(grid) == [("09:00", FREE, 1), ("09:15", FREE, 1), ("09:30", FREE, 1), ("09:45", FREE, 1)]
    assert all(cell.bookable for cells in grid.cells for cell in cells)
    assert grid.cells[1][0].start == at(9, 15)


def test_an_appointment_is_one_tall_cell_and_its_buffer_follows():
    visit = Booked(at(9, 15), at(9, 45), at(10, 0), "visit")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (11, 0))), booked=[visit])], 15, LA, EARLY)
    assert column(grid)[:4] == [("09:00", FREE, 1), ("09:15", BOOKED, 2), ("09:45", BUFFER, 1), ("10:00", FREE, 1)]
    assert grid.cells[1][0].items == ("visit",)
    assert grid.outside_hours == set()


def test_a_lunch_break_and_time_off_are_single_cells_and_the_other_column_keeps_its_rows():
    ana = ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0)), ((11, 0), (12, 0))),
                     time_off=[TimeRange(at(11, 30), at(12, 0))])
    ben = ColumnPlan("ben", TUESDAY, hours(((9, 0), (12, 0))))
    grid = lay_out([ana, ben], 30, LA, EARLY)
    assert column(grid, 0) == [("09:00", FREE, 1), ("09:30", FREE, 1), ("10:00", CLOSED, 2),
                               ("11:00", FREE, 1), ("11:30", TIME_OFF, 1)]
    assert [kind for _, kind, _ in column(grid, 1)] == [FREE] * 6


def test_hours_changed_after_booking_mark_the_visit_outside_and_rows_split_at_its_edges():
    # Booked 08:10-08:40 when the practitioner started at 08:00; now they start at 09:00.
    early = Booked(at(8, 10), at(8, 40), at(8, 40), "early")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[early])], 30, LA, EARLY)
    assert column(grid) == [("08:10", BOOKED, 1), ("08:40", CLOSED, 1), ("09:00", FREE, 1), ("09:30", FREE, 1)]
    assert grid.outside_hours == {"early"}


def test_overlapping_visits_share_one_block_rather_than_hiding_one():
    first = Booked(at(9, 0), at(9, 30), at(9, 30), "first")
    second = Booked(at(9, 15), at(9, 45), at(9, 45), "second")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[second, first])], 15, LA, EARLY)
    assert column(grid)[0] == ("09:00", BOOKED, 3)
    assert grid.cells[0][0].items == ("first", "second")


def test_past_rows_and_rows_off_the_grid_cannot_start_a_booking():
    visit = Booked(at(9, 0), at(9, 20), at(9, 20), "visit")  # a 20-minute visit ends off the 15-minute grid
    plan = ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[visit])
    grid = lay_out([plan], 15, LA, at(9, 40))
    free = {start.strftime("%H:%M"): cells[0].bookable
            for start, cells in zip(grid.rows, grid.cells, strict=True) if cells[0] and cells[0].kind == FREE}
    assert free == {"09:20": False, "09:30": False, "09:45": True}


def test_a_day_with_no_hours_and_no_visits_has_no_rows():
    grid = lay_out([ColumnPlan("ana", date(2027, 3, 14), hours(((9, 0), (17, 0))))], 15, LA, EARLY)  # a Sunday
    assert grid.rows == [] and grid.columns == ["ana"]


def test_the_hour_skipped_when_clocks_go_forward_has_no_bookable_row():
    sunday = date(2027, 3, 14)  # 02:00 -> 03:00 in Los Angeles
    grid = lay_out([ColumnPlan("night", sunday, hours(((1, 0), (4, 0)), weekday=6))], 60, LA, EARLY)
    starts = {start.strftime("%H:%M"): cells[0] for start, cells in zip(grid.rows, grid.cells, strict=True)}
    assert starts["02:00"].start is None and not starts["02:00"].bookable
    assert starts["03:00"].start == datetime(2027, 3, 14, 3, 0, tzinfo=LA) and starts["03:00"].bookable


def test_a_week_uses_one_column_per_day():
    monday = date(2027, 3, 8)
    weekly = hours(((9, 0), (10, 0)), weekday=0) + hours(((9, 0), (10, 0)), weekday=1)
    plans = [ColumnPlan(monday, monday, weekly), ColumnPlan(TUESDAY, TUESDAY, weekly),
             ColumnPlan(date(2027, 3, 10), date(2027, 3, 10), weekly)]
    grid = lay_out(plans, 30, LA, EARLY)
    assert [kind for _, kind, _ in column(grid, 0)] == [FREE, FREE]
    assert column(grid, 2) == [("09:00", CLOSED, 2)]
    assert grid.cells[0][1].start == at(9, 0)
