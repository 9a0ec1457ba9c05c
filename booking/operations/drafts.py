"""A patient's online booking in progress: found by the random key in their session."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import BookingDraft
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
