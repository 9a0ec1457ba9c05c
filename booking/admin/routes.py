"""Clinic administration: staff accounts, and the audit log of who read which intake."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from booking.admin.forms import AuditFilterForm
from booking.auth.forms import StaffForm
from booking.public.forms import options
from booking.auth.routes import staff_only
from booking.clock import now
from booking.extensions import db
from booking.models import Patient, Practitioner, StaffAccount, StaffRole
from booking.operations import clinical, staff
from booking.operations.availability import load_clinic
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


@bp.get("/audit")
@staff_only(StaffRole.ADMIN)
def audit_log():
    """Who looked at which patient's intake, when and from where; filtered by the query string."""
    form = AuditFilterForm(request.args, meta={"csrf": False})
    form.staff.choices = options([("", "Anyone")] + [(str(a.id), a.name) for a in db.session.scalars(
        sa.select(StaffAccount).order_by(StaffAccount.name))])
    chosen = clinical.AuditFilter()
    if request.args and form.validate():
        chosen = form.chosen(load_clinic().zone)
    entries, more = clinical.audit_entries(chosen, request.args.get("before", type=int))
    older = url_for("admin.audit_log", **(request.args.to_dict() | {"before": more})) if more else None
    return render_template("admin/audit.html", form=form, entries=entries, older=older,
                           patient=db.session.get(Patient, chosen.patient_id) if chosen.patient_id else None,
                           actions=clinical.AUDIT_ACTIONS)
