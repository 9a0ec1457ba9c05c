"""The app factory, settings, migrations and the health check."""

import http.client
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import sqlalchemy.dialects.sqlite
from hypothesis import given, settings
from hypothesis import strategies as st
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from booking import create_app
from booking.extensions import db
from booking.models import UTC, Clinic, StaffRole, TimeOff, UTCDateTime
from booking.transaction import write_transaction
from tests.browser import LiveServer
from tests.conftest import app_config, close_database
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)


def test_refuses_to_start_without_secret_key_in_production(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def test_refuses_to_start_without_base_url_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="BASE_URL"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def refused_start_back(folder):
    """A licensed folder whose STarT Back file scores "moderately" as 1, unlike Keele's rule."""
    from tests.instruments import START_BACK_TOML

    folder.mkdir()
    (folder / "start_back.toml").write_text(START_BACK_TOML.replace(
        'value = "moderately"\nlabel = "moderately"\npoints = 0', 'value = "moderately"\nlabel = "moderately"\npoints = 1'))
    return folder


def test_a_licensed_instrument_file_not_as_published_stops_the_start(tmp_path):
    from booking import InstrumentRefused

    folder = refused_start_back(tmp_path / "licensed")
    with pytest.raises(InstrumentRefused) as caught:
        create_app(app_config(f"sqlite:///{tmp_path}/x.sqlite", LICENSED_INSTRUMENTS=str(folder)))
    message = str(caught.value)
    assert f"{folder / 'start_back.toml'}: item 9 must score 1 only for 'very much' and 'extremely'" in message
    assert "LICENSED_INSTRUMENTS" in message
    assert caught.value.code == message  # an exit with the message: Python prints it, without a traceback
    assert not (tmp_path / "x.sqlite").exists()  # refused before the database is touched


def test_the_flask_command_says_why_it_will_not_start_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    folder = refused_start_back(tmp_path / "licensed")
    env = os.environ | {"SECRET_KEY": "x" * 40, "BASE_URL": "http://clinic.test", "LICENSED_INSTRUMENTS": str(folder),
                        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"}
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run([str(flask), "--app", "booking", "routes"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 1
    assert "Licensed instrument refused: " in done.stderr
    assert "item 9 must score 1 only for 'very much' and 'extremely'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_postgres_urls_get_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.internal/clinic")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("BASE_URL", "https://book.example.com")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://someone@db.internal/clinic"


def test_migrations_match_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path, sqlite_template):
    import shutil

    target = tmp_path / "wal.sqlite"
    shutil.copy(sqlite_template, target)
    app = create_app(app_config(f"sqlite:///{target}"))
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(sa.text("PRAGMA busy_timeout")).scalar() >= 1000
    close_database(app)


def test_naive_datetimes_are_refused(clinic):
    with clinic.app_context():
        practitioner_id = db.session.scalar(sa.text("SELECT id FROM practitioner LIMIT 1"))
        db.session.add(
            TimeOff(practitioner_id=practitioner_id, starts_at=datetime(2027, 1, 1, 9), ends_at=datetime(2027, 1, 1, 10))
        )
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            db.session.flush()
        db.session.rollback()


def test_only_one_clinic_row_may_exist(clinic):
    with clinic.app_context():
        db.session.add(Clinic(id=2, name="Second", timezone="UTC", phone="1", emergency_number="1"))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_start_page_lists_services_and_practitioners(clinic):
    page = clinic.test_client().get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Test Clinic" in text and "Consultation" in text and "Ben Test" in text


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_address_opened_the_wrong_way_says_so_in_our_words(clinic):
    """Sign-out is a form's address (POST): opened as a page it said Werkzeug's "Method Not Allowed"."""
    response = clinic.test_client().get("/staff/sign-out")
    page = response.get_data(as_text=True)
    assert response.status_code == 405
    assert "<h1>This address does not open that way</h1>" in page
    assert "Go back to the page you came from and use its links and buttons." in page
    assert "Method Not Allowed" not in page and "not allowed for the requested URL" not in page


def test_too_large_a_body_says_so_in_our_words_and_in_the_patients_language(clinic):
    patient = clinic.test_client()
    too_much = "x" * (300 * 1024)
    page = patient.post("/book/first-visit", data={"returning": too_much}).get_data(as_text=True)
    assert "<h1>Too much was sent</h1>" in page and "Request Entity Too Large" not in page
    answer = patient.post("/api/v1/bookings", data=too_much, content_type="application/json")
    assert answer.status_code == 413
    assert answer.get_json() == {"error": "request_entity_too_large",
                                 "message": "The body is larger than any request to this API needs. Send less."}
    wrong_way = patient.get("/api/v1/bookings")
    assert wrong_way.status_code == 405 and wrong_way.get_json()["message"] == (
        "This address does not take that method: /api/v1/openapi.json lists the methods each address takes.")
    with clinic.app_context():
        clinic_row = db.session.get(Clinic, 1)
        clinic_row.languages = ["en", "es"]
        db.session.commit()
    patient.get("/?language=es")
    page = patient.post("/book/first-visit", data={"returning": too_much}).get_data(as_text=True)
    assert "Too much was sent" not in page and "Se envió demasiado" in page


def _sent_in_chunks(server, path: str, body: bytes, content_type: str) -> tuple[int, str]:
    """POST `body` to the live server with Transfer-Encoding: chunked (no Content-Length), in
    64 KB chunks as a client streaming it would; the status and the answer's text."""
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    try:
        chunks = (body[at:at + 65_536] for at in range(0, len(body), 65_536))
        connection.request("POST", path, body=chunks, encode_chunked=True,
                           headers={"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_a_body_sent_in_chunks_is_held_to_the_same_limit_as_one_with_its_length(clinic):
    """With no Content-Length, werkzeug stopped reading at the limit and handed on what it had read:
    a chunked API body one byte too long was answered "not valid JSON: Unterminated string", and a
    form's fields past the limit were dropped without a word (found in a hands-on trial)."""
    limit = clinic.config["MAX_CONTENT_LENGTH"]
    with LiveServer(clinic) as server:
        padded = b'{"service": "' + b"a" * (limit - len(b'{"service": ""}') + 1) + b'"}'  # one byte too long
        status, text = _sent_in_chunks(server, "/api/v1/bookings", padded, "application/json")
        assert status == 413 and json.loads(text) == {
            "error": "request_entity_too_large",
            "message": "The body is larger than any request to this API needs. Send less."}
        status, text = _sent_in_chunks(server, "/book/first-visit", b"returning=" + b"x" * limit,
                                       "application/x-www-form-urlencoded")
        assert status == 413 and "<h1>Too much was sent</h1>" in text
        # Exactly at the limit is read whole, as with a Content-Length: the JSON is whole, only wrong.
        at_limit = b'{"service": "' + b"a" * (limit - len(b'{"service": ""}')) + b'"}'
        status, text = _sent_in_chunks(server, "/api/v1/bookings", at_limit, "application/json")
        assert status == 422 and json.loads(text)["error"] == "invalid"
        # And a booking sent in chunks books.
        booking = {"service": "short", "practitioner": "ana", "start": "2027-03-08T10:00:00-08:00", "safety": [],
                   "patient": {"name": "Pat Chunked", "email": "pat.chunked@example.com",
                               "phone": "+1 213 555 0142", "birth_date": "1980-05-17"}}
        status, text = _sent_in_chunks(server, "/api/v1/bookings", json.dumps(booking).encode(), "application/json")
        assert status == 201, text


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/desk/practitioners/%00/hours", None),
    ("GET", "/api/v1/slots?service=short%00&practitioner=any", None),
    ("GET", "/clinician?practitioner=ana%00", None),
    ("POST", "/api/v1/bookings", {"service": "short", "practitioner": "ana", "start": "2027-03-09T10:00:00-08:00",
                                  "safety": [], "patient": {"name": "Nul\u0000Byte", "email": "nul@example.com",
                                                            "phone": "213 555 0100", "birth_date": "1980-01-01"}}),
])
def test_a_nul_character_anywhere_is_a_clear_400_on_both_databases(clinic, method, path, body):
    response = clinic.test_client().open(path, method=method, json=body)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_nul_character_in_a_form_is_a_message_at_the_field_and_the_typing_stays(clinic):
    from tests.test_booking_journey import DETAILS, PatientBrowser

    patient = PatientBrowser(clinic)
    patient.reach_safety_check()
    patient.submit("/book/safety", {"symptoms": ["none"]})
    response = patient.submit("/book/details", DETAILS | {"name": "Pat\x00Example"})
    assert response.status_code == 200 and "has a character that cannot be stored" in response.get_data(as_text=True)
    assert 'value="pat@example.com"' in response.get_data(as_text=True)


def test_the_home_page_a_process_keeps_shows_another_processs_change_and_never_a_staff_menu(staff, login_as):  # noqa: F811
    """Each process keeps the home page it rendered for visitors under the clinic's settings stamp:
    a change saved through another process shows on its next request, and signed-in staff get
    their own page (their menu), never the visitors' one, nor visitors theirs."""
    other = create_app(app_config(staff.config["SQLALCHEMY_DATABASE_URI"], CLOCK=staff.config["CLOCK"]))
    try:
        visitor = other.test_client()
        assert "Test Clinic" in visitor.get("/").text  # rendered, and kept by the other process
        with staff.app_context(), write_transaction():
            db.session.get(Clinic, 1).name = "Riverside Back Clinic"
        assert "Riverside Back Clinic" in visitor.get("/").text
    finally:
        close_database(other)
    anyone = staff.test_client()
    assert "Sign out" not in anyone.get("/").text
    assert "Sign out" in login_as(StaffRole.RECEPTIONIST).get("/").text
    assert "Sign out" not in anyone.get("/").text


def test_a_visitors_home_page_asks_the_database_only_for_the_settings_stamp(clinic, count_queries):
    visitor = clinic.test_client()
    visitor.get("/")  # rendered once by this process, and kept
    with count_queries() as counted:
        assert visitor.get("/").status_code == 200
    assert counted.total == 1


def test_pages_read_alone_survive_sql_instrumentation_that_notes_timing_on_its_context(database_url, clinic, clock):
    """The stamps and a draft are read straight from the driver (booking/driver.py); SQL
    instrumentation listening on the engine (Flask-SQLAlchemy's SQLALCHEMY_RECORD_QUERIES, an APM
    hook) must still see only statements with a connection and context of SQLAlchemy's."""
    recorded = create_app(app_config(database_url, SQLALCHEMY_RECORD_QUERIES=True, CLOCK=clock))
    client = recorded.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/slots?service=consult&practitioner=any&days=7").status_code == 200
    booked = client.post("/api/v1/bookings", json={  # a booking's statements under its lock go the same way
        "service": "short", "practitioner": "ana", "start": "2027-03-09T10:00:00-08:00", "safety": [],
        "patient": {"name": "Pat Traced", "email": "traced@example.com", "phone": "213 555 0142",
                    "birth_date": "1980-04-02"}})
    assert booked.status_code == 201, booked.get_json()
    close_database(recorded)


SQLITE = sa.dialects.sqlite.dialect()
INSTANTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.sampled_from([timezone.utc, ZoneInfo("America/Los_Angeles"),
                                                   timezone(timedelta(hours=5, minutes=45))]))


@settings(max_examples=300, deadline=None)
@given(INSTANTS)
def test_instants_are_written_to_sqlite_as_sqlalchemy_writes_them_and_read_back_unchanged(instant):
    """UTCDateTime's one-step processors on SQLite (models.py) against the decorator's two steps
    through SQLAlchemy's own DATETIME: the same text, so rows written before compare as before."""
    ours = UTCDateTime().dialect_impl(SQLITE)
    text = ours.bind_processor(SQLITE)(instant)
    as_sqlalchemy_writes = sa.dialects.sqlite.DATETIME().bind_processor(SQLITE)(
        ours.process_bind_param(instant, SQLITE))
    assert text == as_sqlalchemy_writes
    read = ours.result_processor(SQLITE, None)(text)
    in_utc = instant.astimezone(UTC)  # (a time in a DST gap compares unequal to any other zone's)
    assert read == in_utc and read.tzinfo is UTC
    assert ours.result_processor(SQLITE, None)(text[:19]) == in_utc.replace(microsecond=0)  # written elsewhere


def test_a_naive_instant_is_refused_by_the_sqlite_processor_too():
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)(datetime(2027, 1, 1, 9))
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)("2027-01-01 09:00:00")


def test_sqlite_hands_out_the_connection_used_last_whose_page_cache_is_warm(tmp_path):
    """Each SQLite connection drops its page cache when another has written since it last read:
    the pool hands out the one used last, so one process's requests do not take turns among its
    connections and drop their caches after every write (booking/__init__.py)."""
    app = create_app(app_config(f"sqlite:///{tmp_path / 'lifo.sqlite'}"))
    with app.app_context():
        first, second = db.engine.raw_connection(), db.engine.raw_connection()
        used_last = second.dbapi_connection
        first.close()
        second.close()  # back in the pool after the first
        again = db.engine.raw_connection()
        assert again.dbapi_connection is used_last
        again.close()
    close_database(app)


def test_an_app_on_a_sqlite_database_in_memory_starts_and_answers():
    """A database in memory has one connection and no pool to hand out in any order."""
    app = create_app(app_config("sqlite://"))
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT 1")) == 1
    close_database(app)
