"""Emergency and urgent answers reach the clinic at once, on both databases.

Wherever the patient gives such an answer (the booking's safety check, a page of the
intake, the progress check, or the safety questions asked again from their link), the
visit is flagged on the desk, on My day and on the visit record in the same commit, and
one alert email goes to the clinic's alert address, naming the visit and the level but
never the patient or the answers. Emails go to a real SMTP server on 127.0.0.1.

The clock is Monday 8 March 2027, 08:00 in Los Angeles (tests/conftest.py).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, OutboxMessage, ProgressCheck, SafetySignal, StaffRole
from booking.notify import outbox
from booking.safety import EMERGENCY, URGENT
from tests.mail import text_of
from tests.test_booking_journey import DETAILS, PatientBrowser, text
from tests.test_clinician import appointment_id, manage_path, return_visit, send_intake
from tests.test_desk import book_online, count
from tests.test_emails import mail  # noqa: F401 (fixture)
from tests.test_emails import send as send_emails
from tests.test_intake import ANSWERS, STEPS
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)

TUESDAY_10 = "2027-03-09T10:00:00-08:00"
ALERTS = "alerts@clinic.example.com"  # the test clinic's alert address (tests/conftest.py)
BOTH_LEGS_NEW = {"leg_symptoms": "both", "leg_weakness": "no", "legs_changing": "new_or_worse"}


def alerts(app) -> list[OutboxMessage]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "safety_alert")
                                        .order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def alert_subjects(app) -> list[str]:
    """Each queued alert's subject, as the sender writes it (outbox.email_of)."""
    with app.app_context():
        return [outbox.email_of(message, app.config["CLOCK"]()).subject for message in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "safety_alert").order_by(OutboxMessage.id))]


def signals(app) -> list[tuple[str, str, list[str]]]:
    with app.app_context():
        return [(s.level, s.source, s.codes) for s in db.session.scalars(sa.select(SafetySignal).order_by(SafetySignal.id))]


def visit(app, booking: dict) -> Appointment:
    with app.app_context():
        found = db.session.get(Appointment, appointment_id(app, booking))
        db.session.expunge(found)
        return found


def answer_steps(patient, path: str, steps, **changes):
    response = None
    for step in steps:
        response = patient.submit(f"{path}/{step}", ANSWERS[step] | changes.get(step, {}))
        assert response.status_code == 303, text(response)
    return response


def test_an_emergency_answer_on_page_2_reaches_the_desk_my_day_and_the_record_before_the_intake_is_sent(
        staff, login_as, mail):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    path = manage_path(booking) + "/intake"
    answer_steps(patient, path, ["episode"])
    response = patient.submit(f"{path}/where", ANSWERS["where"] | BOTH_LEGS_NEW)
    assert response.status_code == 200  # the care card, before the next question
    advice = text(response)
    assert "Call 911 or go to the emergency department now" in advice and EMERGENCY["both_legs"] in advice
    assert "flagged your visit for the clinic" in advice and f'href="{path}/where"' in advice

    # The patient stops here: nothing is sent, yet every staff page shows the flag.
    assert visit(staff, booking).intake_status.value == "in_progress"
    desk = login_as(StaffRole.RECEPTIONIST)
    assert "Emergency flag" in text(desk.get("/desk?date=2027-03-09"))
    assert "Emergency flag" in text(desk.get(f"/desk/appointments/{appointment_id(staff, booking)}"))
    practitioner = login_as(StaffRole.PRACTITIONER)
    assert "Emergency flag" in text(practitioner.get("/clinician?date=2027-03-09"))
    record = text(practitioner.get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    assert re.search(r"Emergency sign:</strong>\s*" + re.escape(EMERGENCY["both_legs"]), record)
    assert "given in the back-pain questions, Monday, March 8, 2027, 8:00 AM" in record

    # One alert, delivered: the visit and the level, never who or what.
    send_emails(staff, mail)
    [email] = mail.to(ALERTS)
    body = text_of(email)
    assert email["Subject"] == f"Emergency flag: visit {booking['reference']} on Tue, Mar 9, 2027, 10:00 AM PST"
    assert booking["reference"] in body and "Ana Test" in body and "the back-pain questions" in body
    assert f"http://clinic.test/desk/appointments/{appointment_id(staff, booking)}" in body
    assert "Pat Caller" not in body and "leg" not in body.lower() and "Pat Caller" not in email["Subject"]

    # Saving the page again with the same answer alerts no one twice.
    patient.submit(f"{path}/where", ANSWERS["where"] | BOTH_LEGS_NEW)
    assert len(alerts(staff)) == 1 and signals(staff) == [("emergency", "intake", ["both_legs"])]

    # Sending the intake repeats the emergency advice on the page that thanks them.
    answer_steps(patient, path, STEPS[2:])
    sent = patient.submit(f"{path}/check")
    page = text(patient.get(sent.location))
    assert "Call 911 or go to the emergency department now" in page and "Answers sent" in page
    assert "Please follow the advice above" in page and "nothing more to do" not in page
    manage = text(patient.get(manage_path(booking)))  # the booking page keeps the advice in view
    assert "symptoms that need emergency care" in manage and "nothing more to do" not in manage
    assert len(alerts(staff)) == 1


def test_long_standing_unchanged_symptoms_in_both_legs_are_a_risk_factor_not_an_emergency(staff, login_as):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    send_intake(staff, booking, where={"leg_symptoms": "both", "legs_changing": "unchanged"})
    assert visit(staff, booking).alert_level is None and alerts(staff) == []
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    assert "Long-standing, unchanged symptoms in both legs" in record and "No red flags" in record


def test_the_leg_question_on_change_is_asked_only_of_someone_with_leg_symptoms(staff):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    path = manage_path(booking) + "/intake"
    answer_steps(patient, path, ["episode"])
    missing = patient.submit(f"{path}/where", ANSWERS["where"] | {"leg_weakness": "left", "legs_changing": ""})
    assert missing.status_code == 200
    assert "Select whether your leg symptoms are new or getting worse" in text(missing)
    assert 'value="left" checked' in text(missing)  # the typing stays
    with staff.app_context():
        assert "where" not in db.session.scalar(sa.select(Appointment)).intake.answers  # nothing of the page kept
    none = patient.submit(f"{path}/where", ANSWERS["where"] | {"leg_symptoms": "no", "leg_weakness": "no",
                                                               "legs_changing": "new_or_worse"})
    assert none.location.endswith(f"{path}/history")  # nothing to ask about: the stray answer is dropped
    with staff.app_context():
        assert db.session.scalar(sa.select(Appointment)).intake.answers["where"]["legs_changing"] is None


def test_the_arm_or_leg_with_lymphedema_reaches_read_first_and_only_beside_that_answer(staff, login_as):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    send_intake(staff, booking, health={"precautions": ["lymphoedema"], "lymph_limb": "Left <b>arm</b>"})
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    assert "no needling of that limb). The patient says: Left &lt;b&gt;arm&lt;/b&gt;</li>" in record
    other = book_online(staff, start="2027-03-10T10:00:00-08:00", email="sam@example.com")
    send_intake(staff, other, health={"precautions": ["pregnant"], "lymph_limb": "Left arm"})
    with staff.app_context():
        assert db.session.get(Appointment, appointment_id(staff, other)).intake.answers["health"]["lymph_limb"] == ""


def test_worsening_weakness_in_one_leg_is_urgent_with_where_to_go_for_a_same_day_doctor(staff, login_as):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    path = manage_path(booking) + "/intake"
    answer_steps(patient, path, ["episode"])
    response = patient.submit(f"{path}/where", ANSWERS["where"] | {"leg_weakness": "left", "legs_changing": "new_or_worse"})
    card = text(response)
    assert "See a doctor within 24 hours" in card and URGENT["worsening_weakness"] in card
    assert "your own doctor or an urgent care center" in card
    assert visit(staff, booking).alert_level == "urgent"
    assert [subject.split(":")[0] for subject in alert_subjects(staff)] == ["Urgent flag"]
    assert "Urgent flag" in text(login_as(StaffRole.RECEPTIONIST).get("/desk?date=2027-03-09"))


def test_cancer_and_a_first_episode_flag_the_visit_from_the_health_page(staff):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    path = manage_path(booking) + "/intake"
    answer_steps(patient, path, ["episode"])
    patient.submit(f"{path}/where", ANSWERS["where"] | BOTH_LEGS_NEW)  # an emergency on page 2 first
    answer_steps(patient, path, ["history"])  # no earlier episodes
    response = patient.submit(f"{path}/health", ANSWERS["health"] | {"risk_factors": ["cancer_history"]})
    card = text(response)  # the new answer is named, beside the emergency that still stands
    assert "Call 911" in card and URGENT["cancer_new_pain"] in card and EMERGENCY["both_legs"] in card
    assert f'href="{path}/health"' in card and f'href="{path}/pain"' in card  # change it here, or go on
    assert signals(staff) == [("emergency", "intake", ["both_legs"]), ("urgent", "intake", ["cancer_new_pain"])]


def test_the_confirmation_repeats_the_urgent_advice(staff):  # noqa: F811
    patient = PatientBrowser(staff)
    patient.book_until_check(symptoms=("infection_risk",))
    patient.confirm()
    page = text(patient.get("/book/confirmation"))
    assert "symptoms that need a doctor within 24 hours" in page and "urgent care center today" in page
    plain = PatientBrowser(staff)
    plain.book_until_check(start="2027-03-08T14:00:00-08:00", details={**DETAILS, "email": "other@example.com"})
    plain.confirm()
    assert "within 24 hours" not in text(plain.get("/book/confirmation"))


def test_an_urgent_answer_at_booking_alerts_the_clinic_once_and_the_intake_adds_nothing_twice(staff, mail):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10, safety=["night_pain", "fever"])
    assert signals(staff) == [("urgent", "booking", ["fever", "night_pain"])]
    send_intake(staff, booking)
    assert len(alerts(staff)) == 1
    send_emails(staff, mail)
    [email] = mail.to(ALERTS)
    assert "the safety check when booking" in text_of(email) and "night" not in text_of(email).lower()


def test_an_alert_still_goes_after_the_visit_moves_but_not_once_it_is_over(staff, clock, mail):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10, safety=["fever"])
    moved = PatientBrowser(staff).submit(f"{manage_path(booking)}/reschedule/confirm?start=2027-03-09T11:00:00-08:00",
                                         {"start": "2027-03-09T11:00:00-08:00"})
    assert moved.status_code == 303
    send_emails(staff, mail)
    assert len(mail.to(ALERTS)) == 1  # the move changed the time, not what the patient said

    late = book_online(staff, start="2027-03-10T10:00:00-08:00", email="sam@example.com", safety=["fever"])
    clock.advance(days=3)  # the sender was down until after the visit
    send_emails(staff, mail)
    assert len(mail.to(ALERTS)) == 1
    [skipped] = [m for m in alerts(staff) if m.appointment_id == appointment_id(staff, late)]
    assert skipped.status.value == "skipped" and "record shows the flag" in skipped.last_error


def test_no_alert_address_means_no_alert_email_but_the_flag_still_shows(staff, login_as):  # noqa: F811
    with staff.app_context():
        from booking.models import Clinic

        db.session.get(Clinic, 1).alert_email = None
        db.session.commit()
    book_online(staff, start=TUESDAY_10, safety=["fever"])
    assert alerts(staff) == [] and signals(staff) == [("urgent", "booking", ["fever"])]
    day = text(login_as(StaffRole.RECEPTIONIST).get("/desk?date=2027-03-09"))
    assert "Urgent flag" in day and "No alert address is set" in day and "Ask an admin" in day
    assert 'href="/admin/settings"' in text(login_as(StaffRole.ADMIN).get("/desk?date=2027-03-09"))


# --- the safety questions again, before the visit ----------------------------------------

def test_the_manage_page_and_the_reminder_ask_to_check_the_safety_questions_again(staff, clock, mail):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    manage = manage_path(booking)
    assert f'href="{manage}/safety-check"' in text(patient.get(manage))

    clock.advance(hours=12)  # inside the reminder window
    result = staff.test_cli_runner().invoke(args=["reminders", "queue"])
    assert result.exit_code == 0, result.output
    send_emails(staff, mail)
    [reminder] = [m for m in mail.to("pat@example.com") if m["Subject"].startswith("Reminder")]
    link = re.search(r"<(http://clinic.test(/manage/[^/>]+)/safety-check)>", text_of(reminder))
    assert link, text_of(reminder)
    assert "Do any of these apply to you now?" in text(patient.get(link.group(2) + "/safety-check"))


def test_nothing_changed_notes_when_the_safety_questions_were_last_answered(staff, clock, login_as):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    manage = manage_path(booking)
    clock.advance(hours=3)
    done = patient.submit(f"{manage}/safety-check", {"symptoms": ["none"]}, follow=True)
    assert "Nothing on the list applies to you, so your visit goes ahead as booked" in text(done)
    assert signals(staff) == [] and alerts(staff) == []
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    assert "Safety questions last answered: Monday, March 8, 2027, 11:00 AM,\n      none applied." in record


@pytest.mark.parametrize("code, level, card", [
    ("aortic_symptoms", "emergency", "Call 911 or go to the emergency department now"),
    ("infection_risk", "urgent", "See a doctor within 24 hours"),
])
def test_a_changed_answer_flags_the_visit_and_alerts_the_clinic(staff, login_as, code, level, card):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    manage = manage_path(booking)
    response = patient.submit(f"{manage}/safety-check", {"symptoms": [code]})
    assert response.location.endswith(f"{manage}/safety-check/result")
    assert card in text(patient.get(response.location))  # read back from the visit: a reload shows it again
    assert visit(staff, booking).alert_level == level
    assert signals(staff) == [(level, "recheck", [code])] and len(alerts(staff)) == 1
    assert f"{level.capitalize()} flag" in text(login_as(StaffRole.RECEPTIONIST).get("/desk?date=2027-03-09"))
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    assert "given in a fresh check of the safety questions" in record


def test_nothing_applying_now_does_not_promise_all_is_well_after_an_earlier_flag(staff, clock):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10, safety=["night_pain"])
    patient = PatientBrowser(staff)
    manage = manage_path(booking)
    done = text(patient.submit(f"{manage}/safety-check", {"symptoms": ["none"]}, follow=True))
    assert "the clinic may contact you before your visit" in done and "goes ahead as booked" not in done
    assert visit(staff, booking).alert_level == "urgent" and visit(staff, booking).safety_answers == []
    assert patient.get(f"{manage}/safety-check/result").status_code == 303  # nothing urgent to show now


def test_the_care_card_page_goes_on_once_the_answer_is_changed(staff):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    path = manage_path(booking) + "/intake"
    answer_steps(patient, path, ["episode"])
    assert f'href="{path}/where"' in text(patient.submit(f"{path}/where", ANSWERS["where"] | BOTH_LEGS_NEW))
    assert f'href="{path}/where"' in text(patient.get(f"{path}/get-help"))  # the page that raised it
    patient.submit(f"{path}/where", ANSWERS["where"])  # "I chose an answer by mistake"
    assert patient.get(f"{path}/get-help").location.endswith(f"{path}/history")
    assert visit(staff, booking).alert_level == "emergency"  # what was said stays on the record


def test_bad_safety_check_answers_change_nothing(staff):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    manage = manage_path(booking)
    for answers, message in (({}, "Select any that apply"), ({"symptoms": ["none", "fever"]}, "only if nothing"),
                             ({"symptoms": ["made_up"]}, "Select only from the list")):
        response = patient.submit(f"{manage}/safety-check", answers)
        assert response.status_code == 200 and message in text(response)
    assert signals(staff) == [] and visit(staff, booking).safety_checked_at == visit(staff, booking).created_at


def test_a_cancelled_visit_has_no_safety_questions_to_answer(staff):  # noqa: F811
    booking = book_online(staff, start=TUESDAY_10)
    patient = PatientBrowser(staff)
    manage = manage_path(booking)
    patient.submit(f"{manage}/cancel", {"reason": ""})
    response = patient.get(f"{manage}/safety-check")
    assert response.status_code == 303 and count(staff, SafetySignal) == 0


# --- the progress check -----------------------------------------------------------------

def test_the_progress_check_asks_the_safety_questions_and_after_effects(staff, clock, login_as):  # noqa: F811
    first, second = return_visit(staff, clock, login_as)
    patient = PatientBrowser(staff)
    manage = manage_path(second)
    form = text(patient.get(f"{manage}/progress"))
    assert "After your last treatment, did you notice any of these?" in form and "Do any of these apply to you now?" in form
    answers = {"pain_now": "3", "pain_average": "2", "pain_worst": "5", "rating_1": "7", "rating_2": "6"}
    missing = patient.submit(f"{manage}/progress", answers)
    assert "select anything you noticed" in text(missing) and "Select any that apply to you now" in text(missing)
    assert count(staff, ProgressCheck) == 0

    sent = patient.submit(f"{manage}/progress", answers | {
        "after_effects": ["flare_up", "other"], "after_effects_other": "Tired <b>all</b> evening",
        "symptoms": ["bladder_bowel"]}, follow=True)
    assert "Call 911 or go to the emergency department now" in text(sent) and "Progress check sent" in text(sent)
    assert signals(staff) == [("emergency", "progress_check", ["bladder_bowel"])] and len(alerts(staff)) == 1
    assert f'href="{manage}/safety-check"' in text(patient.get(manage))  # still offered until the visit
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{appointment_id(staff, second)}"))
    assert "given in the progress check" in record and "Back pain worse for a day or two" in record
    assert "Tired &lt;b&gt;all&lt;/b&gt; evening" in record


# --- the migration ----------------------------------------------------------------------

def test_upgrading_flags_existing_visits_from_what_they_already_hold(staff):  # noqa: F811
    import flask_migrate

    urgent = book_online(staff, start=TUESDAY_10, safety=["fever"])
    emergency = book_online(staff, start="2027-03-10T10:00:00-08:00", email="sam@example.com")
    send_intake(staff, emergency, where=BOTH_LEGS_NEW)
    plain = book_online(staff, start="2027-03-11T10:00:00-08:00", email="kim@example.com")
    stopped = book_online(staff, start="2027-03-12T10:00:00-08:00", email="lee@example.com")  # stopped at page 2
    patient = PatientBrowser(staff)
    answer_steps(patient, manage_path(stopped) + "/intake", ["episode"])
    patient.submit(manage_path(stopped) + "/intake/where", ANSWERS["where"] | BOTH_LEGS_NEW)
    with staff.app_context():
        db.session.remove()
        flask_migrate.downgrade(revision="0010")  # as the schema was before signals
        flask_migrate.upgrade()
    assert [visit(staff, b).alert_level for b in (urgent, emergency, plain, stopped)] == [
        "urgent", "emergency", None, "emergency"]
    assert signals(staff) == [("urgent", "booking", ["fever"]), ("emergency", "intake", ["both_legs"]),
                              ("emergency", "intake", ["both_legs"])]
    assert visit(staff, plain).safety_checked_at == visit(staff, plain).created_at


# --- two tabs at once -------------------------------------------------------------------

def test_two_pages_saved_at_the_same_moment_keep_both_and_alert_once(staff, clock):  # noqa: F811
    from booking.operations import intakes
    from tests.test_emails import both_at_once

    booking = book_online(staff, start=TUESDAY_10)
    visit_id = appointment_id(staff, booking)
    pages = [("where", {"side": "left", "spreads": [], **BOTH_LEGS_NEW}),
             ("history", {"worse": [], "better": [], "morning_stiffness": "no", "previous_episodes": "yes",
                          "imaging": "none", "imaging_findings": "", "treatments": []})]

    def save_a_page():
        step, answers = pages.pop()  # each thread takes one page
        return intakes.save_step(db.session.get(Appointment, visit_id), step, answers, clock())

    raised = both_at_once(staff, save_a_page)
    assert sorted(raised, key=len) == [{}, {"both_legs": "emergency"}]
    with staff.app_context():
        assert set(db.session.get(Appointment, visit_id).intake.answers) == {"where", "history"}
    assert signals(staff) == [("emergency", "intake", ["both_legs"])] and len(alerts(staff)) == 1
    assert visit(staff, booking).alert_level == "emergency"


# --- courses: the answers are the patient's, not one visit's --------------------------------

COURSE_PATIENT = {"name": "Pat Course", "email": "pat@example.com", "phone": "+1 213 555 0142", "birth_date": "1980-04-02"}


def book_course(app, safety: list[str], count: int = 4) -> list[dict]:
    """A weekly course booked through the API, from Tuesday 9 March; its visits as the API lists them."""
    response = app.test_client().post("/api/v1/bookings", json={
        "service": "consult", "practitioner": "ana", "start": TUESDAY_10, "patient": COURSE_PATIENT,
        "safety": safety, "repeat": {"every_days": 7, "count": count}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["visits"]


def course_levels(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Appointment.alert_level).where(Appointment.course_id.is_not(None))
                                       .order_by(Appointment.starts_at)))


def test_an_urgent_answer_booking_a_course_flags_every_visit_of_it_with_one_alert(staff, login_as):  # noqa: F811
    visits = book_course(staff, ["fever"])
    assert course_levels(staff) == ["urgent"] * 4
    assert signals(staff) == [("urgent", "booking", ["fever"])] * 4 and len(alerts(staff)) == 1
    # The third visit's day and record show it, as the first's do: the first may be cancelled or over.
    assert "Urgent flag" in text(login_as(StaffRole.RECEPTIONIST).get("/desk?date=2027-03-23"))
    third = appointment_id(staff, visits[2])
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{third}"))
    assert "given in the safety check when booking" in record


def test_an_emergency_answer_on_one_visits_link_raises_the_courses_visits_still_ahead(staff, clock, login_as):  # noqa: F811
    visits = book_course(staff, ["fever"])
    with staff.app_context():
        from booking.operations import bookings
        bookings.cancel(appointment_id(staff, visits[3]), "", clock())
    clock.advance(days=1, hours=3)  # Tuesday 11:00: the first visit has begun
    patient = PatientBrowser(staff)
    third = manage_path(visits[2])
    assert patient.submit(f"{third}/safety-check", {"symptoms": ["aortic_symptoms"]}).status_code == 303
    # The second visit (the next the patient comes to) and the third are raised; the first, begun,
    # and the fourth, cancelled, are not; one alert for the answer, beside the booking's.
    assert course_levels(staff) == ["urgent", "emergency", "emergency", "urgent"]
    assert len(alerts(staff)) == 2
    assert "Emergency flag" in text(login_as(StaffRole.RECEPTIONIST).get("/desk?date=2027-03-16"))


def test_courses_booked_before_the_upgrade_get_their_flags_on_every_visit_ahead(staff, clock):  # noqa: F811
    import flask_migrate
    from datetime import datetime, timezone

    visits = book_course(staff, [])
    ids = [appointment_id(staff, v) for v in visits]
    raised = datetime(2027, 3, 8, 16, tzinfo=timezone.utc)
    with staff.app_context():
        # As courses were before: each signal only on the visit it was given for. The third visit
        # has already happened (still marked booked), so nothing is passed on to it.
        db.session.add_all([
            SafetySignal(appointment_id=ids[0], level="emergency", source="intake", codes=["both_legs", "fever"],
                         raised_at=raised),
            SafetySignal(appointment_id=ids[1], level="emergency", source="recheck", codes=["both_legs"],
                         raised_at=raised)])
        db.session.execute(sa.update(Appointment).where(Appointment.id.in_(ids[:2])).values(alert_level="emergency"))
        db.session.execute(sa.update(Appointment).where(Appointment.id == ids[2]).values(
            starts_at=datetime(2026, 1, 6, 18, tzinfo=timezone.utc), ends_at=datetime(2026, 1, 6, 19, tzinfo=timezone.utc),
            occupied_until=datetime(2026, 1, 6, 19, 15, tzinfo=timezone.utc)))
        db.session.commit()
        db.session.remove()
        flask_migrate.downgrade(revision="0032")
        flask_migrate.upgrade()
        held = {(ids.index(s.appointment_id), s.level, s.source, tuple(s.codes))
                for s in db.session.scalars(sa.select(SafetySignal))}
        levels = {ids.index(a.id): a.alert_level for a in db.session.scalars(sa.select(Appointment))}
    assert held == {
        (0, "emergency", "intake", ("both_legs", "fever")), (1, "emergency", "recheck", ("both_legs",)),
        (1, "urgent", "intake", ("fever",)),  # the level of what was passed on, not of the whole signal
        (3, "emergency", "intake", ("both_legs", "fever"))}
    assert levels == {0: "emergency", 1: "emergency", 2: None, 3: "emergency"}
