"""The waitlist's pages: join from the time list, the place's own page by its secret link (see,
change, leave), and an offer's page with its "Book it" button.

Unknown and tampered links get the same 404, as manage links do. A link to a place that has ended
(booked from an offer, left, or its dates over) says what happened, as the manage link does for a
cancelled visit, until the place itself is removed (retention). No health data in a URL: the
safety answers travel only in the POSTed form.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from booking.clock import now
from booking.i18n import in_current_language, patient_language, speak_the_language_of
from booking.operations import waitlist
from booking.operations.availability import bookable_services, load_clinic, load_practitioners
from booking.operations.bookings import EmergencyAnswers, PatientBusy, PatientDetails
from booking.operations.catalogue import ANY_PRACTITIONER
from booking.operations.problems import CannotBook, InvalidInput
from booking.forms import NONE_OF_THESE, options
from booking.models import WaitlistState
from booking.public.routes import current_draft
from booking.safety import URGENT, has_emergency_answer
from booking.waitlist.forms import BookItForm, JoinForm, LeaveForm, WishesForm

bp = Blueprint("waitlist", __name__, url_prefix="/waitlist")


def _choices(form: WishesForm) -> None:
    """The visits and practitioners on offer, as the booking journey lists them (people in its order)."""
    services = bookable_services()
    form.service.choices = options((s.slug, in_current_language(s, "name")) for s in services)
    people = {}
    for service in services:
        for practitioner in load_practitioners(service, ANY_PRACTITIONER):
            people.setdefault(practitioner.slug, practitioner.name)
    form.practitioner.choices = options([(ANY_PRACTITIONER, _("Anyone")), *sorted(people.items())])


def _show_problems(form: WishesForm, problems: dict[str, str]) -> None:
    """Each problem beside its field; a field that already shows one keeps just that."""
    for name, message in problems.items():
        field = form[name] if name in form else form.service
        if message not in field.errors and not (field.errors and name in form):
            field.errors = [*field.errors, message]


def checked_at_once(form: WishesForm, *, joined_via: str = "online", with_patient: bool = True) -> bool:
    """Check the form and what the operation would refuse in what could be read of it, so every
    problem is named in one round; True when there is none."""
    valid = form.validate()

    def readable(name: str, value):
        return None if form[name].errors else value

    patient = None
    if with_patient and not any(form[name].errors for name in ("email", "birth_day")) and form.born_on:
        patient = PatientDetails(form.name.data, form.email.data, form.phone.data, form.born_on)
    problems = waitlist.problems_before_joining(
        readable("service", form.service.data), readable("practitioner", form.practitioner.data),
        readable("first_day", getattr(form, "first", None)), readable("last_day", getattr(form, "last", None)),
        now(), patient, joined_via,
        None if form.weekdays.errors else tuple(int(day) for day in form.weekdays.data or ()),
        readable("parts_of_day", tuple(form.parts_of_day.data or ())))
    _show_problems(form, problems)
    return valid and not problems


def emergency_ticked(form: WishesForm) -> bool:
    """Whether an emergency answer is ticked, whatever else is wrong with the form: its advice is
    given at once, not after a date or a name is put right (a hands-on trial found it held back)."""
    return has_emergency_answer(form.symptoms.data or [])


@bp.route("/join", methods=["GET", "POST"])
def join():
    """Join the waitlist: what you would take, the safety check and your details, on one page."""
    clinic = load_clinic()
    today = clinic.today(now())
    form = JoinForm(data={"service": request.args.get("service"),
                          "practitioner": request.args.get("practitioner") or ANY_PRACTITIONER,
                          "first_day": today.isoformat()},
                    today=today, locale=str(get_locale()))
    _choices(form)
    if form.is_submitted() and (checked_at_once(form) or emergency_ticked(form)):
        patient = PatientDetails(form.name.data, form.email.data, form.phone.data, form.born_on)
        try:
            if emergency_ticked(form):
                raise EmergencyAnswers()
            joined = waitlist.join(waitlist.JoinRequest(form.wishes(), patient, tuple(form.codes),
                                                        "online", patient_language()), now())
        except waitlist.AlreadyWaiting:
            return redirect(url_for("waitlist.already"), code=303)
        except EmergencyAnswers:
            # The advice first, on this page, with everything typed kept below it (and what else is
            # wrong with it): a box ticked by mistake is changed here, not by starting again.
            return render_template("waitlist/join.html", form=form, none_of_these=NONE_OF_THESE,
                                   emergency=True, clinic=clinic), 422
        except InvalidInput as invalid:
            _show_problems(form, invalid.problems)
        except CannotBook as problem:
            _show_problems(form, {problem.field: problem.message})
        else:
            flash(_("You are on the waitlist. We have emailed you this page's link: keep it to see, change or "
                    "leave your place."), "success")
            return redirect(url_for("waitlist.show", token=joined.token), code=303)
    return render_template("waitlist/join.html", form=form, none_of_these=NONE_OF_THESE, emergency=False)


@bp.get("/already")
def already():
    """Said to someone who joined again for a visit they already wait for: the link went by email."""
    return render_template("waitlist/already.html")


def _place_or_404(token: str):
    """The place the link opens, whatever its state; 404 for a link that opens nothing. Its pages
    speak the place's language, as a visit's pages speak the visit's (manage_link)."""
    entry = waitlist.place_by_link(token)
    if entry is None:
        abort(404)
    speak_the_language_of(entry, lambda chosen: waitlist.set_language(entry.id, chosen))
    return entry


def _ended(entry, token: str):
    """What happened to a place that is no longer on the list: booked, left, or its dates over."""
    return render_template("waitlist/ended.html", entry=entry, token=token, form=LeaveForm(),
                           visit=waitlist.visit_ahead(entry, now()))


@bp.route("/<token>", methods=["GET", "POST"])
def show(token: str):
    """The place's page: what it asks for, its open offers, and a form to change it."""
    entry = _place_or_404(token)
    if entry.state is not WaitlistState.WAITING:
        return _ended(entry, token)
    form = WishesForm(data={
        "service": entry.service.slug, "practitioner": entry.practitioner.slug if entry.practitioner else ANY_PRACTITIONER,
        "first_day": entry.first_day.isoformat(), "last_day": entry.last_day.isoformat(),
        "weekdays": [str(day) for day in entry.weekdays or ()], "parts_of_day": list(entry.parts_of_day or ())})
    _choices(form)
    if form.is_submitted() and checked_at_once(form, with_patient=False):
        try:
            waitlist.change(entry.id, form.wishes(), now())
        except InvalidInput as invalid:
            _show_problems(form, invalid.problems)
        except CannotBook as problem:
            _show_problems(form, {problem.field: problem.message})
        else:
            flash(_("Your place on the waitlist is changed."), "success")
            return redirect(url_for("waitlist.show", token=token), code=303)
    return render_template("waitlist/show.html", entry=entry, token=token, form=form,
                           offers=waitlist.open_offers_of(entry, now()), free_now=waitlist.free_now(entry, now()),
                           unworked=waitlist.unworked_notice(entry, load_clinic().today(now())),
                           time_list=_time_list(entry),
                           urgent=[URGENT[code] for code in entry.safety_answers or () if code in URGENT],
                           site=current_app.config["BASE_URL"])


def _time_list(entry) -> str:
    """Back to the time list when this browser's booking is for the same visit; else the
    booking's first question (a link opened from an email has no booking in progress)."""
    draft = current_draft()
    if draft is not None and draft.appointment_id is None and draft.service_id == entry.service_id:
        return url_for("public.choose_time")
    return url_for("public.first_visit")


@bp.route("/<token>/leave", methods=["GET", "POST"])
def leave(token: str):
    """Leaving asks first, on a page of its own (no JavaScript needed): it cannot be undone."""
    entry = _place_or_404(token)
    if entry.state is not WaitlistState.WAITING:
        return _ended(entry, token)
    form = LeaveForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                waitlist.leave(entry.id, now())
            except waitlist.OfferGone:
                pass  # a second press: the place has already gone
            return redirect(url_for("waitlist.left", token=token), code=303)
        flash(_("This page was open too long or was sent twice. Press the button again."), "lost-race")
        return redirect(url_for("waitlist.leave", token=token), code=303)
    return render_template("waitlist/leave.html", entry=entry, token=token, form=form,
                           offers=waitlist.open_offers_of(entry, now()))


@bp.post("/<token>/visit")
def visit(token: str):
    """Open the visit booked from this place: a new link to it is made, as an email would carry."""
    entry = _place_or_404(token)
    if not LeaveForm().validate_on_submit():
        flash(_("This page was open too long or was sent twice. Press the button again."), "lost-race")
        return redirect(url_for("waitlist.show", token=token), code=303)
    link = waitlist.manage_link_for(entry.id, now())
    if link is None:
        return redirect(url_for("waitlist.show", token=token), code=303)
    return redirect(url_for("manage.show", token=link), code=303)


@bp.get("/<token>/left")
def left(token: str):
    """Said after leaving, in the place's language (the link still opens the place, to say it was left)."""
    entry = _place_or_404(token)
    if entry.state is not WaitlistState.LEFT:
        return redirect(url_for("waitlist.show", token=token))
    return render_template("waitlist/left.html")


@bp.post("/<token>/offers/<int(max=2147483647):offer_id>/decline")
def decline_offer(token: str, offer_id: int):
    """"No thanks": the offered time goes to the next people now, not when the offer runs out (a
    trial found no way to say no but to wait); the place stays on the list."""
    entry = _place_or_404(token)
    if waitlist.open_offer(entry, offer_id) is None:
        abort(404)
    if not BookItForm().validate_on_submit():
        return redirect(url_for("waitlist.offer", token=token, offer_id=offer_id), code=303)
    try:
        declined = waitlist.decline(entry.id, offer_id, now())
    except waitlist.OfferGone:
        return _ended(entry, token)
    if not declined:  # booked, gone or run out meanwhile: its page says which
        return redirect(url_for("waitlist.offer", token=token, offer_id=offer_id), code=303)
    flash(_("You said no to that time, so it goes to the next person. You stay on the waitlist."), "success")
    return redirect(url_for("waitlist.show", token=token), code=303)


@bp.route("/<token>/offers/<int(max=2147483647):offer_id>", methods=["GET", "POST"])
def offer(token: str, offer_id: int):
    """An offered time with its "Book it" button; a time someone else booked first is said kindly."""
    entry = _place_or_404(token)
    offered = waitlist.open_offer(entry, offer_id)
    if offered is None:
        abort(404)
    if entry.state is not WaitlistState.WAITING:
        return _ended(entry, token)
    form = BookItForm()
    problem, problem_title = None, _("This time has gone")
    if form.validate_on_submit():
        try:
            booked = waitlist.confirm(entry.id, offered.id, now())
        except waitlist.OfferGone as gone:
            problem = gone.message
        except PatientBusy as busy:  # the time is still theirs to take, once that visit is moved
            problem, problem_title = busy.message, _("You already have a visit at that time")
        except CannotBook as refused:
            problem = refused.message
        else:
            flash(_("Your visit is booked. We have emailed you the details."), "success")
            return redirect(url_for("manage.show", token=booked.manage_token), code=303)
    available = problem is None and waitlist.still_open(offered, now())
    if problem is None and not available:
        problem = waitlist.gone_message(offered)
    return render_template("waitlist/offer.html", entry=entry, token=token, offer=offered, form=form,
                           problem=problem, problem_title=problem_title, available=available), \
        200 if available else 409
