"""Staff sign-in hardening, on both databases: the second factor (TOTP and recovery codes), safe
redirects after sign-in, sign-in limits per account and per address, and the absolute session
lifetime.

Codes are computed with pyotp from the key the set-up page shows (or, for the fixture's admin,
the key set up through the operations layer), as the phone app would.
"""

# ruff: noqa: F811 (the fixtures imported from test_staff are parameters of the tests)
from __future__ import annotations

import hashlib
import html
import re
from html import unescape
from urllib.parse import quote, unquote, urljoin, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking import create_app
from booking.auth.next_page import same_site_path
from booking.clock import now
from booking.extensions import db
from booking.models import AuditEntry, Clinic, StaffAccount, StaffRecoveryCode, StaffRole, StaffSecondFactor
from booking.operations import second_factor
from booking.operations.clinic_file import export_clinic_file, import_clinic_file
from booking.operations.staff import add_staff
from booking.sealing import Unsealable, seal, unseal
from tests.conftest import app_config, close_database
from tests.test_desk import submit
from tests.test_staff import (ACCOUNTS, AUTHENTICATORS, PASSWORD, csrf_from, enter_code, login_as,  # noqa: F401
                              sign_in, staff)

ADMIN, DESK, ANA = (ACCOUNTS[role] for role in (StaffRole.ADMIN, StaffRole.RECEPTIONIST, StaffRole.PRACTITIONER))
NEW_ADMIN = "new.admin@example.org"
STAFF_PAGES = ["/desk", "/desk/week", "/desk/patients", "/clinician", "/admin", "/admin/staff", "/staff/second-factor"]


def account_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == email))


def add_admin(app, email: str = NEW_ADMIN) -> None:
    with app.test_request_context():
        add_staff(email, "Nova Admin", StaffRole.ADMIN, PASSWORD, now())


def session_of(app, client) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(client.get_cookie("session").value)


def key_on(page: str) -> str:
    """The key as the set-up page shows it for typing into an app: groups of four."""
    grouped = unescape(re.search(r'<p class="secret-key"><code>([A-Z2-7 ]+)</code></p>', page).group(1))
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{4}", grouped)
    return grouped.replace(" ", "")


def set_up_in_the_page(client, location: str, clock) -> tuple[str, list[str], object]:
    """On the set-up page: read the key, type the app's code; gives the key, the recovery codes
    shown and the final response."""
    page = client.get(location).get_data(as_text=True)
    secret = key_on(page)
    response = client.post(location, data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_from(page)})
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>",
                       response.get_data(as_text=True))
    return secret, codes, response


def home_or_path(location: str) -> str:
    """The path a Location leads to on this site; fails for another site."""
    # A path is read as it is: urljoin would drop the ";" of "/;" (old URL parameters) and
    # report a different path from the one the browser is sent to.
    parts = urlsplit("http://clinic.test" + location if location.startswith("/") and not location.startswith("//")
                     else urljoin("http://clinic.test/staff/sign-in", location))
    assert (parts.scheme, parts.netloc) == ("http", "clinic.test"), location
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- setting it up ----------------------------------------------------------------------

def test_a_new_admin_sets_up_an_authenticator_app_straight_after_the_password(staff):
    add_admin(staff)
    clock = staff.config["CLOCK"]
    client = staff.test_client()
    response = sign_in(client, NEW_ADMIN)
    assert response.status_code == 303 and response.location.startswith("/staff/second-factor/set-up")
    # Half signed in: the session holds only who and until when, and no staff page opens.
    held = session_of(staff, client)
    assert set(held) <= {"staff_sign_in_pending", "csrf_token"}
    assert set(held["staff_sign_in_pending"]) == {"id", "until"}
    assert held["staff_sign_in_pending"]["id"] == account_id(staff, NEW_ADMIN)
    for path in STAFF_PAGES:
        refused = client.get(path)
        assert refused.status_code == 302 and "/staff/sign-in" in refused.location, path

    page = client.get(response.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml' in text and 'alt="QR code that adds new.admin@example.org' in text
    assert "6 digits, every 30 seconds" in text
    secret = key_on(text)
    assert client.get(response.location).get_data(as_text=True).count(" ".join(re.findall("....", secret))) == 1
    assert key_on(client.get(response.location).get_data(as_text=True)) == secret  # a reload keeps the key

    wrong = client.post(response.location, data={"code": "000000" if pyotp.TOTP(secret).at(clock.now) != "000000"
                                                  else "111111", "csrf_token": csrf_from(text)})
    assert wrong.status_code == 401 and "That code does not match" in wrong.get_data(as_text=True)
    assert client.get("/desk").status_code == 302

    done = client.post(response.location, data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_from(text)})
    shown = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>", shown)
    assert len(codes) == 10 and len(set(codes)) == 10 and "They are shown only now" in shown
    assert 'href="/desk"' in shown  # continue to the admin's start page
    assert client.get("/desk").status_code == 200  # signed in now
    with staff.app_context():
        stored = db.session.scalars(sa.select(StaffRecoveryCode.code_hash)).all()
        row = db.session.get(StaffSecondFactor, account_id(staff, NEW_ADMIN))
        assert row.is_on and secret not in row.secret_sealed
    for code in codes:  # only the hashes are kept
        assert hashlib.sha256(code.replace("-", "").encode()).hexdigest() in stored
        assert code not in " ".join(stored)

    # The next sign-in asks for the app's code.
    again = staff.test_client()
    clock.advance(seconds=30)
    step = sign_in(again, NEW_ADMIN, code=False)
    assert step.location.startswith("/staff/sign-in/code")
    assert enter_code(again, step.location, pyotp.TOTP(secret).at(clock.now)).status_code == 303
    assert again.get("/admin").status_code == 200


def test_a_wrong_code_is_not_enough_and_a_half_signed_in_person_reaches_nothing(staff):
    client = staff.test_client()
    step = sign_in(client, ADMIN, code=False)
    assert step.status_code == 303 and step.location == "/staff/sign-in/code"
    for path in STAFF_PAGES:
        assert client.get(path).status_code == 302, path
    assert client.get("/staff/second-factor/set-up").status_code == 303  # it is on: the code, not a new key
    for typed in ("123456", "abcd-efgh-jkmn-pqrs", "12345", "not a code"):
        response = enter_code(client, step.location, typed)
        assert response.status_code in (200, 401) and client.get("/desk").status_code == 302, typed
    assert "Enter the 6-digit code your authenticator app shows" in enter_code(client, step.location, "1").get_data(as_text=True)
    response = enter_code(client, step.location, AUTHENTICATORS[ADMIN].code())
    assert response.status_code == 303 and response.location == "/desk"
    assert client.get("/admin/staff").status_code == 200


def test_signing_in_with_the_code_starts_a_new_session_holding_the_server_session_only(staff):
    client = staff.test_client()
    sign_in(client, ADMIN)
    assert set(session_of(staff, client)) <= {"_user_id", "_fresh", "_id", "csrf_token"}


def test_a_code_works_once_and_a_phone_clock_one_step_off_is_allowed(staff):
    clock = staff.config["CLOCK"]
    totp = AUTHENTICATORS[ADMIN].totp
    first = staff.test_client()
    code = totp.at(clock.now)
    assert enter_code(first, sign_in(first, ADMIN, code=False).location, code).status_code == 303
    replay = staff.test_client()
    response = enter_code(replay, sign_in(replay, ADMIN, code=False).location, code)
    assert response.status_code == 401 and "was used already" in response.get_data(as_text=True)
    # The code of an earlier step is refused too, once a later one was accepted...
    assert enter_code(replay, "/staff/sign-in/code", totp.at(clock.now, counter_offset=-1)).status_code == 401
    # ...but a phone 30 seconds ahead gives the next step's code, which is accepted once.
    assert enter_code(replay, "/staff/sign-in/code", totp.at(clock.now, counter_offset=1)).status_code == 303
    late = staff.test_client()
    clock.advance(seconds=90)  # three steps on: the code of two steps ago is too old
    assert enter_code(late, sign_in(late, ADMIN, code=False).location, totp.at(clock.now, counter_offset=-2)).status_code == 401
    assert enter_code(late, "/staff/sign-in/code", totp.at(clock.now, counter_offset=2)).status_code == 401
    assert enter_code(late, "/staff/sign-in/code", totp.at(clock.now)).status_code == 303


def test_a_recovery_code_signs_in_once_and_is_crossed_off(staff):
    authenticator = AUTHENTICATORS[ADMIN]
    code = authenticator.recovery_codes[3]
    client = staff.test_client()
    typed = " " + code.upper().replace("-", " ") + " "  # as someone might type it from paper
    response = enter_code(client, sign_in(client, ADMIN, code=False).location, typed)
    assert response.status_code == 303
    shown = html.unescape(client.get(response.location).get_data(as_text=True))
    assert "You have 9 left" in shown
    # An admin cannot reset their own, and may be the only one (the demo's): true advice for them.
    assert ("If your phone is lost, another admin can reset your second factor under Settings, Staff accounts; or "
            "whoever runs the server can, with flask --app booking staff reset-second-factor admin@example.org. "
            "Then set it up again.") in shown
    assert "ask the clinic's admin" not in shown
    with staff.app_context():
        used = db.session.scalars(sa.select(StaffRecoveryCode).where(StaffRecoveryCode.used_at.is_not(None))).all()
        assert [row.code_hash for row in used] == [hashlib.sha256(code.replace("-", "").encode()).hexdigest()]
    again = staff.test_client()
    assert enter_code(again, sign_in(again, ADMIN, code=False).location, code).status_code == 401
    assert "9 unused recovery codes" in client.get("/staff/second-factor").get_data(as_text=True)


def test_the_key_is_sealed_so_a_database_dump_alone_cannot_make_codes(staff, database_url):
    admin_id = account_id(staff, ADMIN)
    secret = AUTHENTICATORS[ADMIN].totp.secret
    with staff.app_context():
        sealed = db.session.get(StaffSecondFactor, admin_id).secret_sealed
        # Moved onto another account's row, the sealed key does not open.
        desk = db.session.get(StaffAccount, account_id(staff, DESK))
        db.session.add(StaffSecondFactor(staff_id=desk.id, secret_sealed=sealed, started_at=now(), enabled_at=now()))
        db.session.commit()
    assert secret not in sealed and secret.lower() not in sealed.lower()
    assert unseal(sealed, secret_key="tests-only-secret", purpose=second_factor.SEALING_PURPOSE,
                  context=str(admin_id)) == secret
    with pytest.raises(Unsealable):
        unseal(sealed, secret_key="another key", purpose=second_factor.SEALING_PURPOSE, context=str(admin_id))
    desk_client = staff.test_client()
    step = sign_in(desk_client, DESK, code=False)
    assert enter_code(desk_client, step.location, AUTHENTICATORS[ADMIN].code()).status_code == 401
    # Another SECRET_KEY (a copy of the database elsewhere) cannot check codes either.
    elsewhere = create_app(app_config(database_url, SECRET_KEY="another key", CLOCK=staff.config["CLOCK"]))
    client = elsewhere.test_client()
    step = sign_in(client, ADMIN, code=False)
    assert enter_code(client, step.location, AUTHENTICATORS[ADMIN].code()).status_code == 401
    close_database(elsewhere)


def test_sealing_refuses_any_change():
    sealed = seal("JBSWY3DPEHPK3PXP", secret_key="k", purpose="p", context="7")
    assert unseal(sealed, secret_key="k", purpose="p", context="7") == "JBSWY3DPEHPK3PXP"
    assert seal("JBSWY3DPEHPK3PXP", secret_key="k", purpose="p", context="7") != sealed  # a fresh nonce each time
    for changed in (sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1], sealed[:5] + sealed[6:], "", "g1.",
                    "x" + sealed):
        with pytest.raises(Unsealable):
            unseal(changed, secret_key="k", purpose="p", context="7")
    for other in ({"secret_key": "k2", "purpose": "p", "context": "7"}, {"secret_key": "k", "purpose": "q", "context": "7"},
                  {"secret_key": "k", "purpose": "p", "context": "8"}):
        with pytest.raises(Unsealable):
            unseal(sealed, **other)


def test_the_step_between_password_and_code_expires(staff):
    clock = staff.config["CLOCK"]
    client = staff.test_client()
    step = sign_in(client, ADMIN, code=False)
    token = csrf_from(client.get(step.location).get_data(as_text=True))
    clock.advance(minutes=11)
    response = client.post(step.location, data={"code": AUTHENTICATORS[ADMIN].code(), "csrf_token": token})
    assert response.status_code == 303 and response.location == "/staff/sign-in"
    assert "took too long" in client.get(response.location).get_data(as_text=True)
    assert client.get("/desk").status_code == 302


def test_a_receptionist_may_turn_it_on_and_other_sessions_end(staff, login_as):  # noqa: F811
    clock = staff.config["CLOCK"]
    elsewhere = login_as(StaffRole.RECEPTIONIST)  # the same person, signed in on another computer
    here = login_as(StaffRole.RECEPTIONIST)
    desk_page = here.get("/desk").get_data(as_text=True)
    assert 'href="/staff/second-factor">Second factor</a>' in desk_page
    status = here.get("/staff/second-factor").get_data(as_text=True)
    assert "Your second factor is off" in status and 'href="/staff/second-factor/set-up"' in status
    secret, codes, response = set_up_in_the_page(here, "/staff/second-factor/set-up", clock)
    assert response.status_code == 200 and len(codes) == 10
    assert 'href="/staff/second-factor"' in response.get_data(as_text=True)
    assert here.get("/desk").status_code == 200  # the enroller's own session stays
    assert elsewhere.get("/desk").status_code == 302  # every other one has ended
    assert "Your second factor is on" in here.get("/staff/second-factor").get_data(as_text=True)
    assert here.get("/staff/second-factor/set-up").status_code == 302  # on already: back to the status page
    clock.advance(seconds=30)
    client = staff.test_client()
    step = sign_in(client, DESK, code=False)
    assert step.location == "/staff/sign-in/code"
    assert enter_code(client, step.location, pyotp.TOTP(secret).at(clock.now)).status_code == 303


def test_other_staff_sign_in_with_the_password_alone_unless_the_clinic_asks_everyone(staff, login_as):  # noqa: F811
    assert sign_in(staff.test_client(), DESK, code=False).location == "/desk"
    already_in = login_as(StaffRole.RECEPTIONIST)  # signed in with the password alone, before the change
    assert already_in.get("/desk").status_code == 200
    admin = login_as(StaffRole.ADMIN)
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "Ask every member of staff for a second factor" in page
    from tests.test_admin import SETTINGS
    assert submit(admin, "/admin/settings", SETTINGS | {"second_factor_for_all_staff": "y"}).status_code == 303
    with staff.app_context():
        assert db.session.get(Clinic, 1).second_factor_for_all_staff is True
        exported = export_clinic_file()
    assert "second_factor_for_all_staff = true" in exported
    assert "Set up at next sign-in" in admin.get("/admin/staff").get_data(as_text=True)
    # A session opened with the password alone ends: the next page asks to sign in (and set one up).
    refused = already_in.get("/desk")
    assert refused.status_code == 302 and refused.location.startswith("/staff/sign-in")
    assert admin.get("/admin/staff").status_code == 200  # the admin, who has one, carries on
    response = sign_in(staff.test_client(), DESK)
    assert response.location.startswith("/staff/second-factor/set-up")
    practitioner = staff.test_client()
    _, codes, done = set_up_in_the_page(practitioner, sign_in(practitioner, ANA).location, staff.config["CLOCK"])
    assert len(codes) == 10 and 'href="/clinician"' in done.get_data(as_text=True)
    assert practitioner.get("/clinician").status_code == 200
    # Off again: those who have one keep it; those without sign in with the password.
    assert submit(admin, "/admin/settings", SETTINGS).status_code == 303
    assert sign_in(staff.test_client(), DESK, code=False).location == "/desk"
    assert sign_in(staff.test_client(), ANA, code=False).location == "/staff/sign-in/code"


def test_the_clinic_file_carries_the_setting_both_ways(staff):
    with staff.app_context():
        exported = export_clinic_file()
        assert "second_factor_for_all_staff = false" in exported
        import_clinic_file(exported.replace("second_factor_for_all_staff = false", "second_factor_for_all_staff = true"))
        assert db.session.get(Clinic, 1).second_factor_for_all_staff is True
        assert export_clinic_file() == exported.replace("second_factor_for_all_staff = false",
                                                        "second_factor_for_all_staff = true")


def test_an_admin_resets_another_accounts_second_factor(staff, login_as):  # noqa: F811
    clock = staff.config["CLOCK"]
    enrolled = staff.test_client()
    assert sign_in(enrolled, ANA).status_code == 303  # the password alone; she chooses a second factor
    secret, _, _ = set_up_in_the_page(enrolled, "/staff/second-factor/set-up", clock)
    assert enrolled.get("/clinician").status_code == 200
    ana_id = account_id(staff, ANA)
    admin = login_as(StaffRole.ADMIN)
    listing = admin.get("/admin/staff").get_data(as_text=True)
    reset_path = f"/admin/staff/{ana_id}/second-factor/reset"
    assert f'action="{reset_path}"' in listing
    assert f'action="/admin/staff/{account_id(staff, ADMIN)}/second-factor/reset"' not in listing  # not their own
    assert admin.post(reset_path).status_code == 400  # no CSRF token: refused
    assert enrolled.get("/clinician").status_code == 200
    response = admin.post(reset_path, data={"csrf_token": csrf_from(listing)})
    assert response.status_code == 303
    reset = admin.get(response.location).get_data(as_text=True)
    assert re.search(r"Second factor reset for [^<.]+\. Their sessions have ended\.", reset)
    assert enrolled.get("/clinician").status_code == 302  # all of Ana's sessions ended
    with staff.app_context():
        assert db.session.get(StaffSecondFactor, ana_id) is None
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(StaffRecoveryCode)
                                     .where(StaffRecoveryCode.staff_id == ana_id))
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "second_factor_reset"))
        assert (entry.staff_id, entry.staff_name, entry.subject_staff_id, entry.subject_name, entry.at) == (
            account_id(staff, ADMIN), "Admin", ana_id, "Practitioner", clock.now)
    audit = admin.get("/admin/audit?action=second_factor_reset").get_data(as_text=True)
    assert "Reset a second factor" in audit and "Staff account: Practitioner" in audit
    # Not required of a practitioner: the password alone signs her in again, and she may set it up anew.
    assert sign_in(staff.test_client(), ANA, code=False).location == "/clinician"
    own = admin.post(f"/admin/staff/{account_id(staff, ADMIN)}/second-factor/reset",
                     data={"csrf_token": csrf_from(listing)})
    assert "You cannot reset your own second factor" in admin.get(own.location).get_data(as_text=True)
    assert secret


def test_a_reset_admin_sets_it_up_again_at_the_next_sign_in(staff):
    runner = staff.test_cli_runner()
    result = runner.invoke(args=["staff", "reset-second-factor", ADMIN.upper()])
    assert result.exit_code == 0, result.output
    assert "then is asked to set up an authenticator app" in result.output
    with staff.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "second_factor_reset"))
        assert (entry.staff_id, entry.staff_name, entry.subject_name) == (None, "Server command line", "Admin")
    assert sign_in(staff.test_client(), ADMIN).location.startswith("/staff/second-factor/set-up")
    assert runner.invoke(args=["staff", "reset-second-factor", "nobody@example.org"]).exit_code == 1


def test_flask_staff_add_tells_how_a_new_admin_signs_in(staff):
    runner = staff.test_cli_runner()
    result = runner.invoke(args=["staff", "add", "boss@example.org", "--role", "admin", "--name", "Boss"],
                           input="a long new password\na long new password\n")
    assert result.exit_code == 0, result.output
    assert "signs in at /staff/sign-in with the password, then is asked to set up an authenticator app" in result.output
    desk = runner.invoke(args=["staff", "add", "front@example.org", "--role", "receptionist", "--name", "Front"],
                         input="a long new password\na long new password\n")
    assert "with the password alone" in desk.output


def test_flask_demo_prints_what_the_admin_does_at_first_sign_in(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com  password: demo-admin-password  then set up an authenticator app" in result.output
    assert "desk@example.com  password: demo-desk-password\n" in result.output
    assert "scan the QR code" in result.output and "pyotp.TOTP" in result.output
    again = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert "demo-admin-password  then set up an authenticator app" in again.output


# --- where sign-in leads --------------------------------------------------------------------

HOSTILE_NEXT = [
    "/%09/evil.example", "/\t/evil.example", "//evil.example", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "/\\/evil.example", "https://evil.example/desk", "http:/evil.example", "javascript:alert(1)",
    "evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example", "/%5c%5cevil.example",
    "/%252F%252Fevil.example", "/\n/evil.example", "/desk\r\nSet-Cookie: x=1", "/%0d%0aSet-Cookie:x=1",
    "/\x0b/evil.example", "/\x7f/evil.example", "/\u2028/evil.example", "/\u3000/evil.example", " //evil.example",
    "/ /evil.example", "//%09evil.example", "/%00", "\x00", "",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("hostile", HOSTILE_NEXT, ids=[repr(value)[:40] for value in HOSTILE_NEXT])
def test_a_hostile_next_goes_to_the_start_page(staff, hostile):
    client = staff.test_client()
    token = csrf_from(client.get("/staff/sign-in").get_data(as_text=True))
    response = client.post(f"/staff/sign-in?next={quote(hostile, safe='')}",
                           data={"email": DESK, "password": PASSWORD, "csrf_token": token})
    if "\x00" in hostile:
        assert response.status_code == 400  # a NUL character: refused before any view, as everywhere
    else:
        assert response.status_code == 303 and response.location == "/desk"


@pytest.mark.parametrize("hostile", ["/%09/evil.example", "//evil.example", "/\\evil.example", "/a\nb"])
def test_a_hostile_next_carried_through_the_code_step_goes_to_the_start_page(staff, hostile):
    client = staff.test_client()
    step = sign_in(client, ADMIN, next_page=hostile, code=False)
    assert step.location == "/staff/sign-in/code"  # not carried at all
    response = enter_code(client, step.location, AUTHENTICATORS[ADMIN].code())
    assert response.location == "/desk"


def test_the_page_asked_for_is_carried_through_the_code_step(staff):
    client = staff.test_client()
    asked = client.get("/admin/staff?x=1")
    assert asked.status_code == 302
    target = asked.location  # /staff/sign-in?next=..., as Flask-Login writes it
    token = csrf_from(client.get(target).get_data(as_text=True))
    step = client.post(target, data={"email": ADMIN, "password": PASSWORD, "csrf_token": token})
    assert step.location == "/staff/sign-in/code?next=/admin/staff?x%3D1"
    response = enter_code(client, step.location, AUTHENTICATORS[ADMIN].code())
    assert response.location == "/admin/staff?x=1"


def test_the_page_asked_for_is_carried_through_setting_it_up(staff):
    add_admin(staff)
    client = staff.test_client()
    step = sign_in(client, NEW_ADMIN, next_page="/admin/audit")
    assert step.location == "/staff/second-factor/set-up?next=/admin/audit"
    _, _, done = set_up_in_the_page(client, step.location, staff.config["CLOCK"])
    assert 'href="/admin/audit"' in done.get_data(as_text=True)


def test_a_signed_in_visitor_to_the_sign_in_page_goes_to_a_safe_next(login_as):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    assert desk.get("/staff/sign-in?next=/desk/week").location == "/desk/week"
    assert desk.get("/staff/sign-in?next=/%09/evil.example").location == "/desk"
    assert desk.get("/staff/sign-in?next=%0d%0a").location == "/desk"


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_same_site_path_gives_a_path_on_this_site_or_nothing(value):
    found = same_site_path(value)
    if found is not None:
        assert found == value and found.startswith("/") and not found.startswith("//")
        assert all(0x21 <= ord(c) <= 0x7E for c in found) and "\\" not in found
        assert urlsplit(urljoin("https://clinic.test/staff/sign-in", found)).netloc == "clinic.test"


NEXT_VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="/\\%:.?#@ \t\n\r2fFcC5evil", max_size=30),
    st.builds(lambda a, b: a + b, st.sampled_from(["/", "//", "/\\", "/%09/", "/%2f", "https://", ""]),
              st.text(max_size=20)),
)


@given(NEXT_VALUES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_whatever_next_is_sign_in_leads_to_this_site_and_never_fails(staff, value):
    client = staff.test_client()
    token = csrf_from(client.get("/staff/sign-in").get_data(as_text=True))
    response = client.post(f"/staff/sign-in?next={quote(value, safe='')}",
                           data={"email": DESK, "password": PASSWORD, "csrf_token": token})
    assert response.status_code < 500
    if response.status_code in (301, 302, 303, 307, 308):
        path = home_or_path(response.location)
        # The Location header carries the path percent-encoded ("/<" is sent as "/%3C"): the same page.
        assert path == "/desk" or unquote(path) == unquote(same_site_path(value) or "")
        assert not response.location.startswith("//") and "\\" not in response.location


# --- sign-in limits ---------------------------------------------------------------------------

@pytest.fixture
def limited(database_url, staff):
    """The same clinic served with the sign-in limits on: 3 failures per account, 5 per address."""
    app = create_app(app_config(database_url, RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="3 per 15 minutes",
                                STAFF_SIGN_IN_ADDRESS_LIMIT="5 per 15 minutes", CLOCK=staff.config["CLOCK"]))
    yield app
    close_database(app)


def from_address(app, address: str):
    """A browser at this network address (the test client's REMOTE_ADDR; no traffic leaves the process)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failures_are_counted_per_account_whatever_the_address(limited):
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert sign_in(from_address(limited, address), DESK, "wrong password!").status_code == 401
    refused = sign_in(from_address(limited, "192.0.2.4"), DESK)  # the right password, but too late
    assert refused.status_code == 429
    text = refused.get_data(as_text=True)
    assert "Please try again in" in text and "minutes" in text and int(refused.headers["Retry-After"]) > 0
    # Another account from the same addresses is not held up by Dana's typos.
    assert sign_in(from_address(limited, "192.0.2.1"), ANA).status_code == 303


def test_failures_are_counted_per_address_with_a_larger_allowance(limited):
    office = "198.51.100.7"
    for email in ("nobody@example.org", "nobody@example.org", "someone@example.org", DESK, ANA):
        assert sign_in(from_address(limited, office), email, "wrong password!").status_code == 401
    assert sign_in(from_address(limited, office), ADMIN).status_code == 429  # the office's allowance is used up
    assert sign_in(from_address(limited, "203.0.113.9"), DESK).status_code == 303  # elsewhere, Dana signs in


def test_the_refusal_never_says_whether_the_account_exists(limited):
    for email in (DESK, "nobody@example.org"):
        for number in range(3):
            assert sign_in(from_address(limited, f"192.0.2.{50 + number}"), email, "wrong password!").status_code == 401
    known = sign_in(from_address(limited, "192.0.2.60"), DESK)
    unknown = sign_in(from_address(limited, "192.0.2.61"), "NOBODY@example.org ")  # normalised: the same account key
    assert known.status_code == unknown.status_code == 429
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)


def test_good_sign_ins_never_count_and_wrong_codes_do(limited):
    for _ in range(6):
        assert sign_in(from_address(limited, "192.0.2.60"), ADMIN).status_code == 303
    client = from_address(limited, "192.0.2.61")
    step = sign_in(client, ADMIN, code=False)
    assert [enter_code(client, step.location, "000000" if AUTHENTICATORS[ADMIN].totp.now() != "000000" else "111111"
                       ).status_code for _ in range(3)] == [401, 401, 401]
    response = enter_code(client, step.location, AUTHENTICATORS[ADMIN].code())
    assert response.status_code == 429 and "Please try again in" in response.get_data(as_text=True)
    assert sign_in(from_address(limited, "192.0.2.62"), ADMIN).status_code == 429  # the account, from anywhere


# --- how long a session lasts ---------------------------------------------------------------

def test_a_busy_session_still_ends_after_the_absolute_lifetime(staff, login_as):  # noqa: F811
    clock = staff.config["CLOCK"]
    client = login_as(StaffRole.RECEPTIONIST)
    for _ in range(35):  # 11 hours 40 minutes of activity every 20 minutes
        clock.advance(minutes=20)
        assert client.get("/desk").status_code == 200
    clock.advance(minutes=21)  # 12 hours and a minute after signing in
    response = client.get("/desk")
    assert response.status_code == 302 and "/staff/sign-in" in response.location
    assert "12 hours after you signed in" in client.get(response.location).get_data(as_text=True)


def test_the_session_lifetime_is_a_setting(database_url, staff):
    short = create_app(app_config(database_url, STAFF_SESSION_HOURS=1, CLOCK=staff.config["CLOCK"]))
    client = short.test_client()
    assert sign_in(client, DESK).status_code == 303
    for _ in range(2):
        staff.config["CLOCK"].advance(minutes=29)
        assert client.get("/desk").status_code == 200
    staff.config["CLOCK"].advance(minutes=3)  # 61 minutes after signing in
    assert client.get("/desk").status_code == 302
    close_database(short)
