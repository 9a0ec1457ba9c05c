"""The back-pain intake through the manage link, on both databases: steps, check, send, bad input."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, Intake, IntakeStatus, StaffRole
from tests.instruments import KEELE_KEYS, START_BACK_TOML
from tests.test_booking_journey import TUESDAY_14, PatientBrowser, manage_path, text
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

STEPS = ["episode", "where", "history", "health", "pain", "activities"]
ANSWERS = {
    "episode": {"start_kind": "weeks", "weeks_ago": "6", "how": "home_job", "how_other": ""},
    "where": {"side": "left", "spreads": ["buttock", "below_knee"], "leg_symptoms": "left", "leg_weakness": "no",
              "legs_changing": "unchanged"},
    "history": {"worse": ["sitting", "bending"], "better": ["walking"], "morning_stiffness": "yes",
                "previous_episodes": "no", "imaging": "none", "imaging_findings": "", "treatments": ["massage"]},
    "health": {"medications": "Ibuprofen <b>400</b> & fish oil", "blood_thinners": "no", "antiplatelets": "no",
               "precautions": ["needle_fear"], "risk_factors": ["none"], "improving": "no"},
    "pain": {"pain_now": "6", "pain_average": "5", "pain_worst": "8", "goals": "Garden again"},
    "activities": {"activity_1": "Gardening", "rating_1": "3", "activity_2": "Putting on socks", "rating_2": "6"},
}


@pytest.fixture
def intake_path(clinic):
    patient = PatientBrowser(clinic)
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    return patient, manage_path(patient) + "/intake"


def the_intake(app) -> Intake | None:
    with app.app_context():
        intake = db.session.scalar(sa.select(Intake))
        status = db.session.scalar(sa.select(Appointment.intake_status))
        db.session.expunge_all()
        return intake, status


def answer(patient, path, steps=STEPS, **changes):
    """Answer the given steps in order; the last response (None when there were no steps)."""
    response = None
    for step in steps:
        response = patient.submit(f"{path}/{step}", ANSWERS[step] | changes.get(step, {}))
        assert response.status_code == 303, text(response)
    return response


def test_fill_in_every_step_change_one_answer_and_send(clinic, intake_path):
    patient, path = intake_path
    assert "Tell us about your back pain" in text(patient.get("/book/confirmation"))
    start = text(patient.get(path))
    assert "Start now" in start and f'href="{path}/episode"' in start
    assert "Step 1 of 6" in text(patient.get(f"{path}/episode"))
    last = answer(patient, path)
    assert last.location.endswith(f"{path}/check")

    check = text(patient.get(f"{path}/check"))
    assert "About 6 weeks ago" in check and "Below the knee" in check and "6 out of 10" in check
    assert "Ibuprofen &lt;b&gt;400&lt;/b&gt; &amp; fish oil" in check  # stored as typed, escaped when shown
    changed = patient.submit(f"{path}/pain", ANSWERS["pain"] | {"pain_now": "7"})
    assert changed.location.endswith(f"{path}/check")  # everything else answered: straight back to check
    assert "7 out of 10" in text(patient.get(f"{path}/check"))

    sent = patient.submit(f"{path}/check")
    assert sent.location.endswith(f"{path}/sent")
    after = text(patient.get(sent.location))
    assert "Read and sign the consent" in after and "nothing more to do" not in after  # consent is left to do
    intake, status = the_intake(clinic)
    assert status is IntakeStatus.SENT and intake.sent_at is not None and intake.form_version == "2026-12"
    assert (intake.duration_band, intake.duration_days, intake.nerve_root_pattern) == ("subacute", 42, True)
    assert intake.precautions == ["needle_fear"] and intake.risk_factors == ["no_improvement"]
    assert (intake.pain_now, intake.pain_average, intake.pain_worst, intake.psfs_score) == (7, 5, 8, 4.5)
    assert intake.answers["health"]["medications"] == "Ibuprofen <b>400</b> & fish oil"
    assert intake.urgent_flags == []
    consent = path.removesuffix("/intake") + "/consent"
    version = re.search(r'name="version" type="hidden" value="([^"]*)"', text(patient.get(consent))).group(1)
    assert patient.submit(consent, {"signed_name": "Pat Example", "version": version}).status_code == 303
    assert "nothing more to do before your visit" in text(patient.get("/book/confirmation"))


def test_stop_halfway_and_come_back_from_the_manage_link(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path, steps=["episode", "where"])
    _, status = the_intake(clinic)
    assert status is IntakeStatus.IN_PROGRESS
    later = PatientBrowser(clinic)  # another day, another browser: only the link
    booking_page = text(later.get(path.removesuffix("/intake")))
    assert "Continue the questions" in booking_page
    assert text(later.get(path)).count(f'href="{path}/history"') == 1
    where = text(later.get(f"{path}/where"))
    assert 'value="below_knee" checked' in where and 'value="left" checked' in where
    assert 'value="6"' in text(later.get(f"{path}/episode"))


def test_once_sent_the_answers_are_not_shown_or_changed_again(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path)
    patient.submit(f"{path}/check")
    token = patient.token(path.removesuffix("/intake") + "/cancel")  # a form token from another page
    for step in ("episode", "pain", "check"):
        page = patient.get(f"{path}/{step}")
        assert "Your answers have already been sent" in text(page) and "Garden again" not in text(page)
    refused = patient.client.post(f"{path}/pain", data=ANSWERS["pain"] | {"pain_now": "1", "csrf_token": token})
    assert refused.status_code == 409
    again = patient.client.post(f"{path}/check", data={"csrf_token": token})
    assert again.status_code == 409
    intake, _ = the_intake(clinic)
    assert intake.pain_now == 6 and intake.answers["pain"]["pain_now"] == 6


def test_a_step_posted_out_of_order_is_not_saved(clinic, intake_path):
    patient, path = intake_path
    token = patient.token(f"{path}/episode")
    response = patient.client.post(f"{path}/health", data=ANSWERS["health"] | {"csrf_token": token})
    assert response.location.endswith(f"{path}/episode")
    assert "answers to the later page were not saved" in text(patient.get(response.location))
    intake, status = the_intake(clinic)
    assert intake is None and status is IntakeStatus.NOT_STARTED
    assert patient.get(f"{path}/check").location.endswith(f"{path}/episode")


BAD = [
    ("episode", {"start_kind": "date", "start_day": "1", "start_month": "1", "start_year": "2028"},
     "The date the pain started must be today or in the past"),
    ("episode", {"start_kind": "date", "start_day": "31", "start_month": "2", "start_year": "2027"},
     "Enter the date the pain started as a real date, like 1/7/2027"),
    ("episode", {"start_kind": "date", "start_day": "1", "start_month": "1", "start_year": "1900"},
     "The date the pain started is before your date of birth: check the year"),  # was taken (a hands-on trial)
    ("episode", {"weeks_ago": "six"}, "Enter the number of weeks as a whole number"),
    ("episode", {"weeks_ago": "1300"}, "from 0 to 1040"),
    ("episode", {"weeks_ago": "²"}, "Enter the number of weeks as a whole number"),  # isdigit() but not int()
    ("episode", {"start_kind": "date", "start_day": "²", "start_month": "1", "start_year": "2020"},
     "Enter the date the pain started as a real date"),
    ("episode", {"start_kind": ""}, "Select whether you can give a date or a number of weeks"),
    ("episode", {"how_other": "x" * 201}, "This answer must be 200 characters or fewer"),
    ("where", {"spreads": ["none", "foot"]},
     "Where the pain spreads: select &#39;No, it stays in my back&#39; only if nothing else applies"),
    ("where", {"spreads": []}, "Select where the pain spreads"),
    ("where", {"side": "upper"}, "Select where the pain is"),
    ("history", {"imaging_findings": "y" * 501}, "This answer must be 500 characters or fewer"),
    ("history", {"treatments": ["cupping"]}, "Select only from the list below"),
    ("health", {"precautions": []}, "Things that apply to you: select any that apply, or &#39;None of these&#39;"),
    ("health", {"risk_factors": ["none", "osteoporosis"]}, "Things you have had: select &#39;None of these&#39; only"),
    ("health", {"medications": "m" * 1001}, "The list of medicines must be 1000 characters or fewer"),
    ("pain", {"pain_now": "11"}, "Choose a number from 0 to 10 for your pain right now"),
    ("pain", {"pain_worst": "-1"}, "Choose a number from 0 to 10"),
    ("pain", {"goals": ""}, "Tell us what you would most like to be able to do again"),
    ("activities", {"rating_1": "12"}, "Choose a number from 0 to 10"),
    ("activities", {"rating_2": ""}, "Rate how well you can do &#39;Putting on socks&#39; now"),
    ("activities", {"activity_2": ""}, "Name activity 2, which you rated"),
    ("activities", {"activity_1": "", "rating_1": "", "activity_2": "", "rating_2": ""}, "Name at least one activity"),
]


@pytest.mark.parametrize("step, change, message", BAD, ids=[f"{s}-{m[:20]}" for s, _, m in BAD])
def test_bad_answers_get_a_message_keep_what_was_typed_and_save_nothing(clinic, intake_path, step, change, message):
    patient, path = intake_path
    answer(patient, path, steps=STEPS[: STEPS.index(step)])
    before, _ = the_intake(clinic)
    response = patient.submit(f"{path}/{step}", ANSWERS[step] | change)
    page = text(response)
    assert response.status_code == 200 and "<title>Error: " in page
    assert message in page
    after, _ = the_intake(clinic)
    assert (after.answers if after else None) == (before.answers if before else None)


def test_no_more_than_five_activities_are_kept(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path, activities={"activity_6": "Running", "rating_6": "2"})
    intake, _ = the_intake(clinic)
    assert [a["name"] for a in intake.answers["activities"]["activities"]] == ["Gardening", "Putting on socks"]


@pytest.mark.parametrize("imaging, kept", [("none", ""), ("mri", "A bulging disc at L4-L5")])
def test_what_a_scan_showed_is_kept_only_beside_a_scan(clinic, intake_path, imaging, kept):
    """Without JavaScript the box stays on the page after "No": words left there are not a finding."""
    patient, path = intake_path
    answer(patient, path, history={"imaging": imaging, "imaging_findings": "A bulging disc at L4-L5"})
    intake, _ = the_intake(clinic)
    assert intake.answers["history"]["imaging"] == imaging
    assert intake.answers["history"]["imaging_findings"] == kept


def test_a_cancelled_visit_has_no_intake(clinic, intake_path):
    patient, path = intake_path
    patient.submit(path.removesuffix("/intake") + "/cancel", {"reason": ""})
    assert patient.get(path).status_code == 404
    assert patient.get(f"{path}/episode").status_code == 404


def test_a_page_sent_after_the_desk_cancelled_the_visit_says_so_and_keeps_nothing(staff, intake_path, login_as):  # noqa: F811
    patient, path = intake_path
    answer(patient, path, steps=["episode"])
    token = patient.token(f"{path}/where")  # the page open, being typed
    desk = login_as(StaffRole.RECEPTIONIST)
    with staff.app_context():
        visit_id = db.session.scalar(sa.select(Appointment.id))
    cancel = f"/desk/appointments/{visit_id}/cancel"
    assert desk.post(cancel, data={"reason": "patient", "csrf_token": csrf_from(text(desk.get(cancel)))}).status_code == 303

    for step, data in (("where", ANSWERS["where"]), ("check", {})):  # a page of questions, and "Send to the clinic"
        refused = patient.client.post(f"{path}/{step}", data=data | {"csrf_token": token})
        assert refused.status_code == 409
        page = text(refused)
        assert "<h1>The questions are closed</h1>" in page and "Page not found" not in page
        assert ("This appointment was cancelled a moment ago, so its questions are closed and what you just sent was "
                "not kept.") in page
    intake, _ = the_intake(staff)
    assert list(intake.answers) == ["episode"]  # nothing of the pages sent after the cancellation


# --- the STarT Back screen: off by default, on only with the clinic's switch and a licensed file ---------

@pytest.fixture
def screening_site(database_url, tmp_path, clock):
    from booking import create_app
    from booking.operations.clinic_file import import_clinic_file
    from tests.conftest import CLINIC_TOML, app_config, close_database

    folder = tmp_path / "licensed"
    folder.mkdir()
    (folder / "start_back.toml").write_text(START_BACK_TOML)
    app = create_app(app_config(database_url, CLOCK=clock, LICENSED_INSTRUMENTS=str(folder)))
    with app.app_context():
        import_clinic_file(CLINIC_TOML)
    yield app
    close_database(app)


def switch_screening(app, on: bool):
    from booking.models import Clinic

    with app.app_context():
        db.session.get(Clinic, 1).start_back_enabled = on
        db.session.commit()


def test_the_screen_is_off_by_default_even_when_licensed(screening_site):
    patient = PatientBrowser(screening_site)
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    path = manage_path(patient) + "/intake"
    assert answer(patient, path).location.endswith("/check")
    assert patient.get(f"{path}/screening").status_code == 404


def test_with_the_switch_on_the_screen_is_asked_with_its_notice_and_scored(screening_site):
    switch_screening(screening_site, True)
    patient = PatientBrowser(screening_site)
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    path = manage_path(patient) + "/intake"
    assert answer(patient, path).location.endswith("/screening")
    page = text(patient.get(f"{path}/screening"))
    assert "Step 7 of 7" in page and "Test notice: copyright its owner" in page and "Over the last two weeks:" in page
    screen = {key: "agree" if n in (5, 6, 7, 8) else "disagree" for n, key in enumerate(KEELE_KEYS[:8], start=1)}
    screen |= {"bothersome": "slightly"}
    assert patient.submit(f"{path}/screening", screen).location.endswith("/check")
    assert "Made-up statement 5" in text(patient.get(f"{path}/check"))
    patient.submit(f"{path}/check")
    intake, _ = the_intake(screening_site)
    assert (intake.start_back_total, intake.start_back_psychosocial, intake.start_back_risk) == (4, 4, "high")


def test_the_switch_alone_asks_nothing_without_a_licensed_file(clinic, intake_path):
    switch_screening(clinic, True)
    patient, path = intake_path
    assert answer(patient, path).location.endswith("/check")


def test_weeks_ago_is_counted_from_the_day_it_was_answered(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path, steps=["episode"], episode={"weeks_ago": "3"})
    clinic.config["CLOCK"].advance(days=14)  # the patient finishes a fortnight later (visit moved meanwhile)
    with clinic.app_context():
        from datetime import timedelta

        appointment = db.session.scalar(sa.select(Appointment))
        appointment.move_to(appointment.starts_at + timedelta(days=14))
        db.session.commit()
    answer(patient, path, steps=STEPS[1:])
    assert "About 3 weeks ago (around February 15, 2027)" in text(patient.get(f"{path}/check"))
    patient.submit(f"{path}/check")
    intake, _ = the_intake(clinic)
    assert (intake.duration_days, intake.duration_band) == (35, "subacute")
    assert intake.risk_factors == ["no_improvement"]


def test_symptoms_in_both_legs_bring_up_emergency_advice_and_a_flag(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path, steps=["episode"])
    response = patient.submit(f"{path}/where", ANSWERS["where"] | {"leg_symptoms": "both", "legs_changing": "new_or_worse"})
    page = text(response)  # the care card straight after the page, before the next question
    assert "Call 911 or go to the emergency department now" in page and f'href="{path}/history"' in page
    answer(patient, path, steps=STEPS[2:])
    patient.submit(f"{path}/check")
    intake, _ = the_intake(clinic)
    assert intake.emergency_flags == ["both_legs"]


def test_save_and_stop_for_now_keeps_the_page_as_typed(clinic, intake_path):
    """It was a link saying "your answers so far are saved", and what was typed on the page was
    lost (a hands-on trial). It now sends the page: saved when whole, shown again when not."""
    patient, path = intake_path
    manage = path.removesuffix("/intake")
    stopped = patient.submit(f"{path}/episode", ANSWERS["episode"] | {"stop": "1"})
    assert stopped.status_code == 303 and stopped.location.endswith(manage)
    assert "Your answers so far are saved. Come back to finish them with the link in your email." in text(
        patient.get(manage))
    assert the_intake(clinic)[0].answers["episode"]["how"] == ANSWERS["episode"]["how"]
    assert f'href="{path}/where"' in text(patient.get(path))  # it goes on from the next page

    half = patient.submit(f"{path}/where", {"side": "left", "stop": "1"})  # the rest not answered yet
    page = text(half)
    assert half.status_code == 200 and "There is a problem" in page and "This page is not saved yet" in page
    assert 'value="left" checked' in page  # what was typed is still there
    assert f'<a href="{manage}">Leave without saving this page</a>' in page
    assert "where" not in the_intake(clinic)[0].answers

    blank = patient.submit(f"{path}/where", {"stop": "1"})  # nothing typed: nothing to keep, so it goes
    assert blank.status_code == 303 and blank.location.endswith(manage)


def test_stopping_on_a_page_that_needs_a_doctor_shows_the_advice_first(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path, steps=["episode"])
    response = patient.submit(f"{path}/where", ANSWERS["where"] | {"leg_symptoms": "both", "legs_changing": "new_or_worse",
                                                                   "stop": "1"})
    assert "Call 911 or go to the emergency department now" in text(response)


def test_after_a_change_link_back_goes_to_the_answers(clinic, intake_path):
    patient, path = intake_path
    answer(patient, path)
    assert f'class="back-link" href="{path}/check"' in text(patient.get(f"{path}/history"))


# --- in Spanish ---------------------------------------------------------------------------------


@pytest.fixture
def spanish_intake(clinic):
    from tests.test_languages import offer_spanish

    offer_spanish(clinic)
    patient = PatientBrowser(clinic)
    patient.get("/?language=es")
    patient.book_until_check(start=TUESDAY_14)
    patient.confirm()
    return patient, manage_path(patient) + "/intake"


def _boxes(page: str, prefix: str) -> list[str]:
    return re.findall(rf'id="{prefix}_(day|month|year)" name=', page)


def test_the_date_the_pain_started_is_asked_in_the_order_the_patient_writes_dates(clinic, intake_path):
    """The boxes came Day, Month, Year on the English page, under an example "1/7/2027" meaning
    January 7: an American typing 10/6/2026 saved June 10 (a hands-on trial). The error summary
    leads to the first box."""
    patient, path = intake_path
    english = text(patient.get(f"{path}/episode"))
    assert _boxes(english, "start") == ["month", "day", "year"] and "For example, 1/7/2027" in english
    answer(patient, path, steps=STEPS, episode={"start_kind": "date", "start_month": "10", "start_day": "6",
                                                "start_year": "2026"})
    assert "October 6, 2026" in text(patient.get(f"{path}/check"))
    wrong = text(patient.submit(f"{path}/episode", {"start_kind": "date", "start_month": "2", "start_day": "30",
                                                    "start_year": "2026", "how": "lifting"}))
    assert '<a href="#start_month">Enter the date the pain started as a real date, like 1/7/2027</a>' in wrong


def test_the_intake_in_spanish_stores_the_same_codes_as_in_english(clinic, spanish_intake):
    patient, path = spanish_intake
    start = text(patient.get(path))
    assert '<html lang="es">' in start and "Cuéntenos sobre su dolor de espalda" in start and "Empezar ahora" in start
    episode = text(patient.get(f"{path}/episode"))
    assert "Paso 1 de 6" in episode and "¿Cuándo empezó este episodio de dolor de espalda?" in episode
    assert "Por ejemplo, 7/1/2027" in episode  # day, month, year: how es_US writes a date
    assert _boxes(episode, "start") == ["day", "month", "year"]  # and the boxes come so
    bad = patient.submit(f"{path}/episode", {"start_kind": "weeks", "weeks_ago": "seis", "how": "home_job"})
    assert "Escriba el número de semanas como un número entero del 0 al 1040" in text(bad)
    answer(patient, path, steps=STEPS[:4])
    pain = text(patient.get(f"{path}/pain"))
    assert "¿Qué tan fuerte es su dolor de espalda en este momento?" in pain  # the NPRS file's Spanish item
    answer(patient, path, steps=STEPS[4:])
    check = text(patient.get(f"{path}/check"))
    assert "Revise sus respuestas antes de enviarlas" in check and "Hace unas 6 semanas (alrededor del" in check
    assert "Por debajo de la rodilla" in check and "6 de 10" in check and "Me dan miedo las agujas" in check
    assert "Ibuprofen &lt;b&gt;400&lt;/b&gt; &amp; fish oil" in check  # the patient's own words, untouched
    patient.submit(f"{path}/check")
    assert "Respuestas enviadas" in text(patient.get(f"{path}/sent"))
    intake, _ = the_intake(clinic)
    assert intake.answers["where"]["spreads"] == ["buttock", "below_knee"]  # codes, never the words
    assert intake.answers["health"]["precautions"] == ["needle_fear"] and intake.pain_now == 6
    assert intake.answers["episode"]["how"] == "home_job"


def test_the_care_card_speaks_spanish_and_the_practitioner_reads_english(staff, spanish_intake, login_as):  # noqa: F811
    from booking.models import StaffRole

    patient, path = spanish_intake
    answer(patient, path, steps=["episode"])
    card = text(patient.submit(f"{path}/where", ANSWERS["where"] | {"leg_symptoms": "both", "legs_changing": "new_or_worse"}))
    assert "Llame al 911 o vaya ahora mismo a la sala de emergencias" in card
    assert "Dolor, hormigueo, adormecimiento o debilidad en las dos piernas" in card
    assert "Guardamos su respuesta y avisamos a la clínica sobre su visita. Para cancelarla o cambiarla, llame al +1 213 555 0100." in re.sub(r"<[^>]+>", "", card)
    with staff.app_context():
        appointment_id = db.session.scalar(sa.select(Appointment.id))
    record = text(login_as(StaffRole.PRACTITIONER).get(f"/clinician/visits/{appointment_id}"))
    assert '<html lang="en">' in record and "Pain, tingling, numbness or weakness in both legs" in record


def test_a_spanish_activity_error_keeps_the_patients_words_escaped(clinic, spanish_intake):
    patient, path = spanish_intake
    answer(patient, path, steps=STEPS[:5])
    page = text(patient.submit(f"{path}/activities", {"activity_1": "<b>Correr</b>"}))
    assert "Califique del 0 al 10 qué tan bien puede hacer &#39;&lt;b&gt;Correr&lt;/b&gt;&#39; ahora" in page
