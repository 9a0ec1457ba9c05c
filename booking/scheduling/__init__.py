"""The pure scheduling core: time ranges and working hours to free start times."""

from booking.scheduling.core import (
    UTC,
    BookingRules,
    TimeRange,
    WorkingInterval,
    candidate_starts,
    date_range,
    free_starts,
    merge,
    open_time,
    subtract,
    to_instant,
    wall_clock_instant,
)

__all__ = [
    "UTC",
    "BookingRules",
    "TimeRange",
    "WorkingInterval",
    "candidate_starts",
    "date_range",
    "free_starts",
    "merge",
    "open_time",
    "subtract",
    "to_instant",
    "wall_clock_instant",
]
