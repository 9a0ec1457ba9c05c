"""Staff sign-in and account forms."""

from wtforms import PasswordField, StringField
from wtforms.validators import ValidationError

from booking.forms import JourneyForm
from booking.operations import second_factor


class SignInForm(JourneyForm):
    email = StringField("Email address")
    password = PasswordField("Password")


class CodeForm(JourneyForm):
    """The second step of signing in: the app's code, or a recovery code."""

    code = StringField("Code")

    def validate_code(self, field):
        if not second_factor.looks_like_a_code(field.data):
            raise ValidationError("Enter the 6-digit code your authenticator app shows, or one of your recovery codes")


class EnrolForm(JourneyForm):
    """Confirming a new authenticator app with the code it shows."""

    code = StringField("Code from the app")

    def validate_code(self, field):
        text = "".join((field.data or "").split())
        if not (len(text) == 6 and text.isascii() and text.isdigit()):
            raise ValidationError("Enter the 6-digit code the app shows, like 123456")


class PasswordForm(JourneyForm):
    """Choosing one's own password: the current one, and the new one twice. operations.staff checks
    them (every problem at once); a password is never written back into the page."""

    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
    new_password_again = PasswordField("New password again")
