"""`make bench`'s parts at a tiny size: the clinic builder makes what it is asked for, and the load
clients count requests and errors truly. Nothing here, or in the bench, asserts a speed."""

from __future__ import annotations

import re
import shutil
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Service, WorkingHours
from tests.bench_clinic import build_clinic, count_rows, week_capacity
from tests.bench_load import Target, drive
from tests.conftest import app_config, close_database

pytestmark = pytest.mark.slow
NOW = datetime(2027, 3, 8, 16, 0, tzinfo=timezone.utc)
CONNECTIONS = 4
TOOLS = [
    "python",
    pytest.param("wrk", marks=pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")),
]


def test_the_bench_clinic_has_what_was_asked_for_and_no_overlaps(database_url):
    app = create_app(app_config(database_url))
    try:
        with app.app_context():
            built = build_clinic(NOW, practitioners=4, past=300, future=40)
            counts = count_rows(NOW)
            hours = db.session.scalar(sa.select(sa.func.count()).select_from(WorkingHours))
            overlaps = _overlapping_pairs()
            beds_shared = _beds_shared()
            without_parts = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
                ~Appointment.parts.any()))
            bed_visits_without_bed = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).join(
                Appointment.service).where(Service.needs_bed, Appointment.room_id.is_(None),
                                           Appointment.status.in_(AppointmentStatus.holding_time())))
    finally:
        close_database(app)
    # As the app writes them: every visit has its hands-on parts, every bed visit its bed, and no
    # bed holds two visits at once.
    assert (without_parts, bed_visits_without_bed, beds_shared) == (0, 0, 0)
    assert (built.past, built.future, built.practitioners) == (300, 40, 4)
    assert counts == {"practitioners": 4, "services": 3, "past": 300, "future": 40}
    assert hours > 0
    assert overlaps == 0  # PostgreSQL's constraint would refuse one; on SQLite this is the only check


def _overlapping_pairs() -> int:
    first, second = sa.orm.aliased(Appointment), sa.orm.aliased(Appointment)
    holding = AppointmentStatus.holding_time()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(first).join(second, sa.and_(
            first.practitioner_id == second.practitioner_id, first.id < second.id,
            first.starts_at < second.occupied_until, second.starts_at < first.occupied_until,
        )).where(first.status.in_(holding), second.status.in_(holding)))


def _beds_shared() -> int:
    first, second = sa.orm.aliased(Appointment), sa.orm.aliased(Appointment)
    holding = AppointmentStatus.holding_time()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(first).join(second, sa.and_(
            first.room_id == second.room_id, first.bed == second.bed, first.id < second.id,
            first.starts_at < second.occupied_until, second.starts_at < first.occupied_until,
        )).where(first.status.in_(holding), second.status.in_(holding)))


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # wrk closes its connections without waiting when its time is up: nothing went wrong


class TinyServer:
    """An HTTP/1.1 server on 127.0.0.1 that answers 200 at /ok and /healthz, 404 elsewhere, 201 to
    a POST, and remembers how many requests it answered and every body posted."""

    def __init__(self):
        self.answered = 0
        self.bodies: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the load clients expect

            def do_GET(self):
                self._answer(200 if self.path in ("/ok", "/healthz") else 404)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with server.lock:
                    server.bodies.append(body)
                self._answer(201)

            def _answer(self, status):
                with server.lock:
                    server.answered += 1
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.http = QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc):
        self.http.shutdown()
        self.http.server_close()


@pytest.mark.parametrize("tool", TOOLS)
def test_the_load_client_counts_requests_and_errors(tool):
    with TinyServer() as server:
        good = drive(tool, server.base, Target("/ok"), seconds=1, connections=CONNECTIONS)
        answered_good = server.answered
        missing = drive(tool, server.base, Target("/missing"), seconds=1, connections=CONNECTIONS)
    assert good.requests > 0 and good.errors == 0
    # A request in flight when the time is up is answered but not counted.
    assert good.requests <= answered_good <= good.requests + CONNECTIONS
    assert missing.requests > 0 and missing.errors == missing.requests
    assert 0 < good.p50_ms <= good.p99_ms


@pytest.mark.parametrize("tool", TOOLS)
def test_the_load_client_posts_each_body_once_and_says_when_they_ran_out(tool):
    bodies = tuple(f'{{"number": {n}}}' for n in range(40))
    with TinyServer() as server:
        run = drive(tool, server.base, Target("/bookings", bodies=bodies), seconds=2, connections=CONNECTIONS)
    assert sorted(server.bodies) == sorted(bodies)
    assert run.ran_out and run.errors == 0
    # A stopping wrk thread drops the answers still in flight on its other connections, and may
    # send one /healthz as it stops: the count is near, and the run says it ran out.
    assert len(bodies) - CONNECTIONS <= run.requests <= len(bodies) + CONNECTIONS


def test_the_week_holds_more_follow_ups_with_beds_than_without():
    """The bench's count of what beds add (pure, no database): with the demo clinic's parts and
    beds its week holds more follow-ups than with the practitioner held throughout; a service
    with no parts or bed counts the same either way."""
    capacity = week_capacity()
    assert capacity.with_beds > capacity.without > 0
    assert (capacity.rooms, capacity.beds) == (2, 4)
    review = week_capacity("review")  # no hands_on, no bed in the demo clinic file
    assert review.with_beds == review.without > 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_bench_makes_a_throwaway_database_of_either_kind(tmp_path, kind):
    """make bench DB=postgresql once failed before measuring anything: the report's name for the
    server asked the server object for a version it does not keep."""
    from tests.bench import throwaway_database

    with throwaway_database(kind, tmp_path) as (url, name):
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()
    assert name.startswith({"sqlite": "SQLite 3.", "postgresql": "postgres (PostgreSQL) "}[kind])


def test_the_profiler_asks_every_request_it_reports_and_each_is_answered(database_url):
    """tests/profile_requests.py, which the README's in-process numbers come from, times what it says."""
    from tests.profile_requests import requests

    app = create_app(app_config(database_url))
    try:
        with app.app_context():
            build_clinic(NOW, practitioners=4, past=300, future=40)
        asking = requests(app, NOW)
        answers = {label: ask() for label, ask in asking.items()}
    finally:
        close_database(app)
    assert set(answers) == {"slots API, 7 days, one practitioner", "time list", "home page", "desk day",
                            "booking POST"}
    assert {label: answer.status_code for label, answer in answers.items()} == {
        label: 201 if label == "booking POST" else 200 for label in answers}
    assert "Choose a time" in answers["time list"].get_data(as_text=True)


def test_the_booking_sql_alone_sends_the_statements_a_booking_sends(sqlite_template, tmp_path):
    """The bench's second reference (tests/bench_booking_sql.py) stands for a booking's writes only
    while it sends what the app sends. The app and the reference each book the same two new
    patients' bookings on identical copies of a clinic, with the same clock, traced by SQLite
    itself from the moment each connection opens: each connection is set up alike, and the second
    booking sends the same statements with the same values, but for what is random (the reference,
    the link's and the stamps' hashes) and the history line's wording. SQLite only: the reference is
    the SQLite bench's (on PostgreSQL the bench has none)."""
    from tests.bench import booking_body, copy_of_sqlite
    from tests.bench_booking_sql import create_app as create_reference
    from tests.conftest import Clock

    path, clock = tmp_path / "booking.sqlite", Clock(NOW)
    shutil.copy(sqlite_template, path)
    app = create_app(app_config(f"sqlite:///{path}", CLOCK=clock))
    sent_by_app, sent_by_reference, opened = [], [], []
    try:
        with app.app_context():
            build_clinic(NOW, practitioners=4, past=30, future=4)
        free = app.test_client().get("/api/v1/slots?service=review&practitioner=any&days=7&from=2027-03-10").get_json()
        with app.app_context():
            db.engine.dispose()
        copy = sa.make_url(copy_of_sqlite(str(path), tmp_path / "reference.sqlite")).database
        first = free["slots"][0]
        other = next(slot for slot in free["slots"] if slot["practitioner"] != first["practitioner"])
        bodies = [booking_body(slot, number, "review") for number, slot in enumerate((first, other))]
        with app.app_context():  # before the app's own set-up of each new connection, to trace it too
            sa.event.listen(db.engine, "connect", lambda connection, _record: connection.set_trace_callback(
                sent_by_app.append), insert=True)
        by_app = _second_of_two_bookings(app.test_client(), bodies, sent_by_app)
    finally:
        close_database(app)
    reference = create_reference(copy, clock=clock, on_connect=lambda connection: (
        opened.append(connection), connection.set_trace_callback(sent_by_reference.append)))
    try:
        by_reference = _second_of_two_bookings(reference.test_client(), bodies, sent_by_reference)
    finally:
        for connection in opened:
            connection.close()
    pragmas = [statement for statement in sent_by_app[:6] if statement.startswith("PRAGMA")]
    assert len(pragmas) == 6 and sent_by_reference[:6] == pragmas  # the connection is set up alike
    assert by_app[0] == "PRAGMA busy_timeout = 0" and len(by_app) == 13  # BEGIN IMMEDIATE's PRAGMAs, 9 statements, COMMIT
    assert _unrandom(by_reference) == _unrandom(by_app)


def _second_of_two_bookings(client, bodies: list[str], traced: list[str]) -> list[str]:
    """Book both bodies through the client; what the second one sent, every statement of it."""
    for body in bodies:
        sent_before = len(traced)
        answer = client.post("/api/v1/bookings", data=body, content_type="application/json")
        assert answer.status_code == 201, answer.get_data(as_text=True)
    return traced[sent_before:]


def _unrandom(traced: list[str]) -> list[str]:
    """Each statement with its spaces made one, and its random values and history line made ?."""
    masks = (r"'[A-Z0-9]{8}'", r"'[0-9a-f]{64}'", r"'[0-9a-f]{32}'", r"'[^']*, booked through the booking API'")
    for mask in masks:
        traced = [re.sub(mask, "?", statement) for statement in traced]
    return [re.sub(r"\s+", " ", statement).strip() for statement in traced]


def test_each_history_size_has_a_database_of_its_own_thinned_to_it(database_url, tmp_path):
    """The bench times the sizes in turn, so each needs its own copy of the clinic: the first is the
    bench's own database, the others copies with past appointments deleted down to their size (the
    visits ahead all kept)."""
    from tests.bench import history_apps

    app = create_app(app_config(database_url))
    made = {}
    try:
        with app.app_context():
            build_clinic(NOW, practitioners=4, past=300, future=40)
        made = history_apps(app, NOW, tmp_path, (300, 30, 3))
        counted = {}
        for size, sized in made.items():
            with sized.app_context():
                counted[size] = count_rows(NOW)
                urls = counted.setdefault("urls", set())
                urls.add(db.engine.url.database)
    finally:
        try:
            for sized in made.values():
                close_database(sized)
            close_database(app)
        finally:
            if database_url.startswith("postgresql"):
                _drop_copies(database_url, (30, 3))
    assert made[300] is app
    assert {size: (found["past"], found["future"]) for size, found in counted.items() if size != "urls"} == {
        300: (300, 40), 30: (30, 40), 3: (3, 40)}
    assert len(counted["urls"]) == 3


def _drop_copies(database_url: str, sizes: tuple[int, ...]) -> None:
    from tests.bench import history_copy_name

    url = sa.make_url(database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for size in sizes:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{history_copy_name(url.database, size)}" WITH (FORCE)')
    finally:
        admin.dispose()
