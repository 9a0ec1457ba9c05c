"""The waitlist: join, change and leave by the secret link; offer freed times; book an offer.

A place on the list keeps what a booking would need (contact details and the urgent safety
answers, checked as a booking checks them), so an offer books in one press. When time frees
up (a cancellation, a move, new hours, time off removed) the operation that freed it calls
`offer_freed_times` in its own transaction with what it gave up: the times it freed (only those:
one free all along is no news) are offered to the places they suit in the order they joined, a few per practitioner and day at a time, each place one offer at a time. An
offer is booked through bookings.book, so the no-overlap guarantee is the booking's own: of
two people confirming the same time, one books it and the other is told it has gone and stays
on the list. Offers run out after the clinic's `waitlist_offer_hours`; `expire` closes them
(and places whose dates are over) and asks the next people.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from babel.dates import get_day_names
from babel.lists import format_list
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.formatting import date_text
from booking.i18n import offered_languages, spoken_locale
from booking.models import (
    Appointment,
    AppointmentStatus,
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
from booking import driver
from booking.operations import bookings, catalogue
from booking.operations.availability import find_slots, load_clinic
from booking.operations.catalogue import ANY_PRACTITIONER
from booking.operations.history import PATIENT, Actor
from booking.operations.problems import CannotBook, InvalidInput, RequestProblem
from booking.safety import classify
from booking.scheduling.core import TimeRange
from booking.scheduling import wall_clock_instant
from booking.scheduling.waitlist import (
    PART_NAMES,
    WEEKDAYS,
    Change,
    FreedTime,
    Wish,
    freed_by,
    given_up_start,
    in_joining_order,
    suited,
    why_never_offered,
)
from booking.tokens import hash_token, new_token
from booking.transaction import locked, write_transaction

log = logging.getLogger(__name__)

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
    notice: str | None = None  # unworked_notice: nobody it would see works its days and times, as the hours stand


class AlreadyWaiting(CannotBook):
    """The person (email and date of birth) already has a place on the list for this visit: its link
    was emailed to them again and nothing else changed. The link is never shown to whoever asked."""


def already_waiting_message() -> str:
    return _("You already have a place on the waitlist for this visit. We have emailed its link to you again: "
             "open it to see, change or leave your place.")


class OfferGone(CannotBook):
    """The offered time can no longer be booked from this offer (taken by someone else, run out,
    or withdrawn); the place stays on the list."""


def _checked(wishes: Wishes, clinic, today: date) -> tuple[Service, Practitioner | None]:
    """The service and practitioner (None: anyone) a place asks for, or InvalidInput naming each problem."""
    problems, service, practitioner = _problems(wishes.service, wishes.practitioner, wishes.first_day,
                                                wishes.last_day, clinic, today)
    if any(day not in WEEKDAYS for day in wishes.weekdays):
        problems["weekdays"] = _("Choose days of the week from the list.")
    if any(part not in PART_NAMES for part in wishes.parts_of_day):
        problems["parts_of_day"] = _("Choose parts of the day from the list.")
    if not problems:
        problems = never_offered(wishes, clinic)
    if problems:
        raise InvalidInput(problems)
    return service, practitioner


def never_offered(wishes: Wishes, clinic) -> dict[str, str]:
    """The problem, beside its field, with a place whose dates hold none of the days of the week it
    asks for ("Thursdays" from a Monday to a Wednesday): no time could ever suit it, so it would be
    taken and then wait for nothing. Its service, practitioner and dates must already be checked.
    Days and times nobody works are not refused: hours can be added, and the waitlist offers what
    new hours open (`unworked_notice` tells the person instead)."""
    if _why_never_offered(wishes)[0] != "weekdays":
        return {}
    locale = spoken_locale(clinic)
    return {"weekdays": _("None of the dates from %(first)s to %(last)s falls on the days of the week chosen, so no "
                          "time could be offered. Choose other days of the week, or other dates.",
                          first=date_text(wishes.first_day, locale, "medium"),
                          last=date_text(wishes.last_day, locale, "medium"))}


def _why_never_offered(wishes: Wishes) -> tuple[str | None, list]:
    """The pure core's answer for the place (see why_never_offered), with whoever it would see."""
    known = catalogue.current()
    service = known.service(wishes.service)
    people = known.practitioners_for(service, wishes.practitioner)
    return why_never_offered(wishes.first_day, wishes.last_day, wishes.weekdays, wishes.parts_of_day,
                             [period for person in people for period in person.working_intervals],
                             service.minutes), people


def unworked_notice(entry: WaitlistEntry, today: date) -> str | None:
    """What to tell the person, or the desk, about a place no time can come to as things stand:
    its remaining dates hold none of its days of the week, or nobody it would see works then (Ben on
    Tuesdays), or not at its times of day. A place of the second kind is kept, and offered what new
    hours open, but until then no time will come. None for a place some hours suit, or whose dates
    are over."""
    first_day = max(entry.first_day, today)
    if first_day > entry.last_day:
        return None
    try:
        why, people = _why_never_offered(_wishes_of(entry, first_day))
    except RequestProblem:  # its service or practitioner has gone: not a matter of hours
        return None
    if why is None:
        return None
    if why == "weekdays":
        return _("None of the place's remaining dates falls on the days of the week chosen, so no time will be "
                 "offered. Change the days of the week or the dates.")
    if entry.practitioner is None:
        return _("As the clinic's hours stand, nobody who offers this visit works on the days and at the times "
                 "chosen. The place is kept, and a time is offered if the hours change; or choose other days or "
                 "times.")
    name = entry.practitioner.name
    if why == "times":
        return _("As the clinic's hours stand, %(name)s works on those days, but has no time for a visit of "
                 "%(minutes)s minutes in the parts of the day chosen. The place is kept, and a time is offered if "
                 "their hours change; or choose other times of day, or anyone.",
                 name=name, minutes=entry.service.minutes)
    worked = sorted({period.weekday for period in people[0].working_intervals})
    if not worked:
        return _("%(name)s has no working hours at the moment. The place is kept, and a time is offered if that "
                 "changes; or choose anyone.", name=name)
    locale = spoken_locale(load_clinic())
    names = get_day_names("wide", locale=locale)
    return _("As the clinic's hours stand, %(name)s does not work on the days chosen: their working days are "
             "%(days)s. The place is kept, and a time is offered if their hours change; or choose other days, or "
             "anyone.", name=name, days=format_list([names[day] for day in worked], locale=locale))


def _wishes_of(entry: WaitlistEntry, first_day: date) -> Wishes:
    return Wishes(entry.service.slug, entry.practitioner.slug if entry.practitioner else ANY_PRACTITIONER, first_day,
                  entry.last_day, tuple(entry.weekdays or ()), tuple(entry.parts_of_day or ()))


def _problems(service_slug: str | None, practitioner_slug: str | None, first_day: date | None,
              last_day: date | None, clinic, today: date) -> tuple[dict[str, str], Service | None, Practitioner | None]:
    """What is wrong with the visit, practitioner and dates asked for (each may be None: not
    readable, so not checked), with the service and practitioner they name."""
    problems: dict[str, str] = {}
    known = catalogue.current()
    service = practitioner = None
    if service_slug is not None:
        try:
            entry = known.service(service_slug)
            service = db.session.get(Service, entry.id)
            if practitioner_slug is not None:
                offering = known.practitioners_for(entry, practitioner_slug)
                if not offering:
                    problems["practitioner"] = _("Nobody offers this visit at the moment.")
                elif practitioner_slug != ANY_PRACTITIONER:
                    practitioner = db.session.get(Practitioner, offering[0].id)
        except CannotBook as problem:  # the page lists everyone: someone who does not offer this visit
            named = next((p.name for p in known.active_practitioners() if p.slug == practitioner_slug), None)
            problems[problem.field] = _("%(name)s does not offer this kind of visit. Choose someone who does, or "
                                        "anyone.", name=named) if named else problem.message
        except RequestProblem as problem:  # NotFound: an unknown service or practitioner
            problems[problem.field] = problem.message
    horizon = today + timedelta(days=clinic.max_advance_days)
    if first_day is not None and first_day < today:
        problems["first_day"] = _("The first day must be today or later.")
    elif first_day is not None and first_day > horizon:
        problems["first_day"] = _("The first day must be within %(days)s days from today.",
                                  days=clinic.max_advance_days)
    if last_day is not None and first_day is not None and last_day < first_day:
        problems["last_day"] = _("The last day must be on or after the first day.")
    elif last_day is not None and last_day > horizon:
        problems["last_day"] = _("The last day must be within %(days)s days from today, as far ahead as "
                                 "the clinic books.", days=clinic.max_advance_days)
    elif last_day is not None and last_day < today:
        problems["last_day"] = _("The last day must be today or later.")
    return problems, service, practitioner


def problems_before_joining(service: str | None, practitioner: str | None, first_day: date | None,
                            last_day: date | None, now: datetime, patient: bookings.PatientDetails | None = None,
                            joined_via: str = "online", weekdays: tuple[int, ...] | None = None,
                            parts_of_day: tuple[str, ...] | None = None) -> dict[str, str]:
    """Everything `join` (or `change`, without a patient) would refuse in what could be read of a
    form, so the page names every problem at once rather than one round after another. Reads only."""
    clinic = load_clinic()
    problems, chosen, _someone = _problems(service, practitioner, first_day, last_day, clinic, clinic.today(now))
    asked = (service, practitioner, first_day, last_day, weekdays, parts_of_day)
    if not problems and None not in asked:
        problems = never_offered(Wishes(*asked), clinic)
    if chosen is not None and patient is not None and "service" not in problems:
        known = db.session.scalar(sa.select(Patient).where(Patient.email == patient.email,
                                                           Patient.born_on == patient.born_on))
        try:
            if known is not None:
                bookings.refuse_if_not_new(chosen, known, joined_via)
        except CannotBook as refused:
            problems[refused.field] = refused.message
    return problems


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
        bookings.lock_patient(request.patient.email, request.patient.born_on)  # two joins at once: one place
        waiting = _places_of(request.patient.email, request.patient.born_on, service.id)
        if waiting:
            # One place per person and visit, or they would be offered (and could take) two times.
            # Whoever typed this may not be them: the link goes to the address, never to the page.
            outbox.queue_waitlist("waitlist_joined", waiting[0], now, again=True)
        else:
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
            notice = unworked_notice(entry, clinic.today(now))
    if waiting:  # after the commit: the email goes out, and the caller says why nobody joined
        raise AlreadyWaiting("email", already_waiting_message())
    return Joined(entry.id, token, notice)


def _places_of(email: str, born_on: date, service_id: int) -> list[WaitlistEntry]:
    """The person's places still on the list for this visit, first joined first."""
    return list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.state == WaitlistState.WAITING, WaitlistEntry.email == email, WaitlistEntry.born_on == born_on,
        WaitlistEntry.service_id == service_id).order_by(WaitlistEntry.joined_at, WaitlistEntry.id)))


def place_by_link(token: str) -> WaitlistEntry | None:
    """The place this secret link opens, on the list or ended (kept a while: retention), or None."""
    digest = hash_token(token)
    return db.session.scalar(
        sa.select(WaitlistEntry).where(
            sa.or_(WaitlistEntry.link_hash == digest,
                   WaitlistEntry.id.in_(sa.select(WaitlistLink.entry_id).where(WaitlistLink.token_hash == digest))),
        ).options(selectinload(WaitlistEntry.service), selectinload(WaitlistEntry.practitioner),
                  selectinload(WaitlistEntry.appointment))
    )


def opened_by(token: str) -> WaitlistEntry | None:
    """The place on the list this secret link opens, while it is on the list (None otherwise)."""
    place = place_by_link(token)
    return place if place is not None and place.state is WaitlistState.WAITING else None


def visit_ahead(entry: WaitlistEntry, now: datetime) -> Appointment | None:
    """The visit booked from the place, while it is booked and still ahead (its link may open it)."""
    visit = entry.appointment if entry.state is WaitlistState.BOOKED else None
    return visit if visit is not None and visit.status is AppointmentStatus.BOOKED and visit.ends_at > now else None


def manage_link_for(entry_id: int, now: datetime) -> str | None:
    """A new secret link to the visit booked from the place (the waitlist link is as secret as one,
    and only hashes of both are kept), or None when there is no such visit ahead."""
    with write_transaction():
        entry = locked(WaitlistEntry, entry_id)
        visit = visit_ahead(entry, now) if entry is not None else None
        return outbox.new_manage_link(visit.id, now) if visit is not None else None


def set_language(entry_id: int, language: str) -> None:
    """The language the person now reads the place's pages in: its later emails follow it."""
    with write_transaction():
        entry = locked(WaitlistEntry, entry_id)
        if entry is not None:
            entry.language = language


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
        if service.id != entry.service_id:  # one place per person for each visit, as when joining
            bookings.lock_patient(entry.email, entry.born_on)
            if any(place.id != entry.id for place in _places_of(entry.email, entry.born_on, service.id)):
                raise CannotBook("service", _("You already have a place on the waitlist for this visit. Change "
                                              "or leave that place instead."))
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
    open_offers = _open_offers(entry_id=entry.id)
    for offer in open_offers:
        _close(offer, OfferState.WITHDRAWN, now)
    _offer_again([(offer.practitioner_id, offer.starts_at) for offer in open_offers], now)


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

def time_freed(practitioner_id: int, given_up: TimeRange, now: datetime, *, bed_freed: bool = False,
               given_up_by: int | None = None) -> int:
    """Offer the times a cancellation or a move away freed: those its visit (with its buffer) held;
    when it gave a bed back (`bed_freed`), every practitioner's times over that span, since the
    last bed may have been all that kept another practitioner's patient out. Not to the patient
    whose visit it was (`given_up_by`): a move offered them the very time they had just left. (Once
    such an offer runs out and the time is asked again, they are no longer passed over.)"""
    others = [p.id for p in catalogue.current().active_practitioners() if p.id != practitioner_id] if bed_freed else []
    return offer_freed_times([Change(who, visits=(given_up,), given_up_by=given_up_by)
                              for who in (practitioner_id, *others)], now)


bookings.WHEN_TIME_FREED.append(time_freed)  # a cancel or move that frees time calls it in its commit


def _days_of(change: Change, clinic, today: date) -> tuple[date, date]:
    """The clinic dates whose times a change may have freed."""
    if change.new_hours:  # every week ahead, as far as the clinic books
        return today, today + timedelta(days=clinic.max_advance_days)
    instants = [*change.starts, *(edge for span in (*change.visits, *change.opened) for edge in (span.start, span.end))]
    days = [instant.astimezone(clinic.zone).date() for instant in instants]
    return min(days), max(days)


def offer_freed_times(changes: list[Change], now: datetime) -> int:
    """Offer the times these changes freed (not every free time: one free all along is not news)
    to the places they suit, in joining order; returns how many offers went out. Joins the
    caller's transaction, after its change is written (flushed), so the times it freed read as free."""
    changes = [change for change in changes if change.visits or change.opened or change.new_hours or change.starts]
    if not changes:
        return 0
    with write_transaction():
        db.session.flush()
        clinic = load_clinic()
        today = clinic.today(now)
        spans = [_days_of(change, clinic, today) for change in changes]
        first_day = max(min(first for first, _ in spans), today)
        last_day = min(max(last for _, last in spans), today + timedelta(days=clinic.max_advance_days))
        practitioner_ids = sorted({change.practitioner_id for change in changes})
        if first_day > last_day:
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
        services = {service_id: db.session.get(Service, service_id) for service_id in free}
        busy = _visits_of(entries, first_day, last_day, clinic)
        freed = {service_id: [candidate for candidate in times if any(
                     freed_by(change, candidate, services[service_id].minutes, services[service_id].buffer_minutes,
                              clinic.zone) for change in changes)]
                 for service_id, times in free.items()}
        for times in freed.values():
            times.sort(key=lambda candidate: (not any(given_up_start(change, candidate.start) for change in changes),
                                              candidate.start))
        left = _who_left(changes, entries)
        made = 0
        for wish in in_joining_order(_wish(entry) for entry in entries):
            for candidate in freed.get(wish.service_id, []):
                day = (candidate.practitioner_id, candidate.start.astimezone(clinic.zone).date())
                if (open_per_day.get(day, 0) >= OFFERS_AT_ONCE
                        or (wish.entry_id, candidate.practitioner_id, candidate.start) in asked_before
                        or not suited(candidate, [wish], zone=clinic.zone, now=now,
                                      min_notice=timedelta(hours=clinic.min_notice_hours))
                        or _clashes(candidate, services[wish.service_id], busy[wish.entry_id])
                        or any(wish.entry_id in places and freed_by(
                            change, candidate, services[wish.service_id].minutes,
                            services[wish.service_id].buffer_minutes, clinic.zone)
                            for change, places in zip(changes, left))):
                    continue
                _offer(by_id[wish.entry_id], candidate.practitioner_id, candidate.start, clinic, now)
                open_per_day[day] = open_per_day.get(day, 0) + 1
                made += 1
                break
        return made


def _who_left(changes: list[Change], entries: list[WaitlistEntry]) -> list[set[int]]:
    """Per change, the places of the patient whose visit it gave up (found by the email and date of
    birth, as a booking finds them; none when no patient's visit did): what the change freed is not
    offered to them."""
    left = []
    for change in changes:
        patient = db.session.get(Patient, change.given_up_by) if change.given_up_by is not None else None
        left.append(set() if patient is None else {
            entry.id for entry in entries if (entry.email, entry.born_on) == (patient.email, patient.born_on)})
    return left


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


def _visits_of(entries: list[WaitlistEntry], first_day: date, last_day: date, clinic) -> dict[int, list[TimeRange]]:
    """Each place's person's booked visits on these clinic dates, found as a booking finds its
    patient (the email and date of birth). A time overlapping one of them is not theirs to take (the
    booking would refuse it: bookings.refuse_if_patient_busy), and offering it anyway held it from
    the next people on the list until the offer ran out."""
    zone = clinic.zone
    rows = db.session.execute(sa.select(Patient.email, Patient.born_on, Appointment.starts_at, Appointment.ends_at)
                              .join(Appointment.patient).where(
        Patient.email.in_({entry.email for entry in entries}),
        Appointment.status.in_(AppointmentStatus.holding_time()),
        Appointment.starts_at < wall_clock_instant(last_day + timedelta(days=1), time(0), zone),
        Appointment.ends_at > wall_clock_instant(first_day, time(0), zone))) if entries else []
    visits: dict[tuple[str, date], list[TimeRange]] = {}
    for email, born_on, starts_at, ends_at in rows:
        visits.setdefault((email, born_on), []).append(TimeRange(starts_at, ends_at))
    return {entry.id: visits.get((entry.email, entry.born_on), []) for entry in entries}


def _clashes(freed: FreedTime, service: Service, visits: list[TimeRange]) -> bool:
    """Whether the visit the freed time would be overlaps one the person already has (their buffers may)."""
    return bookings.clashes(visits, freed.start, service.minutes)


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
    by_practitioner: dict[int, list[datetime]] = {}
    for practitioner_id, start in times:
        by_practitioner.setdefault(practitioner_id, []).append(start)
    offer_freed_times([Change(practitioner_id, starts=tuple(starts))
                       for practitioner_id, starts in by_practitioner.items()], now)


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


def gone_message(offer: WaitlistOffer | None = None) -> str:
    """Why an offer can no longer be booked, in the words its state allows: one closed while its
    place stays on the list was turned down ("No thanks") or replaced by the desk's offer of another
    time, not taken by someone else (a trial read "someone else booked it" after saying no)."""
    if offer is not None and offer.state is OfferState.WITHDRAWN:
        return _("This offer is closed: you said no to it, or the clinic offered you another time instead. "
                 "You are still on the waitlist, and we will email you when another time frees up.")
    return _("Sorry, this time has gone: someone else booked it first, or the offer ran out. "
             "You are still on the waitlist, and we will email you when another time frees up.")


def _gone(offer: WaitlistOffer | None = None) -> OfferGone:
    return OfferGone("offer", gone_message(offer))


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
                raise _gone(offer)
            request = bookings.BookingRequest(
                service=entry.service.slug, practitioner=offer.practitioner.slug, start=offer.starts_at,
                patient=bookings.PatientDetails(entry.name, entry.email, entry.phone, entry.born_on),
                safety=tuple(entry.safety_answers or ()), booked_via="waitlist", language=entry.language,
            )
            result = bookings.book(request, now, actor=actor)
            _close(offer, OfferState.BOOKED, now)
            # The visit they waited for is booked: this place ends, and so does any other place of
            # theirs for the same visit (joined twice before that was refused), in this commit.
            withdrawn: list[tuple[int, datetime]] = []
            for place in {entry.id: entry, **{p.id: p for p in _places_of(entry.email, entry.born_on,
                                                                           entry.service_id)}}.values():
                place.state, place.ended_at, place.appointment = WaitlistState.BOOKED, now, result.appointment
                for other in _open_offers(entry_id=place.id):
                    if other.id != offer.id:
                        _close(other, OfferState.WITHDRAWN, now)
                        withdrawn.append((other.practitioner_id, other.starts_at))
            for other in _open_offers(practitioner_id=offer.practitioner_id, starts_at=offer.starts_at):
                _close(other, OfferState.GONE, now)
    except bookings.SlotTaken:
        _mark_gone(offer_id, now)
        raise _gone() from None
    except (OfferGone, bookings.PatientBusy):  # their own visit then: the time is not gone, nor the offer
        raise
    except CannotBook as problem:
        if problem.field != "start":  # e.g. a first visit for someone who has been before: said as it is
            raise
        _mark_gone(offer_id, now)
        raise _gone() from None
    if withdrawn:  # in a transaction of its own, as after a lost race: other practitioners' locks are taken there
        try:
            with write_transaction():
                _offer_again(withdrawn, now)
        except Exception:  # the booking is made and the patient must hear so; only news for others is lost
            log.exception("booked from waitlist offer %s; offering the %s withdrawn time(s) onward failed",
                          offer_id, len(withdrawn))
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


# The places waiting on a date, with the weekdays they would come on: built once, not per calendar.
_WAITING_ON = sa.select(WaitlistEntry.id, WaitlistEntry.weekdays).where(
    WaitlistEntry.state == WaitlistState.WAITING, WaitlistEntry.first_day <= sa.bindparam("day"),
    WaitlistEntry.last_day >= sa.bindparam("day"))


def for_day(day: date, now: datetime) -> list[Waiting]:
    """Who on the list would come on this clinic date, first to join first, each with the free
    online times of the day that suit them (the desk's list beside the calendar)."""
    # Asked with every desk calendar, and most days nobody waits: a plain read of who might first,
    # without the ORM's cost (or the session's transaction, when none has begun: driver.run), and
    # nothing more when it finds no one.
    places = driver.run(_WAITING_ON, {"day": day})
    ids = [place for place, weekdays in places if not weekdays or day.weekday() in weekdays]
    if not ids:
        return []
    # Still waiting: a place taken off the list since the read above is not shown.
    entries = list(db.session.scalars(sa.select(WaitlistEntry).where(WaitlistEntry.id.in_(ids),
                                                                     WaitlistEntry.state == WaitlistState.WAITING)
                                      .options(selectinload(WaitlistEntry.service), selectinload(WaitlistEntry.practitioner))
                                      .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)))
    suiting = _suiting(load_clinic(), entries, day, day, now)
    return [Waiting(entry, suiting[entry.id]) for entry in entries]


def free_now(entry: WaitlistEntry, now: datetime) -> list[FreedTime]:
    """The times free now that the place would take, earliest first: the list offers only times
    that free up later, so the patient is told to book one of these now."""
    clinic = load_clinic()
    return _suiting(clinic, [entry], max(entry.first_day, clinic.today(now)), entry.last_day, now)[entry.id]


def _suiting(clinic, entries: list[WaitlistEntry], first_day: date, last_day: date,
             now: datetime) -> dict[int, list[FreedTime]]:
    """For each place, the free online times on these dates it would take, earliest first."""
    if not entries or first_day > last_day:
        return {entry.id: [] for entry in entries}
    everyone = list(db.session.scalars(sa.select(Practitioner.id).where(Practitioner.is_active)))
    free = _free_times(clinic, {entry.service_id for entry in entries}, everyone, first_day, last_day, now)
    notice = timedelta(hours=clinic.min_notice_hours)
    busy = _visits_of(entries, first_day, last_day, clinic)
    return {entry.id: [freed for freed in free.get(entry.service_id, [])
                       if suited(freed, [_wish(entry)], zone=clinic.zone, now=now, min_notice=notice)
                       and not _clashes(freed, entry.service, busy[entry.id])]
            for entry in entries}


@dataclass(frozen=True)
class DirectOffer:
    offer: WaitlistOffer
    replaced: list[WaitlistOffer]  # the place's earlier open offers, withdrawn for this one
    also_holding: list[str]  # the names on other places holding an open offer of the same time


def offer_directly(entry_id: int, practitioner_id: int, start: datetime, now: datetime, *, by: Actor) -> DirectOffer:
    """The desk offers one free time to one place on the list (whatever its wishes), by email as
    any offer; CannotBook when the time is not free for its visit online, or inside the notice.

    A place holds one open offer, as the list's own offers keep to: an earlier one is withdrawn,
    and its time asked of the next people (the desk's Offer pressed twice sent two open offers and
    two emails to one person, a hands-on trial)."""
    with write_transaction():
        held = [offer.practitioner_id for offer in _open_offers(entry_id=entry_id)]
        bookings.lock_practitioners(practitioner_id, *held)  # their times may go to the next people
        entry = _waiting(entry_id)
        clinic = load_clinic()
        day = start.astimezone(clinic.zone).date()
        free = _free_times(clinic, {entry.service_id}, [practitioner_id], day, day, now).get(entry.service_id, [])
        chosen = next((freed for freed in free if freed.start == start), None)
        if chosen is None:
            raise CannotBook("start", "That time is not free for this visit, or it is inside the minimum notice "
                                      "for online bookings: choose one of the times listed.")
        if _clashes(chosen, entry.service, _visits_of([entry], day, day, clinic)[entry.id]):
            raise CannotBook("start", f"{entry.name} already has a visit at that time, so could not take it: "
                                      "offer them another time.")
        earlier = _open_offers(entry_id=entry.id)
        if any(offer.starts_at == start and offer.practitioner_id == practitioner_id for offer in earlier):
            raise CannotBook("start", "This time is already offered to them.")
        for offer in earlier:
            _close(offer, OfferState.WITHDRAWN, now)
        made = _offer(entry, practitioner_id, start, clinic, now, offered_by=by.label)
        _offer_again([(offer.practitioner_id, offer.starts_at) for offer in earlier], now)
        # The first to book it gets it: the desk is told who else holds it (a trial offered one
        # time to two people unwarned).
        rivals = [offer.entry.name for offer in _open_offers(practitioner_id=practitioner_id, starts_at=start)
                  if offer.entry_id != entry.id and offer.expires_at > now]
        return DirectOffer(made, earlier, rivals)


def decline(entry_id: int, offer_id: int, now: datetime) -> bool:
    """The person turned an open offer down from its page: it closes, and its time is asked of the
    next people at once rather than held until it runs out; the place stays on the list. False
    when the offer was no longer open (booked, gone or run out meanwhile)."""
    with write_transaction():
        seen = db.session.get(WaitlistOffer, offer_id)
        if seen is None or seen.entry_id != entry_id:
            return False
        bookings.lock_practitioners(seen.practitioner_id)  # as confirm() locks: practitioner, then rows
        _waiting(entry_id)
        offer = locked(WaitlistOffer, offer_id)
        if offer.state is not OfferState.OPEN or offer.expires_at <= now:
            return False
        _close(offer, OfferState.WITHDRAWN, now)
        _offer_again([(offer.practitioner_id, offer.starts_at)], now)
    return True


def open_offers_of_places(entry_ids: list[int], now: datetime) -> dict[int, list[WaitlistOffer]]:
    """Each place's open offers that have not run out (the desk's list says what each person holds)."""
    found: dict[int, list[WaitlistOffer]] = {entry_id: [] for entry_id in entry_ids}
    if entry_ids:
        for offer in db.session.scalars(sa.select(WaitlistOffer).where(
                WaitlistOffer.state == OfferState.OPEN, WaitlistOffer.expires_at > now,
                WaitlistOffer.entry_id.in_(entry_ids))
                .order_by(WaitlistOffer.starts_at)):
            found[offer.entry_id].append(offer)
    return found
