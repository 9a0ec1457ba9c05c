"""The waitlist's pages: join from the time list, the place's own page by its secret link (see,
change, leave), and an offer's page with its "Book it" button.

Unknown, tampered and ended links all get the same 404, as manage links do. No health data in a
URL: the safety answers travel only in the POSTed form.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from booking.clock import now
from booking.i18n import in_current_language, patient_language
from booking.operations import waitlist
from booking.operations.availability import bookable_services, load_clinic, load_practitioners
from booking.operations.bookings import EmergencyAnswers, PatientDetails
from booking.operations.catalogue import ANY_PRACTITIONER
from booking.operations.problems import CannotBook, InvalidInput
from booking.forms import NONE_OF_THESE, options
from booking.safety import URGENT
from booking.waitlist.forms import BookItForm, JoinForm, LeaveForm, WishesForm

bp = Blueprint("waitlist", __name__, url_prefix="/waitlist")


def _choices(form: WishesForm) -> None:
    """The visits and practitioners on offer, as the booking journey lists them."""
    services = bookable_services()
    form.service.choices = options((s.slug, in_current_language(s, "name")) for s in services)
    people = {}
    for service in services:
        for practitioner in load_practitioners(service, ANY_PRACTITIONER):
            people.setdefault(practitioner.slug, practitioner.name)
    form.practitioner.choices = options([(ANY_PRACTITIONER, _("Anyone")), *people.items()])


def _show_problems(form: WishesForm, problems: dict[str, str]) -> None:
    for name, message in problems.items():
        field = form[name] if name in form else form.service
        field.errors = [*field.errors, message]


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
    if form.validate_on_submit():
        patient = PatientDetails(form.name.data, form.email.data, form.phone.data, form.born_on)
        try:
            joined = waitlist.join(waitlist.JoinRequest(form.wishes(), patient, tuple(form.codes),
                                                        "online", patient_language()), now())
        except EmergencyAnswers:
            # The advice first, on this page, with everything typed kept below it: a box ticked by
            # mistake is changed here, not by starting again.
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


def _entry_or_404(token: str):
    entry = waitlist.opened_by(token)
    if entry is None:
        abort(404)
    return entry


@bp.route("/<token>", methods=["GET", "POST"])
def show(token: str):
    """The place's page: what it asks for, its open offers, and a form to change it."""
    entry = _entry_or_404(token)
    form = WishesForm(data={
        "service": entry.service.slug, "practitioner": entry.practitioner.slug if entry.practitioner else ANY_PRACTITIONER,
        "first_day": entry.first_day.isoformat(), "last_day": entry.last_day.isoformat(),
        "weekdays": [str(day) for day in entry.weekdays or ()], "parts_of_day": list(entry.parts_of_day or ())})
    _choices(form)
    if form.validate_on_submit():
        try:
            waitlist.change(entry.id, form.wishes(), now())
        except InvalidInput as invalid:
            _show_problems(form, invalid.problems)
        except CannotBook as problem:
            _show_problems(form, {problem.field: problem.message})
        else:
            flash(_("Your place on the waitlist is changed."), "success")
            return redirect(url_for("waitlist.show", token=token), code=303)
    return render_template("waitlist/show.html", entry=entry, token=token, form=form, leave_form=LeaveForm(),
                           offers=waitlist.open_offers_of(entry, now()),
                           urgent=[URGENT[code] for code in entry.safety_answers or () if code in URGENT],
                           site=current_app.config["BASE_URL"])


@bp.post("/<token>/leave")
def leave(token: str):
    entry = _entry_or_404(token)
    if LeaveForm().validate_on_submit():
        try:
            waitlist.leave(entry.id, now())
        except waitlist.OfferGone:
            pass  # a second press: the place has already gone
        return redirect(url_for("waitlist.left"), code=303)
    flash(_("This page was open too long or was sent twice. Press the button again."), "lost-race")
    return redirect(url_for("waitlist.show", token=token), code=303)


@bp.get("/left")
def left():
    """Said after leaving: the link opens nothing now, so this page needs none."""
    return render_template("waitlist/left.html")


@bp.route("/<token>/offers/<int(max=2147483647):offer_id>", methods=["GET", "POST"])
def offer(token: str, offer_id: int):
    """An offered time with its "Book it" button; a time someone else booked first is said kindly."""
    entry = _entry_or_404(token)
    offered = waitlist.open_offer(entry, offer_id)
    if offered is None:
        abort(404)
    form = BookItForm()
    problem = None
    if form.validate_on_submit():
        try:
            booked = waitlist.confirm(entry.id, offered.id, now())
        except waitlist.OfferGone as gone:
            problem = gone.message
        except CannotBook as refused:
            problem = refused.message
        else:
            flash(_("Your visit is booked. We have emailed you the details."), "success")
            return redirect(url_for("manage.show", token=booked.manage_token), code=303)
    available = problem is None and waitlist.still_open(offered, now())
    if problem is None and not available:
        problem = waitlist.gone_message()
    return render_template("waitlist/offer.html", entry=entry, token=token, offer=offered, form=form,
                           problem=problem, available=available), 200 if available else 409
