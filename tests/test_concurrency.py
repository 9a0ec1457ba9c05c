"""Twenty patients press "book" for the same time at once, against a real multi-process server."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, Patient
from booking.operations.clinic_file import import_clinic_file
from tests.conftest import CLINIC_TOML, app_config, close_database
from tests import servers

CONTENDERS = 20


def call(url: str, payload: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def gunicorn(database_url, tmp_path):
    """gunicorn with four worker processes of two threads each, on 127.0.0.1 only."""
    setup = create_app(app_config(database_url))
    with setup.app_context():
        import_clinic_file(CLINIC_TOML)
    close_database(setup)
    with servers.gunicorn(database_url, tmp_path, env={"API_BOOKING_LIMIT": "1000 per minute"}) as base:
        yield base


def race(base: str, start: str, service: str, practitioner: str, same_patient: bool) -> list[tuple[int, dict]]:
    """Release CONTENDERS bookings of one start at the same instant; their answers."""
    release = threading.Barrier(CONTENDERS, timeout=30)

    def contend(number: int) -> tuple[int, dict]:
        who = 0 if same_patient else number
        payload = {
            "service": service,
            "practitioner": practitioner,
            "start": start,
            "patient": {"name": f"Patient {who}", "email": f"p{who}@example.com",
                        "phone": "+1 213 555 0100", "birth_date": "1980-01-01"},
            "safety": [],
        }
        release.wait()
        return call(f"{base}/api/v1/bookings", payload)

    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        return list(pool.map(contend, range(CONTENDERS)))


def count_rows(database_url: str, model) -> int:
    check = create_app(app_config(database_url))
    with check.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(model))
    close_database(check)
    return count


@pytest.mark.slow
def test_exactly_one_of_twenty_simultaneous_bookings_wins(gunicorn, database_url):
    status, found = call(f"{gunicorn}/api/v1/slots?service=consult&practitioner=ana&days=14")
    assert status == 200 and found["slots"], found
    start = found["slots"][0]["start"]
    results = race(gunicorn, start, "consult", "ana", same_patient=False)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (CONTENDERS - 1), results
    for status, payload in results:
        if status == 409:
            assert payload["error"] == "slot_taken"
            assert start not in [a["start"] for a in payload["alternatives"]]
    assert count_rows(database_url, Appointment) == 1


@pytest.mark.slow
def test_one_patient_pressing_twenty_times_for_any_practitioner(gunicorn, database_url):
    """Two practitioners offer the time: one booking, and one patient record. This once allowed two,
    one with each practitioner, for one person at one time; the presses that find the patient
    already booked then are refused as such (422), the rest lose the race for the time (409)."""
    status, found = call(f"{gunicorn}/api/v1/slots?service=short&practitioner=any&days=14")
    shared = [s["start"] for s in found["slots"] if s["practitioner"] == "ben"]
    start = shared[0]
    assert {s["practitioner"] for s in found["slots"] if s["start"] == start} == {"ana", "ben"}
    results = race(gunicorn, start, "short", "any", same_patient=True)

    statuses = [status for status, _ in results]
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409, 422}, results
    assert all("already has a visit at that time" in answer["errors"]["start"]
               for status, answer in results if status == 422)
    assert count_rows(database_url, Appointment) == 1
    assert count_rows(database_url, Patient) == 1
