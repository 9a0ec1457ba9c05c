"""Extension objects, created unbound here and bound to the app in create_app."""

from __future__ import annotations

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

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


def configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    """WAL, a busy timeout, foreign keys, and transactions we begin ourselves.

    pysqlite's own transaction handling starts transactions late and never as
    IMMEDIATE, so it is switched off and BEGIN is emitted here instead.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
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
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
