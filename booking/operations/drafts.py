"""A patient's online booking in progress: found by the random key in their session."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from booking import driver
from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import BookingDraft, first_unanswered
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
    # Nothing kept depends on the draft's row (its choices are part of the kept page's key), so it
    # may come from a snapshot of its own.
    rows = driver.run(_ANSWERS, {"key_hash": hash_token(key), "live_since": now - DRAFT_LIFETIME})
    return DraftAnswers(*rows[0]) if rows else None


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
