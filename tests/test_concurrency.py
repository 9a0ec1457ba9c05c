"""Twenty patients press "book" for the same time at once, against a real multi-process server."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment
from booking.operations.clinic_file import import_clinic_file
from tests.conftest import CLINIC_TOML, app_config, close_database
from tests.postgres import free_port

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

    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "concurrency-test-secret",
        "API_BOOKING_LIMIT": "1000 per minute",
    }
    env.pop("FLASK_DEBUG", None)
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "2",
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", "booking:create_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(f"{base}/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {(tmp_path / 'gunicorn.log').read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.mark.slow
def test_exactly_one_of_twenty_simultaneous_bookings_wins(gunicorn, database_url):
    status, found = call(f"{gunicorn}/api/v1/slots?service=consult&practitioner=ana&days=14")
    assert status == 200 and found["slots"], found
    start = found["slots"][0]["start"]
    release = threading.Barrier(CONTENDERS, timeout=30)

    def contend(number: int) -> tuple[int, dict]:
        payload = {
            "service": "consult",
            "practitioner": "ana",
            "start": start,
            "patient": {"name": f"Patient {number}", "email": f"p{number}@example.com",
                        "phone": "+1 213 555 0100", "birth_date": "1980-01-01"},
            "safety": [],
        }
        release.wait()
        return call(f"{gunicorn}/api/v1/bookings", payload)

    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        results = list(pool.map(contend, range(CONTENDERS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (CONTENDERS - 1), results
    for status, payload in results:
        if status == 409:
            assert payload["error"] == "slot_taken"
            assert start not in [a["start"] for a in payload["alternatives"]]

    check = create_app(app_config(database_url))
    with check.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    close_database(check)
