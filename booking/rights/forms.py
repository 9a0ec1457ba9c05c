"""The erasure's confirmation: the reason is required and kept for good."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import ValidationError

from booking.operations.patient_data import REASON_LENGTH
from booking.forms import JourneyForm


class EraseForm(JourneyForm):
    reason = TextAreaField("Why is this patient being erased?")

    def validate_reason(self, field):
        field.data = " ".join((field.data or "").split())
        if not field.data:
            raise ValidationError("Enter why this patient is being erased, like: the patient asked by email on 3 March")
        if len(field.data) > REASON_LENGTH:
            raise ValidationError(f"The reason must be {REASON_LENGTH} characters or fewer")
