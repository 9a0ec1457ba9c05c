"""The clinic file (TOML): read and check it whole, then import it in one transaction.

Checking comes first and touches nothing, so a bad file imports nothing; every
problem is reported with the line it is on.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import tomli_w

from booking import clock, identifiers, limits
from booking.extensions import db
from booking.transaction import write_transaction
from booking.limits import CONTROL_CHARACTER, SLUG, Limit
from booking.i18n import catalog_languages
from booking.models import (ADDRESS_COLUMNS, Clinic, Practitioner, Room, Service, TimeOff, WorkingHours, column_length,
                            stored_versions)
from booking.operations.beds import bed_for_each_visit_booked_without, beds_in_use_above, lock_beds
from booking.scheduling import HandsOnProblem, parse_hands_on, wall_clock_instant
from booking.validation import (CLINIC_NUMBERS_TO_CALL, EMAIL_LIMIT, clean_email, is_emergency_number,
                                region_contradictions)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
LOCAL_DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class ClinicFileError(Exception):
    """A clinic file that cannot be imported; `problems` lists each one with its line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# Texts in the clinic's other languages, as a file gives them: language -> field -> text, where
# "" removes that version and a field or language left out keeps what is stored.
Versions = dict[str, dict[str, str]]


@dataclass
class ServicePlan:
    slug: str
    name: str
    minutes: int
    # None, for each of these: the file leaves it out, so an existing service keeps what it has
    # and a new one takes the column's default (no buffer, open to all, no description, active).
    buffer_minutes: int | None = None
    new_patients_only: bool | None = None
    description: str | None = None
    is_active: bool | None = None
    translations: Versions = field(default_factory=dict)
    # [[start, end], ...] from scheduling.beds.parse_hands_on; [] (hands_on = []) clears them, so
    # the practitioner stays for the whole visit. None: the file leaves them out, and they stay.
    hands_on: list | None = None
    needs_bed: bool | None = None
    needs_bed_line: int = 1  # where the file says so, for a refusal the stored visits make


@dataclass
class RoomPlan:
    slug: str
    name: str
    beds: int
    is_active: bool | None = None  # None: as it is (a new room is in use)
    translations: Versions = field(default_factory=dict)
    beds_line: int = 1  # where the file gives its beds, for a refusal the stored visits make


@dataclass
class PractitionerPlan:
    slug: str
    name: str
    bio: str | None = None  # None: leave as it is
    npi: str | None = None  # None: leave as it is; "" clears it
    license_number: str | None = None  # None: leave as it is; "" clears it
    is_active: bool | None = None  # None: leave as it is (a new one is active)
    services: list[str] | None = None  # None: leave as they are
    hours: dict[int, list[tuple[time, time]]] | None = None  # None: leave as they are
    translations: Versions = field(default_factory=dict)


@dataclass
class TimeOffPlan:
    practitioner: str
    starts_at: datetime  # UTC, from the clinic's wall-clock time in the file
    ends_at: datetime
    reason: str = ""


@dataclass
class ClinicPlan:
    """A checked clinic file, ready to write."""

    clinic: dict | None = None
    # The [clinic] keys the file leaves out: an existing clinic keeps what it has for them, a new
    # one takes the values in `clinic`, which are the defaults.
    clinic_left_out: set[str] = field(default_factory=set)
    clinic_translations: Versions = field(default_factory=dict)  # [clinic.address.es] directions
    services: list[ServicePlan] = field(default_factory=list)
    rooms: list[RoomPlan] = field(default_factory=list)
    practitioners: list[PractitionerPlan] = field(default_factory=list)
    time_off: list[TimeOffPlan] = field(default_factory=list)


def key_lines(text: str) -> dict[tuple, int]:
    """Where each table and key of a TOML text is, as path -> line number (1-based).

    tomllib reports no positions for values, so the text is scanned line by line;
    paths count arrays of tables, e.g. ("practitioners", 1, "hours", "mon").
    """
    lines: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    current: tuple = ()

    def resolve(parts: list[str]) -> tuple:
        path: tuple = ()
        for part in parts:
            path += (part,)
            if path in counts:
                path += (counts[path],)
        return path

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            parts = [p.strip().strip('"') for p in line[2:line.find("]]")].split(".")]
            parent = resolve(parts[:-1])
            key = parent + (parts[-1],)
            counts[key] = counts.get(key, -1) + 1
            current = key + (counts[key],)
            lines[current] = number
        elif line.startswith("["):
            parts = [p.strip().strip('"') for p in line[1:line.find("]")].split(".")]
            current = resolve(parts)
            lines.setdefault(current, number)
        elif "=" in line:
            key = line.split("=", 1)[0].strip()
            path = current + tuple(p.strip().strip('"') for p in key.split("."))
            lines.setdefault(path, number)
    return lines


class _Checker:
    """Collects problems, each placed on the nearest line known for its path."""

    def __init__(self, filename: str, text: str):
        self.filename = filename
        self.lines = key_lines(text)
        self.problems: list[str] = []

    def problem(self, path: tuple, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        shown = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
        self.problems.append(f"{self.filename}:{line}: {shown}: {message}")

    def unknown_keys(self, table: dict, known: set[str], path: tuple) -> None:
        for key in table:
            if key not in known:
                self.problem(path + (key,), f"unknown key (expected one of: {', '.join(sorted(known))})")

    def text(self, table: dict, key: str, path: tuple, *, required=True, limit=120, default: str | None = ""):
        value = table.get(key)
        if value is None:
            if required:
                self.problem(path + (key,), "is missing")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(path + (key,), "must be a non-empty text in quotes")
            return default
        if len(value) > limit:
            self.problem(path + (key,), f"is longer than {limit} characters")
            return default
        if CONTROL_CHARACTER.search(value):
            self.problem(path + (key,), "holds a control character, which no text here may: type it again")
            return default
        return value.strip()

    def number_to_call(self, table: dict, key: str, path: tuple, limit: int) -> str:
        """The clinic's phone or emergency number, as admin.update_clinic checks it."""
        value = self.text(table, key, path, limit=limit)
        _what, fits, form = CLINIC_NUMBERS_TO_CALL[key]
        if value and not fits(value):
            self.problem(path + (key,), f"must be {form}")
        return value

    def identifier(self, table: dict, key: str, path: tuple, clean) -> str | None:
        """An optional identifier for the insurer's receipt (booking.identifiers): None when the
        key is left out, "" when it is written empty (to clear it)."""
        value = self.text(table, key, path, required=False, limit=200, default=None)
        if value is None or not value:
            return value
        cleaned, problem = clean(value)
        if problem:
            self.problem(path + (key,), problem)
        return cleaned

    def whole_number(self, table: dict, key: str, path: tuple, limit: Limit):
        value = table.get(key, limit.default)
        low, high = limit.low, limit.high
        if value is None:
            self.problem(path + (key,), "is missing")
            return low
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path + (key,), f"must be a whole number, not {value!r}")
            return low
        if not low <= value <= high:
            self.problem(path + (key,), f"must be between {low} and {high}, not {value}")
        return value

    def flag(self, table: dict, key: str, path: tuple, default: bool | None) -> bool | None:
        value = table.get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, bool):
            self.problem(path + (key,), f"must be true or false, not {value!r}")
            return default
        return value

    def versions(self, table: dict, texts: dict[str, int], path: tuple, languages: list[str]) -> Versions:
        """A row's tables of texts in the clinic's other languages ([services.es] name = "...");
        texts: the fields that may have versions -> the longest each may be. Takes the language
        tables out of `table`, so its own keys are checked apart from them."""
        versions: Versions = {}
        for key in [key for key, value in table.items() if isinstance(value, dict) and key not in ("hours",)]:
            language, given = key, table.pop(key)
            where = path + (language,)
            if languages and language == languages[0]:
                self.problem(where, f"{language!r} is the clinic's own language (the first of its languages): write "
                                    "these texts in the table itself")
                continue
            if language not in languages:
                others = ", ".join(languages[1:]) or f"none: it offers only {languages[0]}"
                self.problem(where, f"{language!r} is not one of the clinic's other languages ({others}): a table "
                                    "here holds texts in one of them; add the language to [clinic] languages first")
                continue
            self.unknown_keys(given, set(texts), where)
            written = {name: self.text(given, name, where, required=False, limit=limit, default=None)
                       for name, limit in texts.items()}
            versions[language] = {name: text for name, text in written.items() if text is not None}
        return versions

    def slug(self, table: dict, path: tuple) -> str:
        value = self.text(table, "slug", path, limit=limits.SLUG_LENGTH)
        if value and not SLUG.match(value):
            self.problem(path + ("slug",), f"{value!r} must be lower-case letters, digits and single hyphens")
        return value

    def tables(self, document: dict, key: str) -> list[dict]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problem((key,), f"must be written as [[{key}]] tables")
            return []
        return value


def parse_clock_time(text: str) -> time:
    """'09:30' -> time(9, 30); anything but a 24-hour HH:MM raises ValueError."""
    match = CLOCK_TIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a time of day (use HH:MM from 00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def parse_interval(text: str) -> tuple[time, time]:
    """'09:00-12:30' -> (09:00, 12:30), refusing intervals that end before they start."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"{text!r} is not an interval (use \"HH:MM-HH:MM\", e.g. \"09:00-12:30\")")
    start_text, end_text = text.split("-")
    start, end = parse_clock_time(start_text), parse_clock_time(end_text)
    if not start < end:
        raise ValueError(f"{text!r} ends before it starts (intervals cannot run past midnight)")
    return start, end


def parse_weekly_hours(table, path: tuple, check: _Checker) -> dict[int, list[tuple[time, time]]]:
    """The [practitioners.hours] table -> weekday number -> sorted intervals."""
    if not isinstance(table, dict):
        check.problem(path, "must be a table of weekday = [\"HH:MM-HH:MM\", ...]")
        return {}
    check.unknown_keys(table, set(WEEKDAYS), path)
    hours: dict[int, list[tuple[time, time]]] = {}
    for weekday, name in enumerate(WEEKDAYS):
        entries = table.get(name)
        if entries is None:
            continue
        if isinstance(entries, str):
            entries = [entries]
        if not isinstance(entries, list):
            check.problem(path + (name,), "must be a list of \"HH:MM-HH:MM\" intervals")
            continue
        intervals = []
        for entry in entries:
            try:
                intervals.append(parse_interval(entry))
            except ValueError as error:
                check.problem(path + (name,), str(error))
        intervals.sort()
        for (_, earlier_end), (later_start, _) in zip(intervals, intervals[1:], strict=False):
            if later_start < earlier_end:
                check.problem(
                    path + (name,),
                    f"intervals overlap: one ends at {earlier_end:%H:%M} after the next starts at {later_start:%H:%M}",
                )
        hours[weekday] = intervals
    return hours


def parse_local_datetime(value, path: tuple, check: _Checker) -> datetime | None:
    """A clinic wall-clock time written as "YYYY-MM-DDTHH:MM" (quoted or a TOML local datetime)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(second=0, microsecond=0)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    if isinstance(value, str):
        for pattern in (LOCAL_DATETIME_FORMAT, "%Y-%m-%d"):
            try:
                return datetime.strptime(value.strip(), pattern)
            except ValueError:
                pass
    shown = value.isoformat() if isinstance(value, (date, datetime)) else repr(value)
    check.problem(path, f"{shown} is not a local date and time (use \"YYYY-MM-DDTHH:MM\" in the clinic's zone, no offset)")
    return None


def read_clinic_file(
    text: str, filename: str, *, known_services=(), known_practitioners=(), known_zone: str | None = None,
    known_languages: list[str] | None = None, known_rooms=(), known_hands_on: dict | None = None,
    known_country: tuple | None = None,
) -> ClinicPlan:
    """Check a whole clinic file and return what it asks for, or raise ClinicFileError.

    known_services / known_practitioners / known_rooms: slugs already in the database, which the
    file may refer to without defining them again; known_zone and known_languages: the
    clinic's zone and languages when the file does not name them; known_hands_on: the stored
    hands-on parts of services that have them (slug -> [[start, end], ...]), which a service
    leaving hands_on out keeps, so they must still fit its minutes; known_country: the stored
    clinic's region, address country and locale, which a file leaving them out keeps, so they must
    still agree with what it gives.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ClinicFileError([f"{filename}: not valid TOML: {error}"]) from None

    check = _Checker(filename, text)
    check.unknown_keys(document, {"clinic", "services", "rooms", "practitioners", "time_off"}, ())
    plan = ClinicPlan()

    languages = list(known_languages or ["en"])
    if "clinic" in document:
        plan.clinic, plan.clinic_left_out, plan.clinic_translations = _read_clinic(
            document["clinic"], check, languages, known_country)
        if "languages" in plan.clinic and "languages" not in plan.clinic_left_out:
            languages = plan.clinic["languages"]

    service_slugs = set(known_services)
    for index, table in enumerate(check.tables(document, "services")):
        path = ("services", index)
        table = dict(table)
        versions = check.versions(table, {"name": limits.NAME_LENGTH, "description": limits.DESCRIPTION_LENGTH},
                                  path, languages)
        check.unknown_keys(table, {"slug", "name", "minutes", "buffer_minutes", "new_patients_only", "description",
                                   "active", "hands_on", "needs_bed"}, path)
        service = ServicePlan(
            slug=check.slug(table, path),
            name=check.text(table, "name", path, limit=limits.NAME_LENGTH),
            minutes=check.whole_number(table, "minutes", path, limits.SERVICE_MINUTES),
            buffer_minutes=(check.whole_number(table, "buffer_minutes", path, limits.BUFFER_MINUTES)
                            if "buffer_minutes" in table else None),
            new_patients_only=check.flag(table, "new_patients_only", path, None),
            description=check.text(table, "description", path, required=False, limit=limits.DESCRIPTION_LENGTH,
                                   default=None),
            is_active=check.flag(table, "active", path, None),
            translations=versions,
            needs_bed=check.flag(table, "needs_bed", path, None),
            needs_bed_line=check.lines.get(path + ("needs_bed",), check.lines.get(path, 1)),
        )
        if table.get("hands_on") == []:
            service.hands_on = []  # the practitioner stays for the whole visit again
        elif "hands_on" in table:
            try:
                service.hands_on = [list(part) for part in parse_hands_on(table["hands_on"], service.minutes)]
            except HandsOnProblem as problem:
                for message in problem.problems:
                    check.problem(path + ("hands_on",), message)
        elif (known_hands_on or {}).get(service.slug):
            # The parts stay as stored: a shorter visit they no longer fit in could not be booked or
            # shown at all (every page reads each service's shape), so it is refused here.
            kept = [f"{start}-{end}" for start, end in known_hands_on[service.slug]]
            try:
                parse_hands_on(kept, service.minutes)
            except HandsOnProblem:
                check.problem(path + ("minutes",), (
                    f"the service keeps its hands-on parts {', '.join(kept)} (hands_on is left out), and they do "
                    f"not fit in {service.minutes} minutes: give hands_on for the new length, or "
                    "hands_on = [] for none"))
        if service.slug in {s.slug for s in plan.services}:
            check.problem(path + ("slug",), f"service {service.slug!r} is defined twice")
        plan.services.append(service)
        if SLUG.match(service.slug):
            service_slugs.add(service.slug)

    room_slugs = set(known_rooms)
    for index, table in enumerate(check.tables(document, "rooms")):
        path = ("rooms", index)
        table = dict(table)
        versions = check.versions(table, {"name": limits.NAME_LENGTH}, path, languages)
        check.unknown_keys(table, {"slug", "name", "beds", "active"}, path)
        room = RoomPlan(slug=check.slug(table, path), name=check.text(table, "name", path, limit=limits.NAME_LENGTH),
                        beds=check.whole_number(table, "beds", path, limits.ROOM_BEDS),
                        is_active=check.flag(table, "active", path, None), translations=versions,
                        beds_line=check.lines.get(path + ("beds",), check.lines.get(path, 1)))
        if room.slug in {r.slug for r in plan.rooms}:
            check.problem(path + ("slug",), f"room {room.slug!r} is defined twice")
        plan.rooms.append(room)
        if SLUG.match(room.slug):
            room_slugs.add(room.slug)
    for index, service in enumerate(plan.services):
        if service.needs_bed and not room_slugs:
            check.problem(("services", index, "needs_bed"), "no room is set up yet: add a [[rooms]] table with its "
                                                             "beds, or the service could never be booked")

    practitioner_slugs = set(known_practitioners)
    for index, table in enumerate(check.tables(document, "practitioners")):
        path = ("practitioners", index)
        table = dict(table)
        versions = check.versions(table, {"bio": limits.BIO_LENGTH}, path, languages)
        check.unknown_keys(table, {"slug", "name", "bio", "npi", "license_number", "services", "hours", "active"},
                           path)
        practitioner = PractitionerPlan(
            slug=check.slug(table, path),
            name=check.text(table, "name", path, limit=limits.NAME_LENGTH),
            bio=check.text(table, "bio", path, required=False, limit=limits.BIO_LENGTH, default=None),
            npi=check.identifier(table, "npi", path, identifiers.clean_npi),
            license_number=check.identifier(table, "license_number", path, identifiers.clean_license),
            is_active=check.flag(table, "active", path, None),
            translations=versions,
        )
        if "services" in table:
            offered = table["services"]
            if not isinstance(offered, list) or not all(isinstance(s, str) for s in offered):
                check.problem(path + ("services",), "must be a list of service slugs in quotes")
            else:
                for slug in offered:
                    if slug not in service_slugs:
                        known = ", ".join(sorted(service_slugs)) or "none yet"
                        check.problem(path + ("services",), f"unknown service {slug!r} (known: {known})")
                practitioner.services = list(dict.fromkeys(offered))
        if "hours" in table:
            practitioner.hours = parse_weekly_hours(table["hours"], path + ("hours",), check)
        if practitioner.slug in {p.slug for p in plan.practitioners}:
            check.problem(path + ("slug",), f"practitioner {practitioner.slug!r} is defined twice")
        plan.practitioners.append(practitioner)
        if SLUG.match(practitioner.slug):
            practitioner_slugs.add(practitioner.slug)

    zone_name = (plan.clinic or {}).get("timezone") or known_zone
    zone = ZoneInfo(zone_name) if limits.is_known_zone(zone_name) else None
    for index, table in enumerate(check.tables(document, "time_off")):
        path = ("time_off", index)
        check.unknown_keys(table, {"practitioner", "start", "end", "reason"}, path)
        slug = check.text(table, "practitioner", path, limit=limits.SLUG_LENGTH)
        if slug and slug not in practitioner_slugs:
            known = ", ".join(sorted(practitioner_slugs)) or "none yet"
            check.problem(path + ("practitioner",), f"unknown practitioner {slug!r} (known: {known})")
        start = parse_local_datetime(table.get("start"), path + ("start",), check)
        end = parse_local_datetime(table.get("end"), path + ("end",), check)
        if start and end and not start < end:
            check.problem(path + ("end",), f"time off must end after it starts ({end:%Y-%m-%dT%H:%M} <= {start:%Y-%m-%dT%H:%M})")
        reason = check.text(table, "reason", path, required=False, limit=200)
        if start and end and start < end and zone:
            starts_at = wall_clock_instant(start.date(), start.time(), zone)
            ends_at = wall_clock_instant(end.date(), end.time(), zone)
            if not starts_at < ends_at:
                check.problem(path + ("start",), "this time off lies inside the hour the clocks skip, so it covers no time")
            elif any((t.practitioner, t.starts_at, t.ends_at) == (slug, starts_at, ends_at) for t in plan.time_off):
                check.problem(path, "the same time off is listed twice")
            else:
                plan.time_off.append(TimeOffPlan(slug, starts_at, ends_at, reason))

    if check.problems:
        raise ClinicFileError(check.problems)
    return plan


# The [clinic] keys a file must give; every other one may be left out, and then an existing clinic
# keeps what it has (a file from before a setting existed changes nothing about it), while a new
# one takes its default. Written out, a key is set, "" clearing a text.
REQUIRED_CLINIC_KEYS = ("name", "timezone", "phone", "emergency_number")


def _read_clinic(table, check: _Checker, known_languages: list[str],
                 known_country: tuple | None = None) -> tuple[dict, set[str], Versions]:
    """The [clinic] table as Clinic columns (defaults for what it leaves out), the keys it leaves
    out, and the directions' versions in other languages."""
    path = ("clinic",)
    if not isinstance(table, dict):
        check.problem(path, "must be a [clinic] table")
        return {}, set(), {}
    table = dict(table)
    address = table.get("address")
    if isinstance(address, dict):
        table["address"] = address = dict(address)
    check.unknown_keys(
        table,
        {"name", "timezone", "phone", "emergency_number", "slot_step_minutes", "min_notice_hours",
         "max_advance_days", "cancellation_notice_hours", "reminder_hours", "retention_years",
         "start_back_enabled", "region", "alert_email", "second_factor_for_all_staff", "locale", "languages",
         "address", "tax_id", "waitlist_offer_hours"},
        path,
    )
    zone_name = check.text(table, "timezone", path, limit=limits.ZONE_LENGTH)
    if zone_name and not limits.is_known_zone(zone_name):
        check.problem(path + ("timezone",), f"unknown time zone {zone_name!r} (use an IANA name such as \"America/Los_Angeles\")")
    region = check.text(table, "region", path, required=False, limit=limits.NAME_LENGTH, default=None)
    if region is None:
        region = limits.zone_region(zone_name)  # not given: the country of the clinic's zone
    elif not limits.is_known_region(region.upper()):
        advice = "; the United Kingdom is \"GB\"" if region.upper() == "UK" else ""
        check.problem(path + ("region",), f"unknown region {region!r} (use a two-letter ISO country code "
                                          f"such as \"US\" or \"GB\"{advice})")
    alert_email = check.text(table, "alert_email", path, required=False, limit=EMAIL_LIMIT, default=None)
    if alert_email:
        try:
            alert_email = clean_email(alert_email)
        except ValueError:
            check.problem(path + ("alert_email",), f"{alert_email!r} is not an email address (write one like "
                                                   "\"alerts@example.com\", or leave the key out for no alerts)")
    written_languages = _read_languages(table, check)
    languages = written_languages if "languages" in table else known_languages
    versions = check.versions(address, {"directions": column_length(Clinic, "directions")}, path + ("address",),
                              languages) if isinstance(address, dict) else {}
    before = len(check.problems)
    locale = _read_locale(table, region, check)
    locale_read = len(check.problems) == before  # one refused is said once, not checked against the country too
    values = {
        "name": check.text(table, "name", path, limit=limits.NAME_LENGTH),
        "timezone": zone_name,
        "locale": locale,
        "languages": written_languages,
        **_read_address(address, check),
        "phone": check.number_to_call(table, "phone", path, limits.PHONE_LENGTH),
        "emergency_number": check.number_to_call(table, "emergency_number", path, limits.EMERGENCY_NUMBER_LENGTH),
        **{key: check.whole_number(table, key, path, limit) for key, limit in limits.CLINIC_NUMBERS.items()},
        "start_back_enabled": check.flag(table, "start_back_enabled", path, False),
        "second_factor_for_all_staff": check.flag(table, "second_factor_for_all_staff", path, False),
        "region": region.upper(),
        "alert_email": alert_email or None,
        "tax_id": check.identifier(table, "tax_id", path, identifiers.clean_tax_id) or None,
    }
    left_out = {key for key in values if key not in REQUIRED_CLINIC_KEYS and key not in table}
    left_out -= set(ADDRESS_COLUMNS.values())
    left_out |= {column for key, column in ADDRESS_COLUMNS.items()
                 if not isinstance(address, dict) or key not in address}
    _check_one_country(values, left_out, known_country, check, locale_read)
    return values, left_out, versions


def _check_one_country(values: dict, left_out: set[str], known_country: tuple | None, check: _Checker,
                       locale_read: bool) -> None:
    """The region, the emergency number, the address's country, the locale and the time zone must
    agree, as the settings page asks (validation.region_contradictions); what the file leaves out is
    taken as stored (known_country: the stored region, address country and locale)."""
    path = ("clinic",)
    stored_region, stored_country, *stored_rest = known_country or (None, None)
    region = stored_region if "region" in left_out and stored_region else values["region"]
    country_kept = "address_country" in left_out and known_country is not None
    country = stored_country if country_kept else values["address_country"]
    locale_kept = "locale" in left_out and bool(stored_rest and stored_rest[0])
    locale = stored_rest[0] if locale_kept else values["locale"] if locale_read else None
    number = values["emergency_number"]
    if not limits.is_known_region(region) or (country and not limits.is_known_region(country)):
        return  # already reported as unknown
    # What the file left out is changed by adding it, so it is blamed on the line that contradicts it.
    places = {"emergency_number": path + ("emergency_number",),
              "address_country": path + ("region",) if country_kept else path + ("address", "country"),
              "locale": path + ("region",) if locale_kept else path + ("locale",), "timezone": path + ("timezone",)}
    for key, message in region_contradictions(region, number if is_emergency_number(number or "") else None,
                                              country, locale, values["timezone"]
                                              if limits.is_known_zone(values["timezone"]) else None).items():
        check.problem(places[key], message[0].lower() + message[1:])


def _read_locale(table: dict, region: str | None, check: _Checker) -> str:
    """The clinic's locale, or without one the locale of its country (en_US for US, es_ES for ES)."""
    path = ("clinic", "locale")
    text = check.text(table, "locale", path[:1], required=False, limit=64, default=None)
    if text is None:
        return limits.default_locale(region)
    locale = limits.clinic_locale(text)
    if locale is None:
        if limits.names_no_country(text):
            example = limits.locale_examples(region, text)[0]
            check.problem(path, f"locale {text!r} names no country (write the country too, such as "
                                f"\"{example}\": dates read differently in each)")
        else:
            examples = " or ".join(f'"{code}"' for code in limits.locale_examples(region))
            check.problem(path, f"unknown locale {text!r} (use a language and a two-letter country as Babel "
                                f"names them, such as {examples})")
    return locale or limits.DEFAULT_LOCALE


def _read_languages(table: dict, check: _Checker) -> list[str]:
    """The languages patients may choose, the first the default; each needs a catalog."""
    path = ("clinic", "languages")
    value = table.get("languages", ["en"])
    known = catalog_languages()
    if not isinstance(value, list) or not value or not all(isinstance(code, str) for code in value):
        check.problem(path, "must be a list of language codes in quotes, the patients' default first, "
                            f"such as [\"en\", \"es\"] (known: {', '.join(known)})")
        return ["en"]
    languages = [code.strip().lower() for code in value]
    for code in languages:
        if code not in known:
            check.problem(path, f"unknown language {code!r}: the pages have words in {', '.join(known)} "
                                "(another needs its catalog in booking/translations)")
    for code in sorted({code for code in languages if languages.count(code) > 1}):
        check.problem(path, f"{code!r} is listed twice")
    return list(dict.fromkeys(languages))


def _read_address(table, check: _Checker) -> dict:
    """The [clinic.address] table as Clinic columns; every key optional, a missing table none."""
    path = ("clinic", "address")
    address: dict = dict.fromkeys(ADDRESS_COLUMNS.values())
    if table is None:
        return address
    if not isinstance(table, dict):
        check.problem(path, "must be a [clinic.address] table of street, city, region, postcode, country "
                            "and directions")
        return address
    check.unknown_keys(table, set(ADDRESS_COLUMNS), path)
    for key, column in ADDRESS_COLUMNS.items():
        address[column] = check.text(table, key, path, required=False, limit=column_length(Clinic, column),
                                     default=None) or None
    country = address["address_country"]
    if country:
        address["address_country"] = country.upper()
        if not limits.is_known_region(country.upper()):
            advice = "; the United Kingdom is \"GB\"" if country.upper() == "UK" else ""
            check.problem(path + ("country",), f"unknown country {country!r} (use a two-letter ISO country "
                                               f"code such as \"US\" or \"GB\"{advice})")
    return address


def kept_settings(left_out: set[str]) -> list[str]:
    """The settings an import left as they were, as the file would name them: "locale",
    "[clinic.address]" when the whole table is left out, else "address.postcode"."""
    names = [key for key in left_out if key not in ADDRESS_COLUMNS.values()]
    address = [key for key, column in ADDRESS_COLUMNS.items() if column in left_out]
    if len(address) == len(ADDRESS_COLUMNS):
        names.append("[clinic.address]")
    else:
        names += [f"address.{key}" for key in address]
    return sorted(names, key=lambda name: (name.startswith("[") or "." in name, name))


def import_clinic_file(text: str, filename: str = "clinic.toml", now: datetime | None = None) -> dict:
    """Check the file, then create or update everything in it by slug, in one commit.

    Services, practitioners and time off missing from the file are left as they are, and so is
    every optional setting or text it leaves out. Returns counts of what the file held and, as
    "kept", the clinic's settings it left as they were, for the command's report. A room given
    fewer beds while a visit still to come (after `now`) lies on one that would go is refused.
    """
    now = now or clock.now()
    with write_transaction():
        # First, before any change: a change of the services or the clinic renews the settings
        # stamp (the clinic's row), which the admin's room and service saves write after this lock.
        lock_beds()
        clinic = db.session.get(Clinic, 1)
        plan = read_clinic_file(
            text,
            filename,
            known_services=set(db.session.scalars(sa.select(Service.slug))),
            known_practitioners=set(db.session.scalars(sa.select(Practitioner.slug))),
            known_zone=clinic.timezone if clinic else None,
            known_country=(clinic.region, clinic.address_country, clinic.locale) if clinic else None,
            known_languages=list(clinic.languages or ["en"]) if clinic else None,
            known_rooms=set(db.session.scalars(sa.select(Room.slug))),
            known_hands_on={slug: parts for slug, parts in db.session.execute(
                sa.select(Service.slug, Service.hands_on)) if parts},
        )
        if plan.clinic is None and clinic is None:
            raise ClinicFileError([f"{filename}:1: clinic: a [clinic] table is needed for the first import"])
        kept: list[str] = []
        if plan.clinic is not None:
            if clinic is None:
                clinic, left_out = Clinic(id=1), set()  # a new clinic: what the file left out takes its default
                db.session.add(clinic)
            else:
                left_out = plan.clinic_left_out
                kept = kept_settings(left_out)
            for key, value in plan.clinic.items():
                if key not in left_out:
                    setattr(clinic, key, value)
            clinic.write_versions(plan.clinic_translations)
        services = {s.slug: s for s in db.session.scalars(sa.select(Service))}
        to_bed = []  # (index, plan, service) of services that come to need a bed
        for index, item in enumerate(plan.services):
            service = services.get(item.slug) or Service(slug=item.slug)
            if item.needs_bed and service.id is not None and not service.needs_bed:
                to_bed.append((index, item, service))
            db.session.add(service)
            for key in ("name", "minutes", "buffer_minutes", "new_patients_only", "description", "is_active",
                        "needs_bed"):
                if getattr(item, key) is not None:
                    setattr(service, key, getattr(item, key))
            if item.hands_on is not None:
                service.hands_on = item.hands_on or None
            service.write_versions(item.translations)
            services[item.slug] = service
        rooms = {r.slug: r for r in db.session.scalars(sa.select(Room))}
        fewer = [_fewer_beds_refused(filename, index, item, rooms[item.slug], now, clinic.zone)
                 for index, item in enumerate(plan.rooms) if item.slug in rooms and item.beds < rooms[item.slug].beds]
        if any(fewer):
            raise ClinicFileError([problem for problem in fewer if problem])
        for item in plan.rooms:
            room = rooms.get(item.slug) or Room(slug=item.slug)
            db.session.add(room)
            room.name, room.beds = item.name, item.beds
            if item.is_active is not None:
                room.is_active = item.is_active
            room.write_versions(item.translations)
        # With the file's rooms in place: a service's visits booked before it needed a bed take one now.
        no_bed = [_no_bed_refused(filename, index, item, left_out, clinic.zone) for index, item, service in to_bed
                  if (left_out := bed_for_each_visit_booked_without(service, now)) is not None]
        if no_bed:
            raise ClinicFileError(no_bed)
        practitioners = {p.slug: p for p in db.session.scalars(sa.select(Practitioner))}
        for item in plan.practitioners:
            practitioner = practitioners.get(item.slug) or Practitioner(slug=item.slug)
            db.session.add(practitioner)
            practitioner.name = item.name
            if item.bio is not None:
                practitioner.bio = item.bio
            for key in ("npi", "license_number"):
                if getattr(item, key) is not None:
                    setattr(practitioner, key, getattr(item, key) or None)
            if item.is_active is not None:
                practitioner.is_active = item.is_active
            practitioner.write_versions(item.translations)
            if item.services is not None:
                practitioner.services = [services[slug] for slug in item.services]
            if item.hours is not None:
                practitioner.hours.clear()
                db.session.flush()  # drop old hours before new rows reuse their unique keys
                practitioner.hours.extend(
                    WorkingHours(weekday=weekday, start_time=start, end_time=end)
                    for weekday, intervals in item.hours.items()
                    for start, end in intervals
                )
            practitioners[item.slug] = practitioner
        for item in plan.time_off:
            practitioner = practitioners[item.practitioner]
            span = (item.starts_at, item.ends_at)
            existing = next((t for t in practitioner.time_off if (t.starts_at, t.ends_at) == span), None)
            if existing:
                existing.reason = item.reason
            else:
                practitioner.time_off.append(TimeOff(starts_at=item.starts_at, ends_at=item.ends_at, reason=item.reason))
    return {
        "services": len(plan.services),
        "rooms": len(plan.rooms),
        "practitioners": len(plan.practitioners),
        "time_off": len(plan.time_off),
        "kept": kept,
    }


def _fewer_beds_refused(filename: str, index: int, item: RoomPlan, room: Room, now: datetime, zone) -> str | None:
    """Why the room may not have the file's fewer beds (as the admin's room page says it), or None."""
    count, first = beds_in_use_above(room.id, item.beds, now)
    if not count:
        return None
    visits = "1 booked visit uses" if count == 1 else f"{count} booked visits use"
    return (f"{filename}:{item.beds_line}: rooms[{index}].beds: {visits} a bed above bed {item.beds} (the first at "
            f"{first.astimezone(zone):%Y-%m-%dT%H:%M}): keep {room.beds} beds, or move those visits from the desk first")


def _no_bed_refused(filename: str, index: int, item: ServicePlan, visit, zone) -> str:
    """Why the service may not come to need a bed: one of its booked visits would find none."""
    return (f"{filename}:{item.needs_bed_line}: services[{index}].needs_bed: its visits already booked would each "
            f"need a bed, and every bed is taken at {visit.starts_at.astimezone(zone):%Y-%m-%dT%H:%M} (reference "
            f"{visit.reference}): add a bed or a room, or move that visit from the desk first")


def export_clinic_file() -> str:
    """The clinic as a TOML clinic file that imports back to the same data."""
    clinic = db.session.get(Clinic, 1)
    if clinic is None:
        raise ClinicFileError(["there is no clinic to export yet: import a clinic file first"])
    zone = clinic.zone
    document: dict = {
        "clinic": {
            "name": clinic.name,
            "timezone": clinic.timezone,
            "phone": clinic.phone,
            "emergency_number": clinic.emergency_number,
            "slot_step_minutes": clinic.slot_step_minutes,
            "min_notice_hours": clinic.min_notice_hours,
            "max_advance_days": clinic.max_advance_days,
            "cancellation_notice_hours": clinic.cancellation_notice_hours,
            "reminder_hours": clinic.reminder_hours,
            "waitlist_offer_hours": clinic.waitlist_offer_hours,
            "retention_years": clinic.retention_years,
            "start_back_enabled": clinic.start_back_enabled,
            "second_factor_for_all_staff": clinic.second_factor_for_all_staff,
            "region": clinic.region,
            "alert_email": clinic.alert_email or "",  # said even when empty: a file leaving it out keeps it
            "locale": clinic.locale,
            "languages": list(clinic.languages or ["en"]),
            "tax_id": clinic.tax_id or "",  # said even when empty, as the alert address
        },
        "services": [],
        "rooms": [],
        "practitioners": [],
        "time_off": [],
    }
    other_languages = list(clinic.languages or ["en"])[1:]
    # The address whole, every part named ("" for none), so it imports as it is over any other.
    address = {key: getattr(clinic, column) or "" for key, column in ADDRESS_COLUMNS.items()}
    address |= _versions(clinic, other_languages)
    if any(address.values()):
        document["clinic"]["address"] = address
    for service in db.session.scalars(sa.select(Service).order_by(Service.id)):
        entry = {
            "slug": service.slug,
            "name": service.name,
            "minutes": service.minutes,
            "buffer_minutes": service.buffer_minutes,
            "new_patients_only": service.new_patients_only,
        }
        if service.description:
            entry["description"] = service.description
        if not service.is_active:
            entry["active"] = False
        if service.hands_on:
            entry["hands_on"] = [f"{start}-{end}" for start, end in service.hands_on]
        if service.needs_bed:
            entry["needs_bed"] = True
        entry |= _versions(service, other_languages)
        document["services"].append(entry)
    for room in db.session.scalars(sa.select(Room).order_by(Room.slug)):
        entry = {"slug": room.slug, "name": room.name, "beds": room.beds}
        if not room.is_active:
            entry["active"] = False
        entry |= _versions(room, other_languages)
        document["rooms"].append(entry)
    for practitioner in db.session.scalars(sa.select(Practitioner).order_by(Practitioner.id)):
        entry = {"slug": practitioner.slug, "name": practitioner.name}
        if practitioner.bio:
            entry["bio"] = practitioner.bio
        for key in ("npi", "license_number"):
            if getattr(practitioner, key):
                entry[key] = getattr(practitioner, key)
        if not practitioner.is_active:
            entry["active"] = False
        entry["services"] = [s.slug for s in practitioner.services]
        hours: dict[str, list[str]] = {}
        for row in practitioner.hours:
            hours.setdefault(WEEKDAYS[row.weekday], []).append(
                f"{row.start_time:%H:%M}-{row.end_time:%H:%M}"
            )
        entry["hours"] = {day: hours[day] for day in WEEKDAYS if day in hours}
        entry |= _versions(practitioner, other_languages)
        document["practitioners"].append(entry)
        for off in practitioner.time_off:
            item = {
                "practitioner": practitioner.slug,
                "start": off.starts_at.astimezone(zone).strftime(LOCAL_DATETIME_FORMAT),
                "end": off.ends_at.astimezone(zone).strftime(LOCAL_DATETIME_FORMAT),
            }
            if off.reason:
                item["reason"] = off.reason
            document["time_off"].append(item)
    return tomli_w.dumps({key: value for key, value in document.items() if value != []})


def _versions(item, languages: list[str]) -> dict:
    """A row's texts in the clinic's other languages as the file's tables ({"es": {"name": ...}});
    versions in a language the clinic no longer offers stay stored but are not written, since the
    file could not be imported with them."""
    stored = stored_versions(item.translations)
    return {language: {field: stored[language][field] for field in item.TRANSLATED if field in stored[language]}
            for language in languages if any(field in stored.get(language, {}) for field in item.TRANSLATED)}
