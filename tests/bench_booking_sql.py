"""A second reference for `make bench` (SQLite): a booking's SQL alone. A bare Flask app whose one
POST route sends, straight through sqlite3, the statements the booking app sends for a new
patient's booking through the API, in one BEGIN IMMEDIATE transaction, and nothing else: no
validation, no scheduling, no ORM, no rate limit, no session. Served like the app, on a copy of
the bench's database, it shows what SQLite and this machine allow for the writes a booking makes,
so the booking POST's own number can be read against it as well as against the floor.

The statements are the app's, as SQLAlchemy writes them on SQLite; tests/test_bench.py checks
that both send the same ones (literals aside), so a change to what a booking writes changes this
reference too or fails that test.

    gunicorn 'tests.bench_booking_sql:create_app()'    # DATABASE_URL=sqlite:///path, as the app
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
from datetime import datetime, timedelta, timezone

from flask import Flask, request

from booking.extensions import begin_as_writer, set_sqlite_pragmas
from booking.operations.availability import LONGEST_VISIT_MINUTES

BUSY_TIMEOUT_SECONDS = 10  # the app's LOCK_TIMEOUT_SECONDS by default

SETTINGS_STAMP = "SELECT clinic.settings_stamp \nFROM clinic \nWHERE clinic.id = 1"
TIME_OFF_AND_BOOKED = (
    "SELECT time_off.practitioner_id, time_off.starts_at, time_off.ends_at, 0 AS anon_1 \nFROM time_off \n"
    "WHERE time_off.practitioner_id IN (:id) AND time_off.starts_at < :window_end AND time_off.ends_at > "
    ":window_start UNION ALL SELECT hands_on_part.practitioner_id, hands_on_part.starts_at, hands_on_part.ends_at, "
    "1 AS anon_2 \nFROM hands_on_part \nWHERE hands_on_part.practitioner_id IN (:id) AND hands_on_part.holds_time = 1 "
    "AND hands_on_part.starts_at < :window_end AND hands_on_part.starts_at > :earliest_start "
    "AND hands_on_part.ends_at > :window_start AND hands_on_part.appointment_id != 0")
ON_FILE = ("SELECT patient.id, patient.name, patient.email, patient.phone \nFROM patient \n"
           "WHERE patient.email = :email AND patient.born_on = :born_on")
INSERT_PATIENT = ("INSERT INTO patient (name, email, phone, born_on, created_at) "
                  "VALUES (:name, :email, :phone, :born_on, :now) RETURNING id")
INSERT_VISIT = (
    "INSERT INTO appointment (reference, practitioner_id, service_id, patient_id, starts_at, ends_at, occupied_until, "
    "status, safety_flags, safety_checked_at, safety_answers, manage_token_hash, booked_via, intake_status, sequence, "
    "created_at, identity_confirmed_at, identity_confirmed_by, language, room_id, bed) VALUES (:reference, :id, "
    ":service_id, :patient_id, :start, :end, :window_end, 'booked', '[]', :now, '[]', :token_hash, 'api', "
    "'not_started', 0, :now, :now, 'Not needed: first booking', 'en', NULL, NULL) RETURNING id")
INSERT_PART = ("INSERT INTO hands_on_part (appointment_id, practitioner_id, starts_at, ends_at, holds_time) "
               "VALUES (:visit, :id, :start, :window_end, 1)")
RENEW_STAMPS = ("UPDATE practitioner SET diary_stamp=CASE WHEN (practitioner.id IN (:id)) THEN :diary_stamp "
                "ELSE practitioner.diary_stamp END, calendar_stamp=:calendar_stamp WHERE practitioner.id IN (:id)")
INSERT_EVENT = ("INSERT INTO appointment_event (appointment_id, at, staff_id, actor, action, detail) "
                "VALUES (:visit, :now, NULL, 'Patient', 'booked', :detail)")
INSERT_MESSAGE = (
    "INSERT INTO outbox_message (kind, appointment_id, about_sequence, to_address, context, status, created_at, "
    "next_attempt_at, attempts) VALUES ('confirmation', :visit, 0, :email, '{\"questions\": \"intake\"}', 'queued', "
    ":now, :now, 0)")


def as_text(instant: datetime) -> str:
    """An instant as the app stores it on SQLite (models.UTCDateTime)."""
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def create_app(database: str | None = None, on_connect=None, clock=None) -> Flask:
    """The reference app on the SQLite file `database` (else DATABASE_URL's). For the tests:
    `on_connect(connection)` is called with its connection as it opens, before anything is sent on
    it, and `clock()` gives the time written as now (else the real time)."""
    clock = clock or (lambda: datetime.now(timezone.utc))
    path = database or os.environ["DATABASE_URL"].removeprefix("sqlite:///")
    app = Flask(__name__)
    opened: dict = {}

    def connection() -> sqlite3.Connection:
        """One per process, opened at the first booking (gunicorn's workers fork after import)."""
        if "connection" not in opened:
            made = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if on_connect is not None:
                on_connect(made)
            set_sqlite_pragmas(made, BUSY_TIMEOUT_SECONDS)
            practitioners = dict(made.execute("SELECT slug, id FROM practitioner"))
            services = {slug: (number, minutes, buffer) for slug, number, minutes, buffer
                        in made.execute("SELECT slug, id, minutes, buffer_minutes FROM service")}
            opened.update(connection=made, practitioners=practitioners, services=services)
        return opened["connection"]

    @app.get("/")
    def ready():
        return "ok"

    @app.post("/api/v1/bookings")
    def book():
        sql = connection()
        asked = json.loads(request.get_data())
        patient = asked["patient"]
        service_id, minutes, buffer = opened["services"][asked["service"]]
        start = datetime.fromisoformat(asked["start"])
        values = {
            "id": opened["practitioners"][asked["practitioner"]], "service_id": service_id,
            "start": as_text(start), "end": as_text(start + timedelta(minutes=minutes)),
            "window_start": as_text(start), "window_end": as_text(start + timedelta(minutes=minutes + buffer)),
            "earliest_start": as_text(start - timedelta(minutes=LONGEST_VISIT_MINUTES)),
            "name": patient["name"], "email": patient["email"], "phone": patient["phone"],
            "born_on": patient["birth_date"], "now": as_text(clock()),
            "reference": secrets.token_hex(4).upper(),
            "token_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
            "diary_stamp": secrets.token_hex(16), "calendar_stamp": secrets.token_hex(16),
            "detail": f"{asked['service']}, {asked['start']} with {asked['practitioner']}, booked through the booking API",
        }
        begin_as_writer(sql, BUSY_TIMEOUT_SECONDS)
        try:
            sql.execute(SETTINGS_STAMP).fetchall()
            sql.execute(TIME_OFF_AND_BOOKED, values).fetchall()
            on_file = sql.execute(ON_FILE, values).fetchall()
            values["patient_id"] = on_file[0][0] if on_file else sql.execute(INSERT_PATIENT, values).fetchall()[0][0]
            [(values["visit"],)] = sql.execute(INSERT_VISIT, values).fetchall()
            for statement in (INSERT_PART, RENEW_STAMPS, INSERT_EVENT, INSERT_MESSAGE):
                sql.execute(statement, values)
            sql.execute("COMMIT")
        except BaseException:
            sql.execute("ROLLBACK")
            raise
        return {"reference": values["reference"], "start": asked["start"]}, 201

    return app
