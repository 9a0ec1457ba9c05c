"""Forms of manage-my-booking: cancelling and moving a visit from the patient's link."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.forms import JourneyForm, VisitChangeForm


class CancelForm(VisitChangeForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"))

    def validate_reason(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > 500:
            raise ValidationError(_("Reason must be 500 characters or fewer"))


class RescheduleForm(VisitChangeForm):
    start = StringField(_l("New time"))


class ConsentForm(JourneyForm):
    """The patient's typed name as their signature, and which text they read (checked when kept)."""

    signed_name = StringField(_l("Type your full name to sign"))
    version = HiddenField()
