"""The waitlist: join, change and leave by the secret link; offer freed times; book an offer.

A place on the list keeps what a booking would need (contact details and the urgent safety
answers, checked as a booking checks them), so an offer books in one press. When time frees
up (a cancellation, a move, new hours, time off removed) the operation that freed it calls
`offer_freed_times` in its own transaction: the places it suits are offered it in the order
they joined, a few per practitioner and day at a time, each place one offer at a time. An
offer is booked through bookings.book, so the no-overlap guarantee is the booking's own: of
two people confirming the same time, one books it and the other is told it has gone and stays
on the list. Offers run out after the clinic's `waitlist_offer_hours`; `expire` closes them
(and places whose dates are over) and asks the next people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.i18n import offered_languages
from booking.models import (
    OfferState,
    Patient,
    Practitioner,
    Service,
    WaitlistEntry,
    WaitlistLink,
    WaitlistOffer,
    WaitlistState,
)
from booking.notify import outbox
from booking.operations import bookings, catalogue
from booking.operations.availability import find_slots, load_clinic
from booking.operations.catalogue import ANY_PRACTITIONER
from booking.operations.history import PATIENT, Actor
from booking.operations.problems import CannotBook, InvalidInput, RequestProblem
from booking.safety import classify
from booking.scheduling.waitlist import PART_NAMES, WEEKDAYS, FreedTime, Wish, in_joining_order, suited
from booking.tokens import hash_token, new_token
from booking.transaction import locked, write_transaction

# How many places are asked at once about the freed time of one practitioner on one day: enough
# that someone answers soon, few enough that most who are asked can have it.
OFFERS_AT_ONCE = 3


@dataclass(frozen=True)
class Wishes:
    """What a place asks for, as typed (slugs), before it is checked."""

    service: str
    practitioner: str  # slug or "any"
    first_day: date
    last_day: date
    weekdays: tuple[int, ...] = ()
    parts_of_day: tuple[str, ...] = ()


@dataclass(frozen=True)
class JoinRequest:
    wishes: Wishes
    patient: bookings.PatientDetails
    safety: tuple[str, ...] = ()
    joined_via: str = "online"
    language: str | None = None


@dataclass(frozen=True)
class Joined:
    entry_id: int
    token: str  # shown once, to the patient; only its hash is stored


class OfferGone(CannotBook):
    """The offered time can no longer be booked from this offer (taken by someone else, run out,
    or withdrawn); the place stays on the list."""


def _checked(wishes: Wishes, clinic, today: date) -> tuple[Service, Practitioner | None]:
    """The service and practitioner (None: anyone) a place asks for, or InvalidInput naming each problem."""
    problems: dict[str, str] = {}
    known = catalogue.current()
    service = practitioner = None
    try:
        entry = known.service(wishes.service)
        offering = known.practitioners_for(entry, wishes.practitioner)
        if not offering:
            problems["practitioner"] = _("Nobody offers this visit at the moment.")
        service = db.session.get(Service, entry.id)
        if wishes.practitioner != ANY_PRACTITIONER and offering:
            practitioner = db.session.get(Practitioner, offering[0].id)
    except RequestProblem as problem:  # NotFound: an unknown service or practitioner
        problems[problem.field] = problem.message
    horizon = today + timedelta(days=clinic.max_advance_days)
    if wishes.first_day < today:
        problems["first_day"] = _("The first day must be today or later.")
    elif wishes.first_day > horizon:
        problems["first_day"] = _("The first day must be within %(days)s days from today.",
                                  days=clinic.max_advance_days)
    if wishes.last_day < wishes.first_day:
        problems["last_day"] = _("The last day must be on or after the first day.")
    elif wishes.last_day > horizon:
        problems["last_day"] = _("The last day must be within %(days)s days from today, as far ahead as "
                                 "the clinic books.", days=clinic.max_advance_days)
    if any(day not in WEEKDAYS for day in wishes.weekdays):
        problems["weekdays"] = _("Choose days of the week from the list.")
    if any(part not in PART_NAMES for part in wishes.parts_of_day):
        problems["parts_of_day"] = _("Choose parts of the day from the list.")
    if problems:
        raise InvalidInput(problems)
    return service, practitioner


def join(request: JoinRequest, now: datetime) -> Joined:
    """Put a patient on the waitlist, or raise CannotBook (unknown safety codes), EmergencyAnswers
    (nobody joins with an emergency answer, as nobody books with one) or InvalidInput."""
    answers = classify(list(request.safety))
    if answers.unknown:
        raise CannotBook("safety", f"unknown safety codes: {', '.join(answers.unknown)}")
    if answers.stops_booking:
        raise bookings.EmergencyAnswers()
    with write_transaction():
        clinic = load_clinic()
        service, practitioner = _checked(request.wishes, clinic, clinic.today(now))
        # A first visit is for new patients: someone the clinic already knows would wait for a
        # time they could never book (the booking would refuse them), so they are told now.
        known = db.session.scalar(sa.select(Patient).where(Patient.email == request.patient.email,
                                                           Patient.born_on == request.patient.born_on))
        if known is not None:
            bookings.refuse_if_not_new(service, known, request.joined_via)
        token = new_token()
        entry = WaitlistEntry(
            service=service, practitioner=practitioner, first_day=request.wishes.first_day,
            last_day=request.wishes.last_day, weekdays=sorted(set(request.wishes.weekdays)),
            parts_of_day=[part for part in PART_NAMES if part in request.wishes.parts_of_day],
            name=request.patient.name, email=request.patient.email, phone=request.patient.phone,
            born_on=request.patient.born_on, language=request.language or offered_languages(clinic)[0],
            safety_answers=list(answers.urgent), safety_checked_at=now, joined_via=request.joined_via,
            joined_at=now, link_hash=hash_token(token), state=WaitlistState.WAITING,
        )
        db.session.add(entry)
        db.session.flush()
        outbox.queue_waitlist("waitlist_joined", entry, now)
    return Joined(entry.id, token)


def opened_by(token: str) -> WaitlistEntry | None:
    """The place on the list this secret link opens, while it is on the list (None otherwise)."""
    digest = hash_token(token)
    return db.session.scalar(
        sa.select(WaitlistEntry).where(
            WaitlistEntry.state == WaitlistState.WAITING,
            sa.or_(WaitlistEntry.link_hash == digest,
                   WaitlistEntry.id.in_(sa.select(WaitlistLink.entry_id).where(WaitlistLink.token_hash == digest))),
        ).options(selectinload(WaitlistEntry.service), selectinload(WaitlistEntry.practitioner))
    )


def _waiting(entry_id: int) -> WaitlistEntry:
    """The place, locked until the commit, still on the list; else OfferGone."""
    entry = locked(WaitlistEntry, entry_id)
    if entry is None or entry.state is not WaitlistState.WAITING:
        raise OfferGone("entry", _("This place is no longer on the waitlist."))
    return entry


def change(entry_id: int, wishes: Wishes, now: datetime) -> WaitlistEntry:
    """Change what a place asks for; it keeps its place in the queue. Open offers stay only if the
    changed place would still take them."""
    with write_transaction():
        entry = _waiting(entry_id)
        clinic = load_clinic()
        service, practitioner = _checked(wishes, clinic, clinic.today(now))
        entry.service, entry.practitioner = service, practitioner
        entry.first_day, entry.last_day = wishes.first_day, wishes.last_day
        entry.weekdays = sorted(set(wishes.weekdays))
        entry.parts_of_day = [part for part in PART_NAMES if part in wishes.parts_of_day]
        db.session.flush()
        wish = _wish(entry)
        for offer in _open_offers(entry_id=entry.id):
            if not suited(FreedTime(service.id, offer.practitioner_id, offer.starts_at), [wish],
                          zone=clinic.zone, now=now, min_notice=timedelta(0)):
                _close(offer, OfferState.WITHDRAWN, now)
    return entry


def leave(entry_id: int, now: datetime) -> str:
    """Take a place off the list; the times it was offered go to the next people. Returns the
    name on the place (for the desk's message)."""
    with write_transaction():
        entry = _waiting(entry_id)
        _end(entry, WaitlistState.LEFT, now)
        return entry.name


def _end(entry: WaitlistEntry, state: WaitlistState, now: datetime) -> None:
    """End a place on the list; its open offers are withdrawn and asked of the next people."""
    entry.state, entry.ended_at = state, now
    freed = [(offer.practitioner_id, offer.starts_at) for offer in _open_offers(entry_id=entry.id)]
    for offer in _open_offers(entry_id=entry.id):
        _close(offer, OfferState.WITHDRAWN, now)
    _offer_again(freed, now)


def _open_offers(*, entry_id: int | None = None, practitioner_id: int | None = None,
                 starts_at: datetime | None = None) -> list[WaitlistOffer]:
    query = sa.select(WaitlistOffer).where(WaitlistOffer.state == OfferState.OPEN)
    if entry_id is not None:
        query = query.where(WaitlistOffer.entry_id == entry_id)
    if practitioner_id is not None:
        query = query.where(WaitlistOffer.practitioner_id == practitioner_id, WaitlistOffer.starts_at == starts_at)
    return list(db.session.scalars(query.order_by(WaitlistOffer.id)))


def _close(offer: WaitlistOffer, state: OfferState, now: datetime) -> None:
    offer.state, offer.answered_at = state, now


def _wish(entry: WaitlistEntry) -> Wish:
    return Wish(entry.id, entry.service_id, entry.practitioner_id, entry.first_day, entry.last_day,
                frozenset(entry.weekdays or ()), frozenset(entry.parts_of_day or ()), entry.joined_at)


# --- offering freed time ------------------------------------------------------------------------

def time_freed(practitioner_id: int, start: datetime, now: datetime) -> int:
    """Offer the time freed on that practitioner's day (a cancellation or a move away from it)."""
    with write_transaction():
        day = start.astimezone(load_clinic().zone).date()
        return offer_freed_times([practitioner_id], day, day, now)


bookings.WHEN_TIME_FREED.append(time_freed)  # a cancel or move that frees time calls it in its commit


def offer_freed_times(practitioner_ids: list[int], first_day: date, last_day: date, now: datetime) -> int:
    """Offer the free times of these practitioners on these clinic dates to the places they suit,
    in joining order; returns how many offers went out. Joins the caller's transaction, after
    its change is written (flushed), so the times it freed read as free."""
    with write_transaction():
        db.session.flush()
        clinic = load_clinic()
        today = clinic.today(now)
        first_day = max(first_day, today)
        last_day = min(last_day, today + timedelta(days=clinic.max_advance_days))
        if first_day > last_day or not practitioner_ids:
            return 0
        bookings.lock_practitioners(*practitioner_ids)  # one offering or confirmation of their time at a time
        _close_run_out(now)
        entries = list(db.session.scalars(sa.select(WaitlistEntry).where(
            WaitlistEntry.state == WaitlistState.WAITING,
            WaitlistEntry.first_day <= last_day, WaitlistEntry.last_day >= first_day,
            sa.or_(WaitlistEntry.practitioner_id.is_(None), WaitlistEntry.practitioner_id.in_(practitioner_ids)),
            ~WaitlistEntry.id.in_(sa.select(WaitlistOffer.entry_id).where(WaitlistOffer.state == OfferState.OPEN)),
        )))
        if not entries:
            return 0
        by_id = {entry.id: entry for entry in entries}
        asked_before = {tuple(row) for row in db.session.execute(sa.select(
            WaitlistOffer.entry_id, WaitlistOffer.practitioner_id, WaitlistOffer.starts_at,
        ).where(WaitlistOffer.entry_id.in_(by_id)))}
        open_per_day = _open_offers_per_day(clinic, practitioner_ids)
        free = _free_times(clinic, {entry.service_id for entry in entries}, practitioner_ids, first_day, last_day, now)
        made = 0
        for wish in in_joining_order(_wish(entry) for entry in entries):
            for freed in free.get(wish.service_id, []):
                day = (freed.practitioner_id, freed.start.astimezone(clinic.zone).date())
                if (open_per_day.get(day, 0) >= OFFERS_AT_ONCE
                        or (wish.entry_id, freed.practitioner_id, freed.start) in asked_before
                        or not suited(freed, [wish], zone=clinic.zone, now=now,
                                      min_notice=timedelta(hours=clinic.min_notice_hours))):
                    continue
                _offer(by_id[wish.entry_id], freed.practitioner_id, freed.start, clinic, now)
                open_per_day[day] = open_per_day.get(day, 0) + 1
                made += 1
                break
        return made


def _free_times(clinic, service_ids: set[int], practitioner_ids: list[int], first_day: date, last_day: date,
                now: datetime) -> dict[int, list[FreedTime]]:
    """The free online times of each service with these practitioners, earliest first; read from
    the rows as this transaction has them (new hours included), not the process's catalogue."""
    practitioners = list(db.session.scalars(
        sa.select(Practitioner).where(Practitioner.id.in_(practitioner_ids), Practitioner.is_active)
        .options(selectinload(Practitioner.hours), selectinload(Practitioner.services))
        .execution_options(populate_existing=True).order_by(Practitioner.slug)))
    days = (last_day - first_day).days + 1
    found: dict[int, list[FreedTime]] = {}
    for service_id in service_ids:
        service = db.session.get(Service, service_id)
        if service is None or not service.is_active:
            continue
        offering = [p for p in practitioners if any(s.id == service_id for s in p.services)]
        slug_to_id = {p.slug: p.id for p in offering}
        found[service_id] = [FreedTime(service_id, slug_to_id[slot.practitioner], slot.start)
                             for slot in find_slots(clinic, service, offering, first_day, days, now)]
    return found


def _open_offers_per_day(clinic, practitioner_ids: list[int]) -> dict[tuple[int, date], int]:
    counted: dict[tuple[int, date], int] = {}
    for offer in db.session.scalars(sa.select(WaitlistOffer).where(
            WaitlistOffer.state == OfferState.OPEN, WaitlistOffer.practitioner_id.in_(practitioner_ids))):
        key = (offer.practitioner_id, offer.starts_at.astimezone(clinic.zone).date())
        counted[key] = counted.get(key, 0) + 1
    return counted


def _offer(entry: WaitlistEntry, practitioner_id: int, start: datetime, clinic, now: datetime, *,
           offered_by: str | None = None) -> WaitlistOffer:
    """Write an offer and queue its email; it holds until the clinic's offer hours run out, or
    the minimum notice before the time, whichever is first."""
    expires = min(now + timedelta(hours=clinic.waitlist_offer_hours),
                  start - timedelta(hours=clinic.min_notice_hours))
    offer = WaitlistOffer(entry=entry, practitioner_id=practitioner_id, starts_at=start, sent_at=now,
                          expires_at=expires, state=OfferState.OPEN, offered_by=offered_by)
    db.session.add(offer)
    db.session.flush()
    outbox.queue_waitlist("waitlist_offer", entry, now, offer=offer)
    return offer


def _close_run_out(now: datetime) -> list[WaitlistOffer]:
    """Mark open offers whose time ran out as expired; returns them."""
    ran_out = list(db.session.scalars(sa.select(WaitlistOffer).where(
        WaitlistOffer.state == OfferState.OPEN, WaitlistOffer.expires_at <= now)))
    for offer in ran_out:
        _close(offer, OfferState.EXPIRED, now)
    return ran_out


def _offer_again(times: list[tuple[int, datetime]], now: datetime) -> None:
    """Ask the next people about times whose offers closed without a booking."""
    if not times:
        return
    zone = load_clinic().zone
    days = sorted({start.astimezone(zone).date() for _, start in times})
    offer_freed_times(sorted({practitioner_id for practitioner_id, _ in times}), days[0], days[-1], now)


@dataclass(frozen=True)
class Expired:
    offers: int
    entries: int


def expire(now: datetime) -> Expired:
    """Close offers that ran out and places whose dates are over, then ask the next people about
    the times those offers held (`flask waitlist expire`, run every few minutes)."""
    with write_transaction():
        clinic = load_clinic()
        ran_out = _close_run_out(now)
        over = list(db.session.scalars(sa.select(WaitlistEntry).where(
            WaitlistEntry.state == WaitlistState.WAITING, WaitlistEntry.last_day < clinic.today(now))))
        for entry in over:
            _end(entry, WaitlistState.EXPIRED, now)
        _offer_again([(offer.practitioner_id, offer.starts_at) for offer in ran_out], now)
    return Expired(len(ran_out), len(over))


# --- taking an offer ----------------------------------------------------------------------------

def open_offer(entry: WaitlistEntry, offer_id: int) -> WaitlistOffer | None:
    """The place's offer with this number (whatever its state), or None."""
    offer = db.session.get(WaitlistOffer, offer_id)
    return offer if offer is not None and offer.entry_id == entry.id else None


def still_open(offer: WaitlistOffer, now: datetime) -> bool:
    return offer.state is OfferState.OPEN and offer.expires_at > now


def open_offers_of(entry: WaitlistEntry, now: datetime) -> list[WaitlistOffer]:
    """The place's offers that may still be booked, soonest first."""
    return [offer for offer in db.session.scalars(sa.select(WaitlistOffer).where(
        WaitlistOffer.entry_id == entry.id, WaitlistOffer.state == OfferState.OPEN,
        WaitlistOffer.expires_at > now).order_by(WaitlistOffer.starts_at))]


def gone_message() -> str:
    return _("Sorry, this time has gone: someone else booked it first, or the offer ran out. "
             "You are still on the waitlist, and we will email you when another time frees up.")


def _gone() -> OfferGone:
    return OfferGone("offer", gone_message())


def confirm(entry_id: int, offer_id: int, now: datetime, *, actor: Actor = PATIENT) -> bookings.BookingResult:
    """Book the offered time for the place, with the booking's own no-overlap guarantee; or raise
    OfferGone (someone was quicker, or the offer closed) with the place still on the list."""
    try:
        with write_transaction():
            # The booking's own locks first (patient, then practitioner), then the rows: every
            # confirmation of one time queues on the same lock, so the winner may close the
            # others' offers without waiting on rows they hold (a deadlock otherwise).
            seen = db.session.get(WaitlistOffer, offer_id)
            if seen is None or seen.entry_id != entry_id:
                raise _gone()
            bookings.lock_patient(seen.entry.email, seen.entry.born_on)
            bookings.lock_practitioners(seen.practitioner_id)
            entry = _waiting(entry_id)
            offer = locked(WaitlistOffer, offer_id)
            if offer.state is not OfferState.OPEN or offer.expires_at <= now:
                raise _gone()
            request = bookings.BookingRequest(
                service=entry.service.slug, practitioner=offer.practitioner.slug, start=offer.starts_at,
                patient=bookings.PatientDetails(entry.name, entry.email, entry.phone, entry.born_on),
                safety=tuple(entry.safety_answers or ()), booked_via="waitlist", language=entry.language,
            )
            result = bookings.book(request, now, actor=actor)
            _close(offer, OfferState.BOOKED, now)
            entry.state, entry.ended_at, entry.appointment = WaitlistState.BOOKED, now, result.appointment
            for other in _open_offers(entry_id=entry.id) + _open_offers(practitioner_id=offer.practitioner_id,
                                                                          starts_at=offer.starts_at):
                if other.id != offer.id:
                    _close(other, OfferState.WITHDRAWN if other.entry_id == entry.id else OfferState.GONE, now)
    except bookings.SlotTaken:
        _mark_gone(offer_id, now)
        raise _gone() from None
    except OfferGone:
        raise
    except CannotBook as problem:
        if problem.field != "start":  # e.g. a first visit for someone who has been before: said as it is
            raise
        _mark_gone(offer_id, now)
        raise _gone() from None
    return result


def _mark_gone(offer_id: int, now: datetime) -> None:
    """After a lost race, in a transaction of its own: the offer is closed, the place stays."""
    with write_transaction():
        offer = locked(WaitlistOffer, offer_id)
        if offer is not None and offer.state is OfferState.OPEN:
            _close(offer, OfferState.GONE, now)


# --- the desk -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """A place on the list for one day, with the free times of that day it would take."""

    entry: WaitlistEntry
    would_take: list[FreedTime]


def for_day(day: date, now: datetime) -> list[Waiting]:
    """Who on the list would come on this clinic date, first to join first, each with the free
    online times of the day that suit them (the desk's list beside the calendar)."""
    clinic = load_clinic()
    entries = list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.state == WaitlistState.WAITING, WaitlistEntry.first_day <= day, WaitlistEntry.last_day >= day,
    ).options(selectinload(WaitlistEntry.service), selectinload(WaitlistEntry.practitioner))
        .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)))
    entries = [entry for entry in entries if not entry.weekdays or day.weekday() in entry.weekdays]
    if not entries:
        return []
    everyone = list(db.session.scalars(sa.select(Practitioner.id).where(Practitioner.is_active)))
    free = _free_times(clinic, {entry.service_id for entry in entries}, everyone, day, day, now)
    notice = timedelta(hours=clinic.min_notice_hours)
    return [Waiting(entry, [freed for freed in free.get(entry.service_id, [])
                            if suited(freed, [_wish(entry)], zone=clinic.zone, now=now, min_notice=notice)])
            for entry in entries]


def offer_directly(entry_id: int, practitioner_id: int, start: datetime, now: datetime, *, by: Actor) -> WaitlistOffer:
    """The desk offers one free time to one place on the list (whatever its wishes), by email as
    any offer; CannotBook when the time is not free for its visit online, or inside the notice."""
    with write_transaction():
        bookings.lock_practitioners(practitioner_id)
        entry = _waiting(entry_id)
        clinic = load_clinic()
        day = start.astimezone(clinic.zone).date()
        free = _free_times(clinic, {entry.service_id}, [practitioner_id], day, day, now).get(entry.service_id, [])
        if not any(freed.start == start for freed in free):
            raise CannotBook("start", "That time is not free for this visit, or it is inside the minimum notice "
                                      "for online bookings: choose one of the times listed.")
        if any(offer.starts_at == start and offer.practitioner_id == practitioner_id
               for offer in _open_offers(entry_id=entry.id)):
            raise CannotBook("start", "This time is already offered to them.")
        return _offer(entry, practitioner_id, start, clinic, now, offered_by=by.label)
