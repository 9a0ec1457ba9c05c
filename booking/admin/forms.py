"""Forms of the admin pages. They carry what was typed; operations.admin checks it."""

from __future__ import annotations

from wtforms import BooleanField, StringField, TextAreaField

from booking.public.forms import CheckboxChoices, JourneyForm, options


class AdminForm(JourneyForm):
    """A form whose values go to an operation whole, and whose problems come back per field."""

    def values(self) -> dict:
        return {field.name: field.data for field in self if field.name != "csrf_token"}

    def show_problems(self, problems: dict[str, str]) -> None:
        for name, message in problems.items():
            self[name].errors = [*self[name].errors, message]


class ClinicSettingsForm(AdminForm):
    name = StringField("Clinic name")
    timezone = StringField("Time zone")
    confirm_zone_change = BooleanField("Yes, change the time zone although visits are booked ahead")
    phone = StringField("Phone number for patients")
    emergency_number = StringField("Emergency number")
    slot_step_minutes = StringField("Slot step (minutes)")
    min_notice_hours = StringField("Minimum notice for online bookings (hours)")
    max_advance_days = StringField("How far ahead patients may book (days)")
    cancellation_notice_hours = StringField("Cancellation notice (hours)")
    start_back_enabled = BooleanField("Ask the STarT Back screening questions")


class ServiceEditForm(AdminForm):
    slug = StringField("Short name (for web addresses and the clinic file)")
    name = StringField("Name")
    description = TextAreaField("Description (optional)")
    minutes = StringField("Length (minutes)")
    buffer_minutes = StringField("Buffer after it (minutes)")
    new_patients_only = BooleanField("Only for new patients")
    is_active = BooleanField("Patients can book it")

    def __init__(self, *args, adding: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not adding:
            del self.slug  # a slug names the service in links and clinic files: it never changes


class PractitionerEditForm(AdminForm):
    slug = StringField("Short name (for web addresses and the clinic file)")
    name = StringField("Name")
    bio = TextAreaField("Introduction for patients (optional)")
    services = CheckboxChoices("Services they offer")
    is_active = BooleanField("Patients can book with them")

    def __init__(self, *args, adding: bool, services, **kwargs):
        super().__init__(*args, **kwargs)
        if not adding:
            del self.slug
        self.services.choices = options(
            (s.slug, s.name if s.is_active else f"{s.name} (not bookable)") for s in services)
