"""The clinic file: checking with line numbers, idempotent import, export round trip, CLI."""

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, Clinic, Intake, Practitioner, ProgressCheck, Service, TimeOff, WorkingHours
from booking.operations.clinic_file import (
    ClinicFileError,
    export_clinic_file,
    import_clinic_file,
    read_clinic_file,
)
from tests.conftest import CLINIC_TOML, app_config, close_database, fresh_database


def problems_of(text: str, **known) -> list[str]:
    with pytest.raises(ClinicFileError) as caught:
        read_clinic_file(text, "clinic.toml", **known)
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_test_clinic_reads_cleanly():
    plan = read_clinic_file(CLINIC_TOML, "clinic.toml")
    assert [s.slug for s in plan.services] == ["consult", "short"]
    assert [p.slug for p in plan.practitioners] == ["ana", "ben"]
    assert len(plan.practitioners[0].hours[0]) == 2


BAD_FILES = [
    # (replace this, with this, the line to blame (text on it), words expected in the message)
    ('timezone = "America/Los_Angeles"', 'timezone = "Mars/Olympus_Mons"', "Mars/Olympus", "unknown time zone"),
    ('mon = ["09:00-12:30", "13:30-17:00"]', 'mon = ["09:00-12:30", "12:00-17:00"]', 'mon = ["09:00-12:30", "12:00', "overlap"),
    ('wed = ["10:00-16:00"]', 'wed = ["10:00-25:00"]', "25:00", "'25:00' is not a time of day"),
    ('wed = ["10:00-16:00"]', 'wed = ["18:00-09:00"]', "18:00-09:00", "ends before it starts"),
    ('wed = ["10:00-16:00"]', 'wed = ["10-16"]', '"10-16"', "not a time of day"),
    ('services = ["short"]', 'services = ["short", "massage"]', '"massage"', "unknown service 'massage'"),
    ("minutes = 30", 'minutes = "thirty"', '"thirty"', "whole number"),
    ("minutes = 30", "minutes = 0", "minutes = 0", "between 5 and 480"),
    ("slot_step_minutes = 15", "slot_step_minutes = 0", "slot_step_minutes", "between 5 and 240"),
    ('slug = "ben"', 'slug = "ana"  # again', "# again", "defined twice"),
    ('slug = "short"', 'slug = "Short Treatment"', "Short Treatment", "lower-case"),
    ('name = "Ben Test"', 'name = "Ben Test"\ncolour = "blue"', "colour", "unknown key"),
    ('wed = ["10:00-16:00"]', 'wednesday = ["10:00-16:00"]', "wednesday", "unknown key"),
    ('emergency_number = "911"', 'emergency_number = "call-me"', "call-me",
     "must be 2 to 6 digits and nothing else, like 911, 112 or 999"),
    ('phone = "+1 213 555 0100"', 'phone = "abc"', '"abc"', "must be 7 to 15 digits, like +1 213 555 0100"),
    ('region = "US"', 'region = "XX"', '"XX"', "unknown region 'XX' (use a two-letter ISO country code"),
    ('region = "US"', 'region = "UK"', '"UK"', 'the United Kingdom is "GB"'),
    ('region = "US"', "region = 1", "region = 1", "must be a non-empty text"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts at clinic"', "alerts at",
     "'alerts at clinic' is not an email address"),
    ('region = "US"', 'region = "US"\nlocale = "en_XX"', "en_XX", "unknown locale 'en_XX' (use a language and a two-letter country"),
    ('region = "US"', 'region = "US"\nlocale = "klingon"', "klingon", "unknown locale 'klingon'"),
    ('region = "US"', 'region = "US"\nlocale = "en"', 'locale = "en"', 'names no country (write the country too, such as "en_US"'),
    ('region = "US"', 'region = "US"\nlocale = 1', "locale = 1", "must be a non-empty text"),
    ('region = "US"', 'region = "US"\nlanguages = ["en", "fr"]', '"fr"', "unknown language 'fr': the pages have words in en, es"),
    ('region = "US"', 'region = "US"\nlanguages = []', "languages = []", 'must be a list of language codes in quotes, the patients\' default first'),
    ('region = "US"', 'region = "US"\nlanguages = "es"', 'languages = "es"', "must be a list of language codes"),
    ('region = "US"', 'region = "US"\nlanguages = ["es", "en", "ES"]', '"ES"', "'es' is listed twice"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\n[clinic.address]\ncountry = "UK"',
     'country = "UK"', "unknown country 'UK' (use a two-letter ISO country code such as \"US\" or \"GB\"; the United Kingdom is \"GB\")"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\n[clinic.address]\nfloor = 2',
     "floor = 2", "unknown key (expected one of: city, country, directions, postcode, region, street)"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\n[clinic.address]\n'
     f'street = "{"9" * 201}"', "999", "is longer than 200 characters"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\n[clinic.address]\n'
     f'postcode = "{"9" * 21}"', "999", "is longer than 20 characters"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\n[clinic.address]\n'
     f'directions = "{"Turn left. " * 46}"', "Turn left", "is longer than 500 characters"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\naddress = "1 Main St"',
     "1 Main St", "must be a [clinic.address] table"),
    # One country: a GB region with 911 sent a US clinic's patients to "your GP, or NHS 111" (a hands-on trial).
    # Its zone and its locale too: a US clinic in en_GB wrote its dates day first.
    ('timezone = "America/Los_Angeles"', 'timezone = "Europe/London"', 'timezone = "Europe/London"',
     "clinic.timezone: the time zone Europe/London is not one of US's, the clinic's country: choose one of its "
     "zones, such as America/New_York (or correct the clinic's country)"),
    ('region = "US"', 'region = "US"\nlocale = "en_GB"', 'locale = "en_GB"',
     "clinic.locale: the locale en_GB writes dates, times and numbers as in GB, but the clinic's country is US: use "
     "en_US (or correct the clinic's country)"),
    ('emergency_number = "911"', 'emergency_number = "999"', 'emergency_number = "999"',
     "clinic.emergency_number: 999 is not an emergency number in US, the clinic's country: use 911"),
    ('alert_email = "alerts@clinic.example.com"', 'alert_email = "alerts@clinic.example.com"\n[clinic.address]\n'
     'country = "GB"', 'country = "GB"',
     "clinic.address.country: the address is in GB but the clinic's country is US: they must match"),
]


@pytest.mark.parametrize("old, new, blamed, message", BAD_FILES)
def test_bad_files_are_refused_with_the_line_to_fix(old, new, blamed, message):
    assert old in CLINIC_TOML
    text = CLINIC_TOML.replace(old, new, 1)
    first = problems_of(text)[0]  # later ones may follow from it (a renamed slug is then unknown)
    assert first.startswith(f"clinic.toml:{line_of(text, blamed)}: ")
    assert message in first


ZONES = {"US": "America/Los_Angeles", "GB": "Europe/London", "FR": "Europe/Paris", "DE": "Europe/Berlin",
         "AU": "Australia/Sydney"}


def in_country(text: str, region: str, number: str | None = None) -> str:
    """The test clinic's file moved to another country: its region, its zone, and its emergency number."""
    return text.replace('region = "US"', f'region = "{region}"').replace("America/Los_Angeles", ZONES[region]).replace(
        '"911"', f'"{number}"' if number else '"911"')


@pytest.mark.parametrize("region, number", [("US", "911"), ("GB", "999"), ("GB", "112"), ("FR", "15"), ("DE", "112")])
def test_an_emergency_number_of_the_clinics_country_is_read(region, number):
    clinic = read_clinic_file(in_country(CLINIC_TOML, region, number), "clinic.toml").clinic
    assert (clinic["region"], clinic["emergency_number"]) == (region, number)


def test_a_number_of_another_country_is_refused_at_its_line():
    text = in_country(CLINIC_TOML, "GB")  # 911 left
    assert problems_of(text) == [f"clinic.toml:{line_of(text, 'emergency_number = ')}: clinic.emergency_number: 911 is "
                                 "not an emergency number in GB, the clinic's country: use 999 or 112 (or correct the "
                                 "clinic's country)"]


def test_a_refused_locale_is_named_once_and_a_kept_one_must_agree_with_the_country():
    """A locale the file gets wrong is refused for that alone (not also for the en_US it fell back
    to); one it leaves out is the stored one, which must be of the clinic's country too."""
    british = in_country(CLINIC_TOML, "GB", "999")
    wrong = british.replace('region = "GB"', 'region = "GB"\nlocale = "en"')
    assert problems_of(wrong) == [f"clinic.toml:{line_of(wrong, 'locale = ')}: clinic.locale: locale 'en' names no "
                                  "country (write the country too, such as \"en_GB\": dates read differently in each)"]
    stored_us = ("US", None, "en_US")
    assert problems_of(british, known_country=stored_us) == [
        f"clinic.toml:{line_of(british, 'region = ')}: clinic.region: the locale en_US writes dates, times and numbers "
        "as in US, but the clinic's country is GB: use en_GB (or correct the clinic's country)"]
    assert read_clinic_file(british.replace('region = "GB"', 'region = "GB"\nlocale = "en_GB"'), "clinic.toml",
                            known_country=stored_us).clinic["locale"] == "en_GB"


@pytest.mark.parametrize("zone", ["Europe/London", "Europe/Jersey", "UTC", "Etc/GMT-1"])
def test_a_zone_of_the_clinics_country_or_of_none_is_read(zone):
    """Europe/London is shared with Jersey, Guernsey and the Isle of Man; UTC is no country's."""
    text = in_country(CLINIC_TOML, "GB", "999").replace("Europe/London", zone)
    assert read_clinic_file(text, "clinic.toml").clinic["timezone"] == zone


def test_a_file_leaving_the_country_out_must_agree_with_the_stored_one():
    """What a file leaves out is kept, so the region and address country stored count too."""
    us = ("US", "US")
    assert read_clinic_file(CLINIC_TOML.replace('region = "US"\n', ""), "clinic.toml", known_country=us).clinic
    problems = problems_of(in_country(CLINIC_TOML, "GB", "999"), known_country=us)
    assert problems == [f"clinic.toml:{line_of(CLINIC_TOML, 'region = ')}: clinic.region: the address is in US but "
                        "the clinic's country is GB: they must match (leave the address's country empty to use the "
                        "clinic's, or correct the clinic's country)"]
    problems = problems_of(CLINIC_TOML.replace('region = "US"\n', "").replace('"911"', '"999"'),
                           known_country=us)
    assert "999 is not an emergency number in US" in problems[0]


def test_region_and_alert_email_are_read_and_tidied():
    clinic = read_clinic_file(CLINIC_TOML, "clinic.toml").clinic
    assert (clinic["region"], clinic["alert_email"]) == ("US", "alerts@clinic.example.com")
    typed = in_country(CLINIC_TOML, "GB", "999").replace('region = "GB"', 'region = "gb"').replace(
        "alerts@clinic.example.com", "Alerts@Clinic.Example.com")
    clinic = read_clinic_file(typed, "clinic.toml").clinic
    assert (clinic["region"], clinic["alert_email"]) == ("GB", "alerts@clinic.example.com")


@pytest.mark.parametrize("zone, region", [("Europe/London", "GB"), ("America/Los_Angeles", "US"),
                                          ("Europe/Berlin", "DE"), ("UTC", "US")])
def test_without_a_region_the_clinic_takes_its_zones_country(zone, region):
    text = (CLINIC_TOML.replace('region = "US"\n', "").replace('alert_email = "alerts@clinic.example.com"\n', "")
            .replace("America/Los_Angeles", zone).replace('"911"', '"112"' if region == "GB" else '"911"'))
    clinic = read_clinic_file(text, "clinic.toml").clinic
    assert (clinic["region"], clinic["alert_email"]) == (region, None)


ADDRESS = """\
locale = "en_US"
languages = ["en", "es"]

[clinic.address]
street = "1200 Example Ave, Suite 4"
city = "Los Angeles"
region = "CA"
postcode = "90012"
country = "us"
directions = "Step-free entrance on Maple Street.\\nParking behind the building."
"""
WITH_ADDRESS = CLINIC_TOML.replace('alert_email = "alerts@clinic.example.com"\n',
                                   'alert_email = "alerts@clinic.example.com"\n' + ADDRESS)


def test_the_locale_languages_and_address_are_read():
    clinic = read_clinic_file(WITH_ADDRESS, "clinic.toml").clinic
    assert (clinic["locale"], clinic["languages"]) == ("en_US", ["en", "es"])
    assert {key: value for key, value in clinic.items() if key.startswith("address_") or key == "directions"} == {
        "address_street": "1200 Example Ave, Suite 4", "address_city": "Los Angeles", "address_region": "CA",
        "address_postcode": "90012", "address_country": "US",
        "directions": "Step-free entrance on Maple Street.\nParking behind the building."}


def test_a_file_without_them_has_english_the_countrys_locale_and_no_address():
    clinic = read_clinic_file(CLINIC_TOML, "clinic.toml").clinic
    assert (clinic["locale"], clinic["languages"]) == ("en_US", ["en"])
    assert all(clinic[key] is None for key in ("address_street", "address_city", "address_region",
                                               "address_postcode", "address_country", "directions"))


@pytest.mark.parametrize("region, zone, locale", [
    ('"US"', "America/Los_Angeles", "en_US"), ('"GB"', "Europe/London", "en_GB"), ('"ES"', "Europe/Madrid", "es_ES"),
    ('"CA"', "America/Toronto", "en_CA"), ('"in"', "Asia/Kolkata", "en_IN"),  # English where it is official
    ('"DE"', "Europe/Berlin", "de_DE"), ('"MX"', "America/Mexico_City", "es_MX"),
    (None, "Europe/Madrid", "es_ES"), (None, "Europe/London", "en_GB"),  # no region: the zone's country
])
def test_without_a_locale_the_clinic_takes_its_countrys(region, zone, locale):
    text = CLINIC_TOML.replace("America/Los_Angeles", zone).replace(
        'region = "US"\n', f"region = {region}\n" if region else "").replace('"911"', '"999"' if "London" in zone else '"911"')
    assert read_clinic_file(text, "clinic.toml").clinic["locale"] == locale


@pytest.mark.parametrize("typed, stored", [("en_GB", "en_GB"), ("en-gb", "en_GB"), ("es_us", "es_US"),
                                           (" en_AU ", "en_AU")])
def test_a_locale_is_stored_as_babel_writes_it(typed, stored):
    region = stored[-2:]
    text = in_country(CLINIC_TOML, region, {"GB": "999", "AU": "000"}.get(region)).replace(
        f'region = "{region}"', f'region = "{region}"\nlocale = "{typed}"')
    assert read_clinic_file(text, "clinic.toml").clinic["locale"] == stored


def test_the_first_language_is_the_patients_default_and_order_is_kept():
    text = CLINIC_TOML.replace('region = "US"', 'region = "US"\nlanguages = ["ES", "en"]')
    assert read_clinic_file(text, "clinic.toml").clinic["languages"] == ["es", "en"]


def test_time_off_ending_before_it_starts():
    text = CLINIC_TOML + '\n[[time_off]]\npractitioner = "ana"\nstart = "2027-03-10T12:00"\nend = "2027-03-10T09:00"\n'
    problems = problems_of(text)
    assert problems == [f"clinic.toml:{line_of(text, 'end = ')}: time_off[0].end: time off must end after it starts (2027-03-10T09:00 <= 2027-03-10T12:00)"]


def test_time_off_for_an_unknown_practitioner_and_a_bad_date():
    text = CLINIC_TOML + '\n[[time_off]]\npractitioner = "zed"\nstart = "next tuesday"\nend = "2027-03-10T09:00"\n'
    problems = problems_of(text)
    assert any(f":{line_of(text, 'zed')}: " in p and "unknown practitioner 'zed'" in p for p in problems)
    assert any(f":{line_of(text, 'next tuesday')}: " in p and "YYYY-MM-DDTHH:MM" in p for p in problems)


def test_every_problem_is_reported_at_once():
    text = CLINIC_TOML.replace('"America/Los_Angeles"', '"Nowhere"').replace("minutes = 30", "minutes = -1")
    assert len(problems_of(text)) == 2


def test_toml_syntax_errors_name_the_line():
    problems = problems_of('[clinic]\nname = "Broken\n')
    assert len(problems) == 1 and "line 2" in problems[0]


def test_services_already_in_the_database_may_be_referred_to():
    text = '[[practitioners]]\nslug = "cai"\nname = "Cai"\nservices = ["consult"]\n'
    assert problems_of(text) and read_clinic_file(text, "x.toml", known_services={"consult"})


# --- importing into a database ---------------------------------------------------------------


def table_counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Clinic, Service, Practitioner, WorkingHours, TimeOff, Appointment)
    }


TIME_OFF = '\n[[time_off]]\npractitioner = "ana"\nstart = "2027-03-10T00:00"\nend = "2027-03-12T00:00"\nreason = "Course"\n'


def test_import_is_idempotent_by_slug(app):
    with app.app_context():
        import_clinic_file(CLINIC_TOML + TIME_OFF)
        first = table_counts()
        import_clinic_file(CLINIC_TOML + TIME_OFF)
        assert table_counts() == first
        assert first == {"Clinic": 1, "Service": 2, "Practitioner": 2, "WorkingHours": 12, "TimeOff": 1, "Appointment": 0}


def test_import_updates_by_slug_and_replaces_hours(app):
    with app.app_context():
        import_clinic_file(CLINIC_TOML)
        changed = CLINIC_TOML.replace('name = "Ben Test"', 'name = "Ben Tested"').replace(
            'wed = ["10:00-16:00"]', 'wed = ["11:00-15:00"]\nfri = ["09:00-10:00"]'
        )
        import_clinic_file(changed)
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        assert ben.name == "Ben Tested"
        assert [(h.weekday, f"{h.start_time:%H:%M}-{h.end_time:%H:%M}") for h in ben.hours] == [
            (0, "10:00-16:00"), (2, "11:00-15:00"), (4, "09:00-10:00")
        ]


def test_time_off_is_stored_in_utc_from_local_wall_clock(app):
    with app.app_context():
        import_clinic_file(CLINIC_TOML + TIME_OFF)
        off = db.session.scalar(sa.select(TimeOff))
        assert off.starts_at.isoformat() == "2027-03-10T08:00:00+00:00"  # midnight PST


def test_a_bad_file_imports_nothing(app):
    with app.app_context():
        import_clinic_file(CLINIC_TOML)
        before = table_counts()
        half_good = CLINIC_TOML.replace('name = "Test Clinic"', 'name = "Renamed"') + (
            '\n[[services]]\nslug = "extra"\nname = "Extra"\nminutes = 30\n'
            '\n[[practitioners]]\nslug = "cai"\nname = "Cai"\nservices = ["extra"]\n'
            '[practitioners.hours]\nmon = ["09:00-25:00"]\n'
        )
        with pytest.raises(ClinicFileError):
            import_clinic_file(half_good)
        assert table_counts() == before
        assert db.session.get(Clinic, 1).name == "Test Clinic"


def test_first_import_needs_a_clinic_table(app):
    with app.app_context():
        with pytest.raises(ClinicFileError, match=r"\[clinic\] table is needed"):
            import_clinic_file('[[services]]\nslug = "a"\nname = "A"\nminutes = 30\n')
        assert table_counts()["Service"] == 0


def test_export_round_trips_into_an_empty_database(request, app, tmp_path):
    with app.app_context():
        import_clinic_file(WITH_ADDRESS + TIME_OFF)
        exported = export_clinic_file()
    assert "[[time_off]]" in exported and 'start = "2027-03-10T00:00"' in exported
    assert 'locale = "en_US"' in exported and 'languages = [\n    "en",\n    "es",\n]' in exported
    assert '[clinic.address]\nstreet = "1200 Example Ave, Suite 4"' in exported and 'country = "US"' in exported
    assert 'directions = "Step-free entrance on Maple Street.\\nParking behind the building."' in exported
    assert 'region = "US"' in exported and 'alert_email = "alerts@clinic.example.com"' in exported
    assert "retention_years = 10" in exported  # the default, when the file named none
    kind = "postgresql" if "postgresql" in app.config["SQLALCHEMY_DATABASE_URI"] else "sqlite"
    with fresh_database(request, kind, tmp_path / "second") as second_url:
        other = create_app(app_config(second_url))
        with other.app_context():
            import_clinic_file(exported)
            assert export_clinic_file() == exported
            clinic = db.session.get(Clinic, 1)
            assert (clinic.region, clinic.alert_email) == ("US", "alerts@clinic.example.com")
            assert (clinic.locale, clinic.languages, clinic.address_text) == (
                "en_US", ["en", "es"], "1200 Example Ave, Suite 4, Los Angeles, CA 90012")
            # A file that leaves out the alert address or the second factor setting keeps them...
            import_clinic_file(exported.replace('alert_email = "alerts@clinic.example.com"\n', "").replace(
                "second_factor_for_all_staff = true\n", "").replace("second_factor_for_all_staff = false\n", ""))
            assert clinic.alert_email == "alerts@clinic.example.com"
            # ...and one that says so changes them.
            import_clinic_file(exported.replace('region = "US"', 'region = "GB"').replace(
                "America/Los_Angeles", "Europe/London").replace('locale = "en_US"', 'locale = "en_GB"').replace(
                'emergency_number = "911"', 'emergency_number = "999"').replace('country = "US"', 'country = "GB"').replace(
                'alert_email = "alerts@clinic.example.com"', 'alert_email = ""').replace(
                "retention_years = 10", "retention_years = 7").replace(
                "second_factor_for_all_staff = false", "second_factor_for_all_staff = true"))  # no address: no alerts
            assert (clinic.region, clinic.alert_email, clinic.retention_years) == ("GB", None, 7)
            assert clinic.second_factor_for_all_staff
            assert "retention_years = 7" in export_clinic_file()
            assert 'region = "GB"' in export_clinic_file() and 'alert_email = ""' in export_clinic_file()
            # A file of the clinic from before languages and addresses keeps them, and the import says so.
            before = export_clinic_file()
            counts = import_clinic_file(in_country(CLINIC_TOML, "GB", "999"))
            assert {"locale", "languages", "[clinic.address]", "retention_years"} <= set(counts["kept"])
            assert "region" not in counts["kept"] and "alert_email" not in counts["kept"]  # both in the file
            assert (clinic.locale, clinic.languages, clinic.address_lines[0]) == (
                "en_GB", ["en", "es"], "1200 Example Ave, Suite 4")
            assert export_clinic_file() == before.replace('alert_email = ""', 'alert_email = "alerts@clinic.example.com"')
            again = export_clinic_file()
            import_clinic_file(again)
            assert export_clinic_file() == again
        close_database(other)


# --- the commands ------------------------------------------------------------------------------


def test_cli_import_reports_line_errors_and_exits_nonzero(app, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(CLINIC_TOML.replace('wed = ["10:00-16:00"]', 'wed = ["10:00-25:00"]'))
    result = app.test_cli_runner().invoke(args=["clinic", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{line_of(path.read_text(), '25:00')}: practitioners[1].hours.wed:" in result.output
    assert "Nothing was imported" in result.output


def test_cli_import_then_export(app, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(CLINIC_TOML)
    runner = app.test_cli_runner()
    imported = runner.invoke(args=["clinic", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "2 services, 2 practitioners" in imported.output
    exported = runner.invoke(args=["clinic", "export"])
    assert exported.exit_code == 0 and 'slug = "ben"' in exported.output


def test_cli_export_without_a_clinic(app):
    result = app.test_cli_runner().invoke(args=["clinic", "export"])
    assert result.exit_code == 1 and "no clinic to export" in result.output


def test_demo_loads_three_practitioners_and_a_week_of_bookings(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        counts = table_counts()
        assert counts["Practitioner"] == 3 and counts["Service"] == 3
        assert counts["Appointment"] >= 10
        # Something for the practitioner's pages: sent intakes, and progress checks before return visits.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake).where(Intake.sent_at.is_not(None))) >= 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressCheck)) >= 1
        first, last = db.session.execute(
            sa.select(sa.func.min(Appointment.starts_at), sa.func.max(Appointment.starts_at))
        ).one()
    assert (last - first).days <= 14  # last week's visits, completed, and the week ahead
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        assert (clinic.locale, clinic.languages) == ("en_US", ["en", "es"])
        assert clinic.address_lines == ["1200 Example Ave, Suite 4", "Los Angeles, CA 90012"]
        assert "step-free" in clinic.directions and "parking" in clinic.directions.lower()
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "already set up" in again.output
    with app.app_context():
        assert table_counts() == counts


# --- edge cases found by review ------------------------------------------------------------------


def test_time_off_inside_the_skipped_hour_is_refused_with_its_line():
    text = CLINIC_TOML + '\n[[time_off]]\npractitioner = "ana"\nstart = "2027-03-14T02:15"\nend = "2027-03-14T02:45"\n'
    [problem] = problems_of(text)
    assert problem.startswith(f"clinic.toml:{line_of(text, '02:15')}: ") and "clocks skip" in problem


def test_a_folder_of_zones_is_not_a_zone():
    problems = problems_of(CLINIC_TOML.replace('"America/Los_Angeles"', '"America"'))
    assert "unknown time zone 'America'" in problems[0]


def test_the_same_time_off_twice_is_refused():
    text = CLINIC_TOML + TIME_OFF + TIME_OFF
    [problem] = problems_of(text)
    assert "listed twice" in problem


def test_time_off_may_be_whole_dates_and_an_offset_is_explained():
    plan = read_clinic_file(CLINIC_TOML + TIME_OFF.replace("2027-03-10T00:00", "2027-03-10"), "x.toml")
    assert plan.time_off[0].starts_at.isoformat() == "2027-03-10T08:00:00+00:00"
    problems = problems_of(CLINIC_TOML + TIME_OFF.replace('"2027-03-10T00:00"', "2027-03-10T00:00:00-08:00"))
    assert "2027-03-10T00:00:00-08:00 is not a local date and time" in problems[0]


def test_an_invalid_slug_is_not_offered_as_known():
    problems = problems_of(CLINIC_TOML.replace('slug = "short"', 'slug = "Short One"'))
    assert any("unknown service 'short' (known: consult)" in p for p in problems), problems


def test_omitted_bio_and_description_are_left_as_they_are(app):
    with_text = CLINIC_TOML.replace('name = "Ben Test"', 'name = "Ben Test"\nbio = "Twenty years of practice."')
    with app.app_context():
        import_clinic_file(with_text)
        import_clinic_file(CLINIC_TOML)
        assert db.session.scalar(sa.select(Practitioner.bio).where(Practitioner.slug == "ben")) == "Twenty years of practice."


def test_cli_refuses_a_file_that_is_not_utf8(app, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_bytes(CLINIC_TOML.encode() + b"\n# caf\xe9\n")
    result = app.test_cli_runner().invoke(args=["clinic", "import", str(path)])
    assert result.exit_code == 1 and "not UTF-8 text" in result.output


def test_demo_never_overwrites_a_real_clinic(app):
    with app.app_context():
        import_clinic_file(CLINIC_TOML)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1 and "refusing to overwrite" in result.output
    with app.app_context():
        assert db.session.get(Clinic, 1).name == "Test Clinic"
        assert table_counts()["Practitioner"] == 2


# --- what the receipt for insurers prints: optional keys ------------------------------------

WITH_IDENTIFIERS = (CLINIC_TOML.replace('region = "US"', 'region = "US"\ntax_id = "123456789"', 1)
                    .replace('name = "Ben Test"', 'name = "Ben Test"\nnpi = "1234567893"\nlicense_number = "L.Ac. 999"', 1))


def test_the_npi_license_and_tax_id_are_read_tidied_exported_and_left_out_kept(app):
    plan = read_clinic_file(WITH_IDENTIFIERS, "clinic.toml")
    assert plan.clinic["tax_id"] == "12-3456789"
    ben = next(p for p in plan.practitioners if p.slug == "ben")
    assert (ben.npi, ben.license_number) == ("1234567893", "L.Ac. 999")
    with app.app_context():
        import_clinic_file(WITH_IDENTIFIERS)
        exported = export_clinic_file()
        assert 'tax_id = "12-3456789"' in exported and 'npi = "1234567893"' in exported
        assert 'license_number = "L.Ac. 999"' in exported
        counts = import_clinic_file(CLINIC_TOML)  # a file without them leaves them as they are
        assert "tax_id" in counts["kept"]
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        assert (db.session.get(Clinic, 1).tax_id, ben.npi, ben.license_number) == ("12-3456789", "1234567893",
                                                                                   "L.Ac. 999")
        import_clinic_file(WITH_IDENTIFIERS.replace('"123456789"', '""').replace('"1234567893"', '""'))
        db.session.expire_all()
        assert (db.session.get(Clinic, 1).tax_id, ben.npi, ben.license_number) == (None, None, "L.Ac. 999")
        assert "tax_id" in export_clinic_file() and "npi" not in export_clinic_file()


@pytest.mark.parametrize("old, new, blamed, message", [
    ('npi = "1234567893"', 'npi = "1234567890"', 'npi = "1234567890"', "its last digit does not match"),
    ('npi = "1234567893"', 'npi = "12345"', 'npi = "12345"', "Enter the NPI as its 10 digits"),
    ('tax_id = "123456789"', 'tax_id = "12-34567"', 'tax_id = "12-34567"', "in the form 12-3456789"),
    ('license_number = "L.Ac. 999"', f'license_number = "{"L" * 41}"', "license_number", "40 characters or fewer"),
    ('npi = "1234567893"', "npi = 1234567893", "npi = 1234567893", "must be a non-empty text in quotes"),
])
def test_wrong_identifiers_in_the_file_are_refused_with_the_line(old, new, blamed, message):
    text = WITH_IDENTIFIERS.replace(old, new, 1)
    first = problems_of(text)[0]
    assert first.startswith(f"clinic.toml:{line_of(text, blamed)}: ") and message in first
