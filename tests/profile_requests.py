"""In-process cost of the requests `make bench` loads, on the same bench clinic: where the README's
in-process numbers come from, and where to start before changing anything for speed.

    python -m tests.profile_requests                          # CPU per request: the least of 7 batches
    python -m tests.profile_requests --cprofile "time list"   # and where one request's time goes

The app is made with the served configuration (rate limits on, raised as the bench raises them)
and asked through Flask's test client, in one process on a SQLite file: no server, no load
client, so what is measured is the app alone. Run before and after a change in turn, on a quiet
machine; the numbers of one machine compare, not those of two.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_migrate

from booking import create_app
from booking.extensions import db
from booking.operations.demo import DEMO_STAFF
from tests.bench import BASE_URL, SECRET_KEY, SERVED_ENV, booking_body, staff_day
from tests.bench_clinic import build_clinic

BATCHES, PER_BATCH = 7, 300
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def submit(client, path: str, form: dict) -> int:
    token = CSRF.search(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token.group(1) if token else "", **form}).status_code


def requests(app, now: datetime) -> dict:
    """Each request as a function of no arguments that asks it and returns the answer, ready to ask
    (the desk signed in, the patient's journey answered up to the time list)."""
    patient, desk = app.test_client(), app.test_client()
    for path, form in (("/book/first-visit", {"returning": "yes"}), ("/book", {"service": "follow-up"}),
                       ("/book/practitioner", {"practitioner": "mei-lin"})):
        submit(patient, path, form)
    email, password, _role = next(entry for entry in DEMO_STAFF if entry[0].startswith("desk"))
    assert submit(desk, "/staff/sign-in", {"email": email, "password": password}) == 303
    with app.app_context():
        day = staff_day(now)
    bodies = iter(booking_body(slot, number, "review") for number, slot in enumerate(free_times(patient, now)))

    def book():
        answer = patient.post("/api/v1/bookings", data=next(bodies), content_type="application/json")
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer

    return {
        "slots API, 7 days, one practitioner": lambda: patient.get(
            "/api/v1/slots?service=follow-up&practitioner=mei-lin&days=7"),
        "time list": lambda: patient.get("/book/time"),
        "home page": lambda: patient.get("/"),
        "desk day": lambda: desk.get(f"/desk?date={day}"),
        "booking POST": book,
    }


def free_times(client, now: datetime) -> list[dict]:
    """Free review times at least a day ahead, none overlapping another of its practitioner's."""
    free, taken_until, first_day = [], {}, (now + timedelta(days=1)).date()
    for offset in range(0, 150, 31):
        answer = client.get(f"/api/v1/slots?service=review&practitioner=any&days=31"
                            f"&from={(first_day + timedelta(days=offset)).isoformat()}").get_json()
        for slot in answer["slots"]:
            start = datetime.fromisoformat(slot["start"])
            if start >= taken_until.get(slot["practitioner"], start):
                free.append(slot)
                taken_until[slot["practitioner"]] = start + timedelta(hours=1)  # longer than a review and its buffer
    return free


def cpu_microseconds(ask, batches: int = BATCHES, per_batch: int = PER_BATCH) -> float:
    """The least CPU time per request of some batches: a busy moment of the machine spoils one batch."""
    for _ in range(50):
        ask()  # what a process makes on its first requests and keeps
    least = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(per_batch):
            ask()
        least = min(least, (time.process_time() - started) / per_batch)
    return least * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cprofile", metavar="REQUEST", help="also profile this request (a name from the list)")
    asked = parser.parse_args(argv)
    now = datetime.now(timezone.utc)
    folder = Path(tempfile.mkdtemp(prefix="booking-profile-"))
    app = create_app({"SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'profile.sqlite'}",
                      **{key: value for key, value in SERVED_ENV.items() if key.startswith("API_")}})
    with app.app_context():
        flask_migrate.upgrade()
        build_clinic(now)
    asking = requests(app, now)
    print(f"CPU per request, in-process (the least of {BATCHES} batches of {PER_BATCH}):")
    for label, ask in asking.items():
        print(f"  {label:<40} {cpu_microseconds(ask):8.0f} us")
    if asked.cprofile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [asking[asked.cprofile]() for _ in range(PER_BATCH)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
