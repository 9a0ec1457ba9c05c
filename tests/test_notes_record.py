"""What shows a treatment note, on both databases: the visit page's "Read first" (this visit's note
state, the last signed note's plan and points first), the print version and the JSON export, the
desk (status only, never the words), and the patient's own data (export, readable copy, erasure).

The clock is Monday 8 March 2027, 08:00 in Los Angeles; visits are Ana's unless said otherwise.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from booking.models import NoteAddendum, StaffRole, TreatmentNote
from tests.notes_helpers import NARRATIVE, PRINCIPLE, write_note
from tests.test_booking_journey import text
from tests.test_clinician import appointment_id, audit_rows, read_first
from tests.test_desk import TUESDAY_10, book_online, count
from tests.test_staff import login_as, staff  # noqa: F401 (fixtures)

NEXT_TUESDAY = "2027-03-16T10:00:00-07:00"
ADDENDUM = "Patient phoned: the bruise at BL40 faded within two days"


@pytest.fixture
def practitioner(login_as):  # noqa: F811
    return login_as(StaffRole.PRACTITIONER)


def two_visits(app) -> tuple[int, int]:
    """A first visit with a signed note (and an addendum), and a return visit a week later."""
    first = appointment_id(app, book_online(app, start=TUESDAY_10))
    second = appointment_id(app, book_online(app, start=NEXT_TUESDAY))
    write_note(app, first, addenda=[ADDENDUM])
    return first, second


def unescaped(response) -> str:
    return html.unescape(text(response))


# --- the visit page ------------------------------------------------------------------------------

def test_a_return_visit_shows_the_last_notes_plan_and_points_first(staff, practitioner):  # noqa: F811
    first, second = two_visits(staff)
    page = unescaped(practitioner.get(f"/clinician/visits/{second}"))
    first_part = read_first(page)
    assert "Treatment note: not started." in " ".join(first_part.replace("</strong>", "").split())
    assert f'href="/clinician/visits/{second}/note"' in first_part
    plan = first_part.split("Last visit's plan and points", 1)[1]
    assert first_part.index("Last visit's plan and points") < first_part.index("Red flags")  # first
    for words in (PRINCIPLE, "In one week", "4, 8", "BL23</strong> Shenshu: both, tonifying",
                  "GV4</strong> Mingmen: midline", "BL40</strong> Weizhong: left, reducing", "25 minutes",
                  "Yes: 2 Hz, BL23 to BL25 pair", "Bruising (mild): Pressed the site", "signed by Practitioner"):
        assert words in plan, words
    assert NARRATIVE not in page and ADDENDUM not in page  # the page shows the plan, the note page the rest
    # The first visit's own page: its note is signed; no earlier plan to show.
    own = read_first(unescaped(practitioner.get(f"/clinician/visits/{first}")))
    assert "signed by Practitioner on March 9, 2027" in " ".join(own.replace("</strong>", "").split())
    assert "Last visit's plan" not in own


def test_a_draft_is_not_the_last_plan_and_shows_as_draft(staff, practitioner):  # noqa: F811
    first = appointment_id(staff, book_online(staff, start=TUESDAY_10))
    second = appointment_id(staff, book_online(staff, start=NEXT_TUESDAY))
    write_note(staff, first, signed=False)
    assert "Last visit's plan" not in text(practitioner.get(f"/clinician/visits/{second}"))
    own = read_first(unescaped(practitioner.get(f"/clinician/visits/{first}")))
    assert "Treatment note: draft, last saved" in " ".join(own.replace("</strong>", "").split())


def test_the_print_version_shows_the_note_in_full_with_addenda(staff, practitioner):  # noqa: F811
    first, second = two_visits(staff)
    page = unescaped(practitioner.get(f"/clinician/visits/{first}/print"))
    note = page.split('id="treatment-note"', 1)[1]
    for words in (PRINCIPLE, NARRATIVE, ADDENDUM, "Signed by Practitioner", "M54.50", "BL23 Shenshu (both, tonifying)",
                  "Pale"):
        assert words in note, words
    write_note(staff, second, signed=False, status=None)
    draft = unescaped(practitioner.get(f"/clinician/visits/{second}/print"))
    assert "Draft, not signed." in draft.split('id="treatment-note"', 1)[1]
    assert [row[2] for row in audit_rows(staff)] == ["print", "print"]


def test_the_export_carries_the_note_and_the_last_plan(staff, practitioner):  # noqa: F811
    first, second = two_visits(staff)
    data = json.loads(practitioner.get(f"/clinician/visits/{first}/export").get_data(as_text=True))
    note = data["treatment_note"]
    assert note["status"] == "signed" and note["signed_by"] == "Practitioner"
    assert note["signed_at"].startswith("2027-03-09T11:00:00-08:00")
    assert note["content"]["plan"]["principle"] == PRINCIPLE and note["content"]["narrative"] == NARRATIVE
    assert [a["text"] for a in note["addenda"]] == [ADDENDUM] and data["previous_plan"] is None
    later = json.loads(practitioner.get(f"/clinician/visits/{second}/export").get_data(as_text=True))
    assert later["treatment_note"] is None
    assert later["previous_plan"]["plan"]["principle"] == PRINCIPLE
    assert [row["code"] for row in later["previous_plan"]["treatment"]["points"]] == ["BL23", "GV4", "BL40"]
    assert [row[2] for row in audit_rows(staff)] == ["export", "export"]


def test_the_visit_page_look_is_logged_before_the_last_plan_shows(staff, practitioner):  # noqa: F811
    _, second = two_visits(staff)
    assert practitioner.get(f"/clinician/visits/{second}").status_code == 200
    assert [(row[2], row[3]) for row in audit_rows(staff)] == [("view", second)]


def test_another_practitioners_patient_shows_nothing(staff, login_as):  # noqa: F811
    ben_visit = appointment_id(staff, book_online(staff, start="2027-03-10T10:00:00-08:00", practitioner="ben",
                                                name="Bo Other", email="bo@example.com"))
    ana = login_as(StaffRole.PRACTITIONER)
    for path in ("", "/print", "/export"):
        assert ana.get(f"/clinician/visits/{ben_visit}{path}").status_code == 404


def test_the_visit_page_costs_one_query_for_the_notes_however_many(staff, practitioner, count_queries):  # noqa: F811
    first, second = two_visits(staff)

    def queries(visit) -> int:
        with count_queries() as counted:
            assert practitioner.get(f"/clinician/visits/{visit}").status_code == 200
        return counted.total

    alone = queries(second)
    for day in ("2027-03-10", "2027-03-11"):
        write_note(staff, appointment_id(staff, book_online(staff, start=f"{day}T10:00:00-08:00")))
    assert queries(second) == alone
    assert count(staff, TreatmentNote) == 3 and count(staff, NoteAddendum) == 1


# --- the desk -----------------------------------------------------------------------------------

def test_the_desk_sees_only_whether_the_note_is_signed(staff, login_as):  # noqa: F811
    first, second = two_visits(staff)
    third = appointment_id(staff, book_online(staff, start="2027-03-23T10:00:00-07:00"))
    write_note(staff, second, signed=False, status=None)
    desk = login_as(StaffRole.RECEPTIONIST)
    pages = {visit: unescaped(desk.get(f"/desk/appointments/{visit}")) for visit in (first, second, third)}
    assert "Note signed" in pages[first] and "Note not signed" in pages[second] and "Note not signed" in pages[third]
    patient_id = re.search(r'/desk/patients/(\d+)', pages[first]).group(1)
    pages["patient"] = unescaped(desk.get(f"/desk/patients/{patient_id}"))
    pages["day"] = unescaped(desk.get("/desk?date=2027-03-09"))
    for name, page in pages.items():
        for words in (PRINCIPLE, NARRATIVE, ADDENDUM, "Shenshu", "M54.50", "Pressed the site"):
            assert words not in page, (name, words)
    for path in ("", "/note", "/print", "/export"):
        assert desk.get(f"/clinician/visits/{first}{path}").status_code in (403, 404)
    assert "note" not in [row[2] for row in audit_rows(staff)]


# --- the patient's data rights ------------------------------------------------------------------

def patient_of(app, visit: int) -> int:
    from booking.extensions import db
    from booking.models import Appointment

    with app.app_context():
        return db.session.get(Appointment, visit).patient_id


def test_the_patients_data_holds_each_note_a_draft_marked_as_draft(staff, login_as):  # noqa: F811
    first, second = two_visits(staff)
    write_note(staff, second, signed=False, status=None, p_principle="Still deciding")
    patient = patient_of(staff, first)
    admin = login_as(StaffRole.ADMIN)
    data = json.loads(admin.get(f"/admin/patients/{patient}/data.json").get_data(as_text=True))
    signed, draft = data["treatment_notes"]
    assert (signed["status"], signed["signed_by"], signed["content"]["plan"]["principle"]) == (
        "signed", "Practitioner", PRINCIPLE)
    assert signed["signed_at"] == "2027-03-09T11:00:00-08:00" and signed["written_by"] == "Practitioner"
    assert [(a["text"], a["signed_by"], a["signed_at"]) for a in signed["addenda"]] == [
        (ADDENDUM, "Practitioner", "2027-03-09T12:00:00-08:00")]
    assert (draft["status"], draft["signed_by"], draft["signed_at"]) == ("draft", None, None)
    assert draft["content"]["plan"]["principle"] == "Still deciding"
    assert [signed["appointment"], draft["appointment"]] == [a["reference"] for a in data["appointments"]]
    page = unescaped(admin.get(f"/admin/patients/{patient}/data"))
    notes_part = page.split('id="treatment-notes"', 1)[1].split('id="emails"', 1)[0]
    for words in (PRINCIPLE, NARRATIVE, ADDENDUM, "Signed by Practitioner", "Draft, not signed.", "Still deciding"):
        assert words in notes_part, words


def test_erasure_says_how_many_notes_go_and_deletes_them_with_their_addenda(staff, login_as):  # noqa: F811
    from tests.test_staff import csrf_from

    first, second = two_visits(staff)
    write_note(staff, second, signed=False, status=None)
    kept = appointment_id(staff, book_online(staff, start="2027-03-10T10:00:00-08:00", name="Kim Kept",
                                             email="kim@example.com", birth_date="1975-05-05"))
    write_note(staff, kept)
    patient = patient_of(staff, first)
    admin = login_as(StaffRole.ADMIN)
    plan = unescaped(admin.get(f"/admin/patients/{patient}/erase"))
    assert "2 treatment notes written by their practitioners, with 1 addendum" in " ".join(plan.split())
    done = admin.post(f"/admin/patients/{patient}/erase", data={"csrf_token": csrf_from(plan), "reason": "asked"})
    assert done.status_code == 303
    assert count(staff, TreatmentNote) == 1 and count(staff, NoteAddendum) == 0  # Kim's note stays
    data = json.loads(admin.get(f"/admin/patients/{patient}/data.json").get_data(as_text=True))
    assert data["treatment_notes"] == []
    assert PRINCIPLE not in admin.get(f"/admin/patients/{patient}/data").get_data(as_text=True)


@pytest.mark.parametrize("page", ["/note", "/print"])
def test_the_note_page_and_the_print_cost_the_same_queries_whatever_the_history(staff, practitioner, count_queries,  # noqa: F811
                                                                                 page):
    first, second = two_visits(staff)

    def queries() -> int:
        with count_queries() as counted:
            assert practitioner.get(f"/clinician/visits/{second}{page}").status_code == 200
        return counted.total

    before = queries()
    for day in ("2027-03-10", "2027-03-11"):  # two more signed notes between the two visits
        write_note(staff, appointment_id(staff, book_online(staff, start=f"{day}T10:00:00-08:00")), addenda=["Later"])
    assert queries() == before
