"""Error responses: JSON under /api/, a plain page elsewhere; never a bare traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, NotFound

from booking.clock import now
from booking.extensions import db
from booking.operations.availability import ClinicNotSetUp
from booking.operations.clinical import record_refusal
from booking.operations.desk import NotAllowed, NotVisible
from booking.operations.problems import RecordErased


def _wants_json() -> bool:
    return request.path.startswith("/api/")


# The staff pages whose refusals are audited: a 403 is a page the role may not open; a 404 there
# is mostly a record the account may not see (the same answer as one that does not exist).
STAFF_AREAS = frozenset({"desk", "clinician", "admin", "rights"})


def _audit_refusal(code: int) -> None:
    arguments = request.view_args or {}
    record_refusal(current_user.account, f"{request.method} {request.path} ({code})"[:200],
                   arguments.get("appointment_id"), arguments.get("patient_id"), request.remote_addr or "", now())


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError):
        error.description = "This form had expired or was sent twice. Go back, reload the page and try again."
        return http_error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in (403, 404) and request.blueprint in STAFF_AREAS and current_user.is_authenticated:
            _audit_refusal(error.code)
        if _wants_json():
            code = error.name.lower().replace(" ", "_")
            return jsonify({"error": code, "message": error.description or error.name}), error.code
        return render_template("error.html", error=error), error.code

    @app.errorhandler(NotAllowed)
    def not_allowed(_error):
        db.session.rollback()
        return http_error(Forbidden("Your account cannot do this. Ask a receptionist or the clinic's admin."))

    @app.errorhandler(NotVisible)
    @app.errorhandler(RecordErased)
    def not_visible(_error):
        db.session.rollback()
        return http_error(NotFound())

    @app.errorhandler(ClinicNotSetUp)
    def not_set_up(error: ClinicNotSetUp):
        if _wants_json():
            return jsonify({"error": "not_set_up", "message": str(error)}), 503
        return render_template("not_set_up.html"), 503

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error in %s %s", request.method, request.endpoint)
        server_error = InternalServerError()
        if _wants_json():
            return jsonify({"error": "server_error", "message": "something went wrong on our side"}), 500
        return render_template("error.html", error=server_error), 500
