"""Texts the clinic writes (services' names and descriptions, practitioners' introductions, the
directions) in each of its languages: from the clinic file and the admin pages to what a patient
reads on pages, in emails and calendar files; staff read the clinic's own; a missing version
falls back to it.
"""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, Clinic, OutboxMessage, Practitioner, Service, StaffRole
from booking.notify import outbox
from booking.notify.emails import Email
from booking.operations.clinic_file import (ClinicFileError, export_clinic_file, import_clinic_file,
                                            read_clinic_file)
from tests.conftest import CLINIC_TOML
from tests.test_booking_journey import DETAILS, MONDAY_10, PatientBrowser, text
from tests.test_desk import submit
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)

CONSULT_ES = "Consulta inicial: evaluación y tratamiento"
CONSULT_ES_ABOUT = "Para quien viene por primera vez: revisamos su dolor de espalda y le damos un primer tratamiento."
ANA_ES = "Acupunturista con licencia; atiende sobre todo el dolor de espalda que no se quita."
DIRECTIONS = "Enter from Maple Street; the door is step-free."
DIRECTIONS_ES = "Entre por Maple Street; la puerta no tiene escalones."

# The test clinic, offering Spanish, with versions of its texts in it; "short" and Ben have none.
TEXTS = (CLINIC_TOML
         .replace('region = "US"\n', 'region = "US"\nlanguages = ["en", "es"]\n')
         .replace('alert_email = "alerts@clinic.example.com"\n', f'''alert_email = "alerts@clinic.example.com"
[clinic.address]
street = "1200 Example Ave"
city = "Los Angeles"
region = "CA"
postcode = "90012"
directions = "{DIRECTIONS}"
[clinic.address.es]
directions = "{DIRECTIONS_ES}"
''')
         .replace('new_patients_only = true\n', f'''new_patients_only = true
description = "For anyone new to the clinic: your back pain history, an examination and a first treatment."
[services.es]
name = "{CONSULT_ES}"
description = "{CONSULT_ES_ABOUT}"
''')
         .replace('name = "Ana Test"\n', 'name = "Ana Test"\nbio = "Licensed acupuncturist for long-lasting back pain."\n')
         .replace('services = ["consult", "short"]\n', f'''services = ["consult", "short"]
[practitioners.es]
bio = "{ANA_ES}"
''', 1))


NEW_PATIENT = DETAILS | {"returning": "no"}  # the consultation is for new patients


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


# --- the clinic file -----------------------------------------------------------------------------


def test_the_file_gives_each_text_in_the_clinics_other_languages():
    plan = read_clinic_file(TEXTS, "clinic.toml")
    consult, short = plan.services
    assert consult.translations == {"es": {"name": CONSULT_ES, "description": CONSULT_ES_ABOUT}}
    assert short.translations == {}
    assert [p.translations for p in plan.practitioners] == [{"es": {"bio": ANA_ES}}, {}]
    assert plan.clinic_translations == {"es": {"directions": DIRECTIONS_ES}}
    assert plan.clinic["directions"] == DIRECTIONS  # the clinic's own stays its own


@pytest.mark.parametrize("old, new, blamed, message", [
    ("[services.es]", "[services.fr]", "[services.fr]",
     "services[0].fr: 'fr' is not one of the clinic's other languages (es): a table here holds texts in one of "
     "them; add the language to [clinic] languages first"),
    ("[services.es]", "[services.en]", "[services.en]",
     "services[0].en: 'en' is the clinic's own language (the first of its languages): write these texts in the "
     "table itself"),
    ("[practitioners.es]", "[practitioners.de]", "[practitioners.de]", "practitioners[0].de: 'de' is not one of"),
    ("[clinic.address.es]", "[clinic.address.fr]", "[clinic.address.fr]", "clinic.address.fr: 'fr' is not one of"),
    (f'name = "{CONSULT_ES}"', f'name = "{CONSULT_ES}"\nminutes = 30', "minutes = 30",
     "services[0].es.minutes: unknown key (expected one of: description, name)"),
    (f'bio = "{ANA_ES}"', 'bio = 3', "bio = 3", "practitioners[0].es.bio: must be a non-empty text in quotes"),
    ('languages = ["en", "es"]', 'languages = ["en"]', "[services.es]",
     "services[0].es: 'es' is not one of the clinic's other languages (none: it offers only en)"),
])
def test_a_version_in_a_language_the_clinic_does_not_offer_is_refused_with_its_line(old, new, blamed, message):
    bad = TEXTS.replace(old, new, 1)
    with pytest.raises(ClinicFileError) as refused:
        read_clinic_file(bad, "clinic.toml")
    expected = f"clinic.toml:{line_of(bad, blamed)}: {message}"
    assert [problem for problem in refused.value.problems if problem.startswith(expected)], refused.value.problems


def test_a_refused_version_changes_nothing(clinic):
    with clinic.app_context():
        import_clinic_file(TEXTS)
        before = export_clinic_file()
        bad = TEXTS.replace("[services.es]", "[services.fr]").replace('name = "Short treatment"', 'name = "Short"')
        with pytest.raises(ClinicFileError):
            import_clinic_file(bad)
        db.session.remove()
        assert export_clinic_file() == before
        assert db.session.scalar(sa.select(Service.name).where(Service.slug == "short")) == "Short treatment"


def test_a_file_without_a_clinic_table_writes_in_the_languages_the_clinic_has(clinic):
    only_the_service = '[[services]]\nslug = "short"\nname = "Short treatment"\nminutes = 30\n[services.es]\nname = "Corta"\n'
    with clinic.app_context():
        with pytest.raises(ClinicFileError, match="none: it offers only en"):
            import_clinic_file(only_the_service)  # the test clinic speaks English only
        import_clinic_file(TEXTS)
        import_clinic_file(only_the_service)
        assert db.session.scalar(sa.select(Service).where(Service.slug == "short")).text("name", "es") == "Corta"


def test_versions_left_out_stay_an_empty_one_removes_it_and_export_round_trips(clinic):
    with clinic.app_context():
        import_clinic_file(TEXTS)
        exported = export_clinic_file()
        assert f'[services.es]\nname = "{CONSULT_ES}"' in exported
        assert f'[practitioners.es]\nbio = "{ANA_ES}"' in exported
        assert f'[clinic.address.es]\ndirections = "{DIRECTIONS_ES}"' in exported
        import_clinic_file(exported)
        assert export_clinic_file() == exported

        import_clinic_file(CLINIC_TOML)  # an older file, without any version: they all stay
        consult = db.session.scalar(sa.select(Service).where(Service.slug == "consult"))
        assert consult.text("name", "es") == CONSULT_ES and consult.text("name", "en") == "Consultation"
        assert db.session.get(Clinic, 1).text("directions", "es") == DIRECTIONS_ES

        import_clinic_file(TEXTS.replace(f'description = "{CONSULT_ES_ABOUT}"', 'description = ""'))
        assert consult.translations == {"es": {"name": CONSULT_ES}}
        assert consult.text("description", "es") == consult.description  # the clinic's own in its place


def test_versions_in_a_language_no_longer_offered_are_kept_but_not_exported(clinic):
    from booking.transaction import write_transaction

    with clinic.app_context():
        import_clinic_file(TEXTS)
        with write_transaction():
            db.session.get(Clinic, 1).languages = ["en"]  # as the admin's settings page may do
        exported = export_clinic_file()
        assert "[services.es]" not in exported and CONSULT_ES not in exported
        import_clinic_file(exported)  # so the file imports again as it is
        assert db.session.scalar(sa.select(Service).where(Service.slug == "consult")).text("name", "es") == CONSULT_ES


def test_the_demo_clinic_has_spanish_for_every_text_patients_read(app):
    from booking.operations.demo import demo_clinic_text

    with app.app_context():
        import_clinic_file(demo_clinic_text(), "demo_clinic.toml")
        rows = [db.session.get(Clinic, 1), *db.session.scalars(sa.select(Service)),
                *db.session.scalars(sa.select(Practitioner))]
        for row in rows:
            for field in row.TRANSLATED:
                assert row.text(field, "es") != getattr(row, field), (row, field)


# --- what patients and staff read ------------------------------------------------------------------


def written(app, kind: str) -> Email:
    """The email the sender would write now for the one queued message of this kind (in an app context)."""
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == kind))
    return outbox.email_of(message, app.config["CLOCK"]())


@pytest.fixture
def clinic_with_texts(clinic):
    with clinic.app_context():
        import_clinic_file(TEXTS)
    return clinic


def test_a_spanish_patient_reads_the_clinics_texts_in_spanish_everywhere(clinic_with_texts):
    app = clinic_with_texts
    patient = PatientBrowser(app)
    assert patient.get("/?language=es").status_code == 303
    home = text(patient.get("/"))
    assert CONSULT_ES in home and CONSULT_ES_ABOUT in home and ANA_ES in home and DIRECTIONS_ES in home
    assert "Short treatment" in home  # no Spanish version: the clinic's own name...
    assert '<h3 lang="en">Short treatment</h3>' in home  # ...marked as English for screen readers
    assert f"<h3>{CONSULT_ES}</h3>" in home and f"<p>{ANA_ES}</p>" in home
    assert "Consultation" not in home and DIRECTIONS not in home

    patient.answer_first_visit("no")
    services = text(patient.get("/book"))
    assert CONSULT_ES in services and CONSULT_ES_ABOUT in services
    patient.submit("/book", {"service": "consult"})
    practitioners = text(patient.get("/book/practitioner"))
    assert ANA_ES in practitioners and CONSULT_ES in practitioners
    patient.submit("/book/practitioner", {"practitioner": "ana"})
    assert CONSULT_ES in text(patient.get("/book/time"))
    patient.submit("/book/time", {"start": MONDAY_10})
    patient.submit("/book/safety", {"symptoms": ["none"]})
    assert patient.submit("/book/details", NEW_PATIENT).location.endswith("/book/check")
    assert CONSULT_ES in text(patient.get("/book/check"))
    patient.confirm()
    confirmation = text(patient.get("/book/confirmation"))
    assert CONSULT_ES in confirmation and DIRECTIONS_ES in confirmation and "Consultation" not in confirmation

    with app.app_context():
        [appointment] = db.session.scalars(sa.select(Appointment)).all()
        email = written(app, "confirmation")
        assert appointment.language == "es"
        assert CONSULT_ES in email.text and DIRECTIONS_ES in email.text
        assert "Consultation" not in email.text and DIRECTIONS not in email.text
        assert f"SUMMARY:{CONSULT_ES} con Ana Test" in email.calendar.decode().replace("\r\n ", "")


def test_an_english_patient_and_the_desk_read_the_clinics_own_texts(clinic_with_texts, login_as):  # noqa: F811
    app = clinic_with_texts
    spanish = PatientBrowser(app)
    spanish.get("/?language=es")
    spanish.book_until_check(service="consult", details=NEW_PATIENT)
    spanish.confirm()

    english = PatientBrowser(app)
    home = text(english.get("/"))
    assert "Consultation" in home and DIRECTIONS in home and CONSULT_ES not in home and ANA_ES not in home
    english.answer_first_visit("no")
    assert "Consultation" in text(english.get("/book")) and CONSULT_ES not in text(english.get("/book"))

    desk = login_as(StaffRole.RECEPTIONIST)
    with app.app_context():
        appointment_id = db.session.scalar(sa.select(Appointment.id))
    for page in ("/desk?day=2027-03-08", f"/desk/appointments/{appointment_id}"):
        shown = text(desk.get(page))
        assert "Consultation" in shown and CONSULT_ES not in shown, page


def test_the_desk_sees_the_visits_language_and_can_tap_to_call_the_patient(clinic_with_texts, login_as):  # noqa: F811
    app = clinic_with_texts
    spanish = PatientBrowser(app)
    spanish.get("/?language=es")
    spanish.book_until_check(service="consult", details=NEW_PATIENT)
    spanish.confirm()
    with app.app_context():
        appointment_id, patient_id = db.session.execute(sa.select(Appointment.id, Appointment.patient_id)).one()
    desk = login_as(StaffRole.RECEPTIONIST)
    page = text(desk.get(f"/desk/appointments/{appointment_id}"))
    assert "<dt>Language</dt><dd>Spanish: the patient's pages and emails are in it</dd>" in page
    assert '<a href="tel:+12135550142" class="phone-link">+1 213 555 0142</a>' in page
    assert '<a href="tel:+12135550142" class="phone-link">' in text(desk.get(f"/desk/patients/{patient_id}"))


def test_a_missing_version_falls_back_to_the_clinics_own_text(clinic_with_texts):
    app = clinic_with_texts
    patient = PatientBrowser(app)
    patient.get("/?language=es")
    patient.book_until_check(service="short", practitioner="ben")
    patient.confirm()
    confirmation = text(patient.get("/book/confirmation"))
    assert "Short treatment" in confirmation and "Reserva confirmada" in confirmation
    with app.app_context():
        assert "Short treatment" in written(app, "confirmation").text


def test_the_api_gives_the_clinics_texts_in_the_language_asked_for(clinic_with_texts):
    api = clinic_with_texts.test_client()
    english = api.get("/api/v1/services").get_json()
    assert english["language"] == "en" and english["services"][0]["name"] == "Consultation"
    spanish = api.get("/api/v1/services?language=es").get_json()
    assert spanish["language"] == "es"
    assert [(s["slug"], s["name"]) for s in spanish["services"]] == [("consult", CONSULT_ES), ("short", "Short treatment")]
    assert spanish["services"][0]["description"] == CONSULT_ES_ABOUT
    people = api.get("/api/v1/practitioners?language=es").get_json()["practitioners"]
    assert [(p["slug"], p["name"], p["bio"]) for p in people][0] == ("ana", "Ana Test", ANA_ES)
    for path in ("/api/v1/services?language=fr", "/api/v1/practitioners?language=ES%20US"):
        refused = api.get(path)
        assert refused.status_code == 422
        assert refused.get_json()["errors"] == {"language": "must be one of the clinic's languages: en, es"}


@pytest.mark.parametrize("language, expected", [(None, "en"), ("es", "es")])
def test_a_booking_through_the_api_may_say_the_patients_language(clinic_with_texts, language, expected):
    from tests.test_api import MONDAY_14, body

    sent = body(start=MONDAY_14) | ({"language": language} if language else {})
    booked = clinic_with_texts.test_client().post("/api/v1/bookings", json=sent)
    assert booked.status_code == 201, booked.get_json()
    with clinic_with_texts.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.language == expected
        assert written(clinic_with_texts, "confirmation").subject.startswith(
            "Cita confirmada" if expected == "es" else "Booking confirmed")


def test_the_apis_safety_advice_is_in_the_bookings_language(clinic_with_texts):
    from tests.test_api import MONDAY_14, body

    api = clinic_with_texts.test_client()
    urgent = api.post("/api/v1/bookings", json=body(start=MONDAY_14) | {"language": "es", "safety": ["fever"]})
    assert urgent.status_code == 201 and urgent.get_json()["advice"].startswith("Vea a un médico en las próximas 24 horas")
    emergency = api.post("/api/v1/bookings", json=body() | {"language": "es", "safety": ["chest_pain"]})
    assert emergency.status_code == 422 and emergency.get_json()["advice"].startswith("Llame al 911")
    english = api.post("/api/v1/bookings", json=body() | {"safety": ["chest_pain"]})
    assert english.get_json()["advice"].startswith("Call 911 or go to the nearest emergency department now.")


def test_a_booking_in_a_language_the_clinic_does_not_offer_is_refused_and_writes_nothing(clinic_with_texts):
    from tests.test_api import body

    refused = clinic_with_texts.test_client().post("/api/v1/bookings", json=body() | {"language": "fr"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"language": "must be one of the clinic's languages: en, es"}
    with clinic_with_texts.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_a_booking_read_before_the_clinic_stopped_offering_its_language_is_booked_in_the_clinics_first(
        clinic_with_texts):
    """The API reads a booking's body with the process's copy of the clinic's settings as it last
    read them; the booking reads them again under its lock, and a language dropped in between
    gives way to the clinic's first, as when none is asked for."""
    from tests.test_api import MONDAY_14, body

    api = clinic_with_texts.test_client()
    assert api.get("/api/v1/services").status_code == 200  # the process reads the settings (en, es)
    _settings_change_elsewhere(clinic_with_texts, ["en"])
    booked = api.post("/api/v1/bookings", json=body(start=MONDAY_14) | {"language": "es"})
    assert booked.status_code == 201, booked.get_json()
    with clinic_with_texts.app_context():
        assert db.session.scalar(sa.select(Appointment.language)) == "en"
        assert written(clinic_with_texts, "confirmation").subject.startswith("Booking confirmed")


def _settings_change_elsewhere(app, languages: list[str]) -> None:
    """The clinic's languages changed by another process: this one's copy still has the old ones."""
    with app.app_context():
        db.session.get(Clinic, 1).languages = languages
        db.session.commit()


def test_a_language_the_clinic_has_just_added_is_booked_though_the_process_had_not_seen_it(clinic_with_texts):
    """The process's copy would refuse it; a refusal is decided on the settings as they are now."""
    from tests.test_api import MONDAY_14, body

    api = clinic_with_texts.test_client()
    _settings_change_elsewhere(clinic_with_texts, ["en"])
    assert api.get("/api/v1/services").status_code == 200  # the process reads the settings (en)
    _settings_change_elsewhere(clinic_with_texts, ["en", "es"])
    booked = api.post("/api/v1/bookings", json=body(start=MONDAY_14) | {"language": "es"})
    assert booked.status_code == 201, booked.get_json()
    with clinic_with_texts.app_context():
        assert db.session.scalar(sa.select(Appointment.language)) == "es"


def test_a_course_in_a_language_the_clinic_has_just_dropped_is_refused_though_the_process_had_it(clinic_with_texts):
    from tests.test_course_api import course, visits

    api = clinic_with_texts.test_client()
    assert api.get("/api/v1/services").status_code == 200  # the process reads the settings (en, es)
    _settings_change_elsewhere(clinic_with_texts, ["en"])
    refused = course(api, language="es")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"language": "must be one of the clinic's languages: en"}
    assert visits(clinic_with_texts) == 0


@pytest.mark.parametrize("stored", [["x"], "plain", 7, {"es": "plain"}, {"es": ["a"]}, {"es": {"name": 5}}, {"5": None}])
def test_a_row_holding_odd_versions_breaks_no_page_and_can_be_mended(clinic_with_texts, login_as, stored):  # noqa: F811
    """Only the app writes the column, but a hand edit or an odd restore must not take the site down,
    nor the admin page and clinic file that would put it right."""
    app = clinic_with_texts
    with app.app_context():
        consult = db.session.scalar(sa.select(Service).where(Service.slug == "consult"))
        consult.translations = stored
        db.session.commit()
    patient = PatientBrowser(app)
    patient.get("/?language=es")
    home = text(patient.get("/"))
    assert "Consultation" in home and CONSULT_ES not in home
    listed = app.test_client().get("/api/v1/services?language=es").get_json()["services"]
    assert listed[0]["name"] == "Consultation"
    admin = login_as(StaffRole.ADMIN)
    assert admin.get("/admin/services/consult").status_code == 200
    with app.app_context():
        exported = export_clinic_file()
        assert "[services.es]" not in exported.split("[[practitioners]]")[0].split('slug = "consult"')[1]
        import_clinic_file(TEXTS)  # the file puts the versions right again
        assert db.session.scalar(sa.select(Service).where(Service.slug == "consult")).text("name", "es") == CONSULT_ES


def test_once_spanish_is_the_clinics_own_language_its_own_texts_are_read(clinic_with_texts):
    app = clinic_with_texts
    spanish_first = (TEXTS.replace('languages = ["en", "es"]', 'languages = ["es", "en"]')
                     .replace(f'[services.es]\nname = "{CONSULT_ES}"\ndescription = "{CONSULT_ES_ABOUT}"\n', "")
                     .replace(f'[practitioners.es]\nbio = "{ANA_ES}"\n', "")
                     .replace(f'[clinic.address.es]\ndirections = "{DIRECTIONS_ES}"\n', "")
                     .replace('name = "Consultation"', 'name = "Consulta nueva"'))
    assert "[services.es]" not in spanish_first and "Consulta nueva" in spanish_first
    with app.app_context():
        import_clinic_file(spanish_first)  # the old Spanish versions stay stored, unread
    home = text(PatientBrowser(app).get("/"))
    assert "Consulta nueva" in home and CONSULT_ES not in home
    listed = app.test_client().get("/api/v1/services?language=es").get_json()["services"]
    assert listed[0]["name"] == "Consulta nueva"


def test_a_version_shows_even_where_the_clinics_own_text_is_empty(clinic_with_texts):
    app = clinic_with_texts
    with app.app_context():
        import_clinic_file(TEXTS.replace(
            'description = "For anyone new to the clinic: your back pain history, an examination and a first treatment."\n',
            'description = ""\n').replace(f'directions = "{DIRECTIONS}"\n', 'directions = ""\n'))
        consult = db.session.scalar(sa.select(Service).where(Service.slug == "consult"))
        assert consult.description == "" and consult.text("description", "es") == CONSULT_ES_ABOUT
    patient = PatientBrowser(app)
    patient.get("/?language=es")
    home = text(patient.get("/"))
    assert CONSULT_ES_ABOUT in home and DIRECTIONS_ES in home
    patient.answer_first_visit("no")
    assert CONSULT_ES_ABOUT in text(patient.get("/book"))


def test_a_version_with_a_control_character_is_refused_with_its_line():
    bad = TEXTS.replace(f'name = "{CONSULT_ES}"', 'name = "Consulta\\u0000inicial"')
    with pytest.raises(ClinicFileError) as refused:
        read_clinic_file(bad, "clinic.toml")
    assert f"clinic.toml:{line_of(bad, 'u0000')}: services[0].es.name: holds a control character" in "\n".join(
        refused.value.problems)


def test_the_services_and_practitioners_lists_read_the_cached_catalogue(clinic_with_texts, count_queries):
    api = clinic_with_texts.test_client()
    api.get("/api/v1/services")  # the process reads the clinic's settings once
    for path in ("/api/v1/services?language=es", "/api/v1/practitioners?language=es", "/api/v1/practitioners"):
        with count_queries() as counted:
            assert api.get(path).status_code == 200
        assert counted.total == 1, path  # the settings stamp only


# --- the admin pages ------------------------------------------------------------------------------------


@pytest.fixture
def admin(clinic_with_texts, login_as):  # noqa: F811
    return login_as(StaffRole.ADMIN)


def test_the_admin_edits_each_version_and_an_empty_box_falls_back(clinic_with_texts, admin):
    app = clinic_with_texts
    page = text(admin.get("/admin/services/consult"))
    assert "Name in Spanish (optional)" in page and f'value="{CONSULT_ES}"' in page
    assert "Description in Spanish (optional)" in page and CONSULT_ES_ABOUT in page
    assert "Leave it empty and they see the English name above." in page
    form = {"name": "Consultation", "description": "First look.", "minutes": "60", "buffer_minutes": "15",
            "new_patients_only": "y", "is_active": "y", "name_es": "Consulta", "description_es": ""}
    assert submit(admin, "/admin/services/consult", form).status_code == 303
    with app.app_context():
        consult = db.session.scalar(sa.select(Service).where(Service.slug == "consult"))
        assert consult.translations == {"es": {"name": "Consulta"}}
        assert consult.text("description", "es") == "First look."
        assert '[services.es]\nname = "Consulta"' in export_clinic_file()

    page = text(admin.get("/admin/practitioners/ana"))
    assert "Introduction in Spanish (optional)" in page and ANA_ES in page
    assert submit(admin, "/admin/practitioners/ana", {"name": "Ana Test", "bio": "Own words.",
                                                      "services": ["consult", "short"], "is_active": "y",
                                                      "bio_es": "Sus palabras."}).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana")).text("bio", "es") == \
            "Sus palabras."

    from tests.test_admin import SETTINGS

    page = text(admin.get("/admin/settings"))
    assert "Directions in Spanish (optional)" in page and DIRECTIONS_ES in page
    too_long = submit(admin, "/admin/settings", SETTINGS | {"languages": ["es"], "directions": DIRECTIONS,
                                                            "directions_es": "x" * 501})
    assert too_long.status_code == 200 and "Directions in Spanish must be 500 characters or fewer" in text(too_long)
    with app.app_context():
        assert db.session.get(Clinic, 1).text("directions", "es") == DIRECTIONS_ES  # nothing saved
    assert submit(admin, "/admin/settings", SETTINGS | {"languages": ["es"], "directions": DIRECTIONS,
                                                        "directions_es": "Por\r\nMaple."}).status_code == 303
    with app.app_context():
        assert db.session.get(Clinic, 1).translations == {"es": {"directions": "Por\nMaple."}}
    assert "Por\nMaple." in text(PatientBrowser(app).get("/?language=es", follow_redirects=True))


def test_a_clinic_speaking_english_only_has_no_boxes_for_other_languages(clinic, login_as):  # noqa: F811
    admin = login_as(StaffRole.ADMIN)
    for page in ("/admin/services/consult", "/admin/practitioners/ana", "/admin/settings", "/admin/services/new"):
        assert " in Spanish" not in text(admin.get(page)), page


def test_a_wrong_locale_is_told_one_that_fits_the_clinics_country(clinic, login_as):  # noqa: F811
    from tests.test_admin import SETTINGS

    admin = login_as(StaffRole.ADMIN)
    british = text(submit(admin, "/admin/settings", SETTINGS | {"region": "GB", "locale": "en"}))
    assert "Add the country to the locale, like en_GB:" in british
    american = text(submit(admin, "/admin/settings", SETTINGS | {"locale": "es"}))
    assert "Add the country to the locale, like es_US:" in american and "es_GB" not in american


# --- the migration ------------------------------------------------------------------------------------------


def test_the_migration_adds_and_removes_the_versions(clinic_with_texts):
    app = clinic_with_texts
    with app.app_context():
        db.session.remove()
        flask_migrate.downgrade(revision="0021")
        columns = {table: {c["name"] for c in sa.inspect(db.engine).get_columns(table)}
                   for table in ("clinic", "service", "practitioner")}
        assert all("translations" not in names for names in columns.values()), columns
        assert db.session.execute(sa.text("SELECT name FROM service WHERE slug = 'consult'")).scalar() == "Consultation"
        db.session.remove()
        flask_migrate.upgrade()
        db.session.remove()
        consult = db.session.scalar(sa.select(Service).where(Service.slug == "consult"))
        assert consult.translations == {} and consult.text("name", "es") == "Consultation"
        assert db.session.get(Clinic, 1).translations == {}
        import_clinic_file(TEXTS)  # and versions can be written again
        assert db.session.scalar(sa.select(Service).where(Service.slug == "consult")).text("name", "es") == CONSULT_ES
