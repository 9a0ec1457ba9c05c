"""Progress across visits: pain and function at each visit, and which changes matter. Pure.

Pain is the average over the last week (0-10, lower is better); function is the mean of
the patient's own activities (0-10, higher is better). A change counts as meaningful
when it reaches the instrument's threshold (2 points for both, clinical brief section 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from booking.measures.instrument import Number, exact, is_meaningful_change


@dataclass(frozen=True)
class Measured:
    """What one visit's questions recorded (function as stored: a float holding one decimal)."""

    day: date
    pain: Number | None
    function: Number | None


@dataclass(frozen=True)
class Change:
    amount: Decimal  # after minus before, exactly
    meaningful: bool
    better: bool


@dataclass(frozen=True)
class TrendPoint:
    day: date
    pain: Number | None
    function: Number | None
    pain_change: Change | None  # since the previous visit that recorded pain
    function_change: Change | None


def _change(before: Number | None, after: Number | None, threshold: Number | None,
            higher_is_better: bool) -> Change | None:
    if before is None or after is None:
        return None
    amount = exact(after) - exact(before)  # 2.3 - 0.3 is 2.0, not a float's 1.9999999999999998
    return Change(amount, is_meaningful_change(before, after, threshold),
                  amount > 0 if higher_is_better else amount < 0)


def trend(measured: Sequence[Measured], pain_threshold: Number | None,
          function_threshold: Number | None) -> list[TrendPoint]:
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
