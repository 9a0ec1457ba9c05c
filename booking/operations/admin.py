"""The clinic owner's changes: settings, services and practitioners.

They edit the same data as the clinic file (operations.clinic_file), under the same
limits (booking.limits), so what the admin pages save exports and imports back as it is.
Each change is checked whole first: any problem raises InvalidInput naming every input
to fix, and nothing is written. Each write is one transaction.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from booking import identifiers, limits
from booking.extensions import db
from booking.formatting import counted
from booking.transaction import write_transaction
from booking.limits import CONTROL_CHARACTER, Limit
from booking.i18n import catalog_languages, language_name
from booking.models import (ADDRESS_COLUMNS, Appointment, AppointmentStatus, Clinic, Practitioner, Room, Service,
                            column_length, stored_versions)
from booking.operations.availability import load_clinic
from booking.operations.beds import bed_for_each_visit_booked_without, beds_in_use_above, lock_beds
from booking.operations.bookings import staff_time
from booking.operations.problems import InvalidInput
from booking.scheduling import HandsOnProblem, parse_hands_on
from booking.validation import CLINIC_NUMBERS_TO_CALL, clean_email, region_contradictions

WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")

START_BACK_NOT_LOADED = (
    "The STarT Back screen cannot be switched on: no licensed STarT Back file is loaded. "
    "Add the clinic's licensed instrument file first (see the note below)"
)


class _Checks:
    """Collects one message per input while the values are read."""

    def __init__(self, values: dict):
        self.values = values
        self.problems: dict[str, str] = {}

    def problem(self, key: str, message: str) -> None:
        self.problems.setdefault(key, message)

    def text(self, key: str, what: str, limit: int, *, required: bool = True) -> str:
        value = str(self.values.get(key) or "").strip()
        if required and not value:
            self.problem(key, f"Enter the {what}")
        elif CONTROL_CHARACTER.search(value):  # PostgreSQL refuses NUL in text; none belongs here
            self.problem(key, f"{what[0].upper()}{what[1:]} has a character that cannot be stored: type it again")
        elif len(value) > limit:
            self.problem(key, f"{what[0].upper()}{what[1:]} must be {limit} characters or fewer")
        return value

    def number(self, key: str, limit: Limit) -> int:
        text = str(self.values.get(key) if self.values.get(key) is not None else "").strip()
        if not WHOLE_NUMBER.fullmatch(text):
            self.problem(key, f"Enter the {limit.label.lower()} as a whole number of {limit.unit}, "
                              f"from {limit.low} to {limit.high}")
            return limit.low
        value = int(text) if len(text) <= 12 else -1 if text.startswith("-") else limit.high + 1
        if value not in limit:
            self.problem(key, limit.out_of_range + (" (it cannot be negative)" if value < 0 else ""))
        return value

    def region(self, key: str) -> str:
        code = str(self.values.get(key) or "").strip().upper()
        if not code:
            self.problem(key, "Enter the country code, like US or GB")
        elif code == "UK":
            self.problem(key, "Enter GB for the United Kingdom (the ISO country code)")
        elif not limits.is_known_region(code):
            self.problem(key, f"{code[:limits.NAME_LENGTH]} is not a country code we know: "
                              "use two letters, like US or GB")
        return code

    def country(self, key: str) -> str | None:
        """An optional two-letter country code, as region() checks a required one."""
        if not str(self.values.get(key) or "").strip():
            return None
        return self.region(key)

    def locale(self, key: str, region: str | None) -> str:
        """A locale; a wrong one is told one that fits the clinic's country (region)."""
        text = str(self.values.get(key) or "").strip()
        locale = limits.clinic_locale(text)
        examples = " or ".join(limits.locale_examples(region))
        if not text:
            self.problem(key, f"Enter the locale, like {examples}")
        elif limits.names_no_country(text):
            self.problem(key, f"Add the country to the locale, like {limits.locale_examples(region, text)[0]}: "
                              "dates and times read differently in each country")
        elif locale is None:
            self.problem(key, f"{text[:32]} is not a locale we know: use a language and a two-letter country, "
                              f"like {examples}")
        return locale or text

    def languages(self, key: str, offered: list[str]) -> list[str]:
        """English and the languages ticked, keeping the clinic's order (its first is the default)."""
        ticked = self.values.get(key) or []
        known = catalog_languages()
        if isinstance(ticked, str) or any(code not in known for code in ticked):
            self.problem(key, "Choose languages from the list")
            return offered
        # English is not a box to tick: it stays as the clinic has it (a Spanish-only clinic
        # stays Spanish-only), and a clinic left with no language at all gets English.
        chosen = {*ticked, *(["en"] if "en" in offered else [])} or {"en"}
        kept = [code for code in offered if code in chosen]
        return kept + [code for code in known if code in chosen and code not in kept]

    def optional_email(self, key: str, what: str) -> str | None:
        text = str(self.values.get(key) or "").strip()
        if not text:
            return None
        try:
            return clean_email(text)
        except ValueError:
            self.problem(key, f"Enter the {what} in the correct format, like alerts@example.com, "
                              "or leave it empty")
            return None

    # An example of a short name for each kind of row, as its page's hint gives one.
    SLUG_EXAMPLES = {"service": "first-visit", "practitioner": "mei-lin", "room": "room-1"}

    def slug(self, model: type[Service] | type[Practitioner] | type[Room], what: str) -> str:
        slug = str(self.values.get("slug") or "").strip()
        example = self.SLUG_EXAMPLES[what]
        if not slug:
            self.problem("slug", f"Enter a short name for web addresses, like {example}")
        elif len(slug) > limits.SLUG_LENGTH:
            self.problem("slug", f"Short name must be {limits.SLUG_LENGTH} characters or fewer")
        elif not limits.SLUG.match(slug):
            self.problem("slug", f"Short name must be lower-case letters, digits and single hyphens, like {example}")
        elif db.session.scalar(sa.select(model.id).where(model.slug == slug)):
            self.problem("slug", _taken(what, slug))
        return slug

    def versions(self, texts: dict[str, tuple[str, int]], languages: list[str]) -> dict[str, dict[str, str]]:
        """The boxes of a row's texts in the clinic's other languages ("name_es"), as
        InLanguages.write_versions takes them: an empty box removes that version, and the
        clinic's own text is shown in its place. texts: field -> (what a message calls it, longest)."""
        return {language: {field: self.text(f"{field}_{language}", f"{what} in {language_name(language)}", limit,
                                            required=False)
                           for field, (what, limit) in texts.items()}
                for language in languages}

    def identifier(self, key: str, clean) -> str | None:
        """An optional identifier for the insurer's receipt, checked by booking.identifiers."""
        value, problem = clean(self.values.get(key))
        if problem:
            self.problem(key, problem)
        return value

    def done(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)


def _taken(what: str, slug: str) -> str:
    return f"There is already a {what} with the short name {slug}: choose another"


def _write(change, taken: str | None = None):
    """Run change() in one write transaction; a unique slug lost to a race reads as taken."""
    try:
        with write_transaction():
            return change()
    except IntegrityError:
        if taken is None:
            raise
        raise InvalidInput({"slug": taken}) from None


def other_languages() -> list[str]:
    """The clinic's languages after its own (the first): the ones its texts may have versions in."""
    return list(load_clinic().languages or ["en"])[1:]


def version_values(item, languages: list[str]) -> dict:
    """A row's versions as its form's boxes show them: {"name_es": "...", ...}."""
    stored = stored_versions(item.translations)
    return {f"{field}_{language}": stored.get(language, {}).get(field, "")
            for language in languages for field in item.TRANSLATED}


def _save_by_slug(model, existing, slug: str, fields: dict, what: str, versions: dict | None = None, first=None,
                  then=None):
    """Set the fields (and the texts' versions) on an existing row, or on a new one with this slug,
    in one write; first(), if given, runs at its start (a lock, a check that may refuse), and
    then(row) after the fields are set (what follows from them, which may refuse too)."""

    def change():
        if first is not None:
            first()
        saved = existing or model(slug=slug)
        db.session.add(saved)
        for key, value in fields.items():
            setattr(saved, key, value)
        saved.write_versions(versions or {})
        if then is not None:
            then(saved)
        return saved

    return _write(change, taken=_taken(what, slug))


def upcoming_visits(now: datetime, *where) -> int:
    """How many booked visits lie ahead (of a service or practitioner, with `where`)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Appointment)
        .where(Appointment.status == AppointmentStatus.BOOKED, Appointment.starts_at >= now, *where)
    )


# --- clinic settings ------------------------------------------------------------------

CLINIC_TEXTS = {  # key -> (what it is called in a message, longest allowed)
    "name": ("clinic's name", limits.NAME_LENGTH),
    "phone": ("phone number", limits.PHONE_LENGTH),
    "emergency_number": ("emergency number", limits.EMERGENCY_NUMBER_LENGTH),
}


# Address column -> what a message calls it (the longest each holds is its column's).
ADDRESS_TEXTS = {
    "address_street": "street address",
    "address_city": "town or city",
    "address_region": "state, county or region",
    "address_postcode": "ZIP code or postcode",
}


def clinic_values(clinic: Clinic) -> dict:
    """The settings as the settings page shows them."""
    keys = ["name", "timezone", "region", "phone", "emergency_number", "alert_email", *limits.CLINIC_NUMBERS,
            "start_back_enabled", "second_factor_for_all_staff", "locale", "languages", *ADDRESS_COLUMNS.values(),
            "tax_id"]
    values = {key: getattr(clinic, key) for key in keys}
    values["languages"] = list(values["languages"] or ["en"])
    return values | version_values(clinic, values["languages"][1:])


def update_clinic(values: dict, *, start_back_available: bool, now: datetime) -> Clinic:
    """Save the clinic's settings, or raise InvalidInput and save nothing.

    values: as typed (numbers may be text); `confirm_zone_change` must be true to move a
    clinic with visits booked ahead to another zone, since its working hours are
    wall-clock times in the zone and would move against those visits.
    """
    clinic = load_clinic()
    # A browser sends a text box's line ends as CRLF: one kind, counted once, keeps the limit and the file plain.
    directions = {key: str(value or "").replace("\r\n", "\n").replace("\r", "\n")
                  for key, value in values.items() if key == "directions" or key.startswith("directions_")}
    check = _Checks(values | directions)
    settings = {key: check.text(key, what, limit) for key, (what, limit) in CLINIC_TEXTS.items()}
    for key, (what, fits, form) in CLINIC_NUMBERS_TO_CALL.items():
        if key not in check.problems and not fits(settings[key]):
            check.problem(key, f"Enter the {what} as {form}")
    zone = str(values.get("timezone") or "").strip()
    if not zone:
        check.problem("timezone", "Enter the time zone, like America/Los_Angeles")
    elif not limits.is_known_zone(zone):
        check.problem("timezone", f"{zone[:limits.ZONE_LENGTH]} is not a time zone name we know: use an IANA name, "
                                  "like America/Los_Angeles or Europe/London")
    elif zone != clinic.timezone and not values.get("confirm_zone_change"):
        ahead = upcoming_visits(now)
        if ahead:
            check.problem("confirm_zone_change", f"{counted(ahead, 'booked visit')} {'lies' if ahead == 1 else 'lie'} "
                                                 "ahead: check the box to confirm "
                                                 "the change of time zone, or keep the clinic's zone")
    settings["timezone"] = zone
    settings["region"] = check.region("region")
    settings["alert_email"] = check.optional_email("alert_email", "alert email address")
    settings |= {key: check.number(key, limit) for key, limit in limits.CLINIC_NUMBERS.items()}
    settings["locale"] = check.locale("locale", settings["region"] if "region" not in check.problems else clinic.region)
    settings["languages"] = check.languages("languages", list(clinic.languages or ["en"]))
    for column, what in ADDRESS_TEXTS.items():
        settings[column] = check.text(column, what, column_length(Clinic, column), required=False) or None
    settings["address_country"] = check.country("address_country")
    if "region" not in check.problems:  # one country for the urgent advice, the number to call and the address
        for key, message in region_contradictions(
                settings["region"], None if "emergency_number" in check.problems else settings["emergency_number"],
                None if "address_country" in check.problems else settings["address_country"],
                None if "locale" in check.problems else settings["locale"],
                None if "timezone" in check.problems else settings["timezone"]).items():
            check.problem(key, message)
    settings["directions"] = check.text("directions", "directions", column_length(Clinic, "directions"),
                                        required=False) or None
    versions = check.versions({"directions": ("directions", column_length(Clinic, "directions"))},
                              list(clinic.languages or ["en"])[1:])
    settings["tax_id"] = check.identifier("tax_id", identifiers.clean_tax_id)
    settings["start_back_enabled"] = bool(values.get("start_back_enabled"))
    settings["second_factor_for_all_staff"] = bool(values.get("second_factor_for_all_staff"))
    if settings["start_back_enabled"] and not start_back_available:
        check.problem("start_back_enabled", START_BACK_NOT_LOADED)
    check.done()

    def change():
        for key, value in settings.items():
            setattr(clinic, key, value)
        clinic.write_versions(versions)
        return clinic

    return _write(change)


# --- services ---------------------------------------------------------------------------

def service_values(service: Service) -> dict:
    return {key: getattr(service, key)
            for key in ("slug", "name", "description", "minutes", "buffer_minutes", "new_patients_only", "is_active",
                        "needs_bed")
            } | {"hands_on": hands_on_text(service.hands_on)} | version_values(service, other_languages())


# The hands-on box: "0-10, 35-45". Longer than any sensible list of parts, short enough to read back.
HANDS_ON_LENGTH = 200


def hands_on_text(parts) -> str:
    """[[0, 10], [35, 45]] as the service form shows it: "0-10, 35-45"; "" for none."""
    return ", ".join(f"{start}-{end}" for start, end in parts or ())


def _hands_on(check: _Checks, minutes: int | None) -> list | None:
    """The typed parts as Service.hands_on stores them, or None (an empty box: the practitioner
    stays for the whole visit). Each mistake scheduling.beds finds is named in one message."""
    text = check.text("hands_on", "hands-on parts", HANDS_ON_LENGTH, required=False)
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if not entries or "hands_on" in check.problems or minutes is None:
        return None
    try:
        return [list(part) for part in parse_hands_on(entries, minutes)]
    except HandsOnProblem as problem:
        check.problem("hands_on", "Hands-on parts: " + "; ".join(problem.problems))
        return None


NO_ROOM_IN_USE = ("No room is in use, so a visit that needs a bed could never be booked: add a room with its beds "
                  "under Rooms (or put one back in use) first, or uncheck this")


def _rooms_in_use() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Room).where(Room.is_active))


def save_service(values: dict, now: datetime, service: Service | None = None) -> Service:
    """Add a service (service=None: the slug comes from values) or change one; InvalidInput if any value is wrong.
    A service that comes to need a bed gives one to each of its visits still to come, or is refused,
    naming the first that would find every bed taken (beds.bed_for_each_visit_booked_without)."""
    check = _Checks(values)
    slug = check.slug(Service, "service") if service is None else service.slug
    fields = {
        "name": check.text("name", "service's name", limits.NAME_LENGTH),
        "description": check.text("description", "description", limits.DESCRIPTION_LENGTH, required=False),
        "minutes": check.number("minutes", limits.SERVICE_MINUTES),
        "buffer_minutes": check.number("buffer_minutes", limits.BUFFER_MINUTES),
        "new_patients_only": bool(values.get("new_patients_only")),
        "is_active": bool(values.get("is_active")),
        "needs_bed": bool(values.get("needs_bed")),
    }
    fields["hands_on"] = _hands_on(check, None if "minutes" in check.problems else fields["minutes"])
    if fields["needs_bed"] and not _rooms_in_use():
        check.problem("needs_bed", NO_ROOM_IN_USE)
    versions = check.versions({"name": ("service's name", limits.NAME_LENGTH),
                               "description": ("description", limits.DESCRIPTION_LENGTH)}, other_languages())
    check.done()

    needed_a_bed = []

    def still_a_room():
        """Checked again under the beds lock, which taking the last room out of use takes too."""
        needed_a_bed.append(service is not None and service.needs_bed)  # as it is under the lock
        if fields["needs_bed"]:
            lock_beds()
            if not _rooms_in_use():
                raise InvalidInput({"needs_bed": NO_ROOM_IN_USE})

    def beds_for_booked_visits(saved: Service):
        if fields["needs_bed"] and not needed_a_bed[0] and saved.id is not None:
            left_out = bed_for_each_visit_booked_without(saved, now)
            if left_out is not None:
                raise InvalidInput({"needs_bed": _no_bed_for(left_out)})

    return _save_by_slug(Service, service, slug, fields, "service", versions, first=still_a_room,
                         then=beds_for_booked_visits)


def _no_bed_for(visit: Appointment) -> str:
    """Why a service may not come to need a bed: one of its booked visits would find none."""
    return (f"Its visits already booked would each need a bed, and every bed is taken for "
            f"{staff_time(load_clinic(), visit.starts_at)} (reference {visit.reference}, with "
            f"{visit.practitioner.name}). Add a bed or a room, or move that visit from the desk, then try again.")


def _by_slug(model, slug: str):
    """The row with this slug; one no slug could be (a NUL byte, say) is not looked for."""
    if len(slug) > limits.SLUG_LENGTH or not limits.SLUG.match(slug):
        return None
    return db.session.scalar(sa.select(model).where(model.slug == slug))


def find_service(slug: str) -> Service | None:
    return _by_slug(Service, slug)


def all_services() -> list[Service]:
    return list(db.session.scalars(sa.select(Service).order_by(Service.id)))


# --- practitioners ----------------------------------------------------------------------

def practitioner_values(practitioner: Practitioner) -> dict:
    return {"slug": practitioner.slug, "name": practitioner.name, "bio": practitioner.bio,
            "npi": practitioner.npi, "license_number": practitioner.license_number,
            "services": [s.slug for s in practitioner.services], "is_active": practitioner.is_active,
            } | version_values(practitioner, other_languages())


def save_practitioner(values: dict, practitioner: Practitioner | None = None) -> Practitioner:
    """Add a practitioner (practitioner=None) or change one: name, bio, services offered, active.

    Hours and time off are the desk's to edit (desk.hours, desk.time_off).
    """
    check = _Checks(values)
    slug = check.slug(Practitioner, "practitioner") if practitioner is None else practitioner.slug
    fields = {
        "name": check.text("name", "practitioner's name", limits.NAME_LENGTH),
        "bio": check.text("bio", "introduction", limits.BIO_LENGTH, required=False),
        "npi": check.identifier("npi", identifiers.clean_npi),
        "license_number": check.identifier("license_number", identifiers.clean_license),
        "is_active": bool(values.get("is_active")),
    }
    by_slug = {s.slug: s for s in all_services()}
    chosen = list(dict.fromkeys(values.get("services") or []))
    if any(slug_ not in by_slug for slug_ in chosen):
        check.problem("services", "Select only services from the list")
    versions = check.versions({"bio": ("introduction", limits.BIO_LENGTH)}, other_languages())
    check.done()
    fields["services"] = [by_slug[s] for s in chosen]
    return _save_by_slug(Practitioner, practitioner, slug, fields, "practitioner", versions)


def find_practitioner(slug: str) -> Practitioner | None:
    return _by_slug(Practitioner, slug)


def all_practitioners() -> list[Practitioner]:
    return list(db.session.scalars(sa.select(Practitioner).order_by(Practitioner.id)))


# --- rooms ------------------------------------------------------------------------------

def room_values(room: Room) -> dict:
    return {"slug": room.slug, "name": room.name, "beds": room.beds, "is_active": room.is_active,
            } | version_values(room, other_languages())


def _fewer_beds_refused(count: int, first: datetime, beds: int) -> str:
    visits = "1 booked visit uses" if count == 1 else f"{count} booked visits use"
    return (f"{visits} a bed above bed {beds} (the first on {staff_time(load_clinic(), first)}): keep more beds, "
            "or move those visits from the desk first")


def save_room(values: dict, now: datetime, room: Room | None = None) -> Room:
    """Add a room (room=None: the slug comes from values) or change one: name, beds, in use or not,
    the name's versions. InvalidInput if any value is wrong, or if fewer beds would leave a visit
    still to come on a bed the room no longer has; nothing is written then.

    Under the beds lock, so no booking takes a bed of the room while its beds are counted.
    A room is never deleted: visits keep the room they were booked in."""
    check = _Checks(values)
    slug = check.slug(Room, "room") if room is None else room.slug
    fields = {
        "name": check.text("name", "room's name", limits.NAME_LENGTH),
        "beds": check.number("beds", limits.ROOM_BEDS),
        "is_active": bool(values.get("is_active")),
    }
    versions = check.versions({"name": ("room's name", limits.NAME_LENGTH)}, other_languages())
    check.done()

    def change():
        lock_beds()
        if room is not None:  # counted under the lock, whatever the beds read before it said
            count, first = beds_in_use_above(room.id, fields["beds"], now)
            if count:
                raise InvalidInput({"beds": _fewer_beds_refused(count, first, fields["beds"])})
        saved = room or Room(slug=slug)
        db.session.add(saved)
        for key, value in fields.items():
            setattr(saved, key, value)
        saved.write_versions(versions)
        return saved

    return _write(change, taken=_taken("room", slug))


def find_room(slug: str) -> Room | None:
    return _by_slug(Room, slug)


def all_rooms() -> list[Room]:
    return list(db.session.scalars(sa.select(Room).order_by(Room.slug)))


def bed_services() -> list[Service]:
    """The bookable services that need a bed: none can be booked while no room is in use."""
    return list(db.session.scalars(sa.select(Service).where(Service.needs_bed, Service.is_active).order_by(Service.id)))
