"""The API's query strings and JSON bodies as pydantic models: what checks a request also describes
it (booking/api/openapi.py builds the OpenAPI document from these same models).

Each field's own check raises ValueError with the sentence the caller reads; `read` turns pydantic's
errors into the API's `{"field": "message"}` shape. A required field left out is read as null, so
it gets the same sentence as a null one ("is required: ..."); a value of the wrong type is told what
is expected and what came instead ("must be a whole number ..., not the text 'four'").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, get_args

from pydantic.json_schema import SkipJsonSchema
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from booking.operations.bookings import BookingRequest, PatientDetails
from booking.operations.waitlist import JoinRequest, Wishes
from booking.safety import EMERGENCY, URGENT
from booking.scheduling.course import MAX_EVERY_DAYS, MAX_VISITS, Repeat
from booking.scheduling.waitlist import PART_NAMES
from booking.validation import (EMAIL_LIMIT, NAME_LIMIT, PHONE_CHARACTERS, PHONE_LIMIT, check_birth_date, clean_email,
                                clean_name, clean_phone)

MAX_DAYS = 31
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would read other scripts
# How a value of the wrong type is named in a message, in JSON's terms.
JSON_TYPES = ((bool, "true or false"), (list, "a list"), (dict, "an object"), (type(None), "null"), (str, "text"),
              (int, "a number"), (float, "a number"))
SERVICE = "a service slug from /api/v1/services"


def json_kind(raw) -> str:
    """A JSON value's type as a message names it ("a list", "true or false")."""
    return next((name for kind, name in JSON_TYPES if isinstance(raw, kind)), type(raw).__name__)


def expected(value, what: str) -> str:
    """The sentence for a value that is not `what`: "is required: ..." when left out (null or empty
    text), else what is expected and the type that came instead."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"is required: {what}"
    return f"must be {what}, not {json_kind(value)}"


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
        raise ValueError(f"{wanted}, not {json_kind(raw)}")
    if not low <= value <= high:
        raise ValueError(f"{wanted}, not {shown}")
    return value


def _clinic_language(value, info: ValidationInfo) -> str | None:
    """An optional language code the clinic offers to patients ("es"); None when not given."""
    offered = info.context["languages"]
    if value is None:
        return None
    if not isinstance(value, str) or value.strip() not in offered:
        raise ValueError(f"must be one of the clinic's languages: {', '.join(offered)}")
    return value.strip()


def _parsed(value, parse, what: str, unreadable: str):
    """ISO 8601 text read by `parse`, or ValueError: that `what` is expected when there is no text
    (see `expected`), `unreadable` (with the text shown at its {}) when it does not parse."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(expected(value, what))
    try:
        return parse(value.strip())
    except ValueError:
        raise ValueError(unreadable.format(value)) from None


class ApiModel(BaseModel):
    """A request's fields, each checked by its own validator; unknown ones refused by name."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _left_out_reads_as_null(cls, data: Any) -> Any:
        """A required field left out gets the same sentence as a null one, as before pydantic."""
        if not isinstance(data, dict):
            return data
        return {field.alias or name: None for name, field in cls.model_fields.items() if field.is_required()} | data


def _model_at(model: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel]:
    """The model holding the field at `path` inside `model` (the patient's, for "patient.email")."""
    for part in path:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        # An optional part (`RepeatBody | None`) holds its model among the union's members.
        for inner in (annotation, *get_args(annotation)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                model = inner
                break
    return model


def problems(error: ValidationError, model: type[BaseModel]) -> dict[str, str]:
    """Pydantic's errors in the API's shape: each field (dotted) and the one sentence to fix it."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        location = tuple(part for part in problem["loc"] if isinstance(part, str))
        if not location:  # the body itself: a list, a number, a string
            found["body"] = "must be a JSON object"
            continue
        if problem["type"] == "value_error":
            message = str(problem["ctx"]["error"])
        elif problem["type"] == "extra_forbidden":
            holder = _model_at(model, location[:-1])
            fields = ", ".join(getattr(holder, "FIELDS_IN_ORDER", None)
                               or [field.alias or key for key, field in holder.model_fields.items()])
            message = f"is not a field here; the fields are {fields}"
        else:  # a type the field's own check let through: never expected, still named
            message = problem["msg"]
        # An unknown key is named, but not at any length.
        found.setdefault(".".join(part[:40] for part in location), message)
    return found


def read(model: type[ApiModel], data: Any, **context) -> Any:
    """`data` checked by `model`, or InvalidInput naming every field to fix."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise InvalidInput(problems(error, model)) from None


# --- query strings ----------------------------------------------------------------------------


class LanguageQuery(ApiModel):
    """?language=es on the listings: the clinic's texts in one of its languages."""

    model_config = ConfigDict(extra="ignore")
    language: str | None = Field(None, description="One of the clinic's languages; its first when not given.",
                                 examples=["en", "es"])

    _language = field_validator("language", mode="before")(_clinic_language)


class SlotQuery(ApiModel):
    """?service=SLUG&practitioner=SLUG|any&from=YYYY-MM-DD&days=N"""

    model_config = ConfigDict(extra="ignore")
    service: str = Field(min_length=1, description="A service slug from /api/v1/services.", examples=["short"])
    practitioner: str = Field("any", description='A practitioner slug from /api/v1/practitioners, or "any".',
                              examples=["any", "ana"])
    first_day: date | None = Field(None, alias="from", description="The first clinic date; the clinic's today "
                                   "when not given. From a year ago to the last date open for booking.",
                                   examples=["2027-03-15"])
    days: int = Field(7, ge=1, le=MAX_DAYS, description="How many clinic dates, from `from` on.", examples=[7])

    @field_validator("service", mode="before")
    @classmethod
    def _service(cls, value):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(expected(value, SERVICE))
        return value.strip()

    @field_validator("practitioner", mode="before")
    @classmethod
    def _practitioner(cls, value):
        return (value or "any").strip() if isinstance(value, str) or value is None else value

    @field_validator("first_day", mode="before")
    @classmethod
    def _first_day(cls, value):
        if not value:
            return None
        try:
            if not isinstance(value, str) or not ISO_DATE.match(value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date; use YYYY-MM-DD") from None

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value):
        return 7 if value is None else read_whole_number(value, 1, MAX_DAYS)


# --- the body of POST /api/v1/bookings --------------------------------------------------------

SAFETY_CODES = (f"Emergency (no booking, 422 with advice): {', '.join(EMERGENCY)}. "
                f"Urgent (booked, with advice for the patient): {', '.join(URGENT)}.")


class PatientBody(ApiModel):
    """The patient's details, checked as the booking pages check them."""

    DESCRIBED: ClassVar[str] = '{"name", "email", "phone", "birth_date"}'
    # The limits below hold for what the checks let through, and tell the document (and so the
    # tools that generate requests from it) what a real name, address and number look like.
    name: str = Field(min_length=1, max_length=NAME_LIMIT, description="Full name, one line.",
                      examples=["Pat Example"])
    email: str = Field(max_length=EMAIL_LIMIT, json_schema_extra={"format": "email"}, examples=["pat@example.com"],
                       description="An email address: one person is one patient, by email and birth date.")
    phone: str = Field(min_length=7, max_length=PHONE_LIMIT, pattern=PHONE_CHARACTERS.pattern, examples=["+1 213 555 0142"],
                       description="7 to 15 digits; spaces, brackets, dots, dashes and a leading + allowed.")
    birth_date: date = Field(description="YYYY-MM-DD, in the past and less than 120 years ago.",
                             examples=["1980-05-17"])

    @field_validator("name", "email", "phone", mode="before")
    @classmethod
    def _contact(cls, value, info: ValidationInfo):
        if value is not None and not isinstance(value, str):  # worded as every other field's wrong type
            what = {"name": "the patient's full name", "email": "an email address",
                    "phone": "a phone number as text, like \"+1 213 555 0142\""}[info.field_name]
            raise ValueError(expected(value, what))
        return {"name": clean_name, "email": clean_email, "phone": clean_phone}[info.field_name](value)

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth_date(cls, value, info: ValidationInfo):
        if value is None or (isinstance(value, str) and not value.strip()):  # the booking pages' words
            raise ValueError("Enter the date of birth as YYYY-MM-DD")
        born_on = _parsed(value, date.fromisoformat, "a date of birth as YYYY-MM-DD",
                          "{!r} is not a date; use YYYY-MM-DD")
        return check_birth_date(born_on, info.context["today"])

    def details(self) -> PatientDetails:
        return PatientDetails(name=self.name, email=self.email, phone=self.phone, born_on=self.birth_date)


# Days of the week as the API and the clinic file name them (date.weekday() order), for a course's
# weekdays and a waitlist place's alike.
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RepeatBody(ApiModel):
    """A course: this visit and the ones after it, either one every `every_days` clinic dates or on
    the same `weekdays` each week (the first visit's weekday among them)."""

    DESCRIBED: ClassVar[str] = '{"every_days": 7, "count": 4} or {"weekdays": ["mon", "thu"], "count": 6}'
    # Either key, not both: the document says so with oneOf (a field left out is never null).
    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["every_days", "count"]},
                                                           {"required": ["weekdays", "count"]}]})
    every_days: Annotated[int, Field(ge=1, le=MAX_EVERY_DAYS)] | SkipJsonSchema[None] = Field(
        None, description="Clinic dates from one visit to the next.", examples=[7],
        json_schema_extra=lambda schema: schema.pop("default"))
    weekdays: Annotated[list[str], Field(min_length=2, max_length=2)] | SkipJsonSchema[None] = Field(
        None, description="The days of the week the visits keep, the first visit's "
        "among them: twice a week on the same two days, e.g. Mondays and Thursdays.",
        examples=[["mon", "thu"]],
        json_schema_extra=lambda schema: (schema.pop("default"), schema.update(
            {"uniqueItems": True, "items": {"type": "string", "enum": list(WEEKDAY_NAMES)}})))
    count: int = Field(ge=2, le=MAX_VISITS, description="Visits in all, the first one included.", examples=[4])

    @field_validator("every_days", mode="before")
    @classmethod
    def _every_days(cls, value):
        return None if value is None else read_whole_number(value, 1, MAX_EVERY_DAYS)

    @field_validator("weekdays", mode="before")
    @classmethod
    def _weekdays(cls, value):
        wanted = f'must be two different days of the week ({", ".join(WEEKDAY_NAMES)}), e.g. ["mon", "thu"]'
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValueError(f"{wanted}, not {json_kind(value)}")
        unknown = [day for day in value if not isinstance(day, str) or day.strip().lower() not in WEEKDAY_NAMES]
        if unknown:
            shown = repr(unknown[0][:40]) if isinstance(unknown[0], str) else json_kind(unknown[0])
            raise ValueError(f"{wanted}, not one holding {shown}")
        days = [day.strip().lower() for day in value]
        if len(set(days)) != len(days):
            raise ValueError(f"{wanted}, each once")
        if len(days) != 2:  # twice a week; once a week is {"every_days": 7}
            raise ValueError(f"{wanted}: twice a week (once a week is every_days 7), not {len(days)} "
                             f"day{'' if len(days) == 1 else 's'}")
        return days

    @field_validator("count", mode="before")
    @classmethod
    def _count(cls, value):
        try:
            if value is None:  # left out, as every field left out is told
                raise ValueError(expected(None, f"a whole number from 2 to {MAX_VISITS}"))
            return read_whole_number(value, 2, MAX_VISITS)
        except ValueError as error:
            raise ValueError(f"{error} (visits in all, the first included)") from None

    @model_validator(mode="after")
    def _one_pattern(self):
        if (self.every_days is None) == (self.weekdays is None):
            raise ValueError(f"needs every_days or weekdays, {'not both' if self.weekdays else 'one of them'}: "
                             f"{self.DESCRIBED}")
        return self

    def repeat(self) -> Repeat:
        if self.weekdays is not None:
            return Repeat.on_weekdays((WEEKDAY_NAMES.index(day) for day in self.weekdays), self.count)
        return Repeat(every_days=self.every_days, count=self.count)


class PatientsBody(ApiModel):
    """What a booking's and a waitlist place's bodies share: the service, the practitioner, the
    patient, the safety answers and the language."""

    service: str = Field(min_length=1, description="A service slug from /api/v1/services.", examples=["short"])
    practitioner: str = Field("any", min_length=1, description='A practitioner slug, or "any": the first free one.',
                              examples=["ana"])
    patient: PatientBody
    # Unknown codes are refused (422 naming them), so the document lists the known ones.
    safety: list[str] = Field(description="The safety codes that apply, [] when none do. " + SAFETY_CODES,
                              examples=[[], ["night_pain"]],
                              json_schema_extra={"items": {"type": "string", "enum": [*EMERGENCY, *URGENT]}})
    language: str | None = Field(None, description="The patient's language for emails, one the clinic offers; "
                                 "its first when not given.", examples=["es"])

    _language = field_validator("language", mode="before")(_clinic_language)

    @field_validator("service", "practitioner", mode="before")
    @classmethod
    def _slug(cls, value, info: ValidationInfo):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(expected(value, {"service": SERVICE, "practitioner": 'a practitioner slug or "any"'}
                                      [info.field_name]))
        return value.strip()

    @field_validator("patient", mode="before")
    @classmethod
    def _patient(cls, value):
        if not isinstance(value, dict):
            raise ValueError(expected(value, f"an object: {PatientBody.DESCRIBED}"))
        return value

    @field_validator("safety", mode="before")
    @classmethod
    def _safety(cls, value):
        if not isinstance(value, list):
            raise ValueError(expected(value, "a list of the safety codes that apply, [] when none do"))
        if not all(isinstance(code, str) for code in value):
            wrong = next(code for code in value if not isinstance(code, str))
            raise ValueError(f"must be a list of safety codes (text), not one holding {json_kind(wrong)}")
        return value


class BookingBody(PatientsBody):
    """POST /api/v1/bookings: a free start from /api/v1/slots, the patient, and the safety answers."""

    # As a person reads the body (pydantic would put the shared fields first).
    FIELDS_IN_ORDER: ClassVar[tuple[str, ...]] = ("service", "practitioner", "start", "patient", "safety",
                                                  "language", "repeat")

    start: AwareDatetime = Field(description="A start as /api/v1/slots gives it: ISO 8601 with its UTC offset.",
                                 examples=["2027-03-15T09:00:00-07:00"])
    repeat: RepeatBody | None = Field(None, description="Book a course: this visit and the next ones at the same "
                                      "time of day, all or none (201 lists every visit; 409 course_not_free names "
                                      "those not free, with alternatives).",
                                      examples=[{"every_days": 7, "count": 4},
                                                {"weekdays": ["mon", "thu"], "count": 6}])

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value):
        start = _parsed(value, datetime.fromisoformat,
                        "an ISO 8601 time with its offset, as /api/v1/slots gives it",
                        "{!r} is not an ISO 8601 time, e.g. 2027-03-15T09:00:00-07:00")
        if not 1900 <= start.year <= 9000:  # far outside any diary, and keeps date sums in range
            raise ValueError(f"{value!r} is not a time anyone could book; ask /api/v1/slots for free times")
        if start.utcoffset() is None:
            raise ValueError(f"{value!r} has no UTC offset; add one, e.g. 2027-03-15T09:00:00-07:00")
        return start

    @field_validator("repeat", mode="before")
    @classmethod
    def _repeat(cls, value):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"must be an object: {RepeatBody.DESCRIBED}, not {json_kind(value)}")
        return value

    def booking_request(self) -> BookingRequest:
        return BookingRequest(service=self.service, practitioner=self.practitioner, start=self.start,
                              patient=self.patient.details(), safety=tuple(self.safety), booked_via="api",
                              language=self.language)



class WaitlistBody(PatientsBody):
    """POST /api/v1/waitlist: what the patient would take, who they are, and the safety answers."""

    FIELDS_IN_ORDER: ClassVar[tuple[str, ...]] = ("service", "practitioner", "from", "to", "weekdays",
                                                  "parts_of_day", "patient", "safety", "language")

    first_day: date = Field(alias="from", description="The first clinic date they could come, YYYY-MM-DD.",
                            examples=["2027-03-15"])
    last_day: date = Field(alias="to", description="The last clinic date they could come; the place ends after it.",
                           examples=["2027-04-15"])
    weekdays: list[str] = Field([], description="Days of the week they could come; [] or left out: any.",
                                examples=[["mon", "wed"]],
                                json_schema_extra={"items": {"type": "string", "enum": list(WEEKDAY_NAMES)}})
    parts_of_day: list[str] = Field([], description="Parts of the day they could come; [] or left out: any.",
                                    examples=[["morning"]],
                                    json_schema_extra={"items": {"type": "string", "enum": list(PART_NAMES)}})

    @field_validator("first_day", "last_day", mode="before")
    @classmethod
    def _day(cls, value):
        return _parsed(value, date.fromisoformat, "a clinic date as YYYY-MM-DD",
                       "{!r} is not a date; use YYYY-MM-DD")

    @field_validator("weekdays", "parts_of_day", mode="before")
    @classmethod
    def _names(cls, value, info: ValidationInfo):
        known = WEEKDAY_NAMES if info.field_name == "weekdays" else PART_NAMES
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item in known for item in value):
            raise ValueError(f"must be a list of any of {', '.join(known)} ([] or left out: any)")
        return value

    def join_request(self) -> JoinRequest:
        wishes = Wishes(self.service, self.practitioner, self.first_day, self.last_day,
                        tuple(WEEKDAY_NAMES.index(day) for day in self.weekdays), tuple(self.parts_of_day))
        return JoinRequest(wishes, self.patient.details(), tuple(self.safety), "api", self.language)


def read_booking(body, today: date, languages: list[str]) -> tuple[BookingRequest, Repeat | None]:
    """The JSON body of POST /api/v1/bookings, or InvalidInput naming every bad field: the booking,
    and its repeat when it books a course. `language` (optional, one of the clinic's `languages`) is
    what the patient's emails are written in."""
    checked = read(BookingBody, body, today=today, languages=languages)
    return checked.booking_request(), checked.repeat.repeat() if checked.repeat else None
