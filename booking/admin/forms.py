"""Admin forms."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from wtforms import SelectField, StringField
from wtforms.validators import ValidationError

from booking.desk.forms import parse_date
from booking.operations.clinical import AUDIT_ACTIONS, AuditFilter
from booking.public.forms import JourneyForm, options
from booking.scheduling import wall_clock_instant

MAX_ID = 2**31 - 1


class AuditFilterForm(JourneyForm):
    """Filters for the audit log, sent in the query string (they hold no health data)."""

    staff = SelectField("Staff member", choices=[], validate_choice=False)
    action = SelectField("What they did", choices=options([("", "Anything"), *AUDIT_ACTIONS.items()]), validate_choice=False)

    def validate_staff(self, field):
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose a staff member from the list")

    def validate_action(self, field):
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose what they did from the list")
    patient = StringField("Patient number")
    since = StringField("From (date)")
    until = StringField("To (date, included)")

    def validate_patient(self, field):
        text = (field.data or "").strip()
        self.patient_id = int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID else None
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
