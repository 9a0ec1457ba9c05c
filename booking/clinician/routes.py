"""The practitioner's pages: their day, each visit's intake, scores and progress, and their calendar link.

Receptionists have no way in (they see status and flag level on the desk). Opening,
printing or downloading a visit's record writes the audit log first (operations.clinical).
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from babel import Locale
from flask_babel import get_locale
from flask_login import current_user

from booking.clinician.chart import lay_out_chart
from booking import kept_pages
from booking.clock import now
from booking.measures.intake import AFTER_EFFECTS, DURATION_BANDS, PRECAUTIONS, PRECAUTIONS_SHORT, RISK_FACTORS, age_on
from booking.models import StaffRole
from booking.formatting import clinic_time
from booking.notes import choices as note_choices
from booking.notes import content as note_content
from booking.notes import diagnoses as note_diagnoses
from booking.notes import points as note_points
from booking.notes import precautions as note_precautions
from booking.notes.billing import claim_codes
from booking.operations import clinical, consent, desk, feeds, notes
from booking.operations.availability import load_clinic
from booking.questionnaire import answered_sections
from booking.safety import EMERGENCY, URGENT
from booking.staff_access import staff_only
from booking.web import asked_day

bp = Blueprint("clinician", __name__, url_prefix="/clinician")
reads_intakes = staff_only(StaffRole.PRACTITIONER, StaffRole.ADMIN)


def _instruments():
    return current_app.extensions["instruments"]


@bp.get("")
@reads_intakes
def my_day():
    """Today's visits (or another date's) for the signed-in practitioner; an admin picks whose.
    Kept per process (booking.kept_pages): it shows no words of an intake, and writes no audit."""
    # Who asks, as plain values: the account's entity joins the request's session, which begins its
    # transaction, and the stamps would then be read in it rather than alone; only a render needs it.
    who = current_user._get_current_object()
    known, version = desk.calendars_version()  # first: what the page reads after is at least as new
    moment = now()
    day = asked_day(request.args.get("date"), known.today(moment))
    asked_for = request.args.get("practitioner", "") if who.role is StaffRole.ADMIN else ""

    def render(context):
        choices = desk.practitioners_list() if who.role is StaffRole.ADMIN else []
        practitioner = who.account.practitioner
        if choices:
            practitioner = (desk.practitioner_by_slug(asked_for) if asked_for else None) or practitioner or choices[0]
        visits = clinical.practitioner_day(practitioner, day) if practitioner else []
        consent.load_status(visit.appointment for visit in visits)
        notes.load_status(visit.appointment for visit in visits)
        # Where each patient lies and when the practitioner's hands are needed: with beds, one patient
        # rests while the next is needled, so visits overlap and the card says which parts are whose.
        rooms = {room.id: room for room in known.rooms}
        beds = {v.appointment.id: desk.bed_text(rooms.get(v.appointment.room_id), v.appointment.bed) for v in visits}
        hands_on = {v.appointment.id: desk.hands_on_with_rest(v.appointment) for v in visits}
        page = render_template("clinician/day.html", day=day, practitioner=practitioner, choices=choices,
                               visits=visits, beds=beds, hands_on=hands_on, previous=day - timedelta(days=1), following=day + timedelta(days=1),
                               whose=practitioner.slug if choices and practitioner else None, **context)
        return page, ()  # nothing on it follows the clock

    return kept_pages.serve(version, (day, asked_for), moment, render)


def _opened(appointment_id: int, action: str, shown: bool | None = None) -> clinical.VisitRecord:
    """The visit's record, its look written to the audit log first (unless `shown` is False: a HEAD
    request, or a form sent back to the page it was on, whose look was logged when it was opened)."""
    try:
        clinical.open_record(current_user.account, appointment_id, action, request.remote_addr or "", now(),
                             shown=request.method != "HEAD" if shown is None else shown)
    except desk.NotVisible:
        abort(404)
    return clinical.visit_record(appointment_id, _instruments())


def _visit_page(record: clinical.VisitRecord, printing: bool, consent_error: str | None = None):
    instruments = _instruments()
    intake = record.intake
    consent.load_status([record.appointment])
    # The print version shows this visit's note in full (with addenda); the page its state and the last plan.
    note, previous = notes.for_visit(record.appointment, with_addenda=printing)
    born_on = record.appointment.patient.born_on
    return render_template(
        "clinician/visit.html", record=record, appointment=record.appointment, intake=intake, printing=printing,
        age=age_on(born_on, record.appointment.starts_at.astimezone(load_clinic().zone).date()) if born_on else None,
        sections=answered_sections(intake.answers, instruments.get("start_back")) if intake else [],
        chart=lay_out_chart(record.trend, str(get_locale() or "en_US")) if len(record.trend) > 1 else None,
        nprs=instruments["nprs"], psfs=instruments["psfs"], screen=instruments.get("start_back"),
        labels={"emergency": EMERGENCY, "urgent": URGENT, "precautions": PRECAUTIONS, "risks": RISK_FACTORS,
                "after_effects": AFTER_EFFECTS},
        duration_bands=DURATION_BANDS, meaningful=clinical.meaningful_changes(instruments),
        note=note, note_sections=note_content.summary(note.content) if printing and note else [],
        previous_note=previous, point_of=note_points.point, note_choices=note_choices, consent_error=consent_error,
    )


@bp.get("/visits/<int(max=2147483647):appointment_id>")
@reads_intakes
def visit(appointment_id: int):
    return _visit_page(_opened(appointment_id, "view"), printing=False)


@bp.get("/visits/<int(max=2147483647):appointment_id>/print")
@reads_intakes
def print_visit(appointment_id: int):
    return _visit_page(_opened(appointment_id, "print"), printing=True)


@bp.get("/visits/<int(max=2147483647):appointment_id>/export")
@reads_intakes
def export_visit(appointment_id: int):
    """The visit's record as a JSON file, for a clinic's own notes system."""
    record = _opened(appointment_id, "export")
    clinic = load_clinic()
    data = clinical.export(record, clinic)
    note, previous = notes.for_visit(record.appointment, with_addenda=True)

    def local(instant):
        return instant.astimezone(clinic.zone).isoformat() if instant else None

    data["treatment_note"] = notes.as_data(note, local) if note is not None else None
    # The plan and points the patient's last signed note left for this visit (its addenda are in its own export).
    data["previous_plan"] = None if previous is None else {
        "for_visit_on": local(previous.appointment.starts_at), "signed_by": previous.signed_by,
        "signed_at": local(previous.signed_at), "plan": previous.content["plan"],
        "treatment": previous.content["treatment"]}
    body = json.dumps(data, indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="visit-{record.appointment.reference}.json"'})


# --- consent to treatment ----------------------------------------------------------------

@bp.get("/visits/<int(max=2147483647):appointment_id>/consent")
@reads_intakes
def signed_consent(appointment_id: int):
    """The consent covering the visit: the text as the patient read it, who signed and when.
    The look is written to the audit log first, as an intake's is."""
    return _consent_page(appointment_id, shown=request.method != "HEAD")


def _consent_page(appointment_id: int, shown: bool, consent_error: str | None = None):
    """The signed consent, or the text to go through with the patient (then with the form's problem, if any)."""
    try:
        appointment, record = consent.open_signed(current_user.account, appointment_id, request.remote_addr or "",
                                                  now(), shown=shown)
    except desk.NotVisible:
        abort(404)
    if record is not None:
        language = record.language
        text = consent.render(record.version.texts.get(language, ""))
        english = consent.render(record.version.texts.get("en", "")) if language != "en" else None
        version_key = None
    else:  # none on file: the current text, to go through with the patient before recording it
        shown = consent.text_to_show(appointment.language)
        language, text, version_key = shown.language, shown.html, shown.version_key
        english = consent.render(consent.text_in(consent.texts_of(shown.version_id), "en")[1]) if language != "en" else None
    return render_template("clinician/consent.html", appointment=appointment, record=record, text=text,
                           english=english, language=language, version_key=version_key,
                           language_name=Locale(language).get_display_name("en"), consent_error=consent_error)


# The in-person form's one problem: a press of the button without the box ticked.
CONSENT_NOT_CONFIRMED = ("Tick the box to confirm that you went through the consent text with the patient and they "
                         "agreed to treatment")


@bp.post("/visits/<int(max=2147483647):appointment_id>/consent/in-person")
@staff_only(StaffRole.PRACTITIONER)
def consent_in_person(appointment_id: int):
    """The practitioner records that the patient gave consent in person, after saying so on the form."""
    seen_version = request.form.get("version") or None  # sent by the page that showed the text
    if request.form.get("confirm") != "yes":
        # A form's problem, as every form shows one: the page it was on again, with the summary linked
        # to the box and the message at it (a banner alone left focus on the page, a hands-on trial).
        # As the note's page sent back, it writes nothing: its look was logged when it was opened.
        if seen_version:
            return _consent_page(appointment_id, shown=False, consent_error=CONSENT_NOT_CONFIRMED)
        return _visit_page(_opened(appointment_id, "view", shown=False), printing=False,
                           consent_error=CONSENT_NOT_CONFIRMED)
    try:
        record = consent.record_in_person(current_user.account, appointment_id, now(), seen_version)
    except desk.NotVisible:
        abort(404)
    except consent.ConsentProblem as problem:
        flash(str(problem), "problem")
        if seen_version:  # back to the text, as it reads now
            return redirect(url_for("clinician.signed_consent", appointment_id=appointment_id), code=303)
        return redirect(url_for("clinician.visit", appointment_id=appointment_id) + "#consent", code=303)
    flash("Consent given in person is recorded." if record.how == "in_person"
          else "A consent was already on file for this visit: nothing new was recorded.", "success")
    return redirect(url_for("clinician.visit", appointment_id=appointment_id) + "#consent", code=303)


# --- the calendar link (the feed itself is served by booking.feeds) -----------------------

def _own_practitioner():
    """A practitioner manages only their own link; an admin stops one from the practitioner's settings."""
    account = current_user.account
    if account.role is not StaffRole.PRACTITIONER or account.practitioner is None:
        abort(403, "Each practitioner makes their own calendar link, signed in with their own account. "
                   "An admin can stop a practitioner's link from Settings, Practitioners.")
    return account.practitioner


def _feed_page(practitioner, feed_url: str | None = None):
    webcal_url = "webcal://" + feed_url.split("://", 1)[1] if feed_url else None
    return render_template("clinician/calendar_feed.html", practitioner=practitioner, feed_url=feed_url,
                           webcal_url=webcal_url, days_back=feeds.DAYS_BACK)


@bp.get("/calendar-feed")
@staff_only()
def calendar_feed():
    """What the calendar link is and holds, and the buttons to make or stop it."""
    return _feed_page(_own_practitioner())


@bp.post("/calendar-feed/new")
@staff_only()
def new_calendar_link():
    """Make a link (stopping any old one) and show it this once: only its hash is kept, so no
    redirect could show it again, and the page is sent with no-store."""
    practitioner = _own_practitioner()
    token = feeds.issue(practitioner.id)
    return _feed_page(practitioner, current_app.config["BASE_URL"] + url_for("feeds.calendar", token=token))


@bp.post("/calendar-feed/stop")
@staff_only()
def stop_calendar_link():
    if feeds.revoke(_own_practitioner().id):
        flash("Your calendar link is stopped: calendars subscribed to it get no more updates. "
              "Remove the subscription from your phone too.", "success")
    return redirect(url_for("clinician.calendar_feed"), code=303)


@bp.app_template_global()
def may_read_intake(appointment) -> bool:
    """For links to a visit's record: shown only to those who may open it."""
    return current_user.is_authenticated and clinical.may_read_visit(current_user.account, appointment)


@bp.app_template_filter()
def precaution_short(key: str) -> str:
    return PRECAUTIONS_SHORT.get(key, key)


# --- treatment notes (issue #18): the practitioner's SOAP note, signed, then only addenda -------

writes_notes = staff_only(StaffRole.PRACTITIONER)
# Inputs of the note page that are not part of the note itself: the picker, the prescriptions.
PICKER = ("add_point_code", "add_point_side", "add_point_technique")
PRECAUTIONS_CHECKED = "precautions_checked"  # the tick that signs a note with a caution (notes/precautions.py)
NOT_IN_NOTE = {"csrf_token", "revision", "action", "template", "template_name", PRECAUTIONS_CHECKED, *PICKER}


def _note_path(appointment_id: int, anchor: str = "") -> str:
    return url_for("clinician.note", appointment_id=appointment_id) + (f"#{anchor}" if anchor else "")


def _opened_note(appointment_id: int, shown: bool) -> notes.NotePage:
    """The note's page data, its look written to the audit log first when `shown` (a GET)."""
    try:
        return notes.open_note(current_user.account, appointment_id, request.remote_addr or "", now(), shown=shown)
    except desk.NotVisible:
        abort(404)


def _typed() -> dict[str, list[str]]:
    """The note's own fields as sent (name -> values), so a page shown again keeps every word."""
    return {name: request.form.getlist(name) for name in request.form if name not in NOT_IN_NOTE}


def _revision_sent() -> int:
    """The revision the page started from; an unreadable one matches no note, so the save is refused."""
    sent = request.form.get("revision", "")
    return int(sent) if sent.isascii() and sent.isdigit() and len(sent) < 10 else -1


def _show_note(page: notes.NotePage, values: dict[str, list[str]], errors: dict[str, str] | None = None,
               status: int = 200, told: str | None = None, addendum: str = "", revision: int | None = None,
               editing: bool | None = None, picker_kept: bool = True):
    """The note page: the editor (values as typed or as saved) or the signed note read-only."""
    appointment, content = page.appointment, page.content
    if editing is None:  # a form sent back is shown as typed, even when the note was signed meanwhile
        editing = page.writable or request.endpoint == "clinician.write_note"
    shown_content = content
    if editing:  # the codes the receipt will show follow what is in the form now
        shown_content, _ = note_content.note_from_form(values)
    if revision is None:  # a form sent back keeps the revision it was opened at, so a stale page stays refused
        revision = _revision_sent() if request.endpoint == "clinician.write_note" else page.revision
    claim = claim_codes(shown_content)
    previous = page.previous
    # What the visit record puts first goes first here too: the needles are chosen on this page.
    record = clinical.visit_record(appointment.id, _instruments())
    precautions = _precautions(record)
    return render_template(
        "clinician/note.html", page=page, appointment=appointment, note=page.note, values=values,
        red_flags=record.red_flags, precautions=precautions,
        labels={"emergency": EMERGENCY, "urgent": URGENT, "precautions": PRECAUTIONS},
        no_electro="implanted_device" in precautions,
        cautions=note_precautions.cautions(shown_content, precautions), precautions_checked=PRECAUTIONS_CHECKED,
        errors=errors or {}, told=told, addendum=addendum, editing=editing,
        revision=revision,
        visit_number=record.counted_before + 1,
        summary=note_content.summary(content) if page.note is not None else [],
        previous_summary=_reference(previous.content) if previous is not None else [],
        procedures=claim["procedures"], diagnoses=claim["diagnoses"],
        error_list=[(_error_target(key), message) for key, message in (errors or {}).items()],
        fields=note_content.FIELDS_BY_NAME, choices=note_choices,
        diagnosis_options={found.code: f"{found.code} {found.title}" for found in note_diagnoses.all_diagnoses()},
        channels=note_points.by_channel(), point=note_points.point, picker=_picker_values(picker_kept),
        addendum_limit=notes.ADDENDUM_LIMIT, template_name_limit=notes.TEMPLATE_NAME_LIMIT,
    ), status


def _precautions(record: clinical.VisitRecord) -> list[str]:
    """The precautions of the intake read for the visit (its own, or the patient's latest earlier one)."""
    return list(record.intake.precautions or []) if record.intake else []


def _error_target(key: str) -> str:
    """The id an error summary's link goes to: the field, a row's control ("t_point_side.2" ->
    "t_point_side-2"), or the buttons for a problem with the note as a whole."""
    return "note-actions" if key == "note" else key.replace(".", "-")


def _reference(content: dict) -> list[tuple[str, str]]:
    """What the last signed note says of its plan and points, shown first for the next visit."""
    lines = dict(note_content.summary(content))
    points = [line for line in lines.get(note_content.SECTIONS["treatment"], []) if line[0] == "Points"]
    return points + lines.get(note_content.SECTIONS["plan"], [])


def _picker_values(kept: bool) -> dict[str, str]:
    """The point picker's choices as sent (kept on a page shown again), else its defaults."""
    return {name: request.form.get(name, "") if kept else "" for name in PICKER}


def _rows_of(values: dict[str, list[str]]) -> list[list[str]]:
    """The point rows in the form, each [code, side, technique], padded as note_from_form pads them."""
    columns = [values.get(name, []) for name in note_content.POINT_ROW]
    return [[column[i] if i < len(column) else "" for column in columns] for i in range(max(map(len, columns)))]


def _with_rows(values: dict[str, list[str]], rows: list[list[str]]) -> dict[str, list[str]]:
    updated = dict(values)
    for index, name in enumerate(note_content.POINT_ROW):
        updated[name] = [row[index] for row in rows]
    return updated


def _default_side(code: str, side: str) -> str:
    """The picker's "usual side": midline on the Governor and Conception Vessels, else both sides."""
    found = note_points.point(code)
    if side or found is None:
        return side
    return "midline" if found.channel in note_content.MIDLINE_CHANNELS else "both"


def _add_point(page: notes.NotePage, values: dict[str, list[str]]):
    """The no-JavaScript picker: the chosen point becomes a row; nothing is saved yet."""
    code, side, technique = (request.form.get(name, "") for name in PICKER)
    row, problems = note_content.clean_point_row(code, _default_side(code, side.strip()), technique)
    if not code.strip():
        problems = {"t_point_code": "Choose a point to add from the list."}
    if problems:
        errors = {f"add_point_{name.removeprefix('t_point_')}": message for name, message in problems.items()}
        return _show_note(page, values, errors)
    rows = _rows_of(values)
    found = note_points.point(row["code"])
    if any(note_points.normalise_code(kept[0]) == row["code"] and kept[1] == row["side"] for kept in rows):
        return _show_note(page, values, told=f"{found.code} {found.pinyin} ({row['side']}) is already in the list.")
    rows.append([row["code"], row["side"], row["technique"]])
    return _show_note(page, _with_rows(values, rows), picker_kept=False,
                      told=f"Added {found.code} {found.pinyin}. Not saved yet: save the draft to keep it.")


def _remove_point(page: notes.NotePage, values: dict[str, list[str]], number: str):
    rows = _rows_of(values)
    if not (number.isascii() and number.isdigit() and 1 <= int(number) <= len(rows)):
        return _show_note(page, values, {"note": "That point is no longer in the list: nothing was removed."})
    code = rows.pop(int(number) - 1)[0]
    return _show_note(page, _with_rows(values, rows), told=f"Removed {code}. Not saved yet: save the draft to keep "
                                                            "the change.")


def _apply_template(page: notes.NotePage, values: dict[str, list[str]]):
    """Replace the point rows with a saved prescription's, keeping every other word typed."""
    chosen = request.form.get("template", "")
    try:
        template = notes.find_template(current_user.account, int(chosen)) if chosen.isdigit() and len(chosen) < 10 \
            else None
    except desk.NotVisible:
        template = None
    if template is None:
        return _show_note(page, values, {"template": "Choose one of your saved prescriptions to start from."})
    rows = [[str(row.get("code", "")), str(row.get("side", "")), str(row.get("technique", ""))]
            for row in template.points]
    return _show_note(page, _with_rows(values, rows),
                      told=f"The points of \u201c{template.name}\u201d replace the list. Not saved yet: save the "
                           "draft to keep them.")


def _written(page: notes.NotePage, values: dict[str, list[str]], action: str):
    """Save, sign or keep the points as a prescription; refused input is shown again with every word."""
    content, errors = note_content.note_from_form(values)
    if errors:
        return _show_note(page, values, errors)
    account, appointment_id = current_user.account, page.appointment.id
    if action == "sign" and request.form.get(PRECAUTIONS_CHECKED) != "yes" and note_precautions.cautions(
            content, _precautions(clinical.visit_record(appointment_id, _instruments()))):
        return _show_note(page, values, {PRECAUTIONS_CHECKED: "This note records something a precaution of the "
                                                              "patient's speaks against: read the cautions, then tick "
                                                              "that you have checked them to sign."})
    try:
        if action == "sign":
            notes.sign(account, appointment_id, content, _revision_sent(), now())
            flash("The note is signed and locked. Anything to add from now on goes in an addendum.", "success")
        elif action == "save_template":
            template, _ = notes.save_points_as_template(account, appointment_id, request.form.get("template_name"),
                                                        content, _revision_sent(), now())
            flash(f"The points are saved as the prescription \u201c{template.name}\u201d, and the draft is saved.",
                  "success")
        else:
            notes.save_draft(account, appointment_id, content, _revision_sent(), now())
            flash("Draft saved.", "success")
    except desk.NotVisible:
        abort(404)
    except notes.NoteChanged as problem:
        # Shown again with the saved note's revision: saving once more, after comparing, is on purpose.
        return _show_note(page, values, {problem.field: problem.message}, revision=page.revision)
    except notes.NoteProblem as problem:
        return _show_note(page, values, {problem.field: problem.message})
    return redirect(_note_path(appointment_id, "note-actions" if action != "sign" else ""), code=303)


@bp.get("/visits/<int(max=2147483647):appointment_id>/note")
@reads_intakes
def note(appointment_id: int):
    """The visit's treatment note: the editor for its practitioner until signed, else the note to read."""
    page = _opened_note(appointment_id, shown=request.method != "HEAD")
    return _show_note(page, note_content.note_to_form(page.content))


@bp.post("/visits/<int(max=2147483647):appointment_id>/note")
@writes_notes
def write_note(appointment_id: int):
    """The note form's buttons: save, sign, the picker without JavaScript, and prescriptions."""
    # Shown again after a refusal, the page is the one opened (and logged) a moment ago: not logged twice.
    page = _opened_note(appointment_id, shown=False)
    values, action = _typed(), request.form.get("action", "save")
    if action == "add_point":
        return _add_point(page, values)
    if action.startswith("remove_point_"):
        return _remove_point(page, values, action.removeprefix("remove_point_"))
    if action == "apply_template":
        return _apply_template(page, values)
    if action in ("save", "sign", "save_template"):
        return _written(page, values, action)
    return _show_note(page, values, {"note": "That button is not one this page offers: nothing was saved."},
                      status=400)


@bp.post("/visits/<int(max=2147483647):appointment_id>/note/draft")
@writes_notes
def autosave_note(appointment_id: int):
    """The page's script saves the draft as the practitioner types: JSON with the new revision."""
    content, errors = note_content.note_from_form(_typed())
    if errors:
        more = len(errors) - 1
        message = next(iter(errors.values())) + (
            f" And {more} more {'problem' if more == 1 else 'problems'}: press Save draft to see each at its box."
            if more else "")
        return jsonify(message=message, errors=errors), 422
    try:
        saved = notes.save_draft(current_user.account, appointment_id, content, _revision_sent(), now())
    except desk.NotVisible:
        abort(404)
    except notes.NoteProblem as problem:  # signed meanwhile, or saved from another page
        return jsonify(message=problem.message, field=problem.field), 409
    claim = claim_codes(content)
    cautions = note_precautions.cautions(content, _precautions(clinical.visit_record(appointment_id, _instruments())))
    return jsonify(revision=saved.revision, saved_at=clinic_time(saved.updated_at, load_clinic(), "en_US", "time"),
                   cautions=cautions, cautions_html=render_template(
                       "clinician/_note_cautions_check.html", cautions=cautions, errors={}, ticked=False,
                       precautions_checked=PRECAUTIONS_CHECKED),
                   codes={"procedures": [{"code": line.code, "units": line.units, "description": line.description}
                                         for line in claim["procedures"]],
                          "diagnoses": [{"code": found.code, "title": found.title} for found in claim["diagnoses"]]})


@bp.post("/visits/<int(max=2147483647):appointment_id>/note/addendum")
@writes_notes
def add_addendum(appointment_id: int):
    """A signed addition to a signed note; refused words are shown again."""
    text = request.form.get("addendum", "")
    try:
        notes.add_addendum(current_user.account, appointment_id, text, now())
    except desk.NotVisible:
        abort(404)
    except notes.NoteProblem as problem:
        page = _opened_note(appointment_id, shown=False)
        return _show_note(page, note_content.note_to_form(page.content), {problem.field: problem.message},
                          addendum=text)
    flash("The addendum is signed and added to the note.", "success")
    return redirect(_note_path(appointment_id, "addenda"), code=303)


@bp.post("/prescriptions/<int(max=2147483647):template_id>/delete")
@writes_notes
def delete_prescription(template_id: int):
    """Delete one of the practitioner's saved prescriptions, then back to the note it was deleted from."""
    try:
        name = notes.delete_template(current_user.account, template_id)
    except desk.NotVisible:
        abort(404)
    flash(f"The saved prescription \u201c{name}\u201d is deleted.", "success")
    visit = request.form.get("visit", "")
    if visit.isascii() and visit.isdigit() and len(visit) < 10:
        return redirect(_note_path(int(visit), "prescriptions"), code=303)
    return redirect(url_for("clinician.my_day"), code=303)
