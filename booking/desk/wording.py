"""How the desk says a span of time off in a few words, from the clinic's locale (Babel, through
booking.formatting): "Fri, Dec 24 – Tue, Dec 28 (all day)", "Thu, Mar 11 until 12:00 PM".

Time off is stored as [start, end) instants; a whole day ends at the next midnight. Read aloud,
that midnight is the end of the day before ("through Tuesday"), never "until 12:00 AM
Wednesday" or "End of Tue", and a span from midnight starts with its day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from babel import Locale

from booking.formatting import date_text, time_range, time_text


def time_off_when(starts: datetime, ends: datetime, locale: str | Locale, today: date) -> str:
    """Local wall-clock start and end (in the clinic's zone) in words; dates carry their year
    only when the span reaches outside this year."""
    start_of_day, end_of_day = starts.time() == time(0), ends.time() == time(0)
    first = starts.date()
    last = ends.date() - timedelta(days=1) if end_of_day else ends.date()
    style = "weekday_short" if first.year == last.year == today.year else "weekday_year"

    def day(value: date) -> str:
        return date_text(value, locale, style)

    if start_of_day and end_of_day:
        return f"{day(first)} (all day)" if first == last else f"{day(first)} – {day(last)} (all day)"
    if first == last:
        if start_of_day:
            return f"{day(first)} until {time_text(ends, locale)}"
        if end_of_day:
            return f"{day(first)} from {time_text(starts, locale)}"
        return f"{day(first)}, {time_range(starts, ends, locale)}"
    beginning = day(first) if start_of_day else f"{day(first)} from {time_text(starts, locale)}"
    ending = day(last) if end_of_day else f"{day(last)} until {time_text(ends, locale)}"
    return f"{beginning} – {ending}"
