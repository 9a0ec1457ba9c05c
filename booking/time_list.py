"""A page of free times, as the booking journey and moving a visit show it, and the start time
a time button sends back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import request
from flask_babel import get_locale

from booking.clock import now
from booking.formatting import date_text, time_text
from booking.operations.availability import answer_key, load_clinic, times_by_day

DAYS_PER_PAGE = 7


def parse_instant(text: str | None) -> datetime | None:
    """A start time sent back by a time button; None for anything else (or absurd years)."""
    try:
        instant = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    if instant.utcoffset() is None or not 1900 <= instant.year <= 9000:
        return None
    return instant


def parse_first_day(text: str | None, today: date) -> date:
    """The first date of a time list page: ?from=YYYY-MM-DD, never before today."""
    try:
        chosen = date.fromisoformat(text or "")
    except ValueError:
        return today
    return max(chosen, today)


@dataclass(frozen=True)
class TimeButton:
    """One free time as its button shows it: the clinic's wall-clock time, and what it sends back."""

    value: str  # ISO 8601 with the clinic's offset, as the API writes times
    label: str  # "3:45 PM" in en_US, "15:45" in en_GB


@dataclass(frozen=True)
class DayOfTimes:
    """A clinic date of the list: its name ("Monday, March 8") and its free times, in order."""

    day: date
    name: str
    times: list[TimeButton]


def _buttons(days, zone, locale) -> list[DayOfTimes]:
    """The days' times written once here rather than through a template filter per button: a week
    holds a few hundred times, and a filter call each (with its lookups of the clinic and the
    page's locale) was most of the page's cost. Wall-clock times repeat from day to day, so each
    is formatted once."""
    labels: dict[time, str] = {}
    written = []
    for day in days:
        buttons = []
        for start in day.starts:
            local = start.astimezone(zone)
            wall = local.time()
            if wall not in labels:
                labels[wall] = time_text(wall, locale)
            buttons.append(TimeButton(local.isoformat(), labels[wall]))
        written.append(DayOfTimes(day.day, date_text(day.day, locale, "weekday"), buttons))
    return written


def _dates_shown(clinic, moment: datetime) -> tuple[date, date, date]:
    """Today, the page's first date (?from=, within what may be booked) and the last bookable date."""
    today = clinic.today(moment)
    last_day = today + timedelta(days=clinic.max_advance_days)
    return today, min(parse_first_day(request.args.get("from"), today), last_day), last_day


def page_key(clinic, service, practitioners, diaries: dict, moment: datetime) -> tuple:
    """What a page of online free times shows depends on, as far as the times go: the answer
    offered_slots keeps them under (the stamps, the clinic date, the notice's minute) for the
    page's dates. The caller adds what else its page shows."""
    _today, first_day, _last_day = _dates_shown(clinic, moment)
    return answer_key(clinic, service, practitioners, first_day, DAYS_PER_PAGE, moment, diaries)


def time_list_context(clinic, service, practitioners, *, ignoring=None, leave_out=None, diaries=None,
                      moment=None) -> dict:
    """What a page of free times needs: the days, and links to earlier and later dates.

    leave_out: which starts not to offer, as a function of the start (when moving a visit: its own
    time, and times when the patient has another visit).
    diaries: the diary stamps read with the catalogue, when `clinic` is one (availability.offered_slots).
    moment: the instant the page is for (now, unless the caller keyed a kept page to one).
    """
    # The clinic's row, which the page shows (its name, its phone), read once and held here: the
    # page's locale is chosen from it just below, and a row nobody holds is read again for the page.
    shown = load_clinic()
    moment = moment or now()
    today, first_day, last_day = _dates_shown(clinic, moment)
    days = times_by_day(clinic, service, practitioners, first_day, DAYS_PER_PAGE, moment, ignoring=ignoring,
                        diaries=diaries)
    for day in days:
        day.starts[:] = [start for start in day.starts if leave_out is None or not leave_out(start)]
    later = first_day + timedelta(days=DAYS_PER_PAGE)
    earlier = max(first_day - timedelta(days=DAYS_PER_PAGE), today)
    return {
        "clinic": shown,
        "days": _buttons([d for d in days if d.day <= last_day], clinic.zone, get_locale() or "en_US"),
        "later": later if later <= last_day else None,
        "earlier": earlier if first_day > today else None,
    }
