"""The practitioner's pages on both databases: my day, the visit record, access, the audit
log and the progress check before a return visit.

The clock is Monday 8 March 2027, 08:00 in Los Angeles. Ana works weekdays 09:00-12:30
and 13:30-17:00; Ben works Monday and Wednesday 10:00-16:00. The practitioner account
is Ana's.
"""

from __future__ import annotations

import html
import json
import re

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.measures.intake import PRECAUTIONS, RISK_FACTORS
from booking.models import Appointment, AppointmentStatus, AuditEntry, Intake, IntakeStatus, ProgressCheck, StaffRole
from booking.questionnaire import ASKED_PRECAUTIONS, ASKED_RISK_FACTORS
from booking.safety import EMERGENCY, URGENT
from tests.test_booking_journey import PatientBrowser, text
from tests.test_desk import book_online, count
from tests.test_intake import ANSWERS, STEPS
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

TUESDAY_10 = "2027-03-09T10:00:00-08:00"
WEDNESDAY_11 = "2027-03-10T11:00:00-08:00"

# Answers that raise nothing: no precaution, risk factor, nerve-root pattern or flag.
CLEAR = {
    "where": {"side": "left", "spreads": ["buttock"], "leg_symptoms": "no", "leg_weakness": "no", "legs_changing": ""},
    "health": {"medications": "Ibuprofen <b>400</b> & fish oil", "blood_thinners": "no", "antiplatelets": "no",
               "precautions": ["none"], "risk_factors": ["none"], "improving": "yes"},
}


def manage_path(booking: dict) -> str:
    return re.search(r"(/manage/[^/]+)$", booking["manage_url"]).group(1)


def send_intake(app, booking: dict, **changes) -> None:
    """The patient answers every step (the clear answers, changed as asked) and sends them."""
    patient = PatientBrowser(app)
    path = manage_path(booking) + "/intake"
    for step in STEPS:
        answers = ANSWERS[step] | CLEAR.get(step, {}) | changes.get(step, {})
        saved = patient.submit(f"{path}/{step}", answers)
        assert saved.status_code == 303 or "care-card" in text(saved), text(saved)  # a red flag: its card first
    assert patient.submit(f"{path}/check").status_code == 303


def appointment_id(app, booking: dict) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == booking["reference"]))


def audit_rows(app) -> list[tuple]:
    with app.app_context():
        return [(a.staff_name, a.staff_role, a.action, a.appointment_id, a.patient_id, a.address)
                for a in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def read_first(page: str) -> str:
    return re.search(r'<section class="read-first".*?</section>', page, re.S).group(0)


@pytest.fixture
def practitioner(login_as):  # noqa: F811
    return login_as(StaffRole.PRACTITIONER)


# --- my day ------------------------------------------------------------------------------

def test_my_day_lists_visits_with_questions_flags_and_first_or_return(staff, practitioner):  # noqa: F811
    flagged = book_online(staff, start=TUESDAY_10, name="Flo Flagged", email="flo@example.com", safety=["night_pain"])
    send_intake(staff, flagged, health={"precautions": ["pregnant"]})
    book_online(staff, start="2027-03-09T11:00:00-08:00", name="Quinn Quiet", email="quinn@example.com")
    book_online(staff, start="2027-03-10T10:00:00-08:00", practitioner="ben", name="Bea Ben", email="bea@example.com")

    page = text(practitioner.get("/clinician?date=2027-03-09"))
    assert "My day" in page and "Tuesday, March 9, 2027" in page
    cards = re.findall(r'<li class="visit-card">.*?</li>', page, re.S)
    assert [re.search(r"</span> ([^<]+)</a>", card).group(1) for card in cards] == ["Flo Flagged", "Quinn Quiet"]
    assert "10:00" in cards[0] and "First visit" in cards[0] and "Intake: sent" in cards[0]
    assert "Urgent flag" in cards[0] and "Precautions: pregnant" in cards[0]
    assert "Intake: not started" in cards[1] and "flag" not in cards[1].lower()
    assert "Bea Ben" not in text(practitioner.get("/clinician?date=2027-03-10"))  # Ben's patient, Ben's day
    # Only the markers are read for the list: no answers on it, and nothing audited.
    assert "Ibuprofen" not in page and audit_rows(staff) == []


def test_an_admin_chooses_whose_day_and_receptionists_have_no_way_in(staff, login_as):  # noqa: F811
    book_online(staff, start="2027-03-10T10:00:00-08:00", practitioner="ben", name="Bea Ben", email="bea@example.com")
    admin = login_as(StaffRole.ADMIN)
    page = text(admin.get("/clinician?date=2027-03-10&practitioner=ben"))
    assert "Bea Ben" in page and '<option value="ben" selected>' in page
    receptionist = login_as(StaffRole.RECEPTIONIST)
    visit = appointment_id(staff, book_online(staff))
    assert receptionist.get("/clinician").status_code == 403
    assert receptionist.get(f"/clinician/visits/{visit}").status_code == 403
    assert "read the intake" not in text(receptionist.get(f"/desk/appointments/{visit}"))
    assert [row[2] for row in audit_rows(staff)] == ["refused", "refused"]  # the two refusals, and no look


def test_my_day_costs_the_same_queries_for_one_visit_or_eight(staff, practitioner, count_queries):  # noqa: F811
    def queries() -> int:
        with count_queries() as counted:
            assert practitioner.get("/clinician?date=2027-03-09").status_code == 200
        return counted.total

    first = book_online(staff, start="2027-03-09T09:00:00-08:00", name="Ann One", email="ann@example.com")
    send_intake(staff, first)
    one = queries()
    for hour in ("09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "13:30"):
        booked = book_online(staff, start=f"2027-03-09T{hour}:00-08:00", name=f"Pat {hour}", email=f"p{hour[:2]}{hour[3:]}@example.com")
        send_intake(staff, booked)
    assert queries() == one


# --- the visit record ---------------------------------------------------------------------

PRESENT = (
    [(f"precaution {key}", {"health": {"precautions": [key]}}, (), PRECAUTIONS[key]) for key in ASKED_PRECAUTIONS]
    + [("blood thinners", {"health": {"blood_thinners": "yes"}}, (), PRECAUTIONS["blood_thinners"])]
    # Not a first episode: cancer with a first episode is also an urgent flag (its own case below).
    + [(f"risk {key}", {"health": {"risk_factors": [key]}, "history": {"previous_episodes": "yes"}}, (), RISK_FACTORS[key])
       for key in ASKED_RISK_FACTORS]
    + [("no improvement", {"health": {"improving": "no"}}, (), RISK_FACTORS["no_improvement"])]
    + [(f"urgent {code}", {}, (code,), URGENT[code]) for code in URGENT]
    + [("both legs", {"where": {"leg_symptoms": "both", "legs_changing": "new_or_worse", "spreads": ["thigh"]}}, (), EMERGENCY["both_legs"])]
    + [("nerve root", {"where": {"spreads": ["below_knee"], "leg_symptoms": "left", "legs_changing": "unchanged"}}, (),
        "Yes:</strong> pain below the knee")]
)


@pytest.mark.parametrize("changes, safety, shown", [case[1:] for case in PRESENT], ids=[case[0] for case in PRESENT])
def test_the_summary_shows_each_flag_and_precaution_when_present(staff, practitioner, changes, safety, shown):  # noqa: F811
    booking = book_online(staff, safety=safety)
    send_intake(staff, booking, **changes)
    page = text(practitioner.get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    summary = read_first(page)
    assert html.escape(shown, quote=False) in summary or shown in summary
    others = [label for label in [*PRECAUTIONS.values(), *RISK_FACTORS.values(), *URGENT.values(), *EMERGENCY.values()]
              if label != shown]
    assert not [label for label in others if html.escape(label, quote=False) in summary]


def test_an_age_over_55_with_a_new_episode_is_a_risk_factor(staff, practitioner):  # noqa: F811
    booking = book_online(staff, birth_date="1960-01-15")
    send_intake(staff, booking, history={"previous_episodes": "no"})
    summary = read_first(text(practitioner.get(f"/clinician/visits/{appointment_id(staff, booking)}")))
    assert RISK_FACTORS["age_new_episode"] in summary


def test_with_nothing_to_flag_the_summary_says_none_and_names_nothing(staff, practitioner):  # noqa: F811
    booking = book_online(staff)
    send_intake(staff, booking)
    page = text(practitioner.get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    summary = read_first(page)
    assert "No red flags" in summary and summary.count("None reported.") == 2
    assert "No:</dt>" not in summary and "<strong>Subacute</strong>: 6 weeks" in summary
    assert "acute is under 4 weeks" in summary.lower() and "chronic over 12 weeks" in summary
    for label in [*PRECAUTIONS.values(), *RISK_FACTORS.values(), *URGENT.values(), *EMERGENCY.values()]:
        assert html.escape(label, quote=False) not in summary
    # Then the scores with their bands, then the patient's own words, escaped.
    assert page.index("Read first") < page.index("Scores") < page.index("In the patient's words")
    assert re.search(r"Pain now</th><td>6 / 10</td><td>moderate", page)
    assert re.search(r"Worst pain, last week</th><td>8 / 10</td><td>severe", page)
    assert "2 points or more in pain" in page
    assert "Ibuprofen &lt;b&gt;400&lt;/b&gt; &amp; fish oil" in page and "<b>400</b>" not in page
    assert "Gardening" in page and "None: this is the patient's first visit." in page


def test_without_an_intake_the_page_says_so_and_still_shows_the_booking_flags(staff, practitioner):  # noqa: F811
    booking = book_online(staff, safety=["fever"])
    page = text(practitioner.get(f"/clinician/visits/{appointment_id(staff, booking)}"))
    assert "No intake yet." in page and URGENT["fever"] in read_first(page)
    assert "Scores" not in page


def test_access_to_visit_records_and_one_audit_row_per_look(staff, practitioner, login_as):  # noqa: F811
    own = book_online(staff)
    send_intake(staff, own)
    bens = book_online(staff, start=WEDNESDAY_11, practitioner="ben", name="Bea Ben", email="bea@example.com")
    send_intake(staff, bens)
    own_id, bens_id = appointment_id(staff, own), appointment_id(staff, bens)

    assert practitioner.get(f"/clinician/visits/{bens_id}").status_code == 404  # another practitioner's visit
    assert practitioner.get(f"/clinician/visits/{bens_id}/export").status_code == 404
    assert practitioner.get("/clinician/visits/999999").status_code == 404
    with staff.app_context():
        ana_patient, bea = (db.session.get(Appointment, i).patient_id for i in (own_id, bens_id))
    refused = [("Practitioner", "practitioner", "refused", bens_id, bea, "127.0.0.1"),
               ("Practitioner", "practitioner", "refused", bens_id, bea, "127.0.0.1"),
               ("Practitioner", "practitioner", "refused", None, None, "127.0.0.1")]  # no such visit
    assert audit_rows(staff) == refused

    response = practitioner.get(f"/clinician/visits/{own_id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert practitioner.get(f"/clinician/visits/{own_id}/print").status_code == 200
    export = practitioner.get(f"/clinician/visits/{own_id}/export")
    assert export.headers["Content-Disposition"].startswith("attachment;")
    record = json.loads(export.get_data(as_text=True))
    assert record["intake"]["derived"]["pain_now"] == 6 and record["patient"]["name"] == "Pat Caller"
    admin = login_as(StaffRole.ADMIN)
    assert admin.get(f"/clinician/visits/{bens_id}").status_code == 200

    assert audit_rows(staff) == refused + [
        ("Practitioner", "practitioner", "view", own_id, ana_patient, "127.0.0.1"),
        ("Practitioner", "practitioner", "print", own_id, ana_patient, "127.0.0.1"),
        ("Practitioner", "practitioner", "export", own_id, ana_patient, "127.0.0.1"),
        ("Admin", "admin", "view", bens_id, bea, "127.0.0.1"),
    ]


def test_the_audit_log_page_lists_and_filters_and_refuses_bad_filters(staff, practitioner, login_as):  # noqa: F811
    own = book_online(staff)
    visit = appointment_id(staff, own)
    practitioner.get(f"/clinician/visits/{visit}")
    practitioner.get(f"/clinician/visits/{visit}/print")
    admin = login_as(StaffRole.ADMIN)
    page = text(admin.get("/admin/audit"))
    assert page.count("<td>Practitioner (practitioner)</td>") == 2 and "Printed" in page and "Pat Caller" in page
    only_prints = text(admin.get("/admin/audit?action=print"))
    assert only_prints.count("<td>Practitioner (practitioner)</td>") == 1
    assert "No entries match" in text(admin.get("/admin/audit?since=2027-03-09"))  # the looks were on 8 March
    assert text(admin.get("/admin/audit?until=2027-03-08")).count("(practitioner)</td>") == 2
    for query, message in [("patient=abc", "Enter a patient number"), ("since=2027-02-30", "must be a real date"),
                           ("since=2027-03-09&until=2027-03-08", "same as or after"),
                           ("staff=99999", "Choose a staff member"), ("action=delete", "Choose what they did")]:
        response = admin.get(f"/admin/audit?{query}")
        assert response.status_code == 200 and message in text(response), query
    assert practitioner.get("/admin/audit").status_code == 403


def test_the_visit_page_costs_the_same_queries_with_more_history(staff, practitioner, count_queries, clock):  # noqa: F811
    first = book_online(staff)
    send_intake(staff, first)
    visit = appointment_id(staff, first)

    def queries() -> int:
        with count_queries() as counted:
            assert practitioner.get(f"/clinician/visits/{visit}").status_code == 200
        return counted.total

    alone = queries()
    for day in ("2027-03-01", "2027-03-02", "2027-03-03"):  # earlier visits, written as the desk would have
        with staff.app_context():
            this = db.session.get(Appointment, visit)
            db.session.add(Appointment(
                reference=f"R{day[-2:]}", practitioner_id=this.practitioner_id, service_id=this.service_id,
                patient_id=this.patient_id, starts_at=this.starts_at.replace(day=int(day[-2:])),
                ends_at=this.ends_at.replace(day=int(day[-2:])), occupied_until=this.occupied_until.replace(day=int(day[-2:])),
                status=AppointmentStatus.COMPLETED, safety_flags=[], manage_token_hash=day * 2, booked_via="desk",
                created_at=this.created_at))
            db.session.commit()
    assert queries() == alone


# --- progress before a return visit ----------------------------------------------------

def return_visit(staff, clock, login_as):  # noqa: F811
    """A first visit with an intake, completed; then a return visit booked for the next week."""
    first = book_online(staff, start=TUESDAY_10)
    send_intake(staff, first)
    clock.advance(days=2)
    second = book_online(staff, start="2027-03-16T10:00:00-07:00")
    return first, second


def test_a_return_visit_asks_for_a_progress_check_and_the_practitioner_sees_the_trend(staff, clock, login_as):  # noqa: F811
    first, second = return_visit(staff, clock, login_as)
    patient = PatientBrowser(staff)
    manage = manage_path(second)
    page = text(patient.get(manage))
    assert "Tell us how you are getting on" in page and "Tell us about your back pain" not in page
    form = text(patient.get(f"{manage}/progress"))
    assert "How well can you do this now: Gardening?" in form and "Putting on socks" in form

    bad = patient.submit(f"{manage}/progress", {"pain_now": "3", "pain_average": "11", "rating_1": "6"})
    assert bad.status_code == 200 and "Choose a number from 0 to 10 for your average pain" in text(bad)
    assert "Choose a number from 0 to 10 for &#39;Putting on socks&#39;" in text(bad)
    assert 'value="3" checked' in text(bad) and count(staff, ProgressCheck) == 0

    sent = patient.submit(f"{manage}/progress", {"pain_now": "3", "pain_average": "2", "pain_worst": "5",
                                                 "rating_1": "7", "rating_2": "6", "after_effects": "none",
                                                 "symptoms": "none"}, follow=True)
    assert "Progress check sent" in text(sent)
    again = patient.client.post(f"{manage}/progress", follow_redirects=True, data={  # sent twice, as from a Back button
        "csrf_token": csrf_from(form), "pain_now": "1", "pain_average": "1", "pain_worst": "1", "rating_1": "9", "rating_2": "9",
        "after_effects": "none", "symptoms": "none"})
    assert "Progress check sent" in text(again) and count(staff, ProgressCheck) == 1
    assert "You have sent your progress check" in text(patient.get(manage))
    assert "already been sent" in text(patient.get(f"{manage}/intake/episode"))  # no second set of questions
    with staff.app_context():  # the desk reads this visit's questions as answered
        assert db.session.get(Appointment, appointment_id(staff, second)).intake_status is IntakeStatus.SENT

    practitioner = login_as(StaffRole.PRACTITIONER)
    day = text(practitioner.get("/clinician?date=2027-03-16"))
    assert "Return visit (visit 2)" in day and "Progress check sent" in day
    visit = text(practitioner.get(f"/clinician/visits/{appointment_id(staff, second)}"))
    assert "the intake on this page was sent on March 8, 2027" in visit and "Scores at the intake of March 8, 2027" in visit
    assert re.search(r"Gardening</dt><dd>7 / 10", visit) and "Function (mean)</dt><dd>6.5 / 10" in visit
    # Average pain 5 -> 2 is a meaningful improvement; function 4.5 -> 6.5 too (2 points).
    assert "<svg" in visit and visit.count('class="chart__meaningful"') == 2
    rows = re.findall(r"<tr><th scope=\"row\">(Mar \d+, 2027)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", visit, re.S)
    assert rows[0] == ("Mar 9, 2027", "5", "4.5")
    assert rows[1][0] == "Mar 16, 2027" and "2 (-3: <strong>meaningful improvement</strong>)" in rows[1][1]
    assert "6.5 (+2: <strong>meaningful improvement</strong>)" in rows[1][2]


def test_function_scores_stored_by_the_old_rounding_are_corrected_by_the_migration(staff, clock, login_as):  # noqa: F811
    import flask_migrate

    four = {"activity_1": "Gardening", "rating_1": "4", "activity_2": "Socks", "rating_2": "4",
            "activity_3": "Driving", "rating_3": "5", "activity_4": "Lifting", "rating_4": "4"}
    first = book_online(staff, start=TUESDAY_10)
    send_intake(staff, first, activities=four)
    clock.advance(days=2)
    second = book_online(staff, start="2027-03-16T10:00:00-07:00")
    sent = PatientBrowser(staff).submit(f"{manage_path(second)}/progress", {
        "pain_now": "3", "pain_average": "2", "pain_worst": "5", "rating_1": "1", "rating_2": "1", "rating_3": "2",
        "rating_4": "1", "after_effects": "none", "symptoms": "none"})
    assert sent.status_code == 303
    with staff.app_context():
        intake = db.session.scalar(sa.select(Intake))
        check = db.session.scalar(sa.select(ProgressCheck))
        assert (intake.psfs_score, check.psfs_score) == (4.3, 1.3)  # 4.25 and 1.25, half-up
        # As the float rounding before this change stored them:
        intake.psfs_score, check.psfs_score = round(17 / 4, 1), round(5 / 4, 1)
        db.session.commit()
        assert (intake.psfs_score, check.psfs_score) == (4.2, 1.2)
        db.session.rollback()  # end the read, so that on SQLite the next one sees the migration's writes
        flask_migrate.downgrade(revision="0012")
        flask_migrate.upgrade()
        corrected = db.session.scalar(sa.select(Intake.psfs_score)), db.session.scalar(sa.select(ProgressCheck.psfs_score))
        assert corrected == (4.3, 1.3)


def test_a_progress_check_for_a_cancelled_or_begun_visit_stores_nothing(staff, clock, login_as):  # noqa: F811
    first, second = return_visit(staff, clock, login_as)
    patient = PatientBrowser(staff)
    manage = manage_path(second)
    token = csrf_from(text(patient.get(f"{manage}/progress")))
    answers = {"csrf_token": token, "pain_now": "3", "pain_average": "2", "pain_worst": "5", "rating_1": "7", "rating_2": "6",
               "after_effects": "none", "symptoms": "none"}

    clock.advance(days=6, minutes=65)  # from Wednesday 10 March 08:00 to Tuesday 16 March 10:05 (PDT): begun
    begun = patient.client.post(f"{manage}/progress", data=answers)
    assert begun.status_code == 409 and "already begun" in text(begun)
    assert count(staff, ProgressCheck) == 0

    clock.advance(days=-6, minutes=-65)
    patient.submit(f"{manage}/cancel", {"reason": "Feeling better"})
    cancelled = patient.client.post(f"{manage}/progress", data=answers)
    assert cancelled.status_code == 409 and "cancelled" in text(cancelled) and "have not been saved" in text(cancelled)
    assert count(staff, ProgressCheck) == 0


def test_a_first_visit_has_no_progress_check(staff, clock, login_as):  # noqa: F811
    booking = book_online(staff)
    response = PatientBrowser(staff).get(manage_path(booking) + "/progress")
    assert response.status_code == 409 and "asks the full questions" in text(response)


# --- found by review ----------------------------------------------------------------------

def test_the_day_marks_the_most_severe_flag_and_a_missed_visits_answers_still_count(staff, practitioner, clock):  # noqa: F811
    first = book_online(staff, start=TUESDAY_10)
    send_intake(staff, first, where={"leg_symptoms": "both", "legs_changing": "new_or_worse", "spreads": ["thigh"]},
                health={"precautions": ["implanted_device"]})
    with staff.app_context():
        db.session.get(Appointment, appointment_id(staff, first)).status = AppointmentStatus.NO_SHOW
        db.session.commit()
    book_online(staff, start="2027-03-11T10:00:00-08:00", safety=["night_pain"])  # urgent at this booking
    card = re.search(r'<li class="visit-card">.*?</li>', text(practitioner.get("/clinician?date=2027-03-11")), re.S).group(0)
    assert "Emergency flag" in card and "Urgent flag" not in card  # the intake's emergency outranks it
    assert "Precautions: implanted device (no electroacupuncture)" in card  # the missed visit's answers still stand
    assert "First visit" in card  # a missed visit is not a visit


def test_a_practitioner_cannot_read_a_cancelled_visit_and_head_requests_log_nothing(staff, practitioner, login_as):  # noqa: F811
    booking = book_online(staff)
    send_intake(staff, booking)
    visit = appointment_id(staff, booking)
    assert practitioner.head(f"/clinician/visits/{visit}").status_code == 200 and audit_rows(staff) == []
    PatientBrowser(staff).submit(manage_path(booking) + "/cancel", {"reason": "Feeling better"})
    assert practitioner.get(f"/clinician/visits/{visit}").status_code == 404
    assert login_as(StaffRole.ADMIN).get(f"/clinician/visits/{visit}").status_code == 200


def test_the_progress_check_opens_only_after_the_earlier_visit(staff, clock):  # noqa: F811
    first = book_online(staff, start=TUESDAY_10)
    send_intake(staff, first)
    second = book_online(staff, start="2027-03-16T10:00:00-07:00")
    patient = PatientBrowser(staff)
    page = text(patient.get(manage_path(second)))
    assert "After your visit on Tuesday, March 9," in page and "Tell us how you are getting on" not in page
    early = patient.get(manage_path(second) + "/progress")
    assert early.status_code == 409 and "opens after your visit on Tuesday, March 9" in text(early)
    assert "have not been saved" not in text(early)  # nothing was sent
    clock.advance(days=1, hours=3)  # Tuesday 9 March, 11:00: the first visit is over
    assert patient.get(manage_path(second) + "/progress").status_code == 200
    # Another visit booked in between: progress is measured since that one, so the check waits for it.
    book_online(staff, start="2027-03-11T10:00:00-08:00")
    waiting = patient.get(manage_path(second) + "/progress")
    assert waiting.status_code == 409 and "opens after your visit on Thursday, March 11" in text(waiting)


def test_wrong_audit_filters_show_no_rows_and_huge_numbers_are_no_500(staff, practitioner, login_as):  # noqa: F811
    visit = appointment_id(staff, book_online(staff))
    practitioner.get(f"/clinician/visits/{visit}")
    admin = login_as(StaffRole.ADMIN)
    wrong = text(admin.get("/admin/audit?patient=-1"))
    assert "(practitioner)</td>" not in wrong and "until the filters above are corrected" in wrong
    assert admin.get("/admin/audit?before=99999999999999999999").status_code == 200
    huge = admin.get("/admin/audit?patient=" + "9" * 10_000)
    assert huge.status_code == 200 and "Enter a patient number" in text(huge)
