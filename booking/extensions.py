"""Extension objects, created unbound here and bound to the app in create_app."""

from __future__ import annotations

import sqlite3
import time

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError

# Named constraints, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()

# Execution option that makes a SQLite transaction take the write lock when it begins.
SQLITE_IMMEDIATE = "sqlite_begin_immediate"

# How long a writer waits between two quick tries for SQLite's write lock, and for how long it
# tries so (begin_as_writer).
WRITE_LOCK_RETRY_SECONDS = 0.0001
FINE_WAIT_SECONDS = 0.02  # then SQLite's own handler takes the rest of the wait

OLDEST_SQLITE = (3, 35)  # the first with INSERT ... RETURNING, which a booking's rows use (booking/driver.py)

# Called with the SQL of each statement sent straight through the driver's cursor, which the
# engine's events do not see: whoever counts the engine's statements (the tests, the bench)
# counts these too (booking/driver.py, begin_as_writer).
DRIVER_STATEMENT_LISTENERS: list = []


def sqlite_in_memory(url: URL) -> bool:
    """Whether a SQLite URL names no file: nothing is on disk, and its pool holds one connection."""
    return not url.database or url.database == ":memory:" or url.database.startswith("file::memory:")


def configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    """WAL, a busy timeout, foreign keys, and transactions we begin ourselves.

    pysqlite's own transaction handling starts transactions late and never as
    IMMEDIATE, so it is switched off and BEGIN is emitted here instead.
    """
    if sqlite3.sqlite_version_info < OLDEST_SQLITE:  # said at start-up, not by every booking failing
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: this app needs "
                           f"{'.'.join(map(str, OLDEST_SQLITE))} or newer (INSERT ... RETURNING)")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        set_sqlite_pragmas(dbapi_connection, busy_timeout_seconds)

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(SQLITE_IMMEDIATE):
            begin_as_writer(connection.connection.driver_connection, busy_timeout_seconds)
        else:
            connection.exec_driver_sql("BEGIN")


def set_sqlite_pragmas(dbapi_connection: sqlite3.Connection, busy_timeout_seconds: float) -> None:
    """What every connection of the app sets (the bench's booking-SQL reference sets the same)."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    # With WAL, NORMAL keeps the database whole through a crash; only a power cut can lose the
    # last commits. FULL would wait for the disk at every commit.
    cursor.execute("PRAGMA synchronous = NORMAL")
    # A web server reads the same pages over and over: a 32 MB page cache per connection keeps
    # them in memory, and the operating system's cache keeps them off the disk. No mmap: after
    # every commit by another connection SQLite unmaps the whole file and maps it again, and
    # with two workers booking that cost each booking 3-6% of the rate (README, Speed), while
    # reads, mostly answered from kept pages and free times, gained nothing measurable.
    cursor.execute("PRAGMA cache_size = -32000")
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.close()


def begin_as_writer(dbapi_connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """BEGIN IMMEDIATE, tried again every WRITE_LOCK_RETRY_SECONDS while another writer holds the
    lock, for FINE_WAIT_SECONDS; the rest of timeout_seconds is left to SQLite's own handler, and
    a wait that runs out is SQLAlchemy's OperationalError, "database is locked", as before.

    SQLite's handler sleeps 1, 2, 5, 10 ms and more between tries, while a booking holds the lock
    under 1 ms: the second of two writers slept through most of the time it could have written
    in. It is switched off for the quick tries only, and every other statement keeps it (a reader
    may meet a checkpoint, another process a backup). A wait longer than a few bookings' is not a
    booking's, and trying every 0.1 ms through it would only take CPU from whoever holds the lock.
    """
    for listener in DRIVER_STATEMENT_LISTENERS:
        listener("BEGIN IMMEDIATE")
    try:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")
        try:
            started = time.monotonic()
            while True:
                try:
                    dbapi_connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error):
                        raise
                waited = time.monotonic() - started
                if waited >= min(FINE_WAIT_SECONDS, timeout_seconds):
                    break
                time.sleep(WRITE_LOCK_RETRY_SECONDS)
            dbapi_connection.execute(f"PRAGMA busy_timeout = {max(0, int((timeout_seconds - waited) * 1000))}")
            dbapi_connection.execute("BEGIN IMMEDIATE")
        finally:
            dbapi_connection.execute(f"PRAGMA busy_timeout = {int(timeout_seconds * 1000)}")
    except sqlite3.Error as error:  # as SQLAlchemy's own execution raises it, whatever the driver's error
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error
