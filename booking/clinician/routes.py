"""The practitioner's pages: their day, each visit's intake, scores and progress, and their calendar link.

Receptionists have no way in (they see status and flag level on the desk). Opening,
printing or downloading a visit's record writes the audit log first (operations.clinical).
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from babel import Locale
from flask_babel import get_locale
from flask_login import current_user

from booking.clinician.chart import lay_out_chart
from booking.clock import now
from booking.measures.intake import AFTER_EFFECTS, DURATION_BANDS, PRECAUTIONS, PRECAUTIONS_SHORT, RISK_FACTORS, age_on
from booking.models import StaffRole
from booking.notes import choices as note_choices
from booking.notes import content as note_content
from booking.notes import points as note_points
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
    """Today's visits (or another date's) for the signed-in practitioner; an admin picks whose."""
    account = current_user.account
    day = asked_day(request.args.get("date"))
    choices = desk.practitioners_list() if account.role is StaffRole.ADMIN else []
    practitioner = account.practitioner
    if choices:
        slug = request.args.get("practitioner", "")
        practitioner = (desk.practitioner_by_slug(slug) if slug else None) or practitioner or choices[0]
    visits = clinical.practitioner_day(practitioner, day) if practitioner else []
    consent.load_status(visit.appointment for visit in visits)
    return render_template("clinician/day.html", day=day, practitioner=practitioner, choices=choices, visits=visits,
                           previous=day - timedelta(days=1), following=day + timedelta(days=1),
                           whose=practitioner.slug if choices and practitioner else None)


def _opened(appointment_id: int, action: str) -> clinical.VisitRecord:
    try:
        clinical.open_record(current_user.account, appointment_id, action, request.remote_addr or "", now(),
                             shown=request.method != "HEAD")
    except desk.NotVisible:
        abort(404)
    return clinical.visit_record(appointment_id, _instruments())


def _visit_page(record: clinical.VisitRecord, printing: bool):
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
        previous_note=previous, point_of=note_points.point, note_choices=note_choices,
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
    try:
        appointment, record = consent.open_signed(current_user.account, appointment_id, request.remote_addr or "",
                                                  now(), shown=request.method != "HEAD")
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
                           language_name=Locale(language).get_display_name("en"))


@bp.post("/visits/<int(max=2147483647):appointment_id>/consent/in-person")
@staff_only(StaffRole.PRACTITIONER)
def consent_in_person(appointment_id: int):
    """The practitioner records that the patient gave consent in person, after saying so on the form."""
    if request.form.get("confirm") != "yes":
        flash("Nothing was recorded: tick the box to confirm that the patient gave their consent in person.",
              "problem")
    else:
        seen_version = request.form.get("version") or None  # sent by the page that showed the text
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
