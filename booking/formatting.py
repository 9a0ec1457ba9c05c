"""How dates and times read to people: in the clinic's zone and locale, the zone named.

Babel does the reading (CLDR data): en_US gives "Monday, March 8, 2027, 3:45 PM", en_GB
"Monday, 8 March 2027, 15:45", es_US "lunes, 8 de marzo de 2027, 3:45 p.m.". Callers name a
*style*, never a strftime pattern, so one clinic setting changes every page, email and calendar
file at once.

Pure functions of their arguments (the clinic and locale are passed in), with no Flask and no
database; booking.web makes them template filters that use the page's locale.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_datetime_format

if TYPE_CHECKING:
    from booking.models import Clinic

# Date styles: how much of the date to say.
DATE_STYLES = {
    "full": "full",              # Monday, March 8, 2027 / lunes, 8 de marzo de 2027
    "long": "long",              # March 8, 2027
    "medium": "medium",          # Mar 8, 2027
    "short": "short",            # 3/8/27 (tables that are already dated)
}
# Skeletons (CLDR picks the order and punctuation for the locale).
DATE_SKELETONS = {
    "weekday_short": "MMMEd",    # Mon, Mar 8
    "month_day": "MMMd",         # Mar 8
    "month_year": "yMMMM",       # March 2027
    "weekday_year": "yMMMEd",    # Tue, Mar 16, 2027
}
# Date-and-time styles: (date style, how date and time join).
DATETIME_STYLES = {
    "long": ("full", "long"),        # Monday, March 8, 2027, 3:45 PM
    "medium": ("medium", "medium"),  # Mar 8, 2027, 3:45 PM
    "short": ("short", "short"),     # 3/8/27, 3:45 PM
    "seconds": ("medium", "medium"),  # Mar 8, 2027, 3:45:12 PM (logs read to the second)
}
# Styles whose time says its seconds.
TIME_WITH_SECONDS = {"seconds": "medium"}


def _tidy(text: str) -> str:
    # CLDR puts a narrow no-break space before AM/PM; a plain space reads the same in every
    # email client and font, and matches what people type when they search a page.
    return text.replace("\u202f", " ")


# The year, with what joins it to the rest of a full date pattern: ", y" (en_US), " y" (en_GB),
# " 'de' y" (es).
YEAR_IN_PATTERN = re.compile(r"[\s,]*(?:'de'\s*)?y+")


# Formatting is pure and a calendar page asks for the same few dozen times over and over (each
# row's time in every column, twice: grid and phone list): Babel's pattern work is done once per
# distinct (moment, locale, style) in a process, and kept for the next page.
FORMATTED_KEPT = 8192


@lru_cache(maxsize=FORMATTED_KEPT)
def date_text(day: date, locale: str | Locale, style: str = "full") -> str:
    """A calendar date: style is one of DATE_STYLES or DATE_SKELETONS, or "weekday": the full
    date without its year ("Monday, March 8"; "lunes, 8 de marzo"), for dates close at hand."""
    if style == "weekday":  # CLDR has no skeleton for a full weekday without the year
        pattern = YEAR_IN_PATTERN.sub("", Locale.parse(locale).date_formats["full"].pattern)
        return _tidy(format_date(day, pattern, locale=locale))
    if style in DATE_SKELETONS:
        return _tidy(format_skeleton(DATE_SKELETONS[style], day, locale=locale))
    return _tidy(format_date(day, DATE_STYLES[style], locale=locale))


def time_text(moment: time | datetime, locale: str | Locale) -> str:
    """A wall-clock time: "3:45 PM" in en_US, "15:45" in en_GB. A datetime is read as it stands
    (callers put it in the clinic's zone first: see clinic_time)."""
    # Kept by the wall-clock time alone: aware datetimes of one instant in two zones are equal
    # to Python, so keeping them by the datetime would give one zone's reading to the other.
    wall = moment.time() if isinstance(moment, datetime) else moment.replace(tzinfo=None)
    return _wall_time_text(wall, locale)


@lru_cache(maxsize=FORMATTED_KEPT)
def _wall_time_text(wall: time, locale: str | Locale) -> str:
    return _tidy(format_time(wall, "short", locale=locale))


def time_range(start: time | datetime, end: time | datetime, locale: str | Locale) -> str:
    """"9:00 AM–12:30 PM": two wall-clock times joined by an en dash."""
    return f"{time_text(start, locale)}–{time_text(end, locale)}"


def local_time(instant: datetime, clinic: Clinic, locale: str | Locale, style: str = "long") -> str:
    """A date and time as the clinic's wall clock, in `style` (DATETIME_STYLES), or just the
    time ("time") or just the date (any date style)."""
    return _local_time(instant, clinic.zone, locale, style)


@lru_cache(maxsize=FORMATTED_KEPT)
def _local_time(instant: datetime, zone, locale: str | Locale, style: str) -> str:
    local = instant.astimezone(zone)
    if style == "time":
        return time_text(local, locale)
    if style not in DATETIME_STYLES:
        return date_text(local.date(), locale, style)
    date_style, join_style = DATETIME_STYLES[style]
    # The date and the time are each kept on their own (a day's visits share the date, every day
    # the times): a moment formatted for the first time, as a new booking's history line is, then
    # costs two look-ups rather than Babel's pattern work.
    shown_time = (_tidy(format_time(local.time(), TIME_WITH_SECONDS[style], locale=locale))
                  if style in TIME_WITH_SECONDS else time_text(local, locale))
    return _joining(join_style, locale).replace("{1}", date_text(local.date(), locale, date_style)).replace(
        "{0}", shown_time)


@lru_cache(maxsize=64)
def _joining(style: str, locale: str | Locale) -> str:
    """CLDR's pattern joining a date ({1}) and a time ({0}), e.g. "{1} 'at' {0}", with its quotes
    (which mark literal text) read: "{1} at {0}"."""
    return _tidy(get_datetime_format(style, locale=locale).replace("''", "\0").replace("'", "").replace("\0", "'"))


def clinic_time(instant: datetime, clinic: Clinic, locale: str | Locale = "en_US", style: str = "long") -> str:
    """An instant as the clinic's wall-clock time, e.g. "Monday, March 8, 2027, 10:00 AM"."""
    return local_time(instant, clinic, locale, style)


def zone_abbreviation(instant: datetime, clinic: Clinic) -> str:
    """PDT, GMT, CET... at that instant; zones with no letters abbreviation ("-03") read UTC-03."""
    name = instant.astimezone(clinic.zone).tzname() or ""
    return name if name.isalpha() else f"UTC{name}"


def zone_label(clinic: Clinic) -> str:
    """"Los Angeles" for America/Los_Angeles: how people name a zone."""
    return clinic.timezone.rsplit("/", 1)[-1].replace("_", " ")


def email_time(instant: datetime, clinic: Clinic, locale: str | Locale = "en_US") -> str:
    """'Tue, Mar 16, 2027, 9:00 AM PDT': the clinic's wall-clock time, its zone named."""
    local = instant.astimezone(clinic.zone)
    day = date_text(local.date(), locale, "weekday_year")
    return f"{day}, {time_text(local, locale)} {zone_abbreviation(instant, clinic)}"


def birth_date(iso_date: str, locale: str | Locale = "en_US") -> str:
    """A stored YYYY-MM-DD date of birth as people write it, e.g. "June 7, 1980"."""
    return date_text(date.fromisoformat(iso_date), locale, "long")


def date_field_order(locale: str | Locale) -> tuple[str, ...]:
    """The order a locale writes a date's parts in, for forms that ask day, month and year
    separately: ("month", "day", "year") for en_US, ("day", "month", "year") for en_GB and es."""
    pattern = Locale.parse(locale).date_formats["short"].pattern
    positions = {"day": pattern.find("d"), "month": pattern.find("M"), "year": pattern.find("y")}
    return tuple(sorted(positions, key=positions.__getitem__))


def typed_date(day: date, locale: str | Locale) -> str:
    """A date as someone would type it into the separate day, month and year boxes, parts in
    the locale's order and joined the way it writes short dates: "3/27/1980" in en_US,
    "27/3/1980" in es_US, "27.3.1980" in de_DE. An example shown beside those boxes."""
    pattern = Locale.parse(locale).date_formats["short"].pattern
    separator = re.search(r"[dMy]+([^dMy]+)[dMy]", pattern)
    parts = {"day": day.day, "month": day.month, "year": day.year}
    joiner = (separator.group(1).strip() or " ") if separator else " "
    return joiner.join(str(parts[part]) for part in date_field_order(locale))


SENTENCE_ENDS = (".", "!", "?", "…")


def listed(words: list[str]) -> str:
    """'A', 'A and B', 'A, B and C': a list in a staff sentence (one or more words)."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def end_sentence(text: str) -> str:
    """Close a sentence with one full stop, even when it ends in a name that has one already:
    "Booked with Mei Lin, L.Ac." rather than "...L.Ac..". Markup stays Markup (templates)."""
    text = text.rstrip()
    return text if text.endswith(SENTENCE_ENDS) else text + "."


def counted(number: int, one: str, many: str | None = None) -> str:
    """A count with its noun in staff English: "1 appointment", "2 appointments" (never "appointment(s)",
    which staff pages said); `many` for a plural that is not the noun and an s ("1 entry", "2 entries")."""
    return f"{number} {one if number == 1 else many or one + 's'}"


# One dialable number: digits with the separators people write ("+1 (213) 555-0100"), an
# optional "(0)" that is dialled only from inside the country, and an optional extension.
_DIALABLE = re.compile(r"^\s*(?P<number>\+?[\d\s().\-]*\d[\d\s().\-]*?)\s*"
                       r"(?:(?:ext\.?|extension|x)\s*(?P<extension>\d{1,6}))?\s*$", re.IGNORECASE)


def tel_uri(number: str | None) -> str | None:
    """A phone number as a tap-to-call link (RFC 3966), or None when the text is not one number
    a phone could dial ("999 or 112", "(213) 555-CARE"): better shown as text than dialled wrong.
    "+1 213 555 0100 ext. 12" -> "tel:+12135550100;ext=12"; "+44 (0)20 7946 0000" -> "tel:+442079460000"."""
    found = _DIALABLE.match(number or "")
    if not found:
        return None
    text = found["number"]
    if text.startswith("+"):
        text = text.replace("(0)", "")  # the trunk prefix is not dialled from abroad
    if text.count("(") != text.count(")") or "+" in text[1:]:
        return None
    digits = re.sub(r"\D", "", text)
    if not 2 <= len(digits) <= 15:  # E.164 numbers have at most 15 digits; 911 and 112 have 3
        return None
    extension = f";ext={found['extension']}" if found["extension"] else ""
    return f"tel:{'+' if text.startswith('+') else ''}{digits}{extension}"
