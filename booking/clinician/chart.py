"""A small line chart of pain and function across visits, laid out for an inline SVG. Pure.

Visits are spaced evenly (the order matters more than the gaps between dates); both
measures share one 0-10 scale. Markers differ in shape and the lines in dash as well as
colour, so the chart reads in greyscale and on paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from booking.formatting import date_text
from booking.measures.progress import Change, TrendPoint

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 90, 12, 30  # room for the axis labels and the line names
LABEL_GAP = 15  # the least distance between the two line names


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    value: float
    change: Change | None


@dataclass(frozen=True)
class Line:
    key: str  # pain or function
    label: str
    markers: list[Marker]
    label_y: float = 0  # where its name goes, right of its last marker


    @property
    def points(self) -> str:
        """The SVG polyline's points attribute."""
        return " ".join(f"{m.x:.1f},{m.y:.1f}" for m in self.markers)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right_edge: int
    top: int
    bottom_edge: int
    y_ticks: list[tuple[float, int]]  # (y, value)
    x_labels: list[tuple[float, str]]  # (x, date as the locale writes it: "Mar 8")
    lines: list[Line]


def lay_out_chart(points: Sequence[TrendPoint], locale: str = "en_US") -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (plot_width / 2 if len(points) == 1 else index * plot_width / (len(points) - 1))

    def y(value: float) -> float:
        return TOP + plot_height * (1 - value / 10)

    lines = []
    for key, label in (("pain", "Pain"), ("function", "Function")):
        markers = [Marker(x(i), y(getattr(p, key)), getattr(p, key), getattr(p, f"{key}_change"))
                   for i, p in enumerate(points) if getattr(p, key) is not None]
        lines.append(Line(key, label, markers))
    ends = [line for line in lines if line.markers]
    label_ys = [line.markers[-1].y + 4 for line in ends]
    if len(label_ys) == 2 and abs(label_ys[0] - label_ys[1]) < LABEL_GAP:  # lines end together: part the names
        middle = sum(label_ys) / 2
        upper_first = label_ys[0] <= label_ys[1]
        label_ys = [middle - LABEL_GAP / 2, middle + LABEL_GAP / 2][:: 1 if upper_first else -1]
    lines = [Line(line.key, line.label, line.markers, label_y) for line, label_y in zip(ends, label_ys, strict=True)]
    return Chart(
        width=WIDTH, height=HEIGHT, left=LEFT, right_edge=WIDTH - RIGHT, top=TOP, bottom_edge=HEIGHT - BOTTOM,
        y_ticks=[(y(v), v) for v in (0, 2, 4, 6, 8, 10)],
        x_labels=[(x(i), date_text(p.day, locale, "month_day")) for i, p in enumerate(points)],
        lines=lines,
    )
