"""The clinic's booking rules, services and practitioners, read once per process and kept.

Nearly every request needs them and almost none changes them, so each process keeps the copy it
last read, as plain frozen values, and asks the database one small thing per request: the clinic's
settings stamp, which every change to them renews (models.renew_settings_stamp). An admin's change
made through one process is seen by every other process on its next request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from booking import driver
from booking.extensions import db
from booking.models import Clinic, InLanguages, Practitioner, Room, Service, stored_versions, visit_shape
from booking.operations.problems import CannotBook, NotFound
from booking.scheduling import BookingRules, VisitShape, WorkingInterval

ANY_PRACTITIONER = "any"


class ClinicNotSetUp(Exception):
    """No clinic file has been imported yet."""

    def __init__(self) -> None:
        super().__init__("the clinic is not set up yet: run `flask clinic import FILE.toml`")


@dataclass(frozen=True)
class ServiceEntry(InLanguages):
    id: int
    slug: str
    name: str
    description: str
    minutes: int
    buffer_minutes: int
    new_patients_only: bool
    is_active: bool
    # As Service.translations; read through .text(field, language) like the row's.
    translations: dict = field(default_factory=dict, hash=False, compare=False)
    hands_on: tuple[tuple[int, int], ...] = ()  # as Service.hands_on: () holds the practitioner throughout
    needs_bed: bool = False
    TRANSLATED = Service.TRANSLATED

    @property
    def shape(self) -> VisitShape:
        return visit_shape(self)


@dataclass(frozen=True)
class RoomEntry(InLanguages):
    id: int
    slug: str
    name: str
    beds: int
    is_active: bool
    translations: dict = field(default_factory=dict, hash=False, compare=False)  # as Room.translations
    TRANSLATED = Room.TRANSLATED


@dataclass(frozen=True)
class PractitionerEntry(InLanguages):
    id: int
    slug: str
    name: str
    bio: str
    is_active: bool
    service_slugs: tuple[str, ...]  # every service they are linked to, in the clinic's order
    working_intervals: tuple[WorkingInterval, ...]
    translations: dict = field(default_factory=dict, hash=False, compare=False)  # as Practitioner.translations
    TRANSLATED = Practitioner.TRANSLATED

    def offers(self, service) -> bool:
        return service.slug in self.service_slugs


@dataclass(frozen=True)
class Catalogue:
    stamp: str
    timezone: str
    max_advance_days: int
    booking_rules: BookingRules
    languages: tuple[str, ...]  # patients' languages, the clinic's own (its texts') first
    locale: str  # how the clinic's dates and times read (en_US...): staff lines such as a booking's history
    services: tuple[ServiceEntry, ...]  # every service, in the clinic's order
    practitioners: tuple[PractitionerEntry, ...]  # every practitioner, by slug
    rooms: tuple[RoomEntry, ...] = ()  # every room, by slug

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        """The clinic's calendar date at the instant `now`."""
        return now.astimezone(self.zone).date()

    def active_rooms(self) -> list[RoomEntry]:
        """The rooms whose beds are booked: a room taken out of use keeps the visits it has."""
        return [room for room in self.rooms if room.is_active]

    def active_practitioners(self) -> list[PractitionerEntry]:
        return [p for p in self.practitioners if p.is_active]

    def bookable_services(self) -> list[ServiceEntry]:
        """Active services that at least one active practitioner offers, in the clinic's order:
        a service added before anyone provides it is not shown to patients."""
        offered = {slug for p in self.active_practitioners() for slug in p.service_slugs}
        return [s for s in self.services if s.is_active and s.slug in offered]

    def service(self, slug: str) -> ServiceEntry:
        """The active service `slug`, or NotFound naming the ones there are."""
        active = [s for s in self.services if s.is_active]
        for service in active:
            if service.slug == slug:
                return service
        known = ", ".join(s.slug for s in active)
        raise NotFound("service", f"no service {slug!r}; known services: {known or 'none'}")

    def practitioners_for(self, service: ServiceEntry, slug: str) -> list[PractitionerEntry]:
        """The active practitioner named by slug, or all who offer the service for "any"."""
        active = self.active_practitioners()
        if slug == ANY_PRACTITIONER:
            return [p for p in active if p.offers(service)]
        chosen = next((p for p in active if p.slug == slug), None)
        if chosen is None:
            known = ", ".join(p.slug for p in active)
            raise NotFound("practitioner", f"no practitioner {slug!r}; known practitioners: {known or 'none'} (or \"any\")")
        if not chosen.offers(service):
            raise CannotBook("practitioner", f"{chosen.slug!r} does not offer {service.slug!r}")
        return [chosen]


_STAMP = sa.select(Clinic.settings_stamp).where(Clinic.id == 1)


def as_last_read() -> Catalogue:
    """This process's copy as last read, without asking whether it is still current (current()
    when there is none yet): for reading a request before a change that reads current() again
    under its lock. What the copy refuses, and what no lock reads again, the caller must read
    again with current() (api.routes._read_booking_body)."""
    return current_app.extensions.get("catalogue") or current()


def current() -> Catalogue:
    """This process's copy, read again only when the clinic's settings stamp has moved."""
    rows = driver.run(_STAMP)  # after this session's own changes are flushed, when it has any
    return _kept_unless_moved(rows[0][0] if rows else None)


# The settings stamp beside every practitioner's diary stamp, in one statement: what a request
# needs to know whether the free times this process kept are still right (availability).
_STAMPS = (sa.select(Clinic.settings_stamp, Practitioner.id, Practitioner.diary_stamp)
           .select_from(Clinic).outerjoin(Practitioner, sa.true()).where(Clinic.id == 1))


def current_with_diaries() -> tuple[Catalogue, dict[int, str]]:
    """current(), and each practitioner's diary stamp by id, in the one statement current() sends."""
    rows = driver.run(_STAMPS)
    return (_kept_unless_moved(rows[0][0] if rows else None),
            {who: diary for _stamp, who, diary in rows if who is not None})


def _kept_unless_moved(stamp: str | None) -> Catalogue:
    if stamp is None:
        raise ClinicNotSetUp
    kept = current_app.extensions.get("catalogue")
    if kept is not None and kept.stamp == stamp:
        return kept
    fresh = _read_committed()
    current_app.extensions["catalogue"] = fresh  # one assignment: other threads see old or new, whole
    return fresh


def _read_committed() -> Catalogue:
    """The settings as committed, with the stamp read in the same snapshot.

    A session of its own: the request's session may hold rows it loaded before an admin's change
    (and would hand them back unchanged), or changes of its own that may yet roll back; either
    kept under a stamp that matches the database would be served until the next change.
    """
    with Session(db.engine) as reading, reading.begin():
        if db.engine.dialect.name == "postgresql":  # one snapshot for all five reads
            reading.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        stamp = reading.execute(_STAMP).scalar()
        clinic = reading.get(Clinic, 1)
        services = reading.scalars(sa.select(Service).order_by(Service.id)).all()
        rooms = reading.scalars(sa.select(Room).order_by(Room.slug)).all()
        practitioners = reading.scalars(
            sa.select(Practitioner).options(selectinload(Practitioner.hours), selectinload(Practitioner.services))
            .order_by(Practitioner.slug)
        ).all()
        return Catalogue(
            stamp=stamp,
            timezone=clinic.timezone,
            max_advance_days=clinic.max_advance_days,
            booking_rules=clinic.booking_rules,
            languages=tuple(clinic.languages or ["en"]),
            locale=clinic.locale,
            services=tuple(
                ServiceEntry(s.id, s.slug, s.name, s.description, s.minutes, s.buffer_minutes, s.new_patients_only,
                             s.is_active, stored_versions(s.translations), s.shape.hands_on, s.needs_bed)
                for s in services
            ),
            rooms=tuple(RoomEntry(r.id, r.slug, r.name, r.beds, r.is_active, stored_versions(r.translations))
                        for r in rooms),
            practitioners=tuple(
                PractitionerEntry(p.id, p.slug, p.name, p.bio, p.is_active, tuple(s.slug for s in p.services),
                                  tuple(p.working_intervals), stored_versions(p.translations))
                for p in practitioners
            ),
        )
