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
from booking.scheduling.beds import (
    BedChoice,
    BedIndex,
    BedTaken,
    HandsOnProblem,
    Room,
    VisitShape,
    free_starts_with_beds,
    parse_hands_on,
)

__all__ = [
    "UTC",
    "BedChoice",
    "BedIndex",
    "BedTaken",
    "BookingRules",
    "HandsOnProblem",
    "Room",
    "VisitShape",
    "TimeRange",
    "WorkingInterval",
    "candidate_starts",
    "date_range",
    "free_starts",
    "free_starts_with_beds",
    "merge",
    "open_time",
    "parse_hands_on",
    "subtract",
    "to_instant",
    "wall_clock_instant",
]
