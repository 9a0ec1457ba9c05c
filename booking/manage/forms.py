"""Forms of manage-my-booking: cancelling and moving a visit from the patient's link."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.forms import VisitChangeForm


class CancelForm(VisitChangeForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"))

    def validate_reason(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > 500:
            raise ValidationError(_("Reason must be 500 characters or fewer"))


class RescheduleForm(VisitChangeForm):
    start = StringField(_l("New time"))
