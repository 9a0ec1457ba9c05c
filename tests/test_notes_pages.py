"""The treatment note's pages on both databases, as a browser without JavaScript sends them (the
script's autosave is its JSON endpoint here): writing a draft, the audit row of each look, signing
and what it locks, addenda, who may see and write what, prescriptions, the point picker's buttons,
and bad input that keeps every typed word and writes nothing.

The clock is Monday 8 March 2027, 08:00 in Los Angeles; visits are Ana's (the practitioner account)
unless said otherwise. The browser tests are in test_notes_browser.py.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.datastructures import MultiDict

from booking.extensions import db
from booking.models import AuditEntry, NoteAddendum, PrescriptionTemplate, StaffRole, TreatmentNote
from booking.notes.content import blank_note
from tests.test_booking_journey import text
from tests.test_clinician import appointment_id
from tests.test_consent import set_status
from tests.test_desk import book_online
from tests.test_notes import other_practitioner
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

WORDS = {"s_pain_now": "6", "p_principle": "Warm the Kidney, move qi in the Bladder channel",
         "narrative": "Felt the warmth spread down the left leg", "t_contact_minutes": "25", "t_reinsertions": "1"}


@pytest.fixture
def visit(staff):  # noqa: F811
    """Ana's Tuesday 10:00 visit, as an id."""
    return appointment_id(staff, book_online(staff))


@pytest.fixture
def ana(login_as):  # noqa: F811
    return login_as(StaffRole.PRACTITIONER)


def note_path(visit: int) -> str:
    return f"/clinician/visits/{visit}/note"


class NoteFormReader(HTMLParser):
    """The pairs the note form sends as it stands, in order, as a browser without JavaScript sends
    them: every repeated row, radios' empty "Not recorded", no buttons, nothing inside <template>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: list[list[str]] = []
        self.inside = self.in_template = False
        self.select: list[str] | None = None
        self.textarea: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = (a.get("action") or "").endswith("/note")
        if tag == "template":
            self.in_template = True
        if not self.inside or self.in_template or not a.get("name"):
            if tag == "option" and self.select is not None and (self.select[1] is None or "selected" in a):
                self.select[1] = a.get("value", "")
            return
        kind = (a.get("type") or "text").lower()
        if tag == "input" and kind not in ("submit", "button", "radio", "checkbox"):
            self.pairs.append([a["name"], a.get("value", "")])
        elif tag == "input" and kind in ("radio", "checkbox") and "checked" in a:
            self.pairs.append([a["name"], a.get("value", "on")])
        elif tag == "select":
            self.select = [a["name"], None]
            self.pairs.append(self.select)
        elif tag == "textarea":
            self.textarea = [a["name"], ""]
            self.pairs.append(self.textarea)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template = False
        elif tag == "select" and self.select is not None:
            self.select[1] = self.select[1] or ""
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.textarea[1] = self.textarea[1].removeprefix("\n")
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_of(page: str) -> list[tuple[str, str]]:
    """What the note form sends as it stands (a browser without JavaScript), buttons left out."""
    reader = NoteFormReader()
    reader.feed(page)
    return [(name, value) for name, value in reader.pairs]


def send(client, visit: int, action: str = "save", changes: dict | None = None, drop=(), add=(), path=None):
    """Open the note page, change some fields, and press a button."""
    page = text(client.get(note_path(visit)))
    pairs = [(name, value) for name, value in form_of(page) if name not in (changes or {}) and name not in drop]
    for name, value in (changes or {}).items():
        pairs += [(name, item) for item in (value if isinstance(value, list) else [value])]
    pairs += list(add) + [("action", action)]
    return client.post(path or note_path(visit), data=MultiDict(pairs))


def stored(app, visit: int):
    with app.app_context():
        note = db.session.scalar(sa.select(TreatmentNote).where(TreatmentNote.appointment_id == visit))
        if note is None:
            return None
        return {"revision": note.revision, "content": note.content, "signed_by": note.signed_by,
                "signed_at": note.signed_at, "addenda": [a.text for a in note.addenda]}


def words_in(page: str) -> str:
    return html.unescape(page)


def audit_actions(app) -> list[tuple]:
    with app.app_context():
        return [(a.staff_role, a.action, a.appointment_id)
                for a in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def autosave(client, visit: int, changes: dict | None = None, revision: str | None = None):
    """What the page's script sends: the form's fields (FormData), the CSRF token in a header."""
    page = text(client.get(note_path(visit)))
    pairs = [(name, value) for name, value in form_of(page) if name not in (changes or {}) and name != "csrf_token"]
    pairs += [(name, value) for name, value in (changes or {}).items()]
    if revision is not None:
        pairs = [(name, value) for name, value in pairs if name != "revision"] + [("revision", revision)]
    return client.post(note_path(visit) + "/draft", data=MultiDict(pairs), headers={"X-CSRFToken": csrf_from(page)})


def begun(clock, login_as):  # noqa: F811
    """Tuesday 10:30, during the visit: Ana signed in again (a day on, her session has ended)."""
    clock.advance(days=1, hours=2, minutes=30)
    return login_as(StaffRole.PRACTITIONER)


def test_a_draft_written_without_javascript_is_saved_and_every_look_is_audited(staff, visit, ana):  # noqa: F811
    assert ana.head(note_path(visit)).status_code == 200
    assert audit_actions(staff) == []  # a HEAD request reads nothing
    page = words_in(text(ana.get(note_path(visit))))
    assert audit_actions(staff) == [("practitioner", "note", visit)]
    assert "Treatment note" in page and "Pat Caller, visit 1" in page and "Not saved yet" in page
    assert f'href="/clinician/visits/{visit}"' in page  # back to the visit
    for legend in ("Subjective", "Objective", "Assessment", "Plan", "Treatment given"):
        assert f"<h2>{legend}</h2>" in page
    response = send(ana, visit, changes=WORDS | {"o_tongue_body": "pale", "a_diagnoses": ["M54.50", "M54.41"]})
    assert response.status_code == 303 and response.location.endswith(f"{note_path(visit)}#note-actions")
    saved = stored(staff, visit)
    assert saved["revision"] == 1 and saved["signed_by"] is None
    assert saved["content"]["subjective"]["pain_now"] == 6 and saved["content"]["narrative"] == WORDS["narrative"]
    assert saved["content"]["assessment"]["diagnoses"] == ["M54.50", "M54.41"]
    page = words_in(text(ana.get(note_path(visit))))
    assert "Draft saved." in page and WORDS["narrative"] in page and 'name="revision" value="1"' in page
    # the receipt's lines beside the treatment: 25 minutes are 2 units; the diagnoses chosen
    assert "97810</strong> × 1" in page and "97811</strong> × 1" in page and "M54.41</strong>" in page
    assert '<option value="pale" selected>Pale</option>' in page


def test_the_practitioner_chooses_the_primary_diagnosis_without_javascript(staff, visit, ana):  # noqa: F811
    """The boxes come in the list's order, so the receipt put M54.50 first when M54.42 was meant (a
    hands-on trial): the primary diagnosis, chosen on the form, goes first on the note and the receipt."""
    page = text(ana.get(note_path(visit)))
    assert "the primary diagnosis first (A), then the others in this list&#39;s order" in page
    assert re.search(r'<label class="label" for="a_primary_diagnosis">Primary diagnosis</label>', page)
    # Not ticked as well: the form comes back with the choice kept, the summary linked to it.
    refused = send(ana, visit, changes={"a_diagnoses": ["M54.50"], "a_primary_diagnosis": "M54.42"})
    shown = text(refused)
    assert refused.status_code == 200 and stored(staff, visit) is None
    assert '<a href="#a_primary_diagnosis">Tick M54.42 under Diagnoses too, or choose another primary diagnosis.</a>' in shown
    assert 'id="a_primary_diagnosis-error"' in shown and '<option value="M54.42" selected>' in shown
    response = send(ana, visit, changes={"a_diagnoses": ["M54.50", "M54.42"], "a_primary_diagnosis": "M54.42"})
    assert response.status_code == 303
    assert stored(staff, visit)["content"]["assessment"]["diagnoses"] == ["M54.42", "M54.50"]
    page = text(ana.get(note_path(visit)))
    assert '<option value="M54.42" selected>' in page
    codes = page[page.index("data-codes-diagnoses"):]
    assert codes.index("M54.42</strong>") < codes.index("M54.50</strong>")  # what the receipt will say
    # Saved again as it stands (the boxes again in the list's order), the order stays.
    assert send(ana, visit).status_code == 303
    assert stored(staff, visit)["content"]["assessment"]["diagnoses"] == ["M54.42", "M54.50"]


def test_autosave_answers_json_and_refuses_a_stale_page_or_bad_input_writing_nothing(staff, visit, ana):  # noqa: F811
    response = autosave(ana, visit, WORDS)
    answer = response.get_json()
    assert response.status_code == 200 and (answer["revision"], answer["saved_at"]) == (1, "8:00 AM")
    assert [(line["code"], line["units"]) for line in answer["codes"]["procedures"]] == [("97810", 1), ("97811", 1)]
    assert stored(staff, visit)["content"]["narrative"] == WORDS["narrative"]
    # a page still at revision 0 (another tab): refused, the newer words kept
    stale = autosave(ana, visit, {"narrative": "Older words"}, revision="0")
    assert stale.status_code == 409 and "saved from another page" in stale.get_json()["message"]
    assert stored(staff, visit)["revision"] == 1 and stored(staff, visit)["content"]["narrative"] == WORDS["narrative"]
    invalid = autosave(ana, visit, {"s_pain_now": "11"})
    assert invalid.status_code == 422 and "Pain now must be a whole number from 0 to 10" in invalid.get_json()["message"]
    assert invalid.get_json()["errors"] == {"s_pain_now": "Pain now must be a whole number from 0 to 10."}
    assert stored(staff, visit)["revision"] == 1
    assert autosave(ana, visit, {"narrative": "Newer"}).get_json()["revision"] == 2


def test_signing_locks_the_note_against_the_form_the_script_and_the_database(staff, visit, ana, clock, login_as):  # noqa: F811
    early = send(ana, visit, "sign", WORDS)  # Monday: the visit has not begun
    assert early.status_code == 200 and "A note is signed once the visit has begun" in words_in(text(early))
    assert stored(staff, visit) is None and WORDS["narrative"] in words_in(text(early))
    ana = begun(clock, login_as)
    opened_before = text(ana.get(note_path(visit)))  # a second tab, left open
    response = send(ana, visit, "sign", WORDS | {"t_point_code": ["BL23"], "t_point_side": ["both"],
                                                 "t_point_technique": ["tonifying"], "o_tenderness": ["lumbar_midline"]})
    assert response.status_code == 303
    saved = stored(staff, visit)
    assert saved["signed_by"] == "Practitioner" and saved["signed_at"] == clock()
    page = words_in(text(ana.get(note_path(visit))))
    assert "Signed by Practitioner on Tuesday, March 9, 2027, 10:30 AM." in page
    assert 'name="narrative"' not in page and "Sign and lock the note" not in page  # no editor any more
    assert "BL23 Shenshu (both, tonifying)" in page and "Lumbar midline" in page
    assert "lumbar_midline" not in page and "tonifying)" in page  # labels, never the stored keys
    # A page opened before the signing cannot change it: told so, the typed words kept.
    pairs = [(n, v) for n, v in form_of(opened_before) if n != "narrative"]
    refused = ana.post(note_path(visit), data=MultiDict(pairs + [("narrative", "Changed after signing"),
                                                                 ("action", "save")]))
    assert refused.status_code == 200 and "no longer changes" in words_in(text(refused))
    assert "Changed after signing" in words_in(text(refused))
    script = autosave(ana, visit, {"narrative": "Changed by the script"}, revision="1")
    assert script.status_code == 409 and "no longer changes" in script.get_json()["message"]
    assert stored(staff, visit) == saved
    # Whatever the code above does, the database keeps the signed words.
    with staff.app_context():
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(sa.update(TreatmentNote).values(content=blank_note()))
            db.session.flush()
        db.session.rollback()
    assert stored(staff, visit) == saved


def test_addenda_need_a_signed_note_and_words_and_are_shown_signed(staff, visit, ana, clock, login_as):  # noqa: F811
    send(ana, visit, changes=WORDS)
    refused = ana.post(note_path(visit) + "/addendum", data={"addendum": "Forgot the cupping",
                                                             "csrf_token": csrf_from(text(ana.get(note_path(visit))))})
    assert refused.status_code == 200 and "Only a signed note takes addenda" in words_in(text(refused))
    ana = begun(clock, login_as)
    signed = send(ana, visit, "sign")
    assert signed.status_code == 303, text(signed)[-3000:]
    token = csrf_from(text(ana.get(note_path(visit))))
    empty = ana.post(note_path(visit) + "/addendum", data={"addendum": "  \r\n ", "csrf_token": token})
    assert empty.status_code == 200 and "Write the addendum before signing it" in text(empty)
    long = ana.post(note_path(visit) + "/addendum", data={"addendum": "x" * 5001, "csrf_token": token})
    assert "Shorten the addendum" in text(long) and "x" * 5001 in text(long)  # kept to shorten
    assert stored(staff, visit)["addenda"] == []
    clock.advance(hours=2)
    ana = login_as(StaffRole.PRACTITIONER)
    token = csrf_from(text(ana.get(note_path(visit))))
    added = ana.post(note_path(visit) + "/addendum", data={"addendum": "Cupping on BL23 too, 5 minutes",
                                                           "csrf_token": token})
    assert added.status_code == 303 and added.location.endswith("#addenda")
    assert stored(staff, visit)["addenda"] == ["Cupping on BL23 too, 5 minutes"]
    page = words_in(text(ana.get(note_path(visit))))
    assert "The addendum is signed and added" in page and "Cupping on BL23 too, 5 minutes" in page
    assert "Signed by Practitioner on Tuesday, March 9, 2027, 12:30 PM." in page
    with staff.app_context():
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(sa.update(NoteAddendum).values(text="Changed"))
            db.session.flush()
        db.session.rollback()


def test_who_sees_and_writes_a_note(staff, visit, ana, login_as):  # noqa: F811
    send(ana, visit, changes=WORDS)
    with staff.test_request_context():
        other_practitioner(staff)
    ben = staff.test_client()
    from tests.test_staff import sign_in
    assert sign_in(ben, "ben@example.org", password="a long enough password 1").status_code == 303
    token = csrf_from(text(ben.get("/clinician")))
    assert ben.get(note_path(visit)).status_code == 404
    assert ben.post(note_path(visit), data={"csrf_token": token, "narrative": "Ben's"}).status_code == 404
    assert ben.post(note_path(visit) + "/draft", data={"narrative": "Ben's"},
                    headers={"X-CSRFToken": token}).status_code == 404
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = desk.get(note_path(visit))
    assert refused.status_code == 403 and WORDS["narrative"] not in text(refused)
    admin = login_as(StaffRole.ADMIN)
    page = words_in(text(admin.get(note_path(visit))))
    assert WORDS["narrative"] in page and "Draft, not signed" in page and 'name="narrative"' not in page
    assert ("admin", "note", visit) in audit_actions(staff)
    token = csrf_from(page)
    assert admin.post(note_path(visit), data={"csrf_token": token, "narrative": "Admin's"}).status_code == 403
    assert admin.post(note_path(visit) + "/draft", data={"narrative": "Admin's"},
                      headers={"X-CSRFToken": token}).status_code == 403
    assert stored(staff, visit)["content"]["narrative"] == WORDS["narrative"]


@pytest.mark.parametrize("changes, message", [
    ({"s_pain_now": "11"}, "Pain now must be a whole number from 0 to 10."),
    ({"t_retention_minutes": "500"}, "Retention time must be a whole number of minutes from 0 to 120."),
    ({"t_point_code": ["ZZ99"], "t_point_side": ["left"], "t_point_technique": [""]},
     "ZZ99 is not a standard point code: choose a point from the list."),
])
def test_bad_input_is_named_keeps_every_word_and_writes_nothing(staff, visit, ana, changes, message):  # noqa: F811
    response = send(ana, visit, changes=WORDS | changes)
    page = words_in(text(response))
    assert response.status_code == 200 and message in page and "There is a problem" in page
    assert page.count(message) == 2  # in the summary, and beside the field
    assert WORDS["narrative"] in page and WORDS["p_principle"] in page
    for value in (v for v in changes.values() if isinstance(v, str)):
        assert f'value="{value}"' in page
    assert stored(staff, visit) is None


def test_a_prescription_name_too_long_is_refused_with_the_words_kept(staff, visit, ana):  # noqa: F811
    rows = {"t_point_code": ["BL23"], "t_point_side": ["both"], "t_point_technique": [""]}
    response = send(ana, visit, "save_template", WORDS | rows | {"template_name": "N" * 81})
    page = words_in(text(response))
    assert response.status_code == 200 and "Give the prescription a name of 80 characters or fewer" in page
    assert 'href="#template_name"' in page and "N" * 81 in page and WORDS["narrative"] in page
    assert stored(staff, visit) is None
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PrescriptionTemplate)) == 0


def test_the_point_picker_and_remove_buttons_without_javascript(staff, visit, ana):  # noqa: F811
    typed = WORDS | {"add_point_code": "BL23", "add_point_side": "", "add_point_technique": "tonifying"}
    added = send(ana, visit, "add_point", typed)
    page = words_in(text(added))
    assert added.status_code == 200 and "Added BL23 Shenshu. Not saved yet" in page and WORDS["narrative"] in page
    assert stored(staff, visit) is None  # shown, not saved
    pairs = form_of(text(added))
    assert [value for name, value in pairs if name.startswith("t_point_")] == ["BL23", "both", "tonifying"]
    assert ("add_point_code", "") in pairs  # the picker is ready for the next point
    pairs = [(name, value) for name, value in pairs if not name.startswith("add_point_")]
    again = ana.post(note_path(visit), data=MultiDict(pairs + [("add_point_code", "GV4"), ("action", "add_point")]))
    pairs = form_of(text(again))
    assert [value for name, value in pairs if name.startswith("t_point_")] == ["BL23", "both", "tonifying",
                                                                               "GV4", "midline", ""]
    pairs = [(name, value) for name, value in pairs if not name.startswith("add_point_")]
    unknown = ana.post(note_path(visit), data=MultiDict(pairs + [("add_point_code", "XX1"), ("action", "add_point")]))
    assert "XX1 is not a standard point code" in words_in(text(unknown)) and 'href="#add_point_code"' in text(unknown)
    removed = ana.post(note_path(visit), data=MultiDict(pairs + [("action", "remove_point_1")]))
    pairs = form_of(text(removed))
    assert "Removed BL23" in text(removed) and WORDS["narrative"] in words_in(text(removed))
    assert [value for name, value in pairs if name.startswith("t_point_")] == ["GV4", "midline", ""]
    assert ana.post(note_path(visit), data=MultiDict(pairs + [("action", "save")])).status_code == 303
    assert stored(staff, visit)["content"]["treatment"]["points"] == [
        {"code": "GV4", "side": "midline", "technique": ""}]


def test_prescriptions_are_saved_applied_and_deleted_each_practitioners_own(staff, visit, ana):  # noqa: F811
    rows = {"t_point_code": ["BL23", "BL40"], "t_point_side": ["both", "both"], "t_point_technique": ["tonifying", ""]}
    saved = send(ana, visit, "save_template", WORDS | rows | {"template_name": "Kidney back"})
    assert saved.status_code == 303 and stored(staff, visit)["revision"] == 1  # the draft is saved with it
    page = words_in(text(ana.get(note_path(visit))))
    assert "saved as the prescription \u201cKidney back\u201d" in page and "Kidney back (2 points)" in page
    with staff.app_context():
        [template] = db.session.scalars(sa.select(PrescriptionTemplate)).all()
        template_id = template.id
    # another set of points, then the saved one instead: the other words stay as typed
    other = {"t_point_code": ["GB30"], "t_point_side": ["left"], "t_point_technique": [""],
             "narrative": "Typed, not saved"}
    applied = send(ana, visit, "apply_template", other | {"template": str(template_id)})
    pairs = form_of(text(applied))
    assert "The points of \u201cKidney back\u201d replace the list" in words_in(text(applied))
    assert [value for name, value in pairs if name == "t_point_code"] == ["BL23", "BL40"]
    assert ("narrative", "Typed, not saved") in pairs and stored(staff, visit)["revision"] == 1
    # Ben's prescription is not Ana's to use or delete
    with staff.test_request_context():
        ben = other_practitioner(staff)
        db.session.add(PrescriptionTemplate(practitioner_id=ben.practitioner_id, name="Ben's", points=[],
                                            created_at=stored(staff, visit) and template.created_at))
        db.session.commit()
        bens = db.session.scalar(sa.select(PrescriptionTemplate.id).where(PrescriptionTemplate.name == "Ben's"))
    not_hers = send(ana, visit, "apply_template", {"template": str(bens)})
    assert "Choose one of your saved prescriptions" in words_in(text(not_hers))
    token = csrf_from(text(ana.get(note_path(visit))))
    assert ana.post(f"/clinician/prescriptions/{bens}/delete", data={"csrf_token": token}).status_code == 404
    deleted = ana.post(f"/clinician/prescriptions/{template_id}/delete", data={"csrf_token": token, "visit": visit})
    assert deleted.status_code == 303 and deleted.location.endswith(f"{note_path(visit)}#prescriptions")
    assert "\u201cKidney back\u201d is deleted" in words_in(text(ana.get(note_path(visit))))
    with staff.app_context():
        assert db.session.scalars(sa.select(PrescriptionTemplate.name)).all() == ["Ben's"]


def test_a_page_opened_before_another_save_keeps_its_words_and_says_what_happened(staff, visit, ana):  # noqa: F811
    first_tab = text(ana.get(note_path(visit)))
    assert send(ana, visit, changes={"narrative": "From the second tab"}).status_code == 303
    pairs = [(n, v) for n, v in form_of(first_tab) if n != "narrative"] + [("narrative", "From the first tab")]
    # the picker's button shows the page again at the revision it was opened at: still stale
    added = ana.post(note_path(visit), data=MultiDict(pairs + [("add_point_code", "BL23"), ("action", "add_point")]))
    assert 'name="revision" value="0"' in text(added)
    pairs = [(n, v) for n, v in form_of(text(added)) if not n.startswith("add_point_")] + [("action", "save")]
    refused = ana.post(note_path(visit), data=MultiDict(pairs))
    page = words_in(text(refused))
    assert refused.status_code == 200 and "saved from another page after you opened this one" in page
    assert "From the first tab" in page and "Open the saved note in a new tab" in page
    assert stored(staff, visit)["content"]["narrative"] == "From the second tab"
    # Shown again with the saved revision: saving now, after comparing, is on purpose.
    assert ana.post(note_path(visit), data=MultiDict(form_of(text(refused)) + [("action", "save")])).status_code == 303
    assert stored(staff, visit)["content"]["narrative"] == "From the first tab"


def test_the_next_visit_shows_the_last_signed_plan_and_points_first(staff, ana, clock, login_as):  # noqa: F811
    first = appointment_id(staff, book_online(staff))
    second = appointment_id(staff, book_online(staff, start="2027-03-16T10:00:00-07:00"))
    ana = begun(clock, login_as)
    rows = {"t_point_code": ["BL23"], "t_point_side": ["both"], "t_point_technique": ["tonifying"],
            "p_next_visit": "In one week"}
    assert send(ana, first, "sign", WORDS | rows).status_code == 303
    page = words_in(text(ana.get(note_path(second))))
    assert "visit 2" in page
    previous = page.split("From the last signed note", 1)[1].split("</section>", 1)[0]
    assert "BL23 Shenshu (both, tonifying)" in previous and WORDS["p_principle"] in previous and "In one week" in previous
    assert page.index("From the last signed note") < page.index("<h2>Subjective</h2>")
    assert [v for n, v in form_of(page) if n == "t_point_code"] == ["BL23"]  # the starting prescription


def test_a_missed_visit_takes_no_note(staff, visit, ana):  # noqa: F811
    page = text(ana.get(note_path(visit)))
    set_status(staff, visit, "no_show")
    shown = words_in(text(ana.get(note_path(visit))))
    assert "This visit is marked no-show: it takes no treatment note." in shown and 'name="narrative"' not in shown
    pairs = [(name, value) for name, value in form_of(page) if name != "narrative"]
    refused = ana.post(note_path(visit), data=MultiDict(pairs + [("narrative", "Late words"), ("action", "save")]))
    assert refused.status_code == 200 and "so it takes no treatment note" in words_in(text(refused))
    assert "Late words" in text(refused) and stored(staff, visit) is None


def test_my_day_links_each_visits_note_with_its_state(staff, ana, clock, login_as):  # noqa: F811
    first = appointment_id(staff, book_online(staff))
    second = appointment_id(staff, book_online(staff, start="2027-03-09T11:00:00-08:00", name="Bo Second",
                                              email="bo@example.com"))
    send(ana, first, changes=WORDS)
    day = text(ana.get("/clinician?date=2027-03-09"))
    assert f'href="{note_path(first)}">Treatment note' in day and f'href="{note_path(second)}">Treatment note' in day
    assert re.findall(r"</a>:\s+(Draft|Not started|Signed)</p>", day) == ["Draft", "Not started"]
    ana = begun(clock, login_as)
    assert send(ana, first, "sign").status_code == 303
    day = text(ana.get("/clinician?date=2027-03-09"))
    assert re.findall(r"</a>:\s+(Draft|Not started|Signed)</p>", day) == ["Signed", "Not started"]
    assert WORDS["narrative"] not in day


def test_the_note_puts_the_patients_flags_and_precautions_first_and_warns_against_electroacupuncture(staff, ana):  # noqa: F811
    from tests.test_clinician import send_intake

    booking = book_online(staff, name="Pat Caller", safety=["night_pain"])
    visit = appointment_id(staff, booking)
    def plain_text(page: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", words_in(page)).split())

    plain = plain_text(text(ana.get(note_path(visit))))
    assert "Pain that rest does not ease" in plain and "no electroacupuncture" not in plain
    send_intake(staff, booking, health={"precautions": ["implanted_device"]})
    plain = plain_text(text(ana.get(note_path(visit))))
    first = plain.split("Read first", 1)[1]
    assert "Precaution: Pacemaker, defibrillator or other implanted electrical device" in first
    assert "this patient told us of a pacemaker, defibrillator or other implanted electrical device" in plain
    assert plain.index("no electroacupuncture.") < plain.index("Electroacupuncture used")


def test_the_autosave_answers_with_the_cautions_the_saved_words_raise(staff, login_as):  # noqa: F811
    """The page's cautions showed only after Save draft or a reload: the script saved electroacupuncture
    for a patient with a pacemaker and said nothing. The autosave's answer now carries them, and the
    block the page puts in, with its tick cleared."""
    from tests.test_clinician import send_intake

    booking = book_online(staff)
    visit = appointment_id(staff, booking)
    send_intake(staff, booking, health={"precautions": ["implanted_device"]})
    ana = login_as(StaffRole.PRACTITIONER)
    quiet = autosave(ana, visit, WORDS).get_json()
    assert quiet["cautions"] == [] and 'id="note-cautions"' not in quiet["cautions_html"]
    assert "data-cautions='[]'" in quiet["cautions_html"]
    answer = autosave(ana, visit, WORDS | {"t_electro": "on", "precautions_checked": "yes"}).get_json()
    assert answer["revision"] == 2 and len(answer["cautions"]) == 1
    assert answer["cautions"][0].startswith("Electroacupuncture is recorded, and this patient told us of a pacemaker")
    block = words_in(answer["cautions_html"])
    assert "Check before signing" in block and answer["cautions"][0] in block
    assert 'id="precautions_checked"' in block
    assert 'value="yes" checked' not in block  # ticked for another list: to be ticked again
    assert stored(staff, visit)["content"]["treatment"]["electro"] is True


def test_an_autosave_refused_for_several_problems_says_how_many(staff, visit, ana):  # noqa: F811
    refused = autosave(ana, visit, {"s_pain_now": "11", "t_needles": "x9"})
    message = refused.get_json()["message"]
    assert refused.status_code == 422 and not message.startswith("Not saved")
    assert "Pain now must be a whole number from 0 to 10" in message and "And 1 more problem" in message
    assert stored(staff, visit) is None


def test_a_note_that_a_precaution_speaks_against_warns_and_is_signed_only_with_a_tick(staff, clock, login_as):  # noqa: F811
    """A hands-on trial saved LI4, SP6 and BL67 with electroacupuncture for a pregnant patient with a
    pacemaker: "Draft saved." and nothing else. The note is kept as written, with cautions beside its
    buttons, and signing it takes a tick that they were checked."""
    from tests.test_clinician import send_intake

    booking = book_online(staff)
    visit = appointment_id(staff, booking)
    send_intake(staff, booking, health={"precautions": ["pregnant", "implanted_device"]})
    ana = login_as(StaffRole.PRACTITIONER)
    needled = {"t_point_code": ["LI4", "BL23", "SP6"], "t_point_side": ["both", "both", "left"],
               "t_point_technique": ["", "", ""], "t_electro": "on"}
    assert "Check before signing" not in words_in(text(ana.get(note_path(visit))))  # nothing recorded yet
    assert send(ana, visit, "save", WORDS | needled).status_code == 303  # a draft is kept as written
    page = words_in(text(ana.get(note_path(visit))))
    assert "Check before signing" in page
    assert ("LI4 Hegu and SP6 Sanyinjiao are points avoided in pregnancy, and this patient told us they are "
            "pregnant or might be.") in page
    assert ("Electroacupuncture is recorded, and this patient told us of a pacemaker, defibrillator or other "
            "implanted electrical device: electroacupuncture is not used with one.") in page
    ana = begun(clock, login_as)
    refused = send(ana, visit, "sign", {"narrative": "Needled as planned"})
    said = words_in(text(refused))
    assert refused.status_code == 200 and "tick that you have checked them to sign" in said
    assert 'href="#precautions_checked"' in said and "Needled as planned" in said  # linked, and the words kept
    assert stored(staff, visit)["signed_at"] is None
    signed = send(ana, visit, "sign", {"narrative": "Needled as planned"}, add=[("precautions_checked", "yes")])
    assert signed.status_code == 303 and stored(staff, visit)["signed_at"] == clock()
    assert "Recorded against the patient's precautions" in words_in(text(ana.get(note_path(visit))))


def test_the_cautions_read_each_precaution_against_what_the_note_records():
    from booking.notes.precautions import cautions

    treatment = {"points": [{"code": "BL23"}, {"code": "GB21"}, {"code": "BL23"}], "electro": False,
                 "methods": ["cupping", "gua_sha", "moxibustion"]}
    assert cautions({"treatment": treatment}, []) == []
    assert cautions({"treatment": treatment}, ["pregnant"]) == [
        "GB21 Jianjing is a point avoided in pregnancy, and this patient told us they are pregnant or might be."]
    assert cautions({"treatment": treatment}, ["bleeding_disorder", "skin_problem", "diabetes", "needle_fear"]) == [
        "Cupping and Gua sha are recorded, and this patient has a bleeding disorder: they bruise and may bleed.",
        "BL23 Shenshu is on the lower back, and this patient told us of a skin infection or broken skin on the lower "
        "back: no needle goes through broken or infected skin.",
        "Moxibustion is recorded, and this patient has diabetes: dulled feeling in the skin can let heat burn it."]
    assert cautions({"treatment": {**treatment, "electro": True}}, ["implanted_device"])[0].startswith(
        "Electroacupuncture is recorded")
    assert cautions({}, ["pregnant", "implanted_device"]) == []
