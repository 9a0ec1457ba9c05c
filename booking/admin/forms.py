"""Forms of the admin pages. They carry what was typed; operations.admin checks it (the audit
log's filters are checked here, as they change nothing)."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.forms import CheckboxChoices, Choice, JourneyForm, options, parse_date
from booking.i18n import catalog_languages, language_name
from booking.limits import MAX_ID
from booking.models import StaffRole
from booking.operations.clinical import AUDIT_ACTIONS, AuditFilter
from booking.scheduling import wall_clock_instant
from booking.validation import whole_number


class StaffForm(JourneyForm):
    name = StringField("Full name")
    email = StringField("Email address")
    role = Choice(
        "Role",
        choices=options([(r.value, r.value.capitalize()) for r in StaffRole]),
        message="Choose the role of this account",
    )
    practitioner = SelectField("Which practitioner", choices=[], validate_choice=False)  # staff.account_problems checks it
    password = PasswordField("Password (12 characters or more)")


class StaffPasswordForm(JourneyForm):
    """A new password for someone else's account (operations.staff checks it)."""

    password = PasswordField("New password (12 characters or more)")


class AdminForm(JourneyForm):
    """A form whose values go to an operation whole, and whose problems come back per field."""

    def values(self) -> dict:
        return {field.name: field.data for field in self if field.name != "csrf_token"}


class ClinicSettingsForm(AdminForm):
    name = StringField("Clinic name")
    timezone = StringField("Time zone")
    confirm_zone_change = BooleanField("Yes, change the time zone although visits are booked ahead")
    region = StringField("Country")
    phone = StringField("Phone number for patients")
    emergency_number = StringField("Emergency number")
    alert_email = StringField("Alert email address (optional)")
    slot_step_minutes = StringField("Slot step (minutes)")
    min_notice_hours = StringField("Minimum notice for online bookings (hours)")
    max_advance_days = StringField("How far ahead patients may book (days)")
    cancellation_notice_hours = StringField("Cancellation notice (hours)")
    reminder_hours = StringField("Reminder email (hours before the visit)")
    waitlist_offer_hours = StringField("Waitlist offers hold a freed time for (hours)")
    retention_years = StringField("Keep patients' records for (years after their last visit)")
    locale = StringField("Locale")
    languages = CheckboxChoices("Languages patients may choose besides English")
    address_street = StringField("Street address (optional)")
    address_city = StringField("Town or city (optional)")
    address_region = StringField("State, county or region (optional)")
    address_postcode = StringField("ZIP code or postcode (optional)")
    address_country = StringField("Country of the address (optional)")
    directions = TextAreaField("Directions for patients (optional)")
    VERSIONED = {"directions": (TextAreaField, "Directions")}
    tax_id = StringField("Tax ID (EIN, optional)")
    start_back_enabled = BooleanField("Ask the STarT Back screening questions")
    second_factor_for_all_staff = BooleanField("Ask every member of staff for a second factor when they sign in")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every language with a catalog, named in English with its own name: "Spanish (español)".
        self.languages.choices = options(
            (code, f"{Locale.parse(code).get_display_name('en')} ({Locale.parse(code).get_display_name(code)})")
            for code in catalog_languages() if code != "en")


def in_languages(form_class: type[AdminForm], languages: list[str]) -> type[AdminForm]:
    """form_class with a box for each of its texts that patients read (VERSIONED: field -> label)
    in each of the clinic's other languages: "name_es", labelled "Name in Spanish (optional)"."""
    boxes = {f"{field}_{code}": kind(f"{label} in {language_name(code)} (optional)")
             for code in languages for field, (kind, label) in form_class.VERSIONED.items()}
    return type(form_class.__name__, (form_class,), boxes) if boxes else form_class


class NamedBySlugForm(AdminForm):
    """A service's or practitioner's form: the slug names it in links and clinic files, so it is
    typed once, when adding, and never changed."""

    slug = StringField("Short name (for web addresses and the clinic file)")

    def __init__(self, *args, adding: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not adding:
            del self.slug


class ServiceEditForm(NamedBySlugForm):
    name = StringField("Name")
    description = TextAreaField("Description (optional)")
    minutes = StringField("Length (minutes)")
    buffer_minutes = StringField("Buffer after it (minutes)")
    hands_on = StringField("Hands-on parts (optional)")
    needs_bed = BooleanField("Needs a bed")
    new_patients_only = BooleanField("Only for new patients")
    is_active = BooleanField("Patients can book it")
    VERSIONED = {"name": (StringField, "Name"), "description": (TextAreaField, "Description")}


class RoomEditForm(NamedBySlugForm):
    name = StringField("Name")
    beds = StringField("Beds")
    is_active = BooleanField("In use")
    VERSIONED = {"name": (StringField, "Name")}


class PractitionerEditForm(NamedBySlugForm):
    name = StringField("Name")
    bio = TextAreaField("Introduction for patients (optional)")
    npi = StringField("NPI (optional)")
    license_number = StringField("License number (optional)")
    services = CheckboxChoices("Services they offer")
    is_active = BooleanField("Patients can book with them")
    VERSIONED = {"bio": (TextAreaField, "Introduction")}

    def __init__(self, *args, adding: bool, services, **kwargs):
        super().__init__(*args, adding=adding, **kwargs)
        self.services.choices = options(
            (s.slug, s.name if s.is_active else f"{s.name} (not bookable)") for s in services)



class AuditFilterForm(JourneyForm):
    """Filters for the audit log, sent in the query string (they hold no health data)."""

    staff = SelectField("Staff member", choices=[], validate_choice=False)
    action = SelectField("What they did", choices=options([("", "Anything"), *AUDIT_ACTIONS.items()]), validate_choice=False)

    patient = StringField("Patient number")
    since = StringField("From (date)")
    until = StringField("To (date, included)")

    def validate_staff(self, field):
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose a staff member from the list")

    def validate_action(self, field):
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose what they did from the list")

    def validate_patient(self, field):
        text = (field.data or "").strip()
        number = whole_number(text) if len(text) <= 10 else None
        self.patient_id = number if number and number <= MAX_ID else None
        if text and self.patient_id is None:
            raise ValidationError("Enter a patient number as shown on the patient's page, like 42")

    def validate_since(self, field):
        self.first_day = parse_date(field.data, "first day") if (field.data or "").strip() else None

    def validate_until(self, field):
        self.last_day = parse_date(field.data, "last day") if (field.data or "").strip() else None
        if self.last_day and getattr(self, "first_day", None) and self.last_day < self.first_day:
            raise ValidationError("The last day must be the same as or after the first day")

    def chosen(self, zone: ZoneInfo) -> AuditFilter:
        return AuditFilter(
            staff_id=int(self.staff.data) if self.staff.data else None,
            action=self.action.data or None,
            patient_id=self.patient_id,
            since=wall_clock_instant(self.first_day, time(0), zone) if self.first_day else None,
            until=wall_clock_instant(self.last_day + timedelta(days=1), time(0), zone) if self.last_day else None,
        )


def consent_text_form(languages: list[str]) -> type[AdminForm]:
    """The consent text's editor: one Markdown box per patient language (text_en, text_es...)."""
    fields = {f"text_{language}": TextAreaField(f"Consent text in {Locale(language).get_display_name('en')}")
              for language in languages}
    return type("ConsentTextForm", (AdminForm,), fields)
