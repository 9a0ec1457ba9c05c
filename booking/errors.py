"""Error responses: JSON under /api/, a plain page elsewhere; never a bare traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Conflict, Forbidden, HTTPException, InternalServerError, NotFound, ServiceUnavailable

from booking.clock import now
from booking.csrf_tokens import field_name, given_to_this_session
from booking.extensions import db
from booking.models import StaffRole
from booking.operations.catalogue import ClinicNotSetUp
from booking.operations.clinical import record_refusal
from booking.operations.permissions import NotAllowed, NotVisible
from booking.operations.problems import RecordErased, VisitCancelled
from booking.staff_access import ROLE_ONE, idle_time, signed_out_here
from booking.transaction import Busy
from booking.web import FROM_ANOTHER_SITE


def _wants_json() -> bool:
    return request.path.startswith("/api/")


# The staff pages whose refusals are audited: a 403 is a page the role may not open; a 404 there
# is mostly a record the account may not see (the same answer as one that does not exist).
STAFF_AREAS = frozenset({"desk", "desk_waitlist", "clinician", "admin", "rights"})


def _audit_refusal(code: int) -> None:
    arguments = request.view_args or {}
    record_refusal(current_user.account, f"{request.method} {request.path} ({code})"[:200],
                   arguments.get("appointment_id"), arguments.get("patient_id"), request.remote_addr or "", now())


def _refusal(error: HTTPException) -> dict:
    """What a staff member's 403 page says: why (the view's own words, where it gave some), who
    they are signed in as, and the way back to their own start page."""
    role = current_user.role
    practitioner = role is StaffRole.PRACTITIONER
    return {
        "why": None if error.description == Forbidden.description else error.description,
        "signed_in_as": ROLE_ONE[role],
        "home": url_for("clinician.my_day") if practitioner else url_for("desk.today"),
        "home_name": "your day" if practitioner else "the calendar",
    }


# Werkzeug's own words for errors a person can meet, in ours (and in the patient's language):
# a heading and what to do. Used only where the view said nothing of its own.
OUR_WORDS = {
    405: (_l("This address does not open that way"),
          _l("It is for sending a form from its page. Go back to the page you came from and use its links and "
             "buttons.")),
    413: (_l("Too much was sent"),
          _l("What was sent is larger than any form or booking of this clinic needs. Send less and try again.")),
}


# The same for the API's clients, who send requests rather than forms.
API_WORDS = {
    405: "This address does not take that method: /api/v1/openapi.json lists the methods each address takes.",
    413: "The body is larger than any request to this API needs. Send less.",
}


def api_message(error: HTTPException) -> str:
    """An API error's message: the view's own words, else ours, else Werkzeug's."""
    if error.code in API_WORDS and error.description == type(error).description:
        return API_WORDS[error.code]
    return error.description or error.name


def _in_our_words(error: HTTPException) -> HTTPException:
    """The error with our heading and description where it still has Werkzeug's default ones."""
    ours = OUR_WORDS.get(error.code)
    if ours is not None and error.description == type(error).description:
        error.heading, error.description = str(ours[0]), str(ours[1])
    return error


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError):
        if error.description == FROM_ANOTHER_SITE:  # web.refuse_cross_site_forms: nothing of it is kept
            error.heading = _("The form could not be sent")
            error.description = _("This form was sent from another website, so nothing was saved. To make a "
                                  "change, open this site's own page.")
            return http_error(error)
        from booking.auth.carried import from_refused_request
        from booking.auth.routes import carry_over, kept_past_an_expired_step

        if request.blueprint == "auth" and (kept := kept_past_an_expired_step()) is not None:
            return kept  # a sign-in step's page, holding a form
        # A staff form refused for its token's age alone (open for hours, perhaps sent after its
        # session ended too): carried. One whose token another session made (someone else signed
        # in on this browser since) is not, so nobody is offered another's typing.
        if (request.blueprint in STAFF_AREAS and given_to_this_session(request.form.get(field_name()))
                and (carried := from_refused_request()) is not None):
            return carry_over(carried)
        if request.blueprint in STAFF_AREAS and not current_user.is_authenticated and not _wants_json():
            # Signing out (here, in another tab or on another device) ends the session the form's
            # token belonged to: say that, and lead to sign-in rather than to the patients' pages.
            error.heading = "The form was not saved"
            error.description = (
                "You had signed out before this form was sent, so nothing was saved. Sign in, then fill the form "
                "in again." if signed_out_here() else
                "You were signed out before this form was sent (after "
                f"{idle_time(app.config)} without activity, or from another tab or device), "
                "so nothing was saved. Sign in, then fill the form in again.")
            # Back to the form's page after signing in: its own address (our pages send no Referer),
            # which sign-in follows only if it opens a page.
            return render_template("error.html", error=error,
                                   sign_in=url_for("auth.sign_in", next=request.full_path.rstrip("?"))), \
                error.code
        error.heading = _("The form could not be sent")
        error.description = _("This form had expired or was sent twice, so nothing was saved. Go back, reload "
                              "the page and try again.")
        return http_error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in (403, 404) and request.blueprint in STAFF_AREAS and current_user.is_authenticated:
            _audit_refusal(error.code)
        if _wants_json():
            code = error.name.lower().replace(" ", "_")
            return jsonify({"error": code, "message": api_message(error)}), error.code
        error = _in_our_words(error)
        if error.code == 403 and current_user.is_authenticated:
            return render_template("error.html", error=error, refused=_refusal(error)), 403
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

    @app.errorhandler(Busy)
    def busy(error: Busy):
        """Other writers held the lock too long: nothing was written, and trying again is safe."""
        db.session.rollback()
        app.logger.warning("%s %s gave up waiting for the database lock", request.method, request.endpoint)
        if _wants_json():
            response = jsonify({"error": "busy", "message": error.message})
        else:
            page = ServiceUnavailable(error.message + (
                " Go back with your browser's Back button: what you typed is still in the form, so you can "
                "send it again." if request.method == "POST" else ""))
            response = app.make_response((render_template("error.html", error=page), 503))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(VisitCancelled)
    def visit_cancelled(_error):
        """A patient's intake page sent after (or as) the visit was cancelled: on their page, in their language."""
        db.session.rollback()
        closed = Conflict(_("This appointment was cancelled a moment ago, so its questions are closed and what "
                            "you just sent was not kept. To book again, start from the clinic's home page."))
        closed.heading = _("The questions are closed")
        return http_error(closed)

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
