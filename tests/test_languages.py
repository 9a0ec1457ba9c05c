"""Patient pages in the patient's language; staff pages in English; every word translated.

The catalogs are checked against the words the code and templates hold now (as `make
translations` would extract them), so a new English sentence without its Spanish fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from booking.extensions import db
from booking.i18n import TRANSLATIONS, format_locale
from booking.models import Clinic
from booking.transaction import write_transaction

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["es"]


def source_messages() -> set[str]:
    """Every msgid in the code and templates, as `pybabel extract -F babel.cfg` finds them."""
    found: set[str] = set()
    for folder in ("booking", "templates"):
        method_map = [("**.py", "python"), ("**.html", "jinja2"), ("**.txt", "jinja2")]
        keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
                    "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
        for _filename, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map, keywords=keywords):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_in_the_code_has_a_translation(language):
    # A plural message is found by its singular and by its plural msgid (extraction lists both).
    translated = {msgid: message for message in catalog(language) if message.id
                  for msgid in ((message.id,) if isinstance(message.id, str) else message.id)}
    wanted = source_messages()
    assert wanted, "no words marked for translation were found"
    missing = sorted(m for m in wanted if m not in translated or not translated[m].string
                     or (isinstance(translated[m].string, tuple) and not all(translated[m].string)))
    assert not missing, f"{len(missing)} without a {language} translation (run `make translations`): {missing[:10]}"
    fuzzy = sorted(m for m in wanted if m in translated and translated[m].fuzzy)
    assert not fuzzy, f"guessed translations still to check: {fuzzy[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_built_from_the_current_po_file(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    assert (folder / "messages.mo").stat().st_mtime >= (folder / "messages.po").stat().st_mtime, \
        "messages.mo is older than messages.po: run `make install`"


def test_a_language_keeps_the_clinics_country():
    assert format_locale("es", "en_US") == "es_US"
    assert format_locale("en", "en_GB") == "en_GB"
    assert format_locale("es", "en_GB") == "es"  # no Spanish-in-Britain in the data: Spanish plainly
    assert format_locale("en", "en_US") == "en_US"


def offer_spanish(app):
    with app.app_context():
        with write_transaction():
            db.session.get(Clinic, 1).languages = ["en", "es"]


def test_a_patient_chooses_spanish_and_the_site_keeps_it(clinic, client):
    offer_spanish(clinic)
    home = client.get("/")
    assert 'lang="en"' in home.text and 'href="/?language=es"' in home.text and "Español" in home.text

    chosen = client.get("/?language=es")
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/"
    spanish = client.get("/")
    assert '<html lang="es">' in spanish.text
    assert 'href="/?language=en"' in spanish.text and "English" in spanish.text


def test_a_language_the_clinic_does_not_offer_changes_nothing(clinic, client):
    assert client.get("/?language=fr").status_code == 303
    page = client.get("/").text
    assert '<html lang="en">' in page
    assert "?language=" not in page, "one language offered: no switcher"


def test_staff_pages_stay_in_english_whatever_the_patient_chose(clinic, client):
    offer_spanish(clinic)
    client.get("/?language=es")
    assert '<html lang="en">' in client.get("/staff/sign-in").text
