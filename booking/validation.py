"""Checks on what patients type, shared by the booking pages and the JSON API.

Each check returns the cleaned value or raises ValueError with a sentence that tells
the person what to do.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from email_validator import EmailNotValidError, validate_email

PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()./-]+$")
NAME_LIMIT = 120
EMAIL_LIMIT = 254
PHONE_LIMIT = 40


def whole_number(text: str | None) -> int | None:
    """The whole number typed, in ASCII digits ("12", " 6 "), or None for anything else. str.isdigit
    would accept "²" and other digits int() refuses, turning a typo into a 500."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def clean_name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise ValueError("Enter your full name")
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise ValueError("Enter your full name on one line, without tabs")
    if len(name) > NAME_LIMIT:
        raise ValueError(f"Full name must be {NAME_LIMIT} characters or fewer")
    return name


def clean_email(value: str | None) -> str:
    """A normalised, lower-cased address (so one person is one patient)."""
    text = (value or "").strip()
    if not text:
        raise ValueError("Enter your email address")
    if len(text) > EMAIL_LIMIT:
        raise ValueError(f"Email address must be {EMAIL_LIMIT} characters or fewer")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError("Enter an email address in the correct format, like name@example.com") from None


def clean_phone(value: str | None) -> str:
    phone = (value or "").strip()
    if not phone:
        raise ValueError("Enter a phone number")
    digits = sum(ch.isdigit() for ch in phone)
    if len(phone) > PHONE_LIMIT or not PHONE_CHARACTERS.match(phone) or not 7 <= digits <= 15:
        raise ValueError("Enter a phone number of 7 to 15 digits, like 213 555 0142 or +1 213 555 0142")
    return phone


def check_birth_date(born_on: date, today: date) -> date:
    if born_on > today:
        raise ValueError("Date of birth must be in the past")
    if today.year - born_on.year > 120:
        raise ValueError("Date of birth must be less than 120 years ago")
    return born_on


def birth_date_from_parts(day: str | None, month: str | None, year: str | None, today: date) -> date:
    """A date of birth typed as three boxes (day, month, year), as GOV.UK date inputs ask for it."""
    parts = {"day": (day or "").strip(), "month": (month or "").strip(), "year": (year or "").strip()}
    if not any(parts.values()):
        raise ValueError("Enter your date of birth")
    missing = [name for name, text in parts.items() if not text]
    if missing:
        raise ValueError(f"Date of birth must include a {' and a '.join(missing)}")
    if (
        any(whole_number(text) is None for text in parts.values())
        or len(parts["year"]) != 4
        or len(parts["day"]) > 2
        or len(parts["month"]) > 2
    ):
        raise ValueError("Date of birth must be a real date, like 27 3 1980")
    try:
        born_on = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        raise ValueError("Date of birth must be a real date, like 27 3 1980") from None
    return check_birth_date(born_on, today)
