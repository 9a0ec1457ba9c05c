"""The back-pain questions, reached from the patient's manage link: six short steps, check, send.

Answers are saved on the server after each step, so the patient can stop and come back
from the same link. Once sent, the answers are not shown through the link again.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking.clock import now
from booking.manage_link import with_appointment
from booking.measures.intake import FLAG_STEPS, most_serious, red_flags
from booking.models import AppointmentStatus
from booking.operations import intakes
from booking.operations.availability import load_clinic
from booking.operations.problems import VisitCancelled
from booking.forms import ConfirmForm
from booking.questionnaire import (STEPS, EpisodeForm, answered_sections, example_date, form_data, page_language,
                                   screening_form)
from booking.safety import care_card_context

bp = Blueprint("intake", __name__, url_prefix="/manage/<token>/intake")


def instruments():
    return current_app.extensions["instruments"]


def screening():
    """The licensed STarT Back screen in the page's language where its file gives one (a licence
    may allow a translation, and only the owner's may be used), else in its English."""
    screen = instruments().get("start_back")
    return screen.worded(page_language()) if screen is not None else None


def steps_for(clinic) -> list[tuple]:
    """The steps this clinic asks: the STarT Back screen is added only when switched on and licensed."""
    screen = screening()
    if clinic.start_back_enabled and screen is not None:
        return STEPS + [("screening", screen.title, screening_form(screen))]
    return STEPS


def step_names(clinic) -> list[str]:
    return [name for name, _, _ in steps_for(clinic)]


def first_unanswered(appointment) -> str | None:
    answered = appointment.intake.answers if appointment.intake else {}
    return next((name for name in step_names(load_clinic()) if name not in answered), None)


def open_intake(view):
    """The patient's own, still-open intake: a cancelled visit has none; a sent one is final."""

    @wraps(view)
    @with_appointment
    def wrapper(appointment, token, **kwargs):
        if appointment.status is AppointmentStatus.CANCELLED:
            if request.method == "POST":  # a page typed while the desk cancelled: say why nothing was kept
                raise VisitCancelled()
            abort(404)
        if (appointment.intake is not None and appointment.intake.is_sent) or appointment.progress_check is not None:
            status = 409 if request.method == "POST" else 200
            return render_template("intake/sent.html", appointment=appointment, token=token, again=True), status
        return view(appointment, token, **kwargs)

    return wrapper


@bp.get("")
@open_intake
def start(appointment, token):
    return render_template("intake/start.html", appointment=appointment, token=token,
                           next_step=first_unanswered(appointment), steps=len(steps_for(load_clinic())))


@bp.route("/<step>", methods=["GET", "POST"])
@open_intake
def question(appointment, token, step):
    clinic = load_clinic()
    steps = steps_for(clinic)
    names = [name for name, _, _ in steps]
    if step not in names:
        abort(404)
    missing = first_unanswered(appointment)
    if missing is not None and names.index(missing) < names.index(step):
        if request.method == "POST":
            flash(_("Please answer these questions first: your answers to the later page were not saved."), "lost-race")
        return redirect(url_for("intake.question", token=token, step=missing), code=303)
    number = names.index(step)
    _step, heading, form_class = steps[number]
    saved = appointment.intake.answers.get(step) if appointment.intake else None
    extra = ({"today": clinic.today(now()), "born_on": appointment.patient.born_on}
             if form_class is EpisodeForm else {})
    form = form_class(data=form_data(step, saved), **extra)
    # "Save and stop for now" sends the page as Continue does: it was a link, and what was typed
    # on the page was lost though it said "your answers so far are saved" (a hands-on trial).
    stopping = request.method == "POST" and "stop" in request.form
    if form.validate_on_submit():
        if intakes.save_step(appointment, step, form.answers(), now()):  # this page points to a doctor: say so first
            return _care_card(appointment, token, changed_on=step)
        if stopping:
            return _stopped(token)
        following = first_unanswered(appointment)
        if following is None:
            return redirect(url_for("intake.check", token=token), code=303)
        return redirect(url_for("intake.question", token=token, step=following), code=303)
    if missing is None:  # came here with a Change link: back to the answers
        back = url_for("intake.check", token=token)
    elif number:
        back = url_for("intake.question", token=token, step=names[number - 1])
    else:
        back = url_for("intake.start", token=token)
    if stopping and not _typed_anything():  # a page left blank: nothing of it to keep
        return _stopped(token)
    return render_template(f"intake/{step}.html", form=form, appointment=appointment, token=token,
                           heading=heading, number=number + 1, steps=len(steps), back=back, stopping=stopping,
                           instrument=screening() if step == "screening" else None,
                           instrument_in_english=step == "screening" and not instruments()["start_back"].speaks(page_language()),
                           example=example_date(clinic.today(now())))


def _typed_anything() -> bool:
    return any(value.strip() for name, values in request.form.lists() if name not in ("csrf_token", "stop")
               for value in values)


def _stopped(token: str):
    flash(_("Your answers so far are saved. Come back to finish them with the link in your email."), "success")
    return redirect(url_for("manage.show", token=token), code=303)


@bp.get("/get-help")
@open_intake
def get_help(appointment, token):
    """The care card again, for every red flag the answers so far raise (clinical brief, section 1)."""
    return _care_card(appointment, token, changed_on=None)


def _care_card(appointment, token, changed_on: str | None):
    """Answers that need a doctor: the care card for all of them, most severe first, before the
    next question (the visit is already flagged for the clinic). Shown straight after the page
    whose answer raised it (`changed_on`), so "change it" goes back to that page."""
    answers = appointment.intake.answers if appointment.intake else {}
    flags = red_flags(answers)
    following = first_unanswered(appointment)
    next_url = (url_for("intake.question", token=token, step=following) if following
                else url_for("intake.check", token=token))
    if not flags:  # the answer was changed since: nothing to warn about
        return redirect(next_url)
    change_url = url_for("intake.question", token=token, step=changed_on or FLAG_STEPS[most_serious(flags)])
    return render_template("intake/get_help.html", appointment=appointment, token=token, next_url=next_url,
                           change_url=change_url, **care_card_context(flags))


@bp.route("/check", methods=["GET", "POST"])
@open_intake
def check(appointment, token):
    missing = first_unanswered(appointment)
    if missing is not None:
        return redirect(url_for("intake.question", token=token, step=missing), code=303)
    clinic = load_clinic()
    form = ConfirmForm()
    if form.validate_on_submit():
        intakes.send(appointment, step_names(clinic), now(), clinic.today(now()), instruments())
        return redirect(url_for("intake.sent", token=token), code=303)
    sections = answered_sections(appointment.intake.answers, screening())
    return render_template("intake/check.html", form=form, appointment=appointment, token=token, sections=sections)


@bp.get("/sent")
@with_appointment
def sent(appointment, token):
    if appointment.intake is None or not appointment.intake.is_sent:
        return redirect(url_for("intake.start", token=token))
    intake = appointment.intake
    return render_template("intake/sent.html", appointment=appointment, token=token, again=False,
                           **care_card_context([*(intake.emergency_flags or []), *(intake.urgent_flags or [])]))
