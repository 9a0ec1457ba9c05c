"""Staff sign-in and sign-out, and the second factor.

Signing in is one or two steps. The password first; then, for an account whose second factor
is on, a code from the authenticator app (or a recovery code), or, for one that must have a
second factor and has none yet, setting one up. Between the steps the session holds only the
pending account's id and a short expiry (PENDING_KEY): nobody is signed in, so no staff page
opens, until the last step passes. Failures at either step count towards the sign-in limits
(booking.auth.throttle).
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import segno
from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from booking.auth import throttle
from booking.auth.carried import FIELD, KEYS, CarriedForm, from_sign_in_step, keys, let_go
from booking.auth.forms import CodeForm, EnrolForm, PasswordForm, SignInForm
from booking.auth.next_page import same_site_path
from booking.clock import now
from booking.csrf_tokens import field_name
from booking.extensions import db
from booking.models import Clinic, StaffAccount, StaffRole
from booking.operations import second_factor, staff
from booking.operations.problems import InvalidInput
from booking.staff_access import SIGNED_OUT_KEY, idle_time, staff_only, when_sessions_end

bp = Blueprint("auth", __name__, url_prefix="/staff")

SIGN_IN_FAILED = "The email address or password is not right, or the account is not active."
CODE_FAILED = ("That code is not right, or was used already. Enter the code your app shows now "
               "(each code works once), or a recovery code you have not used.")
ENROL_FAILED = ("That code does not match. Check the app shows the code for this clinic, "
                "and enter the one it shows now.")
PENDING_KEY = "staff_sign_in_pending"  # {"id": account id, "until": Unix time}
PENDING_MINUTES = 10


def _page_asked_for() -> str | None:
    """The page that sent the visitor to sign in (?next=), if it is a path on this site that a
    browser can open. A form sent after the session ended (left idle, or signed out elsewhere)
    is sent to sign in with its own address as ?next=, which only POST opens: going there after
    signing in showed "Method Not Allowed", so the start page is shown instead."""
    asked = same_site_path(request.args.get("next"))
    return asked if asked is not None and _opens_with_get(asked) else None


def _opens_with_get(path: str) -> bool:
    """False only when the path is a route of this app that GET cannot open (a form's address);
    a path no route has keeps its own "page not found", as before."""
    try:
        current_app.create_url_adapter(request).match(unquote(urlsplit(path).path), method="GET")
    except MethodNotAllowed:
        return False
    except HTTPException:  # not found, or a redirect to the route's own spelling: a page still opens
        return True
    return True


def _home(role: StaffRole) -> str:
    """Where staff start: practitioners with their own day, everyone else with the calendar."""
    return url_for("clinician.my_day") if role is StaffRole.PRACTITIONER else url_for("desk.today")


def _clinic() -> Clinic | None:
    return db.session.get(Clinic, 1)


# --- between the steps ----------------------------------------------------------------------

def _new_session() -> None:
    """An empty cookie session, but for the keys to this browser's carried forms. The CSRF token
    this request made for the old one goes too: a page rendered after this (a carried form's next
    step) gets one the new session holds."""
    held = keys()
    session.clear()
    if held:
        session[KEYS] = held
    g.pop(field_name(), None)


def _hold_pending(account: StaffAccount) -> None:
    """The password was right and another step follows: a new session holding only who and until when."""
    _new_session()  # a new session at sign-in: nothing carries over from before
    session[PENDING_KEY] = {"id": account.id, "until": int((now() + timedelta(minutes=PENDING_MINUTES)).timestamp())}


def _pending_account() -> StaffAccount | None:
    """The active account part-way through signing in on this browser, if its time has not run out."""
    held = session.get(PENDING_KEY)
    if not (isinstance(held, dict) and isinstance(held.get("id"), int) and isinstance(held.get("until"), int)):
        return None
    if now().timestamp() > held["until"]:
        session.pop(PENDING_KEY, None)
        return None
    account = db.session.get(StaffAccount, held["id"])
    return account if account is not None and account.is_active else None


def _finish_sign_in(account: StaffAccount) -> None:
    """Every step passed: a new server-side session, and a new cookie session to hold it."""
    _new_session()
    login_user(staff.start_session(account, now()))


STARTED_TOO_LONG_AGO = "Signing in took too long, or was not started on this browser: sign in again."


def _start_again():
    flash(STARTED_TOO_LONG_AGO, "error")
    return redirect(url_for("auth.sign_in", next=_page_asked_for()), code=303)


def _too_many(refusal: throttle.Refusal):
    """The kind 429: when to try again, the same whether or not the account exists."""
    response = make_response(render_template("auth/too_many.html", minutes=refusal.minutes), 429)
    response.headers["Retry-After"] = str(refusal.seconds)
    return response


def _no_store(response):
    """Keys and recovery codes, and a form carried over: no copy kept in any cache or history."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, status: int, carried: CarriedForm | None, **context):
    """A sign-in step's page; one holding a carried form is kept in no cache."""
    response = make_response(render_template(template, carried=carried, **context), status)
    return _no_store(response) if carried is not None else response


# --- a form sent after its session ended (booking.auth.carried) -------------------------------

def carry_over(carried: CarriedForm):
    """The answer to a staff form refused, and carried: the sign-in page holding it when the
    session had ended; straight away the page that sends it again when only its CSRF token had
    expired (the form was open longer than WTF_CSRF_TIME_LIMIT)."""
    if current_user.is_authenticated:  # the cookie names the live session, so the form is theirs
        return _offer_again(carried, _page_asked_for(), "This form had been open too long to be accepted, so what "
                                                        "you sent has not been saved yet.")
    return _sign_in_holding(carried, 401, carried.to, (
        f"{_how_it_ended(carried)}, so what you sent has not been saved yet. Sign in again as "
        f"{carried.account_name} to save it."))


def _how_it_ended(carried: CarriedForm) -> str:
    """The one way the form's session ended, from its start and last use (both ways it may have,
    when they are not known)."""
    config = current_app.config
    if carried.session_times is None:
        return f"Your session ended {when_sessions_end(config)}"
    began, last_used = carried.session_times
    if now() - began > timedelta(hours=config["STAFF_SESSION_HOURS"]):
        return f"Your session ended {config['STAFF_SESSION_HOURS']} hours after you signed in"
    if now() - last_used > timedelta(minutes=config["STAFF_IDLE_MINUTES"]):
        return f"Your session ended after {idle_time(config)} without activity"
    return "Your session was ended (signed out in another tab or device, a new password, or the clinic's admin)"


def kept_past_an_expired_step():
    """A sign-in step's page refused for its CSRF token (signed in meanwhile in another tab, which
    began a new session; left open for hours; or sent again by a reload) that held a carried form:
    the form is not lost with it, and one sent already says so. None when it held none (the usual
    refusal)."""
    if not request.form.get(FIELD):
        return None
    carried = from_sign_in_step()
    if carried is None:
        return render_template("error.html", error=SimpleNamespace(
            code=400, heading="Nothing more to send",
            description="What this page held was sent already or left unsaved, or is no longer held in this "
                        "browser. Look at the page it was for (the calendar, the note) to see what was saved.")), 400
    if current_user.is_authenticated:
        return _signed_in(current_user.account, _page_asked_for(), carried)
    return _sign_in_holding(carried, 400, _page_asked_for(), "This sign-in page had expired, so you are not "
                                                             "signed in yet. Sign in again: what you sent is still held here.")


def _still_held(carried: CarriedForm) -> str:
    return f"What you sent is still held here. Sign in as {carried.account_name} to save it."


def _sign_in_holding(carried: CarriedForm, status: int, next_page: str | None, notice: str):
    """The sign-in page, with a notice, holding a carried form."""
    return _page("auth/sign_in.html", status, carried, form=SignInForm(formdata=None), failed=False, notice=notice,
                 action=url_for("auth.sign_in", next=next_page))


def _offer_again(carried: CarriedForm, target: str | None, reason: str):
    """The page that sends a carried form again, or leaves it (through send_again, which lets it go)."""
    return _page("auth/send_again.html", 200, carried, reason=reason, leave_to=target or _home(current_user.role))


def _signed_in(account: StaffAccount, target: str | None, carried: CarriedForm | None):
    """Signed in: on to the page asked for, or first to send again the form this account sent
    after its session ended. Someone else goes to their own start page: the page asked for
    was another person's."""
    if account.must_change_password:  # an admin set this password: the person's own comes first
        if carried is not None:
            let_go(carried)
            flash("What you sent before signing in could not be kept: choosing your own password comes first. "
                  "Then fill the form in again.", "error")
        return redirect(url_for("auth.password", next=target), code=303)
    if carried is not None and carried.account_id == account.id:
        return _offer_again(carried, target, "You are signed in again. What you sent before your session ended "
                                             "has not been saved yet.")
    if carried is not None:
        let_go(carried)
        flash(f"What {carried.account_name} sent before their session ended was not saved: you signed in as "
              "someone else.", "error")
        return redirect(_home(account.role), code=303)
    return redirect(target or _home(account.role), code=303)


LEAVE = "leave_unsaved"  # the name of the offer page's second button


@bp.post("/send-again")
@staff_only()
def send_again():
    """The carried form, sent on to where it was going with its body (a 307 keeps both the method
    and the body), once: its key goes first, so a second press or Back sends nothing more."""
    carried = from_sign_in_step()
    if carried is None or carried.account_id != current_user.account.id:
        flash("That form was sent already or left unsaved, or is no longer held in this browser. Look at the "
              "page it was for to see what was saved.", "error")
        return redirect(_home(current_user.role), code=303)
    let_go(carried)
    if request.form.get(LEAVE) is not None:  # "Leave it unsaved": gone, so Back and a reload offer nothing
        flash("What you sent was left unsaved.", "success")
        return redirect(_page_asked_for() or _home(current_user.role), code=303)
    return redirect(carried.to, code=307)


# --- the steps ------------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    carried = from_sign_in_step()
    if current_user.is_authenticated and carried is not None:  # signed in meanwhile, in another tab
        return _signed_in(current_user.account, _page_asked_for(), carried)
    if current_user.is_authenticated:
        return redirect(_page_asked_for() or _home(current_user.role))
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        refusal = throttle.refused(form.email.data)
        if refusal:
            return _too_many(refusal)
        account = staff.check_sign_in(form.email.data, form.password.data)
        if account is not None:
            return _after_password(account, carried)
        over = throttle.count_failure(form.email.data)
        if over:
            return _too_many(over)
        failed = True
    return _page("auth/sign_in.html", 401 if failed else 200, carried, form=form, failed=failed,
                 notice=_still_held(carried) if carried else None)


def _after_password(account: StaffAccount, carried: CarriedForm | None):
    """On to the code, to setting up a second factor, or (needing neither) signed in. A carried
    form goes on to the code's page, which is shown here rather than after a redirect."""
    target = _page_asked_for()
    if second_factor.is_on(account.id):
        _hold_pending(account)
        if carried is not None:
            return _page("auth/code.html", 200, carried, form=CodeForm(formdata=None), notice=_still_held(carried),
                         action=url_for("auth.enter_code", next=target))
        return redirect(url_for("auth.enter_code", next=target), code=303)
    if second_factor.required(account, _clinic()):
        _hold_pending(account)
        if carried is not None:
            let_go(carried)
            flash("What you sent before signing in could not be kept: setting up a second factor comes first. "
                  "Once signed in, fill the form in again.", "error")
        return redirect(url_for("auth.set_up_second_factor", next=target), code=303)
    _finish_sign_in(account)
    return _signed_in(account, target, carried)


@bp.route("/sign-in/code", methods=["GET", "POST"])
def enter_code():
    carried = from_sign_in_step()
    if current_user.is_authenticated and carried is not None:
        return _signed_in(current_user.account, _page_asked_for(), carried)
    if current_user.is_authenticated:
        return redirect(_page_asked_for() or _home(current_user.role))
    account = _pending_account()
    if account is None and carried is not None:  # the form is still on this page: keep it
        return _sign_in_holding(carried, 401, _page_asked_for(), STARTED_TOO_LONG_AGO)
    if account is None:
        return _start_again()
    if not second_factor.is_on(account.id):  # reset since the password step
        return redirect(url_for("auth.set_up_second_factor", next=_page_asked_for()), code=303)
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        refusal = throttle.refused(account.email)
        if refusal:
            return _too_many(refusal)
        accepted = second_factor.check_code(account, form.code.data, now())
        if accepted is not None:
            _finish_sign_in(account)
            if accepted.recovery:
                flash(f"You signed in with a recovery code, which is now used up. You have "
                      f"{accepted.recovery_codes_left} left. {_lost_phone_advice(account)}", "error")
            return _signed_in(account, _page_asked_for(), carried)
        over = throttle.count_failure(account.email)
        if over:
            return _too_many(over)
        failed = True
    if failed:
        form.code.data = ""  # a wrong code is typed anew, not over
        form.code.errors = [*form.code.errors, CODE_FAILED]
    return _page("auth/code.html", 401 if failed else 200, carried, form=form,
                 notice=_still_held(carried) if carried else None)


def _lost_phone_advice(account) -> str:
    """Who can reset a lost phone's second factor: an admin for others; for an admin, who cannot reset
    their own (and may be the clinic's only one), another admin or the server's command line."""
    if account.role is StaffRole.ADMIN:
        return ("If your phone is lost, another admin can reset your second factor under Settings, Staff "
                "accounts; or whoever runs the server can, with "
                f"flask --app booking staff reset-second-factor {account.email}. Then set it up again.")
    return "If your phone is lost, ask the clinic's admin to reset your second factor, then set it up again."


@bp.route("/second-factor/set-up", methods=["GET", "POST"])
def set_up_second_factor():
    """Add an authenticator app: straight after the password for someone who must have one, or
    from the Second factor page for someone signed in who chooses to."""
    signing_in = not current_user.is_authenticated
    account = _pending_account() if signing_in else current_user.account
    if account is None:
        return _start_again()
    if signing_in and not second_factor.required(account, _clinic()) and not second_factor.is_on(account.id):
        return _start_again()  # no longer asked of them (changed since the password step): sign in again
    clinic = _clinic()
    enrolment = second_factor.begin_enrolment(account, now(), issuer=clinic.name if clinic else "Clinic bookings")
    if enrolment is None:  # already on
        if signing_in:
            return redirect(url_for("auth.enter_code", next=_page_asked_for()), code=303)
        return redirect(url_for("auth.second_factor"))
    form = EnrolForm()
    failed = False
    if form.validate_on_submit():
        refusal = throttle.refused(account.email) if signing_in else None
        if refusal:
            return _too_many(refusal)
        codes = second_factor.confirm_enrolment(account, form.code.data, now(),
                                                keep_token=None if signing_in else current_user.get_id())
        if codes is not None:
            if signing_in:
                _finish_sign_in(account)
            continue_to = _page_asked_for() or (_home(account.role) if signing_in else url_for("auth.second_factor"))
            return _no_store(make_response(render_template(
                "auth/recovery_codes.html", codes=codes, continue_to=continue_to, signing_in=signing_in)))
        if signing_in:
            over = throttle.count_failure(account.email)
            if over:
                return _too_many(over)
        failed = True
    if failed:
        form.code.data = ""
        form.code.errors = [*form.code.errors, ENROL_FAILED]
    qr_code = segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, border=4)
    status = 401 if failed and signing_in else 200
    return _no_store(make_response(render_template(
        "auth/set_up.html", form=form, enrolment=enrolment, qr_code=qr_code, signing_in=signing_in, account=account,
        must=second_factor.required(account, clinic)), status))


@bp.get("/second-factor", endpoint="second_factor")
@staff_only()
def second_factor_page():
    account = current_user.account
    return render_template("auth/second_factor.html", status=second_factor.status(account.id),
                           must=second_factor.required(account, _clinic()))


@bp.route("/password", methods=["GET", "POST"])
@staff_only()
def password():
    """Choose one's own password: the current one, then the new one twice. The other sessions of
    the account end; this one stays. A wrong current password counts towards the sign-in limits,
    so this page is no way round them."""
    account = current_user.account
    form = PasswordForm()
    if form.validate_on_submit():
        refusal = throttle.refused(account.email)
        if refusal:
            return _too_many(refusal)
        try:
            staff.change_own_password(account, form.current_password.data, form.new_password.data,
                                      form.new_password_again.data, now(), keep_token=current_user.get_id(),
                                      address=request.remote_addr or "")
        except staff.WrongPassword as wrong:
            over = throttle.count_failure(account.email)
            if over:
                return _too_many(over)
            form.show_problems(wrong.problems)
        except InvalidInput as invalid:
            form.show_problems(invalid.problems)
        else:
            flash("Your password is changed. You are still signed in here; any other sessions of yours have "
                  "ended.", "success")
            return redirect(_page_asked_for() or _home(account.role), code=303)
    return _no_store(make_response(render_template("auth/password.html", form=form,
                                                   must=account.must_change_password)))


@bp.post("/sign-out")
@staff_only()
def sign_out():
    staff.sign_out(current_user.get_id(), now())
    logout_user()
    session.clear()
    session[SIGNED_OUT_KEY] = True
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"), code=303)
