"""Staff sign-in and sign-out, and the role check every staff page uses."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from booking.auth.forms import SignInForm
from booking.clock import now
from booking.extensions import limiter
from booking.models import StaffRole
from booking.operations import staff

bp = Blueprint("auth", __name__, url_prefix="/staff")

SIGN_IN_FAILED = "The email address or password is not right, or the account is not active."


def staff_only(*roles: StaffRole):
    """Signed-in staff with one of these roles (any role when none are given); others get 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403, "Your account cannot open this page. Ask the clinic's admin if you need it.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _sign_in_limit() -> str:
    return current_app.config["STAFF_SIGN_IN_LIMIT"]


def _page_asked_for() -> str | None:
    """The page that sent the visitor to sign in (?next=), if it is a path on this site."""
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return None


def _home(role: StaffRole) -> str:
    """Where staff start: practitioners with their own day, everyone else with the calendar."""
    return url_for("clinician.my_day") if role is StaffRole.PRACTITIONER else url_for("desk.today")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=lambda response: response.status_code == 401,
               error_message="Too many failed sign-ins from this network. Wait a minute, then try again.")
def sign_in():
    if current_user.is_authenticated:
        return redirect(_home(current_user.role))
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        signed = staff.sign_in(form.email.data, form.password.data, now())
        if signed is not None:
            session.clear()  # a new session at sign-in: nothing carries over from before
            login_user(signed)
            return redirect(_page_asked_for() or _home(signed.role), code=303)
        failed = True
    return render_template("auth/sign_in.html", form=form, failed=failed), (401 if failed else 200)


@bp.post("/sign-out")
@staff_only()
def sign_out():
    staff.sign_out(current_user.get_id(), now())
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"), code=303)
