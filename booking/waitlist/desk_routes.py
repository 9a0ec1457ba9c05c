"""The desk's waitlist: who would take a free time on a day, a caller added, a time offered to one
person directly. Staff pages: English; receptionists see the flag, never the safety answers."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from booking.clock import now
from booking.formatting import listed
from booking.desk.forms import for_the_desk
from booking.forms import CheckboxChoices, Choice, SAFETY_CHOICES
from booking.models import Practitioner, StaffRole
from booking.operations import waitlist
from booking.operations.availability import load_clinic
from booking.operations.bookings import EmergencyAnswers, PatientDetails, describe
from booking.operations.history import staff_actor
from booking.operations.problems import CannotBook, InvalidInput
from booking.extensions import db
from booking.safety import same_day_doctor
from booking.staff_access import staff_only
from booking.time_list import parse_instant
from booking.waitlist.forms import PART_CHOICES, WEEKDAY_CHOICES, BookItForm, JoinForm
from booking.waitlist.routes import _choices, _show_problems, checked_at_once, emergency_ticked
from booking.web import asked_day

bp = Blueprint("desk_waitlist", __name__, url_prefix="/desk/waitlist")
DESK = (StaffRole.ADMIN, StaffRole.RECEPTIONIST)


class CallerWaitlistForm(JoinForm):
    """A caller put on the waitlist by the desk: the same questions, asked on the phone, in words
    that speak to the receptionist about the caller."""

    service = Choice("What kind of visit do they need?", message="Select the kind of visit they need")
    practitioner = Choice("Who would they like to see?", message="Select a practitioner, or anyone")
    weekdays = CheckboxChoices("Which days suit them? (optional)", choices=WEEKDAY_CHOICES)
    parts_of_day = CheckboxChoices("Which times of day suit them? (optional)", choices=PART_CHOICES)
    symptoms = CheckboxChoices("Ask the caller: do any of these apply to them now?", choices=SAFETY_CHOICES)
    nothing_selected = "Ask the caller each question, then select any that apply, or 'None of these'"
    none_and_others = "Select 'None of these' only if nothing in the list applies to the caller"

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self:
            field.errors = [for_the_desk(message) for message in field.errors]
        return valid


@bp.get("")
@staff_only(*DESK)
def day():
    """The waitlist for one day, beside the calendar: who would take which free time."""
    chosen = asked_day(request.args.get("date"))
    waiting = waitlist.for_day(chosen, now())
    offered = waitlist.open_offers_of_places([place.entry.id for place in waiting], now())
    # A time already offered to the person is shown as their offer, with no button to offer it again.
    offerable = {place.entry.id: [freed for freed in place.would_take if not any(
        offer.starts_at == freed.start and offer.practitioner_id == freed.practitioner_id
        for offer in offered[place.entry.id])] for place in waiting}
    return render_template("waitlist/desk_day.html", day=chosen, waiting=waiting, offered=offered,
                           offerable=offerable, form=BookItForm(),
                           names={p.id: p.name for p in db.session.scalars(db.select(Practitioner))})


def _offered(offer) -> str:
    """'Mar 10, 2027, 10:00 AM with Ben Test': an offer as the desk's messages name it."""
    return describe(load_clinic(), db.session.get(Practitioner, offer.practitioner_id), offer.starts_at)


@bp.post("/<int(max=2147483647):entry_id>/offer")
@staff_only(*DESK)
def offer(entry_id: int):
    """Offer one free time to one person on the list; they are emailed as for any offer."""
    start = parse_instant(request.form.get("start"))
    practitioner_id = request.form.get("practitioner", type=int)
    back = url_for("desk_waitlist.day", date=request.form.get("date") or None)
    if not BookItForm().validate_on_submit() or start is None or practitioner_id is None:
        flash("Choose one of the listed times and press Offer again.", "lost-race")
        return redirect(back, code=303)
    try:
        made = waitlist.offer_directly(entry_id, practitioner_id, start, now(), by=staff_actor(current_user.account))
    except waitlist.OfferGone:
        abort(404)
    except CannotBook as problem:
        flash(problem.message, "lost-race")
    else:
        replaced = "".join(f" Their earlier offer, {_offered(offer)}, is withdrawn: a person holds one offer at a time."
                           for offer in made.replaced)
        rivals = (f" {listed(made.also_holding)} {'holds' if len(made.also_holding) == 1 else 'hold'} an offer of "
                  "it too: the first to book it gets it, and the others are told it has gone.") if made.also_holding \
            else ""
        flash(f"The time is offered to {made.offer.entry.name}: they are emailed a link to book it.{replaced}{rivals}",
              "success")
    return redirect(back, code=303)


@bp.post("/<int(max=2147483647):entry_id>/remove")
@staff_only(*DESK)
def remove(entry_id: int):
    """Take a caller off the list (they phoned to say so); any time offered to them goes to the
    next people, as when a patient leaves from their own link."""
    back = url_for("desk_waitlist.day", date=request.form.get("date") or None)
    if not BookItForm().validate_on_submit():
        flash("The page had expired: press Take off the list again.", "lost-race")
        return redirect(back, code=303)
    try:
        name = waitlist.leave(entry_id, now())
    except waitlist.OfferGone:
        flash("That place was no longer on the waitlist: nothing was changed.", "lost-race")
    else:
        flash(f"{name} is off the waitlist.", "success")
    return redirect(back, code=303)


@bp.route("/add", methods=["GET", "POST"])
@staff_only(*DESK)
def add():
    """Put a caller on the waitlist."""
    clinic = load_clinic()
    today = clinic.today(now())
    # From the day the desk is showing (the page links here with it), never before today.
    first_day = max(asked_day(request.args.get("date")), today)
    form = CallerWaitlistForm(data={"practitioner": "any", "first_day": first_day.isoformat()}, today=today,
                              locale=str(get_locale()))
    _choices(form)
    emergency = False
    if form.is_submitted() and (checked_at_once(form, joined_via="desk") or emergency_ticked(form)):
        patient = PatientDetails(form.name.data, form.email.data, form.phone.data, form.born_on)
        try:
            if emergency_ticked(form):
                raise EmergencyAnswers()
            joined = waitlist.join(waitlist.JoinRequest(form.wishes(), patient, tuple(form.codes), "desk"), now())
        except waitlist.AlreadyWaiting:
            flash(f"{form.name.data} already has a place on the waitlist for this visit: nothing was changed, and "
                  "the link to their place was emailed to them again.", "lost-race")
            return redirect(url_for("desk_waitlist.day", date=form.first.isoformat()), code=303)
        except EmergencyAnswers:
            emergency = True
        except InvalidInput as invalid:
            _show_problems(form, invalid.problems)
        except CannotBook as problem:
            _show_problems(form, {problem.field: problem.message})
        else:
            flash(f"{form.name.data} is on the waitlist; they are emailed a link to their place.", "success")
            if joined.notice:
                flash(joined.notice, "problem")
            return redirect(url_for("desk_waitlist.day", date=form.first.isoformat()), code=303)
    return render_template("waitlist/desk_add.html", form=form, emergency=emergency,
                           doctor=same_day_doctor(clinic.region))
