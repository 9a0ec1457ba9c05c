"""Manage-my-booking: the patient's secret link to see, cancel, move or add their visit to a calendar.

Unknown, tampered and expired links all get the same 404, so none tells anything. A link
expires when its visit ends, with one exception: for a year after a visit that took place,
the link still opens its page, read-only, and the receipt for the patient's insurer
(the superbill), which exists only once the visit is over.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from booking.clock import now
from booking.formatting import clinic_time
from booking.forms import SafetyForm
from booking.manage.forms import CancelForm, ConsentForm, RescheduleForm
from booking.manage_link import opened_by, speak_its_language, still_opens, with_appointment
from booking.models import Appointment, AppointmentStatus, IntakeStatus
from booking.notify.calendar import appointment_calendar
from booking.operations import consent, notes, progress_checks, safety_signals
from booking.operations.availability import is_free, load_clinic, load_practitioners, movable_online
from booking.operations.bookings import (PatientBusy, SlotTaken, VisitChanged, cancel, clashes_with_other_visits, move,
                                        never_on_offer)
from booking.questionnaire import progress_form
from booking.operations.problems import RequestProblem
from booking.safety import care_card_context
from booking.time_list import parse_instant, time_list_context

bp = Blueprint("manage", __name__, url_prefix="/manage/<token>")


def changeable(view):
    """Cancelling and moving online end at the clinic's notice window; after that, phone."""

    @wraps(view)
    def wrapper(appointment: Appointment, token: str, **kwargs):
        if not appointment.can_change_online(now(), load_clinic().cancellation_notice_hours):
            return render_template("manage/too_late.html", appointment=appointment, token=token), 409
        return view(appointment, token, **kwargs)

    return wrapper


def movable(view):
    """Choosing a new time online needs the clinic to still book this service with this
    practitioner online; a visit kept after either was taken off is moved by phone."""

    @wraps(view)
    def wrapper(appointment: Appointment, token: str, **kwargs):
        if not movable_online(appointment):
            return render_template("manage/move_by_phone.html", appointment=appointment, token=token), 409
        return view(appointment, token, **kwargs)

    return wrapper


# How long after a visit its link still opens its page and its receipt: a claim is usually
# filed within a year of the date of service (Medicare's limit is twelve months).
RECEIPT_OPEN_FOR = timedelta(days=365)
HELD = (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED)  # the visit took place


def with_visit_after(view):
    """Like `with_appointment`, and after the visit ends too, for a year, if the visit took
    place: the pages that stay open then (the link's page and the receipt) change nothing."""

    @wraps(view)
    def wrapper(token: str, **kwargs):
        appointment = opened_by(token)
        if appointment is None:
            abort(404)
        if appointment.ends_at <= now() and (appointment.status not in HELD
                                             or appointment.ends_at + RECEIPT_OPEN_FOR <= now()):
            abort(404)
        speak_its_language(appointment)
        return view(appointment, token, **kwargs)

    return wrapper


@bp.get("")
@with_visit_after
def show(appointment, token):
    clinic = load_clinic()
    over = appointment.ends_at <= now()
    return render_template(
        "manage/show.html",
        appointment=appointment,
        token=token,
        over=over,
        receipt_ready=over and notes.superbill(appointment, now()) is not None,
        can_change=appointment.can_change_online(now(), clinic.cancellation_notice_hours),
        can_move=movable_online(appointment),
        deadline=appointment.change_deadline(clinic.cancellation_notice_hours),
        recheck_open=safety_signals.may_recheck(appointment, now()),
        **_progress_context(appointment),
    )


@bp.get("/receipt")
@with_visit_after
def receipt(appointment, token):
    """The receipt for the patient's insurer (superbill): the codes of the visit's signed note,
    once the visit is over; until then a page saying when it will be here. Never for a cancelled
    or missed visit."""
    if appointment.status not in (AppointmentStatus.BOOKED, *HELD):
        abort(404)
    return render_template("manage/receipt.html", appointment=appointment, token=token,
                           bill=notes.superbill(appointment, now()), patient=appointment.patient)


def _progress_context(appointment) -> dict:
    """Whether this visit asks the progress check instead of the intake, and from when."""
    baseline = progress_checks.baseline_for(appointment)
    asks = progress_checks.asks_progress_check(appointment, baseline)
    opens = progress_checks.opens_at(appointment) if asks else None
    return {"progress_check": asks, "progress_opens": opens if opens and opens > now() else None}


@bp.route("/cancel", methods=["GET", "POST"])
@with_appointment
@changeable
def cancel_visit(appointment, token):
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancel(appointment.id, form.reason.data, now(), seen=form.seen_version(appointment.sequence))
        except VisitChanged as problem:  # a second press, or the clinic changed the visit meanwhile
            return _changed_meanwhile(appointment, token, problem)
        else:
            flash(_("Your appointment has been cancelled."), "success")
        return redirect(url_for("manage.show", token=token), code=303)
    return render_template("manage/cancel.html", appointment=appointment, token=token, form=form)


@bp.route("/reschedule", methods=["GET", "POST"])
@with_appointment
@changeable
@movable
def reschedule(appointment, token):
    """Choose a new time with the same practitioner (the patient's own time counts as free)."""
    clinic = load_clinic()
    practitioners = load_practitioners(appointment.service, appointment.practitioner.slug)
    form = RescheduleForm()
    if form.validate_on_submit():
        start = parse_instant(form.start.data)
        if start is not None and start != appointment.starts_at:
            return redirect(url_for("manage.confirm_move", token=token, start=start.isoformat()), code=303)
        form.start.errors.append(_("Choose a new time from the list."))
    return render_template(
        "manage/reschedule.html",
        appointment=appointment,
        token=token,
        form=form,
        action=url_for("manage.reschedule", token=token),
        **time_list_context(clinic, appointment.service, practitioners, ignoring=appointment.id,
                            leave_out=_not_to_move_to(appointment, clinic)),
    )


def _not_to_move_to(appointment, clinic):
    """The starts a visit's time list leaves out: its own, and those when the patient has another
    visit (the move would refuse them; the list offered them)."""
    moment = now()
    clash = clashes_with_other_visits(appointment, moment, moment + timedelta(days=clinic.max_advance_days + 2))
    return lambda start: start == appointment.starts_at or clash(start)


@bp.route("/reschedule/confirm", methods=["GET", "POST"])
@with_appointment
@changeable
@movable
def confirm_move(appointment, token):
    """Old time to new time, one button; the move happens only here."""
    start = parse_instant(request.values.get("start"))
    practitioners = load_practitioners(appointment.service, appointment.practitioner.slug)
    if start == appointment.starts_at:
        flash(_("That is the time you have now. Choose a different time, or go back to keep it."), "lost-race")
        return redirect(url_for("manage.reschedule", token=token), code=303)
    clinic = load_clinic()
    if start is None or not is_free(clinic, appointment.service, practitioners, start, now(), ignoring=appointment.id):
        # Pressed on the confirm page, which showed the time free: if only a visit stands in its way
        # now, someone booked it meanwhile. Opened so (a link kept, a time typed), it just is not free.
        taken = (request.method == "POST" and start is not None and
                 never_on_offer(clinic, appointment.service, practitioners, start, now()) is None)
        return _time_gone(token, start, clinic, taken=taken)
    form = RescheduleForm(data={"start": start.isoformat()})
    if form.validate_on_submit():
        try:
            result = move(appointment.id, start, now(), seen=form.seen_version(appointment.sequence))
        except VisitChanged as problem:  # cancelled, marked or moved meanwhile (another tab, or the clinic)
            return _changed_meanwhile(appointment, token, problem)
        except PatientBusy as busy:  # the time is free, but they have another visit then
            flash(busy.message, "lost-race")
            return _times_around(token, start, clinic)
        except SlotTaken:  # someone else got it between this page and the press
            return _time_gone(token, start, clinic, taken=True)
        except RequestProblem:  # it stopped being on offer a moment ago (hours, notice)
            return _time_gone(token, start, clinic, taken=False)
        flash(_("Your appointment has been moved. This page has a new address: bookmark it, the old link "
                "no longer works."), "success")
        return redirect(url_for("manage.show", token=result.manage_token), code=303)
    return render_template("manage/confirm_move.html", appointment=appointment, token=token, form=form, start=start)


def _time_gone(token: str, start, clinic, *, taken: bool):
    """Back to the times, on the week of the one chosen, naming it: the message said only "That
    time is not free" and the list went back to this week (a hands-on trial). Someone else is
    named only when they were: a time never on offer (an address typed or kept) just is not free."""
    if start is None:
        flash(_("That time is not free. Your visit is unchanged: choose another time."), "lost-race")
        return redirect(url_for("manage.reschedule", token=token), code=303)
    when = clinic_time(start, clinic, get_locale())
    flash(_("Sorry, %(time)s was booked by someone else a moment ago. Your visit is unchanged: choose another "
            "time.", time=when) if taken else
          _("Sorry, %(time)s is not free. Your visit is unchanged: choose another time.", time=when), "lost-race")
    return _times_around(token, start, clinic)


def _times_around(token: str, start, clinic):
    """Back to the free times, on the week of the one chosen (it went back to this week)."""
    return redirect(url_for("manage.reschedule", token=token,
                            **{"from": start.astimezone(clinic.zone).date().isoformat()}), code=303)


def _changed_meanwhile(appointment, token: str, problem: VisitChanged):
    """The visit changed while this page was open. If this link still opens it, show it with
    what happened; a move from another tab replaced the link, so say where the new one is."""
    if still_opens(token, appointment.id):
        flash(problem.message, "lost-race")
        return redirect(url_for("manage.show", token=token), code=303)
    return render_template("manage/changed_elsewhere.html"), 409


@bp.get("/calendar.ics")
@with_appointment
def calendar(appointment, token):
    """The visit as an iCalendar file, for "Add to calendar"."""
    clinic = load_clinic()
    body = appointment_calendar(appointment, clinic, stamped_at=now())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.reference}.ics"'},
    )


def no_visit_ahead() -> str:
    return _("There is no visit ahead on this booking to check the safety questions for.")


@bp.route("/safety-check", methods=["GET", "POST"])
@with_appointment
def recheck(appointment, token):
    """The safety questions again, for anything that has changed since booking: an answer that
    needs a doctor flags the visit and tells the clinic at once."""
    if not safety_signals.may_recheck(appointment, now()):
        flash(no_visit_ahead(), "lost-race")
        return redirect(url_for("manage.show", token=token), code=303)
    form = SafetyForm()
    if form.validate_on_submit():
        try:
            levels = safety_signals.recheck(appointment, form.codes, now())
        except safety_signals.RecheckClosed:
            flash(no_visit_ahead(), "lost-race")
            return redirect(url_for("manage.show", token=token), code=303)
        if levels:
            return redirect(url_for("manage.recheck_result", token=token), code=303)
        if appointment.alert_level:  # an earlier answer still stands: do not promise all is well
            flash(_("Thank you. Nothing on the list applies to you now. Because of something you told us "
                    "earlier, the clinic may contact you before your visit."), "success")
        else:
            flash(_("Thank you. Nothing on the list applies to you, so your visit goes ahead as booked."), "success")
        return redirect(url_for("manage.show", token=token), code=303)
    return render_template("manage/recheck.html", appointment=appointment, token=token, form=form)


@bp.get("/safety-check/result")
@with_appointment
def recheck_result(appointment, token):
    """The care card for the answers just given (read back from the visit, so a reload is safe)."""
    advice = care_card_context(appointment.safety_answers or [])
    if not (advice["emergency_answers"] or advice["urgent_answers"]):
        return redirect(url_for("manage.show", token=token), code=303)
    return render_template("manage/recheck_result.html", appointment=appointment, token=token, **advice)


@bp.route("/progress", methods=["GET", "POST"])
@with_appointment
def progress(appointment, token):
    """Before a return visit: pain now and the patient's own activities, rated again (one page)."""
    if appointment.progress_check is not None:
        return render_template("manage/progress_sent.html", appointment=appointment, token=token,
                               **care_card_context(appointment.progress_check.safety_codes or []))
    baseline = progress_checks.baseline_for(appointment)
    closed = progress_checks.closed_because(appointment, baseline, now())
    if closed:
        return render_template("manage/progress_closed.html", appointment=appointment, token=token, reason=closed,
                               posted=request.method == "POST"), 409
    activities = progress_checks.activities_of(baseline)
    form = progress_form(activities)()
    if form.validate_on_submit():
        try:
            progress_checks.send(appointment.id, progress_checks.ProgressAnswers(
                pain=form.pain(), ratings=form.ratings(), after_effects=form.effects(),
                after_effects_other=form.after_effects_other.data, safety=form.codes,
            ), now(), current_app.extensions["instruments"])
        except progress_checks.ProgressCheckClosed as refused:
            return render_template("manage/progress_closed.html", appointment=appointment, token=token,
                                   reason=refused.message, posted=True), 409
        return redirect(url_for("manage.progress", token=token), code=303)
    return render_template("manage/progress.html", appointment=appointment, token=token, form=form,
                           activities=activities, baseline=baseline)


@bp.route("/consent", methods=["GET", "POST"])
@with_appointment
def consent_form(appointment, token):
    """The consent text in the patient's language with what they told us, signed by typing their name."""
    record = consent.covering(appointment)
    shown = consent.text_to_show(appointment.language)
    form = ConsentForm()
    if record is None and form.validate_on_submit():
        try:
            consent.sign_online(appointment, form.signed_name.data, form.version.data or "", now())
        except consent.ConsentProblem as problem:
            form.signed_name.errors.append(problem.message)
            shown = consent.text_to_show(appointment.language)  # a text updated meanwhile is shown anew
        else:
            flash(_("Thank you. Your consent to treatment is saved."), "success")
            return redirect(url_for("manage.consent_form", token=token), code=303)
    elif record is not None and request.method == "POST":  # signed already (another tab, a second press)
        return redirect(url_for("manage.consent_form", token=token), code=303)
    if record is not None:
        language, text = consent.text_in(record.version.texts, record.language)
        shown = consent.ShownText(record.version_id, language, consent.render(text))
    form.version.data = shown.version_key
    # Once the intake is sent its answers are not shown again through the link (design.md): the
    # list of what the patient told us is shown only while they could still read it here anyway.
    answers_sent = appointment.intake_status is IntakeStatus.SENT
    return render_template("manage/consent.html", appointment=appointment, token=token, form=form, record=record,
                           shown=shown, answers_sent=answers_sent,
                           told_us=None if answers_sent else consent.reported_precautions(appointment),
                           booked_name=consent.booked_names(appointment)[-1])


@bp.app_template_global()
def consent_needed(appointment) -> bool:
    """For the patient's pages: whether to ask for their consent (one query per visit and page)."""
    return consent.needs_consent(appointment)
