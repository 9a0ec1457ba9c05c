"""Identity before history, on both databases: a booking made online with a returning patient's
email and date of birth shows their new practitioner nothing of their earlier visits until the
patient confirms from the link emailed to the address on file, or the desk confirms.

The clock is Monday 8 March 2027, 08:00 in Los Angeles. The patient first sees Ben (Monday
10:00); someone then books Ana (Tuesday 10:00) with the same email and date of birth.
The practitioner account is Ana's; the tests add one for Ben.
"""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import flask_migrate
import pytest
import sqlalchemy as sa

from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, IdentityCheck, OutboxMessage, OutboxStatus, Patient, Practitioner, StaffRole
from booking.operations import identity
from booking.operations.progress_checks import questions_asked
from booking.operations.staff import add_staff
from booking.tokens import hash_token
from tests.mail import text_of
from tests.test_booking_journey import DETAILS, PatientBrowser, text
from tests.test_clinician import appointment_id, manage_path, send_intake
from tests.test_desk import book_online, submit
from tests.test_emails import mail, messages, send  # noqa: F401 (fixture)
from tests.test_staff import PASSWORD, csrf_from, login_as, sign_in, staff  # noqa: F401 (fixtures)

BEN_MONDAY = "2027-03-08T10:00:00-08:00"
ANA_TUESDAY = "2027-03-09T10:00:00-08:00"
BEN_WEDNESDAY = "2027-03-10T10:00:00-08:00"
PAT = {"email": "pat@example.com", "birth_date": "1980-05-17"}


def first_visit_with_ben(app) -> dict:
    """The patient's own first booking, with Ben, and their intake (a medicine and a precaution)."""
    booking = book_online(app, start=BEN_MONDAY, practitioner="ben", name="Pat Example", phone="213 555 0142", **PAT)
    send_intake(app, booking, health={"medications": "Secretamol 20mg", "precautions": ["pregnant"]})
    return booking


def someone_books_ana(app) -> dict:
    """Anyone who knows the email and date of birth books Ana, typing another name and phone."""
    return book_online(app, start=ANA_TUESDAY, practitioner="ana", name="Not Pat", phone="213 555 0999", **PAT)


def visit(app, booking: dict) -> Appointment:
    with app.app_context():
        found = db.session.get(Appointment, appointment_id(app, booking))
        found.patient, list(found.history)  # noqa: B018 (load before the context closes)
        db.session.expunge_all()
        return found


def card_for(page: str, name: str) -> str:
    return next(card for card in re.findall(r'<li class="visit-card">.*?</li>', page, re.S) if name in card)


@pytest.fixture
def ben(staff):  # noqa: F811
    with staff.test_request_context():
        add_staff("ben@example.org", "Ben Practitioner", StaffRole.PRACTITIONER, PASSWORD, now(), "ben")
    client = staff.test_client()
    assert sign_in(client, "ben@example.org").status_code == 303
    return client


# --- who waits, and what the new practitioner sees meanwhile --------------------------------

def test_a_first_booking_a_desk_booking_and_one_with_the_same_practitioner_need_no_confirmation(staff, login_as):  # noqa: F811
    first = first_visit_with_ben(staff)
    again = book_online(staff, start=BEN_WEDNESDAY, practitioner="ben", name="Pat Example", **PAT)
    desk = login_as(StaffRole.RECEPTIONIST)
    found = submit(desk, "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00", {"text": "Pat Example"})
    link = re.search(r'href="(/desk/book\?[^"]*patient=\d+[^"]*)"', text(found)).group(1).replace("&amp;", "&")
    assert submit(desk, link, {"service": "short", "symptoms": "none"}).status_code == 303
    with staff.app_context():
        by_desk = db.session.scalar(sa.select(Appointment).where(Appointment.booked_via == "desk"))
        assert not by_desk.identity_pending and by_desk.identity_confirmed_by == identity.NOT_NEEDED["desk"]
    assert visit(staff, first).identity_confirmed_by == identity.NOT_NEEDED["first"]
    assert visit(staff, again).identity_confirmed_by == identity.NOT_NEEDED["own"]
    assert "identity_check" not in [kind for kind, _ in messages(staff)]


def test_until_confirmed_the_new_practitioner_sees_only_this_bookings_answers(staff, login_as, ben):  # noqa: F811
    first_visit_with_ben(staff)
    booked = someone_books_ana(staff)
    pending = visit(staff, booked)
    assert pending.identity_pending and pending.identity_confirmed_by is None
    # What was typed is kept beside the booking for the desk; the patient's record is not changed.
    assert pending.booked_as == {"name": "Not Pat", "phone": "213 555 0999"}
    with staff.app_context():
        [patient] = db.session.scalars(sa.select(Patient)).all()
        assert (patient.name, patient.phone, patient.email) == ("Pat Example", "213 555 0142", "pat@example.com")
        outbox = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.appointment_id == pending.id)).all()
        assert [(m.kind, m.to_address) for m in outbox] == [("confirmation", "pat@example.com"),
                                                           ("identity_check", "pat@example.com")]
    ana = login_as(StaffRole.PRACTITIONER)

    card = card_for(text(ana.get("/clinician?date=2027-03-09")), "Pat Example")
    assert "First visit" in card and "Intake: not started" in card and "Precautions" not in card
    assert "Identity not yet confirmed: earlier visits with other practitioners are hidden" in card

    record_path = f"/clinician/visits/{pending.id}"
    for path in (record_path, record_path + "/print"):
        page = text(ana.get(path))
        assert "Identity not yet confirmed" in page and "None shown: the patient's identity is not yet confirmed" in page
        assert "Secretamol" not in page and "Ben Test" not in page and "First visit" in page and "<svg" not in page
    exported = json.loads(ana.get(record_path + "/export").get_data(as_text=True))
    assert exported["intake"] is None and exported["progress"] == [] and exported["visit"]["identity_confirmed"] is False
    assert "Secretamol" not in json.dumps(exported)

    patient_page = text(ana.get(f"/desk/patients/{pending.patient_id}"))
    assert "Patient since" not in patient_page and "Ben Test" not in patient_page
    assert "Identity not yet confirmed" in patient_page
    ben_visit = appointment_id(staff, {"reference": _reference_with(staff, "ben")})
    assert ana.get(f"/clinician/visits/{ben_visit}").status_code == 404  # as before: not her visit

    # Those who already had the patient keep it: Ben his own record, the admin every record.
    assert "Secretamol" in text(ben.get(f"/clinician/visits/{ben_visit}"))
    assert "Patient since" in text(ben.get(f"/desk/patients/{pending.patient_id}"))
    assert "Secretamol" in text(login_as(StaffRole.ADMIN).get(f"/clinician/visits/{ben_visit}"))

    # The booking's own link asks what a first booking asks: nothing given earlier is shown to whoever booked.
    link = PatientBrowser(staff)
    manage = text(link.get(manage_path(booked)))
    assert "Tell us about your back pain" in manage and "After your visit on Monday, March 8" not in manage
    assert link.get(manage_path(booked) + "/progress").status_code == 409
    with staff.app_context():
        assert questions_asked(db.session.get(Appointment, pending.id)) == "intake"


def _reference_with(app, practitioner_slug: str) -> str:
    """The reference of the practitioner's first visit."""
    with app.app_context():
        return db.session.scalar(sa.select(Appointment.reference).join(Appointment.practitioner)
                                 .where(Practitioner.slug == practitioner_slug).order_by(Appointment.starts_at))


def test_a_waiting_bookings_answers_are_not_the_patients_history_elsewhere(staff, login_as, ben):  # noqa: F811
    first_visit_with_ben(staff)
    booked = someone_books_ana(staff)
    send_intake(staff, booked, health={"medications": "Impostorin 5mg"})
    desk = login_as(StaffRole.RECEPTIONIST)  # the patient phones Ben's desk for another visit
    found = submit(desk, f"/desk/book?practitioner=ben&start={BEN_WEDNESDAY}", {"text": "Pat Example"})
    link = re.search(r'href="(/desk/book\?[^"]*patient=\d+[^"]*)"', text(found)).group(1).replace("&amp;", "&")
    assert submit(desk, link, {"service": "short", "symptoms": "none"}).status_code == 303
    with staff.app_context():
        wednesday = db.session.scalar(sa.select(Appointment.id).where(Appointment.booked_via == "desk"))
    page = text(ben.get(f"/clinician/visits/{wednesday}"))
    assert "Secretamol" in page and "Impostorin" not in page and "Ana Test" not in page
    assert "Return visit (visit 2)" in page
    card = card_for(text(ben.get("/clinician?date=2027-03-10")), "Pat Example")
    assert "Return visit (visit 2)" in card and "Progress check not sent" in card


def test_the_desk_confirms_and_the_history_appears_as_before(staff, login_as):  # noqa: F811
    first_visit_with_ben(staff)
    pending = visit(staff, someone_books_ana(staff))
    ana = login_as(StaffRole.PRACTITIONER)
    panel = f"/desk/appointments/{pending.id}"
    page = text(login_as(StaffRole.RECEPTIONIST).get(panel))
    assert "Not yet confirmed" in page and "Not Pat, 213 555 0999" in page and "Confirm the patient's identity" in page

    # The practitioner cannot open the history to themselves.
    refused = ana.post(panel + "/confirm-identity", data={"csrf_token": csrf_from(text(ana.get(panel)))})
    assert refused.status_code == 403 and visit(staff, pending_ref(pending)).identity_pending
    assert "Confirm the patient's identity" not in text(ana.get(panel))

    desk = login_as(StaffRole.RECEPTIONIST)
    done = submit(desk, panel + "/confirm-identity", {}, page=panel)
    assert done.status_code == 303
    assert "Identity confirmed: Ana Test now sees the earlier visits of Pat Example." in text(desk.get(done.location))
    confirmed = visit(staff, pending_ref(pending))
    assert not confirmed.identity_pending and confirmed.identity_confirmed_by == "Receptionist"
    assert [(e.action, e.actor) for e in confirmed.history][-1] == ("identity confirmed", "Receptionist")
    again = submit(desk, panel + "/confirm-identity", {}, page=panel)
    assert "already confirmed" in text(desk.get(again.location))
    assert [e.action for e in visit(staff, pending_ref(pending)).history].count("identity confirmed") == 1

    card = card_for(text(ana.get("/clinician?date=2027-03-09")), "Pat Example")
    assert "Return visit (visit 2)" in card and "Precautions: pregnant" in card and "Identity not yet" not in card
    record = text(ana.get(f"/clinician/visits/{pending.id}"))
    assert "Secretamol" in record and "Ben Test" in record and "Identity not yet confirmed" not in record
    manage = text(PatientBrowser(staff).get(manage_path({"manage_url": _manage_url(staff, pending.id)})))
    assert "After your visit on Monday, March 8," in manage  # the return visit's progress check, once it opens


def pending_ref(appointment: Appointment) -> dict:
    return {"reference": appointment.reference}


def _manage_url(app, appointment_id: int) -> str:
    """A fresh manage link for the visit, as the desk's "Email the questions link" would make."""
    from booking.models import ManageLink
    from booking.tokens import new_token

    token = new_token()
    with app.app_context():
        db.session.add(ManageLink(appointment_id=appointment_id, token_hash=hash_token(token), created_at=now()))
        db.session.commit()
    return f"http://clinic.test/manage/{token}"


def test_moved_by_the_desk_to_a_practitioner_who_never_saw_the_patient_it_waits_again(staff, login_as):  # noqa: F811
    first_visit_with_ben(staff)
    again = book_online(staff, start=BEN_WEDNESDAY, practitioner="ben", name="Pat Example", **PAT)
    assert not visit(staff, again).identity_pending  # only Ben has seen the patient
    desk = login_as(StaffRole.RECEPTIONIST)
    move = f"/desk/appointments/{appointment_id(staff, again)}/move?practitioner=ana&date=2027-03-10"
    assert submit(desk, move, {"start": "2027-03-10T11:00:00-08:00", "practitioner": "ana"}).status_code == 303
    moved = visit(staff, again)
    assert moved.practitioner_id != visit(staff, {"reference": _reference_with(staff, "ben")}).practitioner_id
    assert moved.identity_pending and [e.action for e in moved.history][-2:] == ["moved", "identity pending"]
    assert "identity_check" in [kind for kind, _ in messages(staff)]
    card = card_for(text(login_as(StaffRole.PRACTITIONER).get("/clinician?date=2027-03-10")), "Pat Example")
    assert "First visit" in card and "Precautions" not in card


def test_a_cancelled_booking_has_nothing_to_confirm(staff, login_as):  # noqa: F811
    first_visit_with_ben(staff)
    booked = someone_books_ana(staff)
    PatientBrowser(staff).submit(manage_path(booked) + "/cancel", {"reason": ""})
    desk = login_as(StaffRole.RECEPTIONIST)
    panel = f"/desk/appointments/{appointment_id(staff, booked)}"
    assert "Confirm the patient's identity" not in text(desk.get(panel))
    refused = desk.post(panel + "/confirm-identity", data={"csrf_token": csrf_from(text(desk.get(panel)))})
    assert "nothing to confirm" in text(desk.get(refused.location)) and visit(staff, booked).identity_pending


# --- the patient confirms from the email -----------------------------------------------------

def confirmation_link(mail) -> str:  # noqa: F811
    [email] = [m for m in mail.to("pat@example.com") if m["Subject"].strip().startswith("Did you book a visit")]
    body = text_of(email)
    assert "Secretamol" not in body and "pregnant" not in body  # no health data in an email
    return re.search(r"<http://clinic\.test(/confirm-booking/[A-Za-z0-9_-]+)>", body).group(1)


def test_the_patient_confirms_from_the_link_sent_to_the_address_on_file(staff, mail, clock, login_as):  # noqa: F811
    first_visit_with_ben(staff)
    pending = visit(staff, someone_books_ana(staff))
    send(staff, mail)
    path = confirmation_link(mail)
    token = path.rsplit("/", 1)[1]
    with staff.app_context():  # only the link's hash is kept, and no stored email holds the link
        assert db.session.scalar(sa.select(IdentityCheck.token_hash)) == hash_token(token)
        for row in db.session.scalars(sa.select(OutboxMessage)):
            assert token not in f"{row.text_body}{row.html_body}{row.calendar}"
    outbox_page = text(login_as(StaffRole.ADMIN).get(f"/admin/outbox/{_message_id(staff, 'identity_check')}"))
    assert "(the patient&#39;s confirmation link)" in outbox_page and token not in outbox_page

    patient = PatientBrowser(staff)
    page = text(patient.get(path))  # a mail scanner following the link confirms nothing
    assert "Did you book this visit?" in page and "Ana Test" in page and "Yes, I booked this visit" in page
    assert patient.client.post(path, data={}).status_code == 400  # no CSRF token: refused, nothing changed
    assert visit(staff, pending_ref(pending)).identity_pending

    csrf = csrf_from(page)
    confirmed = patient.client.post(path, data={"csrf_token": csrf})
    assert confirmed.status_code == 303
    after = visit(staff, pending_ref(pending))
    assert not after.identity_pending and after.identity_confirmed_by == identity.BY_PATIENT
    assert [(e.action, e.actor) for e in after.history][-1] == ("identity confirmed", "Patient")
    assert "your booking is confirmed as yours" in text(patient.get(path))
    assert patient.client.post(path, data={"csrf_token": csrf}).status_code == 303  # again, from Back: nothing more
    assert [e.action for e in visit(staff, pending_ref(pending)).history].count("identity confirmed") == 1

    clock.advance(days=identity.CONFIRM_LINK_DAYS, minutes=1)
    unknown = patient.get("/confirm-booking/" + "x" * 43)
    assert patient.get(path).status_code == 404 == unknown.status_code
    assert text(patient.get(path)) == text(unknown)


def _message_id(app, kind: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.kind == kind))


def test_the_email_goes_after_a_move_but_not_once_confirmed_or_cancelled(staff, mail, login_as):  # noqa: F811
    first_visit_with_ben(staff)
    moved = someone_books_ana(staff)
    confirmed = visit(staff, book_online(staff, start="2027-03-11T10:00:00-08:00", name="Pat Example", **PAT))
    desk = login_as(StaffRole.RECEPTIONIST)  # the second is confirmed by the desk before its email goes
    submit(desk, f"/desk/appointments/{confirmed.id}/confirm-identity", {}, page=f"/desk/appointments/{confirmed.id}")
    with staff.app_context():  # the first changes time before its email goes, as a move does
        db.session.get(Appointment, appointment_id(staff, moved)).sequence += 1
        db.session.commit()
    send(staff, mail)
    with staff.app_context():
        statuses = {m.appointment_id: m.status for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "identity_check"))}
    assert statuses == {appointment_id(staff, moved): OutboxStatus.SENT, confirmed.id: OutboxStatus.SKIPPED}


# --- the booker's pages look the same whether or not the details matched anyone ---------------

def _normalised(page: str, appointment: Appointment, token: str) -> str:
    main = re.search(r"<main.*?</main>", page, re.S).group(0)
    local = appointment.starts_at.astimezone(ZoneInfo("America/Los_Angeles"))
    return (main.replace(appointment.reference, "REFERENCE").replace(token, "TOKEN")
            .replace(f"{local:%-I:%M %p}", "TIME"))


def test_the_confirmation_page_is_the_same_whether_or_not_the_email_matched(staff):  # noqa: F811
    book_online(staff, start=BEN_MONDAY, practitioner="ben", name="Pat Example", phone="213 555 0142", **PAT)
    pages = []
    for who, start in (({"name": "Quinn New", "email": "quinn@example.com"}, "2027-03-08T14:00:00-08:00"),
                       ({}, "2027-03-08T15:00:00-08:00")):
        browser = PatientBrowser(staff)
        browser.book_until_check(start=start, details=DETAILS | who)
        assert browser.confirm().status_code == 303
        confirmation = text(browser.get("/book/confirmation"))
        token = re.search(r"/manage/([A-Za-z0-9_-]+)", confirmation).group(1)
        with staff.app_context():
            booked = db.session.scalar(sa.select(Appointment).order_by(Appointment.id.desc()).limit(1))
            db.session.expunge(booked)
        pages.append((_normalised(confirmation, booked, token), _normalised(text(browser.get(f"/manage/{token}")),
                                                                            booked, token), booked.identity_pending))
    (new_page, new_manage, new_pending), (matched_page, matched_manage, matched_pending) = pages
    assert (new_pending, matched_pending) == (False, True)
    assert new_page == matched_page and new_manage == matched_manage
    assert "we may also email you a link to confirm that this booking is yours" in new_page


# --- upgrading ---------------------------------------------------------------------------------

def test_bookings_made_before_the_upgrade_show_their_history_as_before(staff):  # noqa: F811
    first_visit_with_ben(staff)
    booked = someone_books_ana(staff)
    with staff.app_context():
        db.session.remove()
        flask_migrate.downgrade(revision="0013")
        flask_migrate.upgrade()
    upgraded = visit(staff, booked)
    assert not upgraded.identity_pending and upgraded.identity_confirmed_at == upgraded.created_at


def test_an_erased_patients_unconfirmed_past_booking_needs_no_confirmation(staff, login_as, clock):  # noqa: F811
    """Erasure leaves past visits as anonymous history: nobody is left to confirm (the desk's page
    once tried to print the erased date of birth in its "Confirm" form, a 500)."""
    first_visit_with_ben(staff)
    pending = visit(staff, someone_books_ana(staff))
    clock.advance(days=3)  # the unconfirmed visit is over, so erasure keeps it as history
    admin = login_as(StaffRole.ADMIN)
    confirm = text(admin.get(f"/admin/patients/{pending.patient_id}/erase"))
    assert admin.post(f"/admin/patients/{pending.patient_id}/erase",
                      data={"csrf_token": csrf_from(confirm), "reason": "asked"}).status_code == 303
    page = login_as(StaffRole.RECEPTIONIST).get(f"/desk/appointments/{pending.id}")
    assert page.status_code == 200 and "Not needed: the patient&#39;s record was erased" in text(page)
    assert "Confirm the patient&#39;s identity" not in text(page)
