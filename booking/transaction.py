"""The one way to write: every change to the database goes through `write_transaction`.

A change begins as a writer, reads what it changes under a lock, writes, and commits
once; any error rolls it all back. How the lock is taken differs by database:

- SQLite: BEGIN IMMEDIATE takes the database's write lock before the first read, so a
  transaction never reads a state another writer is about to change, and never has
  to upgrade a read lock (which fails at once when another writer got in between).
- PostgreSQL: many writers run at once; what a change reads and then changes is locked
  row by row (`locked`, SELECT ... FOR UPDATE), on top of the booking's advisory locks
  and the exclusion constraint that keeps one practitioner's visits apart.

A writer that waits for a lock longer than LOCK_TIMEOUT_SECONDS gives up with `Busy`,
which the error pages turn into a 503 saying nothing was changed and to try again. A
booking that loses the race to the exclusion constraint becomes whatever the caller's
`taken` builds (the booking's "that time was just taken" with alternatives).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from booking.extensions import SQLITE_IMMEDIATE, db

# The PostgreSQL exclusion constraints that keep one practitioner's hands-on parts apart, and two
# visits off one bed (migration 0031): a booking that trips either lost its race.
NO_OVERLAP_CONSTRAINTS = ("hands_on_part_no_overlap", "appointment_bed_no_overlap")

# SQLSTATEs of a writer that waited too long or was chosen to give way: lock_not_available,
# query_canceled (a lock_timeout reported as a cancel by some servers), deadlock_detected,
# serialization_failure. Retrying the whole request is always safe: nothing was written.
POSTGRES_GAVE_WAY = {"55P03", "57014", "40P01", "40001"}

_DEPTH = "write_transaction_depth"
_TAKEN = "write_transaction_taken"
_DATABASE = "write_transaction_database"  # the writer's dialect name, kept at its begin


class Busy(SQLAlchemyError):
    """Other writers held the lock for longer than the timeout; nothing was changed. A database
    error like any other to the commands (which report it and exit 1), a 503 to web requests."""

    message = ("The clinic's booking system is busy for a moment, and nothing was changed. "
               "Please try again in a few seconds.")


@contextmanager
def write_transaction(*, taken: Callable[[], Exception] | None = None):
    """Run the block as one write transaction: begun as a writer, committed when the block
    ends, rolled back if it raises.

    A block inside another joins it: only the outermost commits, so an operation made of
    others still commits once. A lost race to a no-overlap constraint raises what
    `taken()` builds (after the rollback, so it may read); a lock waited on too long
    raises Busy.
    """
    session = db.session()  # the real Session behind the scoped proxy
    depth = session.info.get(_DEPTH, 0)
    if depth:
        session.info[_DEPTH] = depth + 1
        if taken is not None:  # the innermost booking knows best what "taken" offers instead
            session.info[_TAKEN] = taken
        try:
            yield
        finally:
            session.info[_DEPTH] = depth
        return
    _begin_as_writer(session)
    session.info[_DEPTH], session.info[_TAKEN] = 1, taken
    try:
        yield
        session.commit()
    except BaseException as error:
        session.rollback()
        taken = session.info[_TAKEN]
        session.info[_DEPTH], session.info[_TAKEN] = 0, None  # taken() reads outside the failed transaction
        if taken is not None and isinstance(error, IntegrityError) and \
                any(name in str(error.orig) for name in NO_OVERLAP_CONSTRAINTS):
            raise taken() from None
        if gave_way(error):
            raise Busy() from error
        raise
    finally:
        session.info[_DEPTH], session.info[_TAKEN] = 0, None


def writing() -> bool:
    """Whether this request's session is inside write_transaction() (what it reads is under the lock)."""
    return bool(db.session.info.get(_DEPTH))


def locked(model, key):
    """The row of `model` with this primary key, locked until the commit (None if there is none).

    On PostgreSQL this is SELECT ... FOR UPDATE: a second change of the same row waits for
    the first to commit, then reads what it left, so a double click or a race sees the
    visit already cancelled or moved. On SQLite the transaction already holds the write
    lock. The row is always read afresh, never taken from the session's memory.
    """
    if not writing():
        raise RuntimeError("locked() outside write_transaction()")
    return db.session.get(model, key, with_for_update=True, populate_existing=True)


def takes_advisory_locks() -> bool:
    """Whether advisory_lock() locks anything: on PostgreSQL. On SQLite the transaction already
    holds the database's write lock, so a caller need not even work out the lock's key (a
    booking hashed the patient's email for nothing). RuntimeError outside write_transaction()."""
    if not writing():
        raise RuntimeError("advisory_lock() outside write_transaction()")
    return db.session.info[_DATABASE] == "postgresql"


def advisory_lock(namespace: int, *ids: int) -> None:
    """On PostgreSQL, hold a transaction-level advisory lock per (namespace, id) until the
    commit, taken in a fixed order so two changes never wait on each other in a circle. It
    guards what no single row stands for, such as a practitioner's free time. On SQLite the
    transaction already holds the database's write lock."""
    if not takes_advisory_locks():
        return
    for key in sorted(set(ids)):
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(namespace, key)))


def _begin_as_writer(session) -> None:
    """Make the session's transaction a writer's; on SQLite that takes the write lock now.
    A transaction already open is a reader's (a request's earlier reads) and is restarted,
    so what the change reads is read again under the lock."""
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("write_transaction() with unsaved changes made outside it")
        session.rollback()
    try:
        session.info[_DATABASE] = session.connection(execution_options={SQLITE_IMMEDIATE: True}).dialect.name
    except DBAPIError as error:
        session.rollback()
        if gave_way(error):
            raise Busy() from error
        raise


def gave_way(error: BaseException) -> bool:
    """Whether the database refused the change for waiting too long on another writer."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in POSTGRES_GAVE_WAY:
        return True
    text = str(original).lower()
    return "database is locked" in text or "database table is locked" in text
