"""Fixtures: an app on a freshly migrated SQLite file and PostgreSQL database, a pinned clock.

Every test that asks for `app` runs twice, once per database. The schema is made only
by `flask db upgrade` (once per run, into a template that each test copies).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import flask_migrate
import psycopg
import pytest
from hypothesis import settings
from sqlalchemy import event

from booking import create_app
from booking.extensions import DRIVER_STATEMENT_LISTENERS, db
from booking.operations.clinic_file import import_clinic_file
from tests.browser import CHROMIUM_ARGS, DESKTOP, LiveServer, Screenshots, require_chromium
from tests.postgres import installed_version, start_server

UTC = timezone.utc

# Property-based tests: the same examples on every run of `make test` (so CI is deterministic and
# bounded), and many more, freshly drawn, under `make fuzz` (HYPOTHESIS_PROFILE=fuzz).
settings.register_profile("default", derandomize=True, database=None, deadline=None, max_examples=100)
settings.register_profile("fuzz", deadline=None, max_examples=5_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# A small clinic with hours chosen for the tests: Los Angeles, two practitioners.
CLINIC_TOML = """\
[clinic]
name = "Test Clinic"
timezone = "America/Los_Angeles"
phone = "+1 213 555 0100"
emergency_number = "911"
slot_step_minutes = 15
min_notice_hours = 2
max_advance_days = 30
cancellation_notice_hours = 24
region = "US"
alert_email = "alerts@clinic.example.com"

[[services]]
slug = "consult"
name = "Consultation"
minutes = 60
buffer_minutes = 15
new_patients_only = true

[[services]]
slug = "short"
name = "Short treatment"
minutes = 30

[[practitioners]]
slug = "ana"
name = "Ana Test"
services = ["consult", "short"]
[practitioners.hours]
mon = ["09:00-12:30", "13:30-17:00"]
tue = ["09:00-12:30", "13:30-17:00"]
wed = ["09:00-12:30", "13:30-17:00"]
thu = ["09:00-12:30", "13:30-17:00"]
fri = ["09:00-12:30", "13:30-17:00"]

[[practitioners]]
slug = "ben"
name = "Ben Test"
services = ["short"]
[practitioners.hours]
mon = ["10:00-16:00"]
wed = ["10:00-16:00"]
"""

DATABASES = ["sqlite", "postgresql"]
_passed_on: Counter = Counter()
_database_numbers = itertools.count(1)


class Clock:
    """A clock the tests set by hand; the app reads it through config["CLOCK"]."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def app_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "tests-only-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://clinic.test",
        # Staff passwords hashed with argon2-cffi's cheapest parameters: the suite signs in
        # hundreds of times, and at the app's own (RFC 9106 low memory, ~0.1 s a hash) that was a
        # third of its time. test_staff checks the app's own parameters and rehashing.
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
    }
    config.update(overrides)
    return config


def close_database(app) -> None:
    """Return every connection and close the pool, so no connection outlives its test. One still
    out would go back to the closed pool later and be closed only by the garbage collector, in
    some later test (psycopg warns then, and the warning fails that test): so it fails this one."""
    with app.app_context():
        db.session.remove()
        still_out = db.engine.pool.checkedout() if hasattr(db.engine.pool, "checkedout") else 0  # none in memory
        db.engine.dispose()
    assert not still_out, f"{still_out} database connection(s) still in use when the test ended"


def migrate(database_url: str) -> None:
    """Make the schema the only way it is ever made: flask db upgrade."""
    app = create_app(app_config(database_url))
    with app.app_context():
        flask_migrate.upgrade()
    close_database(app)


@pytest.fixture(scope="session")
def postgres():
    server = start_server()
    if server is None:
        message = (
            "no PostgreSQL binaries found ($PG_BINDIR, PATH, /usr/lib/postgresql/*/bin): "
            "the PostgreSQL half of the database tests is skipped"
        )
        if os.environ.get("CI"):
            pytest.fail(message + " - and CI must not skip them")
        pytest.skip(message)
    yield server
    server.stop()


def admin_sql(server, statement: str) -> None:
    conninfo = f"host=127.0.0.1 port={server.port} user={server.user} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres):
    admin_sql(postgres, "CREATE DATABASE booking_template")
    migrate(postgres.url("booking_template"))
    return "booking_template"


@contextmanager
def fresh_database(request, kind: str, folder):
    """A new, migrated database of the given kind, dropped afterwards; gives its URL."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "booking.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("postgres")
    template = request.getfixturevalue("postgres_template")
    name = f"booking_test_{next(_database_numbers)}"
    # FILE_COPY copies the template's files whole: five times quicker than PostgreSQL 15's
    # default (WAL_LOG, block by block) for a small database, and there is one per test.
    admin_sql(server, f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    try:
        yield server.url(name)
    finally:
        admin_sql(server, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    with fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock():
    return Clock(datetime(2027, 3, 8, 16, 0, tzinfo=UTC))  # Monday 08:00 in Los Angeles


@pytest.fixture
def app(database_url, clock):
    app = create_app(app_config(database_url, CLOCK=clock))
    yield app
    close_database(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clinic(app):
    """The test clinic imported into the app's database."""
    with app.app_context():
        import_clinic_file(CLINIC_TOML, "test_clinic.toml")
    return app


@pytest.fixture
def count_queries(app):
    """Usage: with count_queries() as counted: ...; counted.total is the number of SQL statements."""

    class Counted:
        total = 0

    @contextmanager
    def counting():
        counted = Counted()

        def on_statement(statement):
            if statement.lstrip().split(" ", 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}:
                counted.total += 1

        def on_execute(conn, cursor, statement, parameters, context, executemany):
            on_statement(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", on_execute)
        DRIVER_STATEMENT_LISTENERS.append(on_statement)  # what goes straight to the driver
        try:
            yield counted
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
            DRIVER_STATEMENT_LISTENERS.remove(on_statement)

    return counting


def pytest_runtest_logreport(report):
    """Count passed tests per database, from the parameter ids in brackets."""
    if report.when == "call" and report.passed and report.nodeid.endswith("]"):
        ids = report.nodeid[report.nodeid.index("[") + 1 : -1].split("-")
        for kind in DATABASES:
            if kind in ids:
                _passed_on[kind] += 1


def pytest_terminal_summary(terminalreporter):
    if not _passed_on:
        return
    terminalreporter.section("databases")
    terminalreporter.write_line(f"SQLite: {_passed_on['sqlite']} database tests passed")
    # Under pytest-xdist the servers ran in the workers; this summary runs in the controller,
    # which sees every test's report but not the workers' fixtures, so it asks the binaries.
    if _passed_on["postgresql"]:
        terminalreporter.write_line(
            f"PostgreSQL ({installed_version()}, throwaway servers on 127.0.0.1): "
            f"{_passed_on['postgresql']} database tests passed"
        )
    else:
        terminalreporter.write_line("PostgreSQL: no database test ran on it (deselected, or no server binaries)")


# --- the browser tests' fixtures (shared by test_browser.py and test_desk_browser.py) ---

@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole run (Playwright allows one sync instance per process)."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def site(clinic):
    with LiveServer(clinic) as server:
        yield server


@pytest.fixture
def new_page(chromium, site):
    """Open a fresh browser (its own cookies); options as for Playwright's new_context."""
    contexts = []

    def open_page(**options):
        options = {"base_url": site.url, "timezone_id": "America/Los_Angeles", "viewport": DESKTOP} | options
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def shots(request):
    return Screenshots(request.node.name)
