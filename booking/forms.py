"""Form bases, fields and forms that more than one part of the site uses; every message says
what to do next."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from booking.formatting import date_field_order, typed_date
from booking.safety import EMERGENCY, GROUPS, URGENT
from booking.scheduling.course import patterns_offered
from booking.validation import birth_date_from_parts, clean_email, clean_name, clean_phone

NONE_OF_THESE = "none"
# Lazy: read in the page's language when shown (patients may read Spanish; staff read English).
EXPIRED_FORM = _l("This page was open too long or was sent twice. Check your answers and send them again.")


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


# Plural, as a course keeps them ("on Mondays"); date.weekday() order.
WEEKDAYS_IN_A_COURSE = (_l("Mondays"), _l("Tuesdays"), _l("Wednesdays"), _l("Thursdays"), _l("Fridays"),
                        _l("Saturdays"), _l("Sundays"))


def how_often_choices(first_weekday: int, worked: set[int]):
    """The patient's choices of how often, named by the weekdays they keep ("Twice a week: Mondays and
    Thursdays"), from the first visit's weekday and the days the practitioner works."""
    day = WEEKDAYS_IN_A_COURSE[first_weekday]

    def label(pattern):
        if pattern.weekdays:
            first, second = (WEEKDAYS_IN_A_COURSE[weekday] for weekday in pattern.weekdays)
            return _l("Twice a week: %(first)s and %(second)s", first=first, second=second)
        if pattern.every_days == 7:
            return _l("Once a week: %(day)s", day=day)
        return _l("Every two weeks: %(day)s", day=day)

    return options((pattern.value, label(pattern)) for pattern in patterns_offered(first_weekday, worked))


class JourneyForm(FlaskForm):
    """A form whose CSRF failure reads as plain advice, with the typed answers kept."""

    class Meta:
        csrf_error_message = EXPIRED_FORM

    def validate(self, extra_validators=None) -> bool:
        """Every form also refuses a NUL character, which no database column can hold (PostgreSQL
        rejects it): a message at the field, rather than a failure when the answer is saved."""
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, _("%(label)s has a character that cannot be stored: type it again",
                                                 label=field.label.text)]
                valid = False
        return valid

    def show_problems(self, problems: dict[str, str]) -> None:
        """An operation's problems (field name -> message), each at its field."""
        for name, message in problems.items():
            self[name].errors = [*self[name].errors, message]

    def in_page_order(self):
        """The fields as the page shows them; WTForms keeps them in the order they were declared."""
        return iter(self)

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) pairs for the error summary, in the order fields appear."""
        found = []
        for field in self.in_page_order():
            if field.name == "csrf_token":
                found += [("main", EXPIRED_FORM)] if field.errors else []
                continue
            # A group of radios or checkboxes is reached through its first option.
            target = f"{field.id}-0" if isinstance(field, (RadioField, SelectMultipleField)) else self._first_box(field)
            found += [(target, message) for message in field.errors]
        return found

    def _first_box(self, field) -> str:
        """A date asked in three boxes (its errors on the day field, X_day beside X_month and
        X_year) is reached through the box that comes first on the page: the month in the US. The
        link went to the day, the second box, so typing there skipped the month (a hands-on trial)."""
        prefix, _, part = field.name.rpartition("_")
        if part != "day" or not all(f"{prefix}_{other}" in self for other in ("month", "year")):
            return field.id
        return self[f"{prefix}_{page_date_order()[0]}"].id


def page_date_order() -> tuple[str, ...]:
    """The order the page's locale writes a date's parts in: its three date boxes come in it."""
    return date_field_order(str(get_locale() or "en_US"))


class VisitChangeForm(JourneyForm):
    """A form that moves or cancels a visit. It carries the visit's version (its SEQUENCE) as
    the page showed it, so a change sent from a page opened before someone else changed the
    visit is refused ("changed a moment ago") rather than applied to a visit nobody looked at."""

    seen = HiddenField()

    def seen_version(self, current: int) -> int:
        """The version the page showed; the one read now if the page sent none (or nonsense)."""
        text = (self.seen.data or "").strip()
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else current


class Choice(RadioField):
    """Radios that accept only one of their own choices; a tampered value gets the same
    plain message as no answer at all."""

    def __init__(self, label, *, message: str, optional: bool = False, **kwargs):
        super().__init__(label, **kwargs)
        self.message = message
        self.optional = optional

    def pre_validate(self, form):
        if self.optional and not self.data:
            return
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(str(self.message))


class CheckboxChoices(SelectMultipleField):
    """Checkboxes that accept only their own choices."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        known = {choice.value for choice in self.choices}
        if any(value not in known for value in self.data or []):
            raise ValidationError(_("Select only from the list below"))


SAFETY_LABELS = EMERGENCY | URGENT
# In the order of the groups on screen, so an error links to the first box shown.
SAFETY_CHOICES = options([*((code, SAFETY_LABELS[code]) for _, codes in GROUPS for code in codes),
                          (NONE_OF_THESE, _l("None of these"))])


class SafetyForm(JourneyForm):
    symptoms = CheckboxChoices(_l("Do any of these apply to you now?"), choices=SAFETY_CHOICES)
    symptom_groups = GROUPS  # headings that break the one question's long list into parts
    # Who the messages speak to: the patient here, the receptionist on the phone in the desk's form.
    nothing_selected = _l("Select any that apply to you now, or select 'None of these'")
    none_and_others = _l("Select 'None of these' only if nothing in the list applies to you")

    def validate_symptoms(self, field):
        chosen = field.data or []
        if not chosen:
            raise ValidationError(str(self.nothing_selected))
        if NONE_OF_THESE in chosen and len(chosen) > 1:
            raise ValidationError(str(self.none_and_others))

    @property
    def codes(self) -> list[str]:
        return [code for code in (self.symptoms.data or []) if code != NONE_OF_THESE]


BIRTH_DATE_EXAMPLE = date(1980, 3, 27)  # the day shown as an example beside the boxes


class DetailsForm(JourneyForm):
    name = StringField(_l("Full name"))
    email = StringField(_l("Email address"))
    phone = StringField(_l("Phone number"))
    birth_day = StringField(_l("Day"))
    birth_month = StringField(_l("Month"))
    birth_year = StringField(_l("Year"))

    def __init__(self, *args, today: date, locale: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.born_on: date | None = None
        # The date of birth's boxes come in the order the locale writes dates, and the example
        # beside them and in messages follows it: "3/27/1980" is what an American expects.
        self.field_order = date_field_order(locale)
        self.birth_example = typed_date(BIRTH_DATE_EXAMPLE, locale)

    def validate_name(self, field):
        field.data = _cleaned(clean_name, field.data)

    def validate_email(self, field):
        field.data = _cleaned(clean_email, field.data)

    def validate_phone(self, field):
        field.data = _cleaned(clean_phone, field.data)

    def validate_birth_day(self, field):
        try:
            self.born_on = birth_date_from_parts(
                self.birth_day.data, self.birth_month.data, self.birth_year.data, self.today,
                example=self.birth_example,
            )
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def answers(self) -> dict:
        """What is stored on the draft (personal details, no health data)."""
        return {
            "name": self.name.data,
            "email": self.email.data,
            "phone": self.phone.data,
            "birth_date": self.born_on.isoformat(),
        }


class ConfirmForm(JourneyForm):
    """The "Confirm booking" button: only the CSRF token."""


def _cleaned(clean, value):
    try:
        return clean(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


DATE_EXAMPLE = date(2027, 3, 15)
TYPED_DAY = re.compile(r"(\d{1,4})[/.-](\d{1,4})[/.-](\d{1,4})")


def read_day(text: str | None) -> date | None:
    """A date as a date box sends it (YYYY-MM-DD), or as a person types it where the browser
    shows a plain text box instead, in the page's order ("3/15/2027" in the US, "2027-3-15" where
    the year comes first); None for anything else, or a date that does not exist."""
    text = (text or "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = _typed_parts(text)
    if parts is None:
        return None
    try:
        return date(parts["year"], parts["month"], parts["day"])
    except ValueError:
        return None


def _typed_parts(text: str) -> dict[str, int] | None:
    """The year, month and day of a date typed in the page's order, shaped as one (a four-digit
    year, one or two digits for the others), whether or not that day exists."""
    typed = TYPED_DAY.fullmatch(text)
    if typed is None:
        return None
    parts = dict(zip(page_date_order(), typed.groups()))
    if len(parts["year"]) != 4 or len(parts["month"]) > 2 or len(parts["day"]) > 2:
        return None
    return {name: int(value) for name, value in parts.items()}


def day_example() -> str:
    """A date written as read_day takes it on this page: "3/15/2027" in the US (the date box
    shows it so; an ISO example read as a different order from the one on the screen)."""
    return typed_date(DATE_EXAMPLE, str(get_locale() or "en_US"))


def parse_date(text: str | None, what: str) -> date:
    """A date (read_day) in a year any diary could hold; staff words naming `what`."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(f"Enter the {what}")
    parsed = read_day(text)
    if parsed is None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or _typed_parts(text) is not None:  # shaped as a date
            raise ValidationError(f"The {what} must be a real date, like {day_example()}: {text} does not exist")
        raise ValidationError(f"Enter the {what} as a date, like {day_example()}")
    if not 1900 <= parsed.year <= 9000:  # also keeps date sums away from year 9999
        raise ValidationError(f"Enter a {what} in the next few years")
    return parsed
