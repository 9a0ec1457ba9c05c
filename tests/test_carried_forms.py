"""A staff form sent after its session ended is kept through signing in again (booking.auth.carried).

A receptionist called away half-way through a phone booking comes back after the idle limit and
presses Book: before, the sign-in page came up and everything typed was gone.
"""

from __future__ import annotations

import base64
import html
import re
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from booking import csrf_tokens
from booking.auth.carried import KEYS
from booking.extensions import db
from booking.sealing import Unsealable, unseal
from booking.models import Appointment, Patient, StaffAccount, StaffRole
from booking.operations.staff import deactivate, end_sessions
from booking.transaction import write_transaction
from tests.test_desk import appointment, book_online, new_caller
from tests.test_staff import ACCOUNTS, PASSWORD, csrf_from, enrol, login_as, staff  # noqa: F401 (fixtures)

FORM = "/desk/book?practitioner=ana&start=2027-03-09T10:00:00-08:00&patient=new"
FROM_THE_FORM = {"Referer": f"http://localhost{FORM}"}
TYPED = new_caller("Sam Late")


def session_of(app, client) -> dict:
    """What the browser's cookie session holds."""
    return app.session_interface.get_signing_serializer(app).loads(client.get_cookie("session").value)


def booked_names(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Patient.name).join(Appointment, Appointment.patient_id == Patient.id)))


def sent_after_the_session_ended(client, clock, headers=FROM_THE_FORM, **send):
    """The desk's booking form opened, left for 31 minutes, then sent."""
    page = client.get(FORM).get_data(as_text=True)
    clock.advance(minutes=31)
    return client.post(FORM, data={"csrf_token": csrf_from(page), **TYPED}, headers=headers, **send)


def form_of(response) -> tuple[str, list[tuple[str, str]]]:
    """The first form in the page's main part (the header's is Sign out): its address (the
    page's own when it names none) and its hidden fields, in order, as a browser sends them."""
    page = response.get_data(as_text=True)
    page = page[page.index("<main"):]
    named = re.search(r'<form method="post" action="([^"]+)"', page)
    asked = response.request
    action = html.unescape(named.group(1)) if named else asked.path + (f"?{asked.query_string.decode()}"
                                                                        if asked.query_string else "")
    form = page[page.index("<form"):page.index("</form>")]
    hidden = []
    for tag in re.findall(r"<input([^>]*)>", form):
        attributes = {name: html.unescape(value) for name, value in re.findall(r'([\w-]+)="([^"]*)"', tag)}
        if attributes.get("type") == "hidden":
            hidden.append((attributes["name"], attributes["value"]))
    return action, hidden


def send_it_again(client, action: str, hidden: list):
    """"Send it again": to /staff/send-again, then (a 307) the same body on to the form's address."""
    on_its_way = client.post(action, data=MultiDict(hidden))
    assert on_its_way.status_code == 307, on_its_way.status_code
    return client.post(on_its_way.location, data=MultiDict(hidden))


def sign_in_on(client, page, email: str, password: str = PASSWORD):
    """The sign-in page's form filled in and sent, with whatever it carries."""
    action, hidden = form_of(page)
    return client.post(action, data=MultiDict([*hidden, ("email", email), ("password", password)]))


def test_a_form_sent_after_the_session_ended_is_kept_through_signing_in_and_saved_with_one_press(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    assert ("Your session ended after 30 minutes without activity, so what you sent has not been saved yet. "
            "Sign in again as Receptionist to save it.") in page  # the one way it ended, not both
    action, hidden = form_of(refused)
    assert urlsplit(action).path == "/staff/sign-in" and parse_qs(urlsplit(action).query) == {"next": [FORM]}
    assert [name for name, _value in hidden] == ["csrf_token", "carried_form"]
    assert "Sam Late" not in page and booked_names(staff) == []  # signed, not spelled out; nothing saved yet

    wrong = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST], password="not it")
    assert wrong.status_code == 401 and "The email address or password is not right" in wrong.get_data(as_text=True)
    assert "What you sent is still held here. Sign in as Receptionist to save it." in wrong.get_data(as_text=True)
    assert form_of(wrong)[1][1] == hidden[1]  # still held after a mistyped password

    offered = sign_in_on(desk, wrong, ACCOUNTS[StaffRole.RECEPTIONIST])
    page = offered.get_data(as_text=True)
    assert offered.status_code == 200 and offered.headers["Cache-Control"] == "no-store"
    assert "<h1>Your form has not been saved yet</h1>" in page and ">Leave it unsaved</button>" in page
    action, hidden = form_of(offered)
    assert urlsplit(action).path == "/staff/send-again" and hidden[1][0] == "carried_form"
    assert parse_qs(urlsplit(action).query) == {"next": [FORM]}  # where "Leave it unsaved" goes
    assert hidden[2:] == list(TYPED.items())  # every value as typed
    assert booked_names(staff) == []

    on_its_way = desk.post(action, data=MultiDict(hidden))  # "Send it again", with the new session's CSRF token
    assert on_its_way.status_code == 307 and on_its_way.location == FORM  # the same body, to where it was going
    saved = desk.post(on_its_way.location, data=MultiDict(hidden))  # as the browser sends it on
    assert saved.status_code == 303 and booked_names(staff) == ["Sam Late"]
    again = desk.post(action, data=MultiDict(hidden))  # a second press, or Back and again: sent once only
    assert again.status_code == 303 and again.location == "/desk"
    assert "That form was sent already or left unsaved" in html.unescape(desk.get("/desk").get_data(as_text=True))
    reloaded = sign_in_on(desk, wrong, ACCOUNTS[StaffRole.RECEPTIONIST])  # the sign-in sent again: nothing more
    assert reloaded.status_code == 400 and "<h1>Nothing more to send</h1>" in reloaded.get_data(as_text=True)
    assert booked_names(staff) == ["Sam Late"]


def test_a_note_keeps_its_line_breaks_and_characters_through_signing_in_again(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    visit = appointment(staff, book_online(staff)["reference"])
    path = f"/desk/appointments/{visit.id}/cancel"
    page = desk.get(path).get_data(as_text=True)
    clock.advance(minutes=31)
    note = 'Called at 9:05 & said "not this week".\r\nWill ring back <Tuesday>.'
    # As Chromium sends it from our pages (which send no Referer): Origin null, and Sec-Fetch-*.
    refused = desk.post(path, data={"csrf_token": csrf_from(page), "reason": "patient", "note": note},
                        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"})
    action, _hidden = form_of(refused)
    assert parse_qs(urlsplit(action).query) == {"next": [path]}  # "Leave it unsaved" goes back to the form
    offered = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])
    action, hidden = form_of(offered)
    assert urlsplit(action).path == "/staff/send-again" and hidden[2:] == [("reason", "patient"), ("note", note)]
    assert send_it_again(desk, action, hidden).status_code == 303
    assert appointment(staff, visit.reference).history[-1].detail == f"The patient asked to cancel: {note}"


def test_the_code_step_passes_the_form_on(staff, login_as, clock):  # noqa: F811
    enrol(staff, ACCOUNTS[StaffRole.RECEPTIONIST])
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    code_page = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])
    page = code_page.get_data(as_text=True)
    assert code_page.status_code == 200 and "<h1>Enter your sign-in code</h1>" in page
    assert "What you sent is still held here. Sign in as Receptionist to save it." in page
    action, hidden = form_of(code_page)
    assert urlsplit(action).path == "/staff/sign-in/code" and parse_qs(urlsplit(action).query) == {"next": [FORM]}
    assert hidden[1][0] == "carried_form"

    from tests.test_staff import AUTHENTICATORS

    wrong = desk.post(action, data=MultiDict([*hidden, ("code", "000000")]))
    assert wrong.status_code == 401 and form_of(wrong)[1][1] == hidden[1]
    right = desk.post(action, data=MultiDict([*hidden, ("code", AUTHENTICATORS[ACCOUNTS[StaffRole.RECEPTIONIST]].code())]))
    assert "<h1>Your form has not been saved yet</h1>" in right.get_data(as_text=True)
    action, hidden = form_of(right)
    assert send_it_again(desk, action, hidden).status_code == 303 and booked_names(staff) == ["Sam Late"]


def test_someone_else_signing_in_on_that_page_is_not_offered_the_form(staff, login_as, clock):  # noqa: F811
    """A shared desk computer: the next person to sign in is not offered another's typing."""
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    other = sign_in_on(desk, refused, ACCOUNTS[StaffRole.PRACTITIONER])
    assert other.status_code == 303 and other.location == "/clinician"  # their own start, not the desk's form
    page = html.unescape(desk.get(other.location).get_data(as_text=True))
    assert "What Receptionist sent before their session ended was not saved: you signed in as someone else." in page
    assert "Sam Late" not in page and booked_names(staff) == []


def test_a_form_is_not_carried_from_another_site_a_script_or_with_a_forged_seal(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    browser = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    # Refused as another site's before anything reads it (web.refuse_cross_site_forms)...
    another_site = ({"Origin": "https://evil.example", **FROM_THE_FORM}, {**browser, "Sec-Fetch-Site": "cross-site"},
                    {**browser, "Sec-Fetch-Site": "same-site"}, {**FROM_THE_FORM, "Sec-Fetch-Site": "cross-site"})
    # ...or a script's request, not the browser's next page: the sign-in page, nothing held.
    scripts = ({**FROM_THE_FORM, "Accept": "application/json"}, {**browser, "Sec-Fetch-Mode": "cors"})
    for headers in another_site + scripts:
        refused = sent_after_the_session_ended(desk, clock, headers=headers)
        assert "carried_form" not in refused.get_data(as_text=True), headers
        if headers in another_site:
            assert refused.status_code == 400 and "sent from another website" in refused.get_data(as_text=True)
        else:
            assert refused.status_code == 302 and "/staff/sign-in?next=" in refused.location, headers
        assert sign_in_on(desk, desk.get("/staff/sign-in"), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
    # A browser too old to say where a form came from: its token, this session's, says it was our page.
    old_browser = sent_after_the_session_ended(desk, clock, headers={})
    assert old_browser.status_code == 401 and form_of(old_browser)[1][1][0] == "carried_form"
    assert sign_in_on(desk, desk.get("/staff/sign-in"), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303

    action, ((_, token), (_, sealed)) = form_of(sent_after_the_session_ended(desk, clock))
    forged = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    signed_in = desk.post(action, data={"csrf_token": token, "carried_form": forged,
                                        "email": ACCOUNTS[StaffRole.RECEPTIONIST], "password": PASSWORD})
    assert signed_in.status_code == 303 and signed_in.location == FORM  # back to the form: nothing held
    assert booked_names(staff) == []


def test_a_form_is_not_carried_when_the_cookie_names_no_session(staff, clock):  # noqa: F811
    """Half-way through signing in (the password taken, the code not yet), the cookie names nobody:
    a staff form sent then, with a token the page gave, is nobody's to carry."""
    enrol(staff, ACCOUNTS[StaffRole.RECEPTIONIST])
    client = staff.test_client()
    token = csrf_from(client.get("/staff/sign-in").get_data(as_text=True))
    pending = client.post("/staff/sign-in", data={"csrf_token": token, "email": ACCOUNTS[StaffRole.RECEPTIONIST],
                                                  "password": PASSWORD})
    assert pending.status_code == 303 and "/staff/sign-in/code" in pending.location
    token = csrf_from(client.get(pending.location).get_data(as_text=True))  # valid for this cookie session
    refused = client.post(FORM, data={"csrf_token": token, **TYPED}, headers=FROM_THE_FORM)
    assert refused.status_code == 302 and "/staff/sign-in?next=" in refused.location


def test_the_held_form_is_sealed_opens_in_this_browser_alone_and_not_after_a_session_s_span(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    _action, (_token, (_field, sealed)) = form_of(refused)
    [key] = session_of(staff, desk)[KEYS]  # the key is in the cookie; the form is not
    with staff.app_context():
        opened = unseal(sealed, secret_key=staff.secret_key, purpose="a staff form carried through signing in again",
                        context=key)
        assert b"Sam Late" in zlib.decompress(base64.urlsafe_b64decode(opened))  # encrypted, and this key opens it
        with pytest.raises(Unsealable):
            unseal(sealed, secret_key=staff.secret_key, purpose="a staff form carried through signing in again",
                   context="another browser's key")

    elsewhere = staff.test_client()  # another browser, given the sealed form: it opens only in the first
    token = csrf_from(elsewhere.get("/staff/sign-in").get_data(as_text=True))
    signed_in = elsewhere.post("/staff/sign-in", data={"csrf_token": token, "carried_form": sealed,
                                                       "email": ACCOUNTS[StaffRole.RECEPTIONIST], "password": PASSWORD})
    assert signed_in.status_code == 303 and signed_in.location == "/desk"  # signed in, nothing offered

    offered = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])
    assert "<h1>Your form has not been saved yet</h1>" in offered.get_data(as_text=True)
    token = csrf_from(desk.get("/desk").get_data(as_text=True))
    again = desk.post(form_of(refused)[0], data={"csrf_token": token, "carried_form": sealed,  # a reload sends it again
                                                 "email": ACCOUNTS[StaffRole.RECEPTIONIST], "password": PASSWORD})
    assert "<h1>Your form has not been saved yet</h1>" in again.get_data(as_text=True)  # a reload: still held

    later = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(later, clock)
    clock.advance(hours=12, minutes=1)  # longer than any session lasts
    assert sign_in_on(later, refused, ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303


def test_a_form_refused_for_its_token_alone_is_offered_again_at_once(staff, login_as):  # noqa: F811
    """WTF_CSRF_TIME_LIMIT (4 hours) is shorter than a busy session can last (12): a form open that
    long was refused, and its typing lost, while the person was still signed in."""
    desk = login_as(StaffRole.RECEPTIONIST)
    desk.get(FORM)  # the form's page, which gives the session its CSRF secret
    # Its token as Flask-WTF made it five hours ago (its check reads the real clock, not the app's).
    serializer = URLSafeTimedSerializer(staff.secret_key, salt=csrf_tokens.SALT)
    signer = serializer.make_signer(csrf_tokens.SALT)
    signer.get_timestamp = lambda: int(time.time()) - 5 * 3600
    old_token = signer.sign(serializer.dump_payload(session_of(staff, desk)["csrf_token"])).decode()
    refused = desk.post(FORM, data={"csrf_token": old_token, **TYPED}, headers=FROM_THE_FORM)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "<h1>Your form has not been saved yet</h1>" in page
    assert "This form had been open too long to be accepted, so what you sent has not been saved yet." in page
    action, hidden = form_of(refused)
    assert urlsplit(action).path == "/staff/send-again" and hidden[2:] == list(TYPED.items())
    assert send_it_again(desk, action, hidden).status_code == 303 and booked_names(staff) == ["Sam Late"]

    made_up = desk.post(FORM, data={"csrf_token": "made-up", **TYPED}, headers=FROM_THE_FORM)  # not an old token
    assert made_up.status_code == 400 and "carried_form" not in made_up.get_data(as_text=True)


def test_a_form_whose_token_another_session_made_is_not_offered_to_the_one_now_signed_in(staff, login_as, clock):  # noqa: F811
    """A shared desk computer: the receptionist's form left open, her session ends, a practitioner
    signs in on the same browser; the old form, sent now, is not the practitioner's to send."""
    desk = login_as(StaffRole.RECEPTIONIST)
    page = desk.get(FORM).get_data(as_text=True)
    clock.advance(minutes=31)
    assert sign_in_on(desk, desk.get("/staff/sign-in"), ACCOUNTS[StaffRole.PRACTITIONER]).status_code == 303
    refused = desk.post(FORM, data={"csrf_token": csrf_from(page), **TYPED}, headers=FROM_THE_FORM)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "carried_form" not in page and "Send it again" not in page
    assert booked_names(staff) == []


def test_the_offer_page_left_past_the_idle_limit_holds_the_same_form(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    offered = sign_in_on(desk, sent_after_the_session_ended(desk, clock), ACCOUNTS[StaffRole.RECEPTIONIST])
    action, hidden = form_of(offered)
    clock.advance(minutes=31)  # away again before pressing Send it again
    refused = desk.post(action, data=MultiDict(hidden), headers=FROM_THE_FORM)
    assert refused.status_code == 401 and form_of(refused)[1][1] == hidden[1]  # the same sealed form, not one inside another
    assert "Your session ended after 30 minutes without activity, so what you sent" in refused.get_data(as_text=True)
    again = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])
    action, hidden = form_of(again)
    assert hidden[2:] == list(TYPED.items())
    assert send_it_again(desk, action, hidden).status_code == 303 and booked_names(staff) == ["Sam Late"]


def test_a_browser_holds_the_last_four_forms(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    pages = []
    for _ in range(5):
        pages.append(sent_after_the_session_ended(desk, clock))
        assert sign_in_on(desk, desk.get("/staff/sign-in"), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
    held = [key for key in session_of(staff, desk).get(KEYS, [])]
    assert len(held) == 4
    token = csrf_from(desk.get("/desk").get_data(as_text=True))
    offers = [desk.post("/staff/sign-in", data={"csrf_token": token, "carried_form": form_of(page)[1][1][1]})
              for page in pages]
    assert [b"<h1>Your form has not been saved yet</h1>" in offer.data for offer in offers] == [False] + [True] * 4



def test_signed_in_meanwhile_in_another_tab_the_form_is_still_offered(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    assert sign_in_on(desk, desk.get("/staff/sign-in"), ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
    offered = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])  # the first tab's sign-in, sent after
    assert "<h1>Your form has not been saved yet</h1>" in offered.get_data(as_text=True)
    action, hidden = form_of(offered)
    assert send_it_again(desk, action, hidden).status_code == 303 and booked_names(staff) == ["Sam Late"]


def test_a_deactivated_account_s_form_is_not_carried(staff, login_as, clock):  # noqa: F811
    """Deactivating an account ends its sessions; a form it sends then is nobody's to offer."""
    desk = login_as(StaffRole.RECEPTIONIST)
    page = desk.get(FORM).get_data(as_text=True)
    with staff.test_request_context():
        account = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == ACCOUNTS[StaffRole.RECEPTIONIST]))
        deactivate(account.id, staff.config["CLOCK"]())
    refused = desk.post(FORM, data={"csrf_token": csrf_from(page), **TYPED}, headers=FROM_THE_FORM)
    assert refused.status_code == 302 and "/staff/sign-in?next=" in refused.location


def test_a_sign_in_page_refused_for_its_token_still_holds_the_form(staff, login_as, clock):  # noqa: F811
    """The page left open past its CSRF token's time limit (hours): the form must outlive it."""
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    action, (_token, carried_field) = form_of(refused)
    again = desk.post(action, data=MultiDict([("csrf_token", "long-expired"), carried_field,
                                              ("email", ACCOUNTS[StaffRole.RECEPTIONIST]), ("password", PASSWORD)]))
    page = again.get_data(as_text=True)
    assert again.status_code == 400 and "This sign-in page had expired, so you are not signed in yet." in page
    assert form_of(again)[1][1] == form_of(refused)[1][1]  # still held
    offered = sign_in_on(desk, again, ACCOUNTS[StaffRole.RECEPTIONIST])
    action, hidden = form_of(offered)
    assert send_it_again(desk, action, hidden).status_code == 303 and booked_names(staff) == ["Sam Late"]


def test_a_password_is_left_out_and_typed_again(staff, login_as, clock):  # noqa: F811
    """An admin adding an account: the new password is never held in a page, even sealed."""
    from tests.test_staff import AUTHENTICATORS

    admin = login_as(StaffRole.ADMIN)
    page = admin.get("/admin/staff").get_data(as_text=True)
    clock.advance(minutes=31)
    typed = {"name": "Nia New", "email": "nia@example.org", "role": "receptionist", "practitioner": "",
             "password": "a long enough secret"}
    refused = admin.post("/admin/staff", data={"csrf_token": csrf_from(page), **typed}, headers=FROM_THE_FORM)
    code_page = sign_in_on(admin, refused, ACCOUNTS[StaffRole.ADMIN])
    action, hidden = form_of(code_page)
    offered = admin.post(action, data=MultiDict([*hidden, ("code", AUTHENTICATORS[ACCOUNTS[StaffRole.ADMIN]].code())]))
    page = offered.get_data(as_text=True)
    assert "A password is never held, so the form will ask you for it again." in page
    action, hidden = form_of(offered)
    assert [name for name, _value in hidden[2:]] == ["name", "email", "role", "practitioner"]
    again = send_it_again(admin, action, hidden).get_data(as_text=True)
    assert 'value="Nia New"' in again and 'value="nia@example.org"' in again  # the form back, as typed
    assert '<a href="#password">Enter a password (12 characters or more)</a>' in again  # but for the password
    with staff.app_context():
        assert db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == "nia@example.org")) is None


def test_the_sign_in_page_says_how_the_session_ended(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    page = desk.get(FORM).get_data(as_text=True)
    with staff.test_request_context(), write_transaction():  # its password changed elsewhere, say: ended at once
        account = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == ACCOUNTS[StaffRole.RECEPTIONIST]))
        end_sessions(account.id, clock())
    refused = desk.post(FORM, data={"csrf_token": csrf_from(page), **TYPED}, headers=FROM_THE_FORM)
    assert ("Your session was ended (signed out in another tab or device, a new password, or the clinic&#39;s admin), so what "
            "you sent has not been saved yet.") in refused.get_data(as_text=True)

    busy = login_as(StaffRole.RECEPTIONIST)
    for _ in range(24):  # busy all day, never idle: the session still ends 12 hours after signing in
        clock.advance(minutes=29)
        page = busy.get(FORM).get_data(as_text=True)
    clock.advance(minutes=29)  # 12 hours and 5 minutes in, 29 minutes after the page
    refused = busy.post(FORM, data={"csrf_token": csrf_from(page), **TYPED}, headers=FROM_THE_FORM)
    assert "Your session ended 12 hours after you signed in, so what you sent" in refused.get_data(as_text=True)


def test_leave_it_unsaved_lets_the_form_go(staff, login_as, clock):  # noqa: F811
    desk = login_as(StaffRole.RECEPTIONIST)
    refused = sent_after_the_session_ended(desk, clock)
    offered = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])
    action, hidden = form_of(offered)
    left = desk.post(action, data=MultiDict([*hidden, ("leave_unsaved", "")]))
    assert left.status_code == 303 and left.location == FORM  # back to the form's page
    assert "What you sent was left unsaved." in desk.get(left.location).get_data(as_text=True)
    again = sign_in_on(desk, refused, ACCOUNTS[StaffRole.RECEPTIONIST])  # Back, and a reload: nothing is offered
    assert again.status_code == 400 and "was sent already or left unsaved" in again.get_data(as_text=True)
    assert booked_names(staff) == []
