"""The desk calendar's grid: rows of wall-clock time, a column per practitioner (or per day).

Pure like the rest of the core: hours, time off and appointments in, cells out. Rows are
the regular ones only: every slot step of each working period (and the step on the clock
where a visit lies outside all hours), so a visit that starts off the step, at 09:35 on a
15-minute grid, sits in the 09:30 row with its own time on its card rather than adding a
row of its own. A row holds whatever touches it, in this order: a visit, the time kept free
after one, time off, free time, closed. Runs of the same thing merge into one tall cell;
free cells stay one per row so each can start a booking.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from booking.scheduling.core import TimeRange, WorkingInterval, to_instant

DAY_MINUTES = 24 * 60

CLOSED, TIME_OFF, FREE, BUFFER, BOOKED = "closed", "time_off", "free", "buffer", "booked"


@dataclass(frozen=True)
class Booked:
    """An appointment holding time: shown over [start, end), then its buffer until occupied_until."""

    start: datetime
    end: datetime
    occupied_until: datetime
    item: Hashable  # what the caller wants back in the cell (an id)


@dataclass(frozen=True)
class ColumnPlan:
    key: Hashable  # a practitioner id, or a date for one practitioner's week
    day: date
    hours: Sequence[WorkingInterval]  # the practitioner's weekly hours (every weekday)
    time_off: Sequence[TimeRange] = ()
    booked: Sequence[Booked] = ()


@dataclass
class Cell:
    kind: str
    rowspan: int = 1
    items: tuple = ()  # BOOKED: the appointments in this block (more than one when they share a row)
    off_row: tuple = ()  # BOOKED: those of items that start after their row does (09:35 in the 09:30 row)
    start: datetime | None = None  # FREE: the instant the row begins (None inside a skipped hour)
    bookable: bool = False  # FREE: a start on the working grid, not in the past


@dataclass
class Grid:
    rows: list[time]  # the wall-clock start of each row
    columns: list[Hashable]
    cells: list[list[Cell | None]]  # [row][column]; None where a tall cell above covers it
    outside_hours: set = field(default_factory=set)  # items booked (partly) outside working hours
    during_time_off: set = field(default_factory=set)  # items booked (partly) in the practitioner's time off
    # The starts of the free cells on the working grid, in order: the moments at which one of them
    # stops being bookable. Between two of them the grid is the same whatever the clock says.
    turns: tuple[datetime, ...] = ()

    def row_cells(self):
        """(row start, [(column key, cell), ...]) with covered cells left out, for templates."""
        for start, cells in zip(self.rows, self.cells, strict=True):
            yield start, [(key, cell) for key, cell in zip(self.columns, cells, strict=True) if cell is not None]


    def used_cells(self, column: int) -> list[tuple[int, Cell]]:
        """(row index, cell) down one column from its first cell that is not closed to its last:
        the column's own day, for the phone's list; [] when it is closed all day."""
        cells = [(index, row[column]) for index, row in enumerate(self.cells) if row[column] is not None]
        used = [place for place, (_index, cell) in enumerate(cells) if cell.kind != CLOSED]
        return cells[used[0]:used[-1] + 1] if used else []


def _minutes(instant: datetime, day: date, zone: ZoneInfo) -> int:
    """Wall-clock minutes from the start of `day` (clipped to the day)."""
    local = instant.astimezone(zone)
    minutes = (local.date() - day).days * DAY_MINUTES + local.hour * 60 + local.minute
    return min(max(minutes, 0), DAY_MINUTES)


@dataclass
class _Column:
    """One column in wall-clock minutes."""

    working: list[tuple[int, int]]
    grid: set[int]  # the minutes a booking may start at: each working period's slot steps
    time_off: list[tuple[int, int]]
    visits: list[tuple[int, int, Hashable]]  # [start, end) of each visit, sorted
    buffers: list[tuple[int, int]]


def _overlaps(spans, start: int, end: int) -> bool:
    return any(s < e and s < end and start < e for s, e, *_ in spans)  # empty spans (no buffer) touch nothing


def _column(plan: ColumnPlan, step: int, zone: ZoneInfo) -> tuple[_Column, set, set]:
    working, grid = [], set()
    for interval in plan.hours:
        if interval.weekday != plan.day.weekday():
            continue
        start = interval.start.hour * 60 + interval.start.minute
        end = interval.end.hour * 60 + interval.end.minute
        working.append((start, end))
        grid.update(range(start, end, step))
    time_off = [(_minutes(r.start, plan.day, zone), _minutes(r.end, plan.day, zone)) for r in plan.time_off]
    visits, buffers, outside, away = [], [], set(), set()
    for booked in sorted(plan.booked, key=lambda b: (b.start, b.end)):
        start, end = _minutes(booked.start, plan.day, zone), _minutes(booked.end, plan.day, zone)
        end = max(end, start + 1)
        visits.append((start, end, booked.item))
        buffers.append((end, _minutes(booked.occupied_until, plan.day, zone)))
        if not any(ws <= start and end <= we for ws, we in working):
            outside.add(booked.item)
        if _overlaps(time_off, start, end):
            away.add(booked.item)
    return _Column(working, grid, time_off, visits, buffers), outside, away


def _rows(columns: list[_Column], step: int) -> tuple[list[int], int]:
    """The rows' starting minutes, and the minute the last row ends."""
    starts: set[int] = set()
    ends: set[int] = set()
    for column in columns:
        starts |= column.grid
        starts |= {end for _, end in column.working}  # a break or the close gets a row of its own
        ends |= {end for _, end in column.working}
        ends |= {end for _, end in column.buffers}
        ends |= {end for _, end, _ in column.visits}
    for column in columns:
        for start, end in [(s, e) for s, e, _ in column.visits] + column.buffers:
            # Outside everyone's hours a visit is placed on the clock's own steps.
            for minute in range(start - start % step, end, step):
                if not any(ws <= minute < we for other in columns for ws, we in other.working):
                    starts.add(minute)
    if not starts:
        return [], 0
    last = max(ends | starts)
    return sorted(minute for minute in starts if minute < last), last


def _groups(visits, rows: list[int]) -> list[tuple[int, int, tuple, tuple]]:
    """Visits as blocks of rows [first row, last row], merged where they share a row, with
    the items that start after their first row does."""
    groups: list[list] = []
    for start, end, item in visits:
        first = bisect_right(rows, start) - 1 if rows[0] <= start else 0
        final = max(bisect_left(rows, end) - 1, first)
        off_row = rows[first] != start
        if groups and first <= groups[-1][1]:
            group = groups[-1]
            group[1] = max(group[1], final)
            group[2] += (item,)
            group[3] += (item,) if off_row else ()
        else:
            groups.append([first, final, (item,), (item,) if off_row else ()])
    return [tuple(group) for group in groups]


def lay_out(plans: Sequence[ColumnPlan], step_minutes: int, zone: ZoneInfo, now: datetime) -> Grid:
    """The grid for these columns; no rows at all when nobody works and nothing is booked."""
    columns, outside, away = [], set(), set()
    for plan in plans:
        column, off_hours, in_time_off = _column(plan, step_minutes, zone)
        columns.append(column)
        outside |= off_hours
        away |= in_time_off
    rows, last = _rows(columns, step_minutes)
    if not rows:
        return Grid([], [p.key for p in plans], [], outside, away)
    bounds = rows[1:] + [last]

    cells: list[list[Cell | None]] = [[None] * len(plans) for _ in rows]
    turns: set[datetime] = set()
    for index, (plan, column) in enumerate(zip(plans, columns, strict=True)):
        groups = _groups(column.visits, rows)
        above: Cell | None = None
        for row, (minute, until) in enumerate(zip(rows, bounds, strict=True)):
            group = next((g for g in groups if g[0] <= row <= g[1]), None)
            if group is not None:
                if group[0] == row:
                    cells[row][index] = above = Cell(BOOKED, rowspan=group[1] - group[0] + 1,
                                                     items=group[2], off_row=group[3])
                continue
            if _overlaps(column.buffers, minute, until):
                kind = BUFFER
            elif _overlaps(column.time_off, minute, until):
                kind = TIME_OFF
            elif any(start <= minute < end for start, end in column.working):
                kind = FREE
            else:
                kind = CLOSED
            if above is not None and kind == above.kind and kind not in (FREE, BOOKED):
                above.rowspan += 1
                continue
            cell = Cell(kind)
            if kind == FREE:
                cell.start = to_instant(plan.day, time(minute // 60, minute % 60), zone)
                on_grid = cell.start is not None and minute in column.grid
                cell.bookable = on_grid and cell.start >= now
                if on_grid:
                    turns.add(cell.start)
            cells[row][index] = above = cell
    return Grid([time(m // 60, m % 60) for m in rows], [p.key for p in plans], cells, outside, away, tuple(sorted(turns)))
