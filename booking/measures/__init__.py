"""Clinical measures: instruments defined as data files, scored by pure functions."""

from pathlib import Path

from booking.measures.instrument import (
    Instrument,
    InstrumentError,
    Score,
    exact,
    is_meaningful_change,
    load_instrument,
    load_instruments,
    load_licensed_instruments,
    parse_instrument,
)

SHIPPED = Path(__file__).resolve().parent / "instruments"

__all__ = [
    "SHIPPED",
    "Instrument",
    "InstrumentError",
    "Score",
    "exact",
    "is_meaningful_change",
    "load_instrument",
    "load_instruments",
    "load_licensed_instruments",
    "parse_instrument",
]
