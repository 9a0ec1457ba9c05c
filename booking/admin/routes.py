"""Clinic administration: settings, services, rooms, practitioners, staff accounts, the audit log and the outbox (admins only).

Views stay thin: a form's values go to operations.admin whole, and its problems come
back to the form's fields; nothing is saved while any value is wrong.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking import limits
from booking.admin.forms import (AuditFilterForm, ClinicSettingsForm, PractitionerEditForm, RoomEditForm, ServiceEditForm,
                                 StaffForm, StaffPasswordForm, consent_text_form, in_languages)
from booking.clock import now
from booking.extensions import db
from booking.formatting import end_sentence
from booking.forms import options
from booking.models import (Appointment, Clinic, OutboxMessage, OutboxStatus, Patient, Practitioner, StaffAccount,
                            StaffRole, column_length)
from booking.notify import outbox
from booking.operations import admin, clinical, consent, feeds, second_factor, staff
from booking.operations.availability import load_clinic
from booking.operations.problems import CannotBook, InvalidInput
from booking.staff_access import staff_only

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@staff_only(StaffRole.ADMIN)
def admins_only():
    """Every page here is the clinic owner's (the design's "services, staff, settings" row)."""


@bp.context_processor
def limits_for_templates():
    """Hints quote the same limits the checks use."""
    return {"limits": limits}


def _start_back():
    return current_app.extensions["instruments"].get("start_back")


def _saved(form, save):
    """Give a valid form's values to save(); its problems go back to the form's fields.

    Returns what save() returned, or None when nothing was saved.
    """
    if not form.validate_on_submit():
        return None
    try:
        return save(form.values())
    except InvalidInput as invalid:
        form.show_problems(invalid.problems)
        return None


def _kept(count: int) -> str:
    if not count:
        return ""
    visits = "1 booked visit is" if count == 1 else f"{count} booked visits are"
    return f" {visits} kept: move or cancel them from the desk if they should not go ahead."


@bp.get("")
def index():
    return render_template("admin/index.html")


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    clinic = load_clinic()
    form = in_languages(ClinicSettingsForm, admin.other_languages())(data=admin.clinic_values(clinic))
    if _saved(form, lambda values: admin.update_clinic(
            values, start_back_available=_start_back() is not None, now=now())):
        flash("The clinic's settings are saved.", "success")
        return redirect(url_for("admin.settings"), code=303)
    return render_template("admin/settings.html", form=form, start_back=_start_back(),
                           visits_ahead=admin.upcoming_visits(now()), directions_length=column_length(Clinic, "directions"))


@bp.get("/services")
def services():
    return render_template("admin/services.html", services=admin.all_services())


@bp.route("/services/new", methods=["GET", "POST"])
def add_service():
    form = in_languages(ServiceEditForm, admin.other_languages())(adding=True, data={"buffer_minutes": 0, "is_active": True})
    service = _saved(form, lambda values: admin.save_service(values, now()))
    if service:
        flash(f"{service.name} is added.", "success")
        return redirect(url_for("admin.services"), code=303)
    return render_template("admin/service.html", form=form, service=None)


@bp.route("/services/<slug>", methods=["GET", "POST"])
def edit_service(slug: str):
    service = admin.find_service(slug) or abort(404)
    form = in_languages(ServiceEditForm, admin.other_languages())(adding=False, data=admin.service_values(service))
    if _saved(form, lambda values: admin.save_service(values, now(), service)):
        hidden = "" if service.is_active else (
            " Patients can no longer book it." + _kept(admin.upcoming_visits(now(), Appointment.service_id == service.id)))
        flash(f"{service.name} is saved.{hidden}", "success")
        return redirect(url_for("admin.services"), code=303)
    return render_template("admin/service.html", form=form, service=service)


@bp.get("/rooms")
def rooms():
    return render_template("admin/rooms.html", rooms=admin.all_rooms())


@bp.route("/rooms/new", methods=["GET", "POST"])
def add_room():
    form = in_languages(RoomEditForm, admin.other_languages())(adding=True, data={"beds": 1, "is_active": True})
    room = _saved(form, lambda values: admin.save_room(values, now()))
    if room:
        flash(f"{room.name} is added, with {_beds(room.beds)}.", "success")
        return redirect(url_for("admin.rooms"), code=303)
    return render_template("admin/room.html", form=form, room=None)


@bp.route("/rooms/<slug>", methods=["GET", "POST"])
def edit_room(slug: str):
    room = admin.find_room(slug) or abort(404)
    form = in_languages(RoomEditForm, admin.other_languages())(adding=False, data=admin.room_values(room))
    if _saved(form, lambda values: admin.save_room(values, now(), room)):
        flash(f"{room.name} is saved, with {_beds(room.beds)}.{_out_of_use(room)}", "success")
        return redirect(url_for("admin.rooms"), code=303)
    return render_template("admin/room.html", form=form, room=room)


def _beds(count: int) -> str:
    return "1 bed" if count == 1 else f"{count} beds"


def _out_of_use(room) -> str:
    """What taking a room out of use means: its booked visits stay, and with no room in use at all,
    the services that need a bed cannot be booked."""
    if room.is_active:
        return ""
    said = " New visits are no longer given a bed in it."
    kept = admin.upcoming_visits(now(), Appointment.room_id == room.id)
    if kept:
        said += (" 1 booked visit keeps its bed there" if kept == 1 else f" {kept} booked visits keep their beds there") \
            + ": move them from the desk if the room cannot be used."
    if not any(other.is_active for other in admin.all_rooms()) and admin.bed_services():
        names = ", ".join(service.name for service in admin.bed_services())
        said += f" No room is in use now, so patients cannot book what needs a bed: {names}."
    return said


@bp.get("/practitioners")
def practitioners():
    return render_template("admin/practitioners.html", practitioners=admin.all_practitioners())


@bp.route("/practitioners/new", methods=["GET", "POST"])
def add_practitioner():
    form = in_languages(PractitionerEditForm, admin.other_languages())(adding=True, services=admin.all_services(),
                                                                        data={"is_active": True})
    practitioner = _saved(form, admin.save_practitioner)
    if practitioner:
        flash(f"{practitioner.name} is added. Set their working hours next.", "success")
        return redirect(url_for("desk.hours", slug=practitioner.slug), code=303)
    return render_template("admin/practitioner.html", form=form, practitioner=None)


@bp.route("/practitioners/<slug>", methods=["GET", "POST"])
def edit_practitioner(slug: str):
    practitioner = admin.find_practitioner(slug) or abort(404)
    form = in_languages(PractitionerEditForm, admin.other_languages())(adding=False, services=admin.all_services(),
                                                                        data=admin.practitioner_values(practitioner))
    if _saved(form, lambda values: admin.save_practitioner(values, practitioner)):
        hidden = "" if practitioner.is_active else (
            " Patients can no longer book with them."
            + _kept(admin.upcoming_visits(now(), Appointment.practitioner_id == practitioner.id)))
        flash(f"{practitioner.name} is saved.{hidden}", "success")
        return redirect(url_for("admin.practitioners"), code=303)
    return render_template("admin/practitioner.html", form=form, practitioner=practitioner)


@bp.post("/practitioners/<slug>/calendar-link/stop")
def stop_calendar_link(slug: str):
    """Stop a practitioner's calendar link (a lost phone, someone leaving); they can make a new one."""
    practitioner = admin.find_practitioner(slug) or abort(404)
    if feeds.revoke(practitioner.id):
        flash(end_sentence(f"Calendar link stopped for {practitioner.name}"), "success")
    return redirect(url_for("admin.edit_practitioner", slug=practitioner.slug), code=303)


@bp.route("/staff", methods=["GET", "POST"])
def staff_accounts():
    form = StaffForm()
    practitioners = db.session.scalars(sa.select(Practitioner).order_by(Practitioner.name)).all()
    with_accounts = set(db.session.scalars(sa.select(StaffAccount.practitioner_id).where(
        StaffAccount.is_active, StaffAccount.practitioner_id.is_not(None))))
    form.practitioner.choices = options([("", "None (a receptionist or admin)")] + [
        (p.slug, f"{p.name} (has an account)" if p.id in with_accounts else p.name) for p in practitioners])
    # Every field's problem at once: the role was said first, then the email, then the name, one
    # press each (a hands-on trial). staff.add_staff checks the details again for the command line.
    valid = form.validate_on_submit()  # first: it sets each field's errors afresh
    role = next((r for r in StaffRole if r.value == form.role.data), None)
    problems = (staff.account_problems(form.email.data, form.name.data, form.password.data, role,
                                       form.practitioner.data) if form.is_submitted() else {})
    form.show_problems(problems)
    if valid and not problems:
        try:  # the admin typed the password, so the person chooses their own at their first sign-in
            account = staff.add_staff(form.email.data, form.name.data, StaffRole(form.role.data),
                                      form.password.data, now(), (form.practitioner.data or "").strip() or None,
                                      must_change_password=True)
        except CannotBook as problem:
            getattr(form, problem.field).errors.append(problem.message)
        else:
            flash(end_sentence(f"Account added for {account.name}") + " They choose their own password when they "
                  "first sign in.", "success")
            return redirect(url_for("admin.staff_accounts"), code=303)
    accounts = db.session.scalars(sa.select(StaffAccount).order_by(StaffAccount.name)).all()
    return render_template("admin/staff.html", form=form, accounts=accounts,
                           second_factors=second_factor.accounts_with_it_on())


@bp.post("/staff/<int(max=2147483647):account_id>/deactivate")
def deactivate(account_id: int):
    account = db.get_or_404(StaffAccount, account_id)
    if account.id == current_user.account.id:
        flash("You cannot deactivate your own account: ask another admin to do it.", "error")
        return redirect(url_for("admin.staff_accounts"), code=303)
    staff.deactivate(account.id, now())
    flash(f"{account.name} can no longer sign in, and their sessions have ended.", "success")
    return redirect(url_for("admin.staff_accounts"), code=303)


@bp.post("/staff/<int(max=2147483647):account_id>/reactivate")
def reactivate(account_id: int):
    account = db.get_or_404(StaffAccount, account_id)
    try:
        staff.reactivate(account.id)
    except CannotBook as problem:
        flash(end_sentence(f"{account.name} was not reactivated: {problem.message}"), "error")
        return redirect(url_for("admin.staff_accounts"), code=303)
    flash(f"{account.name} can sign in again with their password.", "success")
    return redirect(url_for("admin.staff_accounts"), code=303)


@bp.route("/staff/<int(max=2147483647):account_id>/password", methods=["GET", "POST"])
def set_password(account_id: int):
    """Give someone a new password (a forgotten one): all their sessions end, the audit log says who
    did it, and they choose their own at their next sign-in, as the admin knows this one. An
    admin's own password is changed on their Password page, which asks for the current one."""
    account = db.get_or_404(StaffAccount, account_id)
    if account.id == current_user.account.id:
        flash("To change your own password, use this page: it asks for your current one.", "error")
        return redirect(url_for("auth.password"), code=303)
    form = StaffPasswordForm()
    if form.validate_on_submit():
        try:
            staff.set_password(account, form.password.data, now(), by=current_user.account, must_change=True,
                               address=request.remote_addr or "")
        except InvalidInput as invalid:
            form.show_problems(invalid.problems)
        else:
            flash(end_sentence(f"New password set for {account.name}") + " Their sessions have ended. "
                  + ("They choose their own password when they next sign in." if account.is_active else
                     "Their account is deactivated: they can sign in with it once it is reactivated, and then "
                     "choose their own."), "success")
            return redirect(url_for("admin.staff_accounts"), code=303)
    return render_template("admin/staff_password.html", form=form, account=account)


@bp.post("/staff/<int(max=2147483647):account_id>/second-factor/reset")
def reset_second_factor(account_id: int):
    """Remove someone's second factor (a lost phone): all their sessions end, and the audit log says
    who did it. Admins cannot reset their own: another admin, or the server's command line, can."""
    account = db.get_or_404(StaffAccount, account_id)
    if account.id == current_user.account.id:
        flash("You cannot reset your own second factor: ask another admin, or whoever runs the server "
              "(flask staff reset-second-factor).", "error")
        return redirect(url_for("admin.staff_accounts"), code=303)
    if not second_factor.is_on(account.id):
        flash(f"{account.name} has no second factor to reset.", "error")
        return redirect(url_for("admin.staff_accounts"), code=303)
    second_factor.reset(account, now(), by=current_user.account, address=request.remote_addr or "")
    needs = second_factor.required(account, load_clinic())
    flash(end_sentence(f"Second factor reset for {account.name}") + " Their sessions have ended. "
          + ("They set up an authenticator app again when they next sign in." if needs
             else "They sign in with their password alone until they set one up again."), "success")
    return redirect(url_for("admin.staff_accounts"), code=303)


@bp.get("/audit")
def audit_log():
    """Who looked at which patient's intake, when and from where; filtered by the query string."""
    form = AuditFilterForm(request.args, meta={"csrf": False})
    form.staff.choices = options([("", "Anyone")] + [(str(a.id), a.name) for a in db.session.scalars(
        sa.select(StaffAccount).order_by(StaffAccount.name))])
    filtered = not request.args or form.validate()
    chosen = form.chosen(load_clinic().zone) if request.args and filtered else clinical.AuditFilter()
    before = request.args.get("before", type=int)
    # A wrong filter shows no rows rather than the whole log, which could pass for the filtered one.
    entries, more = clinical.audit_entries(chosen, before if before and 0 < before <= limits.MAX_ID else None) if filtered else ([], None)
    older = url_for("admin.audit_log", **(request.args.to_dict() | {"before": more})) if more else None
    return render_template("admin/audit.html", form=form, entries=entries, older=older, filtered=filtered,
                           patient=db.session.get(Patient, chosen.patient_id) if chosen.patient_id else None,
                           actions=clinical.AUDIT_ACTIONS)


@bp.get("/outbox")
def outbox_page():
    """The emails the clinic has sent or is about to send, newest first, by status."""
    asked = request.args.get("status", "")
    status = next((s for s in OutboxStatus if s.value == asked), None)
    before = request.args.get("before", type=int)
    unknown = bool(asked) and status is None
    messages, more = ([], None) if unknown else outbox.listing(
        status, before if before and 0 < before <= limits.MAX_ID else None)
    older = url_for("admin.outbox_page", **(request.args.to_dict() | {"before": more})) if more else None
    return render_template("admin/outbox.html", messages=messages, older=older, status=status, unknown=unknown,
                           counts=outbox.counts(), sending=outbox.sending(), now=now(),
                           statuses=list(OutboxStatus)), 400 if unknown else 200


@bp.get("/outbox/<int(max=2147483647):message_id>")
def outbox_message(message_id: int):
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return render_template("admin/outbox_message.html", message=message, preview=outbox.preview(message, now()),
                           sending=outbox.sending(), now=now())


@bp.post("/outbox/<int(max=2147483647):message_id>/send-again")
def send_again(message_id: int):
    db.get_or_404(OutboxMessage, message_id)
    refusal = outbox.send_again(message_id, now())
    if refusal is None:
        flash("The email is back in the queue: the sender takes it on its next pass.", "success")
    else:
        flash(refusal, "error")
    return redirect(url_for("admin.outbox_message", message_id=message_id), code=303)


@bp.route("/consent", methods=["GET", "POST"])
def consent_text():
    """The clinic's consent text: edit it (each change saves a new version) and list the versions."""
    texts = consent.editable_texts(load_clinic())
    form = consent_text_form(list(texts))(data={f"text_{language}": text for language, text in texts.items()})
    if form.validate_on_submit():
        try:
            version = consent.save_version({language: form[f"text_{language}"].data for language in texts},
                                           current_user.account, now())
        except InvalidInput as invalid:
            form.show_problems({f"text_{language}": message for language, message in invalid.problems.items()})
        else:
            flash(f"Saved as version {version.number}. Patients who sign from now on agree to it; earlier "
                  "signatures stay with the version they read." if version else
                  "Nothing was changed, so no new version was made.", "success")
            return redirect(url_for("admin.consent_text"), code=303)
    return render_template("admin/consent.html", form=form, languages=list(texts), versions=consent.versions(),
                           preview={language: consent.render(text) for language, text in texts.items()})


@bp.get("/consent/versions/<int(max=2147483647):version_id>")
def consent_version(version_id: int):
    """One saved version, as patients read it, in each language."""
    version = consent.find_version(version_id) or abort(404)
    return render_template("admin/consent_version.html", version=version,
                           texts={language: consent.render(text) for language, text in version.texts.items()})
