"""Clinic administration: staff accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for

from booking.auth.forms import StaffForm
from booking.auth.routes import staff_only
from booking.clock import now
from booking.extensions import db
from booking.models import Practitioner, StaffAccount, StaffRole
from booking.operations import staff
from booking.operations.problems import CannotBook

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/staff", methods=["GET", "POST"])
@staff_only(StaffRole.ADMIN)
def staff_accounts():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            account = staff.add_staff(form.email.data, form.name.data, StaffRole(form.role.data),
                                      form.password.data, now(), (form.practitioner.data or "").strip() or None)
        except CannotBook as problem:
            getattr(form, problem.field).errors.append(problem.message)
        else:
            flash(f"Account added for {account.name}.", "success")
            return redirect(url_for("admin.staff_accounts"), code=303)
    accounts = db.session.scalars(sa.select(StaffAccount).order_by(StaffAccount.name)).all()
    practitioners = db.session.scalars(sa.select(Practitioner).order_by(Practitioner.name)).all()
    return render_template("admin/staff.html", form=form, accounts=accounts, practitioners=practitioners)


@bp.post("/staff/<int(max=2147483647):account_id>/deactivate")
@staff_only(StaffRole.ADMIN)
def deactivate(account_id: int):
    account = db.get_or_404(StaffAccount, account_id)
    staff.deactivate(account.id, now())
    flash(f"{account.name} can no longer sign in, and their sessions have ended.", "success")
    return redirect(url_for("admin.staff_accounts"), code=303)
