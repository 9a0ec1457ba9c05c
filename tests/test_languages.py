"""Patient pages in the patient's language; staff pages in English; every word translated.

The catalogs are checked against the words the code and templates hold now (as `make
translations` would extract them), so a new English sentence without its Spanish fails here.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import render_template_string
from markupsafe import Markup

from booking.extensions import db
from booking.formatting import end_sentence, local_time, time_text, typed_date
from booking.i18n import TRANSLATIONS, catalog_languages, format_locale
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
    # A plural entry is found under its singular and its plural msgid (the source lists both).
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


TRANS_WITH_PLURAL = re.compile(r"{%-?\s*trans\b(?P<tag>[^%]*)%}(?:(?!{%-?\s*endtrans).)*?{%-?\s*pluralize\s*(?P<named>\w*)", re.S)


def test_every_plural_counts_with_its_number():
    """Jinja takes a trans tag's first variable as the number choosing the plural (unless pluralize
    names one): a name there reads right in English, which has no catalog, and fails in Spanish."""
    wrong = []
    for path in Path("templates").rglob("*"):
        if path.suffix not in (".html", ".txt"):
            continue
        for found in TRANS_WITH_PLURAL.finditer(path.read_text(encoding="utf-8")):
            first = re.search(r"(?:trimmed\s+|notrimmed\s+)?(\w+)\s*=", found["tag"])
            number = found["named"] or (first.group(1) if first else None)
            if number != "count":
                wrong.append(f"{path}: the plural is chosen by {number!r}")
    assert wrong == []


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


def test_the_catalogs_are_english_and_each_translation_folder():
    assert catalog_languages() == ["en", *LANGUAGES]


@pytest.mark.parametrize("locale, typed", [
    ("en_US", "3/27/1980"), ("es_US", "27/3/1980"), ("en_GB", "27/3/1980"), ("de_DE", "27.3.1980"),
    ("ja_JP", "1980/3/27"),
])
def test_an_example_date_is_written_as_the_locale_writes_one(locale, typed):
    assert typed_date(date(1980, 3, 27), locale) == typed


# --- one full stop at the end of a sentence --------------------------------------------------

@pytest.mark.parametrize("text, sentence", [
    ("Booked with Mei Lin, L.Ac.", "Booked with Mei Lin, L.Ac."),
    ("Booked with Ana Test", "Booked with Ana Test."),
    ("Account added for Amara Okafor, L.Ac., DAOM", "Account added for Amara Okafor, L.Ac., DAOM."),
    ("Thank you for booking with Back Care Co.  ", "Thank you for booking with Back Care Co."),
    ("Gave up after 3 attempts; the last one never reported back.", "Gave up after 3 attempts; the last one never reported back."),
    ("Did it arrive?", "Did it arrive?"),
    ("", "."),
])
def test_a_sentence_ends_in_one_full_stop(text, sentence):
    assert end_sentence(text) == sentence


def test_the_template_filter_keeps_escaping(app):
    with app.test_request_context():
        page = render_template_string("<p>with {{ name | sentence_end }} Next.</p>", name="Mei Lin, L.Ac.")
        assert page == "<p>with Mei Lin, L.Ac. Next.</p>"
        assert render_template_string("{{ name | sentence_end }}", name="<b>Jr.</b> Smith") == "&lt;b&gt;Jr.&lt;/b&gt; Smith."
    assert isinstance(end_sentence(Markup("<b>Mei Lin, L.Ac.</b>")), Markup)


def test_pages_and_emails_close_a_sentence_on_a_name_once():
    """The sentences that end on a name or free text use the filter, so none reads "L.Ac..": a
    full stop straight after such a value in a template would double it."""
    root = ROOT / "templates"
    for name in ("public/time.html", "auth/code.html", "emails/confirmation.txt", "rights/data.html",
                 "admin/_outbox_outcome.html"):
        assert "| sentence_end" in (root / name).read_text(), name
    for path in [*root.rglob("*.html"), *root.rglob("*.txt")]:
        text = path.read_text()
        for value in ("practitioner_name", "practitioner.name", "patient.name", "clinic.name", ".reason",
                      "last_error"):
            assert f"{value} }}}}." not in text and f"{value}) }}}}." not in text, (path, value)


def test_an_upgraded_clinic_outside_the_us_keeps_its_countrys_clock(clinic):
    """Before locales every time read as a 24-hour clock: the upgrade that brings them gives a
    British clinic en_GB ("15:45"), not the en_US default."""
    import flask_migrate
    import sqlalchemy as sa

    with clinic.app_context():
        with write_transaction():
            db.session.get(Clinic, 1).region = "GB"
        db.session.remove()
        flask_migrate.downgrade(revision="0020")
        flask_migrate.upgrade()
        assert db.session.execute(sa.text("SELECT locale FROM clinic")).scalar() == "en_GB"


def test_saving_the_settings_keeps_a_spanish_only_clinic_spanish_only(clinic):
    from booking.operations import admin as admin_operations

    with clinic.app_context():
        with write_transaction():
            db.session.get(Clinic, 1).languages = ["es"]
        values = admin_operations.clinic_values(db.session.get(Clinic, 1))
        admin_operations.update_clinic(values | {"languages": ["es"]}, start_back_available=False, now=datetime_now())
        db.session.remove()
        assert db.session.get(Clinic, 1).languages == ["es"]


def datetime_now():
    from booking.clock import now

    return now()


def test_an_error_page_offers_no_language_switch_it_could_not_take(clinic, client):
    offer_spanish(clinic)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "?language=" not in missing.text
# --- a patient's booking in Spanish (the journey's pages) -------------------------------------------------


def spanish_patient(app):
    from tests.test_booking_journey import PatientBrowser

    offer_spanish(app)
    patient = PatientBrowser(app)
    assert patient.get("/?language=es").status_code == 303
    return patient


def test_a_booking_in_spanish_reads_spanish_with_us_dates_and_keeps_its_language(clinic):
    from tests.test_booking_journey import DETAILS, appointments, manage_path, text

    patient = spanish_patient(clinic)
    first = text(patient.get("/book/first-visit"))
    assert '<html lang="es">' in first and "¿Ha venido antes a esta clínica?" in first
    assert "No, es mi primera cita" in first and "Saltar al contenido principal" in first
    patient.answer_first_visit("no")
    assert "¿Qué tipo de cita necesita?" in text(patient.get("/book"))
    patient.submit("/book", {"service": "consult"})
    patient.submit("/book/practitioner", {"practitioner": "ana"})
    times = text(patient.get("/book/time"))
    assert "Elija una hora" in times and '<h2 id="day-2027-03-08">lunes, 8 de marzo</h2>' in times
    assert "10:00 a.m." in times.replace("\xa0", " ")
    patient.submit("/book/time", {"start": "2027-03-09T14:00:00-08:00"})
    assert "¿Tiene ahora alguno de estos síntomas?" in text(patient.get("/book/safety"))
    patient.submit("/book/safety", {"symptoms": ["none"]})
    details = text(patient.get("/book/details"))
    assert re.findall(r'id="(birth_(?:day|month|year))"', details) == ["birth_day", "birth_month", "birth_year"]
    assert "Por ejemplo, 27/3/1980" in details
    refused = text(patient.submit("/book/details", DETAILS | {"name": ""}))
    assert "Hay un problema" in refused and "Escriba su nombre completo" in refused
    patient.submit("/book/details", DETAILS)
    check = text(patient.get("/book/check")).replace("\xa0", " ")
    assert "Revise sus respuestas antes de reservar" in check
    assert "martes, 9 de marzo de 2027, 2:00 p.m. (PST)" in check and "17 de mayo de 1980" in check
    assert patient.confirm().location.endswith("/book/confirmation")
    confirmation = text(patient.get("/book/confirmation"))
    assert "Reserva confirmada" in confirmation and "Dónde" in confirmation
    [booked] = appointments(clinic)
    assert booked.language == "es"

    # The link speaks the visit's language in a browser that never chose one (the patient's phone,
    # opening the email), and a switch there becomes the visit's language for its later emails.
    manage = manage_path(patient)
    phone = clinic.test_client()
    assert "<h1>Su cita</h1>" in phone.get(manage).text
    switched = phone.get(manage + "?language=en")
    assert switched.status_code == 303 and switched.location == manage
    assert "<h1>Your appointment</h1>" in phone.get(manage).text
    assert appointments(clinic)[0].language == "en"
    assert "<h1>Your appointment</h1>" in clinic.test_client().get(manage).text


def test_a_lost_booking_and_book_again_in_spanish(clinic):
    from tests.test_booking_journey import text

    patient = spanish_patient(clinic)
    patient.answer_first_visit("yes")
    clinic.config["CLOCK"].advance(hours=25)
    lost = patient.get("/book")
    assert "No encontramos la reserva que empezó" in text(patient.get(lost.location))


def test_a_visit_booked_without_a_language_gets_the_clinics_first(clinic, client):
    """The API and the desk say no language: a Spanish-only clinic's visits still speak Spanish."""
    from tests.test_api import slots

    with clinic.app_context():
        with write_transaction():
            db.session.get(Clinic, 1).languages = ["es"]
    [first, *_] = slots(client, service="short", practitioner="ana")["slots"]
    made = client.post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": first["start"], "safety": [],
        "patient": {"name": "Pat Example", "email": "pat@example.com", "phone": "+1 213 555 0199",
                    "birth_date": "1980-05-17"}})
    assert made.status_code == 201, made.text
    with clinic.app_context():
        from booking.models import Appointment

        assert db.session.scalar(sa.select(Appointment.language)) == "es"


def test_booking_again_after_a_spanish_visit_carries_on_in_spanish(clinic):
    """From the cancelled visit's page, opened from the email on a phone that never chose a
    language, "Reservar de nuevo" goes on in the visit's language."""
    from tests.test_booking_journey import TUESDAY_14, PatientBrowser, manage_path, text

    patient = spanish_patient(clinic)
    patient.book_until_check(start=TUESDAY_14)  # outside the 24 hours' notice: cancelled online
    patient.confirm()
    manage = manage_path(patient)
    phone = PatientBrowser(clinic)
    assert phone.submit(manage + "/cancel", {"reason": ""}).status_code == 303
    again = re.search(r'<a class="button" href="([^"]+)"[^>]*>Reservar de nuevo</a>', text(phone.get(manage)))
    assert again and again[1] == "/book/first-visit?language=es"
    assert phone.get(again[1]).status_code == 303
    assert "¿Ha venido antes a esta clínica?" in text(phone.get("/book/first-visit"))


def test_a_formatted_time_is_kept_by_its_wall_clock_not_its_instant():
    """Formatting is kept per process (booking.formatting): one instant read in two zones, as after a
    clinic changes its time zone, gives each zone's own time, never the first one asked."""
    from datetime import datetime, timezone
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    instant = datetime(2027, 3, 16, 17, 0, tzinfo=timezone.utc)
    los_angeles, new_york = (SimpleNamespace(zone=ZoneInfo(name)) for name in ("America/Los_Angeles", "America/New_York"))
    assert local_time(instant, los_angeles, "en_US", "time") == "10:00 AM"
    assert local_time(instant, new_york, "en_US", "time") == "1:00 PM"
    assert time_text(instant.astimezone(los_angeles.zone), "en_US") == "10:00 AM"
    assert time_text(instant.astimezone(new_york.zone), "en_US") == "1:00 PM"
    assert local_time(instant, new_york, "en_US", "long") == "Tuesday, March 16, 2027, 1:00 PM"
