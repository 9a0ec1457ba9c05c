"""The desk calendar's grid, laid out by a pure function: no app, no database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.scheduling import TimeRange, WorkingInterval
from booking.scheduling.grid import (BOOKED, BUFFER, CLOSED, FREE, HANDS_ON, HELD, RESTING, TIME_OFF, Booked,
                                    ColumnPlan, lay_out)

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


def lanes(grid, row: str) -> list[tuple]:
    """(kind, rowspan, colspan, items) of the cells that begin in one row, lane by lane."""
    cells = grid.cells[[start.strftime("%H:%M") for start in grid.rows].index(row)]
    return [(cell.kind, cell.rowspan, cell.colspan, cell.items) for cell in cells if cell is not None]


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


def test_hours_changed_after_booking_mark_the_visit_outside_on_the_clocks_own_rows():
    # Booked 08:10-08:40 when the practitioner started at 08:00; now they start at 09:00.
    early = Booked(at(8, 10), at(8, 40), at(8, 40), "early")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[early])], 30, LA, EARLY)
    assert column(grid) == [("08:00", BOOKED, 2), ("09:00", FREE, 1), ("09:30", FREE, 1)]
    assert grid.cells[0][0].off_row == ("early",)
    assert grid.outside_hours == {"early"} and grid.during_time_off == set()


def test_a_visit_off_the_step_sits_in_its_regular_row_and_adds_none():
    # 09:35-10:05 on a 15-minute grid: in the 09:30 and 09:45 rows (and 10:00, which it reaches).
    odd = Booked(at(9, 35), at(10, 5), at(10, 5), "odd")
    late = Booked(at(11, 5), at(11, 20), at(11, 20), "late")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (12, 0))), booked=[odd, late])], 15, LA, EARLY)
    assert [r.strftime("%H:%M") for r in grid.rows] == [f"{h:02}:{m:02}" for h in (9, 10, 11) for m in (0, 15, 30, 45)]
    cells = dict((start, (kind, span)) for start, kind, span in column(grid))
    assert cells["09:30"] == (BOOKED, 3) and cells["10:15"] == (FREE, 1)
    assert cells["11:00"] == (BOOKED, 2) and cells["11:30"] == (FREE, 1)
    assert grid.cells[2][0].items == ("odd",) and grid.cells[2][0].off_row == ("odd",)
    assert not any(cell.bookable for cells in grid.cells for cell in cells if cell and cell.kind == BOOKED)


def test_visits_sharing_a_row_take_a_lane_each():
    first = Booked(at(9, 0), at(9, 20), at(9, 20), "first")
    second = Booked(at(9, 20), at(9, 40), at(9, 40), "second")  # starts inside the 09:00 row of a 30-minute grid
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 30))), booked=[first, second])], 30, LA, EARLY)
    assert grid.lanes == [2]
    assert lanes(grid, "09:00") == [(BOOKED, 1, 1, ("first",)), (BOOKED, 2, 1, ("second",))]
    assert grid.cells[0][1].off_row == ("second",) and grid.cells[0][0].off_row == ()
    # Beside the second visit, the first's lane is the practitioner's, who is still with a patient.
    assert lanes(grid, "09:30") == [(HELD, 1, 1, ())]
    assert lanes(grid, "10:00") == [(FREE, 1, 2, ())] and grid.cells[2][0].bookable


def test_a_visit_in_time_off_is_marked_so():
    visit = Booked(at(9, 0), at(9, 30), at(9, 30), "clash")
    plan = ColumnPlan("ana", TUESDAY, hours(((9, 0), (12, 0))), time_off=[TimeRange(at(9, 0), at(10, 0))],
                      booked=[visit])
    grid = lay_out([plan], 30, LA, EARLY)
    assert column(grid)[:2] == [("09:00", BOOKED, 1), ("09:30", TIME_OFF, 1)]
    assert grid.during_time_off == {"clash"} and grid.outside_hours == set()


def test_a_visit_after_closing_gets_rows_on_the_clock_and_the_evening_between_is_one_cell():
    evening = Booked(at(19, 0), at(19, 30), at(19, 30), "evening")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[evening])], 30, LA, EARLY)
    assert column(grid) == [("09:00", FREE, 1), ("09:30", FREE, 1), ("10:00", CLOSED, 1), ("19:00", BOOKED, 1)]


def test_overlapping_visits_each_keep_a_block_of_their_own():
    first = Booked(at(9, 0), at(9, 30), at(9, 30), "first")
    second = Booked(at(9, 15), at(9, 45), at(9, 45), "second")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[second, first])], 15, LA, EARLY)
    assert grid.lanes == [2]
    assert lanes(grid, "09:00") == [(BOOKED, 2, 1, ("first",)), (HELD, 1, 1, ())]
    assert lanes(grid, "09:15") == [(BOOKED, 2, 1, ("second",))]
    assert lanes(grid, "09:30") == [(HELD, 1, 1, ())]
    assert [item for _, cells in grid.row_cells() for _, cell in cells for item in cell.items] == ["first", "second"]


def test_past_rows_and_rows_off_the_grid_cannot_start_a_booking():
    visit = Booked(at(9, 0), at(9, 20), at(9, 20), "visit")  # a 20-minute visit ends off the 15-minute grid
    plan = ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[visit])
    grid = lay_out([plan], 15, LA, at(9, 40))
    free = {start.strftime("%H:%M"): cells[0].bookable
            for start, cells in zip(grid.rows, grid.cells, strict=True) if cells[0] and cells[0].kind == FREE}
    assert free == {"09:30": False, "09:45": True}  # no 09:20 row: the visit fills the 09:15 one


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


def test_a_columns_own_day_runs_from_its_first_open_cell_to_its_last():
    """The phone's list of a column leaves out the rows before and after its hours (others'
    hours), keeps a break inside them, and is empty for a column closed all day."""
    early = ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0)), ((11, 0), (11, 30))))
    late = ColumnPlan("ben", TUESDAY, hours(((10, 0), (12, 0))))
    away = ColumnPlan("cy", TUESDAY, hours(((9, 0), (10, 0)), weekday=TUESDAY_WEEKDAY + 1))
    grid = lay_out([early, late, away], 30, LA, EARLY)
    own_day = [(grid.rows[index].strftime("%H:%M"), cell.kind) for index, cell in grid.used_cells(0)]
    assert own_day == [("09:00", FREE), ("09:30", FREE), ("10:00", CLOSED), ("11:00", FREE)]
    assert [grid.rows[index].strftime("%H:%M") for index, _ in grid.used_cells(1)] == ["10:00", "10:30", "11:00", "11:30"]
    assert grid.used_cells(2) == []


# --- one practitioner, several beds: hands-on parts and resting ---------------------------

def follow_up(hour: int, minute: int, item: str) -> Booked:
    """The demo clinic's follow-up: 45 minutes and a 15-minute buffer; hands on for 0-10 and 35-45."""
    start = at(hour, minute)
    return Booked(start, start + timedelta(minutes=45), start + timedelta(minutes=60), item,
                  held=(TimeRange(start, start + timedelta(minutes=10)),
                        TimeRange(start + timedelta(minutes=35), start + timedelta(minutes=45))))


def test_a_visit_with_hands_on_parts_is_drawn_by_phase_and_its_rest_can_be_booked():
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (11, 0))), booked=[follow_up(9, 0, "pat")])],
                   15, LA, EARLY)
    assert grid.lanes == [2]  # a lane beside the visit for the time its rest leaves free
    first, resting, back = grid.cells[0][0], grid.cells[1][0], grid.cells[2][0]
    assert (first.phase, first.continues, first.items) == (HANDS_ON, False, ("pat",))
    assert (resting.phase, resting.continues) == (RESTING, True)
    assert (back.phase, back.continues) == (HANDS_ON, True)
    assert [cell.kind for cell in (grid.cells[0][1], grid.cells[2][1])] == [HELD, HELD]
    free = grid.cells[1][1]
    assert free.kind == FREE and free.bookable and free.start == at(9, 15)
    # The buffer turns the bed over: the practitioner is free from 09:45, across both lanes.
    assert lanes(grid, "09:45") == [(FREE, 1, 2, ())] and grid.cells[3][0].bookable
    assert at(9, 15) in grid.turns and at(9, 45) in grid.turns


def test_a_second_patient_needled_while_the_first_rests_takes_the_next_lane():
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (11, 0))),
                               booked=[follow_up(9, 0, "first"), follow_up(9, 15, "second")])], 15, LA, EARLY)
    assert grid.lanes == [3]
    assert [(c.kind, c.phase, c.items) for c in grid.cells[1] if c is not None] == [
        (BOOKED, RESTING, ("first",)), (BOOKED, HANDS_ON, ("second",)), (HELD, "", ())]
    assert [(c.kind, c.phase) for c in grid.cells[2] if c is not None] == [(BOOKED, HANDS_ON), (BOOKED, RESTING)]
    assert grid.cells[1][2].rowspan == 3  # the lane beside them: the practitioner busy from 09:15 to 10:00
    # Nothing is bookable while one of them is needled; both are visible in every row they take.
    assert not any(cell.bookable for row in grid.cells[:4] for cell in row if cell is not None)
    shown = {item for row in grid.cells for cell in row if cell is not None for item in cell.items}
    assert shown == {"first", "second"}
    assert lanes(grid, "10:00") == [(FREE, 1, 3, ())]


def test_a_free_time_between_lanes_is_offered_once():
    """Lanes 1 and 3 free beside visits in lanes 0 and 2: one "Book", the other cell its echo."""
    long_rest = Booked(at(9, 0), at(10, 0), at(10, 0), "long", held=(TimeRange(at(9, 0), at(9, 15)),))
    short = Booked(at(9, 15), at(9, 45), at(9, 45), "short", held=(TimeRange(at(9, 15), at(9, 30)),))
    late = Booked(at(9, 30), at(10, 0), at(10, 0), "late", held=(TimeRange(at(9, 30), at(9, 45)),))
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (11, 0))), booked=[long_rest, short, late])],
                   15, LA, EARLY)
    assert grid.lanes == [4]  # at 09:30 three visits and, as two rest, a lane for the time they leave
    row = [cell for cell in grid.cells[3] if cell is not None]  # 09:45: long (lane 0) and late (lane 2) rest
    free = [cell for cell in row if cell.kind == FREE]
    assert [(cell.bookable, cell.echo) for cell in free] == [(True, False), (False, True)]
    assert free[1].start is None and at(9, 45) in grid.turns
    listed = [(grid.rows[index].strftime("%H:%M"), cell.kind) for index, cell in grid.used_cells(0)]
    assert ("09:45", FREE) in listed and ("09:00", HELD) not in listed and listed.count(("09:45", FREE)) == 1


def test_a_visit_without_hands_on_parts_holds_its_buffer_and_is_one_block():
    visit = Booked(at(9, 0), at(9, 30), at(9, 45), "whole", held=(TimeRange(at(9, 0), at(9, 45)),))
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[visit])], 15, LA, EARLY)
    assert grid.lanes == [1]
    assert column(grid) == [("09:00", BOOKED, 2), ("09:30", BUFFER, 1), ("09:45", FREE, 1)]
    assert grid.cells[0][0].phase == ""


def test_lanes_across_a_day_with_several_practitioners_keep_each_column_its_own():
    ana = ColumnPlan("ana", TUESDAY, hours(((9, 0), (10, 0))), booked=[follow_up(9, 0, "pat")])
    ben = ColumnPlan("ben", TUESDAY, hours(((9, 0), (10, 0))))
    grid = lay_out([ana, ben], 15, LA, EARLY)
    assert grid.lanes == [2, 1] and grid.lane_keys == ["ana", "ana", "ben"]
    assert [key for key, _cell in next(grid.row_cells())[1]] == ["ana", "ana", "ben"]
    assert [grid.rows[index].strftime("%H:%M") for index, _ in grid.used_cells(1)] == ["09:00", "09:15", "09:30", "09:45"]


def test_a_free_start_with_too_little_time_before_closing_or_time_off_cannot_start_a_booking():
    """The shortest visit the practitioner gives (20 minutes) must fit before the period ends and
    before time off; a visit beside it is the booking's to judge (one with resting time may fit)."""
    away = TimeRange(at(11, 30), at(12, 0))
    visit = Booked(at(10, 45), at(11, 0), at(11, 0), "visit")
    grid = lay_out([ColumnPlan("ana", TUESDAY, hours(((10, 0), (12, 30))), time_off=[away], booked=[visit],
                               shortest_minutes=20)], 15, LA, EARLY)
    bookable = {start.strftime("%H:%M") for start, cells in zip(grid.rows, grid.cells, strict=True)
                if cells[0] is not None and cells[0].bookable}
    assert bookable == {"10:00", "10:15", "10:30", "11:00", "12:00"}  # not 11:15 (time off) nor 12:15 (closing)
