"""Confirming a booking from the emailed link: the link opens a page, and only its button (a POST
with CSRF) confirms, so a mail scanner that follows the link changes nothing.

Unknown, tampered and expired links get the same 404 as a bad manage link.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from booking.clock import now
from booking.operations import identity
from booking.forms import ConfirmForm
from booking.manage_link import speak_its_language

bp = Blueprint("identity", __name__, url_prefix="/confirm-booking")


@bp.route("/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """What was booked, what confirming does, and the button; after it, what changed."""
    check = identity.check_for(token, now())
    if check is None:
        abort(404)
    speak_its_language(check.appointment)
    form = ConfirmForm()
    if form.validate_on_submit():
        if identity.confirm_from_link(token, now()) is None:  # expired between the page and the press
            abort(404)
        return redirect(url_for("identity.confirm", token=token), code=303)
    return render_template("identity/confirm.html", appointment=check.appointment, form=form,
                           link_days=identity.CONFIRM_LINK_DAYS)


@bp.app_template_global()
def identity_note() -> str:
    """Why staff see no earlier visits with a booking still waiting for the patient's confirmation."""
    return identity.HIDDEN_NOTE
