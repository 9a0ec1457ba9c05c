"""The receipt for a patient's insurer (superbill) from their manage link, on both databases:
kind words before the visit is over or while its note is unsigned, the codes of the signed note
after, never for a wrong, cancelled or missed visit's link, in English and Spanish, and nothing
about the patient's health in its address.

The clock is Monday 8 March 2027, 08:00 in Los Angeles; the visit is Tuesday at 10:00 with Ana.
"""

from __future__ import annotations

import html
import re

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Clinic, Practitioner, StaffRole
from booking.transaction import write_transaction
from tests.notes_helpers import write_note
from tests.test_booking_journey import PatientBrowser, text
from tests.test_clinician import appointment_id, manage_path
from tests.test_desk import book_online
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)

LATER = "Your receipt for your insurer will be here after your visit"
NOT_A_BILL = "This is not a bill, and not a receipt of payment."


def page(app, path: str) -> tuple[int, str]:
    response = PatientBrowser(app).get(path)
    return response.status_code, html.unescape(text(response))


def words(page_text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page_text).split())


def identify(app) -> None:
    """The clinic's tax id, Ana's NPI and licence, and an address: what the receipt prints."""
    with app.app_context(), write_transaction():
        clinic = db.session.get(Clinic, 1)
        clinic.tax_id, clinic.address_street, clinic.address_city = "12-3456789", "1 Main Street", "Los Angeles"
        ana = db.session.scalar(db.select(Practitioner).where(Practitioner.slug == "ana"))
        ana.npi, ana.license_number = "1234567893", "AC 12345"


def test_before_the_visit_the_receipt_page_says_when_it_will_be_there(staff, clock):  # noqa: F811
    booking = book_online(staff)
    status, shown = page(staff, manage_path(booking) + "/receipt")
    assert status == 200 and LATER in shown and "97810" not in shown and "M54" not in shown
    assert "/receipt" not in page(staff, manage_path(booking))[1]
    write_note(staff, appointment_id(staff, booking), status="arrived")  # signed early: still before its end
    status, shown = page(staff, manage_path(booking) + "/receipt")
    assert status == 200 and LATER in shown and "9781" not in shown


def test_after_the_visit_an_unsigned_note_gives_no_codes(staff, clock):  # noqa: F811
    booking = book_online(staff)
    write_note(staff, appointment_id(staff, booking), signed=False)
    clock.advance(days=2)
    status, shown = page(staff, manage_path(booking) + "/receipt")
    assert status == 200 and LATER in shown and "9781" not in shown and "M54" not in shown
    status, manage = page(staff, manage_path(booking))
    assert status == 200 and "/receipt" not in manage
    assert "will be here once your practitioner has completed the record" in words(manage)


def test_after_the_visit_the_signed_note_gives_the_codes_and_units(staff, clock):  # noqa: F811
    identify(staff)
    booking = book_online(staff)
    write_note(staff, appointment_id(staff, booking))  # 38 minutes with electroacupuncture: 3 units
    clock.advance(days=2)
    status, manage = page(staff, manage_path(booking))
    link = re.search(r'href="([^"]*/receipt)"', manage).group(1)
    assert status == 200 and link == manage_path(booking) + "/receipt" and "Receipt for your insurer" in manage
    assert re.fullmatch(r"/manage/[A-Za-z0-9_-]{43}/receipt", link)  # the link's token: nothing else
    status, shown = page(staff, link)
    assert status == 200 and LATER not in shown
    plain = words(shown)
    for expected in ("Test Clinic", "1 Main Street", "Tax ID (EIN) 12-3456789", "NPI 1234567893",
                     "License number AC 12345", "Patient Pat Caller", "Date of birth April 2, 1980",
                     "Date of service March 9, 2027", "Place of service 11 (office)",
                     "A M54.50 Low back pain, unspecified", "B M54.41 Lumbago with sciatica, right side",
                     "97813 Acupuncture, with electrical stimulation, initial 15 minutes", "one-on-one contact 1",
                     "97814 Acupuncture, with electrical stimulation, each additional 15 minutes",
                     "re-insertion of needles 2", NOT_A_BILL, "ask the clinic for the amount you paid",
                     "Print this page from your browser"):
        assert expected in plain, expected
    assert 'data-print hidden' in shown and "97810" not in shown and "97811" not in shown
    # The note's words stay in the note: only codes leave it.
    assert "Tonify Kidney qi" not in shown and "BL23" not in shown


def test_the_receipt_letters_the_primary_diagnosis_first(staff, login_as, clock):  # noqa: F811
    """Ticked M54.42 then M54.50 (the list has M54.50 first), with M54.42 chosen as primary: the receipt's A."""
    booking = book_online(staff)
    visit = appointment_id(staff, booking)
    write_note(staff, visit, a_diagnoses=["M54.50", "M54.42"], a_primary_diagnosis="M54.42")
    clock.advance(days=2)
    plain = words(page(staff, manage_path(booking) + "/receipt")[1])
    assert "A M54.42 Lumbago with sciatica, left side B M54.50 Low back pain, unspecified" in plain
    practitioner = login_as(StaffRole.PRACTITIONER)
    record = words(html.unescape(text(practitioner.get(f"/clinician/visits/{visit}/print"))))
    assert "M54.42 Lumbago with sciatica, left side (primary); M54.50 Low back pain, unspecified" in record


def test_without_electro_the_plain_codes_and_without_identifiers_none_printed(staff, clock):  # noqa: F811
    booking = book_online(staff)
    write_note(staff, appointment_id(staff, booking), t_electro=[], t_contact_minutes="25", t_reinsertions="1", a_diagnoses="M54.50")
    clock.advance(days=2)
    plain = words(page(staff, manage_path(booking) + "/receipt")[1])
    assert "97810 Acupuncture, without electrical stimulation, initial" in plain and "contact 1" in plain
    assert "97811 Acupuncture, without electrical stimulation, each additional" in plain
    assert "9781" + "3" not in plain and "M54.41" not in plain
    assert "NPI" not in plain and "Tax ID" not in plain and "License number" not in plain


def test_wrong_cancelled_missed_and_old_links_get_404(staff, clock):  # noqa: F811
    assert page(staff, "/manage/not-a-real-token/receipt")[0] == 404
    cancelled = book_online(staff)
    with staff.app_context():
        db.session.get(Appointment, appointment_id(staff, cancelled)).status = AppointmentStatus.CANCELLED
        db.session.commit()
    assert page(staff, manage_path(cancelled) + "/receipt")[0] == 404
    missed = book_online(staff, start="2027-03-10T10:00:00-08:00", name="Bo Missed", email="bo@example.com")
    write_note(staff, appointment_id(staff, missed), status="arrived")  # then marked missed after all
    with staff.app_context():
        db.session.get(Appointment, appointment_id(staff, missed)).status = AppointmentStatus.NO_SHOW
        db.session.commit()
    kept = book_online(staff, start="2027-03-11T10:00:00-08:00", name="Kim Kept", email="kim@example.com")
    write_note(staff, appointment_id(staff, kept))
    clock.advance(days=5)
    assert page(staff, manage_path(missed) + "/receipt")[0] == 404
    assert page(staff, manage_path(missed))[0] == 404  # a missed visit's link expired with it
    assert page(staff, manage_path(kept) + "/receipt")[0] == 200
    for after in ("/cancel", "/reschedule", "/calendar.ics", "/intake", "/consent"):  # only pages that change nothing
        assert page(staff, manage_path(kept) + after)[0] == 404, after
    clock.advance(days=366)
    assert page(staff, manage_path(kept) + "/receipt")[0] == 404 and page(staff, manage_path(kept))[0] == 404


def test_the_receipt_speaks_spanish(staff, clock):  # noqa: F811
    from tests.test_languages import offer_spanish

    offer_spanish(staff)
    booking = book_online(staff)
    visit = appointment_id(staff, booking)
    with staff.app_context():
        db.session.get(Appointment, visit).language = "es"
        db.session.commit()
    status, before = page(staff, manage_path(booking) + "/receipt")
    assert status == 200 and 'lang="es"' in before and LATER not in before
    write_note(staff, visit)
    clock.advance(days=2)
    status, shown = page(staff, manage_path(booking) + "/receipt")
    plain = words(shown)
    assert status == 200 and 'lang="es"' in shown and NOT_A_BILL not in plain
    assert "Recibo para su aseguradora" in plain and "No es una factura" in plain and "97813" in plain
    assert "Low back pain, unspecified" in plain  # the codes' descriptions, in the insurer's English
