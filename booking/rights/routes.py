"""Everything held about one patient, as a printable page or a JSON file, and erasing them.

Admins only: the other roles get 403 on every page here, whatever the patient number, so
no one learns whether a patient exists. Each export is audited before it is shown; health
data never rides in an address (only the patient's number does).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from booking.clock import now
from booking.formatting import counted, date_text
from booking.limits import MAX_ID
from booking.measures.intake import AFTER_EFFECTS, PRECAUTIONS, RISK_FACTORS
from booking.models import StaffRole
from booking.notes import content as note_content
from booking.operations import patient_data
from booking.operations.availability import load_clinic
from booking.operations.bookings import BOOKED_VIA
from booking.operations.clinical import AUDIT_ACTIONS
from booking.operations.permissions import NotVisible
from booking.retention_period import retention_of
from booking.questionnaire import STEPS, answered_sections
from booking.rights.forms import EraseForm
from booking.safety import EMERGENCY, SIGNAL_SOURCES, URGENT
from booking.staff_access import staff_only

bp = Blueprint("rights", __name__, url_prefix="/admin/patients")

PATIENT = "/<int(max=2147483647):patient_id>"


@bp.before_request
@staff_only(StaffRole.ADMIN)
def admins_only():
    """Exports and erasure hold every answer a patient gave: the clinic owner's alone."""


def _readable(answers: dict) -> list:
    """An intake's answers as the patient was asked them, in the order asked; a step saved by
    an older form that cannot be read so is given as stored (the JSON keeps them as stored too)."""
    screening = current_app.extensions["instruments"].get("start_back")
    asked = [name for name, _, _ in STEPS] + ["screening"]
    sections = []
    for step, stored in sorted(answers.items(), key=lambda item: asked.index(item[0]) if item[0] in asked else len(asked)):
        try:
            sections += answered_sections({step: stored}, screening)
        except (KeyError, TypeError, ValueError):
            sections.append((step, step.replace("_", " ").capitalize(), [(key, str(value)) for key, value in stored.items()]))
    return sections


def _opened(patient_id: int, action: str) -> patient_data.PatientData:
    patient_data.open_patient_data(current_user.account, patient_id, action, request.remote_addr or "", now(),
                                   shown=request.method != "HEAD")
    return patient_data.patient_data(patient_id)


@bp.get(PATIENT + "/data")
def data_page(patient_id: int):
    """Everything held about the patient on one page, laid out to print (no JavaScript needed)."""
    data = _opened(patient_id, "data_page")
    return render_template(
        "rights/data.html", data=data, patient=data.patient, readable=_readable, sources=SIGNAL_SOURCES,
        labels={"emergency": EMERGENCY, "urgent": URGENT, "precautions": PRECAUTIONS, "risks": RISK_FACTORS,
                "after_effects": AFTER_EFFECTS},
        actions=AUDIT_ACTIONS, booked_via=BOOKED_VIA, exported_at=now(), note_summary=note_content.summary)


@bp.get(PATIENT + "/data.json")
def data_file(patient_id: int):
    """The same as a JSON file (shape: README, "Patients' data")."""
    data = _opened(patient_id, "data_file")
    body = json.dumps(patient_data.export(data, load_clinic(), now(), _readable), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="patient-{patient_id}.json"'})


@bp.route(PATIENT + "/erase", methods=["GET", "POST"])
def erase(patient_id: int):
    """Say what erasing removes and keeps, ask why, and erase on the POST."""
    clinic = load_clinic()
    plan = patient_data.erasure_plan(patient_id, now())
    if plan.erasure is not None or plan.patient.is_erased:
        flash(_already(plan.erasure), "problem")
        return redirect(url_for("desk.patient", patient_id=patient_id), code=303)
    form = EraseForm()
    if form.validate_on_submit():
        try:
            done = patient_data.erase(patient_id, form.reason.data, now(), patient_data.Who.of(current_user.account),
                                      request.remote_addr or "")
        except patient_data.AlreadyErased as erased:  # another admin was a moment quicker
            flash(_already(erased.erasure), "problem")
        else:
            cancelled = done.appointments_cancelled
            kept = done.appointments_kept
            flash(f"Patient number {patient_id} is erased: their contact details and answers are gone, and "
                  f"{counted(kept, 'appointment')} {'is' if kept == 1 else 'are'} kept as anonymous history."
                  + ((" 1 booked visit ahead was cancelled; its time is free again." if cancelled == 1 else
                      f" {cancelled} booked visits ahead were cancelled; their times are free again.")
                     if cancelled else ""),
                  "success")
        return redirect(url_for("desk.patient", patient_id=patient_id), code=303)
    last_seen, kept_until = retention_of(plan.patient, plan.appointments, clinic)
    return render_template("rights/erase.html", form=form, plan=plan, patient=plan.patient, kept_until=kept_until,
                           last_seen=last_seen, within_retention=kept_until > clinic.today(now()),
                           retention_years=clinic.retention_years)


@bp.route("/waitlist/<int(max=2147483647):entry_id>/erase", methods=["GET", "POST"])
def erase_waiting(entry_id: int):
    """Erase someone known only by their places on the waitlist: say what goes, ask why, erase."""
    try:
        places = patient_data.places_of_person(entry_id)
    except patient_data.HasPatientRecord as record:  # erased from their record, with their visits
        return redirect(url_for("rights.erase", patient_id=record.patient_id), code=303)
    form = EraseForm()
    if form.validate_on_submit():
        try:
            done = patient_data.erase_waiting_person(entry_id, form.reason.data, now(),
                                                     patient_data.Who.of(current_user.account), request.remote_addr or "")
        except patient_data.HasPatientRecord as record:  # they booked meanwhile
            return redirect(url_for("rights.erase", patient_id=record.patient_id), code=303)
        except NotVisible:  # another admin, or the retention purge, was a moment quicker
            flash("Those places on the waitlist are already gone: nothing more was changed.", "problem")
        else:
            flash(f"{counted(len(places), 'place')} on the waitlist {'is' if len(places) == 1 else 'are'} erased with "
                  f"the contact details, safety answers and emails {'it' if len(places) == 1 else 'they'} held; "
                  f"the record of this erasure is patient number {done.patient_id}.", "success")
        return redirect(url_for("rights.erased"), code=303)
    return render_template("rights/erase_waiting.html", form=form, places=places, person=places[0])


def _already(erasure) -> str:
    if erasure is None:
        return "This patient's record is already erased."
    return (f"This patient's record was already erased on {date_text(erasure.erased_at.astimezone(load_clinic().zone).date(), get_locale() or 'en_US', 'long')} "
            f"by {erasure.erased_by}: nothing more was changed.")


@bp.get("/erased")
def erased():
    """Every erasure, newest first: who, when and why (the record of it is kept for good)."""
    before = request.args.get("before", type=int)
    rows = patient_data.erasures(before if before and 0 < before <= MAX_ID else None, limit=101)
    older = url_for("rights.erased", before=rows[99].id) if len(rows) > 100 else None
    return render_template("rights/erased.html", erasures=rows[:100], older=older)

