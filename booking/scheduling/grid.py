"""The desk calendar's grid: rows of wall-clock time, a column per practitioner (or per day).

Pure like the rest of the core: hours, time off and appointments in, cells out. Row
edges are every slot step of each working period plus every edge of an appointment,
its buffer and time off, so each cell holds exactly one thing even when hours changed
after a booking was made. Runs of the same thing merge into one tall cell; free cells
stay one per row so each can start a booking.
"""

from __future__ import annotations

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
    items: tuple = ()  # BOOKED: the appointments in this block (more than one only if they overlap)
    start: datetime | None = None  # FREE: the instant the row begins (None inside a skipped hour)
    bookable: bool = False  # FREE: a start on the working grid, not in the past


@dataclass
class Grid:
    rows: list[time]  # the wall-clock start of each row
    columns: list[Hashable]
    cells: list[list[Cell | None]]  # [row][column]; None where a tall cell above covers it
    outside_hours: set = field(default_factory=set)  # items booked (partly) outside open time

    def row_cells(self):
        """(row start, [(column key, cell), ...]) with covered cells left out, for templates."""
        for start, cells in zip(self.rows, self.cells, strict=True):
            yield start, [(key, cell) for key, cell in zip(self.columns, cells, strict=True) if cell is not None]


def _minutes(instant: datetime, day: date, zone: ZoneInfo) -> int:
    """Wall-clock minutes from the start of `day` (clipped to the day)."""
    local = instant.astimezone(zone)
    minutes = (local.date() - day).days * DAY_MINUTES + local.hour * 60 + local.minute
    return min(max(minutes, 0), DAY_MINUTES)


@dataclass
class _Column:
    """One column in wall-clock minutes."""

    working: list[tuple[int, int]]
    grid: set[int]
    time_off: list[tuple[int, int]]
    blocks: list[tuple[int, int, tuple]]  # merged [start, end) with their items
    buffers: list[tuple[int, int]]


def _in(spans, minute: int) -> bool:
    return any(start <= minute < end for start, end, *_ in spans)


def _column(plan: ColumnPlan, step: int, zone: ZoneInfo) -> tuple[_Column, set]:
    working, grid = [], set()
    for interval in plan.hours:
        if interval.weekday != plan.day.weekday():
            continue
        start = interval.start.hour * 60 + interval.start.minute
        end = interval.end.hour * 60 + interval.end.minute
        working.append((start, end))
        grid.update(range(start, end, step))
    time_off = [(_minutes(r.start, plan.day, zone), _minutes(r.end, plan.day, zone)) for r in plan.time_off]
    blocks: list[list] = []
    buffers, outside = [], set()
    for booked in sorted(plan.booked, key=lambda b: (b.start, b.end)):
        start, end = _minutes(booked.start, plan.day, zone), _minutes(booked.end, plan.day, zone)
        buffers.append((end, _minutes(booked.occupied_until, plan.day, zone)))
        open_for_it = any(ws <= start and end <= we for ws, we in working) and not any(
            s < end and start < e for s, e in time_off
        )
        if not open_for_it:
            outside.add(booked.item)
        if blocks and start < blocks[-1][1]:
            blocks[-1][1] = max(blocks[-1][1], end)
            blocks[-1][2] += (booked.item,)
        else:
            blocks.append([start, max(end, start + 1), (booked.item,)])
    return _Column(working, grid, time_off, [tuple(b) for b in blocks], buffers), outside


def _kind(column: _Column, minute: int) -> str:
    if _in(column.blocks, minute):
        return BOOKED
    if _in(column.buffers, minute):
        return BUFFER
    if _in(column.time_off, minute):
        return TIME_OFF
    if _in(column.working, minute):
        return FREE
    return CLOSED


def lay_out(plans: Sequence[ColumnPlan], step_minutes: int, zone: ZoneInfo, now: datetime) -> Grid:
    """The grid for these columns; no rows at all when nobody works and nothing is booked."""
    columns, outside = [], set()
    for plan in plans:
        column, off_hours = _column(plan, step_minutes, zone)
        columns.append(column)
        outside |= off_hours
    edges: set[int] = set()
    for column in columns:
        edges |= column.grid
        for start, end, *_ in column.working + column.blocks + column.buffers:
            edges |= {start, end}
    if not edges:
        return Grid([], [p.key for p in plans], [], outside)
    first, last = min(edges), max(edges)
    for column in columns:
        edges |= {edge for span in column.time_off for edge in span if first < edge < last}
    rows = sorted(edge for edge in edges if edge < last)

    cells: list[list[Cell | None]] = [[None] * len(plans) for _ in rows]
    for index, (plan, column) in enumerate(zip(plans, columns, strict=True)):
        above: Cell | None = None
        above_block = None
        for row, minute in enumerate(rows):
            kind = _kind(column, minute)
            block = next((b for b in column.blocks if b[0] <= minute < b[1]), None) if kind == BOOKED else None
            if above is not None and kind == above.kind and kind != FREE and block == above_block:
                above.rowspan += 1
                continue
            cell = Cell(kind, items=block[2] if block else ())
            if kind == FREE:
                cell.start = to_instant(plan.day, time(minute // 60, minute % 60), zone)
                cell.bookable = cell.start is not None and minute in column.grid and cell.start >= now
            cells[row][index] = above = cell
            above_block = block
    return Grid([time(m // 60, m % 60) for m in rows], [p.key for p in plans], cells, outside)
