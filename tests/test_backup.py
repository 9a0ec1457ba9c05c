"""Backups: `flask backup create FILE` and `flask backup restore FILE [--force]`, on both databases.

A database filled the way a clinic fills it (the demo's week of visits, intakes and progress
checks; emails sent through a real SMTP server; an online booking waiting for the patient's
confirmation; a staff member signed in with a second factor; an erased patient; a booking in
progress) is backed up and restored into a scratch database migrated by `flask db upgrade`,
and every table is compared row by row.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import flask_migrate
import pyotp
import pytest
import sqlalchemy as sa

from booking import PROJECT_ROOT, backup, create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, OutboxMessage, Patient, Practitioner, StaffAccount, StaffRole
from booking.operations import consent, courses, drafts, second_factor, waitlist
from booking.operations.availability import find_slots, load_clinic, load_service
from booking.operations.bookings import Actor, BookingRequest, PatientDetails, book
from booking.operations.clinic_file import import_clinic_file
from booking.operations.demo import load_demo
from booking.operations.identity import EMAIL_KIND as IDENTITY_EMAIL
from booking.operations.patient_data import Who, erase
from booking.operations.staff import start_session
from booking.scheduling import TimeRange, wall_clock_instant
from booking.scheduling.course import Repeat
from tests.conftest import CLINIC_TOML, Clock, admin_sql, app_config, close_database, fresh_database
from tests.mail import MailServer

VERSION_TABLE = sa.table("alembic_version", sa.column("version_num"))
FILLED_AT = datetime(2027, 3, 8, 16, 0, tzinfo=timezone.utc)  # the clock fixture's start


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def head(app) -> str:
    """The schema revision this code's migrations end at."""
    return backup.expected_revision(Path(app.extensions["migrate"].directory))


def every_row(app) -> dict[str, list[tuple]]:
    """Each table of the models, and alembic_version, as its rows in primary-key order."""
    tables = {table.name: table for table in db.metadata.sorted_tables}
    with app.app_context(), db.engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) == set(tables) | {"alembic_version"}
        rows = {name: connection.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                for name, table in tables.items()}
        rows["alembic_version"] = connection.execute(sa.select(VERSION_TABLE)).all()
    return rows


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def fill_like_a_clinic(app, clock) -> None:
    """Rows in every table, each made the way the app makes it."""
    now = clock()
    mail = MailServer().start()
    try:
        with app.app_context():
            assert load_demo(now, app.extensions["instruments"], seed=20) > 20
            # A returning patient books online with a practitioner they have not seen: the booking
            # waits for them to confirm from an emailed link (an identity check, once sent).
            patient, other = next(
                (patient, practitioner)
                for patient in db.session.scalars(sa.select(Patient).order_by(Patient.id))
                for practitioner in db.session.scalars(sa.select(Practitioner).order_by(Practitioner.slug))
                if not db.session.scalar(sa.select(Appointment.id).where(
                    Appointment.patient_id == patient.id, Appointment.practitioner_id == practitioner.id).limit(1))
                and any(not s.new_patients_only for s in practitioner.services))
            service = next(s for s in other.services if not s.new_patients_only)
            slot = find_slots(load_clinic(), load_service(service.slug), [other], now.date() + timedelta(days=3),
                              14, now)[0]
            booked = book(BookingRequest(service=service.slug, practitioner=other.slug, start=slot.start,
                                         patient=PatientDetails(patient.name, patient.email, patient.phone,
                                                                patient.born_on)), now)
            assert booked.appointment.identity_pending
            # A new patient books a course of two weekly visits in one step.
            for later in find_slots(load_clinic(), load_service(service.slug), [other], now.date() + timedelta(days=4),
                                    14, now):
                plan = courses.plan_course(service.slug, other.slug, later.start, Repeat(7, 2), now)
                if plan.all_free:
                    courses.book_course(BookingRequest(
                        service=service.slug, practitioner=other.slug, start=later.start,
                        patient=PatientDetails("Cory Course", "cory.course@example.com", "+1 213 555 0177",
                                               date(1975, 6, 1))), Repeat(7, 2),
                        [p.wanted for p in plan.proposals], now)
                    break
            else:
                raise AssertionError("no two free weekly times for the course")
            # A patient signs the consent to treatment for a visit ahead (the shipped text becomes version 1).
            ahead = db.session.scalars(sa.select(Appointment).where(
                Appointment.status == AppointmentStatus.BOOKED, Appointment.identity_confirmed_at.is_not(None),
                Appointment.starts_at > now).order_by(Appointment.id)).first()
            consent.sign_online(ahead, ahead.patient.name, "shipped:en", now)
            # A booking someone is part-way through.
            draft, _key = drafts.start_draft(now)
            drafts.save(draft, now, service_id=service.id, practitioner_choice="any", safety_codes=[])
            # The admin signs in with a second factor (and so has recovery codes).
            admin = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.role == StaffRole.ADMIN))
            enrolment = second_factor.begin_enrolment(admin, now, "Demo")
            assert second_factor.confirm_enrolment(admin, pyotp.TOTP(enrolment.secret).at(now), now, None)
            start_session(admin, now)
            # A patient asked to be erased.
            last = db.session.scalars(sa.select(Patient).order_by(Patient.id.desc())).first()
            erase(last.id, "Asked to be forgotten", now, Who.of(admin))
            # A patient joins the waitlist for a day with free times, and one of them is offered to them.
            day = slot.start.astimezone(load_clinic().zone).date()
            waitlist.join(waitlist.JoinRequest(
                waitlist.Wishes(service.slug, other.slug, day, day),
                PatientDetails("Wait Listed", "waiting@example.com", "+1 213 555 0198", slot.start.date().replace(year=1975))), now)
            zone = load_clinic().zone  # the whole day given back, as removing a day's time off would
            whole_day = TimeRange(wall_clock_instant(day, time(0), zone), wall_clock_instant(day + timedelta(days=1), time(0), zone))
            assert waitlist.offer_freed_times([waitlist.Change(other.id, opened=(whole_day,))], now) == 1
        app.config["SMTP_URL"] = mail.url
        sent = cli(app, "outbox", "send")
        assert sent.exit_code == 0, sent.output
    finally:
        mail.stop()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.kind == IDENTITY_EMAIL))
    empty = [name for name, rows in every_row(app).items() if not rows]
    assert not empty, f"tables the test data leaves empty: {empty}"


@pytest.fixture(scope="module")
def filled_templates(request, tmp_path_factory):
    """A database of each kind filled like a clinic, made once for the module (it takes a while);
    each test gets its own copy."""
    made = {}
    with ExitStack() as stack:
        def template(kind: str) -> str:
            if kind not in made:
                url = stack.enter_context(fresh_database(request, kind, tmp_path_factory.mktemp(f"filled-{kind}")))
                app = create_app(app_config(url, CLOCK=Clock(FILLED_AT)))
                fill_like_a_clinic(app, app.config["CLOCK"])
                close_database(app)  # the last connection closes: SQLite's WAL is folded into the file
                made[kind] = url
            return made[kind]

        yield template


@pytest.fixture
def filled(request, database_url, filled_templates, clock):
    """An app on a database filled like a clinic (a copy of the module's), in place of the empty one."""
    assert clock() == FILLED_AT
    template = sa.make_url(filled_templates(kind_of(database_url)))
    target = sa.make_url(database_url)
    if kind_of(database_url) == "sqlite":
        for end in ("", "-wal"):  # the log too, should one be left
            if Path(template.database + end).exists():
                shutil.copy(template.database + end, target.database + end)
    else:
        server = request.getfixturevalue("postgres")
        admin_sql(server, f"DROP DATABASE {target.database} WITH (FORCE)")
        admin_sql(server, f"CREATE DATABASE {target.database} TEMPLATE {template.database}")
    app = create_app(app_config(database_url, CLOCK=clock))
    yield app
    close_database(app)


@pytest.fixture
def scratch(request, database_url, tmp_path, clock):
    """A second, freshly migrated and empty database of the same kind, and an app on it."""
    with fresh_database(request, kind_of(database_url), tmp_path / "scratch") as url:
        other = create_app(app_config(url, CLOCK=clock))
        yield other
        close_database(other)


def flask_command(url: str, *args: str) -> subprocess.CompletedProcess:
    """`flask --app booking ...` as a separate process, with the settings it reads from the environment."""
    flask = Path(sys.executable).parent / "flask"  # the project's .venv/bin/flask
    environment = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "tests-only-secret",
                                "BASE_URL": "http://clinic.test", "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([str(flask), "--app", "booking", *args], env=environment, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def with_password(url: str, password: str) -> str:
    """The URL with a password in it (the test server trusts local connections, so it is not checked)."""
    return sa.make_url(url).set(password=password).render_as_string(hide_password=False)


# --- the round trip ---------------------------------------------------------------------------

def test_a_backup_made_by_the_command_restores_every_row_into_a_fresh_database(filled, scratch, tmp_path):
    """Through the installed `flask` command, as an operator runs it."""
    source_url = filled.config["SQLALCHEMY_DATABASE_URI"]
    target_url = scratch.config["SQLALCHEMY_DATABASE_URI"]
    password = "never-shown-s3cret"
    if kind_of(source_url) == "postgresql":
        source_url, target_url = with_password(source_url, password), with_password(target_url, password)
    folder = tmp_path / "backups"
    folder.mkdir()
    file = folder / "clinic.backup"
    before = every_row(filled)

    made = flask_command(source_url, "backup", "create", str(file))
    assert made.returncode == 0, made.stderr
    assert f"to {file}" in made.stdout and f"schema revision {head(filled)}" in made.stdout
    assert file.stat().st_mode & 0o077 == 0  # health data: readable by its owner alone
    assert list(folder.iterdir()) == [file]  # nothing else: no partial file

    restored = flask_command(target_url, "backup", "restore", str(file))
    assert restored.returncode == 0, restored.stderr
    assert "as this code expects" in restored.stdout
    for output in (made, restored):
        assert password not in output.stdout + output.stderr

    assert every_row(scratch) == before
    assert every_row(filled) == before  # the backup changed nothing
    # The restored database carries on: new rows get new numbers (PostgreSQL's sequences came too).
    with scratch.app_context():
        highest = db.session.scalar(sa.select(sa.func.max(Appointment.id)))
        patient = db.session.scalars(sa.select(Patient).where(Patient.erased_at.is_(None))).first()
        practitioner = db.session.scalars(sa.select(Practitioner).order_by(Practitioner.slug)).first()
        service = next(s for s in practitioner.services if not s.new_patients_only)
        now = scratch.config["CLOCK"]()
        slot = find_slots(load_clinic(), load_service(service.slug), [practitioner], now.date() + timedelta(days=20),
                          14, now)[0]
        new = book(BookingRequest(service=service.slug, practitioner=practitioner.slug, start=slot.start,
                                  patient=PatientDetails(patient.name, patient.email, patient.phone, patient.born_on),
                                  booked_via="desk"), now, actor=Actor("Front desk"))
        assert new.appointment.id > highest


def test_a_backup_taken_during_a_write_holds_what_was_committed_and_does_not_wait(filled, scratch, tmp_path):
    """Safe while serving: a write transaction open on another connection neither blocks the backup
    nor gets half into it."""
    file = tmp_path / "busy.backup"
    other = sa.create_engine(filled.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.connect() as connection:
            writing = connection.begin()
            connection.execute(sa.text("UPDATE clinic SET name = 'Renamed, not yet committed'"))
            made = cli(filled, "backup", "create", str(file))
            writing.commit()
    finally:
        other.dispose()
    assert made.exit_code == 0, made.output
    assert cli(scratch, "backup", "restore", str(file)).exit_code == 0
    with scratch.app_context():
        assert db.session.scalar(sa.text("SELECT name FROM clinic")) == "Demo Back Pain Clinic"
    with filled.app_context():
        assert db.session.scalar(sa.text("SELECT name FROM clinic")) == "Renamed, not yet committed"


def test_restore_refuses_a_database_with_data_and_force_replaces_it(filled, tmp_path, clock):
    file = tmp_path / "monday.backup"
    assert cli(filled, "backup", "create", str(file)).exit_code == 0
    at_backup = every_row(filled)
    with filled.app_context():  # the day goes on: a new patient books
        practitioner = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "mei-lin"))
        service = load_service("first-visit")
        now = clock()
        slot = find_slots(load_clinic(), load_service(service.slug), [practitioner], now.date() + timedelta(days=25),
                          14, now)[0]
        book(BookingRequest(service=service.slug, practitioner=practitioner.slug, start=slot.start,
                            patient=PatientDetails("New Person", "new.person@example.com", "+1 213 555 0199",
                                                   at_backup["patient"][0].born_on)), now)
        patients = db.session.scalar(sa.select(sa.func.count()).select_from(Patient))
        appointments = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))
    later = every_row(filled)

    refused = cli(filled, "backup", "restore", str(file))
    assert refused.exit_code == 1
    assert f"{appointments} appointments" in refused.output and f"{patients} patients" in refused.output
    assert "add --force to replace them" in refused.output and "Nothing was changed" in refused.output
    assert every_row(filled) == later

    forced = cli(filled, "backup", "restore", str(file), "--force")
    assert forced.exit_code == 0, forced.output
    assert "in place of " in forced.output and f"{appointments} appointments" in forced.output
    assert every_row(filled) == at_backup


def test_an_empty_schema_counts_as_empty(scratch):
    """alembic_version alone (a database just made by `flask db upgrade`) holds no data."""
    with scratch.app_context():
        assert backup.contents(db.engine) == {}
        import_clinic_file(CLINIC_TOML, "test_clinic.toml")
        held = backup.contents(db.engine)
    assert held["clinic"] == 1 and held["practitioner"] == 2
    assert backup.describe({"appointment": 12, "patient": 4}) == "4 patients and 12 appointments"
    assert backup.describe({"clinic": 1, "time_off": 1, "audit_entry": 2}) == \
        "2 audit log entries, 1 clinic and 1 time-off entry"


# --- refusals ----------------------------------------------------------------------------------

def not_backups(folder: Path, kind: str) -> dict[str, Path]:
    """Files that are not a backup this database can take, each with what the message says."""
    folder.mkdir(exist_ok=True)
    text = folder / "notes.txt"
    text.write_text("Monday: call Mrs Delgado back\n")
    empty = folder / "empty.backup"
    empty.write_bytes(b"")
    foreign = folder / "other-app.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE recipe (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO recipe (name) VALUES ('soup')")
    connection.close()
    damaged = folder / "damaged.backup"
    damaged.write_bytes(b"PGDMP" + bytes(range(256)) * 4 if kind == "postgresql"
                        else b"SQLite format 3\x00" + b"\x10\x00" + bytes(2000))
    files = {"is not a backup of a": text, "is not a backup of a ": empty, "damaged": damaged}
    if kind == "sqlite":
        files["not a backup of this app's"] = foreign
    else:
        files["is a backup of a SQLite database"] = foreign
    return files


def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(filled, tmp_path):
    kind = kind_of(filled.config["SQLALCHEMY_DATABASE_URI"])
    before = every_row(filled)
    for expected, file in not_backups(tmp_path / "files", kind).items():
        result = cli(filled, "backup", "restore", str(file), "--force")
        assert result.exit_code == 1, (file, result.output)
        assert "Nothing was changed" in result.output, result.output
        if expected != "damaged":
            assert expected.strip() in result.output, result.output
    missing = cli(filled, "backup", "restore", str(tmp_path / "no-such.backup"), "--force")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    # A real backup cut short (a copy that stopped half-way) is refused too, or rolled back.
    whole = tmp_path / "whole.backup"
    assert cli(filled, "backup", "create", str(whole)).exit_code == 0
    cut = tmp_path / "cut.backup"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    result = cli(filled, "backup", "restore", str(cut), "--force")
    assert result.exit_code == 1, result.output
    assert "Nothing was changed" in result.output or "rolled back" in result.output
    assert every_row(filled) == before


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite's backup API is one transaction
def test_a_postgresql_restore_that_fails_part_way_leaves_the_database_as_it_was(filled, scratch, tmp_path):
    """The tables are dropped and the backup's SQL runs in one transaction: a statement the server
    refuses after the drops (here a schema the backup creates, already there) undoes them all."""
    with filled.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("CREATE SCHEMA reports"))
        connection.execute(sa.text("CREATE TABLE reports.weekly (week date)"))
    file = tmp_path / "with-reports.backup"
    assert cli(filled, "backup", "create", str(file)).exit_code == 0
    with scratch.app_context():
        import_clinic_file(CLINIC_TOML, "test_clinic.toml")
        with db.engine.begin() as connection:
            connection.execute(sa.text("CREATE SCHEMA reports"))
    before = every_row(scratch)
    result = cli(scratch, "backup", "restore", str(file), "--force")
    assert result.exit_code == 1
    assert "rolled back, so the database is as it was" in result.output
    assert 'schema "reports" already exists' in result.output
    assert every_row(scratch) == before


def test_a_backup_from_a_newer_version_is_refused(filled, scratch, tmp_path):
    with filled.app_context():
        with db.engine.begin() as connection:
            connection.execute(VERSION_TABLE.update().values(version_num="a-newer-one"))
    file = tmp_path / "newer.backup"
    assert cli(filled, "backup", "create", str(file)).exit_code == 0
    before = every_row(scratch)
    result = cli(scratch, "backup", "restore", str(file))
    assert result.exit_code == 1
    assert "revision a-newer-one, which this version of the app does not know" in result.output
    assert every_row(scratch) == before


def test_create_does_not_overwrite_a_file_without_force(filled, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    file = folder / "keep.backup"
    file.write_bytes(b"last week's backup")
    refused = cli(filled, "backup", "create", str(file))
    assert refused.exit_code == 1 and "already exists; add --force" in refused.output
    assert file.read_bytes() == b"last week's backup"
    forced = cli(filled, "backup", "create", str(file), "--force")
    assert forced.exit_code == 0, forced.output
    header = b"SQLite format 3\x00" if kind_of(filled.config["SQLALCHEMY_DATABASE_URI"]) == "sqlite" else b"PGDMP"
    assert file.read_bytes().startswith(header)
    assert list(folder.iterdir()) == [file]  # no partial file left behind
    into_folder = cli(filled, "backup", "create", str(folder))
    assert into_folder.exit_code == 1 and "is a folder" in into_folder.output
    nowhere = cli(filled, "backup", "create", str(folder / "no-such-folder" / "x.backup"))
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output
    url = sa.make_url(filled.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":  # --force over the live database file would swap it under the app
        before = Path(url.database).read_bytes()
        itself = cli(filled, "backup", "create", url.database, "--force")
        assert itself.exit_code == 1 and "is the database itself" in itself.output
        assert Path(url.database).read_bytes() == before


# --- an older backup, then `flask db upgrade` ----------------------------------------------------

def test_an_older_backup_restores_and_then_upgrades(request, database_url, scratch, tmp_path, clock):
    kind = kind_of(database_url)
    with fresh_database(request, kind, tmp_path / "old") as old_url:
        # The fresh database is at the newest revision: take it back to 0018, as an older version
        # left it, and give it a clinic the way that version's schema takes one.
        old = create_app(app_config(old_url, CLOCK=clock))
        with old.app_context():
            flask_migrate.downgrade(revision="0018")
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO clinic (id, name, timezone, phone, emergency_number, slot_step_minutes, "
                    "min_notice_hours, max_advance_days, cancellation_notice_hours) "
                    "VALUES (1, 'Old Clinic', 'America/Los_Angeles', '+1 213 555 0100', '911', 15, 2, 30, 24)"))
        file = tmp_path / "old.backup"
        made = cli(old, "backup", "create", str(file))
        assert made.exit_code == 0, made.output
        assert "schema revision 0018" in made.output
        close_database(old)

    restored = cli(scratch, "backup", "restore", str(file))
    assert restored.exit_code == 0, restored.output
    assert (f"revision 0018 and this code expects {head(scratch)}: run `flask --app booking db upgrade`"
            in restored.output)
    with scratch.app_context():
        assert backup.schema_revision(db.engine) == "0018"
        assert not sa.inspect(db.engine).has_table("outbox_sender")  # the newer table went with the rest
        flask_migrate.upgrade()
        assert backup.schema_revision(db.engine) == head(scratch)
        assert db.session.scalar(sa.text("SELECT name FROM clinic")) == "Old Clinic"


# --- PostgreSQL's programs ------------------------------------------------------------------------

def test_a_missing_postgresql_program_names_what_to_install():
    with pytest.raises(backup.BackupError, match="apt-get install postgresql-client"):
        backup._pg_tools("pg_no_such_program")
