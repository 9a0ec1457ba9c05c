"""Progress across visits: pain and function at each visit, and which changes matter. Pure.

Pain is the average over the last week (0-10, lower is better); function is the mean of
the patient's own activities (0-10, higher is better). A change counts as meaningful
when it reaches the instrument's threshold (2 points for both, clinical brief section 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from booking.measures.instrument import is_meaningful_change


@dataclass(frozen=True)
class Measured:
    """What one visit's questions recorded."""

    day: date
    pain: float | None
    function: float | None


@dataclass(frozen=True)
class Change:
    amount: float  # after minus before
    meaningful: bool
    better: bool


@dataclass(frozen=True)
class TrendPoint:
    day: date
    pain: float | None
    function: float | None
    pain_change: Change | None  # since the previous visit that recorded pain
    function_change: Change | None


def _change(before: float | None, after: float | None, threshold: float | None, higher_is_better: bool) -> Change | None:
    if before is None or after is None:
        return None
    amount = round(after - before, 1)
    return Change(amount, is_meaningful_change(before, after, threshold),
                  amount > 0 if higher_is_better else amount < 0)


def trend(measured: Sequence[Measured], pain_threshold: float | None, function_threshold: float | None) -> list[TrendPoint]:
    """Each visit with its change since the last visit that measured the same thing."""
    points = []
    last_pain = last_function = None
    for visit in measured:
        points.append(TrendPoint(
            visit.day, visit.pain, visit.function,
            _change(last_pain, visit.pain, pain_threshold, higher_is_better=False),
            _change(last_function, visit.function, function_threshold, higher_is_better=True),
        ))
        last_pain = visit.pain if visit.pain is not None else last_pain
        last_function = visit.function if visit.function is not None else last_function
    return points
