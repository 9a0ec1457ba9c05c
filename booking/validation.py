"""Checks on what patients type, shared by the booking pages and the JSON API.

Each check returns the cleaned value or raises ValueError with a sentence that tells
the person what to do. The sentences are translated when raised (gettext at call time): a
patient's page reads them in the patient's language, while the JSON API and staff pages,
which always speak English, get English.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from booking import limits

PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()./-]+$")
NAME_LIMIT = 120
EMAIL_LIMIT = 254
PHONE_LIMIT = 40


def whole_number(text: str | None) -> int | None:
    """The whole number typed, in ASCII digits ("12", " 6 "), or None for anything else. str.isdigit
    would accept "²" and other digits int() refuses, turning a typo into a 500."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


# The Arabic script's letters, between which a zero-width non-joiner keeps two letters from joining
# (Persian writes some names with it, e.g. a surname ending in -zadeh).
ARABIC_LETTERS = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5\u06ee-\u06ff\u0750-\u077f\u08a0-\u08ff"
                            "\ufb50-\ufdff\ufe70-\ufefc]")
ZERO_WIDTH_NON_JOINER, ZERO_WIDTH_JOINER = "\u200c", "\u200d"


def hidden_character(text: str) -> str | None:
    """The first character of `text` that is a format character (Unicode category Cf) shown as
    nothing: a right-to-left override or isolate, a zero-width space, a soft hyphen. In a name it
    can disguise it ("\u202enhoJ" shows as "John" reversed) on staff pages and in emails. The
    joiners keep the places the scripts that need them use them (IDNA's rule, RFC 5892
    CONTEXTJ): after a virama (Devanagari, Bengali...), and a non-joiner between two Arabic-script
    letters. None when there is no such character."""
    for position, character in enumerate(text):
        if unicodedata.category(character) != "Cf":
            continue
        before = text[position - 1] if position else ""
        after = text[position + 1:position + 2]
        if character in (ZERO_WIDTH_NON_JOINER, ZERO_WIDTH_JOINER) and before and unicodedata.combining(before) == 9:
            continue  # after a virama: how the script writes a half form or a visible virama
        if character == ZERO_WIDTH_NON_JOINER and ARABIC_LETTERS.match(before) and ARABIC_LETTERS.match(after):
            continue
        return character
    return None


def clean_name(value: str | None) -> str:
    """A person's full name in any script, on one line, with no hidden characters."""
    name = (value or "").strip()
    if not name:
        raise ValueError(_("Enter your full name"))
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise ValueError(_("Enter your full name on one line, without tabs"))
    if hidden_character(name) is not None:
        raise ValueError(_("Full name must not include hidden characters, such as a right-to-left mark or a "
                           "zero-width space: type the name rather than pasting it"))
    if len(name) > NAME_LIMIT:
        raise ValueError(_("Full name must be %(limit)d characters or fewer", limit=NAME_LIMIT))
    return name


def clean_email(value: str | None) -> str:
    """A normalised, lower-cased address (so one person is one patient)."""
    text = (value or "").strip()
    if not text:
        raise ValueError(_("Enter your email address"))
    if len(text) > EMAIL_LIMIT:
        raise ValueError(_("Email address must be %(limit)d characters or fewer", limit=EMAIL_LIMIT))
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError(_("Enter an email address in the correct format, like name@example.com")) from None


def clean_phone(value: str | None) -> str:
    phone = (value or "").strip()
    if not phone:
        raise ValueError(_("Enter a phone number"))
    digits = sum(ch.isdigit() for ch in phone)
    if len(phone) > PHONE_LIMIT or not PHONE_CHARACTERS.match(phone) or not 7 <= digits <= 15:
        raise ValueError(_("Enter a phone number of 7 to 15 digits, like 213 555 0142 or +1 213 555 0142"))
    return phone


# The clinic's own numbers, which its pages and emails tell patients to call (a tel: link): an admin
# could save "abc" as the phone and "call-me" as the emergency number, and the home page then said
# "call call-me now" (a hands-on trial). Staff words: the settings page and the clinic file.
CLINIC_PHONE_FORM = "7 to 15 digits, like +1 213 555 0100 (spaces, dashes, dots and brackets are fine)"
EMERGENCY_NUMBER_FORM = "2 to 6 digits and nothing else, like 911, 112 or 999"


def is_clinic_phone(text: str) -> bool:
    return bool(PHONE_CHARACTERS.match(text)) and 7 <= sum(ch.isdigit() for ch in text) <= 15


def is_emergency_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and 2 <= len(text) <= 6


# key -> (what a message calls it, its check, its form in words)
CLINIC_NUMBERS_TO_CALL = {
    "phone": ("phone number", is_clinic_phone, CLINIC_PHONE_FORM),
    "emergency_number": ("emergency number", is_emergency_number, EMERGENCY_NUMBER_FORM),
}


# The emergency numbers that work in each country whose urgent advice the app words for itself
# (safety.same_day_doctor: US, GB). An admin set the country to GB while the emergency number stayed
# 911 and the address said US, and a Los Angeles patient was sent to "your GP, or NHS 111" (a
# hands-on trial). Other countries get "a doctor" and any well-formed number.
EMERGENCY_NUMBERS = {"US": ("911",), "GB": ("999", "112")}


def region_contradictions(region: str | None, emergency_number: str | None, address_country: str | None,
                          locale: str | None = None, timezone: str | None = None) -> dict[str, str]:
    """What in the clinic's details contradicts its country (region), one sentence per key
    ("emergency_number", "address_country", "locale", "timezone"), in staff words: the settings
    page and the clinic file both say these. Values already found wrong on their own should be
    passed as None. A US clinic in en_GB wrote its dates day first; in Europe/London, its hours
    were London's."""
    region = (region or "").upper()
    if not region:
        return {}
    problems = {}
    territory = Locale.parse(locale).territory if locale else None
    if territory and territory != region:
        language = Locale.parse(locale).language
        problems["locale"] = (
            f"The locale {locale} writes dates, times and numbers as in {territory}, but the clinic's country is "
            f"{region}: use {limits.locale_examples(region, language)[0]} (or correct the clinic's country)")
    countries = limits.zone_countries(timezone)
    if countries and region not in countries:
        own = limits.zones_of(region)
        problems["timezone"] = (
            f"The time zone {timezone} is not one of {region}'s, the clinic's country: choose one of its zones"
            f"{', such as ' + own[0] if own else ''} (or correct the clinic's country)")
    numbers = EMERGENCY_NUMBERS.get(region)
    if numbers and emergency_number and emergency_number not in numbers:
        problems["emergency_number"] = (
            f"{emergency_number} is not an emergency number in {region}, the clinic's country: "
            f"use {' or '.join(numbers)} (or correct the clinic's country)")
    if address_country and address_country.upper() != region:
        problems["address_country"] = (
            f"The address is in {address_country.upper()} but the clinic's country is {region}: they must match "
            "(leave the address's country empty to use the clinic's, or correct the clinic's country)")
    return problems


def check_birth_date(born_on: date, today: date) -> date:
    if born_on >= today:  # (today is not the past: a date typed as today is a slip)
        raise ValueError(_("Date of birth must be in the past"))
    # The day, not only the year: 1 January 1906 is more than 120 years before 5 December 2026,
    # though 2026 - 1906 is 120.
    try:
        oldest = today.replace(year=today.year - 120)
    except ValueError:  # 29 February, and 120 years before was no leap year (1900)
        oldest = today.replace(year=today.year - 120, day=28)
    if born_on <= oldest:
        raise ValueError(_("Date of birth must be less than 120 years ago"))
    return born_on


def _missing_parts_message(missing: tuple[str, ...]) -> str:
    """Which boxes of a date of birth are empty, as one whole sentence (translators need those)."""
    return {
        ("day",): _("Date of birth must include a day"),
        ("month",): _("Date of birth must include a month"),
        ("year",): _("Date of birth must include a year"),
        ("day", "month"): _("Date of birth must include a day and a month"),
        ("day", "year"): _("Date of birth must include a day and a year"),
        ("month", "year"): _("Date of birth must include a month and a year"),
    }[missing]


def birth_date_from_parts(day: str | None, month: str | None, year: str | None, today: date,
                          example: str = "27 3 1980") -> date:
    """A date of birth typed as three boxes (day, month, year), as GOV.UK date inputs ask for it;
    `example` is 27 March 1980 written in the order the boxes are shown."""
    parts = {"day": (day or "").strip(), "month": (month or "").strip(), "year": (year or "").strip()}
    if not any(parts.values()):
        raise ValueError(_("Enter your date of birth"))
    missing = tuple(name for name, text in parts.items() if not text)
    if missing:
        raise ValueError(_missing_parts_message(missing))
    if (
        any(whole_number(text) is None for text in parts.values())
        or len(parts["year"]) != 4
        or len(parts["day"]) > 2
        or len(parts["month"]) > 2
    ):
        raise ValueError(_("Date of birth must be a real date, like %(example)s", example=example))
    try:
        born_on = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        raise ValueError(_("Date of birth must be a real date, like %(example)s", example=example)) from None
    return check_birth_date(born_on, today)
