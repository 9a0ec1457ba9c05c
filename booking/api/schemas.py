"""Reading the API's query strings and JSON bodies into checked values, field by field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from booking.operations.bookings import BookingRequest, PatientDetails
from booking.operations.waitlist import JoinRequest, Wishes
from booking.scheduling.waitlist import PART_NAMES
from booking.validation import check_birth_date, clean_email, clean_name, clean_phone

MAX_DAYS = 31
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would read other scripts
# How a value of the wrong type is named in a message, in JSON's terms.
JSON_TYPES = ((bool, "true or false"), (list, "a list"), (dict, "an object"), (type(None), "null"))


class InvalidInput(Exception):
    """One or more fields are wrong; errors maps each field to what to fix."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def read_whole_number(raw, low: int, high: int) -> int:
    """A bounded whole number, from a query string's text or a JSON number, or ValueError saying
    the range and what came instead: "must be a whole number from 1 to 31, not 40"."""
    wanted = f"must be a whole number from {low} to {high}"
    if isinstance(raw, str):
        text = raw.strip()
        if not WHOLE_NUMBER.fullmatch(text):
            raise ValueError(f"{wanted}, not the text {raw[:40]!r}" if text else f"{wanted}, not empty")
        shown = text if len(text) <= 12 else text[:12] + "..."
        value = int(text) if len(text) <= 12 else high + 1  # longer is out of any range we keep
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value, shown = raw, str(raw)
    elif isinstance(raw, float) and raw.is_integer():
        value, shown = int(raw), str(int(raw))
    elif isinstance(raw, float):
        raise ValueError(f"{wanted}, not a fraction ({raw})")
    else:
        named = next((name for kind, name in JSON_TYPES if isinstance(raw, kind)), type(raw).__name__)
        raise ValueError(f"{wanted}, not {named}")
    if not low <= value <= high:
        raise ValueError(f"{wanted}, not {shown}")
    return value


@dataclass(frozen=True)
class SlotQuery:
    service: str
    practitioner: str
    first_day: date | None  # None: the clinic's today
    days: int


def read_slot_query(args) -> SlotQuery:
    """?service=SLUG&practitioner=SLUG|any&from=YYYY-MM-DD&days=N"""
    errors: dict[str, str] = {}
    service = (args.get("service") or "").strip()
    if not service:
        errors["service"] = "is required: a service slug from /api/v1/services"
    practitioner = (args.get("practitioner") or "any").strip()
    first_day = None
    if args.get("from"):
        try:
            if not ISO_DATE.match(args["from"]):
                raise ValueError
            first_day = date.fromisoformat(args["from"])
        except ValueError:
            errors["from"] = f"{args['from']!r} is not a date; use YYYY-MM-DD"
    days = 7
    if args.get("days") is not None:
        try:
            days = read_whole_number(args["days"], 1, MAX_DAYS)
        except ValueError as error:
            errors["days"] = str(error)
    if errors:
        raise InvalidInput(errors)
    return SlotQuery(service, practitioner, first_day, days)


BOOKING_KEYS = ("service", "practitioner", "start", "patient", "safety", "language")
PATIENT_KEYS = ("name", "email", "phone", "birth_date")


def _refuse_unknown_keys(body: dict, known: tuple[str, ...], errors: dict[str, str], prefix: str = "") -> None:
    """A key we do not read is refused, by name: a misspelt "practioner" must not quietly
    book "any" practitioner."""
    for key in body:
        if key not in known:
            errors[f"{prefix}{str(key)[:40]}"] = f"is not a field here; the fields are {', '.join(known)}"


def read_patient(body, errors: dict[str, str], today: date) -> PatientDetails | None:
    if not isinstance(body, dict):
        errors["patient"] = 'must be an object: {"name", "email", "phone", "birth_date"}'
        return None
    _refuse_unknown_keys(body, PATIENT_KEYS, errors, "patient.")
    cleaned = {}
    for key, clean in (("name", clean_name), ("email", clean_email), ("phone", clean_phone)):
        value = body.get(key)
        try:
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            cleaned[key] = clean(value)
        except ValueError as error:
            errors[f"patient.{key}"] = str(error)
    raw_birth = body.get("birth_date")
    if not isinstance(raw_birth, str) or not raw_birth.strip():
        errors["patient.birth_date"] = "Enter the date of birth as YYYY-MM-DD"
    else:
        try:
            born_on = date.fromisoformat(raw_birth.strip())
        except ValueError:
            errors["patient.birth_date"] = f"{raw_birth!r} is not a date; use YYYY-MM-DD"
        else:
            try:
                cleaned["born_on"] = check_birth_date(born_on, today)
            except ValueError as error:
                errors["patient.birth_date"] = str(error)
    if any(key.startswith("patient") for key in errors):
        return None
    return PatientDetails(**cleaned)


def read_start(value, errors: dict[str, str]) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        errors["start"] = "is required: an ISO 8601 time with its offset, as /api/v1/slots gives it"
        return None
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError:
        errors["start"] = f"{value!r} is not an ISO 8601 time, e.g. 2027-03-15T09:00:00-07:00"
        return None
    if not 1900 <= start.year <= 9000:  # far outside any diary, and keeps date sums in range
        errors["start"] = f"{value!r} is not a time anyone could book; ask /api/v1/slots for free times"
        return None
    if start.utcoffset() is None:
        errors["start"] = f"{value!r} has no UTC offset; add one, e.g. 2027-03-15T09:00:00-07:00"
        return None
    return start


def read_language(value, offered: list[str], errors: dict[str, str]) -> str | None:
    """An optional language code the clinic offers to patients ("es"); None when not given."""
    if value is None:
        return None
    if not isinstance(value, str) or value.strip() not in offered:
        errors["language"] = f"must be one of the clinic's languages: {', '.join(offered)}"
        return None
    return value.strip()


def _read_who_and_what(body: dict, keys: tuple[str, ...], errors: dict[str, str], today: date,
                       languages: list[str]) -> tuple:
    """What a booking's and a waitlist place's bodies share: (service, practitioner, patient,
    safety, language), each problem added to `errors`, and keys outside `keys` refused."""
    _refuse_unknown_keys(body, keys, errors)
    service = body.get("service")
    if not isinstance(service, str) or not service.strip():
        errors["service"] = "is required: a service slug from /api/v1/services"
    practitioner = body.get("practitioner", "any")
    if not isinstance(practitioner, str) or not practitioner.strip():
        errors["practitioner"] = 'must be a practitioner slug or "any"'
    patient = read_patient(body.get("patient"), errors, today)
    safety = body.get("safety")
    if not isinstance(safety, list) or not all(isinstance(code, str) for code in safety):
        errors["safety"] = "is required: a list of safety codes that apply, [] when none do"
    language = read_language(body.get("language"), languages, errors)
    return service, practitioner, patient, safety, language


def read_booking(body, today: date, languages: list[str]) -> BookingRequest:
    """The JSON body of POST /api/v1/bookings, or InvalidInput naming every bad field. `language`
    (optional, one of the clinic's `languages`) is what the patient's emails are written in."""
    if not isinstance(body, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    service, practitioner, patient, safety, language = _read_who_and_what(body, BOOKING_KEYS, errors, today, languages)
    start = read_start(body.get("start"), errors)
    if errors:
        raise InvalidInput(errors)
    return BookingRequest(
        service=service.strip(),
        practitioner=practitioner.strip(),
        start=start,
        patient=patient,
        safety=tuple(safety),
        booked_via="api",
        language=language,
    )


WAITLIST_KEYS = ("service", "practitioner", "from", "to", "weekdays", "parts_of_day", "patient", "safety", "language")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as the clinic file names them


def _read_day(value, key: str, errors: dict[str, str]) -> date | None:
    if not isinstance(value, str):
        errors[key] = "is required: a clinic date as YYYY-MM-DD"
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[key] = f"{value[:40]!r} is not a date; use YYYY-MM-DD"
        return None


def _read_names(value, key: str, known: tuple[str, ...], errors: dict[str, str]) -> tuple[str, ...]:
    """An optional list of names from `known` ([] or left out: any)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item in known for item in value):
        errors[key] = f"must be a list of any of {', '.join(known)} ([] or left out: any)"
        return ()
    return tuple(value)


def read_waitlist(body, today: date, languages: list[str]) -> JoinRequest:
    """The JSON body of POST /api/v1/waitlist as a waitlist JoinRequest, or InvalidInput naming
    every bad field (the dates' range is checked by the operation, as for the pages)."""
    if not isinstance(body, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    service, practitioner, patient, safety, language = _read_who_and_what(body, WAITLIST_KEYS, errors, today, languages)
    first_day, last_day = _read_day(body.get("from"), "from", errors), _read_day(body.get("to"), "to", errors)
    weekdays = _read_names(body.get("weekdays"), "weekdays", WEEKDAY_NAMES, errors)
    parts = _read_names(body.get("parts_of_day"), "parts_of_day", PART_NAMES, errors)
    if errors:
        raise InvalidInput(errors)
    wishes = Wishes(service.strip(), practitioner.strip(), first_day, last_day,
                    tuple(WEEKDAY_NAMES.index(day) for day in weekdays), parts)
    return JoinRequest(wishes, patient, tuple(safety), "api", language)
