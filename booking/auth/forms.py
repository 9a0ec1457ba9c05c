"""Staff sign-in and account forms."""

from wtforms import PasswordField, StringField

from booking.models import StaffRole
from booking.public.forms import Choice, JourneyForm, options


class SignInForm(JourneyForm):
    email = StringField("Email address")
    password = PasswordField("Password")


class StaffForm(JourneyForm):
    name = StringField("Full name")
    email = StringField("Email address")
    role = Choice(
        "Role",
        choices=options([(r.value, r.value.capitalize()) for r in StaffRole]),
        message="Choose the role of this account",
    )
    practitioner = StringField("Practitioner (for practitioner accounts)")
    password = PasswordField("Password (12 characters or more)")
