"""Two app servers on one PostgreSQL and one Redis: the deployment the README's
"Two or more app servers" describes, started for real on 127.0.0.1.

Two gunicorn instances (separate processes on different ports, two workers each) serve the
same PostgreSQL database with the same SECRET_KEY and BASE_URL, and count rate limits in one
Debian redis-server. They stand behind a (pretend) reverse proxy, so TRUSTED_PROXIES=1 and
every request names its client in X-Forwarded-For: each test's clients are its own, so one
test's requests never use up another's allowance. Then:

- forty patients ask for the same time at the same instant, half through each instance:
  one is booked, the others are told it was taken and offered other times;
- the API's read limit is one count across both instances;
- two email senders, started together on the same outbox, deliver every email once.

PostgreSQL only: SQLite is one file on one host, so it cannot be shared by two hosts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, OutboxMessage, OutboxStatus
from booking.operations.clinic_file import import_clinic_file
from tests import servers
from tests.conftest import CLINIC_TOML, app_config, close_database, fresh_database
from tests.test_emails import mail  # noqa: F401 (fixture)
from tests.test_races import at_once

pytestmark = pytest.mark.slow

READ_LIMIT = 12  # API reads per client address per minute, counted in Redis for both instances
RACERS = 40
EMAILED = 40  # patients booked (each sent a confirmation) before the two senders start


@dataclass
class Deployment:
    bases: tuple[str, str]  # the two instances' addresses
    access_logs: tuple[Path, Path]  # one line per request each: "worker-pid status"
    database_url: str
    env: dict  # what both instances have beside DATABASE_URL, SECRET_KEY and BASE_URL
    checker: object  # an app on the shared database, for reading what the instances wrote

    def bookings_answered(self) -> list[list[str]]:
        """Each instance's access log lines so far for bookings answered 201 or 409 ("worker-pid status")."""
        return [[line for line in log.read_text().splitlines() if line.endswith((" 201", " 409"))]
                for log in self.access_logs]

    def bookings_answered_since(self, before: list[list[str]], expected: int) -> list[list[str]]:
        """The lines added since `before`, waiting a moment for each instance to reach `expected`:
        gunicorn writes a request's line just after sending its answer."""
        deadline = time.monotonic() + 10
        while True:
            added = [lines[len(earlier):] for lines, earlier in zip(self.bookings_answered(), before)]
            if all(len(lines) >= expected for lines in added) or time.monotonic() > deadline:
                return added
            time.sleep(0.1)


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("deployment")
    with fresh_database(request, "postgresql", folder) as url, ExitStack() as running:
        setup = create_app(app_config(url))  # `flask db upgrade` ran once, into the template
        with setup.app_context():
            import_clinic_file(CLINIC_TOML, "deployment.toml")
        close_database(setup)
        redis_url = running.enter_context(servers.redis_server(folder))
        env = {"RATELIMIT_STORAGE_URI": redis_url, "TRUSTED_PROXIES": "1",
               "API_READ_LIMIT": f"{READ_LIMIT} per minute"}
        access_logs = (folder / "access-first.log", folder / "access-second.log")
        bases = tuple(running.enter_context(servers.started_together(
            *[servers.gunicorn(url, folder, workers=2, env=env, access_log=log) for log in access_logs])))
        checker = create_app(app_config(url))
        running.callback(close_database, checker)
        assert bases[0] != bases[1]
        yield Deployment(bases, access_logs, url, env, checker)


def call(url: str, client: str, payload: dict | None = None) -> tuple[int, dict, dict]:
    """One API request from `client` (its address, as the proxy forwards it): status, headers, JSON."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                              "X-Forwarded-For": client})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, dict(error.headers), json.loads(body)
        except ValueError:
            return error.code, dict(error.headers), {"body": body.decode(errors="replace")[:500]}


def free_starts(base: str, client: str) -> list[str]:
    """Ana's free 30-minute starts on the hour and half hour (so no two overlap), soonest first,
    leaving out the soonest: the served app reads the real clock, so it may become too soon."""
    status, _, answer = call(f"{base}/api/v1/slots?service=short&practitioner=ana&days=31", client)
    assert status == 200, answer
    return [slot["start"] for slot in answer["slots"] if slot["start"][14:16] in ("00", "30")][1:]


def booking(start: str, number: int) -> dict:
    return {"service": "short", "practitioner": "ana", "start": start, "safety": [],
            "patient": {"name": f"Patient {number}", "email": f"patient{number}@example.com",
                        "phone": "+1 213 555 0100", "birth_date": "1980-01-01"}}


def test_forty_bookings_of_one_time_across_both_instances_book_it_once(deployment):
    start = free_starts(deployment.bases[0], "198.51.100.1")[0]
    before = deployment.bookings_answered()

    def patient(number: int):
        # Each from a phone of its own (its own address), alternating between the instances.
        return lambda: call(f"{deployment.bases[number % 2]}/api/v1/bookings", f"10.1.0.{number + 1}",
                            booking(start, number))

    answers = at_once(*[patient(number) for number in range(RACERS)])

    statuses = Counter(status for status, _, _ in answers)
    assert statuses == {201: 1, 409: RACERS - 1}, [answer for answer in answers if answer[0] not in (201, 409)]
    [won] = [body for status, _, body in answers if status == 201]
    assert won["start"] == start
    for status, _, body in answers:
        if status == 409:  # the documented answer, with other times to offer
            assert body["error"] == "slot_taken" and body["alternatives"], body
            assert start not in {slot["start"] for slot in body["alternatives"]}
    with deployment.checker.app_context():
        booked = db.session.scalars(sa.select(Appointment.reference).where(
            Appointment.starts_at == datetime.fromisoformat(start))).all()
        db.session.remove()
    assert booked == [won["reference"]]
    # Each instance answered its own twenty (the logs are written by the servers, not the test),
    # and did so from both of its worker processes between them.
    answered = deployment.bookings_answered_since(before, RACERS // 2)
    assert [len(lines) for lines in answered] == [RACERS // 2] * 2, answered
    assert {line.split()[0] for line in answered[0]}.isdisjoint(line.split()[0] for line in answered[1])


def test_the_read_limit_is_one_count_across_both_instances(deployment):
    client = "203.0.113.9"
    remaining = []
    for number in range(READ_LIMIT):
        status, headers, _ = call(f"{deployment.bases[number % 2]}/api/v1/services", client)
        assert status == 200, (number, status)
        remaining.append(int(headers["X-RateLimit-Remaining"]))
    # Counted down together: each instance sees the other's requests.
    assert remaining == list(range(READ_LIMIT - 1, -1, -1))
    for base in deployment.bases:
        status, _, body = call(f"{base}/api/v1/services", client)
        assert status == 429, (base, status, body)
    status, _, _ = call(f"{deployment.bases[1]}/api/v1/services", "203.0.113.10")
    assert status == 200  # another client's allowance is its own


def test_two_senders_started_together_deliver_each_email_once(deployment, mail):  # noqa: F811
    starts = free_starts(deployment.bases[1], "198.51.100.2")[:EMAILED]
    assert len(starts) == EMAILED

    def book(number: int) -> int:
        status, _, body = call(f"{deployment.bases[number % 2]}/api/v1/bookings", f"10.2.0.{number + 1}",
                               booking(starts[number], 1000 + number))
        assert status == 201, body
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(book, range(EMAILED))) == [201] * EMAILED

    def outbox() -> list[tuple[str, OutboxStatus]]:
        with deployment.checker.app_context():
            rows = db.session.execute(sa.select(OutboxMessage.to_address, OutboxMessage.status)).all()
            db.session.remove()
        return [tuple(row) for row in rows]

    queued = outbox()
    assert len(queued) >= EMAILED and {status for _, status in queued} == {OutboxStatus.QUEUED}

    # Two hosts' senders: separate processes, the same database, one mail server.
    environment = servers.app_environment(deployment.database_url, deployment.env | {"SMTP_URL": mail.url})
    command = [sys.executable, "-m", "flask", "--app", "booking", "outbox", "send"]
    senders = [subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    try:
        outputs = [sender.communicate(timeout=60)[0] for sender in senders]
    finally:
        for sender in senders:
            if sender.poll() is None:
                sender.kill()
                sender.wait()
    assert [sender.returncode for sender in senders] == [0, 0], outputs

    message_ids = Counter(message["Message-ID"] for message in mail.received)
    assert len(message_ids) == len(queued) and set(message_ids.values()) == {1}, message_ids.most_common(3)
    assert Counter(message["To"] for message in mail.received) == Counter(address for address, _ in queued)
    assert {status for _, status in outbox()} == {OutboxStatus.SENT}
    sent = [int(re.search(r"Sent (\d+)", output).group(1)) for output in outputs]
    assert sum(sent) == len(queued) and all(sent), outputs  # both senders did part of the work
