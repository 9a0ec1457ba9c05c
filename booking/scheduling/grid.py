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
# A lane beside a visit while the practitioner is with another patient (in another lane).
HELD = "held"
# What a visit's rows are: the practitioner with the patient, or the patient resting (BOOKED cells).
HANDS_ON, RESTING = "hands_on", "resting"


@dataclass(frozen=True)
class Booked:
    """An appointment holding time: shown over [start, end), then its buffer until occupied_until."""

    start: datetime
    end: datetime
    occupied_until: datetime
    item: Hashable  # what the caller wants back in the cell (an id)
    # The stretches it holds its practitioner: its hands-on parts. None: the whole visit and buffer.
    held: tuple[TimeRange, ...] | None = None


@dataclass(frozen=True)
class ColumnPlan:
    key: Hashable  # a practitioner id, or a date for one practitioner's week
    day: date
    hours: Sequence[WorkingInterval]  # the practitioner's weekly hours (every weekday)
    time_off: Sequence[TimeRange] = ()
    booked: Sequence[Booked] = ()
    # The minutes of the shortest visit the column's practitioner gives: a free start with less than
    # that before the end of its working period or the next time off offers no "Book" (0: any start).
    shortest_minutes: int = 0


@dataclass
class Cell:
    kind: str
    rowspan: int = 1
    colspan: int = 1  # lanes of its column: a cell beside visits spans the lanes they leave
    items: tuple = ()  # BOOKED: the appointment in this block (one: visits sharing a row take lanes)
    off_row: tuple = ()  # BOOKED: items if it starts after its row does (09:35 in the 09:30 row)
    start: datetime | None = None  # FREE: the instant the row begins (None inside a skipped hour)
    bookable: bool = False  # FREE: a start on the working grid, not in the past, with room for a visit
    # BOOKED: HANDS_ON or RESTING for the rows of a visit that has resting time; "" for one that
    # holds its practitioner throughout (drawn as a single block, as ever).
    phase: str = ""
    continues: bool = False  # BOOKED: a later block of the visit (its card is in the first)
    # FREE: the same free time as a cell to its left in the row (visits' lanes lie between), whose
    # "Book" it is: one link for one time.
    echo: bool = False


@dataclass
class Grid:
    rows: list[time]  # the wall-clock start of each row
    columns: list[Hashable]
    cells: list[list[Cell | None]]  # [row][lane]: the columns' lanes side by side; None where a cell covers it
    outside_hours: set = field(default_factory=set)  # items booked (partly) outside working hours
    during_time_off: set = field(default_factory=set)  # items booked (partly) in the practitioner's time off
    # The starts of the free cells on the working grid, in order: the moments at which one of them
    # stops being bookable. Between two of them the grid is the same whatever the clock says.
    turns: tuple[datetime, ...] = ()
    lanes: list[int] = field(default_factory=list)  # how many lanes each column has (1 unless visits overlap)

    @property
    def has_resting(self) -> bool:
        """Does some visit here have resting time (so the key explains resting and busy lanes)?"""
        return any(cell is not None and cell.phase == RESTING for row in self.cells for cell in row)

    @property
    def lane_keys(self) -> list[Hashable]:
        """The column key of each lane, in the order of a row's cells."""
        return [key for key, width in zip(self.columns, self.lanes or [1] * len(self.columns), strict=True)
                for _ in range(width)]

    def row_cells(self):
        """(row start, [(column key, cell), ...]) with covered cells left out, for templates."""
        keys = self.lane_keys
        for start, cells in zip(self.rows, self.cells, strict=True):
            yield start, [(key, cell) for key, cell in zip(keys, cells, strict=True) if cell is not None]

    def used_cells(self, column: int) -> list[tuple[int, Cell]]:
        """(row index, cell) down one column from its first cell that is not closed to its last,
        lane by lane within a row: the column's own day, for the phone's list; [] when it is closed
        all day. Beside visits, lanes that only repeat the row (held, or free with its "Book" in
        another lane) are left out: a list says each thing once."""
        lanes = self.lanes or [1] * len(self.columns)
        first = sum(lanes[:column])
        cells = [(index, cell) for index, row in enumerate(self.cells) for cell in row[first:first + lanes[column]]
                 if cell is not None and cell.kind != HELD and not cell.echo]
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
    buffers: list[tuple[int, int]]  # the buffers that hold the practitioner (a service without hands-on parts)
    held: dict[Hashable, list[tuple[int, int]]]  # each visit's hands-on parts (or whole span and buffer)

    def holds(self, start: int, end: int) -> bool:
        """Is the practitioner with some patient during [start, end)?"""
        return any(_overlaps(parts, start, end) for parts in self.held.values())

    def fits(self, start: int, minutes: int) -> bool:
        """Could a visit of `minutes` start at `start`: inside one working period and clear of time
        off? (Other visits are the booking's to judge: a visit with resting time may fit beside them.)"""
        end = start + minutes
        return any(ws <= start and end <= we for ws, we in self.working) and not _overlaps(self.time_off, start, end)


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
    visits, buffers, held, outside, away = [], [], {}, set(), set()
    for booked in sorted(plan.booked, key=lambda b: (b.start, b.end)):
        start, end = _minutes(booked.start, plan.day, zone), _minutes(booked.end, plan.day, zone)
        end = max(end, start + 1)
        visits.append((start, end, booked.item))
        parts = booked.held if booked.held is not None else (TimeRange(booked.start, booked.occupied_until),)
        held[booked.item] = [(_minutes(p.start, plan.day, zone), _minutes(p.end, plan.day, zone)) for p in parts]
        until = _minutes(booked.occupied_until, plan.day, zone)
        # The buffer is kept free for the practitioner only where a part holds it: a bed being
        # turned over after a visit with hands-on parts leaves the practitioner free.
        buffers.extend((max(s, end), min(e, until)) for s, e in held[booked.item] if max(s, end) < min(e, until))
        if not any(ws <= start and end <= we for ws, we in working):
            outside.add(booked.item)
        if _overlaps(time_off, start, end):
            away.add(booked.item)
    return _Column(working, grid, time_off, visits, buffers, held), outside, away


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


@dataclass
class _Placed:
    """A visit in its lane: rows first to final (inclusive)."""

    first: int
    final: int
    lane: int
    item: Hashable
    off_row: bool


def _place(visits, rows: list[int]) -> tuple[list[_Placed], int]:
    """Each visit in the lowest lane free for all its rows (visits sorted by start), and the
    number of lanes the column needs: 1, or how many visits share a row at most."""
    placed: list[_Placed] = []
    lane_ends: list[int] = []  # the last row taken in each lane so far
    for start, end, item in visits:
        first = bisect_right(rows, start) - 1 if rows[0] <= start else 0
        final = max(bisect_left(rows, end) - 1, first)
        lane = next((n for n, taken in enumerate(lane_ends) if taken < first), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(final)
        lane_ends[lane] = final
        placed.append(_Placed(first, final, lane, item, rows[first] != start))
    return placed, max(len(lane_ends), 1)


def _blocks(visit: _Placed, span: tuple[int, int], column: _Column, rows: list[int],
            bounds: list[int]) -> list[Cell]:
    """A visit's cells down its lane, in order: one for the whole visit when it holds the
    practitioner throughout, else a cell for each run of hands-on rows and of resting rows."""
    start, end = span
    parts = column.held[visit.item]
    phases = [HANDS_ON if _overlaps(parts, max(rows[row], start), min(bounds[row], end)) else RESTING
              for row in range(visit.first, visit.final + 1)]
    off_row = (visit.item,) if visit.off_row else ()
    if RESTING not in phases:
        return [Cell(BOOKED, rowspan=len(phases), items=(visit.item,), off_row=off_row)]
    blocks: list[Cell] = []
    for phase in phases:
        if blocks and blocks[-1].phase == phase:
            blocks[-1].rowspan += 1
        else:
            blocks.append(Cell(BOOKED, items=(visit.item,), off_row=() if blocks else off_row, phase=phase,
                               continues=bool(blocks)))
    return blocks


def _runs(lanes: list[int]) -> list[tuple[int, int]]:
    """Consecutive lanes as (first lane, how many): [0, 1, 3] -> [(0, 2), (3, 1)]."""
    runs: list[list[int]] = []
    for lane in lanes:
        if runs and runs[-1][0] + runs[-1][1] == lane:
            runs[-1][1] += 1
        else:
            runs.append([lane, 1])
    return [(first, width) for first, width in runs]


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
        return Grid([], [p.key for p in plans], [], outside, away, lanes=[1] * len(plans))
    bounds = rows[1:] + [last]

    laid = []  # each column's visits in their lanes, their cells, and the column's width
    for column in columns:
        placed, width = _place(column.visits, rows)
        spans = {item: (start, end) for start, end, item in column.visits}
        blocks = [_blocks(visit, spans[visit.item], column, rows, bounds) for visit in placed]
        # A row where a patient rests needs a lane beside its visits, for the time it leaves free.
        resting = [0] * len(rows)
        sharing = [0] * len(rows)
        for visit, cells_of in zip(placed, blocks, strict=True):
            row = visit.first
            for block in cells_of:
                for covered in range(row, row + block.rowspan):
                    sharing[covered] += 1
                    resting[covered] |= block.phase == RESTING
                row += block.rowspan
        width = max([width] + [shared + 1 for shared, rests in zip(sharing, resting, strict=True) if rests])
        laid.append((placed, blocks, width))
    widths = [width for *_laid, width in laid]
    cells: list[list[Cell | None]] = [[None] * sum(widths) for _ in rows]
    turns: set[datetime] = set()
    offset = 0
    for plan, column, (placed, blocks, width) in zip(plans, columns, laid, strict=True):
        taken = [[False] * width for _ in rows]  # [row][lane]: a visit's cell covers it
        for visit, cells_of in zip(placed, blocks, strict=True):
            row = visit.first
            for block in cells_of:
                cells[row][offset + visit.lane] = block
                row += block.rowspan
            for row in range(visit.first, visit.final + 1):
                taken[row][visit.lane] = True

        # The lanes no visit takes: what the practitioner's time is in each row, as one column was.
        above: dict[tuple[int, int], tuple[Cell, int]] = {}  # (first lane, width) -> the cell there, its last row
        for row, (minute, until) in enumerate(zip(rows, bounds, strict=True)):
            if _overlaps(column.buffers, minute, until):
                kind = BUFFER
            elif column.holds(minute, until):
                kind = HELD
            elif _overlaps(column.time_off, minute, until):
                kind = TIME_OFF
            elif any(start <= minute < end for start, end in column.working):
                kind = FREE
            else:
                kind = CLOSED
            for place, (lane, lanes) in enumerate(_runs([n for n in range(width) if not taken[row][n]])):
                merged = above.get((lane, lanes))
                if merged is not None and merged[1] == row - 1 and merged[0].kind == kind and kind != FREE:
                    merged[0].rowspan += 1
                    above[(lane, lanes)] = (merged[0], row)
                    continue
                cell = Cell(kind, colspan=lanes)
                if kind == FREE and place:
                    cell.echo = True
                elif kind == FREE:
                    cell.start = to_instant(plan.day, time(minute // 60, minute % 60), zone)
                    on_grid = cell.start is not None and minute in column.grid
                    cell.bookable = on_grid and cell.start >= now and column.fits(minute, plan.shortest_minutes)
                    if on_grid:
                        turns.add(cell.start)
                cells[row][offset + lane] = cell
                above[(lane, lanes)] = (cell, row)
        offset += width
    return Grid([time(m // 60, m % 60) for m in rows], [p.key for p in plans], cells, outside, away,
                tuple(sorted(turns)), widths)
