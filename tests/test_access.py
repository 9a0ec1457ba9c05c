"""Who may reach what: every route in the app's URL map, for each kind of visitor.

The table below must name every endpoint: a new route without a rule here fails the
test, so access is decided on purpose, never by accident.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (Appointment, ConsentVersion, IdentityCheck, OutboxMessage, PrescriptionTemplate, Room,
                            StaffAccount, StaffRole, TimeOff)
from booking.operations import feeds
from booking.scheduling import UTC
from booking.tokens import hash_token
from tests.test_staff import ACCOUNTS, csrf_from, login_as, staff  # noqa: F401 (fixtures)

VISITORS = ("anonymous", "receptionist", "practitioner", "admin")

# endpoint -> (method, expected status for anonymous, receptionist, practitioner, admin)
RULES = {
    # patients' pages: open to anyone (a manage link is its own key)
    "public.index": ("GET", 200, 200, 200, 200),
    "public.first_visit": ("GET", 200, 200, 200, 200),
    "public.choose_service": ("GET", 302, 302, 302, 302),  # the first-visit question comes first
    "public.choose_practitioner": ("GET", 302, 302, 302, 302),  # no booking started yet
    "public.choose_time": ("GET", 302, 302, 302, 302),
    "public.safety_check": ("GET", 302, 302, 302, 302),
    "public.urgent": ("GET", 302, 302, 302, 302),
    "public.your_details": ("GET", 302, 302, 302, 302),
    "public.check_answers": ("GET", 302, 302, 302, 302),
    "public.emergency": ("GET", 200, 200, 200, 200),
    "public.confirmation": ("GET", 404, 404, 404, 404),
    "public.healthz": ("GET", 200, 200, 200, 200),
    "manage.show": ("GET", 200, 200, 200, 200),
    "manage.cancel_visit": ("GET", 200, 200, 200, 200),
    "manage.reschedule": ("GET", 200, 200, 200, 200),
    "manage.confirm_move": ("GET", 303, 303, 303, 303),  # no time chosen: back to the list
    "manage.calendar": ("GET", 200, 200, 200, 200),
    "manage.recheck": ("GET", 200, 200, 200, 200),  # the patient's link is the key, whoever holds it
    "manage.recheck_result": ("GET", 303, 303, 303, 303),  # nothing urgent answered: back to the booking
    "manage.consent_form": ("GET", 200, 200, 200, 200),  # the consent to sign: the link is the key
    "manage.receipt": ("GET", 200, 200, 200, 200),
    "public.choose_course": ("GET", 302, 302, 302, 302),  # no booking started yet
    "public.course_times": ("GET", 302, 302, 302, 302),
    "manage.cancel_rest_of_course": ("GET", 302, 302, 302, 302),  # a visit in no course: to its own cancel page  # before the visit: when the receipt will be there; the link is the key
    "intake.start": ("GET", 200, 200, 200, 200),
    "intake.question": ("GET", 200, 200, 200, 200),
    "intake.check": ("GET", 303, 303, 303, 303),  # nothing answered yet
    "intake.sent": ("GET", 302, 302, 302, 302),
    "intake.get_help": ("GET", 302, 302, 302, 302),  # no red flag answered: on to the questions
    "articles.index": ("GET", 200, 200, 200, 200),
    "articles.article": ("GET", 200, 200, 200, 200),
    "api.services": ("GET", 200, 200, 200, 200),
    "api.practitioners": ("GET", 200, 200, 200, 200),
    "api.slots": ("GET", 200, 200, 200, 200),
    "api.create_booking": ("POST", 422, 422, 422, 422),
    "api.openapi": ("GET", 200, 200, 200, 200),  # the API's description: public, like the API
    "feeds.calendar": ("GET", 200, 200, 200, 200),  # Ana's calendar link: the token is the key, not a sign-in
    "identity.confirm": ("GET", 200, 200, 200, 200),  # the emailed confirmation link is its own key
    "waitlist.join": ("GET", 200, 200, 200, 200),
    "waitlist.show": ("GET", 200, 200, 200, 200),  # a place on the waitlist: its secret link is the key
    "waitlist.offer": ("GET", 200, 200, 200, 200),
    "waitlist.decline_offer": ("POST", 303, 303, 303, 303),  # "No thanks": the next person is asked
    "waitlist.leave": ("GET", 200, 200, 200, 200),  # leaving asks first, on a page of its own
    "waitlist.left": ("GET", 302, 302, 302, 302),  # said once a place is left: this one still waits, to its page
    "waitlist.already": ("GET", 200, 200, 200, 200),  # joined again: the link went by email, never to the page
    "waitlist.visit": ("POST", 303, 303, 303, 303),  # no visit booked from the place: back to its page
    "api.join_waitlist": ("POST", 422, 422, 422, 422),
    # staff pages
    "auth.sign_in": ("GET", 200, 302, 302, 302),
    "auth.sign_out": ("POST", 302, 303, 303, 303),
    "auth.send_again": ("POST", 302, 303, 303, 303),  # staff with no carried form: to their start page
    "auth.enter_code": ("GET", 303, 302, 302, 302),  # no password step on this browser: back to sign in
    "auth.set_up_second_factor": ("GET", 303, 200, 200, 302),  # the admin's is on already: to its page
    "auth.second_factor": ("GET", 302, 200, 200, 200),
    "auth.password": ("GET", 302, 200, 200, 200),  # everyone's own, with the current one
    "desk.today": ("GET", 302, 200, 200, 200),
    "desk.week": ("GET", 302, 200, 200, 200),
    "desk.rooms": ("GET", 302, 200, 200, 200),  # every room's beds: staff see them as they see every calendar
    "desk.book": ("GET", 302, 200, 200, 200),  # the practitioner account is Ana's, and this is Ana's time
    "desk.appointment": ("GET", 302, 200, 200, 200),
    "desk.mark": ("POST", 302, 303, 303, 303),  # too early to mark arrived: refused with a message
    "desk.cancel": ("GET", 302, 200, 200, 200),
    "desk.cancel_rest_of_course": ("GET", 302, 303, 303, 303),  # a visit in no course: back to it, with why
    "desk.confirm_identity": ("POST", 302, 303, 403, 303),  # the desk checks who calls; never the practitioner themselves
    "desk.email_questions": ("POST", 302, 303, 303, 303),  # Ana's patient: each sends a new link
    "desk.move": ("GET", 302, 200, 200, 200),
    "desk.patients": ("GET", 302, 200, 200, 200),
    "desk.patient": ("GET", 302, 200, 200, 200),  # Ana's patient
    "desk.hours": ("GET", 302, 200, 403, 200),
    "desk.time_off": ("GET", 302, 200, 200, 200),  # a practitioner edits their own
    "desk_waitlist.day": ("GET", 302, 200, 403, 200),  # the waitlist: contact details are the desk's, not a practitioner's
    "desk_waitlist.add": ("GET", 302, 200, 403, 200),
    "desk_waitlist.offer": ("POST", 302, 303, 403, 303),  # no time chosen: back to the list, told why
    "desk_waitlist.remove": ("POST", 302, 303, 403, 303),  # no token: back to the list, told why
    "desk.confirm_remove_time_off": ("GET", 302, 200, 200, 200),  # only asks: Ana may remove her own
    "desk.remove_time_off": ("POST", 302, 303, 404, 404),  # the receptionist removed it: gone for the rest
    "clinician.my_day": ("GET", 302, 403, 200, 200),  # intakes: never the receptionist's
    "clinician.visit": ("GET", 302, 403, 200, 200),  # Ana's patient, Ana's visit
    "clinician.print_visit": ("GET", 302, 403, 200, 200),
    "clinician.export_visit": ("GET", 302, 403, 200, 200),
    "clinician.signed_consent": ("GET", 302, 403, 200, 200),  # a consent's text: never the receptionist's
    # only the patient's practitioner records it; sent without the box ticked, the form comes back with its error
    "clinician.consent_in_person": ("POST", 302, 403, 200, 403),
    "clinician.note": ("GET", 302, 403, 200, 200),  # a treatment note: never the receptionist's; the admin reads it
    # only the visit's practitioner writes; sent without the page's revision, it is shown again unsaved
    "clinician.write_note": ("POST", 302, 403, 200, 403),
    "clinician.autosave_note": ("POST", 302, 403, 409, 403),  # the same, as the page's script saves it (JSON)
    "clinician.add_addendum": ("POST", 302, 403, 200, 403),  # the note is not signed: told so on the page
    "clinician.delete_prescription": ("POST", 302, 403, 303, 403),  # Ana's own prescription
    "clinician.calendar_feed": ("GET", 302, 403, 200, 403),  # each practitioner's own; admins stop one in admin
    "clinician.new_calendar_link": ("POST", 302, 403, 200, 403),  # the new link is shown on the answer, once
    "clinician.stop_calendar_link": ("POST", 302, 403, 303, 403),
    "manage.progress": ("GET", 409, 409, 409, 409),  # a first visit: the full intake instead
    "admin.audit_log": ("GET", 302, 403, 403, 200),
    "admin.index": ("GET", 302, 403, 403, 200),
    "admin.settings": ("GET", 302, 403, 403, 200),
    "admin.services": ("GET", 302, 403, 403, 200),
    "admin.add_service": ("GET", 302, 403, 403, 200),
    "admin.edit_service": ("GET", 302, 403, 403, 200),
    "admin.rooms": ("GET", 302, 403, 403, 200),
    "admin.add_room": ("GET", 302, 403, 403, 200),
    "admin.edit_room": ("GET", 302, 403, 403, 200),
    "admin.practitioners": ("GET", 302, 403, 403, 200),
    "admin.add_practitioner": ("GET", 302, 403, 403, 200),
    "admin.edit_practitioner": ("GET", 302, 403, 403, 200),
    "admin.stop_calendar_link": ("POST", 302, 403, 403, 303),
    "admin.staff_accounts": ("GET", 302, 403, 403, 200),
    "admin.deactivate": ("POST", 302, 403, 403, 303),
    "admin.reactivate": ("POST", 302, 403, 403, 303),
    "admin.reset_second_factor": ("POST", 302, 403, 403, 303),
    "admin.set_password": ("GET", 302, 403, 403, 200),  # someone else's (Ana's): the admin's own is auth.password
    "admin.consent_text": ("GET", 302, 403, 403, 200),
    "admin.consent_version": ("GET", 302, 403, 403, 200),
    "admin.outbox_page": ("GET", 302, 403, 403, 200),
    "admin.outbox_message": ("GET", 302, 403, 403, 200),
    "admin.send_again": ("POST", 302, 403, 403, 303),
    # a patient's data rights: admins only, whoever the patient (Ana's own patient here)
    "rights.data_page": ("GET", 302, 403, 403, 200),
    "rights.data_file": ("GET", 302, 403, 403, 200),
    "rights.erase": ("GET", 302, 403, 403, 200),  # the confirmation; the POST is tested in test_rights.py
    "rights.erased": ("GET", 302, 403, 403, 200),
    "rights.erase_waiting": ("GET", 302, 403, 403, 200),  # someone only on the waitlist; POST: test_rights.py
}


@pytest.fixture
def visitors(staff, login_as):  # noqa: F811
    clients = {"anonymous": staff.test_client()}
    for role in (StaffRole.RECEPTIONIST, StaffRole.PRACTITIONER, StaffRole.ADMIN):
        clients[role.value] = login_as(role)
    return clients


@pytest.fixture
def url_values(staff):  # noqa: F811
    """A value for each URL parameter: a real manage token, article, step and account."""
    made = staff.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": "2027-03-09T10:00:00-08:00", "safety": [],
        "patient": {"name": "Access Test", "email": "access@example.com", "phone": "213 555 0100", "birth_date": "1980-01-01"},
    }).get_json()
    with staff.app_context():
        spare = db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == ACCOUNTS[StaffRole.PRACTITIONER]))
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == made["reference"]))
        time_off = TimeOff(practitioner_id=appointment.practitioner_id, reason="Training",
                           starts_at=datetime(2027, 3, 20, 17, tzinfo=UTC), ends_at=datetime(2027, 3, 21, 1, tzinfo=UTC))
        db.session.add(time_off)
        db.session.commit()
        message = db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.appointment_id == appointment.id))
        identity_token = "an-identity-link-for-the-access-test"
        db.session.add(IdentityCheck(appointment_id=appointment.id, token_hash=hash_token(identity_token),
                                     created_at=datetime(2027, 3, 8, tzinfo=UTC), expires_at=datetime(2027, 3, 15, tzinfo=UTC)))
        version = ConsentVersion(number=1, texts={"en": "Consent"}, created_at=datetime(2027, 3, 8, tzinfo=UTC),
                                 created_by="Access Test")
        db.session.add(version)
        template = PrescriptionTemplate(practitioner_id=appointment.practitioner_id, name="Kidney back",
                                        points=[{"code": "BL23", "side": "both", "technique": ""}],
                                        created_at=datetime(2027, 3, 8, tzinfo=UTC))
        db.session.add(template)
        db.session.add(Room(slug="room-1", name="Treatment room 1", beds=2))
        db.session.commit()
        from booking.models import OfferState, WaitlistOffer
        from booking.operations import waitlist
        from booking.operations.bookings import PatientDetails

        place = waitlist.join(waitlist.JoinRequest(
            waitlist.Wishes("short", "any", datetime(2027, 3, 9).date(), datetime(2027, 3, 20).date()),
            PatientDetails("Wait Access", "wait.access@example.com", "213 555 0100", datetime(1980, 1, 1).date())),
            datetime(2027, 3, 8, 16, tzinfo=UTC))
        offer = WaitlistOffer(entry_id=place.entry_id, practitioner_id=appointment.practitioner_id,
                              starts_at=datetime(2027, 3, 9, 19, tzinfo=UTC), sent_at=datetime(2027, 3, 8, 16, tzinfo=UTC),
                              expires_at=datetime(2027, 3, 8, 20, tzinfo=UTC), state=OfferState.OPEN)
        db.session.add(offer)
        db.session.commit()
        record_ids = {"entry_id": place.entry_id, "offer_id": offer.id, "waitlist_token": place.token,
                      "version_id": version.id, "template_id": template.id,"appointment_id": appointment.id, "patient_id": appointment.patient_id, "time_off_id": time_off.id,
                      "message_id": message, "feed_token": feeds.issue(appointment.practitioner_id),
                      "identity_token": identity_token}
    return record_ids | {
        "status": "arrived",
        "token": made["manage_url"].rsplit("/", 1)[1],
        "slug": "lower-back-pain-causes",
        "step": "episode",
        "account_id": spare,
        "filename": "site.css",
    }


def test_every_route_has_an_access_rule(staff):  # noqa: F811
    endpoints = {rule.endpoint for rule in staff.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints - RULES.keys() == set(), "new routes need a line in RULES"
    assert RULES.keys() - endpoints == set(), "RULES names routes that no longer exist"


@pytest.mark.parametrize("endpoint", sorted(RULES))
def test_access_matrix(staff, visitors, url_values, endpoint):  # noqa: F811
    method, *expected = RULES[endpoint]
    rule = next(r for r in staff.url_map.iter_rules() if r.endpoint == endpoint)
    # a slug names an article, except on pages of a practitioner or a service
    slug = {"desk": "ana", "admin.edit_practitioner": "ana", "admin.stop_calendar_link": "ana",
            "admin.edit_service": "short", "admin.edit_room": "room-1"}
    values = url_values | {"slug": slug.get(endpoint, slug.get(endpoint.split(".")[0], url_values["slug"]))}
    if endpoint.startswith("feeds."):
        values["token"] = values["feed_token"]  # a calendar link's token, not a manage link's
    if endpoint.startswith("identity."):
        values["token"] = values["identity_token"]  # a confirmation link's token
    if endpoint.startswith("waitlist."):
        values["token"] = values["waitlist_token"]  # a place on the waitlist's link
    path = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
    if endpoint == "api.slots":
        path += "?service=short"
    if endpoint == "desk.book":
        path += "?practitioner=ana&start=2027-03-09T11:00:00-08:00"
    seen = []
    for visitor in VISITORS:
        client = visitors[visitor]
        if method == "GET":
            response = client.get(path)
        elif endpoint.startswith("api."):
            response = client.post(path, json={})
        else:  # staff forms need the visitor's own CSRF token, so that only the access rule decides
            page = client.get("/desk" if visitor != "anonymous" else "/staff/sign-in").get_data(as_text=True)
            response = client.post(path, data={"csrf_token": csrf_from(page)})
        seen.append(response.status_code)
    assert seen == expected, dict(zip(VISITORS, seen, strict=True))


def test_a_receptionist_sees_the_intake_status_but_never_the_answers(staff, login_as):  # noqa: F811
    from tests.test_booking_journey import PatientBrowser, manage_path
    from tests.test_intake import answer

    patient = PatientBrowser(staff)
    patient.book_until_check(start="2027-03-08T14:00:00-08:00")
    patient.confirm()
    path = manage_path(patient) + "/intake"
    answer(patient, path, health={"medications": "Zolpidemoxin 5mg"}, pain={"goals": "Climb Mount Tam"})
    patient.submit(f"{path}/check")
    desk = login_as(StaffRole.RECEPTIONIST)
    staff_pages = [r for r in staff.url_map.iter_rules()
                   if r.endpoint.split(".")[0] in ("desk", "admin") and "GET" in r.methods and not r.arguments]
    assert staff_pages
    for rule in staff_pages:
        page = desk.get(rule.rule).get_data(as_text=True)
        assert "Zolpidemoxin" not in page and "Mount Tam" not in page and "needle" not in page.lower()
    day = desk.get("/desk?date=2027-03-08").get_data(as_text=True)
    assert "Questions: sent" in day
    detail_path = re.search(r'href="(/desk/appointments/\d+)"', day).group(1)
    detail = desk.get(detail_path).get_data(as_text=True)
    patient_page = desk.get(re.search(r'href="(/desk/patients/\d+)"', detail).group(1)).get_data(as_text=True)
    for page in (detail, patient_page, desk.get("/desk/week").get_data(as_text=True)):
        assert "Zolpidemoxin" not in page and "Mount Tam" not in page
    assert "Back-pain questions</dt><dd>Sent" in detail
