"""A patient's online booking in progress: found by the random key in their session."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import BookingDraft, first_unanswered
from booking.operations import catalogue
from booking.operations.bookings import BookingRequest, PatientDetails
from booking.tokens import hash_token

# A draft untouched for this long is gone, with everything typed into it.
DRAFT_LIFETIME = timedelta(hours=24)


def find_draft(key: str | None, now: datetime) -> BookingDraft | None:
    """The live draft for this key, or None."""
    if not key:
        return None
    return db.session.scalar(
        sa.select(BookingDraft).where(
            BookingDraft.key_hash == hash_token(key), BookingDraft.updated_at > now - DRAFT_LIFETIME
        )
    )


@dataclass(frozen=True)
class DraftAnswers:
    """A draft's answers as plain values, for a page that only reads them (the time list): no
    row in the session, so no lazy load of its service and no flush to look for changes."""

    id: int
    service_id: int | None
    practitioner_choice: str | None
    starts_at: datetime | None
    safety_codes: list | None
    details: dict | None
    appointment_id: int | None

    def missing_step(self) -> str | None:
        """As BookingDraft.missing_step (the same rule)."""
        return first_unanswered(self.details, self.service_id is not None, self.practitioner_choice,
                                self.starts_at, self.safety_codes)


# Built once; the key's hash is unique, so its index finds the one row.
_ANSWERS = sa.select(
    BookingDraft.id, BookingDraft.service_id, BookingDraft.practitioner_choice, BookingDraft.starts_at,
    BookingDraft.safety_codes, BookingDraft.details, BookingDraft.appointment_id,
).where(BookingDraft.key_hash == sa.bindparam("key_hash"), BookingDraft.updated_at > sa.bindparam("live_since"))


def find_answers(key: str | None, now: datetime) -> DraftAnswers | None:
    """The live draft for this key as plain values (one indexed statement), or None."""
    if not key:
        return None
    rows = _read_alone(_ANSWERS, {"key_hash": hash_token(key), "live_since": now - DRAFT_LIFETIME})
    return DraftAnswers(*rows[0]) if rows else None


def _read_alone(statement, params: dict) -> list[tuple]:
    """The rows of a SELECT of columns, as catalogue.stamps_read reads the stamps: on the request's
    transaction when one has begun (to see its own changes), otherwise on a pooled connection of
    its own through the driver's cursor, its values bound and read back by the columns' own types.

    A time list the process keeps reads only the draft and the stamps; through the session the
    draft alone began the request's transaction (BEGIN, the execution layer, the ROLLBACK at the
    end), and made the stamps after it take that way too. Nothing kept depends on the draft's row
    (its choices are part of the kept page's key), so it may come from a snapshot of its own."""
    sessions = db.session.registry  # asked without making the request's session: it may never need one
    if sessions.has() and sessions().in_transaction():
        return list(catalogue.core_read(statement, params).all())
    engine = db.engine
    sql, positions, binders, readers = _driver_form(statement, engine.dialect)
    values = {name: binder(params[name]) if binder else params[name] for name, binder in binders.items()}
    arguments = tuple(values[name] for name in positions) if positions is not None else values
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        # Counters of the engine's statements (the tests', the bench's) count this one too.
        engine.dispatch.before_cursor_execute(None, cursor, sql, arguments, None, False)
        cursor.execute(sql, arguments)
        rows = cursor.fetchall()
        cursor.close()
    finally:
        connection.close()  # back to the pool, which rolls back whatever the driver began
    return [tuple(read(value) if read else value for read, value in zip(readers, row)) for row in rows]


@functools.lru_cache(maxsize=8)
def _driver_form(statement, dialect) -> tuple:
    """A statement as the driver takes it: its SQL, the order of its parameters (None when the
    driver takes them by name), how each is bound, and how each column is read back."""
    compiled = statement.compile(dialect=dialect)
    binders = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
    readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in statement.selected_columns)
    return compiled.string, (tuple(compiled.positiontup) if compiled.positional else None), binders, readers


def start_draft(now: datetime) -> tuple[BookingDraft, str]:
    """A new, empty draft and the key for the patient's session; written by its first save."""
    key = secrets.token_urlsafe(32)
    return BookingDraft(key_hash=hash_token(key), updated_at=now), key


def save(draft: BookingDraft, now: datetime, **answers) -> None:
    """Record answers on the draft (the request's one commit). The draft is read again under
    the write lock first, so a save after a lost race never meets a stale snapshot."""
    with write_transaction():
        if draft.id is None:  # its first save: clear out drafts nobody came back to
            db.session.execute(sa.delete(BookingDraft).where(BookingDraft.updated_at <= now - DRAFT_LIFETIME))
            db.session.add(draft)
        for name, value in answers.items():
            setattr(draft, name, value)
        draft.updated_at = now


def booking_request(draft: BookingDraft) -> BookingRequest:
    """What the draft asks to book, for the booking operation."""
    details = draft.details
    return BookingRequest(
        service=draft.service.slug,
        practitioner=draft.practitioner_choice,
        start=draft.starts_at,
        patient=PatientDetails(
            name=details["name"],
            email=details["email"],
            phone=details["phone"],
            born_on=date.fromisoformat(details["birth_date"]),
        ),
        safety=tuple(draft.safety_codes or ()),
        booked_via="online",
    )
