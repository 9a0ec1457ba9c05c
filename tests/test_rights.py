"""A patient's data rights on both databases: the export, erasure and the retention purge.

The clock is Monday 8 March 2027, 08:00 in Los Angeles. Olivia Brandt books, answers the
back-pain questions and a progress check, books again online and by phone, and the desk
cancels one visit with a note: everything is entered through the pages and the API, as
people would, and then compared with what the export holds and with what erasure leaves.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    ERASED_NAME,
    Appointment,
    AppointmentStatus,
    AuditEntry,
    BookingDraft,
    Clinic,
    IdentityCheck,
    Intake,
    ManageLink,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientErasure,
    ProgressCheck,
    SafetySignal,
    StaffRole,
    StaffSession,
)
from booking import retention_period
from booking.notify import outbox
from booking.operations import intakes, patient_data, retention
from booking.operations.problems import RecordErased
from booking.scheduling import UTC
from booking.tokens import hash_token, new_token
from tests.test_booking_journey import PatientBrowser, text
from tests.test_clinician import manage_path, send_intake
from tests.test_desk import book_online, submit
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

OLIVIA = {"name": "Olivia Brandt", "email": "olivia.brandt@example.net", "phone": "213 555 0177",
          "birth_date": "1961-07-19"}
# What she typed, and what identifies her: none of it may survive an erasure anywhere.
TYPED = ["Zolpidemoxin", "Mount Tamalpais", "Quiltmaking", "quivering zeppelin", "Waldemar"]
NEEDLES = [OLIVIA["name"], "Olivia", "Brandt", OLIVIA["email"], "555 0177", "1961-07-19", *TYPED]


def as_olivia(app, start: str, safety=()) -> dict:
    return book_online(app, start=start, safety=safety, **OLIVIA)


@pytest.fixture
def olivia(staff, clock, login_as):  # noqa: F811
    """Olivia's records, made through the pages: returns what was made."""
    first = as_olivia(staff, "2027-03-09T10:00:00-08:00", safety=["night_pain"])
    send_intake(staff, first, health={"medications": "Zolpidemoxin 5mg at night"},
                pain={"goals": "Climb Mount Tamalpais"},
                activities={"activity_1": "Quiltmaking", "rating_1": "3", "activity_2": "Putting on socks", "rating_2": "6"})
    clock.advance(days=2)  # Wednesday 10 March, 08:00
    second = as_olivia(staff, "2027-03-16T10:00:00-07:00")
    progress = PatientBrowser(staff).submit(f"{manage_path(second)}/progress", {
        "pain_now": "3", "pain_average": "2", "pain_worst": "5", "rating_1": "7", "rating_2": "6",
        "after_effects": ["other"], "after_effects_other": "Felt like a quivering zeppelin", "symptoms": "fever"})
    assert progress.status_code in (200, 303), text(progress)
    # A third visit booked online (its draft keeps what she typed), and one left unfinished.
    online = PatientBrowser(staff)
    details = {"name": OLIVIA["name"], "email": OLIVIA["email"], "phone": OLIVIA["phone"], "birth_day": "19",
               "birth_month": "7", "birth_year": "1961", "returning": "yes"}
    online.book_until_check(start="2027-03-17T10:00:00-07:00", details=details)
    assert online.confirm().status_code == 303
    PatientBrowser(staff).book_until_check(start="2027-03-18T10:00:00-07:00", details=details)
    # A fourth by phone, cancelled by the desk with a note; the desk emails the third's link again.
    fourth = as_olivia(staff, "2027-03-19T10:00:00-07:00")
    desk = login_as(StaffRole.RECEPTIONIST)
    with staff.app_context():
        ids = {reference: db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == reference))
               for reference in (first["reference"], second["reference"], fourth["reference"])}
        third_id = db.session.scalar(sa.select(Appointment.id).where(Appointment.starts_at == datetime(2027, 3, 17, 17, tzinfo=UTC)))
        patient_id = db.session.scalar(sa.select(Patient.id).where(Patient.email == OLIVIA["email"]))
    cancel_path = f"/desk/appointments/{ids[fourth['reference']]}/cancel"
    assert submit(desk, cancel_path, {"reason": "other", "note": "Waldemar phoned for her"}).status_code == 303
    assert submit(desk, f"/desk/appointments/{third_id}/email-questions", {},
                  page=f"/desk/appointments/{third_id}").status_code == 303
    admin = login_as(StaffRole.ADMIN)
    assert admin.get(f"/clinician/visits/{ids[first['reference']]}").status_code == 200  # audited
    return {"patient_id": patient_id, "first": first, "second": second, "fourth": fourth, "third_id": third_id,
            "ids": ids, "admin": admin, "desk": desk,
            "tokens": [manage_path(b).rsplit("/", 1)[1] for b in (first, second, fourth)]}


def everything_stored(app) -> str:
    """Every value in every column of every table, found by reflecting the database itself."""
    with app.app_context():
        metadata = sa.MetaData()
        metadata.reflect(bind=db.engine)
        values = []
        with db.engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(table.select()):
                    for value in row:
                        if isinstance(value, (dict, list)):
                            values.append(json.dumps(value, ensure_ascii=False))
                        elif value is not None:
                            values.append(str(value))
        assert len(metadata.tables) >= 15  # the whole schema was read, not a hand-made list
        return "\n".join(values)


def audit_actions(app, patient_id: int) -> list[tuple]:
    with app.app_context():
        return [(a.staff_name, a.action, a.appointment_id) for a in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.patient_id == patient_id).order_by(AuditEntry.id))]


# --- the export ---------------------------------------------------------------------------------

def test_the_json_export_holds_everything_entered_about_the_patient(staff, olivia):  # noqa: F811
    admin, patient_id = olivia["admin"], olivia["patient_id"]
    response = admin.get(f"/admin/patients/{patient_id}/data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="patient-{patient_id}.json"'
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["format"] == {"name": "patient-data", "version": 1}
    assert data["patient"] | {"created_at": None} == {
        "id": patient_id, "name": "Olivia Brandt", "email": OLIVIA["email"], "phone": OLIVIA["phone"],
        "born_on": "1961-07-19", "created_at": None, "erased_at": None}
    visits = {visit["reference"]: visit for visit in data["appointments"]}
    assert len(visits) == 4 and [v["start"][:10] for v in data["appointments"]] == [
        "2027-03-09", "2027-03-16", "2027-03-17", "2027-03-19"]
    first, fourth = visits[olivia["first"]["reference"]], visits[olivia["fourth"]["reference"]]
    assert first["safety_check"]["urgent_at_booking"] == ["night_pain"] and first["flag_level"] == "urgent"
    assert first["service"] == {"slug": "short", "name": "Short treatment"} and first["practitioner"]["slug"] == "ana"
    assert fourth["status"] == "cancelled" and "Waldemar phoned for her" in fourth["cancel_reason"]
    assert [event["action"] for event in fourth["history"]] == ["booked", "cancelled"]
    third = data["appointments"][2]
    assert third["booked_via"] == "online" and any(
        e["action"] == "emailed" and OLIVIA["email"] in e["detail"] for e in third["history"])
    signals = {(s["appointment"], s["given_in"], tuple(s["codes"])) for s in data["safety_signals"]}
    assert (olivia["first"]["reference"], "booking", ("night_pain",)) in signals
    assert (olivia["second"]["reference"], "progress_check", ("fever",)) in signals

    [intake] = data["intakes"]
    assert intake["appointment"] == olivia["first"]["reference"] and intake["sent_at"]
    assert intake["answers"]["health"]["medications"] == "Zolpidemoxin 5mg at night"
    assert intake["answers"]["pain"]["goals"] == "Climb Mount Tamalpais"
    readable = {row["question"]: row["answer"] for section in intake["readable"] for row in section["answers"]}
    assert readable["Medicines"] == "Zolpidemoxin 5mg at night" and readable["Quiltmaking"] == "3 out of 10"
    assert intake["scores"] | {"psfs_score": None} == {
        "pain_now": 6, "pain_average": 5, "pain_worst": 8, "psfs_score": None, "start_back_total": None,
        "start_back_psychosocial": None, "start_back_risk": None}
    assert intake["scores"]["psfs_score"] == 4.5
    [check] = data["progress_checks"]
    assert check["appointment"] == olivia["second"]["reference"]
    assert check["after_effects"] == ["other"] and check["after_effects_other"] == "Felt like a quivering zeppelin"
    assert check["safety_codes"] == ["fever"] and [a["name"] for a in check["activities"]] == ["Quiltmaking", "Putting on socks"]

    kinds = [email["kind"] for email in data["emails"]]
    assert kinds.count("confirmation") == 4 and "safety_alert" in kinds and "cancelled" in kinds
    assert {email["to"] for email in data["emails"] if email["kind"] == "confirmation"} == {OLIVIA["email"]}
    assert all(set(email) == {"id", "kind", "appointment", "to", "subject", "status", "written_at", "sent_at", "attempts"}
               for email in data["emails"])  # described, never copied: no body, no link
    body = response.get_data(as_text=True)
    for token in olivia["tokens"]:
        assert token not in body
    audit = [(entry["by"], entry["action"], entry["appointment"]) for entry in data["audit"]]
    assert audit == [("Admin", "view", olivia["first"]["reference"]), ("Admin", "data_file", None)]
    assert data["erasure"] is None


def test_the_printable_page_shows_the_same_and_each_export_is_audited(staff, olivia):  # noqa: F811
    admin, patient_id = olivia["admin"], olivia["patient_id"]
    patient_page = text(admin.get(f"/desk/patients/{patient_id}"))
    assert f'href="/admin/patients/{patient_id}/data"' in patient_page
    assert f'href="/admin/patients/{patient_id}/data.json" download' in patient_page
    assert f'href="/admin/patients/{patient_id}/erase"' in patient_page
    response = admin.get(f"/admin/patients/{patient_id}/data")
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "<h1>Everything held about Olivia Brandt" in page and "<script" not in page.split("</head>")[1]
    for shown in ("olivia.brandt@example.net", "213 555 0177", "July 19, 1961", "Zolpidemoxin 5mg at night",
                  "Climb Mount Tamalpais", "Felt like a quivering zeppelin", "Waldemar phoned for her",
                  "Pain that rest does not ease", "A high temperature", "Quiltmaking</dt><dd>3 out of 10",
                  "Quiltmaking</dt><dd>7 / 10", "Confirmation", "Admin (admin)", "Opened all their data"):
        assert shown.lower() in html_text(page).lower(), shown
    assert admin.head(f"/admin/patients/{patient_id}/data").status_code == 200  # checked, not shown: not logged
    admin.get(f"/admin/patients/{patient_id}/data.json")
    assert audit_actions(staff, patient_id) == [
        ("Admin", "view", olivia["ids"][olivia["first"]["reference"]]), ("Admin", "data_page", None),
        ("Admin", "data_file", None)]
    log = text(admin.get(f"/admin/audit?patient={patient_id}"))
    assert "Opened all their data" in log and "Downloaded all their data" in log
    assert "Zolpidemoxin" not in log  # the log names who and what, never the answers


def html_text(page: str) -> str:
    import html

    return html.unescape(page)


def test_only_admins_reach_the_export_and_erasure(staff, olivia, login_as):  # noqa: F811
    patient_id = olivia["patient_id"]
    practitioner = login_as(StaffRole.PRACTITIONER)  # Ana: Olivia is her patient
    for client in (olivia["desk"], practitioner):
        for path in (f"/admin/patients/{patient_id}/data", f"/admin/patients/{patient_id}/data.json",
                     f"/admin/patients/{patient_id}/erase", "/admin/patients/erased", "/admin/patients/999999/data"):
            assert client.get(path).status_code == 403, path
        token = csrf_from(text(client.get(f"/desk/patients/{patient_id}")))
        refused = client.post(f"/admin/patients/{patient_id}/erase", data={"csrf_token": token, "reason": "asked"})
        assert refused.status_code == 403
        page = text(client.get(f"/desk/patients/{patient_id}"))
        assert "/admin/patients/" not in page and "Erase this patient" not in page
    anonymous = staff.test_client().get(f"/admin/patients/{patient_id}/data.json")
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.location
    logged = audit_actions(staff, patient_id)[1:]  # after the admin's look at the visit:
    assert logged and all(action == "refused" for _, action, _ in logged)  # only the refusals
    assert olivia["admin"].get("/admin/patients/2147483647/data").status_code == 404
    assert olivia["admin"].get("/admin/patients/2147483647/erase").status_code == 404


# --- erasure ------------------------------------------------------------------------------------

def test_erasure_asks_why_names_what_goes_and_leaves_no_trace(staff, olivia):  # noqa: F811
    admin, patient_id, ids = olivia["admin"], olivia["patient_id"], olivia["ids"]
    stored = everything_stored(staff)
    assert all(needle in stored for needle in NEEDLES), [n for n in NEEDLES if n not in stored]
    with staff.app_context():
        appointments_before = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))

    confirm = text(admin.get(f"/admin/patients/{patient_id}/erase"))
    assert "<h1>Erase Olivia Brandt" in confirm
    for said in ("What will be removed", "their name, email address, phone number and date of birth",
                 "1 back-pain questionnaire", "1 progress check", "What will be kept", "4 appointments, as anonymous history",
                 "Booked visits ahead will be cancelled", "The clinic may have to keep these records",
                 "until March 19, 2037"):  # ten years after the last appointment on record
        assert said in html_text(confirm), said
    assert len(re.findall(r"<li><a href=\"/desk/appointments/\d+\">", confirm)) == 2  # the 16th and the 17th

    no_reason = admin.post(f"/admin/patients/{patient_id}/erase", data={"csrf_token": csrf_from(confirm), "reason": "  "})
    assert no_reason.status_code == 200 and "Enter why this patient is being erased" in text(no_reason)
    assert admin.post(f"/admin/patients/{patient_id}/erase", data={"reason": "asked"}).status_code == 400  # no CSRF
    with staff.app_context():
        assert db.session.get(Patient, patient_id).name == "Olivia Brandt"

    done = admin.post(f"/admin/patients/{patient_id}/erase", data={
        "csrf_token": csrf_from(confirm), "reason": "She asked by letter on 9 March"})
    assert done.status_code == 303 and done.location.endswith(f"/desk/patients/{patient_id}")
    after = html_text(text(admin.get(done.location)))
    assert f"Patient number {patient_id} is erased" in after
    assert "2 booked visits ahead were cancelled" in after and "Reason given: She asked by letter on 9 March" in after

    stored = everything_stored(staff)
    assert [needle for needle in NEEDLES if needle in stored] == []
    with staff.app_context():
        patient = db.session.get(Patient, patient_id)
        assert (patient.name, patient.email, patient.phone, patient.born_on) == ("Erased patient", None, None, None)
        appointments = list(db.session.scalars(sa.select(Appointment).where(Appointment.patient_id == patient_id)
                                               .order_by(Appointment.starts_at)))
        assert len(appointments) == 4 and db.session.scalar(
            sa.select(sa.func.count()).select_from(Appointment)) == appointments_before
        assert [a.status for a in appointments] == [AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED,
                                                   AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED]
        assert [a.practitioner.slug for a in appointments] == ["ana"] * 4
        assert appointments[1].cancel_reason == "The patient's record was erased"
        assert all(a.safety_flags == [] and a.alert_level is None and a.safety_answers is None for a in appointments)
        for model in (Intake, ProgressCheck, SafetySignal, ManageLink, IdentityCheck, BookingDraft):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
        messages = list(db.session.scalars(sa.select(OutboxMessage)))
        assert messages and all(m.text_body == "" and m.html_body == "" and m.context is None for m in messages)
        assert all(m.status is OutboxStatus.SKIPPED for m in messages)  # none had been sent: none will be
        erasure = db.session.scalar(sa.select(PatientErasure))
        assert (erasure.patient_id, erasure.erased_by, erasure.reason, erasure.appointments_kept,
                erasure.appointments_cancelled) == (patient_id, "Admin", "She asked by letter on 9 March", 4, 2)
        assert erasure.erased_at == datetime(2027, 3, 10, 16, tzinfo=UTC)
    assert audit_actions(staff, patient_id)[-1] == ("Admin", "erase", None)
    # The calendar still counts the visit as it was; the desk sees who is gone.
    day = text(olivia["desk"].get("/desk?date=2027-03-09"))
    assert "Erased patient" in day and "Urgent flag" not in day
    history = text(olivia["desk"].get(f"/desk/appointments/{ids[olivia['first']['reference']]}"))
    assert "Erased" in history and "no contact details are kept" in history
    # Every link she had opens nothing; a new booking with her details is a new patient.
    for token in olivia["tokens"]:
        assert PatientBrowser(staff).get(f"/manage/{token}").status_code == 404
    again = as_olivia(staff, "2027-03-22T10:00:00-07:00")
    with staff.app_context():
        assert db.session.scalar(sa.select(Appointment.patient_id).where(Appointment.reference == again["reference"])) != patient_id
    # The erasure is listed for admins.
    listed = text(admin.get("/admin/patients/erased"))
    assert "She asked by letter on 9 March" in listed and f'href="/desk/patients/{patient_id}"' in listed


def test_erasing_twice_is_kind_and_changes_nothing_more(staff, olivia):  # noqa: F811
    admin, patient_id = olivia["admin"], olivia["patient_id"]
    token = csrf_from(text(admin.get(f"/admin/patients/{patient_id}/erase")))
    assert admin.post(f"/admin/patients/{patient_id}/erase", data={"csrf_token": token, "reason": "Asked"}).status_code == 303
    stored = everything_stored(staff)
    again = admin.post(f"/admin/patients/{patient_id}/erase", data={"csrf_token": token, "reason": "Asked again"},
                       follow_redirects=True)
    assert again.status_code == 200 and "already erased on March 10, 2027 by Admin" in text(again)
    page = admin.get(f"/admin/patients/{patient_id}/erase", follow_redirects=True)
    assert page.status_code == 200 and "already erased" in text(page)
    assert everything_stored(staff) == stored
    with staff.app_context():
        with pytest.raises(patient_data.AlreadyErased):
            patient_data.erase(patient_id, "once more", datetime(2027, 3, 11, tzinfo=UTC), patient_data.RETENTION_PURGE)
    # What is left can still be exported: the anonymous visits and the record of the erasure.
    data = admin.get(f"/admin/patients/{patient_id}/data.json").get_json()
    assert data["patient"]["email"] is None and data["erasure"]["reason"] == "Asked" and len(data["appointments"]) == 4
    assert "Erase this patient" not in text(admin.get(f"/desk/patients/{patient_id}"))


def test_an_erasure_that_fails_half_way_changes_nothing(staff, olivia, monkeypatch):  # noqa: F811
    stored = everything_stored(staff)

    def broken(*args):
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(patient_data, "_blank_emails", broken)
    with staff.app_context():
        with pytest.raises(RuntimeError):
            patient_data.erase(olivia["patient_id"], "Asked", datetime(2027, 3, 10, 17, tzinfo=UTC),
                               patient_data.RETENTION_PURGE)
    assert everything_stored(staff) == stored


def test_answers_saved_after_an_erasure_are_refused(staff, olivia):  # noqa: F811
    """A page of questions that waited for the visit's lock while the erasure ran keeps nothing."""
    with staff.app_context():
        third = db.session.get(Appointment, olivia["third_id"])  # loaded before the erasure, as the request had
        patient_data.erase(olivia["patient_id"], "Asked", datetime(2027, 3, 10, 16, tzinfo=UTC), patient_data.RETENTION_PURGE)
        with pytest.raises(RecordErased):
            intakes.save_step(third, "episode", {"start_kind": "weeks"}, datetime(2027, 3, 10, 16, 1, tzinfo=UTC))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 0


# --- retention ------------------------------------------------------------------------------------

def test_the_retention_rule():
    assert retention_period.retained_until(date(2027, 3, 9), date(1961, 7, 19), 10) == date(2037, 3, 9)
    assert retention_period.retained_until(date(2027, 3, 9), date(2015, 6, 1), 10) == date(2043, 6, 1)  # a minor
    assert retention_period.retained_until(date(2027, 3, 9), None, 7) == date(2034, 3, 9)
    assert retention_period.add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)


@pytest.fixture
def three_patients(staff, clock, login_as):  # noqa: F811
    """An adult seen on 9 March 2027, a child seen the same day, and an adult seen on 31 March."""
    made = {
        "adult": book_online(staff, start="2027-03-09T10:00:00-08:00", name="Ada Old", email="ada@example.com",
                             birth_date="1950-01-01"),
        "child": book_online(staff, start="2027-03-09T11:00:00-08:00", name="Mia Young", email="mia@example.com",
                             birth_date="2015-06-01"),
        "later": book_online(staff, start="2027-03-31T10:00:00-07:00", name="Ned Later", email="ned@example.com"),
    }
    send_intake(staff, made["adult"], health={"medications": "Adaspirin"})
    PatientBrowser(staff).book_until_check(start="2027-03-10T10:00:00-08:00")  # abandoned: a draft
    client = login_as(StaffRole.RECEPTIONIST)
    client.post("/staff/sign-out", data={"csrf_token": csrf_from(text(client.get("/desk")))})
    login_as(StaffRole.ADMIN)  # signed in, never out: idle
    with staff.app_context():
        ids = {key: db.session.scalar(sa.select(Appointment.patient_id).where(Appointment.reference == booked["reference"]))
               for key, booked in made.items()}
        sent = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation").limit(1))
        sent.status, sent.sent_at = OutboxStatus.SENT, clock.now
        # The link the sender makes as it sends an email (only its hash is kept).
        db.session.add(ManageLink(appointment_id=sent.appointment_id, token_hash=hash_token(new_token()),
                                  created_at=clock.now))
        db.session.commit()
    return ids


def purge(app, *args):
    return app.test_cli_runner().invoke(args=["retention", "purge", *args])


def counts(app) -> dict:
    with app.app_context():
        return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (BookingDraft, StaffSession, ManageLink, OutboxMessage, PatientErasure)}


def test_a_dry_run_lists_what_would_go_and_changes_nothing(staff, clock, three_patients):  # noqa: F811
    clock.now = datetime(2037, 3, 10, 17, tzinfo=UTC)  # ten years and a day after the first visits
    stored, before = everything_stored(staff), counts(staff)
    result = purge(staff, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Retention: 10 years after a patient's last visit" in result.output
    assert f"Patients past retention, to be erased: 1 (patient numbers {three_patients['adult']})" in result.output
    assert "Booking drafts past their lifetime: 1" in result.output
    assert "Staff sessions that ended over 30 days ago: 2" in result.output  # signed out, and left idle
    assert re.search(r"Manage links of visits that are over: [1-9]", result.output)
    assert "Sent, skipped or failed emails over 90 days old: 1" in result.output
    assert "Dry run: nothing was changed." in result.output
    assert "Ada" not in result.output and "Adaspirin" not in result.output  # numbers and counts only
    assert everything_stored(staff) == stored and counts(staff) == before


def test_the_purge_erases_patients_past_retention_as_an_admin_would(staff, clock, three_patients):  # noqa: F811
    clock.now = datetime(2037, 3, 10, 17, tzinfo=UTC)
    result = purge(staff)
    assert result.exit_code == 0, result.output
    assert f"Erased 1 patient past retention (patient numbers {three_patients['adult']}), with the reason 'retention'" in result.output
    assert re.search(r"Removed 1 booking draft, 0 waitlist places, 2 staff sessions, \d+ manage links? and 1 email\.", result.output)
    stored = everything_stored(staff)
    assert "Ada Old" not in stored and "ada@example.com" not in stored and "Adaspirin" not in stored
    assert "Mia Young" in stored and "Ned Later" in stored  # a child's records wait for 18 + 10; Ned was seen later
    with staff.app_context():
        erasure = db.session.scalar(sa.select(PatientErasure))
        assert (erasure.patient_id, erasure.reason, erasure.erased_by, erasure.staff_id) == (
            three_patients["adult"], "retention", "Retention purge", None)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "erase"))
        assert (entry.patient_id, entry.staff_name, entry.staff_role) == (three_patients["adult"], "Retention purge", "system")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.QUEUED)) >= 1  # unsent emails of others are not touched
    again = purge(staff)
    assert again.exit_code == 0 and "Erased 0 patients" in again.output
    clock.now = datetime(2037, 4, 1, 17, tzinfo=UTC)
    assert f"patient numbers {three_patients['later']}" in purge(staff).output


def test_a_purge_that_fails_for_one_patient_exits_non_zero_and_leaves_them_whole(staff, clock, three_patients,  # noqa: F811
                                                                                  monkeypatch):
    clock.now = datetime(2037, 4, 1, 17, tzinfo=UTC)  # the adult and Ned are both past retention
    real = retention.erase_in_transaction

    def failing_for_ada(patient_id, *args, **kwargs):
        real(patient_id, *args, **kwargs)  # the work is done, then the disk fails before the commit
        if patient_id == three_patients["adult"]:
            raise RuntimeError("disk full")

    monkeypatch.setattr(retention, "erase_in_transaction", failing_for_ada)
    result = purge(staff)
    assert result.exit_code == 1
    assert f"Patient number {three_patients['adult']} could not be erased (RuntimeError)" in result.output
    assert f"patient numbers {three_patients['later']}" in result.output
    stored = everything_stored(staff)
    assert "Ada Old" in stored and "Adaspirin" in stored and "Ned Later" not in stored


def test_a_purge_without_a_clinic_exits_non_zero(app):
    result = purge(app)
    assert result.exit_code == 1 and "the clinic is not set up yet" in result.output


def test_the_retention_setting_is_on_the_settings_page(staff, login_as):  # noqa: F811
    admin = login_as(StaffRole.ADMIN)
    page = text(admin.get("/admin/settings"))
    assert re.search(r'id="retention_years" name="retention_years"\s+type="text" value="10"', page)
    assert "18th birthday" in page
    with staff.app_context():
        assert db.session.get(Clinic, 1).retention_years == 10


def test_erasing_a_patient_leaves_another_who_shares_the_email_address_alone(staff, olivia):  # noqa: F811
    """A parent and child may share one address (a patient is their email and date of birth)."""
    child = book_online(staff, start="2027-03-12T10:00:00-08:00", name="Otto Brandt", email=OLIVIA["email"],
                        birth_date="2015-02-02")
    child_draft = PatientBrowser(staff)
    child_draft.book_until_check(start="2027-03-12T11:00:00-08:00",
                                 details={"name": "Otto Brandt", "email": OLIVIA["email"], "phone": "213 555 0178",
                                          "birth_day": "2", "birth_month": "2", "birth_year": "2015", "returning": "yes"})
    admin, patient_id = olivia["admin"], olivia["patient_id"]
    confirm = text(admin.get(f"/admin/patients/{patient_id}/erase"))
    assert admin.post(f"/admin/patients/{patient_id}/erase",
                      data={"csrf_token": csrf_from(confirm), "reason": "asked"}).status_code == 303
    with staff.app_context():
        ottos = db.session.scalar(sa.select(Appointment).where(Appointment.reference == child["reference"]))
        [email] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.appointment_id == ottos.id))
        assert (email.to_address, email.status) == (OLIVIA["email"], OutboxStatus.QUEUED)
        assert "Hello Otto Brandt," in outbox.email_of(email, staff.config["CLOCK"]()).text  # still his to be sent
        assert ottos.patient.email == OLIVIA["email"] and not ottos.patient.is_erased
        drafts = list(db.session.scalars(sa.select(BookingDraft).where(BookingDraft.details.is_not(None))))
        assert any(d.details.get("birth_date") == "2015-02-02" for d in drafts)  # his booking in progress stays
    assert "Otto Brandt" not in text(admin.get(f"/admin/patients/{patient_id}/data"))
    assert child_draft.get("/book/check").status_code == 200  # and can still be confirmed


def test_the_copy_of_everything_lists_the_patients_places_on_the_waitlist(staff, olivia, clock):  # noqa: F811
    """A place is kept under the email and date of birth given (as erasure finds it); someone
    else's place is not theirs."""
    from booking.operations import waitlist
    from booking.operations.bookings import PatientDetails

    with staff.app_context():
        for who in (PatientDetails(OLIVIA["name"], OLIVIA["email"], OLIVIA["phone"], date(1961, 7, 19)),
                    PatientDetails("Someone Else", OLIVIA["email"], OLIVIA["phone"], date(1990, 1, 2))):
            waitlist.join(waitlist.JoinRequest(waitlist.Wishes("short", "any", date(2027, 3, 22), date(2027, 4, 2),
                                                               (0, 2), ("morning",)), who, ("night_pain",)), clock())
    admin, patient_id = olivia["admin"], olivia["patient_id"]
    places = admin.get(f"/admin/patients/{patient_id}/data.json").get_json()["waitlist_places"]
    assert [(p["name"], p["from"], p["to"], p["weekdays"], p["parts_of_day"], p["safety_answers"], p["state"])
            for p in places] == [("Olivia Brandt", "2027-03-22", "2027-04-02", [0, 2], ["morning"], ["night_pain"],
                                  "waiting")]
    page = text(admin.get(f"/admin/patients/{patient_id}/data"))
    assert "Places on the waitlist" in page and "Short treatment with anyone, Mar 22, 2027 to Apr 2, 2027" in page
    assert "Someone Else" not in page


def test_erasing_a_patient_with_one_visit_says_so_in_the_singular(staff, login_as):  # noqa: F811
    """"1 appointment(s) are kept", "1 booked visit(s) ahead were cancelled" (a hands-on trial)."""
    book_online(staff, name="Una Single", email="una@example.com")
    with staff.app_context():
        patient_id = db.session.scalar(sa.select(Patient.id).where(Patient.email == "una@example.com"))
    admin = login_as(StaffRole.ADMIN)
    done = submit(admin, f"/admin/patients/{patient_id}/erase", {"reason": "She asked"})
    after = html_text(text(admin.get(done.location)))
    assert ("1 appointment is kept as anonymous history. 1 booked visit ahead was cancelled; its time is free "
            "again.") in after
    data = html_text(text(admin.get(f"/admin/patients/{patient_id}/data")))
    assert "1 appointment kept as anonymous history, 1 cancelled." in data and "(s)" not in data


def test_someone_only_on_the_waitlist_is_found_and_erased_with_every_place(staff, clock, login_as):  # noqa: F811
    """No visit, so no patient record: the search lists them, and erasing takes their places with
    the offers, links and emails, keeping a record of the erasure under a number that holds nothing."""
    from booking.models import OutboxMessage, WaitlistEntry, WaitlistLink, WaitlistOffer
    from tests.test_waitlist import cancel, join, only_ten_oclock_on_tuesday

    visit = only_ten_oclock_on_tuesday(staff)
    place = join(staff, 1, safety=["night_pain"])
    join(staff, 1, service="consult", practitioner="ana")  # a second place of theirs
    join(staff, 2)  # someone else's, kept
    cancel(staff, visit)  # an offer to each waiting for the short visit
    receptionist = login_as(StaffRole.RECEPTIONIST)
    found = submit(receptionist, "/desk/patients", {"text": "wait1@", "born_on": ""}).get_data(as_text=True)
    assert "Only on the waitlist: no patient record" in found and "Wait Er1" in found and "/erase" not in found
    assert "0 patients found" in found and "Check the spelling" not in found  # found, only not as a record
    admin = login_as(StaffRole.ADMIN)
    found = submit(admin, "/desk/patients", {"text": "Er1", "born_on": ""}).get_data(as_text=True)
    page = re.search(r'href="(/admin/patients/waitlist/\d+/erase)"', found).group(1)
    plan = admin.get(page).get_data(as_text=True)
    assert "Erase Wait Er1" in plan and "2 places on the waitlist" in plan
    assert "Enter why this patient is being erased" in submit(admin, page, {"reason": " "}).get_data(as_text=True)
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 3  # a refusal changes nothing
    done = submit(admin, page, {"reason": "The caller asked by phone"})
    assert done.status_code == 303 and done.location.endswith("/admin/patients/erased")
    assert "2 places on the waitlist are erased" in admin.get(done.location).get_data(as_text=True)
    with staff.app_context():
        assert db.session.scalars(sa.select(WaitlistEntry.email)).all() == ["wait2@example.com"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistOffer)
                                 .where(WaitlistOffer.entry_id == place.entry_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistLink)
                                 .where(WaitlistLink.entry_id == place.entry_id)) == 0
        erasure = db.session.scalar(sa.select(PatientErasure))
        assert (erasure.reason, erasure.appointments_kept) == ("The caller asked by phone", 0)
        record = db.session.get(Patient, erasure.patient_id)
        assert (record.name, record.email, record.phone, record.born_on) == (ERASED_NAME, None, None, None)
        bodies = " ".join(f"{m.text_body} {m.subject} {m.to_address} {m.context}"
                          for m in db.session.scalars(sa.select(OutboxMessage)))
        assert "wait1@example.com" not in bodies and "Er1" not in bodies
    assert admin.get(page).status_code == 404  # nothing left to erase


def test_someone_on_the_waitlist_with_a_patient_record_is_erased_from_that_record(staff, clock, login_as):  # noqa: F811
    from booking.operations import waitlist
    from tests.test_waitlist import details, only_ten_oclock_on_tuesday, wishes

    visit = only_ten_oclock_on_tuesday(staff)  # booked by details(99)
    with staff.app_context():
        place = waitlist.join(waitlist.JoinRequest(wishes(), details(99)), clock())
        patient_id = db.session.get(Appointment, visit).patient_id
    response = login_as(StaffRole.ADMIN).get(f"/admin/patients/waitlist/{place.entry_id}/erase")
    assert response.status_code == 303 and response.location.endswith(f"/admin/patients/{patient_id}/erase")
