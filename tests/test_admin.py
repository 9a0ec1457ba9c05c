"""The admin pages: clinic settings, services and practitioners, on both databases.

They edit what the clinic file holds, so the last test edits through the pages, exports,
imports the export into a fresh database and finds the same clinic there.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.measures import load_licensed_instruments
from booking.models import Appointment, AuditEntry, Clinic, Practitioner, Service, StaffAccount, StaffRole
from booking.operations import admin as admin_operations
from booking.operations.clinic_file import export_clinic_file, import_clinic_file
from booking.transaction import write_transaction
from tests.conftest import app_config, close_database, fresh_database
from tests.test_desk import book_online, submit
from tests.instruments import START_BACK_TOML
from tests.test_staff import (ACCOUNTS, audit_of_passwords, change_password, csrf_from, login_as, sign_in,  # noqa: F401
                              staff)

SETTINGS = {
    "name": "Test Clinic", "timezone": "America/Los_Angeles", "phone": "+1 213 555 0100", "emergency_number": "911",
    "slot_step_minutes": "15", "min_notice_hours": "2", "max_advance_days": "30", "cancellation_notice_hours": "24",
    "reminder_hours": "24", "retention_years": "10", "region": "US", "alert_email": "alerts@clinic.example.com",
    "locale": "en_US", "waitlist_offer_hours": "4",
}
NO_ADDRESS = {"address_street": None, "address_city": None, "address_region": None, "address_postcode": None,
              "address_country": None, "directions": None}
ADDRESS = {"address_street": "1200 Example Ave, Suite 4", "address_city": "Los Angeles", "address_region": "CA",
           "address_postcode": "90012", "address_country": "US",
           "directions": "Step-free entrance on Maple Street.\nParking behind the building."}


@pytest.fixture
def admin(login_as):  # noqa: F811
    return login_as(StaffRole.ADMIN)


def settings_now(app) -> dict:
    with app.app_context():
        return admin_operations.clinic_values(db.session.get(Clinic, 1))


def service(app, slug: str) -> dict | None:
    with app.app_context():
        found = admin_operations.find_service(slug)
        return found and admin_operations.service_values(found)


def practitioner(app, slug: str) -> dict | None:
    with app.app_context():
        found = admin_operations.find_practitioner(slug)
        return found and admin_operations.practitioner_values(found)


def load_start_back(app, tmp_path) -> None:
    """What a clinic with a licence has: the STarT Back file in its licensed folder."""
    (tmp_path / "start_back.toml").write_text(START_BACK_TOML)
    app.extensions["instruments"] |= load_licensed_instruments(tmp_path, app.extensions["instruments"])


# --- the pages ------------------------------------------------------------------------

@pytest.mark.parametrize("path, heading", [
    ("/admin", "Clinic settings"),
    ("/admin/settings", "Clinic details and booking rules"),
    ("/admin/services", "Services"),
    ("/admin/services/new", "Add a service"),
    ("/admin/services/short", "Short treatment"),
    ("/admin/practitioners", "Practitioners"),
    ("/admin/practitioners/new", "Add a practitioner"),
    ("/admin/practitioners/ana", "Ana Test"),
    ("/admin/staff", "Staff accounts"),
])
def test_each_admin_page_opens_for_an_admin(admin, path, heading):
    response = admin.get(path)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.get_data(as_text=True)


def test_the_staff_nav_leads_admins_to_the_settings_hub(admin, login_as):  # noqa: F811
    desk_page = admin.get("/desk").get_data(as_text=True)
    assert 'href="/admin">Settings</a>' in desk_page
    hub = admin.get("/admin").get_data(as_text=True)
    for path in ("/admin/settings", "/admin/services", "/admin/practitioners", "/admin/staff"):
        assert f'href="{path}"' in hub
    assert 'href="/admin"' not in login_as(StaffRole.RECEPTIONIST).get("/desk").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/services/nothing", "/admin/practitioners/nobody",
                                  "/admin/services/" + "x" * 5000])
def test_unknown_services_and_practitioners_are_not_found(admin, path):
    assert admin.get(path).status_code == 404


def test_a_nul_character_in_an_address_is_refused_before_any_lookup(admin):
    response = admin.get("/admin/practitioners/%00")
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


# --- clinic settings ------------------------------------------------------------------

def test_the_settings_page_explains_the_region_and_the_alert_address(admin):
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert re.search(r'id="region" name="region"\s+type="text" value="US"', page)
    assert re.search(r'id="alert_email" name="alert_email"\s+type="email" value="alerts@clinic.example.com"', page)
    assert "like US or GB" in page and "their GP or NHS 111" in page
    assert "never the answers" in page and "leave it empty to send no alerts" in page


def test_an_admin_changes_the_clinic_settings(staff, admin):  # noqa: F811
    changed = SETTINGS | {"name": "  Back Care Clinic ", "phone": "+1 213 555 0111", "slot_step_minutes": "30",
                          "min_notice_hours": "0", "max_advance_days": "730", "cancellation_notice_hours": "48",
                          "reminder_hours": "0", "retention_years": "7", "region": " gb ", "waitlist_offer_hours": "12",
                          "emergency_number": "999", "timezone": "Europe/London", "locale": "en_GB",
                          "alert_email": " Front.Desk@Example.com "}
    response = submit(admin, "/admin/settings", changed)
    assert response.status_code == 303
    assert "settings are saved" in admin.get(response.location).get_data(as_text=True)
    assert settings_now(staff) == {
        "name": "Back Care Clinic", "timezone": "Europe/London", "phone": "+1 213 555 0111",
        "emergency_number": "999", "slot_step_minutes": 30, "min_notice_hours": 0, "max_advance_days": 730,
        "cancellation_notice_hours": 48, "reminder_hours": 0, "retention_years": 7, "start_back_enabled": False,
        "second_factor_for_all_staff": False, "waitlist_offer_hours": 12,
        "region": "GB", "alert_email": "front.desk@example.com", "locale": "en_GB", "languages": ["en"], **NO_ADDRESS,
        "tax_id": None,
    }
    slots = staff.test_client().get("/api/v1/slots?service=short&practitioner=ana&from=2027-03-09&days=1").get_json()
    assert [slot["start"][11:16] for slot in slots["slots"]][:3] == ["09:00", "09:30", "10:00"]
    assert submit(admin, "/admin/settings", changed | {"alert_email": " "}).status_code == 303
    assert settings_now(staff)["alert_email"] is None  # an empty box: no one is alerted


@pytest.mark.parametrize("field, typed, message", [
    ("slot_step_minutes", "0", "Slot step must be between 5 and 240 minutes"),
    ("slot_step_minutes", "241", "Slot step must be between 5 and 240 minutes"),
    ("min_notice_hours", "-1", "Minimum notice must be between 0 and 720 hours (it cannot be negative)"),
    ("cancellation_notice_hours", "-24", "Cancellation notice must be between 0 and 720 hours (it cannot be negative)"),
    ("max_advance_days", "0", "Booking ahead must be between 1 and 730 days"),
    ("reminder_hours", "169", "Reminder must be between 0 and 168 hours"),
    ("waitlist_offer_hours", "0", "Waitlist offer must be between 1 and 72 hours"),
    ("retention_years", "0", "Record retention must be between 1 and 100 years"),
    ("retention_years", "101", "Record retention must be between 1 and 100 years"),
    ("max_advance_days", "99999999999999999999", "Booking ahead must be between 1 and 730 days"),
    ("max_advance_days", "9" * 5000, "Booking ahead must be between 1 and 730 days"),
    ("max_advance_days", "two", "Enter the booking ahead as a whole number of days, from 1 to 730"),
    ("slot_step_minutes", "1.5", "Enter the slot step as a whole number of minutes, from 5 to 240"),
    ("slot_step_minutes", "", "Enter the slot step as a whole number of minutes, from 5 to 240"),
    ("timezone", "Mars/Olympus_Mons", "Mars/Olympus_Mons is not a time zone name we know"),
    ("timezone", "", "Enter the time zone, like America/Los_Angeles"),
    ("name", "", "Enter the clinic&#39;s name"),
    ("name", "N" * 121, "Clinic&#39;s name must be 120 characters or fewer"),
    ("emergency_number", "9" * 21, "Emergency number must be 20 characters or fewer"),
    # Patients are told to call these: "call call-me now" reached the home page (a hands-on trial).
    ("emergency_number", "call-me", "Enter the emergency number as 2 to 6 digits and nothing else, like 911"),
    ("emergency_number", "9 1 1", "Enter the emergency number as 2 to 6 digits and nothing else"),
    ("emergency_number", "٩١١", "Enter the emergency number as 2 to 6 digits"),  # digits a phone keypad lacks
    ("phone", "abc", "Enter the phone number as 7 to 15 digits, like +1 213 555 0100"),
    ("phone", "555 01", "Enter the phone number as 7 to 15 digits"),
    ("phone", "213\x00555", "Phone number for patients has a character that cannot be stored"),
    ("region", "XX", "XX is not a country code we know: use two letters, like US or GB"),
    ("region", "USA", "USA is not a country code we know"),
    ("region", "UK", "Enter GB for the United Kingdom"),
    ("region", "", "Enter the country code, like US or GB"),
    ("alert_email", "alerts@clinic", "Enter the alert email address in the correct format"),
    # The locales suggested fit the clinic's country (US here): never "es_GB" to a Los Angeles clinic.
    ("locale", "en_XX", "en_XX is not a locale we know: use a language and a two-letter country, like en_US or es_US"),
    ("locale", "Klingon", "Klingon is not a locale we know"),
    ("locale", "en", "Add the country to the locale, like en_US: dates and times read differently in each country"),
    ("locale", "es", "Add the country to the locale, like es_US: dates and times read differently in each country"),
    ("locale", "", "Enter the locale, like en_US or es_US"),
    ("locale", "en_US" * 100, "is not a locale we know"),
    ("languages", "fr", "Select only from the list below"),
    ("address_street", "9" * 201, "Street address must be 200 characters or fewer"),
    ("address_city", "C" * 101, "Town or city must be 100 characters or fewer"),
    ("address_postcode", "9" * 21, "ZIP code or postcode must be 20 characters or fewer"),
    ("address_country", "UK", "Enter GB for the United Kingdom"),
    ("address_country", "Spain", "SPAIN is not a country code we know: use two letters, like US or GB"),
    ("address_street", "1 Main\x00St", "Street address (optional) has a character that cannot be stored"),
    ("directions", "Turn left.\r\n" * 46, "Directions must be 500 characters or fewer"),
    # One country for the urgent advice, the number to call and the address (validation.region_contradictions).
    ("emergency_number", "999", "999 is not an emergency number in US, the clinic&#39;s country: use 911"),
    ("address_country", "GB", "The address is in GB but the clinic&#39;s country is US: they must match"),
])
def test_wrong_settings_get_a_message_on_their_field_and_change_nothing(staff, admin, field, typed, message):  # noqa: F811
    before = settings_now(staff)
    response = submit(admin, "/admin/settings", SETTINGS | {"name": "Renamed", field: typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in page and f'href="#{field}{"-0" if field == "languages" else ""}"' in page
    assert message in page
    if typed and len(typed) < 200:
        assert f'value="{typed}"' in page or typed.replace("'", "&#39;") in page  # what was typed comes back
    assert 'value="Renamed"' in page or field == "name"
    assert settings_now(staff) == before


def test_a_country_that_contradicts_the_number_and_the_address_is_refused(staff, admin):  # noqa: F811
    """A hands-on trial set the country to GB while the emergency number stayed 911 and the address said US:
    it saved, and a Los Angeles patient's urgent advice said "contact your GP, or NHS 111"."""
    before = settings_now(staff)
    response = submit(admin, "/admin/settings", SETTINGS | ADDRESS | {"region": "GB"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "There is a problem" in page
    assert 'href="#emergency_number"' in page and 'href="#address_country"' in page
    assert 'id="emergency_number-error"' in page and 'id="address_country-error"' in page
    assert "911 is not an emergency number in GB, the clinic&#39;s country: use 999 or 112" in page
    assert "The address is in US but the clinic&#39;s country is GB: they must match" in page
    assert settings_now(staff) == before and before["region"] == "US"
    # In agreement, the change is saved: a clinic that moves to the UK, or one without an address's country.
    assert submit(admin, "/admin/settings", SETTINGS | ADDRESS | {
        "region": "GB", "emergency_number": "112", "address_country": "gb", "timezone": "Europe/London",
        "locale": "en_GB"}).status_code == 303
    assert (settings_now(staff)["region"], settings_now(staff)["address_country"]) == ("GB", "GB")
    assert submit(admin, "/admin/settings", SETTINGS | {"region": "FR", "emergency_number": "15", "locale": "fr_FR",
                                                        "address_country": "", "timezone": "Europe/Paris"}).status_code == 303


def test_a_zone_or_locale_of_another_country_is_refused_at_its_field(staff, admin):  # noqa: F811
    """A US clinic in en_GB wrote its patients' dates day first; in Europe/London its hours were London's."""
    before = settings_now(staff)
    page = submit(admin, "/admin/settings", SETTINGS | {"locale": "en_GB", "timezone": "Europe/London"}).get_data(
        as_text=True)
    assert 'href="#locale"' in page and 'href="#timezone"' in page
    assert ("The locale en_GB writes dates, times and numbers as in GB, but the clinic&#39;s country is US: use "
            "en_US (or correct the clinic&#39;s country)") in page
    assert ("The time zone Europe/London is not one of US&#39;s, the clinic&#39;s country: choose one of its zones, "
            "such as America/New_York (or correct the clinic&#39;s country)") in page
    assert settings_now(staff) == before
    # Spanish as written in the US, and a zone of no country, agree with any.
    assert submit(admin, "/admin/settings", SETTINGS | {"locale": "es_US", "timezone": "UTC"}).status_code == 303


def test_the_settings_page_shows_the_locale_languages_and_address(staff, admin):  # noqa: F811
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert re.search(r'id="locale" name="locale"\s+type="text" value="en_US"', page)
    assert "Now: English (United States)." in page and "en_GB, en_CA, en_AU, es_US, es_ES or es_MX" in page
    assert '<label for="languages-0">Spanish (español)</label>' in page
    assert not re.search(r'value="es"[^>]*checked', page), "the test clinic speaks English only"
    assert "always offered in English" in page and "Leave it empty to show none" in page
    assert "step-free entrance" in page and "Up to 500 characters." in page
    for field in NO_ADDRESS:
        assert f'id="{field}"' in page


def test_an_admin_offers_spanish_and_sets_the_address(staff, admin):  # noqa: F811
    sent = SETTINGS | {"locale": " es-us ", "languages": ["es"]} | ADDRESS | {
        "address_country": "us", "directions": "Step-free entrance on Maple Street.\r\nParking behind the building.  "}
    response = submit(admin, "/admin/settings", sent)
    assert response.status_code == 303
    now = settings_now(staff)
    assert (now["locale"], now["languages"]) == ("es_US", ["en", "es"])
    assert {key: now[key] for key in ADDRESS} == ADDRESS
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert re.search(r'value="es"[^>]*checked', page) and "Now: Spanish (United States)." in page
    assert "Step-free entrance on Maple Street.\nParking behind the building.</textarea>" in page
    # A browser's CRLF line ends count once: 42 lines of 11 characters fit in 500 however they were sent.
    assert submit(admin, "/admin/settings", sent | {"directions": "Turn left.\r\n" * 42}).status_code == 303
    assert settings_now(staff)["directions"] == ("Turn left.\n" * 42).strip()
    assert submit(admin, "/admin/settings", sent).status_code == 303
    with staff.app_context():
        clinic = db.session.get(Clinic, 1)
        assert clinic.address_text == "1200 Example Ave, Suite 4, Los Angeles, CA 90012"
        assert 'locale = "es_US"' in export_clinic_file()
    # Unticking Spanish leaves English; emptying the boxes takes the address away.
    assert submit(admin, "/admin/settings", SETTINGS | {key: "" for key in ADDRESS}).status_code == 303
    now = settings_now(staff)
    assert (now["locale"], now["languages"]) == ("en_US", ["en"]) and {key: now[key] for key in ADDRESS} == NO_ADDRESS


def test_saving_keeps_the_clinics_first_language_as_the_default(staff, admin):  # noqa: F811
    with staff.app_context():
        with write_transaction():
            db.session.get(Clinic, 1).languages = ["es", "en"]  # as a clinic file may say
    assert submit(admin, "/admin/settings", SETTINGS | {"languages": ["es"]}).status_code == 303
    assert settings_now(staff)["languages"] == ["es", "en"]


def test_a_wrong_locale_saves_nothing_else_either(staff, admin):  # noqa: F811
    before = settings_now(staff)
    response = submit(admin, "/admin/settings", SETTINGS | ADDRESS | {"locale": "xx_YY", "languages": ["es"]})
    assert response.status_code == 200 and "xx_YY is not a locale we know" in response.get_data(as_text=True)
    assert 'value="1200 Example Ave, Suite 4"' in response.get_data(as_text=True)  # what was typed comes back
    assert settings_now(staff) == before


def test_forms_sent_without_their_fields_get_messages_or_change_nothing(staff, admin):  # noqa: F811
    before = settings_now(staff)
    assert submit(admin, "/admin/settings", {}).status_code == 303  # missing boxes keep what they showed
    assert settings_now(staff) == before
    page = submit(admin, "/admin/services/new", {}, page="/admin/services").get_data(as_text=True)
    assert "Enter a short name for web addresses" in page and "Enter the service&#39;s name" in page
    page = submit(admin, "/admin/practitioners/new", {}, page="/admin/practitioners").get_data(as_text=True)
    assert "Enter a short name for web addresses" in page and "Enter the practitioner&#39;s name" in page


def test_the_start_back_switch_needs_the_licensed_file(staff, admin, tmp_path):  # noqa: F811
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "copyright Keele University" in page and "commercial product" in page
    assert "No licensed STarT Back file is loaded" in page and "LICENSED_INSTRUMENTS" in page
    refused = submit(admin, "/admin/settings", SETTINGS | {"start_back_enabled": "y", "name": "Renamed"})
    assert refused.status_code == 200
    assert "The STarT Back screen cannot be switched on" in refused.get_data(as_text=True)
    assert settings_now(staff)["start_back_enabled"] is False and settings_now(staff)["name"] == "Test Clinic"

    load_start_back(staff, tmp_path)
    assert "Test notice: copyright its owner" in admin.get("/admin/settings").get_data(as_text=True)
    assert submit(admin, "/admin/settings", SETTINGS | {"start_back_enabled": "y"}).status_code == 303
    assert settings_now(staff)["start_back_enabled"] is True
    assert submit(admin, "/admin/settings", SETTINGS).status_code == 303  # unticked: off again
    assert settings_now(staff)["start_back_enabled"] is False


def test_changing_the_zone_with_visits_ahead_warns_and_asks_to_confirm(staff, admin):  # noqa: F811
    assert "Before you change the time zone" not in admin.get("/admin/settings").get_data(as_text=True)
    assert submit(admin, "/admin/settings", SETTINGS | {"timezone": "America/Denver"}).status_code == 303
    book_online(staff)
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "Before you change the time zone" in page and "1 booked visit lies ahead" in page
    asked = submit(admin, "/admin/settings", SETTINGS | {"timezone": "America/New_York"})
    assert asked.status_code == 200 and "1 booked visit lies ahead: check the box to confirm" in asked.get_data(as_text=True)
    assert settings_now(staff)["timezone"] == "America/Denver"
    confirmed = submit(admin, "/admin/settings", SETTINGS | {"timezone": "America/New_York", "confirm_zone_change": "y"})
    assert confirmed.status_code == 303 and settings_now(staff)["timezone"] == "America/New_York"


# --- services ---------------------------------------------------------------------------

NEW_SERVICE = {"slug": "cupping", "name": "Cupping", "description": "Glass cups on the back.",
               "minutes": "45", "buffer_minutes": "10", "is_active": "y"}


def test_an_admin_adds_a_service_patients_can_book(staff, admin):  # noqa: F811
    response = submit(admin, "/admin/services/new", NEW_SERVICE)
    assert response.status_code == 303 and response.location.endswith("/admin/services")
    assert service(staff, "cupping") == {"slug": "cupping", "name": "Cupping", "description": "Glass cups on the back.",
                                         "minutes": 45, "buffer_minutes": 10, "new_patients_only": False,
                                         "is_active": True, "hands_on": "", "needs_bed": False}
    # Patients see it once a practitioner offers it, not before.
    listed = staff.test_client().get("/api/v1/services").get_json()["services"]
    assert "cupping" not in [s["slug"] for s in listed]
    assert "Cupping" not in visits_offered(staff)
    with staff.app_context():
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        ben.services.append(db.session.scalar(sa.select(Service).where(Service.slug == "cupping")))
        db.session.commit()
    listed = staff.test_client().get("/api/v1/services").get_json()["services"]
    assert "cupping" in [s["slug"] for s in listed]
    assert "Cupping" in visits_offered(staff)


@pytest.mark.parametrize("changes, field, message", [
    ({"slug": "short"}, "slug", "There is already a service with the short name short"),
    ({"slug": "Cupping Now"}, "slug", "Short name must be lower-case letters, digits and single hyphens"),
    ({"slug": "-cupping"}, "slug", "Short name must be lower-case letters"),
    ({"slug": ""}, "slug", "Enter a short name for web addresses"),
    ({"slug": "c" * 61}, "slug", "Short name must be 60 characters or fewer"),
    ({"minutes": "4"}, "minutes", "Length must be between 5 and 480 minutes"),
    ({"minutes": "481"}, "minutes", "Length must be between 5 and 480 minutes"),
    ({"buffer_minutes": "-5"}, "buffer_minutes", "Buffer must be between 0 and 240 minutes"),
    ({"buffer_minutes": "lots"}, "buffer_minutes", "Enter the buffer as a whole number of minutes"),
    ({"name": " "}, "name", "Enter the service&#39;s name"),
    ({"description": "d" * 2001}, "description", "Description must be 2000 characters or fewer"),
    ({"description": "nul\x00byte"}, "description", "Description (optional) has a character that cannot be stored"),
])
def test_a_wrong_new_service_is_refused_with_a_message(staff, admin, changes, field, message):  # noqa: F811
    response = submit(admin, "/admin/services/new", NEW_SERVICE | changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'href="#{field}"' in page and message in page
    assert 'value="Cupping"' in page or field == "name"
    assert service(staff, "cupping") is None
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Service)) == 2


def services_for(admin) -> dict[str, str]:
    """The services list as the admin reads it: each service's name and whom it is offered to online."""
    rows = re.findall(r"<tr>\s*<td><a [^>]*>([^<]+)</a></td>(?:\s*<td>[^<]*</td>){2}\s*<td>([^<]+)</td>",
                      admin.get("/admin/services").get_data(as_text=True))
    return dict(rows)


def test_the_services_list_says_whom_each_visit_is_offered_to_online(staff, admin):  # noqa: F811
    # With a visit for new patients, the others are what returning patients are offered online.
    assert services_for(admin) == {"Consultation": "New patients", "Short treatment": "Returning patients"}
    form = admin.get("/admin/services/consult").get_data(as_text=True)
    assert "New patients are offered only the visits for new patients" in form
    assert submit(admin, "/admin/services/consult", {"name": "Consultation", "minutes": "60", "buffer_minutes": "15",
                                                     "is_active": "y"}).status_code == 303  # the box unchecked
    assert services_for(admin) == {"Consultation": "Everyone", "Short treatment": "Everyone"}


def test_editing_a_service_keeps_its_slug_and_deactivating_keeps_its_visits(staff, admin):  # noqa: F811
    made = book_online(staff)  # a "short" visit on Tuesday
    page = admin.get("/admin/services/short").get_data(as_text=True)
    assert 'name="slug"' not in page and "<code>short</code>" in page
    response = submit(admin, "/admin/services/short", {"slug": "renamed", "name": "Short visit", "description": "",
                                                       "minutes": "40", "buffer_minutes": "5"})
    assert response.status_code == 303
    assert "Patients can no longer book it. 1 booked visit is kept" in admin.get(response.location).get_data(as_text=True)
    assert service(staff, "short") == {"slug": "short", "name": "Short visit", "description": "", "minutes": 40,
                                            "buffer_minutes": 5, "new_patients_only": False, "is_active": False,
                                            "hands_on": "", "needs_bed": False}
    assert service(staff, "renamed") is None
    client = staff.test_client()
    assert "short" not in [s["slug"] for s in client.get("/api/v1/services").get_json()["services"]]
    assert client.get("/api/v1/slots?service=short").status_code == 404
    assert "Short visit" not in visits_offered(staff)
    with staff.app_context():
        kept = db.session.scalar(sa.select(Appointment).where(Appointment.reference == made["reference"]))
        assert kept.status.value == "booked" and kept.service.slug == "short"
    assert "Not bookable" in admin.get("/admin/services").get_data(as_text=True)


# --- practitioners ----------------------------------------------------------------------

def test_an_admin_adds_a_practitioner_then_sets_their_hours_on_the_desk_page(staff, admin):  # noqa: F811
    page = admin.get("/admin/practitioners/new").get_data(as_text=True)
    assert "<fieldset" in page and "<legend" in page and "Services they offer" in page
    response = submit(admin, "/admin/practitioners/new", {"slug": "cleo", "name": "Cleo New", "bio": "Twenty years.",
                                                          "services": ["short", "consult"], "is_active": "y"})
    assert response.status_code == 303 and response.location.endswith("/desk/practitioners/cleo/hours")
    assert practitioner(staff, "cleo") == {"slug": "cleo", "name": "Cleo New", "bio": "Twenty years.", "npi": None,
                                           "license_number": None, "services": ["consult", "short"], "is_active": True}
    edit = admin.get("/admin/practitioners/cleo").get_data(as_text=True)
    assert 'href="/desk/practitioners/cleo/hours"' in edit and 'href="/desk/practitioners/cleo/time-off"' in edit
    assert 'name="mon"' not in edit  # hours are the desk page's, not copied here


@pytest.mark.parametrize("changes, field, message", [
    ({"slug": "ana"}, "slug", "There is already a practitioner with the short name ana"),
    ({"slug": "Cleo"}, "slug", "Short name must be lower-case letters"),
    ({"name": ""}, "name", "Enter the practitioner&#39;s name"),
    ({"services": ["short", "no-such-service"]}, "services", "Select only from the list below"),
    ({"bio": "b" * 4001}, "bio", "Introduction must be 4000 characters or fewer"),
])
def test_a_wrong_new_practitioner_is_refused_with_a_message(staff, admin, changes, field, message):  # noqa: F811
    data = {"slug": "cleo", "name": "Cleo New", "services": ["short"], "is_active": "y"} | changes
    response = submit(admin, "/admin/practitioners/new", data)
    page = response.get_data(as_text=True)
    target = f"{field}-0" if field == "services" else field
    assert response.status_code == 200 and f'href="#{target}"' in page and message in page
    assert practitioner(staff, "cleo") is None
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Practitioner)) == 2


def test_editing_a_practitioner_changes_services_and_can_take_them_off_booking(staff, admin):  # noqa: F811
    response = submit(admin, "/admin/practitioners/ben", {"name": "Ben Changed", "bio": "Hello.",
                                                          "services": ["consult"], "is_active": "y"})
    assert response.status_code == 303
    assert practitioner(staff, "ben") == {"slug": "ben", "name": "Ben Changed", "bio": "Hello.", "npi": None,
                                          "license_number": None, "services": ["consult"], "is_active": True}
    book_online(staff, practitioner="ana")
    response = submit(admin, "/admin/practitioners/ana", {"name": "Ana Test", "services": ["short"]})
    assert "Patients can no longer book with them. 1 booked visit is kept" in admin.get(response.location).get_data(as_text=True)
    listed = staff.test_client().get("/api/v1/practitioners").get_json()["practitioners"]
    assert [p["slug"] for p in listed] == ["ben"]
    assert "Pat Caller" in admin.get("/desk?date=2027-03-09").get_data(as_text=True)  # the visit is still there


# --- what the receipt for insurers prints ---------------------------------------------------

def test_an_admin_records_the_npi_license_and_tax_id_for_receipts(staff, admin):  # noqa: F811
    page = admin.get("/admin/practitioners/ana").get_data(as_text=True)
    assert 'id="npi"' in page and 'id="license_number"' in page and "National Provider Identifier" in page
    response = submit(admin, "/admin/practitioners/ana", {"name": "Ana Test", "services": ["short"], "is_active": "y",
                                                          "npi": " 1234-567893 ", "license_number": " L.Ac.  12345 "})
    assert response.status_code == 303
    assert (practitioner(staff, "ana")["npi"], practitioner(staff, "ana")["license_number"]) == ("1234567893",
                                                                                             "L.Ac. 12345")
    assert submit(admin, "/admin/settings", SETTINGS | {"tax_id": "12 3456789"}).status_code == 303
    assert settings_now(staff)["tax_id"] == "12-3456789"
    assert "Receipts for insurers" in admin.get("/admin/settings").get_data(as_text=True)
    # Emptied boxes: nothing printed.
    assert submit(admin, "/admin/settings", SETTINGS | {"tax_id": ""}).status_code == 303
    assert settings_now(staff)["tax_id"] is None
    assert submit(admin, "/admin/practitioners/ana", {"name": "Ana Test", "services": ["short"], "is_active": "y",
                                                      "npi": "", "license_number": ""}).status_code == 303
    assert (practitioner(staff, "ana")["npi"], practitioner(staff, "ana")["license_number"]) == (None, None)


@pytest.mark.parametrize("typed, message", [
    ("1234567890", "1234567890 is not an NPI: its last digit does not match the first nine (the NPI check digit)"),
    ("123456789", "Enter the NPI as its 10 digits, like 1234567893, or leave it empty"),
    ("12345678931", "Enter the NPI as its 10 digits"),
    ("NPI1234567", "Enter the NPI as its 10 digits"),
    ("１２３４５６７８９３", "Enter the NPI as its 10 digits"),  # full-width digits are not the NPI's
])
def test_a_wrong_npi_gets_a_message_and_changes_nothing(staff, admin, typed, message):  # noqa: F811
    before = practitioner(staff, "ana")
    response = submit(admin, "/admin/practitioners/ana", {"name": "Ana Renamed", "services": ["short"],
                                                          "is_active": "y", "npi": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'href="#npi"' in page and message in page
    assert f'value="{typed}"' in page and 'value="Ana Renamed"' in page  # what was typed comes back
    assert practitioner(staff, "ana") == before


@pytest.mark.parametrize("field, typed, message", [
    ("license_number", "L" * 41, "The license number must be 40 characters or fewer"),
    ("license_number", "L.Ac.\x0712", "The license number has a character that cannot be stored"),
    ("license_number", "L.Ac.\x0012", "License number (optional) has a character that cannot be stored"),
])
def test_a_wrong_license_number_gets_a_message(staff, admin, field, typed, message):  # noqa: F811
    before = practitioner(staff, "ana")
    response = submit(admin, "/admin/practitioners/ana", {"name": "Ana Test", "services": ["short"], field: typed})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert practitioner(staff, "ana") == before


@pytest.mark.parametrize("typed", ["12-345678", "123-456789", "12-3456789X", "EIN 12-3456789", "1234567890"])
def test_a_wrong_tax_id_gets_a_message_and_changes_nothing(staff, admin, typed):  # noqa: F811
    before = settings_now(staff)
    response = submit(admin, "/admin/settings", SETTINGS | {"name": "Renamed", "tax_id": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'href="#tax_id"' in page
    assert "Enter the tax ID (EIN) as 9 digits in the form 12-3456789, or leave it empty" in page
    assert f'value="{typed}"' in page and settings_now(staff) == before


# --- staff accounts -----------------------------------------------------------------------

def test_an_admin_reactivates_an_account_but_cannot_deactivate_their_own(staff, admin):  # noqa: F811
    with staff.app_context():
        ids = {role: db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == email))
               for role, email in ACCOUNTS.items()}
    page = admin.get("/admin/staff").get_data(as_text=True)
    admin.post(f"/admin/staff/{ids[StaffRole.RECEPTIONIST]}/deactivate", data={"csrf_token": csrf_from(page)})
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert "Reactivate" in page
    assert admin.post(f"/admin/staff/{ids[StaffRole.RECEPTIONIST]}/reactivate",
                      data={"csrf_token": csrf_from(page)}).status_code == 303
    own = admin.post(f"/admin/staff/{ids[StaffRole.ADMIN]}/deactivate", data={"csrf_token": csrf_from(page)})
    assert "You cannot deactivate your own account" in admin.get(own.location).get_data(as_text=True)
    with staff.app_context():
        assert all(db.session.get(StaffAccount, i).is_active for i in ids.values())
    assert admin.post("/admin/staff/2147483647/reactivate", data={"csrf_token": csrf_from(page)}).status_code == 404


def test_adding_an_account_for_a_name_that_ends_in_a_full_stop_says_so_once(staff, admin):  # noqa: F811
    added = submit(admin, "/admin/staff", {"name": "Cleo New, L.Ac.", "email": "cleo@example.com",
                                           "role": "receptionist", "password": "a long enough password"})
    assert added.status_code == 303
    assert "Account added for Cleo New, L.Ac. They choose" in admin.get(added.location).get_data(as_text=True)


def test_a_staff_name_with_a_hidden_character_is_refused_and_no_account_is_added(staff, admin):  # noqa: F811
    refused = submit(admin, "/admin/staff", {"name": "Cleo \u202eweN", "email": "cleo@example.com",
                                             "role": "receptionist", "password": "a long enough password"})
    assert refused.status_code == 200
    assert "Full name must not include hidden characters, such as a right-to-left mark" in refused.get_data(as_text=True)
    with staff.app_context():
        assert db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == "cleo@example.com")) is None


# --- the round trip ---------------------------------------------------------------------

def test_edits_through_the_pages_export_and_import_into_a_fresh_database(request, staff, admin, tmp_path):  # noqa: F811
    load_start_back(staff, tmp_path)
    assert submit(admin, "/admin/settings", SETTINGS | {
        "name": "Round Trip Clinic", "timezone": "America/New_York", "emergency_number": "911",
        "slot_step_minutes": "20", "min_notice_hours": "0", "max_advance_days": "90",
        "cancellation_notice_hours": "12", "retention_years": "8", "start_back_enabled": "y",
        "locale": "es_US", "languages": ["es"], "tax_id": "987654321"} | ADDRESS).status_code == 303
    assert submit(admin, "/admin/rooms/new", {"slug": "room-1", "name": "Room one", "beds": "4", "is_active": "y",
                                              "name_es": "Sala uno"}).status_code == 303
    assert submit(admin, "/admin/services/new", NEW_SERVICE | {"new_patients_only": "y", "hands_on": "0-10, 35-45",
                                                               "needs_bed": "y"}).status_code == 303
    assert submit(admin, "/admin/services/consult", {"name": "Consultation", "description": "First time here?",
                                                     "minutes": "90", "buffer_minutes": "0",
                                                     "name_es": "Consulta"}).status_code == 303
    assert submit(admin, "/admin/practitioners/new", {"slug": "cleo", "name": "Cleo New", "bio": "Line one.\nLine two.",
                                                      "npi": "1245319599", "license_number": "L.Ac. 12345",
                                                      "services": ["cupping", "short"], "is_active": "y"}).status_code == 303
    assert submit(admin, "/admin/practitioners/ben", {"name": "Ben Test", "services": []}).status_code == 303

    def snapshot(app) -> dict:
        with app.app_context():
            return {"clinic": admin_operations.clinic_values(db.session.get(Clinic, 1)),
                    "services": [admin_operations.service_values(s) for s in admin_operations.all_services()],
                    "practitioners": [admin_operations.practitioner_values(p) for p in admin_operations.all_practitioners()],
                    "rooms": [admin_operations.room_values(r) for r in admin_operations.all_rooms()],
                    "file": export_clinic_file()}

    here = snapshot(staff)
    assert here["clinic"]["timezone"] == "America/New_York" and here["clinic"]["start_back_enabled"] is True
    assert (here["clinic"]["locale"], here["clinic"]["languages"]) == ("es_US", ["en", "es"])
    assert here["clinic"]["directions"] == ADDRESS["directions"] and here["clinic"]["tax_id"] == "98-7654321"
    assert (here["practitioners"][2]["npi"], here["practitioners"][2]["license_number"]) == ("1245319599", "L.Ac. 12345")
    assert {"slug": "consult", "name": "Consultation", "description": "First time here?", "minutes": 90,
            "buffer_minutes": 0, "new_patients_only": False, "is_active": False, "hands_on": "", "needs_bed": False,
            "name_es": "Consulta", "description_es": ""} in here["services"]  # no Spanish description: the own
    assert here["practitioners"][1]["is_active"] is False and here["practitioners"][1]["services"] == []
    assert here["rooms"] == [{"slug": "room-1", "name": "Room one", "beds": 4, "is_active": True, "name_es": "Sala uno"}]
    assert {"hands_on": "0-10, 35-45", "needs_bed": True}.items() <= here["services"][2].items()
    kind = "postgresql" if "postgresql" in staff.config["SQLALCHEMY_DATABASE_URI"] else "sqlite"
    with fresh_database(request, kind, tmp_path / "second") as second_url:
        other = create_app(app_config(second_url))
        with other.app_context():
            import_clinic_file(here["file"])
        assert snapshot(other) == here
        close_database(other)


def visits_offered(app) -> str:
    """The list of visits a returning patient is offered online (the first question answered first)."""
    from tests.test_booking_journey import PatientBrowser

    patient = PatientBrowser(app)
    patient.answer_first_visit("yes")
    return patient.get("/book").get_data(as_text=True)


def test_a_zero_is_shown_as_a_zero_and_saves_as_it_stands(staff, admin):  # noqa: F811
    # A buffer or notice of 0 was shown as an empty box, which the same page then refused.
    assert re.search(r'id="buffer_minutes" name="buffer_minutes"\s+type="text" value="0"',
                     admin.get("/admin/services/short").get_data(as_text=True))
    assert re.search(r'id="buffer_minutes" name="buffer_minutes"\s+type="text" value="0"',
                     admin.get("/admin/services/new").get_data(as_text=True))
    assert submit(admin, "/admin/settings", SETTINGS | {"min_notice_hours": "0"}).status_code == 303
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert re.search(r'id="min_notice_hours" name="min_notice_hours"\s+type="text" value="0"', page)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert admin.post("/admin/services/short", data={"csrf_token": token, "name": "Short treatment"}).status_code == 303


# --- a new password for someone who forgot theirs -------------------------------------------

SET_BY_ADMIN = "given by the admin 42"


def account_ids(app) -> dict[StaffRole, int]:
    with app.app_context():
        return {role: db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == email))
                for role, email in ACCOUNTS.items()}


def test_an_admin_sets_a_new_password_and_the_person_then_chooses_their_own(staff, admin, login_as):  # noqa: F811
    ids = account_ids(staff)
    desk = login_as(StaffRole.RECEPTIONIST)
    listing = admin.get("/admin/staff").get_data(as_text=True)
    path = f"/admin/staff/{ids[StaffRole.RECEPTIONIST]}/password"
    assert f'href="{path}"' in listing and f'/admin/staff/{ids[StaffRole.ADMIN]}/password' not in listing
    assert '<a href="/staff/password">Change yours</a>' in listing  # an admin's own, with the current one
    page = admin.get(path).get_data(as_text=True)
    assert "Set a new password" in page and ACCOUNTS[StaffRole.RECEPTIONIST] in page

    short = submit(admin, path, {"password": "too short"})
    assert short.status_code == 200 and "Password must be at least 12 characters" in short.get_data(as_text=True)
    assert "too short" not in short.get_data(as_text=True) and desk.get("/desk").status_code == 200

    done = submit(admin, path, {"password": SET_BY_ADMIN})
    assert done.status_code == 303 and done.location == "/admin/staff"
    listing = admin.get("/admin/staff").get_data(as_text=True)
    assert ("New password set for Receptionist. Their sessions have ended. They choose their own password when they "
            "next sign in.") in listing and "Their own chosen at next sign-in" in listing
    assert desk.get("/desk").status_code == 302  # every session of theirs ended
    with staff.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password_set"))
        assert (entry.staff_id, entry.staff_name, entry.subject_staff_id, entry.subject_name, entry.address) == (
            ids[StaffRole.ADMIN], "Admin", ids[StaffRole.RECEPTIONIST], "Receptionist", "127.0.0.1")
    audit = admin.get("/admin/audit?action=password_set").get_data(as_text=True)
    assert "Set a new password" in audit and "Staff account: Receptionist" in audit

    # Signing in with it leads to choosing their own, and no other staff page opens until then.
    person = staff.test_client()
    assert sign_in(person, ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 401  # the old one is gone
    signed_in = sign_in(person, ACCOUNTS[StaffRole.RECEPTIONIST], SET_BY_ADMIN, next_page="/desk/week")
    assert signed_in.status_code == 303 and signed_in.location == "/staff/password?next=/desk/week"
    for other in ("/desk", "/desk/patients", "/staff/second-factor"):
        sent = person.get(other)
        assert sent.status_code == 303 and sent.location == f"/staff/password?next={other}"
    form = submit(person, "/desk/waitlist/add", {}, page="/staff/password")
    assert form.status_code == 303 and form.location == "/staff/password"  # a form: nothing to return to
    page = person.get("/staff/password?next=%2Fdesk%2Fweek").get_data(as_text=True)
    assert "Your password was set by the clinic's admin, who knows it" in page
    assert change_password(person, current=SET_BY_ADMIN, new=SET_BY_ADMIN,
                           path="/staff/password?next=%2Fdesk%2Fweek").status_code == 200  # not the admin's again
    chosen = change_password(person, current=SET_BY_ADMIN, path="/staff/password?next=%2Fdesk%2Fweek")
    assert chosen.status_code == 303 and chosen.location == "/desk/week"
    assert person.get("/desk").status_code == 200
    with staff.app_context():
        assert not db.session.get(StaffAccount, ids[StaffRole.RECEPTIONIST]).must_change_password
    assert [action for action, *_ in audit_of_passwords(staff)] == ["password_set", "password_change"]
    assert "Their own chosen at next sign-in" not in admin.get("/admin/staff").get_data(as_text=True)


def test_only_an_admin_sets_someone_s_password_and_not_their_own_there(staff, admin, login_as):  # noqa: F811
    ids = account_ids(staff)
    path = f"/admin/staff/{ids[StaffRole.PRACTITIONER]}/password"
    for role in (StaffRole.RECEPTIONIST, StaffRole.PRACTITIONER):
        other = login_as(role)
        assert other.get(path).status_code == 403
        token = csrf_from(other.get("/staff/password").get_data(as_text=True))
        assert other.post(path, data={"csrf_token": token, "password": SET_BY_ADMIN}).status_code == 403
    assert staff.test_client().get(path).status_code == 302  # not signed in: sent to sign in
    with staff.app_context():
        refused = db.session.scalars(sa.select(AuditEntry.page).where(AuditEntry.action == "refused")).all()
    assert refused == [f"GET {path} (403)", f"POST {path} (403)"] * 2
    assert admin.post(path, data={"password": SET_BY_ADMIN}).status_code == 400  # no CSRF token
    own = submit(admin, f"/admin/staff/{ids[StaffRole.ADMIN]}/password", {"password": SET_BY_ADMIN},
                 page="/admin/staff")
    assert own.status_code == 303 and own.location == "/staff/password"
    assert "To change your own password, use this page" in admin.get(own.location).get_data(as_text=True)
    assert admin.get("/admin/staff/2147483647/password").status_code == 404
    assert audit_of_passwords(staff) == []
    for role in ACCOUNTS:  # nobody's password changed
        assert sign_in(staff.test_client(), ACCOUNTS[role]).status_code == 303


def test_a_deactivated_account_given_a_new_password_signs_in_with_it_once_reactivated(staff, admin):  # noqa: F811
    ids = account_ids(staff)
    submit(admin, f"/admin/staff/{ids[StaffRole.RECEPTIONIST]}/deactivate", {}, page="/admin/staff")
    done = submit(admin, f"/admin/staff/{ids[StaffRole.RECEPTIONIST]}/password", {"password": SET_BY_ADMIN})
    assert "Their account is deactivated: they can sign in with it once it is reactivated" in admin.get(
        done.location).get_data(as_text=True)
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST], SET_BY_ADMIN).status_code == 401
    submit(admin, f"/admin/staff/{ids[StaffRole.RECEPTIONIST]}/reactivate", {}, page="/admin/staff")
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST], SET_BY_ADMIN).location == "/staff/password"


def test_someone_added_by_an_admin_chooses_their_own_password_at_first_sign_in(staff, admin):  # noqa: F811
    added = submit(admin, "/admin/staff", {"name": "Dee New", "email": "dee@example.org", "role": "receptionist",
                                           "password": SET_BY_ADMIN})
    assert "They choose their own password when they first sign in." in admin.get(added.location).get_data(as_text=True)
    person = staff.test_client()
    assert sign_in(person, "dee@example.org", SET_BY_ADMIN).location == "/staff/password"
    assert change_password(person, current=SET_BY_ADMIN).location == "/desk"
    assert person.get("/desk").status_code == 200
