"""The identifiers an insurer's receipt (superbill) prints, checked as typed on the admin pages
or written in the clinic file: a practitioner's NPI and licence number, the clinic's tax id.

Pure: no Flask, no database. Each `clean_*` returns (value to store, problem); an empty value
stores None (not recorded), and a problem names what is wrong so it can be fixed.

NPI: 10 digits whose last is a Luhn check digit computed over the 9 before it with the prefix
80840 (the card issuer prefix for US health applications), as CMS's "Requirements for National
Provider Identifier check digit" sets out: so a mistyped digit is caught here, not by an insurer.
"""

from __future__ import annotations

import re
import unicodedata

NPI_PREFIX = "80840"
LICENSE_LENGTH = 40
_NPI = re.compile(r"[0-9]{10}")
_EIN = re.compile(r"([0-9]{2})-?([0-9]{7})")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits ends in its Luhn check digit."""
    total = 0
    for place, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if place % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _plain(text: str | None) -> str:
    return " ".join(str(text or "").split())


def clean_npi(text: str | None) -> tuple[str | None, str | None]:
    """A 10-digit NPI whose check digit is right (spaces and hyphens typed in it are dropped)."""
    typed = _plain(text)
    if not typed:
        return None, None
    digits = typed.replace(" ", "").replace("-", "")
    if not _NPI.fullmatch(digits):
        return None, "Enter the NPI as its 10 digits, like 1234567893, or leave it empty"
    if not luhn_valid(NPI_PREFIX + digits):
        return None, (f"{digits} is not an NPI: its last digit does not match the first nine (the NPI check "
                      "digit). Check it against the practitioner's NPI letter or the NPPES registry")
    return digits, None


def clean_license(text: str | None) -> tuple[str | None, str | None]:
    """A licence number as the licensing board writes it: free text up to 40 characters."""
    typed = _plain(text)
    if not typed:
        return None, None
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in typed):
        return None, "The license number has a character that cannot be stored: type it again"
    if len(typed) > LICENSE_LENGTH:
        return None, f"The license number must be {LICENSE_LENGTH} characters or fewer"
    return typed, None


def clean_tax_id(text: str | None) -> tuple[str | None, str | None]:
    """A US employer identification number, stored as 12-3456789 (typed with or without the hyphen)."""
    typed = _plain(text)
    if not typed:
        return None, None
    found = _EIN.fullmatch(typed.replace(" ", ""))
    if found is None:
        return None, "Enter the tax ID (EIN) as 9 digits in the form 12-3456789, or leave it empty"
    return f"{found.group(1)}-{found.group(2)}", None
