"""Which staff may open a page: the check every staff room puts on its views."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app
from flask_login import current_user

from booking.models import StaffRole


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
