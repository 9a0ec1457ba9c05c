"""Extension objects, created unbound here and bound to the app in create_app."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time

from flask_limiter import Limiter
from flask_login import LoginManager
from limits.storage import MemoryStorage
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

# Named constraints, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

class TidiedMemoryStorage(MemoryStorage):
    """The rate limits' in-process counters (RATELIMIT_STORAGE_URI=memory://), with expired entries
    cleared by the requests that count, at most once a second, instead of by a Timer thread.

    The library starts a new Timer thread 10 ms after its last one ended, from inside a request,
    and starting a thread waits until the new thread has run: on a busy machine, a time slice of
    the scheduler's, for one request in a few. Counters never depended on it: each is checked
    against its expiry as it is read. Registered for the memory:// scheme, so the setting stays.
    """

    STORAGE_SCHEME = ["memory"]
    TIDY_EVERY_SECONDS = 1.0
    tidied_at = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's timer start
        moment = time.monotonic()
        if moment - self.tidied_at >= self.TIDY_EVERY_SECONDS:
            self.tidied_at = moment
            self._MemoryStorage__expire_events()


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_manager = LoginManager()

# Execution option that makes a SQLite transaction take the write lock when it begins.
SQLITE_IMMEDIATE = "sqlite_begin_immediate"


class WriterQueue:
    """Writers to one SQLite file wait their turn on an operating-system file lock beside it
    (flock), taken just before BEGIN IMMEDIATE and given up as the transaction ends.

    SQLite alone makes a waiting writer sleep and retry, at growing pauses of up to 100 ms, so a
    writer could sleep on while the lock it wanted stood free, and a busy moment's slowest bookings
    took many times the usual (p99 508 ms against a p50 of 151 ms in issue #15's bench). Here a
    waiting writer tries again within a millisecond of the last one ending. It only queues: SQLite's own write
    lock still keeps writers apart, so a process that does not queue (a migration) is still safe.
    Each connection opens the file itself, so threads of one process queue as processes do.
    """

    POLL_SECONDS = (0.0002, 0.001)  # the first and the longest pause between tries

    def __init__(self, path: str, timeout_seconds: float):
        self.path, self.timeout_seconds = path, timeout_seconds
        self.descriptor: int | None = None
        self.holding = False

    def enter(self) -> None:
        """Wait for this connection's turn; past the lock timeout, fail as SQLite does ("locked")."""
        if self.descriptor is None:
            try:
                self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a folder the app may not write in: SQLite's own waiting still works
                self.path, self.descriptor = None, -1
        if self.path is None:
            return
        deadline, pause = time.monotonic() + self.timeout_seconds, self.POLL_SECONDS[0]
        while True:
            try:
                fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.holding = True
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"),
                                           hide_parameters=True) from None
                time.sleep(pause)
                pause = min(pause * 2, self.POLL_SECONDS[1])

    def leave(self) -> None:
        if self.holding:
            self.holding = False
            fcntl.flock(self.descriptor, fcntl.LOCK_UN)

    def close(self) -> None:
        self.leave()
        if self.descriptor is not None and self.descriptor >= 0:
            os.close(self.descriptor)
        self.descriptor = None

    __del__ = close  # a pooled connection dropped without close() closes its file too


class QueuedWriterConnection(sqlite3.Connection):
    """A SQLite connection that gives up its place in the WriterQueue when its transaction ends,
    after the COMMIT or ROLLBACK itself, so the next writer never finds SQLite's lock still held."""

    writers: WriterQueue | None = None

    def commit(self):
        self._then_leave(super().commit)

    def rollback(self):
        self._then_leave(super().rollback)

    def close(self):
        self._then_leave(super().close)
        if self.writers is not None:
            self.writers.close()

    def _then_leave(self, end) -> None:
        try:
            end()
        finally:
            if self.writers is not None:
                self.writers.leave()


def configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    """WAL, a busy timeout, foreign keys, and transactions we begin ourselves.

    pysqlite's own transaction handling starts transactions late and never as
    IMMEDIATE, so it is switched off and BEGIN is emitted here instead.
    """

    database = engine.url.database
    queue_path = f"{database}-writers" if database and database != ":memory:" and not database.startswith("file:") else None

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        if queue_path and isinstance(dbapi_connection, QueuedWriterConnection):
            dbapi_connection.writers = WriterQueue(queue_path, busy_timeout_seconds)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # With WAL, NORMAL keeps the database whole through a crash; only a power cut can lose the
        # last commits. FULL would wait for the disk at every commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        # A web server reads the same pages over and over: a 32 MB page cache per connection and
        # reads through the operating system's own cache (mmap) keep them off the disk.
        cursor.execute("PRAGMA cache_size = -32000")
        cursor.execute("PRAGMA mmap_size = 268435456")
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(SQLITE_IMMEDIATE):
            writers = getattr(connection.connection.dbapi_connection, "writers", None)
            if writers is not None:
                writers.enter()
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if writers is not None:
                    writers.leave()
                raise
        else:
            connection.exec_driver_sql("BEGIN")
