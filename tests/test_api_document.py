"""Schemathesis against the API's own OpenAPI document, on a live server (both databases): requests
generated from the document, valid and invalid, must never get a 5xx, and every answer must match
what the document says for its status (status code, content type, JSON schema)."""

from __future__ import annotations

import os
from datetime import date

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from booking import create_app
from booking.api.openapi import build_document, document_text
from booking.api.schemas import BookingBody, SlotQuery, read
from booking.operations.clinic_file import import_clinic_file
from tests.browser import LiveServer
from tests.conftest import CLINIC_TOML, app_config, close_database

# Fuzzing sends hundreds of requests a minute from one address: the real rate limiter stays on, set
# through its own settings above anything the test sends (tests/test_api.py checks the 429s).
GENEROUS_LIMITS = {"RATELIMIT_ENABLED": True, "API_READ_LIMIT": "100000 per minute",
                   "API_BOOKING_LIMIT": "100000 per minute"}
# The same requests on every run (Hypothesis derandomized), a bounded number per operation and kind.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))  # more for a local hunt: API_FUZZ_EXAMPLES=500
CONFIG = SchemathesisConfig.from_dict({"seed": 19})
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture
def live_api(database_url, clock):
    """The test clinic served by werkzeug on 127.0.0.1, with the pinned clock."""
    app = create_app(app_config(database_url, CLOCK=clock, **GENEROUS_LIMITS))
    with app.app_context():
        import_clinic_file(CLINIC_TOML, "test_clinic.toml")
    with LiveServer(app) as server:
        yield server
    close_database(app)


# Schemathesis's own pytest integration (schemathesis.pytest.from_fixture + @schema.parametrize) fails
# under pytest 9 ("'Function' object has no attribute '_nodeid'", Schemathesis 4.32.5), so each
# operation's cases are drawn here with its public strategies and run as plain Hypothesis tests.
# Every operation the document names, known without a server (the document is built from the models).
OPERATIONS = [(method.upper(), path) for path, methods in build_document()["paths"].items() for method in methods]


def generated_cases(operation):
    """The documented examples, then valid and invalid requests drawn from the document."""
    examples = operation.get_strategies_from_examples()
    takes_input = bool(operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"))
    return ([st.one_of(examples)] if examples else []) + [operation.as_strategy(GenerationMode.POSITIVE)] + (
        [operation.as_strategy(GenerationMode.NEGATIVE)] if takes_input else [])


@pytest.mark.parametrize("method, path", OPERATIONS)
def test_every_answer_matches_the_document_and_none_is_a_5xx(live_api, method, path):
    schema = schemathesis.openapi.from_url(live_api.url + "/api/v1/openapi.json", config=CONFIG)
    operation = schema[path][method]
    for cases in generated_cases(operation):
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(case=cases)
        def answered_as_documented(case):
            case.call_and_validate(base_url=live_api.url, checks=CHECKS, timeout=30)

        answered_as_documented()


# --- the document itself ---------------------------------------------------------------------


def test_the_document_is_openapi_3_1_and_names_every_api_route_with_its_refusals(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    routes = {(method.lower(), rule.rule) for rule in client.application.url_map.iter_rules()
              if rule.endpoint.startswith("api.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(method, path) for path, methods in document["paths"].items() for method in methods}
    assert described == routes, "every API route is in the document, and nothing else"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert "429" in operation["responses"], f"{method} {path} is rate limited"
            assert "Retry-After" in operation["responses"]["429"]["headers"]
            if operation.get("parameters") or operation.get("requestBody"):
                assert {"400", "422"} <= operation["responses"].keys(), f"{method} {path} refuses bad input"
    assert {"404", "409", "413", "503"} <= document["paths"]["/api/v1/bookings"]["post"]["responses"].keys()


def test_the_document_is_generated_from_the_models_that_check_requests():
    document = build_document()
    components = document["components"]["schemas"]
    assert components["BookingBody"]["properties"]["start"] == BookingBody.model_json_schema()["properties"]["start"]
    assert components["BookingBody"]["additionalProperties"] is False  # unknown keys are refused
    slot_parameters = {p["name"]: p for p in document["paths"]["/api/v1/slots"]["get"]["parameters"]}
    assert slot_parameters.keys() == SlotQuery.model_json_schema(by_alias=True)["properties"].keys()
    days = slot_parameters["days"]["schema"]
    assert (days["type"], days["minimum"], days["maximum"], days["default"]) == ("integer", 1, 31, 7)
    assert slot_parameters["service"]["required"] and not slot_parameters["from"]["required"]


def test_the_documents_booking_example_is_a_booking_the_models_accept():
    example = build_document()["paths"]["/api/v1/bookings"]["post"]["requestBody"]["content"]["application/json"]
    body = example["examples"]["booking"]["value"]
    with create_app(app_config("sqlite://")).test_request_context():
        checked = read(BookingBody, body, today=date(2027, 3, 8), languages=["en"])
    assert checked.booking_request().patient.email == "pat@example.com"


def test_the_document_is_built_once_per_process(client):
    first = client.get("/api/v1/openapi.json").get_data()
    assert document_text() is document_text()  # cached: a request only sends the text
    assert client.get("/api/v1/openapi.json").get_data() == first


def test_every_example_in_the_document_matches_its_own_schema():
    document = build_document()
    checked = 0
    for methods in document["paths"].values():
        for operation in methods.values():
            for answer in operation["responses"].values():
                content = answer.get("content", {}).get("application/json", {})
                if "example" in content:
                    schema = {"components": document["components"]} | content["schema"]
                    jsonschema_rs.validate(schema, content["example"])  # raises naming the difference
                    checked += 1
    assert checked >= 10


def test_the_document_shows_both_shapes_of_a_courses_repeat_and_its_examples_are_accepted():
    document = build_document()
    repeat = document["components"]["schemas"]["RepeatBody"]
    assert repeat["oneOf"] == [{"required": ["every_days", "count"]}, {"required": ["weekdays", "count"]}]
    assert repeat["properties"]["weekdays"]["items"]["enum"][:2] == ["mon", "tue"]
    assert {"CourseEvery", "CourseOnWeekdays"} <= document["components"]["schemas"].keys()
    examples = document["paths"]["/api/v1/bookings"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    with create_app(app_config("sqlite://")).test_request_context():
        repeats = [read(BookingBody, examples[name]["value"], today=date(2027, 3, 8), languages=["en"]).repeat.repeat()
                   for name in ("weekly_course", "twice_weekly_course")]
    assert [(r.every_days, r.count, r.weekdays) for r in repeats] == [(7, 4, ()), (7, 6, (0, 3))]
