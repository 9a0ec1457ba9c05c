"""Staff accounts and sign-in: Argon2id, server-side sessions, idle timeout, roles, rate limit.

The helpers here (`staff`, `login_as`, `sign_in`) sign staff in as a person would: the admin's
second factor is set up through the operations layer when the accounts are made, and each
sign-in computes the app's code with pyotp from that key, like the phone would.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import flask_migrate
import pyotp
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, profiles

from flask import session
from flask_login import current_user

from booking import create_app
from booking.clock import now
from booking.extensions import db
from booking.models import AuditEntry, StaffAccount, StaffRole
from booking.operations import second_factor
from booking.operations.staff import add_staff
from booking.transaction import write_transaction
from tests.conftest import app_config, close_database

PASSWORD = "correct horse battery"
ACCOUNTS = {
    StaffRole.ADMIN: "admin@example.org",
    StaffRole.RECEPTIONIST: "desk@example.org",
    StaffRole.PRACTITIONER: "ana@example.org",
}


class Authenticator:
    """The phone app of a test's staff member: the key, and the clock of the app under test.

    The server refuses a code of a time step already used, as it should; a person then waits for
    the next code. So when this app has given the current step's code already, it moves the
    test's pinned clock on to the next step (30 seconds) first.
    """

    def __init__(self, secret: str, clock, recovery_codes: list[str] | None = None):
        self.totp = pyotp.TOTP(secret)
        self.clock = clock
        self.recovery_codes = list(recovery_codes or [])
        self.last_step: int | None = None

    def code(self) -> str:
        step = int(self.clock.now.timestamp()) // 30
        if self.last_step is not None and step <= self.last_step:
            self.clock.advance(seconds=30 * (self.last_step - step + 1))
            step = self.last_step + 1
        self.last_step = step
        return self.totp.at(self.clock.now)


# The authenticators of the current test's accounts, by email (the `staff` fixture fills it).
AUTHENTICATORS: dict[str, Authenticator] = {}


def enrol(app, email: str) -> Authenticator:
    """Set up an account's second factor through the operations layer, as if a minute ago."""
    with app.test_request_context():
        account = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == email))
        enrolment = second_factor.begin_enrolment(account, now(), issuer="Test Clinic")
        earlier = now() - timedelta(minutes=1)
        codes = second_factor.confirm_enrolment(account, pyotp.TOTP(enrolment.secret).at(earlier), earlier, None)
        assert codes is not None
    AUTHENTICATORS[email] = Authenticator(enrolment.secret, app.config["CLOCK"], codes)
    return AUTHENTICATORS[email]


@pytest.fixture
def staff(clinic):
    AUTHENTICATORS.clear()
    with clinic.test_request_context():
        for role, email in ACCOUNTS.items():
            add_staff(email, role.value.title(), role, PASSWORD, now(), "ana" if role is StaffRole.PRACTITIONER else None)
    enrol(clinic, ACCOUNTS[StaffRole.ADMIN])  # admins must have a second factor
    return clinic


def csrf_from(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def enter_code(client, location: str, code: str):
    """The second step: the code page at `location`, and the code typed into it."""
    token = csrf_from(client.get(location).get_data(as_text=True))
    return client.post(location, data={"code": code, "csrf_token": token})


def sign_in(client, email, password=PASSWORD, next_page: str | None = None, *, code: bool = True):
    """Sign in with the password, then (code=True) the app's code if the account has one."""
    url = "/staff/sign-in" + (f"?next={quote(next_page, safe='')}" if next_page is not None else "")
    token = csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"email": email, "password": password, "csrf_token": token})
    authenticator = AUTHENTICATORS.get(email.strip().lower())
    if code and authenticator and response.status_code == 303 and "/staff/sign-in/code" in response.location:
        response = enter_code(client, response.location, authenticator.code())
    return response


@pytest.fixture
def login_as(staff):
    """login_as(role) -> a test client signed in with that role."""

    def signed_in_client(role: StaffRole):
        client = staff.test_client()
        assert sign_in(client, ACCOUNTS[role]).status_code == 303
        return client

    return signed_in_client


def test_sign_in_takes_staff_to_the_days_appointments(staff):
    client = staff.test_client()
    client.post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ben", "start": "2027-03-08T10:00:00-08:00", "safety": ["fever"],
        "patient": {"name": "Pat Desk", "email": "pat@example.com", "phone": "213 555 0100", "birth_date": "1980-01-01"},
    })
    response = sign_in(client, "DESK@example.org")
    assert response.status_code == 303 and response.location.endswith("/desk")
    page = client.get("/desk").get_data(as_text=True)
    assert "Pat Desk" in page and "Ben Test" in page and "Urgent flag" in page


@pytest.mark.parametrize(
    "email, password",
    [("desk@example.org", "wrong password!"), ("nobody@example.org", PASSWORD), ("desk@example.org", "")],
)
def test_failed_sign_in_says_the_same_thing_whatever_went_wrong(staff, email, password):
    response = sign_in(staff.test_client(), email, password)
    assert response.status_code == 401
    assert "The email address or password is not right, or the account is not active." in response.get_data(as_text=True)


def test_a_deactivated_account_cannot_sign_in_and_its_sessions_end(staff, login_as):
    desk = login_as(StaffRole.RECEPTIONIST)
    admin = login_as(StaffRole.ADMIN)
    page = admin.get("/admin/staff").get_data(as_text=True)
    with staff.app_context():
        desk_id = db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == ACCOUNTS[StaffRole.RECEPTIONIST]))
    response = admin.post(f"/admin/staff/{desk_id}/deactivate", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert desk.get("/desk").status_code == 302  # the open session ended with the account
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 401


def test_sign_out_ends_the_session_on_the_server(staff, login_as):
    client = login_as(StaffRole.RECEPTIONIST)
    stolen = client.get_cookie("session").value
    page = client.get("/desk").get_data(as_text=True)
    assert client.post("/staff/sign-out", data={"csrf_token": csrf_from(page)}).status_code == 303
    replay = staff.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/desk")
    assert response.status_code == 302 and "/staff/sign-in" in response.location


def test_a_form_from_a_tab_left_open_after_signing_out_says_so_and_leads_to_sign_in(staff, login_as):
    """Signing out in one tab ends the session a form in another tab belonged to: it said the form
    "had expired or was sent twice", and led to the patients' start page (found in a hands-on trial)."""
    client = login_as(StaffRole.RECEPTIONIST)
    form_token = csrf_from(client.get("/desk/book").get_data(as_text=True))  # a tab left open
    page = client.get("/desk").get_data(as_text=True)
    assert client.post("/staff/sign-out", data={"csrf_token": csrf_from(page)}).status_code == 303
    response = client.post("/desk/book", data={"csrf_token": form_token, "name": "Pat Caller"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You had signed out before this form was sent, so nothing was saved. Sign in, then fill the form in again." in page
    # Back to the form after signing in: our pages send no Referer, so it is the form's own address.
    assert '<a href="/staff/sign-in?next=/desk/book">Sign in</a>' in page and "expired or was sent twice" not in page

    other = login_as(StaffRole.RECEPTIONIST)  # a session lost without signing out here (the cookie went)
    form_token = csrf_from(other.get("/desk/book").get_data(as_text=True))
    other.delete_cookie("session")
    page = other.post("/desk/book", data={"csrf_token": form_token, "name": "Pat Caller"}).get_data(as_text=True)
    assert "You were signed out before this form was sent (after 30 minutes without activity, or from another " \
           "tab or device), so nothing was saved." in page


def test_a_one_minute_idle_limit_reads_as_one_minute(staff, database_url, clock):
    """"after 1 minutes without activity" (found in a hands-on trial with STAFF_IDLE_MINUTES=1)."""
    brief = create_app(app_config(database_url, CLOCK=clock, STAFF_IDLE_MINUTES=1))
    try:
        client = brief.test_client()
        assert sign_in(client, ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
        form_token = csrf_from(client.get("/desk/book").get_data(as_text=True))
        clock.advance(minutes=2)
        page = client.get("/desk", follow_redirects=True).get_data(as_text=True)
        assert "your session ended after 1 minute without activity (or 12 hours" in page
        client.delete_cookie("session")
        page = client.post("/desk/book", data={"csrf_token": form_token}).get_data(as_text=True)
        assert "You were signed out before this form was sent (after 1 minute without activity," in page
    finally:
        close_database(brief)


def test_a_refused_form_is_headed_in_words_and_signing_in_leads_back_to_its_page(staff, login_as):
    """Its heading was "Bad Request", and signing in led to the start page, not back to the form
    (found in a hands-on trial)."""
    client = login_as(StaffRole.RECEPTIONIST)
    form_page = "/desk/book?practitioner=ana&start=2027-03-09T10:00:00-08:00"
    form_token = csrf_from(client.get(form_page).get_data(as_text=True))
    client.post("/staff/sign-out", data={"csrf_token": csrf_from(client.get("/desk").get_data(as_text=True))})
    # Sent to its own address, as the page's form is (our pages send no Referer to say where from).
    response = client.post(form_page, data={"csrf_token": form_token, "name": "Pat Caller"})
    page = response.get_data(as_text=True)
    assert "<h1>The form was not saved</h1>" in page and "Bad Request" not in page
    sign_in_link = re.search(r'<a href="([^"]+)">Sign in</a>', page).group(1)
    link = urlsplit(html.unescape(sign_in_link))
    assert link.path == "/staff/sign-in" and parse_qs(link.query) == {"next": [form_page]}
    response = sign_in(client, ACCOUNTS[StaffRole.RECEPTIONIST], next_page=form_page)
    assert response.status_code == 303 and response.location == form_page  # back at the form
    elsewhere = client.post("/staff/sign-out", data={"csrf_token": "forged"},
                            headers={"Referer": "https://evil.example/desk"})  # signed in: a plain refusal
    page = elsewhere.get_data(as_text=True)
    assert elsewhere.status_code == 400 and "<h1>The form could not be sent</h1>" in page
    assert "This form had expired or was sent twice, so nothing was saved." in page and "evil.example" not in page


def test_after_signing_out_a_staff_page_says_so_and_a_timed_out_session_says_it_may_have_run_out(staff, login_as, clock):
    """Found in a hands-on trial: after signing out, the sign-in page said the session had ended
    after 30 minutes without activity."""
    client = login_as(StaffRole.RECEPTIONIST)
    page = client.get("/desk").get_data(as_text=True)
    client.post("/staff/sign-out", data={"csrf_token": csrf_from(page)})
    response = client.get("/desk", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/staff/sign-in"
    assert "You have signed out. Sign in again to see that page." in page and "without activity" not in page

    assert sign_in(client, ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
    assert client.get("/desk").status_code == 200  # signing in again drops the note
    clock.advance(minutes=31)  # left idle: the session ran out, nobody signed out
    response = client.get("/desk", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "your session ended after 30 minutes without activity" in page and "You have signed out" not in page


def test_signing_in_starts_a_new_session(staff):
    client = staff.test_client()
    token = csrf_from(client.get("/book/first-visit").get_data(as_text=True))
    client.post("/book/first-visit", data={"returning": "yes", "csrf_token": token})  # a patient's booking was under way
    before_session = staff.session_interface.get_signing_serializer(staff).loads(client.get_cookie("session").value)
    assert "booking" in before_session
    before = client.get_cookie("session").value
    sign_in(client, ACCOUNTS[StaffRole.RECEPTIONIST])
    after = staff.session_interface.get_signing_serializer(staff).loads(client.get_cookie("session").value)
    assert client.get_cookie("session").value != before
    assert "booking" not in after and set(after) <= {"_user_id", "_fresh", "_id", "csrf_token"}


def test_an_idle_session_times_out(staff, login_as):
    clock = staff.config["CLOCK"]
    client = login_as(StaffRole.RECEPTIONIST)
    clock.advance(minutes=29)
    assert client.get("/desk").status_code == 200  # activity keeps it alive...
    clock.advance(minutes=29)
    assert client.get("/desk").status_code == 200
    clock.advance(minutes=31)  # ...idleness ends it
    assert client.get("/desk").status_code == 302


def test_passwords_are_argon2id_with_rfc_9106_parameters_and_rehashed_when_they_change(database_url, staff):
    """The tests hash with the cheapest parameters (conftest); the app's own are RFC 9106's low-memory
    ones, and a password hashed with others is hashed again with them at its next sign-in."""
    config = app_config(database_url, CLOCK=staff.config["CLOCK"])
    del config["PASSWORD_HASH_PROFILE"]  # the app's own choice
    own = create_app(config)
    with staff.app_context():
        account = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == ACCOUNTS[StaffRole.ADMIN]))
        assert account.password_hash.startswith("$argon2id$")
        assert PasswordHasher.from_parameters(profiles.CHEAPEST).verify(account.password_hash, PASSWORD)
    assert sign_in(own.test_client(), ACCOUNTS[StaffRole.ADMIN]).status_code == 303
    with own.app_context():
        rehashed = db.session.scalar(sa.select(StaffAccount.password_hash).where(StaffAccount.email == ACCOUNTS[StaffRole.ADMIN]))
    assert rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106, second recommended option
    assert not PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY).check_needs_rehash(rehashed)
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.ADMIN]).status_code == 303  # a rehashed password still works
    close_database(own)


def test_sign_in_is_rate_limited(database_url, staff):
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="3 per minute",
                                    CLOCK=staff.config["CLOCK"]))
    client = limited.test_client()
    # Good sign-ins do not count: a clinic's staff often share one network address.
    assert [sign_in(limited.test_client(), ACCOUNTS[StaffRole.ADMIN]).status_code for _ in range(4)] == [303] * 4
    statuses = [sign_in(client, ACCOUNTS[StaffRole.ADMIN], "wrong password!").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert "Please try again in 1 minute" in sign_in(client, ACCOUNTS[StaffRole.ADMIN]).get_data(as_text=True)
    close_database(limited)


@pytest.mark.parametrize(
    "role, path, status",
    [
        (None, "/desk", 302),
        (None, "/admin/staff", 302),
        (StaffRole.RECEPTIONIST, "/admin/staff", 403),
        (StaffRole.PRACTITIONER, "/admin/staff", 403),
        (StaffRole.ADMIN, "/admin/staff", 200),
        (StaffRole.PRACTITIONER, "/desk", 200),
    ],
)
def test_who_may_open_which_staff_page(staff, login_as, role, path, status):
    client = login_as(role) if role else staff.test_client()
    assert client.get(path).status_code == status


def test_a_practitioner_sees_only_their_own_appointments(staff, login_as):
    api = staff.test_client()
    for practitioner, name in (("ana", "Ann Ana"), ("ben", "Bob Ben")):
        api.post("/api/v1/bookings", json={
            "service": "short", "practitioner": practitioner, "start": "2027-03-08T11:00:00-08:00", "safety": [],
            "patient": {"name": name, "email": f"{practitioner}@example.com", "phone": "213 555 0100", "birth_date": "1980-01-01"},
        })
    page = login_as(StaffRole.PRACTITIONER).get("/desk").get_data(as_text=True)
    assert "Ann Ana" in page and "Bob Ben" not in page


def test_an_admin_adds_staff_and_bad_details_are_refused(staff, login_as):
    admin = login_as(StaffRole.ADMIN)
    token = csrf_from(admin.get("/admin/staff").get_data(as_text=True))
    bad = admin.post("/admin/staff", data={"csrf_token": token, "name": "Prac", "email": "prac@example.org",
                                           "role": "practitioner", "practitioner": "", "password": "long enough password"})
    assert "Choose the practitioner this account belongs to" in bad.get_data(as_text=True)
    short = admin.post("/admin/staff", data={"csrf_token": token, "name": "Short", "email": "short@example.org",
                                             "role": "receptionist", "password": "short"})
    assert "Password must be at least 12 characters" in short.get_data(as_text=True)
    good = admin.post("/admin/staff", data={"csrf_token": token, "name": "Ben Test", "email": "ben@example.org",
                                            "role": "practitioner", "practitioner": "ben", "password": "long enough password"})
    assert good.status_code == 303
    assert sign_in(staff.test_client(), "ben@example.org", "long enough password").status_code == 303


def test_the_practitioner_is_chosen_from_a_list_and_has_one_active_account(staff, login_as):
    """The practitioner was a free-text short name, and a second account could be linked to a practitioner
    who had one, so a note would show the wrong author (a hands-on trial)."""
    admin = login_as(StaffRole.ADMIN)
    page = admin.get("/admin/staff").get_data(as_text=True)
    select = page[page.index('<select'):page.index("</select>")]
    assert re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select) == [
        ("", "None (a receptionist or admin)"), ("ana", "Ana Test (has an account)"), ("ben", "Ben Test")]
    assert re.search(r"<select [^>]*aria-describedby=\"practitioner-hint\"[^>]*id=\"practitioner\"", select) or re.search(r"<select [^>]*id=\"practitioner\"[^>]*aria-describedby=\"practitioner-hint\"", select)
    token = csrf_from(page)
    typed = {"csrf_token": token, "name": "Ana Again", "email": "ana.again@example.org", "role": "practitioner",
             "password": "long enough password"}
    second = admin.post("/admin/staff", data=typed | {"practitioner": "ana"}).get_data(as_text=True)
    message = ("Ana Test already has an active account (ana@example.org): a practitioner has one, so that their "
               "notes show who wrote them. Deactivate that account first, or choose another practitioner")
    assert f'<a href="#practitioner">{message}</a>' in second and 'id="practitioner-error"' in second
    assert '<option selected value="ana">' in second or re.search(r'<option[^>]*selected[^>]*value="ana"', second)
    desk = admin.post("/admin/staff", data=typed | {"role": "receptionist", "practitioner": "ben"}).get_data(as_text=True)
    assert "Choose None for a receptionist or admin: only a practitioner&#39;s account belongs to a practitioner" in desk
    with staff.app_context():
        assert db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == "ana.again@example.org")) is None
    said = staff.test_cli_runner().invoke(args=["staff", "add", "ana2@example.org", "--role", "practitioner",
                                                "--practitioner", "ana", "--name", "Ana Two",
                                                "--password", "long enough password"])
    assert said.exit_code == 1 and "practitioner: Ana Test already has an active account" in said.output
    # Deactivated, Ana's account frees her for a new one; the old one then cannot come back beside it.
    with staff.app_context():
        old = db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == ACCOUNTS[StaffRole.PRACTITIONER]))
    assert admin.post(f"/admin/staff/{old}/deactivate", data={"csrf_token": token}).status_code == 303
    assert admin.post("/admin/staff", data=typed | {"practitioner": "ana"}).status_code == 303
    refused = admin.post(f"/admin/staff/{old}/reactivate", data={"csrf_token": token})
    assert refused.status_code == 303
    listing = admin.get(refused.location).get_data(as_text=True)
    assert "Practitioner was not reactivated: Ana Test already has an active account (ana.again@example.org)" in listing
    with staff.app_context():
        assert not db.session.get(StaffAccount, old).is_active


def test_an_empty_new_account_form_names_every_problem_at_once_in_words_for_the_admin(staff, login_as):
    """It said one problem a press (the role, then the email, then the name), as if the admin were
    the new member of staff ("Enter your email address"), and took twelve spaces as a password
    that then signed in (a hands-on trial)."""
    admin = login_as(StaffRole.ADMIN)
    token = csrf_from(admin.get("/admin/staff").get_data(as_text=True))
    page = admin.post("/admin/staff", data={"csrf_token": token, "name": "", "email": "", "password": ""}
                      ).get_data(as_text=True)
    summary = page[page.index('class="error-summary"'):page.index("</ul>")]
    assert re.findall(r'<a href="#(\w+)(?:-0)?">([^<]+)</a>', summary) == [
        ("name", "Enter their full name"), ("email", "Enter their email address"),
        ("role", "Choose the role of this account"), ("password", "Enter a password (12 characters or more)")]
    practitioner = admin.post("/admin/staff", data={"csrf_token": token, "name": "", "email": "p@example.org",
                                                    "role": "practitioner", "practitioner": "", "password": ""}
                              ).get_data(as_text=True)
    assert "Enter their full name" in practitioner and "Choose the practitioner this account belongs to" in practitioner
    spaces = admin.post("/admin/staff", data={"csrf_token": token, "name": "Sam Spaces", "email": "sam@example.org",
                                              "role": "receptionist", "password": " " * 12}).get_data(as_text=True)
    assert "Enter a password with letters, numbers or symbols in it, not spaces alone" in spaces
    with staff.app_context():
        assert db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == "sam@example.org")) is None
    runner = staff.test_cli_runner()
    said = runner.invoke(args=["staff", "add", "", "--role", "receptionist", "--name", " ", "--password", "  "])
    assert said.exit_code == 1
    assert "name: Enter their full name" in said.output and "email: Enter their email address" in said.output
    assert "password: Enter a password with letters" in said.output


def test_flask_staff_add(staff):
    runner = staff.test_cli_runner()
    result = runner.invoke(args=["staff", "add", "new@example.org", "--role", "receptionist", "--name", "New One"],
                           input="a long new password\na long new password\n")
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["staff", "add", "new@example.org", "--role", "admin", "--name", "Again"],
                          input="a long new password\na long new password\n")
    assert again.exit_code == 1 and "already a staff account" in again.output


@pytest.mark.parametrize("asked", ["9999-12-31", "0001-01-01", "yesterday"])
def test_a_date_outside_any_diary_shows_today_instead(login_as, asked):
    page = login_as(StaffRole.RECEPTIONIST).get(f"/desk?date={asked}")
    assert page.status_code == 200 and "Monday, March 8, 2027" in page.get_data(as_text=True)


def test_flask_staff_set_password_gives_a_forgotten_password_a_new_one_and_ends_sessions(staff, login_as):
    desk = login_as(StaffRole.RECEPTIONIST)
    result = staff.test_cli_runner().invoke(args=["staff", "set-password", ACCOUNTS[StaffRole.RECEPTIONIST].upper(),
                                                  "--password", "a brand new passphrase"])
    assert result.exit_code == 0 and "has a new password, and its sessions have ended" in result.output
    assert desk.get("/desk").status_code == 302  # signed out where it was signed in
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 401  # the old one is gone
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST], "a brand new passphrase").status_code == 303
    short = staff.test_cli_runner().invoke(args=["staff", "set-password", ACCOUNTS[StaffRole.RECEPTIONIST],
                                                 "--password", "short"])
    assert short.exit_code == 1 and "at least" in short.output
    unknown = staff.test_cli_runner().invoke(args=["staff", "set-password", "nobody@example.org", "--password", "x" * 20])
    assert unknown.exit_code == 1 and "no staff account" in unknown.output
    assert audit_of_passwords(staff) == [("password_set", "Server command line", "command", "Receptionist", "")]
    assert not account_named(staff, ACCOUNTS[StaffRole.RECEPTIONIST]).must_change_password  # whoever runs it decides


def test_who_is_signed_in_is_read_as_plain_values_and_the_account_is_made_from_that_row(staff, login_as, count_queries):
    """Every staff page asks who is signed in; the answer comes from one read, outside the request's
    transaction, and the account's entity (for pages that pass it on) is made from the same row:
    the one a load would give, in the request's session, with nothing to write and no second read."""
    client = login_as(StaffRole.PRACTITIONER)
    cookie = client.get_cookie("session").value
    with staff.test_request_context("/clinician", headers={"Cookie": f"session={cookie}"}):
        with count_queries() as counted:
            who = current_user._get_current_object()
            assert (who.role, who.name, who.is_authenticated) == (StaffRole.PRACTITIONER, "Practitioner", True)
            assert not db.session().in_transaction()  # read on a connection of its own
            account = who.account
            assert account is who.account and account in db.session
            assert not db.session.new and not db.session.dirty
        assert counted.total == 1
        with db.engine.connect() as connection:
            row = connection.execute(sa.select(StaffAccount.__table__).where(StaffAccount.id == who.account_id)).one()
        assert {key: getattr(account, key) for key in row._mapping} == dict(row._mapping)
        assert account.practitioner.slug == "ana" and who.practitioner_id == account.practitioner_id
        account.name = "Ana Renamed"  # a change to the entity is what the plain values say from then on
        assert who.name == "Ana Renamed" and account in db.session.dirty
        db.session.rollback()
        assert who.name == "Practitioner"  # read again from the database, as any loaded entity is


def test_a_signed_in_request_that_finds_its_account_loaded_uses_that_one(staff, login_as):
    client = login_as(StaffRole.RECEPTIONIST)
    cookie = client.get_cookie("session").value
    with staff.test_request_context("/desk", headers={"Cookie": f"session={cookie}"}):
        loaded = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == ACCOUNTS[StaffRole.RECEPTIONIST]))
        assert current_user.account is loaded


def test_a_change_reads_the_signed_in_account_again_under_its_lock(staff, login_as):
    """The account made from the session's look-up holds what was read before the request's change
    took its lock; a change (write_transaction) reads it as it reads anything else, under the lock,
    so what another process changed in between (a new name, a deactivation) is what it sees, whether
    the view asked for the account before its change began or only inside it."""
    client = login_as(StaffRole.RECEPTIONIST)
    cookie = client.get_cookie("session").value
    for asked_before in (True, False):
        with staff.test_request_context("/desk", headers={"Cookie": f"session={cookie}"}):
            account_id = current_user.account_id
            if asked_before:
                assert current_user.account.name == "Receptionist"  # as a view takes it to pass it on
            with db.engine.begin() as elsewhere:  # another process, between the look-up and the change
                elsewhere.execute(sa.update(StaffAccount).where(StaffAccount.id == account_id)
                                  .values(name="Renamed Elsewhere", is_active=False))
            with write_transaction():
                under_lock = (current_user.account.name, current_user.account.is_active, current_user.name)
            assert under_lock == ("Renamed Elsewhere", False, "Renamed Elsewhere"), asked_before
        with staff.app_context():
            with write_transaction():
                db.session.execute(sa.update(StaffAccount).where(StaffAccount.id == account_id)
                                   .values(name="Receptionist", is_active=True))


# --- a password of one's own ----------------------------------------------------------------

NEW_PASSWORD = "a passphrase of my own"


def account_named(app, email: str) -> StaffAccount:
    with app.app_context():
        found = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == email))
        db.session.expunge(found)
        return found


def audit_of_passwords(app) -> list[tuple]:
    with app.app_context():
        return [(entry.action, entry.staff_name, entry.staff_role, entry.subject_name, entry.address)
                for entry in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("password%"))
                                                .order_by(AuditEntry.id))]


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, again=None, path="/staff/password"):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "current_password": current, "new_password": new,
                                   "new_password_again": new if again is None else again})


def test_staff_change_their_own_password_from_the_staff_bar_and_their_other_sessions_end(staff, login_as):
    desk, elsewhere = login_as(StaffRole.RECEPTIONIST), login_as(StaffRole.RECEPTIONIST)
    assert '<a href="/staff/password">Password</a>' in desk.get("/desk/patients").get_data(as_text=True)
    page = desk.get("/staff/password")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Change your password" in page.get_data(as_text=True)

    changed = change_password(desk)
    assert changed.status_code == 303 and changed.location == "/desk"
    assert "Your password is changed. You are still signed in here" in desk.get("/desk").get_data(as_text=True)
    ended = elsewhere.get("/desk")
    assert ended.status_code == 302  # the other session ended; this one stays
    said = elsewhere.get(ended.location).get_data(as_text=True)
    assert "or was ended by a sign-out elsewhere or a new password" in said  # not blamed on idling alone
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 401
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST], NEW_PASSWORD).status_code == 303
    assert audit_of_passwords(staff) == [("password_change", "Receptionist", "receptionist", "Receptionist", "127.0.0.1")]
    assert not account_named(staff, ACCOUNTS[StaffRole.RECEPTIONIST]).must_change_password


def test_the_page_asked_for_is_where_a_changed_password_leads(login_as):
    admin = login_as(StaffRole.ADMIN)  # with a second factor: the code is not asked again
    changed = change_password(admin, path="/staff/password?next=%2Fadmin%2Fstaff")
    assert changed.status_code == 303 and changed.location == "/admin/staff"
    hostile = change_password(admin, current=NEW_PASSWORD, new="yet another passphrase",
                              path="/staff/password?next=%2F%2Fevil.example")
    assert hostile.location == "/desk"


WRONG = "correct horse batterz"


@pytest.mark.parametrize("current, new, again, expected", [
    ("", NEW_PASSWORD, None, [("current_password", "Enter your current password")]),
    (WRONG, NEW_PASSWORD, None, [("current_password", "Your current password is not right: type the one you signed in with")]),
    (PASSWORD, "short pass", None, [("new_password", "Password must be at least 12 characters")]),
    (PASSWORD, " " * 14, None, [("new_password", "Enter a password with letters, numbers or symbols in it, not spaces alone")]),
    (PASSWORD, "", "", [("new_password", "Enter a password (12 characters or more)"),
                        ("new_password_again", "Enter the new password again")]),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", [
        ("new_password_again", "The new password and the one typed again are not the same: type both again")]),
    (PASSWORD, PASSWORD, None, [("new_password", "Choose a new password, not the one you have now")]),
    (WRONG, "short pass", "short pasz", [
        ("current_password", "Your current password is not right: type the one you signed in with"),
        ("new_password", "Password must be at least 12 characters"),
        ("new_password_again", "The new password and the one typed again are not the same: type both again")]),
], ids=["no current", "wrong current", "too short", "spaces alone", "empty", "not the same", "unchanged", "all wrong"])
def test_a_refused_password_change_names_each_problem_echoes_nothing_and_changes_nothing(staff, login_as, current, new,
                                                                                         again, expected):
    desk, elsewhere = login_as(StaffRole.RECEPTIONIST), login_as(StaffRole.RECEPTIONIST)
    refused = change_password(desk, current, new, again)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and refused.headers["Cache-Control"] == "no-store"
    summary = page[page.index('class="error-summary"'):page.index("</ul>")]
    assert re.findall(r'<a href="#(\w+)">([^<]+)</a>', summary) == [(field, html.escape(message, quote=True))
                                                                    for field, message in expected]
    assert page.count('type="password" value=""') == 3  # nothing typed is written back
    for typed in {current, new, again} - {None, "", " " * 14}:
        assert typed not in page
    assert elsewhere.get("/desk").status_code == 200  # no session ended
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303  # the password stands
    assert audit_of_passwords(staff) == []


def test_a_password_change_needs_the_page_s_csrf_token(staff, login_as):
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = desk.post("/staff/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                 "new_password_again": NEW_PASSWORD})
    assert refused.status_code == 400
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
    assert staff.test_client().get("/staff/password").status_code == 302  # not signed in: sent to sign in


def test_guessing_the_current_password_counts_towards_the_sign_in_limit(database_url, staff):
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="3 per minute",
                                    CLOCK=staff.config["CLOCK"]))
    desk = limited.test_client()
    assert sign_in(desk, ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303  # a good sign-in does not count
    assert [change_password(desk, current=f"guess number {n}").status_code for n in range(3)] == [200] * 3
    paused = change_password(desk)  # the right one, but the account's allowance is used up
    assert paused.status_code == 429 and "Please try again in 1 minute" in paused.get_data(as_text=True)
    assert sign_in(limited.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 429  # and signing in
    close_database(limited)
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303  # unchanged


def test_the_upgrade_asks_no_existing_account_to_change_its_password_and_the_downgrade_drops_the_ask(staff):
    """Migration 0034: accounts from before keep their passwords, unasked; one asked can go back down."""
    with staff.app_context():
        with write_transaction():
            db.session.execute(sa.update(StaffAccount).where(StaffAccount.role == StaffRole.RECEPTIONIST)
                               .values(must_change_password=True))
        db.session.remove()
        flask_migrate.downgrade(revision="0033")
        columns = {column["name"] for column in sa.inspect(db.engine).get_columns("staff_account")}
        assert "must_change_password" not in columns
        flask_migrate.upgrade()
        assert db.session.scalars(sa.select(StaffAccount.must_change_password)).all() == [False] * len(ACCOUNTS)
        db.session.remove()
    assert sign_in(staff.test_client(), ACCOUNTS[StaffRole.RECEPTIONIST]).location == "/desk"


def test_the_api_does_not_read_a_signed_in_browsers_session_cookie(login_as):
    """The JSON API takes no cookies (design.md), which is why it needs no CSRF token: a request there
    from a signed-in staff member's browser is not opened as their session, answers with no cookie
    and no Vary: Cookie, and leaves their session as it was for the staff pages."""
    client = login_as(StaffRole.RECEPTIONIST)
    with client:
        answer = client.get("/api/v1/services")
        assert answer.status_code == 200
        assert not session and not current_user.is_authenticated  # nobody signed in, as for any API caller
    assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")
    booked = client.post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ben", "start": "2027-03-08T10:00:00-08:00", "safety": [],
        "patient": {"name": "Pat Api", "email": "pat.api@example.com", "phone": "213 555 0100",
                    "birth_date": "1980-01-01"}})
    assert booked.status_code == 201 and "Set-Cookie" not in booked.headers
    assert client.get("/desk").status_code == 200  # still signed in on the staff pages
