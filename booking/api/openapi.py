"""The JSON API described as an OpenAPI 3.1 document, generated from the pydantic models that check
its requests (booking/api/schemas.py) and from models of its answers below. Pure: no Flask, no
database; built once per process (`document_text`).

The answers' models say what routes.py sends; Schemathesis holds the two together in
tests/test_api_document.py by calling a live server and checking every answer against this document.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from pydantic.json_schema import SkipJsonSchema

from booking.api.schemas import BookingBody, LanguageQuery, SlotQuery, WaitlistBody

PREFIX = "/api/v1"
COMPONENTS = "#/components/schemas/{model}"


class Answer(BaseModel):
    """An answer's shape: exactly these keys, so the document and the code cannot drift apart unseen."""

    model_config = ConfigDict(extra="forbid")


class Service(Answer):
    slug: str = Field(examples=["follow-up"])
    name: str = Field(examples=["Follow-up treatment"])
    description: str = Field(examples=["For patients who have had a first visit. A short check on progress, then treatment."])
    minutes: int = Field(examples=[45])
    new_patients_only: bool


class Services(Answer):
    language: str = Field(description="The language of the texts.", examples=["en"])
    services: list[Service]


class Practitioner(Answer):
    slug: str = Field(examples=["mei-lin"])
    name: str = Field(examples=["Mei Lin, L.Ac."])
    bio: str
    services: list[str] = Field(description="Slugs of the services they offer.", examples=[["first-visit", "follow-up", "review"]])


class Practitioners(Answer):
    language: str = Field(examples=["en"])
    practitioners: list[Practitioner]


class Slot(Answer):
    start: str = Field(description="In the clinic's zone, with its offset.", examples=["2027-03-15T09:00:00-07:00"])
    end: str = Field(examples=["2027-03-15T09:45:00-07:00"])
    practitioner: str = Field(examples=["mei-lin"])


class Slots(Answer):
    timezone: str = Field(description="The clinic's IANA zone.", examples=["America/Los_Angeles"])
    slots: list[Slot] = Field(description="Sorted by start, then practitioner.")


class CourseVisit(Answer):
    reference: str = Field(examples=["K7M2QX4P"])
    start: str = Field(examples=["2027-03-15T09:00:00-07:00"])
    end: str = Field(examples=["2027-03-15T09:45:00-07:00"])
    practitioner: str = Field(examples=["mei-lin"])
    service: str = Field(examples=["follow-up"])
    manage_url: str = Field(description="This visit's own secret link: each visit moves or cancels on its own.")


# Only after urgent safety answers; left out when there is none, never null.
URGENT_ADVICE = Field(None, description="Only after urgent safety answers: what the caller tells the patient.",
                      json_schema_extra=lambda schema: schema.pop("default"))


class Booked(CourseVisit):
    """One visit booked: a course's visit, and the advice for the patient after urgent answers."""

    manage_url: str = Field(description="The patient's secret link to cancel, move or fill in the intake.")
    advice: str | SkipJsonSchema[None] = URGENT_ADVICE


class CourseEvery(Answer):
    """A course's repeat as it was asked for: every so many clinic dates..."""

    every_days: int = Field(examples=[7])
    count: int = Field(examples=[4])


class CourseOnWeekdays(Answer):
    """...or on the same weekdays each week."""

    weekdays: list[str] = Field(examples=[["mon", "thu"]])
    count: int = Field(examples=[6])


class CourseBooked(Answer):
    course: CourseEvery | CourseOnWeekdays
    visits: list[CourseVisit] = Field(description="Every visit of the course, in order.")
    advice: str | SkipJsonSchema[None] = URGENT_ADVICE


class VisitNotFree(Answer):
    number: int = Field(description="The visit's place in the course, from 1.", examples=[3])
    start: str | None = Field(description="The time the pattern gives it; null when it falls on no bookable date.",
                              examples=["2027-03-29T09:00:00-07:00"])
    alternatives: list[Slot] = Field(description="The nearest free starts with the same practitioner.")


class CourseNotFree(Answer):
    error: Literal["course_not_free"]
    message: str
    visits: list[VisitNotFree]


class Joined(Answer):
    manage_url: str = Field(description="The patient's secret link to see, change or leave their place.")
    service: str = Field(examples=["follow-up"])
    practitioner: str = Field(examples=["any"])
    from_: str = Field(alias="from", examples=["2027-03-15"])
    to: str = Field(examples=["2027-04-15"])
    notice: str | None = Field(description="Null, or why no time is likely to come: as the clinic's hours stand, "
                                           "nobody the place would see works on its days and at its times. The "
                                           "place is kept, and offered what new hours open.",
                               examples=[None])


class Problem(Answer):
    """Every other refusal: bad JSON (invalid_json), a NUL or half a surrogate pair (bad_request), too
    many requests (too_many_requests), a body too large, the clinic not set up or busy."""

    error: str = Field(examples=["invalid_json"])
    message: str


class Invalid(Answer):
    error: Literal["invalid"]
    errors: dict[str, str] = Field(description="Each field to fix (dotted inside the patient) and how.",
                                   examples=[{"days": "must be a whole number from 1 to 31, not 40"}])


class Emergency(Answer):
    error: Literal["emergency"]
    message: str
    advice: str = Field(description="Emergency advice for the patient, in their language: no booking was made.")


class UnknownName(Answer):
    error: Literal["not_found"]
    message: str = Field(examples=["no service 'massage'; known services: first-visit, follow-up, review"])
    field: str = Field(examples=["service"])


class AlreadyWaiting(Answer):
    error: Literal["already_waiting"]
    message: str = Field(examples=["You already have a place on the waitlist for this visit. We have emailed its "
                                   "link to you again: open it to see, change or leave your place."])


class SlotTaken(Answer):
    error: Literal["slot_taken"]
    message: str
    alternatives: list[Slot] = Field(description="Free starts near the one asked for.")


def _answer(description: str, schema: dict, example: dict | None = None, headers: dict | None = None) -> dict:
    content = {"schema": schema} | ({"example": example} if example else {})
    return {"description": description, "content": {"application/json": content}} | ({"headers": headers} if headers else {})


def _parameters(model: type[BaseModel]) -> list[dict]:
    """A query model's fields as OpenAPI query parameters (an optional one is simply left out, never null)."""
    schema = model.model_json_schema()
    parameters = []
    for name, field in schema["properties"].items():
        field = dict(field)
        choices = [option for option in field.pop("anyOf", []) if option.get("type") != "null"]
        field |= choices[0] if choices else {}
        if field.get("default", "") is None:
            del field["default"]
        parameters.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                           "description": field.pop("description", ""), "schema": field})
    return parameters


RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}},
}


def build_document() -> dict:
    """The whole OpenAPI 3.1 document."""
    models = [(BookingBody, "validation"), (Services, "serialization"), (Practitioners, "serialization"),
              (Slots, "serialization"), (Booked, "serialization"), (Problem, "serialization"),
              (Invalid, "serialization"), (Emergency, "serialization"), (UnknownName, "serialization"),
              (SlotTaken, "serialization"), (CourseBooked, "serialization"), (CourseNotFree, "serialization"),
              (WaitlistBody, "validation"), (Joined, "serialization"), (AlreadyWaiting, "serialization")]
    refs, definitions = models_json_schema(models, ref_template=COMPONENTS)
    ref = {model: refs[(model, mode)] for model, mode in models}
    problem = ref[Problem]
    common = {
        "400": _answer("A NUL character or half a UTF-16 surrogate pair anywhere in the request.", problem,
                       {"error": "bad_request", "message": "The request holds a NUL character, which no field "
                                                          "accepts. Remove it and try again."}),
        "429": _answer("Too many requests from this address: the API's rate limit (API_READ_LIMIT, "
                       "API_BOOKING_LIMIT).", problem,
                       {"error": "too_many_requests", "message": "300 per 1 minute"}, RATE_LIMIT_HEADERS),
        "503": _answer("The clinic is not set up yet (not_set_up), or the database stayed busy (busy): "
                       "nothing was changed; try again.", problem),
    }
    invalid = _answer("A field to fix, named with what to do.", ref[Invalid],
                      {"error": "invalid", "errors": {"language": "must be one of the clinic's languages: en, es"}})
    unknown = _answer("The service or practitioner named does not exist.", ref[UnknownName],
                      {"error": "not_found", "message": "no practitioner 'zed'", "field": "practitioner"})
    language = _parameters(LanguageQuery)
    bookings_400 = _answer("The body is not JSON (or not sent as application/json), is nested too deeply, or "
                           "holds a NUL character or half a surrogate pair.", problem,
                           {"error": "invalid_json", "message": "the body is not valid JSON: Expecting value "
                            "(line 2, column 7)"})
    body_example = {"service": "follow-up", "practitioner": "mei-lin", "start": "2027-03-15T09:00:00-07:00",
                    "patient": {"name": "Pat Example", "email": "pat@example.com", "phone": "+1 213 555 0142",
                                "birth_date": "1980-05-17"}, "safety": []}
    paths = {
        f"{PREFIX}/services": {"get": {
            "operationId": "listServices", "summary": "Bookable services, in the clinic's order.",
            "parameters": language,
            "responses": {"200": _answer("The services.", ref[Services]), "422": invalid} | common}},
        f"{PREFIX}/practitioners": {"get": {
            "operationId": "listPractitioners", "summary": "Practitioners and the services each offers.",
            "parameters": language,
            "responses": {"200": _answer("The practitioners.", ref[Practitioners]), "422": invalid} | common}},
        f"{PREFIX}/slots": {"get": {
            "operationId": "listSlots", "summary": "Free starts for a service over 1-31 clinic dates.",
            "parameters": _parameters(SlotQuery),
            "responses": {
                "200": _answer("The free starts.", ref[Slots], {"timezone": "America/Los_Angeles", "slots": [
                    {"start": "2027-03-15T09:00:00-07:00", "end": "2027-03-15T09:45:00-07:00", "practitioner": "mei-lin"}]}),
                "404": unknown,
                "422": _answer("A parameter to fix, or a practitioner who does not offer the service.", ref[Invalid],
                               {"error": "invalid", "errors": {"days": "must be a whole number from 1 to 31, not 40"}}),
            } | common}},
        f"{PREFIX}/bookings": {"post": {
            "operationId": "createBooking",
            "summary": "Book a free start for a patient who has passed the safety check.",
            "description": "No cookies and no CSRF token. Emergency safety answers are read first and stop "
                           "the booking whatever else is wrong.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref[BookingBody], "examples": {
                    "booking": {"value": body_example},
                    "weekly_course": {"summary": "A course: four visits, one a week",
                                      "value": body_example | {"repeat": {"every_days": 7, "count": 4}}},
                    "twice_weekly_course": {"summary": "A course: six visits on Mondays and Thursdays",
                                            "value": body_example | {"repeat": {"weekdays": ["mon", "thu"],
                                                                                "count": 6}}}}}}},
            "responses": {
                "201": _answer("Booked: one visit, or with `repeat` every visit of the course.",
                               {"anyOf": [ref[Booked], ref[CourseBooked]]}, {
                    "reference": "K7M2QX4P", "start": "2027-03-15T09:00:00-07:00", "end": "2027-03-15T09:45:00-07:00",
                    "practitioner": "mei-lin", "service": "follow-up", "manage_url": "https://clinic.example/manage/..."}),
                "400": bookings_400,
                "404": unknown,
                "409": _answer("The time was just taken (slot_taken), or with `repeat` some visits of the course are "
                               "not free (course_not_free): nothing was written.",
                               {"anyOf": [ref[SlotTaken], ref[CourseNotFree]]}, {
                    "error": "slot_taken", "message": "that time was just taken; choose one of the alternatives or "
                    "ask /api/v1/slots again", "alternatives": [{"start": "2027-03-15T09:45:00-07:00",
                                                                 "end": "2027-03-15T10:00:00-07:00", "practitioner": "mei-lin"}]}),
                "413": _answer("The body is larger than any booking needs.", problem),
                "422": _answer("A field to fix (invalid) or an emergency safety answer (emergency): nothing "
                               "was written.", {"anyOf": [ref[Invalid], ref[Emergency]]},
                               {"error": "invalid", "errors": {"patient.phone": "Enter a phone number of 7 to 15 "
                                "digits, like 213 555 0142 or +1 213 555 0142"}}),
                "429": common["429"], "503": common["503"]}}},
        f"{PREFIX}/waitlist": {"post": {
            "operationId": "joinWaitlist",
            "summary": "Put a patient who has passed the safety check on the waitlist for a time that frees up.",
            "description": "When a matching time frees up, places are offered it by email in the order they "
                           "joined; the first to confirm books it. Emergency safety answers are read first and "
                           "stop the joining whatever else is wrong.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref[WaitlistBody], "examples": {"place": {"value": {
                    key: value for key, value in body_example.items() if key != "start"} | {
                    "practitioner": "any", "from": "2027-03-15", "to": "2027-04-15", "weekdays": ["mon", "wed"],
                    "parts_of_day": ["morning"]}}}}}},
            "responses": {
                "201": _answer("On the list.", ref[Joined], {
                    "manage_url": "https://clinic.example/waitlist/...", "service": "follow-up", "practitioner": "any",
                    "from": "2027-03-15", "to": "2027-04-15", "notice": None}),
                "400": bookings_400,
                "404": unknown,
                "409": _answer("The patient (email and date of birth) already has a place for this service "
                               "(already_waiting): nothing changed, and the place's link was emailed to them again. "
                               "The link is never in an answer.", ref[AlreadyWaiting]),
                "413": _answer("The body is larger than any place on the list needs.", problem),
                "422": _answer("A field to fix (invalid) or an emergency safety answer (emergency): nothing "
                               "was written.", {"anyOf": [ref[Invalid], ref[Emergency]]},
                               {"error": "invalid", "errors": {"to": "must be on or after from"}}),
                "429": common["429"], "503": common["503"]}}},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "describeApi", "summary": "This document.",
            "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          "429": common["429"]}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Clinic booking API", "version": "1",
                 "description": "Services, practitioners, free times and bookings. Rate limited per address; "
                                "every refusal is JSON with an `error` code."},
        "paths": paths,
        "components": {"schemas": definitions["$defs"]},
    }


@cache
def document_text() -> str:
    """The document as JSON text, built once per process (the models do not change while it runs)."""
    return json.dumps(build_document(), indent=1)
