"""Which staff may open a page: the check every staff room puts on its views."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app
from flask_login import current_user

from booking.models import StaffRole


ROLE_PEOPLE = {StaffRole.ADMIN: "admins", StaffRole.RECEPTIONIST: "receptionists",
               StaffRole.PRACTITIONER: "practitioners"}
# How a 403 page names the role someone is signed in with.
ROLE_ONE = {StaffRole.ADMIN: "an admin", StaffRole.RECEPTIONIST: "a receptionist", StaffRole.PRACTITIONER: "a practitioner"}


def _people(roles) -> str:
    """("admins",) -> "admins"; two roles -> "admins and receptionists"."""
    names = [ROLE_PEOPLE[role] for role in StaffRole if role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def staff_only(*roles: StaffRole):
    """Signed-in staff with one of these roles (any role when none are given); others get 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403, f"This page is for {_people(roles)}. If you need it, ask the clinic's admin.")
            return view(*args, **kwargs)

        return wrapper

    return decorate
