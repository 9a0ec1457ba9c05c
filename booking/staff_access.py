"""Which staff may open a page: the check every staff room puts on its views."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from booking.formatting import listed
from booking.models import StaffRole

# Where Flask-Login keeps the signed-in staff session's id in the signed cookie.
STAFF_SESSION_KEY = "_user_id"
# Left in the cookie by signing out (and dropped by signing in), so a staff page or a form sent
# afterwards in this browser says "you signed out", not that the session may have run out.
SIGNED_OUT_KEY = "staff_signed_out"


def idle_time(config) -> str:
    """How long a staff session lasts unused, in words: "30 minutes" (or "1 minute")."""
    minutes = config["STAFF_IDLE_MINUTES"]
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def when_sessions_end(config) -> str:
    """"after 30 minutes without activity (or 12 hours after you signed in)": both ways a staff
    session ends by itself, as the pages that follow one say it."""
    return f"after {idle_time(config)} without activity (or {config['STAFF_SESSION_HOURS']} hours after you signed in)"


def signed_out_here() -> bool:
    """Whether the last member of staff in this browser signed out (rather than being timed out)."""
    return bool(session.get(SIGNED_OUT_KEY))


def staff_signed_in() -> bool:
    """Whether a member of staff is signed in. Only the signed session can name a staff session
    (there is no remember-me), so a patient's or a visitor's request looks nobody up: that look-up
    was the most a kept patient page still did of its own."""
    return (has_request_context() and STAFF_SESSION_KEY in session
            and bool(getattr(current_user, "is_authenticated", False)))


ROLE_PEOPLE = {StaffRole.ADMIN: "admins", StaffRole.RECEPTIONIST: "receptionists",
               StaffRole.PRACTITIONER: "practitioners"}
# How a 403 page names the role someone is signed in with.
ROLE_ONE = {StaffRole.ADMIN: "an admin", StaffRole.RECEPTIONIST: "a receptionist", StaffRole.PRACTITIONER: "a practitioner"}


def _people(roles) -> str:
    """("admins",) -> "admins"; two roles -> "admins and receptionists"."""
    return listed([ROLE_PEOPLE[role] for role in StaffRole if role in roles])


# The staff pages that open while an account must choose its own password (an admin set it).
PASSWORD_FIRST = "auth.password"
OPEN_BEFORE_A_NEW_PASSWORD = frozenset({PASSWORD_FIRST, "auth.sign_out"})


def staff_only(*roles: StaffRole):
    """Signed-in staff with one of these roles (any role when none are given); others get 403.
    Someone whose password an admin set goes to choose their own first, then on to the page."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.must_change_password and request.endpoint not in OPEN_BEFORE_A_NEW_PASSWORD:
                after = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for(PASSWORD_FIRST, next=after), code=303)
            if roles and current_user.role not in roles:
                abort(403, f"This page is for {_people(roles)}. If you need it, ask the clinic's admin.")
            return view(*args, **kwargs)

        return wrapper

    return decorate
