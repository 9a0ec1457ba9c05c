"""The clinic's data: settings, services, practitioners, hours, patients, appointments."""

from __future__ import annotations

import enum
import secrets
import uuid
from itertools import chain
from urllib.parse import urlencode
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel import Locale
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking import driver
from booking.extensions import db
from booking.limits import BUFFER_MINUTES, CLINIC_NUMBERS, ROOM_BEDS, SERVICE_MINUTES, Limit
from booking.safety import most_severe
from booking.scheduling import UTC, BookingRules, TimeRange, VisitShape, WorkingInterval
from booking.scheduling.course import MAX_EVERY_DAYS, MAX_VISITS


class UTCDateTime(sa.types.TypeDecorator):
    """An instant stored in UTC; refuses naive datetimes, since SQLite keeps no zone."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite an instant is text in SQLAlchemy's DATETIME format ("2027-03-08 16:00:00.000000").
    # The decorator's way there (the methods above, then the dialect's own formatting from a dict,
    # and back: the dialect's parse, then the conversion) cost a booking's dozen instants 4.6 us
    # each to write and every row read 1.6 us per instant; the same methods with one isoformat
    # or fromisoformat write and read the same text (tests/test_app.py) in about half that.
    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        as_utc = self.process_bind_param

        def as_sqlite_text(value):
            if value is None:
                return None
            if type(value) is datetime and value.tzinfo is UTC:  # most instants: already in UTC
                return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"
            return as_utc(value, dialect).isoformat(" ", "microseconds")

        return as_sqlite_text

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        in_utc = self.process_result_value

        def from_sqlite_text(value):
            return None if value is None else in_utc(datetime.fromisoformat(value), dialect)

        return from_sqlite_text


class AppointmentStatus(enum.Enum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @classmethod
    def holding_time(cls) -> tuple[AppointmentStatus, ...]:
        """Statuses whose appointment still occupies the practitioner's time."""
        return (cls.BOOKED, cls.ARRIVED, cls.COMPLETED, cls.NO_SHOW)

    @classmethod
    def visits(cls) -> tuple[AppointmentStatus, ...]:
        """Statuses that count as a visit the patient had or will have ("visit 3"): not a
        cancelled one, nor one they missed. (A missed visit's answers still stand.)"""
        return (cls.BOOKED, cls.ARRIVED, cls.COMPLETED)

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()


# What the desk may mark a visit as, from which statuses: the forward steps of a visit,
# and one step back for a button pressed by mistake. Cancelled is final.
STATUS_CHANGES: dict[AppointmentStatus, tuple[AppointmentStatus, ...]] = {
    AppointmentStatus.ARRIVED: (AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED),
    AppointmentStatus.COMPLETED: (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED),
    AppointmentStatus.NO_SHOW: (AppointmentStatus.BOOKED,),
    AppointmentStatus.BOOKED: (AppointmentStatus.ARRIVED, AppointmentStatus.NO_SHOW),
}


class IntakeStatus(enum.Enum):
    """How far the patient has got with the back-pain questions; staff lists show only this."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SENT = "sent"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def _enum_column(enum_class: type[enum.Enum], name: str) -> sa.Enum:
    """A VARCHAR plus CHECK constraint holding the enum's values (portable across databases)."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _between(column: str, limit: Limit) -> str:
    """A check constraint's SQL for a limit, so the database holds the same range as the code."""
    return f"{column} BETWEEN {limit.low} AND {limit.high}"


class InLanguages:
    """A row whose patient-facing texts the clinic writes in its own language (the first of its
    `languages`), with versions in its other languages in `translations`:
    {"es": {"name": "...", "description": "..."}}. TRANSLATED names the texts that may have them."""

    TRANSLATED = ()  # the fields with versions in other languages

    def text(self, field: str, language: str | None, own_language: str | None = None):
        """The text `field` in `language`, or the clinic's own where no version is written or
        `language` is the clinic's own (`own_language`, the first of its languages)."""
        return translated_text(self, field, language, own_language)

    def write_versions(self, given: dict[str, dict[str, str]]) -> None:
        """Take versions as the clinic file or an admin page gives them (language -> field -> text):
        a text replaces that version, "" removes it, and what is not given stays."""
        merged = stored_versions(self.translations)
        for language, texts in given.items():
            for field, text in texts.items():
                if text:
                    merged.setdefault(language, {})[field] = text
                else:
                    merged.get(language, {}).pop(field, None)
        merged = {language: texts for language, texts in merged.items() if texts}
        if merged != (self.translations or {}):  # a new value only for a change: JSON is compared whole
            self.translations = merged


def stored_versions(value) -> dict[str, dict[str, str]]:
    """A translations column as {language: {field: text}}, leaving out anything else it holds (a
    hand edit, an odd restore): one bad row must not break the pages listing it, nor the admin
    page and clinic file that would mend it."""
    if not isinstance(value, dict):
        return {}
    versions = {}
    for language, texts in value.items():
        if isinstance(language, str) and isinstance(texts, dict):
            kept = {field: text for field, text in texts.items() if isinstance(field, str) and isinstance(text, str) and text}
            if kept:
                versions[language] = kept
    return versions


def translated_text(item, field: str, language: str | None, own_language: str | None = None):
    """item's `field` in `language` from its translations, else its own text (the one place the
    fallback is decided, for rows and for the catalogue's copies of them). In the clinic's own
    language the own text is always read: versions left from before it became the first language
    must not hide what the clinic now writes there."""
    own = getattr(item, field)
    if language is None or language == own_language:
        return own
    versions = item.translations
    texts = versions.get(language) if isinstance(versions, dict) else None
    version = texts.get(field) if isinstance(texts, dict) else None
    return version if isinstance(version, str) and version else own


class Clinic(InLanguages, db.Model):
    """The one clinic this installation serves, and its booking rules."""

    TRANSLATED = ("directions",)

    __tablename__ = "clinic"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(_between("slot_step_minutes", CLINIC_NUMBERS["slot_step_minutes"]), name="slot_step_range"),
        sa.CheckConstraint("min_notice_hours >= 0", name="min_notice_not_negative"),
        sa.CheckConstraint(_between("max_advance_days", CLINIC_NUMBERS["max_advance_days"]), name="max_advance_range"),
        sa.CheckConstraint("cancellation_notice_hours >= 0", name="cancellation_notice_not_negative"),
        sa.CheckConstraint(_between("reminder_hours", CLINIC_NUMBERS["reminder_hours"]), name="reminder_hours_range"),
        sa.CheckConstraint(_between("retention_years", CLINIC_NUMBERS["retention_years"]), name="retention_years_range"),
        sa.CheckConstraint(_between("waitlist_offer_hours", CLINIC_NUMBERS["waitlist_offer_hours"]),
                           name="waitlist_offer_hours_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    name: Mapped[str] = mapped_column(sa.String(120))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str] = mapped_column(sa.String(40))
    emergency_number: Mapped[str] = mapped_column(sa.String(20))
    slot_step_minutes: Mapped[int] = mapped_column(default=15)
    min_notice_hours: Mapped[int] = mapped_column(default=12)
    max_advance_days: Mapped[int] = mapped_column(default=60)
    cancellation_notice_hours: Mapped[int] = mapped_column(default=24)
    reminder_hours: Mapped[int] = mapped_column(default=24, server_default="24")  # 0: no reminders
    # The STarT Back screen is asked only when the clinic switches it on (licence: see README).
    start_back_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # ISO country code: where the urgent advice sends patients for a same-day doctor.
    region: Mapped[str] = mapped_column(sa.String(2), default="US", server_default="US")
    # Told at once when a patient's answers need emergency or urgent care; None: no one.
    alert_email: Mapped[str | None] = mapped_column(sa.String(254))
    # A patient's records are erased this many years after their last visit (`flask retention purge`).
    retention_years: Mapped[int] = mapped_column(default=10, server_default="10")
    # Admins always sign in with a second factor; this asks it of every member of staff.
    second_factor_for_all_staff: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Renewed whenever the clinic, a service, a practitioner or working hours change (see
    # renew_settings_stamp below): each process keeps its copy of them until this moves.
    settings_stamp: Mapped[str] = mapped_column(sa.String(32), default=lambda: uuid.uuid4().hex,
                                                server_default="initial")
    # How dates, times and numbers read (a Babel locale such as en_US or en_GB), and the
    # languages patients may choose for their pages and emails (the first is the default).
    locale: Mapped[str] = mapped_column(sa.String(16), default="en_US", server_default="en_US")
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["en"])
    # Where the clinic is: shown under "Where", in emails, as the calendar LOCATION and made
    # into a "Get directions" link. All optional: a clinic without an address shows none.
    address_street: Mapped[str | None] = mapped_column(sa.String(200))
    address_city: Mapped[str | None] = mapped_column(sa.String(100))
    address_region: Mapped[str | None] = mapped_column(sa.String(100))
    address_postcode: Mapped[str | None] = mapped_column(sa.String(20))
    address_country: Mapped[str | None] = mapped_column(sa.String(2))
    # Free text for patients finding the door: directions, step-free access, parking.
    directions: Mapped[str | None] = mapped_column(sa.String(500))
    # The directions in the clinic's other languages: {"es": {"directions": "..."}} (InLanguages).
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    # The clinic's tax identifier (a US EIN), printed on the patient's receipt for their insurer.
    tax_id: Mapped[str | None] = mapped_column(sa.String(20))
    # How long a waitlist offer holds the time for the people it was sent to (operations.waitlist).
    waitlist_offer_hours: Mapped[int] = mapped_column(default=4, server_default="4")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def address_lines(self) -> list[str]:
        """The address as an envelope reads in the clinic's country, without empty lines:
        US and Canada "City, REGION POSTCODE"; where the postcode leads ("28013 Madrid") it
        comes first; elsewhere (the UK) town, county and postcode each on a line."""
        city, region, postcode = (part.strip() if part else "" for part in
                                  (self.address_city, self.address_region, self.address_postcode))
        country = (self.address_country or self.region or "").upper()
        if country in CITY_REGION_POSTCODE:
            place = ", ".join(part for part in (city, f"{region} {postcode}".strip()) if part)
            lines = [place]
        elif country in POSTCODE_CITY:
            lines = [f"{postcode} {city}".strip(), region]
        else:
            lines = [city, region, postcode]
        street = [line.strip() for line in (self.address_street or "").splitlines()]
        return [line for line in [*street, *lines] if line]

    @property
    def address_text(self) -> str:
        """The address on one line, as a calendar file's LOCATION: "1200 Example Ave, Los Angeles, CA 90012"."""
        return ", ".join(self.address_lines)

    @property
    def directions_url(self) -> str | None:
        """A map search for the address (OpenStreetMap, no key, no tracking), or None without one."""
        if not self.address_lines:
            return None
        country = ENGLISH.territories.get((self.address_country or self.region or "").upper())
        query = ", ".join([*self.address_lines, *([country] if country else [])])
        return "https://www.openstreetmap.org/search?" + urlencode({"query": query})

    @property
    def booking_rules(self) -> BookingRules:
        return BookingRules(
            step_minutes=self.slot_step_minutes,
            min_notice=timedelta(hours=self.min_notice_hours),
            max_advance_days=self.max_advance_days,
        )

    def today(self, now: datetime) -> date:
        """The clinic's calendar date at the instant `now`."""
        return now.astimezone(self.zone).date()


# How an address's place line reads, by country: "Los Angeles, CA 90012" and "28013 Madrid";
# any other country gets town, region and postcode on lines of their own, as in the UK.
ENGLISH = Locale("en")  # names the country in a map search, which reads English everywhere
CITY_REGION_POSTCODE = frozenset({"US", "CA", "PR"})
POSTCODE_CITY = frozenset({"AT", "BE", "CH", "CZ", "DE", "DK", "ES", "FI", "FR", "IT", "MX", "NL", "NO", "PL",
                           "PT", "SE"})
# The clinic file's [clinic.address] keys and the Clinic columns they fill.
ADDRESS_COLUMNS = {"street": "address_street", "city": "address_city", "region": "address_region",
                   "postcode": "address_postcode", "country": "address_country", "directions": "directions"}


def column_length(model, column: str) -> int:
    """The longest text a column holds, so checks quote the same limit the database keeps."""
    return model.__table__.c[column].type.length


practitioner_services = sa.Table(
    "practitioner_service",
    db.metadata,
    sa.Column("practitioner_id", sa.ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("service_id", sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Service(InLanguages, db.Model):
    """Something a patient can book, with its length and the time kept free after it."""

    TRANSLATED = ("name", "description")

    __tablename__ = "service"
    __table_args__ = (
        sa.CheckConstraint(_between("minutes", SERVICE_MINUTES), name="minutes_range"),
        sa.CheckConstraint(_between("buffer_minutes", BUFFER_MINUTES), name="buffer_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    minutes: Mapped[int]
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    new_patients_only: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Name and description in the clinic's other languages (InLanguages).
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    # The minutes of the visit that need the practitioner's hands, as [[start, end], ...] from its
    # start (scheduling.beds); None: the practitioner is held for the whole visit and its buffer.
    hands_on: Mapped[list | None] = mapped_column(sa.JSON)
    # Whether the visit takes one bed of a room for its minutes and buffer (the bed is turned over).
    needs_bed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    practitioners: Mapped[list[Practitioner]] = relationship(
        secondary=practitioner_services, back_populates="services", order_by="Practitioner.id"
    )

    @property
    def shape(self) -> VisitShape:
        return visit_shape(self)


def visit_shape(service) -> VisitShape:
    """How a service (its row, or the catalogue's copy) holds the practitioner and a bed."""
    return VisitShape(service.minutes, service.buffer_minutes,
                      tuple((start, end) for start, end in service.hands_on or ()), bool(service.needs_bed))


class Room(InLanguages, db.Model):
    """A treatment room and its beds, numbered 1 to `beds`: one for a private room, several for a
    community room where patients rest side by side. Services that need a bed take one of them."""

    TRANSLATED = ("name",)

    __tablename__ = "room"
    __table_args__ = (sa.CheckConstraint(_between("beds", ROOM_BEDS), name="beds_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    beds: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")


class Practitioner(InLanguages, db.Model):
    """A person who treats patients, with the services they offer and their weekly hours.

    Their name is theirs in every language (with the licence it names, "L.Ac."); only the
    introduction patients read has versions in the clinic's other languages."""

    TRANSLATED = ("bio",)

    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # SHA-256 of the secret in their calendar feed's address (operations.feeds); None when they have none.
    feed_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    # The introduction in the clinic's other languages (InLanguages).
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    # What a patient's insurer asks for on a receipt (the superbill): the practitioner's
    # National Provider Identifier and state licence number, when the clinic bills that way.
    npi: Mapped[str | None] = mapped_column(sa.String(10))
    license_number: Mapped[str | None] = mapped_column(sa.String(40))
    # Renewed (renew_diary_stamps below) by every change to their appointments or time off, in the
    # same transaction: a process may keep the free times it worked out until it moves. Random, not
    # counted, so a restored backup cannot meet a stamp a process kept from another history.
    diary_stamp: Mapped[str] = mapped_column(sa.String(32), default=lambda: uuid.uuid4().hex,
                                             server_default="initial")
    # Renewed with the diary stamp, and by every change to what the staff calendars show of their
    # visits besides (_calendars_changed below): the desk's day and week and My day keep the
    # pages they render until one of these moves (booking.kept_pages). Random, as the diary stamp.
    calendar_stamp: Mapped[str] = mapped_column(sa.String(32), default=lambda: uuid.uuid4().hex,
                                                server_default="initial")

    services: Mapped[list[Service]] = relationship(
        secondary=practitioner_services, back_populates="practitioners", order_by="Service.id"
    )
    hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="practitioner",
        cascade="all, delete-orphan",
        order_by="(WorkingHours.weekday, WorkingHours.start_time)",
    )
    time_off: Mapped[list[TimeOff]] = relationship(
        back_populates="practitioner", cascade="all, delete-orphan", order_by="TimeOff.starts_at"
    )

    def offers(self, service: Service) -> bool:
        return any(offered.id == service.id for offered in self.services)

    @property
    def working_intervals(self) -> list[WorkingInterval]:
        return [WorkingInterval(h.weekday, h.start_time, h.end_time) for h in self.hours]


class WorkingHours(db.Model):
    """One weekly working period, in the clinic's local wall-clock time."""

    __tablename__ = "working_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("start_time < end_time", name="ends_after_start"),
        sa.UniqueConstraint("practitioner_id", "weekday", "start_time", name="uq_working_hours_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # 0 = Monday, as date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]

    practitioner: Mapped[Practitioner] = relationship(back_populates="hours")


class TimeOff(db.Model):
    """A span when a practitioner does not work (holiday, training...), in UTC."""

    __tablename__ = "time_off"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="ends_after_start"),
        sa.UniqueConstraint("practitioner_id", "starts_at", "ends_at", name="uq_time_off_span"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    practitioner: Mapped[Practitioner] = relationship(back_populates="time_off")

    @property
    def range(self) -> TimeRange:
        return TimeRange(self.starts_at, self.ends_at)


ERASED_NAME = "Erased patient"


class Patient(db.Model):
    """A person who books; the same email and date of birth mean the same patient.

    An erased patient (operations.erasure) keeps only the row's number, `created_at` and
    `erased_at`: the name reads ERASED_NAME, and contact details and date of birth are gone,
    so their appointments stay true as anonymous history.
    """

    __tablename__ = "patient"
    __table_args__ = (
        sa.UniqueConstraint("email", "born_on", name="uq_patient_identity"),
        sa.CheckConstraint("erased_at IS NOT NULL OR (email IS NOT NULL AND phone IS NOT NULL AND born_on IS NOT NULL)",
                           name="details_until_erased"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))  # stored lower-cased; None once erased
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    born_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    appointments: Mapped[list[Appointment]] = relationship(back_populates="patient")

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


def flag_level(alert_level: str | None, intake) -> str | None:
    """'emergency' or 'urgent' from what was signalled for a visit (its `alert_level`) and the
    intake read with it (its own, or on a return visit the patient's earlier one): the more
    severe wins."""
    levels = {alert_level}
    if intake is not None:
        levels |= {"emergency" if intake.emergency_flags else None, "urgent" if intake.urgent_flags else None}
    return most_severe(levels)


class Appointment(db.Model):
    """A booked visit. It runs [starts_at, occupied_until): the treatment plus its buffer.

    It holds its practitioner for its hands-on parts (HandsOnPart rows, kept in step by the flush
    below: the whole span for a service without hands-on parts), and, for a service that needs a
    bed, bed `bed` of `room` for the whole span. On PostgreSQL exclusion constraints (made by the
    migrations) forbid two visits' parts of one practitioner, or two visits on one bed, to overlap.
    """

    __tablename__ = "appointment"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="ends_after_start"),
        sa.CheckConstraint("ends_at <= occupied_until", name="buffer_after_end"),
        sa.CheckConstraint("(room_id IS NULL) = (bed IS NULL) AND (bed IS NULL OR bed >= 1)", name="bed_in_room"),
        sa.Index("ix_appointment_practitioner_starts", "practitioner_id", "starts_at"),
        # The beds taken across a window, room by room (operations.beds), without reading the history:
        # every column the read needs is in the index, so it never reads the table's rows (which lie
        # in booking order, not time order, and are many times the index's size).
        # Partial, as is the course index below: most visits take no bed and belong to no course, and
        # an index that keeps only the rows with one is not written to by every other booking (each
        # index is a page more in a booking's commit). SQLite and PostgreSQL both use it for
        # `room_id = ...`, `IN (...)` and `IS NOT NULL`, as the reads of beds ask; the one read of
        # visits without a bed (a service coming to need one, beds.py) is rare and reads the table.
        sa.Index("ix_appointment_room_starts", "room_id", "starts_at", "occupied_until", "bed", "status",
                 sqlite_where=sa.text("room_id IS NOT NULL"), postgresql_where=sa.text("room_id IS NOT NULL")),
        sa.Index("ix_appointment_course_id", "course_id",
                 sqlite_where=sa.text("course_id IS NOT NULL"), postgresql_where=sa.text("course_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(12), unique=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occupied_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum_column(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    # Urgent safety-check codes the patient ticked when booking (emergency ones never get booked).
    safety_flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The most severe answer signalled for this visit from anywhere (booking, intake, progress
    # check, re-check): set in the same commit as the answer, so every list shows it at once.
    alert_level: Mapped[str | None] = mapped_column(sa.String(10))
    # When the patient last answered the safety questions for this visit, and the codes that
    # applied then (empty: none did), whether at booking, in the progress check or a re-check.
    safety_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    safety_answers: Mapped[list[str] | None] = mapped_column(sa.JSON)
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    booked_via: Mapped[str] = mapped_column(sa.String(20), default="online")
    intake_status: Mapped[IntakeStatus] = mapped_column(
        _enum_column(IntakeStatus, "intake_status"), default=IntakeStatus.NOT_STARTED, server_default="not_started"
    )
    # Bumped each time the time changes, so calendar apps replace the old event (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Whether the patient's earlier visits are shown with this booking (operations.identity).
    # None: an online booking that matched a patient who has visits with another practitioner,
    # still waiting for the patient (from the emailed link) or the desk to confirm it was them.
    identity_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who confirmed, as it read then ("Patient, from the emailed link", a staff member's name),
    # or why nobody needed to (a first booking, a booking by the desk).
    identity_confirmed_by: Mapped[str | None] = mapped_column(sa.String(120))
    # The name and phone typed with a booking awaiting confirmation, where they differ from the
    # patient's record: kept beside the booking for the desk, never written over the record.
    booked_as: Mapped[dict | None] = mapped_column(sa.JSON)
    # The language the patient chose (one of the clinic's languages): their emails and
    # reminders for this visit follow it.
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")
    # The course of treatment this visit was booked in with others (operations.courses), if any.
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("course.id"))  # indexed where set (above)
    # The bed the visit takes, for a service that needs one (operations.beds chooses it).
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room.id"))
    bed: Mapped[int | None]

    practitioner: Mapped[Practitioner] = relationship()
    service: Mapped[Service] = relationship()
    room: Mapped[Room | None] = relationship()
    parts: Mapped[list[HandsOnPart]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan", order_by="HandsOnPart.starts_at")
    patient: Mapped[Patient] = relationship(back_populates="appointments")
    history: Mapped[list[AppointmentEvent]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan", order_by="AppointmentEvent.id"
    )

    # Whether a consent to treatment covers this visit: filled for a page's visits at once by
    # operations.consent.load_status (one query); None where it was not loaded.
    consent_on_file = None  # not annotated: a plain attribute, not a column

    @property
    def identity_pending(self) -> bool:
        """Booked online with a returning patient's details, and not yet confirmed to be theirs."""
        return self.identity_confirmed_at is None

    @property
    def occupied(self) -> TimeRange:
        return TimeRange(self.starts_at, self.occupied_until)

    @property
    def holds_time(self) -> bool:
        return self.status in AppointmentStatus.holding_time()

    @property
    def flag_level(self) -> str | None:
        """'emergency' or 'urgent' when any of the patient's answers for this visit raised a
        flag: all the desk is told about them."""
        return self.alert_level

    def change_deadline(self, notice_hours: int) -> datetime:
        """The last moment the patient may cancel or move it online."""
        return self.starts_at - timedelta(hours=notice_hours)

    def can_change_online(self, now: datetime, notice_hours: int) -> bool:
        """Patients may cancel or reschedule a booked visit until the clinic's notice window."""
        return self.status is AppointmentStatus.BOOKED and now <= self.change_deadline(notice_hours)

    def cancel(self, now: datetime, reason: str) -> None:
        self.status = AppointmentStatus.CANCELLED
        self.cancelled_at = now
        self.cancel_reason = reason or None
        self.sequence += 1  # calendar apps apply a cancellation only if it is newer

    def move_to(self, starts_at: datetime) -> None:
        """Give the visit a new start, keeping its length and buffer."""
        length, occupied = self.ends_at - self.starts_at, self.occupied_until - self.starts_at
        self.starts_at, self.ends_at, self.occupied_until = starts_at, starts_at + length, starts_at + occupied
        self.sequence += 1


class HandsOnPart(db.Model):
    """A stretch of a visit during which its practitioner is with the patient: each of the service's
    hands-on parts, or the whole visit and buffer for a service without them. The rows of a visit
    that no longer holds time (cancelled) stay, with holds_time false, so that a flush freeing a
    time and one taking it write updates and inserts, never a delete after an insert.

    Kept by the flush (_keep_parts below) and, for a booking written without the ORM, by the
    booking itself (operations.bookings). On PostgreSQL the migration's exclusion constraint keeps
    one practitioner's parts that hold time apart, whichever process writes them."""

    __tablename__ = "hands_on_part"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="ends_after_start"),
        # What holds a practitioner across a window (operations.availability), read from the index alone.
        sa.Index("ix_hands_on_part_practitioner_starts", "practitioner_id", "starts_at", "ends_at", "holds_time",
                 "appointment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    holds_time: Mapped[bool] = mapped_column(default=True)

    appointment: Mapped[Appointment] = relationship(back_populates="parts")
    practitioner: Mapped[Practitioner] = relationship()


def held_ranges(shape: VisitShape, starts_at: datetime, occupied_until: datetime) -> list[TimeRange]:
    """What a visit holds of its practitioner: its hands-on parts, or without them its whole span
    (the visit's own, as booked, which a later change to the service's length does not move)."""
    if shape.hands_on:
        return shape.held_by_practitioner(starts_at)
    return [TimeRange(starts_at, occupied_until)]


class Course(db.Model):
    """Visits booked together in one step as a course of treatment: every `every_days` dates, or on
    the `weekdays` (0 = Monday; every_days is then 7) week after week, `visits` in all. Each visit is an Appointment of its own (moved or cancelled on its own);
    this row ties them together and holds nothing about the patient."""

    __tablename__ = "course"
    __table_args__ = (
        sa.CheckConstraint(f"visits BETWEEN 2 AND {MAX_VISITS}", name="visits_range"),
        sa.CheckConstraint(f"every_days BETWEEN 1 AND {MAX_EVERY_DAYS}", name="every_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    every_days: Mapped[int]
    weekdays: Mapped[list[int] | None] = mapped_column(sa.JSON)  # None: every `every_days` dates
    visits: Mapped[int]
    booked_via: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    appointments: Mapped[list[Appointment]] = relationship(order_by="Appointment.starts_at", viewonly=True)


class ManageLink(db.Model):
    """A further secret link to an appointment, minted for one email (a reminder, a moved
    visit's notice...) because only the hash of the patient's first link is kept.

    Each works like the first: valid until the visit ends, and all are dropped when the
    patient reschedules (the notice of the move carries the new one).
    """

    __tablename__ = "manage_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship()


class IdentityCheck(db.Model):
    """A link, emailed to the address on file, by which a patient confirms that they made a
    booking (operations.identity). Made when the email is sent; only the SHA-256 of its secret
    is kept, and it stops working at `expires_at`."""

    __tablename__ = "identity_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship()


class AppointmentEvent(db.Model):
    """One change to an appointment: who made it, when, and what changed.

    `detail` says what happened in words for the desk (times, practitioner, reason); it
    never holds intake answers.
    """

    __tablename__ = "appointment_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(120))  # as it read then: "Patient", or the staff member's name
    action: Mapped[str] = mapped_column(sa.String(20))
    detail: Mapped[str] = mapped_column(sa.String(600), default="")

    appointment: Mapped[Appointment] = relationship(back_populates="history")


class SafetySignal(db.Model):
    """Emergency or urgent answers given for a visit, and where: at booking, on an intake page,
    in the progress check, or when the patient checked the safety questions again.

    Written in the same commit as the answers, with the clinic's alert email (which names the
    visit and the level, never the answers). Each code is signalled once per visit.
    """

    __tablename__ = "safety_signal"
    __table_args__ = (
        sa.CheckConstraint("level IN ('emergency', 'urgent')", name="level_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(sa.String(10))
    source: Mapped[str] = mapped_column(sa.String(20))  # a key of booking.safety.SIGNAL_SOURCES
    codes: Mapped[list[str]] = mapped_column(sa.JSON)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship(
        backref=sa.orm.backref("signals", order_by="SafetySignal.id", cascade="all, delete-orphan"))


def _score_ranges() -> tuple[sa.CheckConstraint, ...]:
    """The 0-10 ranges of the pain ratings and the function score, wherever they are stored."""
    columns = {"pain_now": "pain_now_range", "pain_average": "pain_average_range",
               "pain_worst": "pain_worst_range", "psfs_score": "psfs_range"}
    return tuple(sa.CheckConstraint(f"{column} BETWEEN 0 AND 10", name=name) for column, name in columns.items())


class Intake(db.Model):
    """A patient's answers about their back pain for one appointment, and the facts derived from them.

    The answers stay as typed (escaped only when shown). The derived columns let lists
    and trends be read without opening the answers.
    """

    __tablename__ = "intake"
    __table_args__ = (
        sa.CheckConstraint("duration_band IN ('acute', 'subacute', 'chronic')", name="duration_band_known"),
        *_score_ranges(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), unique=True)
    form_version: Mapped[str] = mapped_column(sa.String(20))
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # step -> that step's answers
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_band: Mapped[str | None] = mapped_column(sa.String(10))
    duration_days: Mapped[int | None]
    nerve_root_pattern: Mapped[bool | None]
    precautions: Mapped[list[str] | None] = mapped_column(sa.JSON)
    risk_factors: Mapped[list[str] | None] = mapped_column(sa.JSON)
    urgent_flags: Mapped[list[str] | None] = mapped_column(sa.JSON)
    emergency_flags: Mapped[list[str] | None] = mapped_column(sa.JSON)
    pain_now: Mapped[int | None]
    pain_average: Mapped[int | None]
    pain_worst: Mapped[int | None]
    psfs_score: Mapped[float | None]
    start_back_total: Mapped[int | None]
    start_back_psychosocial: Mapped[int | None]
    start_back_risk: Mapped[str | None] = mapped_column(sa.String(10))

    appointment: Mapped[Appointment] = relationship(backref=sa.orm.backref("intake", uselist=False))

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None


class ProgressCheck(db.Model):
    """A return visit's short progress check: the pain ratings again, and the patient's own
    activities (named at their intake) rated again. Sent once, before the visit."""

    __tablename__ = "progress_check"
    __table_args__ = _score_ranges()

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id", ondelete="CASCADE"), unique=True)
    pain_now: Mapped[int]
    pain_average: Mapped[int]
    pain_worst: Mapped[int]
    activities: Mapped[list[dict]] = mapped_column(sa.JSON)  # [{"name": ..., "rating": 0-10}], as at the intake
    psfs_score: Mapped[float]
    # What the patient noticed after their last treatment: keys of AFTER_EFFECTS, and their own words.
    after_effects: Mapped[list[str] | None] = mapped_column(sa.JSON)
    after_effects_other: Mapped[str | None] = mapped_column(sa.String(500))
    safety_codes: Mapped[list[str] | None] = mapped_column(sa.JSON)  # the safety questions, answered again
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship(backref=sa.orm.backref("progress_check", uselist=False))


class ConsentVersion(db.Model):
    """One version of the clinic's consent text, in each patient language (Markdown).

    Never changed once saved: an admin's edit makes the next version, so every signature
    points at the very words the patient read (operations.consent).
    """

    __tablename__ = "consent_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3...: what staff pages call it
    texts: Mapped[dict] = mapped_column(sa.JSON)  # language code -> Markdown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(sa.String(120))  # the admin's name as it read then


CONSENT_WAYS = ("online", "in_person")


class ConsentRecord(db.Model):
    """A patient's consent to treatment, given for one visit: online with their typed name, or in
    person as recorded by their practitioner. One per visit at most; it covers the patient's later
    visits too (operations.consent.covers)."""

    __tablename__ = "consent_record"
    __table_args__ = (
        sa.CheckConstraint("how IN ('online', 'in_person')", name="how_known"),
        sa.CheckConstraint("(how = 'online') = (signed_name IS NOT NULL)", name="online_has_a_typed_name"),
        sa.CheckConstraint("(how = 'in_person') = (recorded_by IS NOT NULL)", name="in_person_says_by_whom"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("consent_version.id"))
    language: Mapped[str] = mapped_column(sa.String(8))  # the language of the text shown
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    how: Mapped[str] = mapped_column(sa.String(20))  # one of CONSENT_WAYS
    signed_name: Mapped[str | None] = mapped_column(sa.String(120))  # as the patient typed it (online)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    recorded_by: Mapped[str | None] = mapped_column(sa.String(120))  # in person: the staff member's name then

    appointment: Mapped[Appointment] = relationship(backref=sa.orm.backref("consent", uselist=False))
    version: Mapped[ConsentVersion] = relationship()

    @property
    def how_given(self) -> str:
        """How staff pages and the export describe it."""
        return "online" if self.how == "online" else f"in person, recorded by {self.recorded_by}"


class TreatmentNote(db.Model):
    """The practitioner's record of one visit, in SOAP form (the content's shape: booking.notes.content).

    A draft changes as the practitioner types; `revision` counts its saves, so a save from a
    page that is out of date is refused rather than written over newer words. Signing locks
    it: after that it changes only by addendum (operations.notes; on both databases a trigger
    made by the migration refuses any UPDATE of a signed note as well).
    """

    __tablename__ = "treatment_note"
    __table_args__ = (
        sa.CheckConstraint("(signed_at IS NULL) = (signed_by IS NULL)", name="signed_says_by_whom"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    content: Mapped[dict] = mapped_column(sa.JSON)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    written_by: Mapped[str] = mapped_column(sa.String(120))  # the practitioner's name as it read then
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by: Mapped[str | None] = mapped_column(sa.String(120))

    appointment: Mapped[Appointment] = relationship(backref=sa.orm.backref("note", uselist=False))
    addenda: Mapped[list[NoteAddendum]] = relationship(
        back_populates="note", order_by="(NoteAddendum.signed_at, NoteAddendum.id)")

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class NoteAddendum(db.Model):
    """Words added to a signed note, signed by their writer when added; never changed after."""

    __tablename__ = "note_addendum"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("treatment_note.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    signed_by: Mapped[str] = mapped_column(sa.String(120))

    note: Mapped[TreatmentNote] = relationship(back_populates="addenda")


class PrescriptionTemplate(db.Model):
    """A practitioner's named set of points ("Kidney deficiency back"), to start a note's treatment from."""

    __tablename__ = "prescription_template"
    __table_args__ = (sa.UniqueConstraint("practitioner_id", "name", name="one_name_each"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(80))
    points: Mapped[list[dict]] = mapped_column(sa.JSON)  # rows as booking.notes.content keeps them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(db.Model):
    """One look at a patient's health data by a staff member, or one refused attempt at a staff page:
    who, what, which record, when, from where.

    Never holds health data itself: only ids, names of people and the kind of access.
    """

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"), index=True)
    staff_name: Mapped[str] = mapped_column(sa.String(120))  # as it read then
    staff_role: Mapped[str] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(20))  # clinical.AUDIT_ACTIONS
    # For an action on a staff account (a second factor reset): whose, and their name as it read then.
    subject_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    subject_name: Mapped[str | None] = mapped_column(sa.String(120))
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment.id", ondelete="SET NULL"))
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient.id", ondelete="SET NULL"), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    # The address asked for, on a refusal: staff addresses hold ids and names of pages, never health data.
    page: Mapped[str | None] = mapped_column(sa.String(200))

    patient: Mapped[Patient | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()


class PatientErasure(db.Model):
    """That a patient's details and answers were erased: by whom, when and why. Kept for good.

    `reason` is what the admin typed ("retention" for `flask retention purge`); the form asks
    for no health details in it.
    """

    __tablename__ = "patient_erasure"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="SET NULL"))
    erased_by: Mapped[str] = mapped_column(sa.String(120))  # the staff member's name as it read then, or the command
    reason: Mapped[str] = mapped_column(sa.String(500))
    appointments_kept: Mapped[int]  # as anonymous history
    appointments_cancelled: Mapped[int]  # booked visits ahead, cancelled by the erasure

    patient: Mapped[Patient] = relationship()


class OutboxStatus(enum.Enum):
    QUEUED = "queued"  # waiting for its first or next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a sender until claimed_until
    SENT = "sent"  # the mail server accepted it
    FAILED = "failed"  # refused for good, or too many attempts: last_error says why
    SKIPPED = "skipped"  # no longer true when its turn came (a cancelled visit's reminder)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class OutboxMessage(db.Model):
    """One email, queued in the same commit as the change it tells about, written and sent after.

    The change stores what the email is about and `context`, what writing it needs that the
    database will not still say when it goes (a moved visit's old time, say); the sender writes
    the subject and bodies just before its first attempt and keeps them, so every later attempt
    sends the same words (outbox.email_of). The stored bodies hold a placeholder where the
    secret link goes: the sender makes a new link for each attempt and puts it in only in the
    copy it hands to the mail server, so no stored value opens a booking (outbox._deliver_one).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
        # Only a waitlist email has a place: a visit's email, the most of them, is not written to it.
        sa.Index("ix_outbox_message_waitlist_entry_id", "waitlist_entry_id",
                 sqlite_where=sa.text("waitlist_entry_id IS NOT NULL"),
                 postgresql_where=sa.text("waitlist_entry_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    appointment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    # The visit's SEQUENCE when this was written: once the visit changes, what it says is out of date.
    about_sequence: Mapped[int | None]
    # Written at most once (reminder:<appointment>:<sequence>), so queueing twice adds nothing.
    once_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    # None until the sender writes the email (the subject and both bodies are written together).
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    text_body: Mapped[str | None] = mapped_column(sa.Text)
    html_body: Mapped[str | None] = mapped_column(sa.Text)
    calendar: Mapped[str | None] = mapped_column(sa.Text)  # an .ics attachment, which carries no link
    # What writing the email needs beyond the rows it is about, as JSON (outbox.queue); None on
    # emails queued before there was one (written as they were queued) and once erased.
    context: Mapped[dict | None] = mapped_column(sa.JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.QUEUED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(32))  # the sender holding the claim
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    server_reply: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An email about a place on the waitlist (and the offer it makes), which has no appointment.
    waitlist_entry_id: Mapped[int | None] = mapped_column(  # indexed where set (above)
        sa.ForeignKey("waitlist_entry.id", ondelete="SET NULL")
    )
    waitlist_offer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("waitlist_offer.id", ondelete="SET NULL"))

    appointment: Mapped[Appointment | None] = relationship()
    waitlist_entry: Mapped[WaitlistEntry | None] = relationship()
    waitlist_offer: Mapped[WaitlistOffer | None] = relationship()

    @property
    def is_written(self) -> bool:
        return self.text_body is not None

    @property
    def title(self) -> str:
        """What staff pages call it: its subject once written, else its kind and that it is not written."""
        if self.subject is not None:
            return self.subject
        kind = self.kind.replace("_", " ").capitalize()
        waiting = self.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING)
        return f"{kind} (not written yet)" if waiting else f"{kind} (never written)"


class OutboxSender(db.Model):
    """The last pass of one `flask outbox send` process, written by that process. The admin's
    outbox page reads whether emails are going out from here, because the sender usually runs
    as another service, with settings the web process cannot see."""

    __tablename__ = "outbox_sender"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)  # host and process id
    last_pass_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    every_seconds: Mapped[int | None]  # the pause between its passes; None for a single pass (cron)
    mail_server: Mapped[str] = mapped_column(sa.String(200), default="")  # host:port; "" when it has none
    problem: Mapped[str | None] = mapped_column(sa.String(500))  # why its last pass stopped early


class StaffRole(enum.Enum):
    ADMIN = "admin"
    RECEPTIONIST = "receptionist"
    PRACTITIONER = "practitioner"


class StaffAccount(db.Model):
    """Someone who works at the clinic and signs in; a practitioner's account names their practitioner."""

    __tablename__ = "staff_account"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'practitioner') = (practitioner_id IS NOT NULL)", name="practitioner_accounts_name_one"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[StaffRole] = mapped_column(_enum_column(StaffRole, "staff_role"))
    practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practitioner.id"))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # The password was set by an admin, who knows it: the person chooses their own before any
    # other staff page opens (operations.staff.change_own_password clears it).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    practitioner: Mapped[Practitioner | None] = relationship()


class StaffSession(db.Model):
    """A signed-in session, kept on the server so that signing out (or deactivation) really ends it.

    The browser holds the session's random token in the signed Flask session; only its
    SHA-256 is stored here.
    """

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[StaffAccount] = relationship()


class StaffSecondFactor(db.Model):
    """A staff member's authenticator app (TOTP, RFC 6238): one row per account at most.

    The TOTP key must stay usable, so it cannot be hashed: it is sealed (booking.sealing) with a
    key derived from SECRET_KEY, so a dump of the database alone cannot make codes. The row is
    made when enrolment begins; it is on once `enabled_at` is set, after a code confirmed it.
    `last_step` is the time step (Unix time // 30) of the last code accepted: a code of that
    step or an earlier one is refused, so no code works twice.
    """

    __tablename__ = "staff_second_factor"

    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="CASCADE"), primary_key=True,
                                          autoincrement=False)
    secret_sealed: Mapped[str] = mapped_column(sa.String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    @property
    def is_on(self) -> bool:
        return self.enabled_at is not None


class StaffRecoveryCode(db.Model):
    """A one-time recovery code, for signing in without the authenticator app.

    Shown once when made; only the SHA-256 of the code (80 random bits) is kept. A used code is
    crossed off (`used_at`), not deleted, so the account page can say how many are left.
    """

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BookingDraft(db.Model):
    """A patient's online booking in progress, kept on the server so no answer rides in a cookie.

    The browser holds only a random key (in the signed session); its hash finds the draft.
    """

    __tablename__ = "booking_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id", ondelete="SET NULL"))
    practitioner_choice: Mapped[str | None] = mapped_column(sa.String(60))  # a slug or "any"
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    safety_codes: Mapped[list[str] | None] = mapped_column(sa.JSON)  # None until answered
    # returning (the first question), then name, email, phone, birth_date
    details: Mapped[dict | None] = mapped_column(sa.JSON)
    lost_race: Mapped[bool] = mapped_column(default=False)
    # The visit this draft booked; its manage link is made again from the raw key, which only
    # the patient's session holds (tokens.draft_manage_token), so none is stored here.
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    service: Mapped[Service | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    def missing_step(self) -> str | None:
        """The first question of the journey still unanswered, or None when all are."""
        return first_unanswered(self.details, self.service is not None, self.practitioner_choice, self.starts_at,
                                self.safety_codes)


def first_unanswered(details: dict | None, has_service: bool, practitioner_choice: str | None,
                     starts_at: datetime | None, safety_codes: list | None) -> str | None:
    """The first question of a booking draft still unanswered, or None when all are: for the row,
    and for the plain copy of it a page that only reads reads (operations.drafts.DraftAnswers)."""
    if "returning" not in (details or {}):
        return "first_visit"  # asked first: it decides which visits the list offers
    if not has_service:
        return "service"
    if not practitioner_choice:
        return "practitioner"
    if starts_at is None:
        return "time"
    if safety_codes is None:
        return "safety"
    if "name" not in (details or {}):
        return "details"
    return None


# --- the settings stamp -------------------------------------------------------------------

# What a process may keep between requests (operations.catalogue), and the collections whose
# changes alter it: which services a practitioner offers, and their hours.
_SETTINGS = (Clinic, Service, Practitioner, WorkingHours, Room)
_SETTINGS_COLLECTIONS = {Service: ("practitioners",), Practitioner: ("services", "hours")}


def renew_settings_stamp(session) -> None:
    """Give the clinic a new settings stamp in this transaction. Changes made through the ORM
    renew it by themselves (below); a bulk statement on those tables calls this."""
    session.execute(sa.update(Clinic).values(settings_stamp=uuid.uuid4().hex))


def _changes_settings(session) -> bool:
    for item in chain(session.new, session.deleted):
        if isinstance(item, _SETTINGS):
            return True
    for item in session.dirty:
        if not isinstance(item, _SETTINGS):
            continue
        # A booking appends to its practitioner's loaded collections too; only real changes count,
        # so that bookings neither renew the stamp nor queue behind each other on the clinic row.
        if session.is_modified(item, include_collections=False):
            return True
        state = sa.inspect(item)
        if any(state.attrs[name].history.has_changes() for name in _SETTINGS_COLLECTIONS.get(type(item), ())):
            return True
    return False


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _renew_stamp_on_settings_change(session, _context, _instances) -> None:
    if _changes_settings(session) and not any(isinstance(item, Clinic) for item in session.new):
        renew_settings_stamp(session)


# --- the diary stamps -------------------------------------------------------------------------

def _diaries_changed(session) -> set[int]:
    """The practitioners whose booked time or time off this flush changes (both, for a move)."""
    changed: set[int] = set()
    for item in chain(session.new, session.deleted, session.dirty):
        if not isinstance(item, (Appointment, TimeOff)):
            continue
        if item in session.dirty and not session.is_modified(item, include_collections=False):
            continue
        # Set by id or by object (a new visit names its practitioner object, whose id the flush copies).
        state = sa.inspect(item)
        for name, as_id in (("practitioner_id", lambda who: who), ("practitioner", lambda who: who.id)):
            history = state.attrs[name].history
            changed.update(as_id(who) for who in chain(history.added, history.unchanged, history.deleted)
                           if who is not None)
    changed.discard(None)  # a practitioner added in the same flush: their stamp is new anyway
    return changed


_PRACTITIONERS = Practitioner.__table__
# Built once: a Core UPDATE on the transaction's connection, touching no loaded row (the stamps are
# read only as columns).
_RENEW_STAMPS = (
    sa.update(_PRACTITIONERS).where(_PRACTITIONERS.c.id.in_(sa.bindparam("everyone", expanding=True)))
    .values(diary_stamp=sa.case((_PRACTITIONERS.c.id.in_(sa.bindparam("diaries", expanding=True)), sa.bindparam("diary")),
                                else_=_PRACTITIONERS.c.diary_stamp),
            calendar_stamp=sa.bindparam("calendar"))
)


def renew_diary_stamps(session, practitioner_ids, calendars_only=()) -> None:
    """Give these practitioners new diary stamps in this transaction (operations.availability keeps
    free times under them), and new calendar stamps, as their calendars show their diaries; and
    `calendars_only` new calendar stamps alone. One statement, so that two transactions lock the
    rows in the same order (by id) whatever mix each renews. ORM changes renew them by themselves
    (below)."""
    everyone = sorted({*practitioner_ids, *calendars_only})
    if everyone:
        stamps = secrets.token_hex(32)  # two stamps from one call for randomness
        driver.on_connection(driver.connection_of(session), _RENEW_STAMPS, {
            "everyone": everyone, "diaries": sorted(practitioner_ids), "diary": stamps[:32],
            "calendar": stamps[32:]})


# --- the calendar stamps ----------------------------------------------------------------------

# What the staff calendars (the desk's day and week, a practitioner's day) show of a visit beyond
# its own row, by model: the columns whose change alters a page. A row added or deleted always
# does. A page that comes to show more of these records must name it here, or it is kept stale.
_SHOWN_WITH_VISITS = {
    Patient: ("name",),
    Intake: ("appointment_id", "sent_at", "urgent_flags", "emergency_flags", "precautions", "risk_factors",
             "nerve_root_pattern"),
    ProgressCheck: ("appointment_id",),
    ConsentRecord: ("appointment_id", "patient_id", "given_at"),
    TreatmentNote: ("appointment_id", "signed_at"),
}


def _practitioner_of(visit: Appointment) -> int | None:
    """A visit's practitioner, also for a visit added in this flush (named by object)."""
    if visit.practitioner_id is not None:
        return visit.practitioner_id
    return visit.practitioner.id if visit.practitioner is not None else None


def _calendars_changed(session) -> set[int]:
    """The practitioners whose calendars this flush changes through the records a visit shows:
    its patient's name, intake, progress check, consent, treatment note. Known from the objects
    where the session holds them; else one query for the rest."""
    changed: set[int] = set()
    visit_ids: set[int] = set()
    patient_ids: set[int] = set()
    for item in chain(session.new, session.dirty, session.deleted):
        shown = _SHOWN_WITH_VISITS.get(type(item))
        if shown is None:
            continue
        state = sa.inspect(item)
        if item in session.dirty and not any(state.attrs[name].history.has_changes() for name in shown):
            continue
        if isinstance(item, Patient):
            if item not in session.new:  # a new patient's only visits are new in this flush: their diaries say so
                patient_ids.add(item.id)
            continue
        visits = [visit for visit in chain(*state.attrs["appointment"].history) if visit is not None]
        changed.update(_practitioner_of(visit) for visit in visits)
        named = {item.appointment_id, *state.attrs["appointment_id"].history.deleted} - {None}
        for visit_id in named - {visit.id for visit in visits}:
            held = session.identity_map.get(session.identity_key(Appointment, visit_id))
            if held is not None:
                changed.add(_practitioner_of(held))
            else:
                visit_ids.add(visit_id)
    if visit_ids or patient_ids:
        changed.update(session.scalars(sa.select(Appointment.practitioner_id).distinct().where(
            sa.or_(Appointment.id.in_(sorted(visit_ids)), Appointment.patient_id.in_(sorted(patient_ids))))))
    changed.discard(None)
    return changed


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _renew_diary_stamps_on_change(session, _context, _instances) -> None:
    diaries = _diaries_changed(session)
    renew_diary_stamps(session, diaries, calendars_only=_calendars_changed(session) - diaries)


# --- the hands-on parts ------------------------------------------------------------------------

# A visit's parts are laid out again when one of these changes: its time, with whom, for what.
_PARTS_FOLLOW = ("starts_at", "occupied_until", "practitioner_id", "practitioner", "service_id", "service")


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _keep_parts(session, _context, _instances) -> None:
    """Every visit written through the ORM gets its HandsOnPart rows in the same flush: made for a
    new visit, moved with a moved one (in the service's shape as it is now), and released
    (holds_time false) when it stops holding time. A mark that leaves it holding time (arrived,
    completed) leaves its parts as they were booked, whatever the service has become since."""
    for visit in [item for item in chain(session.new, session.dirty) if isinstance(item, Appointment)]:
        if visit not in session.new:
            state = sa.inspect(visit)
            if not any(state.attrs[name].history.has_changes() for name in _PARTS_FOLLOW):
                if not state.attrs["status"].history.has_changes():
                    continue
                if visit.status not in AppointmentStatus.holding_time():
                    for part in visit.parts:
                        part.holds_time = False
                    continue
                if visit.parts and all(part.holds_time for part in visit.parts):
                    continue
        service = visit.service or session.get(Service, visit.service_id)
        practitioner = visit.practitioner or session.get(Practitioner, visit.practitioner_id)
        wanted = (held_ranges(service.shape, visit.starts_at, visit.occupied_until)
                  if visit.status in (None, *AppointmentStatus.holding_time()) else [])  # None: BOOKED, at the insert
        parts = list(visit.parts)
        for part, held in zip(parts, wanted):
            part.starts_at, part.ends_at, part.practitioner, part.holds_time = held.start, held.end, practitioner, True
        for part in parts[len(wanted):]:
            if wanted:
                visit.parts.remove(part)  # the service has fewer parts now than when booked
            else:
                part.holds_time = False
        visit.parts.extend(HandsOnPart(practitioner=practitioner, starts_at=held.start, ends_at=held.end)
                           for held in wanted[len(parts):])


# --- the waitlist ---------------------------------------------------------------------------

class WaitlistState(enum.Enum):
    WAITING = "waiting"
    BOOKED = "booked"  # an offer was taken: the place became a visit
    LEFT = "left"  # the patient (or the desk) took it off the list
    EXPIRED = "expired"  # its last wanted day passed

    @property
    def label(self) -> str:
        return self.value.capitalize()


class OfferState(enum.Enum):
    OPEN = "open"
    BOOKED = "booked"  # this person took the time
    GONE = "gone"  # someone else took it first, or it stopped being free
    EXPIRED = "expired"  # nobody answered in time
    WITHDRAWN = "withdrawn"  # the place left the list (or changed), or the person said no, while it was open


class WaitlistEntry(db.Model):
    """A patient's place on the waitlist: what they would take, and how to reach them.

    Like a booking it keeps the contact details and the urgent safety answers (an emergency
    answer never joins); no Patient row is made until an offer is taken. Only the hash of its
    secret link is kept; emailed links are WaitlistLink rows.
    """

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        sa.CheckConstraint("first_day <= last_day", name="days_in_order"),
        sa.Index("ix_waitlist_entry_state_joined", "state", "joined_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practitioner.id"))  # None: anyone
    first_day: Mapped[date]  # clinic dates, both included
    last_day: Mapped[date]
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=list)  # 0 = Monday; empty: any day
    parts_of_day: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # scheduling.waitlist; empty: any
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str] = mapped_column(sa.String(40))
    born_on: Mapped[date]
    language: Mapped[str] = mapped_column(sa.String(10))
    safety_answers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # urgent codes; [] none applied
    safety_checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_via: Mapped[str] = mapped_column(sa.String(20), default="online")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    link_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    state: Mapped[WaitlistState] = mapped_column(_enum_column(WaitlistState, "waitlist_state"),
                                                 default=WaitlistState.WAITING)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment.id", ondelete="SET NULL"))

    service: Mapped[Service] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()


class WaitlistLink(db.Model):
    """A further secret link to a place on the waitlist, minted for one email (as ManageLink)."""

    __tablename__ = "waitlist_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("waitlist_entry.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitlistOffer(db.Model):
    """A freed time offered to one place on the waitlist until `expires_at`; the first of the
    people offered it who confirms books it, the others are told it has gone."""

    __tablename__ = "waitlist_offer"
    __table_args__ = (sa.Index("ix_waitlist_offer_time", "practitioner_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("waitlist_entry.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[OfferState] = mapped_column(_enum_column(OfferState, "waitlist_offer_state"),
                                              default=OfferState.OPEN)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offered_by: Mapped[str | None] = mapped_column(sa.String(120))  # a member of staff's name; None: the list

    entry: Mapped[WaitlistEntry] = relationship()
    practitioner: Mapped[Practitioner] = relationship()
