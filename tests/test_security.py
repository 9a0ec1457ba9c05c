"""Security around the app on both databases: HTTPS behind a proxy, refused staff requests in the
audit log, the sender's exit status, and rate limits shared by several processes through Redis."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import threading
import time
import urllib.parse
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.clock import now
from booking.models import AuditEntry, StaffRole
from booking.operations.staff import add_staff
from booking.operations.clinic_file import import_clinic_file
from tests import servers
from tests.conftest import CLINIC_TOML, app_config, close_database
from tests.test_clinician import WEDNESDAY_11
from tests.test_desk import book_online
from tests.test_staff import login_as, staff  # noqa: F401

HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
def behind_proxy(clinic):
    """The same clinic served as behind one reverse proxy (TRUSTED_PROXIES=1)."""
    proxied = create_app(app_config(clinic.config["SQLALCHEMY_DATABASE_URI"], TRUSTED_PROXIES=1,
                                    CLOCK=clinic.config["CLOCK"]))
    yield proxied
    close_database(proxied)


def session_cookie(response) -> str:
    [cookie] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    return cookie


def test_over_https_through_a_trusted_proxy_cookies_are_secure_and_hsts_is_sent(behind_proxy):
    over_https = behind_proxy.test_client().get("/staff/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert over_https.headers["Strict-Transport-Security"] == HSTS
    assert "; Secure" in session_cookie(over_https) and "HttpOnly" in session_cookie(over_https)

    plain = behind_proxy.test_client().get("/staff/sign-in", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers and "; Secure" not in session_cookie(plain)


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(clinic):
    """Anyone can send X-Forwarded-*: unless a proxy of ours sets them, they change nothing."""
    response = clinic.test_client().get("/staff/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers and "; Secure" not in session_cookie(response)


def test_a_base_url_on_https_makes_cookies_secure_whatever_the_request(database_url):
    served = create_app(app_config(database_url, SESSION_COOKIE_SECURE=True))
    with served.app_context():
        import_clinic_file(CLINIC_TOML)
    assert "; Secure" in session_cookie(served.test_client().get("/staff/sign-in"))
    close_database(served)


def refusals(app) -> list[tuple]:
    with app.app_context():
        return [(entry.staff_role, entry.page, entry.patient_id, entry.address)
                for entry in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "refused")
                                                .order_by(AuditEntry.id))]


def test_refused_staff_requests_are_in_the_audit_log(staff, login_as):  # noqa: F811
    book_online(staff, start=WEDNESDAY_11, practitioner="ben", name="Bea Ben", email="bea@example.com")
    with staff.app_context():
        [bea] = db.session.execute(sa.text("SELECT id FROM patient")).scalars().all()
    desk = login_as(StaffRole.RECEPTIONIST)
    practitioner = login_as(StaffRole.PRACTITIONER)  # Ana's, who has never seen Bea

    assert desk.get("/admin/staff").status_code == 403
    assert practitioner.get(f"/desk/patients/{bea}").status_code in (403, 404)
    assert practitioner.get("/desk/patients/999999").status_code == 404
    assert staff.test_client().get("/admin/staff").status_code == 302  # not signed in: sent to sign in, not logged
    assert desk.get("/desk/no-such-page").status_code == 404  # no page at all: nothing to log

    logged = refusals(staff)
    assert logged[0] == ("receptionist", "GET /admin/staff (403)", None, "127.0.0.1")
    assert logged[1][0] == "practitioner" and logged[1][1].startswith(f"GET /desk/patients/{bea} (")
    assert logged[1][2] == bea  # the record they tried is named, so the admin can filter by patient
    assert logged[2] == ("practitioner", "GET /desk/patients/999999 (404)", None, "127.0.0.1")
    assert len(logged) == 3

    admin = login_as(StaffRole.ADMIN)
    page = admin.get("/admin/audit?action=refused").get_data(as_text=True)
    assert page.count("<td>Was refused") == 3 and "GET /admin/staff (403)" in page and "Bea Ben" in page
    assert f"GET /desk/patients/{bea}" in admin.get(f"/admin/audit?patient={bea}").get_data(as_text=True)


def test_a_refusal_through_a_trusted_proxy_logs_the_visitors_address(staff, behind_proxy):  # noqa: F811
    client = behind_proxy.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/staff/sign-in", data={"email": "desk@example.org", "password": "correct horse battery",
                                         "csrf_token": token})
    assert client.get("/admin/staff", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    assert refusals(staff)[-1][3] == "203.0.113.7"


# --- several processes, one Redis -----------------------------------------------------------

def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_a_rate_limit_holds_across_four_gunicorn_workers_sharing_redis(database_url, tmp_path):
    """Each worker keeps its own memory, so with memory:// every worker would allow the limit
    again; with RATELIMIT_STORAGE_URI on Redis the clinic's limit is the limit, however many serve."""
    setup = create_app(app_config(database_url))
    with setup.app_context():
        import_clinic_file(CLINIC_TOML)
    close_database(setup)
    limit, asked, at_once = 12, 48, 8
    access_log = tmp_path / "access.log"
    with servers.redis_server(tmp_path) as redis_url, servers.gunicorn(
            # Sync workers (one request at a time each), so requests at the same instant must be
            # answered by several processes: a threaded worker could take them all.
            database_url, tmp_path, workers=4, threads=1, env={"RATELIMIT_STORAGE_URI": redis_url,
                                                    "API_READ_LIMIT": f"{limit} per hour"},
            access_log=access_log) as base:
        # gunicorn answers as soon as one worker is up; on a busy machine the others may still be
        # loading the app, so the rounds would all meet one. Wait until several answer.
        until_several_answer(base, access_log, at_once)
        access_log.write_text("")
        release = threading.Barrier(at_once, timeout=30)

        def ask(_number: int) -> int:
            release.wait()  # in rounds of eight at the same instant, so several workers answer
            return fetch(f"{base}/api/v1/services")

        with ThreadPoolExecutor(max_workers=at_once) as pool:
            statuses = Counter(pool.map(ask, range(asked)))
    assert statuses == {200: limit, 429: asked - limit}
    served_by = Counter(line.split()[0] for line in access_log.read_text().splitlines()
                        if line.endswith(("200", "429")))
    assert len(served_by) >= 2, served_by  # the requests really were spread over several processes


def until_several_answer(base: str, access_log, at_once: int, seconds: float = 60) -> None:
    """Send rounds of health checks at once until the access log names two or more workers."""
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        while time.monotonic() < deadline:
            list(pool.map(lambda _: fetch(f"{base}/healthz"), range(at_once)))
            time.sleep(0.2)  # gunicorn writes the log line just after the answer
            if len({line.split()[0] for line in access_log.read_text().splitlines()}) >= 2:
                return
    raise AssertionError(f"only one gunicorn worker answered for {seconds} s")


def failed_sign_in(base: str, email: str, password: str) -> int:
    """A browser of its own (cookies, the form's CSRF token) trying one sign-in; the status."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{base}/staff/sign-in", timeout=30) as page:
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    try:
        with browser.open(urllib.request.Request(f"{base}/staff/sign-in", data=form), timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_the_sign_in_limit_holds_across_workers_and_spares_colleagues(database_url, tmp_path):
    """One account's failed sign-ins are counted in Redis whichever worker answers, so the limit is the
    limit; a colleague at the same address (the same clinic) still signs in."""
    setup = create_app(app_config(database_url))
    with setup.app_context():
        import_clinic_file(CLINIC_TOML)
        for email in ("desk@example.org", "other.desk@example.org"):
            add_staff(email, "Desk", StaffRole.RECEPTIONIST, "correct horse battery", now())
    close_database(setup)
    access_log = tmp_path / "access.log"
    with servers.redis_server(tmp_path) as redis_url, servers.gunicorn(
            database_url, tmp_path, workers=4, threads=1, access_log=access_log,
            env={"RATELIMIT_STORAGE_URI": redis_url, "STAFF_SIGN_IN_LIMIT": "3 per hour",
                 "STAFF_SIGN_IN_ADDRESS_LIMIT": "20 per hour"}) as base:
        at_once = 8
        until_several_answer(base, access_log, at_once)
        access_log.write_text("")
        release = threading.Barrier(at_once, timeout=30)

        def typo(_number: int) -> int:
            release.wait()  # all at the same instant, so several workers answer
            return failed_sign_in(base, "desk@example.org", "wrong horse")

        with ThreadPoolExecutor(max_workers=at_once) as pool:
            typos = Counter(pool.map(typo, range(at_once)))
        right_but_paused = failed_sign_in(base, "desk@example.org", "correct horse battery")
        colleague = failed_sign_in(base, "other.desk@example.org", "correct horse battery")
    # Exactly the allowance answered as plain failures, even arriving together at several processes.
    assert typos == {401: 3, 429: at_once - 3}
    assert right_but_paused == 429  # paused for that account, even with the right password
    assert colleague == 200  # signed in (and shown the desk after the redirect)
    answered_by = Counter(line.split()[0] for line in access_log.read_text().splitlines())
    assert len(answered_by) >= 2, answered_by  # the attempts were answered by several processes


def test_staff_forms_work_over_https_without_a_referer_and_another_site_s_are_refused(staff):  # noqa: F811
    """Our pages send no Referer (Referrer-Policy: no-referrer), and Flask-WTF's strict check
    refused every HTTPS form without one: no member of staff could sign in behind TLS."""
    from tests.test_staff import ACCOUNTS, PASSWORD, csrf_from

    https = {"base_url": "https://localhost"}
    chromium = {"Origin": "null", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}  # as it sends them
    for headers in ({}, chromium, {"Origin": "https://localhost"}):
        client = staff.test_client()
        token = csrf_from(client.get("/staff/sign-in", **https).get_data(as_text=True))
        signed_in = client.post("/staff/sign-in", data={"csrf_token": token, "email": ACCOUNTS[StaffRole.RECEPTIONIST],
                                                        "password": PASSWORD}, headers=headers, **https)
        assert signed_in.status_code == 303 and signed_in.location == "/desk", headers

    another_site = [(headers, secure) for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                                      {"Origin": "https://evil.example"}) for secure in (True, False)]
    plain_http_page = [({"Origin": "http://localhost"}, True)]  # a network attacker's page on plain HTTP
    for headers, secure in another_site + plain_http_page:
        base = {"base_url": "https://localhost" if secure else "http://localhost"}
        client = staff.test_client()
        token = csrf_from(client.get("/staff/sign-in", **base).get_data(as_text=True))
        refused = client.post("/staff/sign-in", data={"csrf_token": token, "email": ACCOUNTS[StaffRole.RECEPTIONIST],
                                                      "password": PASSWORD}, headers=headers, **base)
        assert refused.status_code == 400 and "nothing was saved" in refused.get_data(as_text=True), (headers, secure)
        assert client.get("/desk", **base).status_code == 302  # not signed in
        patient = staff.test_client()  # the patients' forms too, which check their token in the form
        assert patient.post("/book/first-visit", data={"returning": "no"}, headers=headers, **base).status_code == 400


def test_a_mistyped_password_is_never_written_back_into_the_page(staff):  # noqa: F811
    """A typo is close to the real password, and the page may sit on a shared computer (found in a
    hands-on trial: it was in the password box's value)."""
    from tests.test_staff import ACCOUNTS, csrf_from

    client = staff.test_client()
    token = csrf_from(client.get("/staff/sign-in").get_data(as_text=True))
    refused = client.post("/staff/sign-in", data={"csrf_token": token, "email": ACCOUNTS[StaffRole.RECEPTIONIST],
                                                  "password": "correct horse batterz"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401 and "batterz" not in page
    assert 'type="password" value=""' in page and ACCOUNTS[StaffRole.RECEPTIONIST] in page  # the email stays


def test_a_password_set_or_changed_is_in_no_page_header_log_or_audit_entry(staff, login_as, caplog):  # noqa: F811
    """What an admin types for someone, and what they then choose (mistyped ones too), is seen by
    the password hasher only: never in a page, a header, a log line or the audit log."""
    from tests.test_staff import ACCOUNTS, csrf_from, sign_in

    caplog.set_level(logging.DEBUG)
    secrets_typed = ["Admin-Typed Secret 1", "short Sec", "Guessed Secret 99", "Chosen Secret 2", "Chosen Secret 3"]
    set_by_admin, too_short, guessed, chosen, mistyped = secrets_typed
    answers = []

    def post(client, path, **fields):
        token = csrf_from(client.get(path).get_data(as_text=True))
        answer = client.post(path, data={"csrf_token": token, **fields})
        answers.append(answer)
        if answer.location:
            answers.append(client.get(answer.location))
        return answer

    admin = login_as(StaffRole.ADMIN)
    with staff.app_context():
        desk_id = db.session.execute(sa.text("SELECT id FROM staff_account WHERE role = 'receptionist'")).scalar_one()
    path = f"/admin/staff/{desk_id}/password"
    post(admin, path, password=too_short)
    post(admin, path, password=set_by_admin)
    person = staff.test_client()
    answers.append(sign_in(person, ACCOUNTS[StaffRole.RECEPTIONIST], set_by_admin))
    post(person, "/staff/password", current_password=guessed, new_password=chosen, new_password_again=chosen)
    post(person, "/staff/password", current_password=set_by_admin, new_password=chosen, new_password_again=mistyped)
    assert post(person, "/staff/password", current_password=set_by_admin, new_password=chosen,
                new_password_again=chosen).status_code == 303
    answers.append(admin.get("/admin/audit"))

    with staff.app_context():
        audit_rows = [str(tuple(row)) for row in db.session.execute(sa.text("SELECT * FROM audit_entry"))]
    assert any("password_change" in row for row in audit_rows) and any("password_set" in row for row in audit_rows)
    for secret in secrets_typed:
        for answer in answers:
            assert secret not in answer.get_data(as_text=True) and secret not in str(answer.headers), answer.request.path
        assert secret not in caplog.text
        assert not any(secret in row or "$argon2" in row for row in audit_rows)
