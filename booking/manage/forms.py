"""Forms of manage-my-booking: cancelling and moving a visit from the patient's link."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.forms import VisitChangeForm


class CancelForm(VisitChangeForm):
    reason = TextAreaField("Why are you cancelling? (optional)")

    def validate_reason(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > 500:
            raise ValidationError("Reason must be 500 characters or fewer")


class RescheduleForm(VisitChangeForm):
    start = StringField("New time")
