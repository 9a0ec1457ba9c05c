"""What the clinic's settings, services and practitioners may hold.

One place for the limits, read by the clinic file's checks, the admin pages and the
models' check constraints, so that a value one of them accepts the others accept too.
The migrations hold the ranges as they were when made: changing one here needs a migration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.languages import get_official_languages

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Characters no clinic text holds (PostgreSQL refuses NUL in text); tabs and line ends are fine.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SLUG_LENGTH = 60
NAME_LENGTH = 120
ZONE_LENGTH = 64
PHONE_LENGTH = 40
EMERGENCY_NUMBER_LENGTH = 20
DESCRIPTION_LENGTH = 2000
BIO_LENGTH = 4000


@dataclass(frozen=True)
class Limit:
    """A whole number's range, and how a person names it ("Slot step", "minutes")."""

    label: str
    low: int
    high: int
    unit: str
    default: int | None = None

    def __contains__(self, value: int) -> bool:
        return self.low <= value <= self.high

    @property
    def out_of_range(self) -> str:
        return f"{self.label} must be between {self.low} and {self.high} {self.unit}"


# The clinic's booking rules, by their names in the clinic file and on the Clinic model.
CLINIC_NUMBERS = {
    "slot_step_minutes": Limit("Slot step", 5, 240, "minutes", default=15),
    "min_notice_hours": Limit("Minimum notice", 0, 24 * 30, "hours", default=12),
    "max_advance_days": Limit("Booking ahead", 1, 730, "days", default=60),
    "cancellation_notice_hours": Limit("Cancellation notice", 0, 24 * 30, "hours", default=24),
    "reminder_hours": Limit("Reminder", 0, 24 * 7, "hours", default=24),
    # Years a patient's records are kept after their last visit (README: Patients' data).
    "retention_years": Limit("Record retention", 1, 100, "years", default=10),
    # How long a waitlist offer holds before the next people on the list are asked.
    "waitlist_offer_hours": Limit("Waitlist offer", 1, 72, "hours", default=4),
}
SERVICE_MINUTES = Limit("Length", 5, 480, "minutes")
BUFFER_MINUTES = Limit("Buffer", 0, 240, "minutes", default=0)
# Beds in one room: one for a private room; a community room seats a dozen or so.
ROOM_BEDS = Limit("Beds", 1, 40, "beds", default=1)
# The longest time one visit can hold: a query for visits touching a window needs no history older
# than this before the window, so it reads a bounded stretch of the index however old the clinic.
LONGEST_VISIT_MINUTES = SERVICE_MINUTES.high + BUFFER_MINUTES.high


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_known_zone(name: str | None) -> bool:
    """Is this an IANA time zone name (America/Los_Angeles) that zoneinfo knows?"""
    return bool(name) and name in _zones()


# The clinic's region: an ISO 3166 country code, read from the tzdata package's tables.
REGION_LENGTH = 2
DEFAULT_REGION = "US"


def _tzdata_table(name: str) -> list[list[str]]:
    """The rows of one of tzdata's tab-separated tables, without comments."""
    text = files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _regions() -> frozenset[str]:
    return frozenset(row[0] for row in _tzdata_table("iso3166.tab"))


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    return {row[2]: row[0] for row in _tzdata_table("zone.tab")}


@lru_cache(maxsize=1)
def _countries_of_zones() -> dict[str, frozenset[str]]:
    """Each zone -> every country using it: zone.tab names one per zone (a country's own, links
    included: Europe/Copenhagen), zone1970.tab every country sharing a zone (Europe/Berlin: DE, DK...)."""
    found: dict[str, set[str]] = {}
    for row in _tzdata_table("zone.tab"):
        found.setdefault(row[2], set()).add(row[0])
    for row in _tzdata_table("zone1970.tab"):
        found.setdefault(row[2], set()).update(row[0].split(","))
    # A link is its target's zone under another name (Europe/Jersey is Europe/London; so is
    # GB): every country of the target uses it too. tzdata.zi writes them "L TARGET LINK".
    text = files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text(encoding="utf-8")
    for _, target, link in (line.split() for line in text.splitlines() if line.startswith("L ")):
        found.setdefault(link, set()).update(found.get(target, ()))
    return {zone: frozenset(countries) for zone, countries in found.items() if countries}


def zone_countries(zone: str | None) -> frozenset[str]:
    """The countries that use a time zone (Europe/London -> GB, GG, IM, JE), itself or under another
    name; none for zones of no one country (UTC, Etc/GMT+5), which are not checked against one."""
    return _countries_of_zones().get(zone or "", frozenset())


def zones_of(region: str) -> list[str]:
    """A country's own time zones, as tzdata lists them (the most populous first, mostly)."""
    return [row[2] for row in _tzdata_table("zone.tab") if row[0] == region]


def is_known_region(code: str | None) -> bool:
    """Is this an ISO 3166 two-letter country code in upper case ("US", "GB")?"""
    return bool(code) and code in _regions()


def zone_region(zone: str | None) -> str:
    """The country of a time zone (America/Los_Angeles -> US), or the default for zones of no
    one country (UTC) and old aliases."""
    return _zone_countries().get(zone or "", DEFAULT_REGION)


# The clinic's locale: how dates, times and numbers read (Babel, CLDR data).
DEFAULT_LOCALE = "en_US"
LOCALE_LENGTH = 16  # the Clinic.locale column
# Named on the settings page; any other that Babel knows may be typed.
SUGGESTED_LOCALES = ("en_US", "en_GB", "en_CA", "en_AU", "es_US", "es_ES", "es_MX")


def clinic_locale(text: str | None) -> str | None:
    """A locale as the clinic stores it ("en_US"), from what was typed ("en_us", "en-US"), or
    None when Babel does not know it or it names no country (dates read differently per country,
    so "en" alone cannot say how they should)."""
    text = (text or "").strip().replace("-", "_")
    if not text or len(text) > 32:
        return None
    try:
        locale = Locale.parse(text)
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    territory, code = locale.territory or "", str(locale)
    return code if len(territory) == 2 and territory.isalpha() and len(code) <= LOCALE_LENGTH else None


def names_no_country(text: str | None) -> bool:
    """Is this a language Babel knows, written without the country a clinic's locale needs ("en")?"""
    text = (text or "").strip()
    if not text.isalpha() or len(text) > 8:
        return False
    try:
        locale = Locale.parse(text)
    except (ValueError, UnknownLocaleError):
        return False
    return locale.territory is None and locale.language != "root"


def default_locale(region: str | None) -> str:
    """The locale of a country when the clinic names none: English where it is an official
    language there (en_US, en_GB, en_CA), else the first official one (es_ES, de_DE)."""
    region = (region or "").upper()
    if not is_known_region(region):
        return DEFAULT_LOCALE
    official = list(get_official_languages(region, de_facto=True))
    for language in sorted(official, key=lambda language: language != "en"):
        found = clinic_locale(f"{language}_{region}")
        if found:
            return found
    return clinic_locale(f"en_{region}") or DEFAULT_LOCALE


def locale_examples(region: str | None, language: str | None = None) -> list[str]:
    """Locales worth suggesting to a clinic in `region` that typed a wrong one: with a language
    ("es"), that language as written in the clinic's country ("es_US"), else where it is mostly
    written ("fr_FR", for a US clinic: Babel has no fr_US); without one, the country's own locale
    and Spanish there where Babel has it ("en_US", "es_US"), so a US clinic is not told "es_GB"."""
    region = (region or "").upper() if is_known_region((region or "").upper()) else "US"
    if language:
        language = language.strip().lower()
        likely = get_global("likely_subtags").get(language, "")
        found = clinic_locale(f"{language}_{region}") or clinic_locale(
            "_".join(part for part in likely.split("_") if len(part) != 4))  # fr_Latn_FR -> fr_FR
        return [found] if found else [default_locale(region)]
    found = [default_locale(region), *(clinic_locale(f"{code}_{region}") for code in ("en", "es"))]
    return list(dict.fromkeys(code for code in found if code))


def locale_name(code: str) -> str:
    """How a staff page names a locale: "en_GB" -> "English (United Kingdom)"."""
    return Locale.parse(code).get_display_name("en")


# Record ids beyond this exist nowhere and would overflow the databases' integers.
MAX_ID = 2**31 - 1
