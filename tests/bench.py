"""`make bench`: how close the booking app gets to what this machine can serve at all (issue #15).

One run builds a large clinic in a fresh database (tests/bench_clinic.py), serves it with
gunicorn on 127.0.0.1 beside a bare one-route Flask app (the floor, tests/bench_floor.py)
served the same way, and loads each with the same fixed number of connections for a few
seconds at a time (tests/bench_load.py). It prints, for each request, its rate, latency,
errors and share of the floor's rate; then, in-process, the SQL statements each request
sends and how the cost of a slots request grows with the appointments already in the table;
and, from the scheduling core alone, how many follow-ups the demo clinic's week holds with its
beds and hands-on parts against without them (tests/bench_clinic.py, week_capacity).

It asserts nothing about speed: numbers on a shared machine vary, so compare shares of the
floor, and runs on the same machine. BENCH_SECONDS sets the length of each run (default 4).

    python -m tests.bench [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import flask_migrate
import psycopg
import sqlalchemy as sa
from sqlalchemy import event

from booking import create_app
from booking.extensions import DRIVER_STATEMENT_LISTENERS, db
from booking.models import Appointment, Clinic, Practitioner, Service, WorkingHours
from booking.operations.demo import DEMO_STAFF
from tests.bench_clinic import ADVANCE_DAYS, build_clinic, week_capacity
from tests.bench_load import Run, Target, drive, load_tool
from tests.postgres import installed_version, start_server
from tests.servers import gunicorn

CONNECTIONS = 8
RUNS = 3
SECONDS = float(os.environ.get("BENCH_SECONDS") or 4)
WORKERS, THREADS = 2, 1  # gunicorn's sync workers, as the issue measured
SECRET_KEY = "bench-only-secret"  # the served app and the in-process one read the same cookies
BASE_URL = "http://clinic.test"
# The per-address API limits would refuse a load test from one address: raised for the served
# app only, through the environment, so the app's own defaults stay as they are.
SERVED_ENV = {"SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL,
              "API_READ_LIMIT": "1000000 per minute", "API_BOOKING_LIMIT": "1000000 per minute"}
HISTORY_SIZES = (20_000, 2_000, 200)  # past appointments in the table: the bench's, then thinned copies
HISTORY_BATCHES, HISTORY_ROUNDS = 5, 40  # the median of 5 batches' means: a burst of work from
                                         # another process on the machine spoils one batch, not the result
SQL_ROUNDS = 5
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
UTC = timezone.utc


@dataclass(frozen=True)
class Request:
    label: str
    target: Target


# --- the database and the clinic ---

@contextmanager
def throwaway_database(kind: str, folder: Path):
    """A new, empty database of the kind asked for; yields its URL and a name for the report."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite'}", f"SQLite {sqlite3.sqlite_version}"
        return
    server = start_server()
    if server is None:
        raise SystemExit("no PostgreSQL binaries found ($PG_BINDIR, PATH, /usr/lib/postgresql/*/bin)")
    try:
        conninfo = f"host=127.0.0.1 port={server.port} user={server.user} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute("CREATE DATABASE bench")
        yield server.url("bench"), f"{installed_version()}, throwaway server on 127.0.0.1"
    finally:
        server.stop()


def copy_of_sqlite(database: str, target: Path) -> str:
    """A copy of a SQLite database as it is now (through SQLite's backup, so what is still in its
    WAL is copied too); its URL."""
    source, copy = sqlite3.connect(database), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return f"sqlite:///{target}"


def in_process_app(database_url: str):
    return create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL,
                       "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})


def staff_day(now: datetime) -> str:
    """The date the staff pages show: today if Mei Lin works today, else the last day she worked
    (a full diary either way, so My day has visits to list)."""
    clinic = db.session.get(Clinic, 1)
    worked = set(db.session.scalars(sa.select(WorkingHours.weekday).join(Practitioner)
                                    .where(Practitioner.slug == "mei-lin")))
    day = clinic.today(now)
    while day.weekday() not in worked:
        day -= timedelta(days=1)
    return day.isoformat()


# --- talking to the served app as a browser would ---

class Browser:
    """Cookies kept across requests to one server, without following redirects."""

    def __init__(self, base: str):
        self.address = urlsplit(base)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=30)
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body, headers["Content-Type"] = urlencode(form), "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.read().decode()
        finally:
            connection.close()

    def submit(self, path: str, form: dict) -> int:
        """Open the form's page, then send it with its CSRF token, as a person would."""
        status, page = self.request("GET", path)
        token = CSRF.search(page)
        if status != 200 or token is None:
            raise RuntimeError(f"{path} answered {status} without a form")
        return self.request("POST", path, {"csrf_token": token.group(1), **form})[0]

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def signed_in(base: str, who: str) -> Browser:
    """A browser signed in as a demo staff member (the desk and Mei need no second factor)."""
    email, password, _role = next(entry for entry in DEMO_STAFF if entry[0].startswith(who))
    browser = Browser(base)
    status = browser.submit("/staff/sign-in", {"email": email, "password": password})
    if status != 303:
        raise RuntimeError(f"signing in as {email} answered {status}")
    return browser


def patient_at_time_list(base: str) -> Browser:
    """A patient's browser on the booking journey's list of times: follow-up with Mei Lin."""
    browser = Browser(base)
    for path, form in (("/book/first-visit", {"returning": "yes"}), ("/book", {"service": "follow-up"}),
                       ("/book/practitioner", {"practitioner": "mei-lin"})):
        status = browser.submit(path, form)
        if status not in (302, 303):
            raise RuntimeError(f"{path} answered {status}")
    return browser


def distinct_free_times(base: str, service: Service, today: str, not_before: datetime) -> list[dict]:
    """Free times for `service` up to the booking horizon, from the slots API, none overlapping
    another of its practitioner's (treatment plus buffer): each can be booked once, all of them.
    None before `not_before`: a time just past the notice when it was listed falls inside it by
    the time the bench books it, minutes later, and would be refused as too soon."""
    browser, free, first_day = Browser(base), [], datetime.fromisoformat(today).date()
    for offset in range(0, ADVANCE_DAYS + 1, 31):
        query = urlencode({"service": service.slug, "practitioner": "any", "days": 31,
                           "from": (first_day + timedelta(days=offset)).isoformat()})
        status, answer = browser.request("GET", f"/api/v1/slots?{query}")
        if status != 200:
            raise RuntimeError(f"the slots API answered {status}: {answer}")
        free += json.loads(answer)["slots"]
    occupied = timedelta(minutes=service.minutes + service.buffer_minutes)
    held_until: dict[str, datetime] = {}
    chosen = []
    for slot in free:  # sorted by start, then practitioner
        start = datetime.fromisoformat(slot["start"])
        if start >= not_before and start >= held_until.get(slot["practitioner"], start):
            chosen.append(slot)
            held_until[slot["practitioner"]] = start + occupied
    return chosen


def booking_body(slot: dict, number: int, service: str) -> str:
    """A booking by a new patient (so no 'first visit only' or identity check applies)."""
    return json.dumps({
        "service": service, "practitioner": slot["practitioner"], "start": slot["start"], "safety": [],
        "patient": {"name": f"Bench Patient {number}", "email": f"bench.patient.{number}@example.com",
                    "phone": "+1 213 555 0150", "birth_date": "1980-02-03"},
    })


def requests_to_measure(base: str, day: str) -> list[Request]:
    desk, mei, patient = signed_in(base, "desk"), signed_in(base, "mei"), patient_at_time_list(base)
    slots = "/api/v1/slots?service=follow-up&practitioner={}&days={}"
    return [
        Request("slots API, 7 days, one practitioner", Target(slots.format("mei-lin", 7))),
        Request("slots API, 7 days, any practitioner", Target(slots.format("any", 7))),
        Request("slots API, 31 days, one practitioner", Target(slots.format("mei-lin", 31))),
        Request("slots API, 31 days, any practitioner", Target(slots.format("any", 31))),
        Request("time list page (booking journey)", Target("/book/time", patient.cookie_header())),
        Request("home page", Target("/")),
        Request("desk day view (signed in)", Target(f"/desk?date={day}", desk.cookie_header())),
        Request("desk week view (signed in)", Target(f"/desk/week?date={day}", desk.cookie_header())),
        Request("My day (practitioner, signed in)", Target(f"/clinician?date={day}", mei.cookie_header())),
    ]


def check_answers_200(base: str, requests: list[Request]) -> None:
    """Each page answers 200 before it is timed: a lost sign-in would otherwise time a redirect."""
    for request in requests:
        browser = Browser(base)
        if request.target.cookie:
            browser.cookies = dict(part.split("=", 1) for part in request.target.cookie.split("; "))
        status, _page = browser.request("GET", request.target.path)
        if status != 200:
            raise RuntimeError(f"{request.label}: {request.target.path} answered {status}")


# --- load ---

def measure_load(tool: str, base: str, floor: str, requests: list[Request], bookings: list[str],
                 booking_sql: tuple[str, list[list[str]]] | None = None) -> dict[str, list[Run]]:
    """RUNS rounds, each timing the floor and every request in turn, so a busy moment of the
    shared machine hurts one run of each rather than all runs of one. The booking POSTs go last,
    so the times the reads show are the same in every round; each run books its own times.
    `booking_sql` (the booking's SQL alone, on its own copy of the database, and its bodies for
    each run) runs right after each run of the app's POSTs."""
    runs: dict[str, list[Run]] = {}
    for _round in range(RUNS):
        runs.setdefault("floor", []).append(drive(tool, floor, Target("/"), seconds=SECONDS, connections=CONNECTIONS))
        for request in requests:
            runs.setdefault(request.label, []).append(
                drive(tool, base, request.target, seconds=SECONDS, connections=CONNECTIONS))
    share = len(bookings) // RUNS
    for number in range(RUNS):
        posts = Target("/api/v1/bookings", bodies=tuple(bookings[number * share:(number + 1) * share]))
        runs.setdefault(BOOKING_LABEL, []).append(drive(tool, base, posts, seconds=SECONDS, connections=CONNECTIONS))
        if booking_sql is not None:
            reference, bodies = booking_sql
            runs.setdefault(BOOKING_SQL_LABEL, []).append(drive(
                tool, reference, Target("/api/v1/bookings", bodies=tuple(bodies[number])),
                seconds=SECONDS, connections=CONNECTIONS))
    return runs


BOOKING_LABEL = "booking POST (API, distinct free times)"
BOOKING_SQL_LABEL = "  its SQL alone (bench_booking_sql.py)"


# --- in-process: SQL statements, and the cost of history ---

@contextmanager
def counting_statements(engine):
    counted = [0]

    def count(*_args):
        counted[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    DRIVER_STATEMENT_LISTENERS.append(count)  # what goes straight to the driver
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", count)
        DRIVER_STATEMENT_LISTENERS.remove(count)


def statements_per_request(app, requests: list[Request], booking_bodies: list[str]) -> dict[str, float]:
    with app.app_context():
        engine = db.engine
    counts = {}
    for request in requests:
        client = app.test_client()
        for part in (request.target.cookie or "").split("; "):
            if part:
                client.set_cookie(*part.split("=", 1))
        client.get(request.target.path)  # the first request of a process may load what later ones reuse
        with counting_statements(engine) as counted:
            for _ in range(SQL_ROUNDS):
                client.get(request.target.path)
        counts[request.label] = counted[0] / SQL_ROUNDS
    client = app.test_client()
    with counting_statements(engine) as counted:
        for body in booking_bodies:
            answer = client.post("/api/v1/bookings", data=body, content_type="application/json")
            if answer.status_code != 201:
                raise RuntimeError(f"an in-process booking answered {answer.status_code}: {answer.get_data(True)}")
    counts[BOOKING_LABEL] = counted[0] / len(booking_bodies)
    return counts


def slots_cost_by_history(app, path: str, now: datetime, folder: Path) -> dict[int, float]:
    """The ms `path` takes in-process with each of HISTORY_SIZES past appointments in the table,
    each in a database of its own (history_apps). The sizes are timed in turn, batch by batch, so
    a slow moment of the machine slows a batch of each rather than every batch of one: timed one
    size after another, three runs on one machine gave 1.40x, 1.08x and 0.69x."""
    apps = history_apps(app, now, folder, HISTORY_SIZES)
    try:
        clients = {size: sized.test_client() for size, sized in apps.items()}
        for client in clients.values():
            for _ in range(5):
                client.get(path)
        means: dict[int, list[float]] = {size: [] for size in apps}
        for _ in range(HISTORY_BATCHES):
            for size, sized in apps.items():
                means[size].append(_mean_ms(sized, clients[size], path))
    finally:
        for sized in apps.values():
            if sized is not app:
                with sized.app_context():
                    db.session.remove()
                    db.engine.dispose()
    return {size: statistics.median(batches) for size, batches in means.items()}


def history_apps(app, now: datetime, folder: Path, sizes: tuple[int, ...]) -> dict:
    """An in-process app per size, on a database with that many past appointments: the first on
    the bench's own, the others on copies of it; past appointments deleted at random, so their
    spread over the history stays even."""
    with app.app_context():
        database_url = db.engine.url
        db.engine.dispose()  # PostgreSQL copies a database only while nobody is connected to it
    copies = {size: copy_of_database(database_url, size, folder) for size in sizes[1:]}  # before anyone reconnects
    apps, rng = {sizes[0]: app, **{size: in_process_app(url) for size, url in copies.items()}}, random.Random(1)
    for size, sized in apps.items():
        with sized.app_context():
            past = list(db.session.scalars(sa.select(Appointment.id).where(Appointment.starts_at < now)))
            doomed = rng.sample(past, max(0, len(past) - size))
            for first in range(0, len(doomed), 1000):
                db.session.execute(sa.delete(Appointment).where(Appointment.id.in_(doomed[first:first + 1000])))
            db.session.commit()
            if db.session.get_bind().dialect.name == "postgresql":
                db.session.execute(sa.text("ANALYZE appointment"))
                db.session.commit()
    return apps


def history_copy_name(database: str, size: int) -> str:
    """The PostgreSQL database copied from `database` for the history of `size` (copy_of_database)."""
    return f"{database}_history_{size}"


def copy_of_database(url: sa.URL, size: int, folder: Path) -> str:
    """A copy of the bench's database (nobody connected to it) for the history of `size`; its URL."""
    if url.get_backend_name() == "sqlite":
        return copy_of_sqlite(url.database, folder / f"history-{size}.sqlite")
    name = history_copy_name(url.database, size)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _mean_ms(app, client, path: str) -> float:
    """Each request works its answer out afresh: the answers a process keeps would hide what the
    window's query costs, which is what history could change."""
    spent = 0.0
    for _ in range(HISTORY_ROUNDS):
        for store in ("offered_slots", "slots_json"):
            app.extensions.pop(store, None)
        started = time.perf_counter()
        client.get(path)
        spent += time.perf_counter() - started
    return spent * 1000 / HISTORY_ROUNDS


# --- the report ---

def print_load_table(runs: dict[str, list[Run]], requests: list[Request]) -> None:
    floor_rate = statistics.median(run.per_second for run in runs["floor"])
    print(f"{'request':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'share of floor':>15}")
    for label in ["floor", *(r.label for r in requests), BOOKING_LABEL, BOOKING_SQL_LABEL]:
        measured = runs.get(label)
        if measured is None:
            continue  # no booking's SQL alone on PostgreSQL
        rate = statistics.median(run.per_second for run in measured)
        name = "floor: bare Flask app, one route" if label == "floor" else label
        print(f"{name:<42} {rate:>8.0f} {statistics.median(r.p50_ms for r in measured):>8.1f} "
              f"{statistics.median(r.p99_ms for r in measured):>8.1f} {sum(r.errors for r in measured):>7} "
              f"{rate / floor_rate:>14.1%}")
    if any(run.ran_out for run in runs[BOOKING_LABEL]):
        print("  (the booking POSTs ran out of free times before a run's end: their req/s reads low)")
    if any(run.ran_out for run in runs.get(BOOKING_SQL_LABEL, [])):
        print("  (the booking's SQL alone ran out of bodies before a run's end: its req/s reads low)")
    if BOOKING_SQL_LABEL in runs:
        booked, alone = (statistics.median(run.per_second for run in runs[label])
                         for label in (BOOKING_LABEL, BOOKING_SQL_LABEL))
        print(f"  (the booking POST runs at {booked / alone:.0%} of the rate its SQL alone allows: the same statements"
              " sent by sqlite3 from a bare Flask route, on a copy of the database)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    kind = parser.parse_args(argv).db
    folder = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    try:
        with throwaway_database(kind, folder) as (database_url, database_name):
            run_bench(database_url, database_name, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_bench(database_url: str, database_name: str, folder: Path) -> None:
    now = datetime.now(UTC)
    app = in_process_app(database_url)
    started = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        built = build_clinic(now)
        day = staff_day(now)
        clinic = db.session.get(Clinic, 1)
        today = clinic.today(now).isoformat()
        # The bench takes some minutes: the times it books stay clear of the notice for an hour.
        bookable_from = now + clinic.booking_rules.min_notice + timedelta(hours=1)
        review = db.session.scalar(sa.select(Service).where(Service.slug == "review"))
        db.session.expunge(review)
    build_seconds = time.perf_counter() - started
    tool = load_tool()
    served = {"workers": WORKERS, "threads": THREADS, "env": SERVED_ENV}
    # The booking's SQL alone books into a copy, so the times it books stay free for the app's POSTs.
    booking_sql_url = copy_of_sqlite(sa.make_url(database_url).database, folder / "booking-sql-alone.sqlite") \
        if database_url.startswith("sqlite") else None
    with gunicorn(database_url, folder, **served) as base, \
            gunicorn(database_url, folder, app="tests.bench_floor:app", ready_path="/", **served) as floor, \
            ExitStack() as references:
        booking_sql = booking_sql_url and references.enter_context(gunicorn(
            booking_sql_url, folder, app="tests.bench_booking_sql:create_app()", ready_path="/", **served))
        requests = requests_to_measure(base, day)
        check_answers_200(base, requests)
        free = distinct_free_times(base, review, today, bookable_from)
        bodies = [booking_body(slot, number, review.slug) for number, slot in enumerate(free)]
        in_process_bookings, bookings = bodies[:SQL_ROUNDS], bodies[SQL_ROUNDS:]
        # The reference checks no times, so each of its runs may book every free time again; new
        # patients each time, as the app's bodies are, so each booking adds its patient. It books
        # about twice as fast as the app: a run of the app's share of the bodies would run out.
        reference_bodies = [[booking_body(slot, (run + 1) * 1_000_000 + number, review.slug)
                             for number, slot in enumerate(free)] for run in range(RUNS)]
        runs = measure_load(tool, base, floor, requests, bookings,
                            (booking_sql, reference_bodies) if booking_sql else None)

    print(f"make bench: {database_name}; {os.cpu_count()} CPUs; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"clinic: {built.practitioners} practitioners, {built.services} services, {built.patients:,} patients, "
          f"{built.past:,} past appointments (from {built.history_starts}) and {built.future:,} ahead; "
          f"built in {build_seconds:.1f} s")
    print(f"served: app and floor each by gunicorn --workers {WORKERS} --threads {THREADS} on 127.0.0.1; load by "
          + (f"wrk ({min(2, CONNECTIONS)} threads)" if tool == "wrk" else "the Python client (threads, keep-alive)")
          + f", {CONNECTIONS} connections; medians of {RUNS} runs x {SECONDS:g} s; "
          f"{len(bookings):,} distinct free times for the booking POSTs; staff pages for {day}\n")
    print_load_table(runs, requests)

    statements = statements_per_request(app, requests, in_process_bookings)
    print(f"\nSQL statements per request (in-process, every statement a cursor executes, mean of {SQL_ROUNDS}):")
    for label, count in statements.items():
        print(f"  {label:<42} {count:>5.1f}")

    costs = slots_cost_by_history(app, requests[0].target.path, now, folder)
    print(f"\nslots cost by history: {requests[0].target.path}, in-process (Flask test client), worked out "
          f"afresh each time (no kept answer), each size its own database, timed in turn; median of {HISTORY_BATCHES} batches' mean ms over {HISTORY_ROUNDS} requests")
    for size, cost in costs.items():
        print(f"  {size:>6,} past appointments in the table {cost:>8.2f} ms")
    print(f"  ratio {HISTORY_SIZES[0]:,} / {HISTORY_SIZES[-1]:,}: {costs[HISTORY_SIZES[0]] / costs[HISTORY_SIZES[-1]]:.2f}x")
    print_capacity()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def print_capacity() -> None:
    """What beds add (issue #21): the demo clinic's week filled with follow-ups, with and without."""
    started = time.perf_counter()
    capacity = week_capacity()
    seconds = time.perf_counter() - started
    print(f"\nbeds: the demo clinic's week filled greedily with follow-ups through the scheduling core "
          f"(earliest free start first; {capacity.rooms} rooms, {capacity.beds} beds; the same hours), in {seconds:.2f} s")
    print(f"  {'with hands-on parts and beds':<42} {capacity.with_beds:>5} visits")
    print(f"  {'without (the practitioner held throughout)':<42} {capacity.without:>5} visits")
    print(f"  ratio: {capacity.ratio:.2f}x")


if __name__ == "__main__":
    main()
