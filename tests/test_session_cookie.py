"""The session cookie as web.SessionCookieSecureOverHttps opens it: a cookie this process has verified
once is not verified again, and must still be refused whenever Flask's own check would refuse it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from flask import request, session
from itsdangerous import URLSafeTimedSerializer
from werkzeug.test import EnvironBuilder

from booking.web import VERIFIED_COOKIES_KEPT


def signed_cookie(app, data: dict, *, seconds_ago: int = 0, key: str | None = None) -> str:
    """A session cookie as Flask would have written it `seconds_ago`, with the app's key or `key`."""
    interface = app.session_interface

    class Back(URLSafeTimedSerializer):
        def make_signer(self, salt=None):
            signer = super().make_signer(salt)
            signer.get_timestamp = lambda: int(time.time()) - seconds_ago
            return signer

    made = Back(key or app.secret_key, salt=interface.salt, serializer=interface.serializer,
                signer_kwargs={"key_derivation": interface.key_derivation, "digest_method": interface.digest_method})
    return made.dumps(data)


def opened(app, cookie: str) -> dict:
    """The session a request with this cookie gets."""
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        return dict(app.session_interface.open_session(app, request))


def test_a_cookie_read_twice_gives_the_same_values_and_each_request_its_own(app):
    cookie = signed_cookie(app, {"booking": "draft-key", "_flashes": [("message", "Saved")]})
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        first = app.session_interface.open_session(app, request)
        first["_flashes"].append(("message", "changed in this request only"))
        second = app.session_interface.open_session(app, request)
    assert cookie in app.session_interface.verified  # the second was read from what the first kept
    assert dict(second) == {"booking": "draft-key", "_flashes": [("message", "Saved")]}
    assert not second.modified
    plain = signed_cookie(app, {"booking": "draft-key", "language": "es"})  # kept as values, not JSON
    with app.test_request_context("/", headers={"Cookie": f"session={plain}"}):
        first = app.session_interface.open_session(app, request)
        first["language"] = "en"
        first.pop("booking")
        assert dict(app.session_interface.open_session(app, request)) == {"booking": "draft-key", "language": "es"}


def test_a_kept_cookie_still_expires_with_the_session_lifetime(app):
    cookie = signed_cookie(app, {"booking": "draft-key"}, seconds_ago=2 * 3600)
    app.permanent_session_lifetime = timedelta(hours=3)
    assert opened(app, cookie) == {"booking": "draft-key"}
    app.permanent_session_lifetime = timedelta(hours=1)
    assert opened(app, cookie) == {}


def test_a_cookie_signed_in_the_future_is_refused_as_flask_refuses_it(app):
    assert opened(app, signed_cookie(app, {"booking": "draft-key"}, seconds_ago=-600)) == {}


def test_a_cookie_verified_under_an_old_key_is_not_trusted_once_the_key_changes(app):
    cookie = signed_cookie(app, {"_user_id": "staff-session"})
    assert opened(app, cookie) == {"_user_id": "staff-session"}
    app.secret_key = app.config["SECRET_KEY"] = "a-new-key-after-a-leak"
    assert opened(app, cookie) == {}
    app.config["SECRET_KEY_FALLBACKS"] = ["a-new-key-after-a-leak"]
    app.secret_key = app.config["SECRET_KEY"] = "and-another"
    assert opened(app, signed_cookie(app, {"language": "es"}, key="a-new-key-after-a-leak")) == {"language": "es"}


@pytest.mark.parametrize("tamper", [lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
                                    lambda c: "x" + c, lambda c: c.replace(".", "", 1)])
def test_a_changed_cookie_is_an_empty_session_even_after_its_original_was_kept(app, tamper):
    cookie = signed_cookie(app, {"_user_id": "staff-session"})
    assert opened(app, cookie) == {"_user_id": "staff-session"}
    assert opened(app, tamper(cookie)) == {}


def test_the_kept_cookies_are_bounded(app):
    for number in range(VERIFIED_COOKIES_KEPT + 5):
        opened(app, signed_cookie(app, {"n": number}))
    assert len(app.session_interface.verified) <= VERIFIED_COOKIES_KEPT


def test_a_session_a_page_changes_is_written_and_read_back(clinic):
    """Through real requests: the draft a first answer starts goes into the cookie, and the next
    pages read it from there (whether or not this process had kept the cookie)."""
    from tests.test_booking_journey import PatientBrowser

    patient = PatientBrowser(clinic)
    patient.answer_first_visit("no")
    with patient.client:
        assert patient.get("/book").status_code == 200  # the draft was found: not sent back to the start
        draft_key = session["booking"]
    clinic.session_interface.verified.clear()
    with patient.client:
        assert patient.get("/book").status_code == 200
        assert session["booking"] == draft_key


def test_a_cookie_still_being_verified_under_the_old_key_is_not_kept_for_the_new_one(app):
    """gunicorn --threads: a request verifies a cookie with the serializer of the old key while
    another, after the key changed, opens the first session under the new one. What the first
    request then keeps must not be trusted under the new key (Flask would refuse the cookie)."""
    cookie = signed_cookie(app, {"_user_id": "staff-session"})
    interface = app.session_interface
    old = interface.get_signing_serializer(app)
    verifying, rotated = threading.Event(), threading.Event()
    real_loads = old.loads

    def loads_then_wait(*args, **kwargs):  # the real check, then the other thread's turn
        result = real_loads(*args, **kwargs)
        verifying.set()
        rotated.wait(10)
        return result

    old.loads = loads_then_wait
    first = []
    # Opened as Flask opens a request's session (pushing a request context would open it twice).
    asked = app.request_class(EnvironBuilder("/", headers={"Cookie": f"session={cookie}"}).get_environ())
    thread = threading.Thread(target=lambda: first.append(dict(interface.open_session(app, asked))))
    thread.start()
    assert verifying.wait(10)
    app.secret_key = app.config["SECRET_KEY"] = "a-new-key-after-a-leak"
    assert opened(app, signed_cookie(app, {"language": "es"})) == {"language": "es"}  # the new key's first request
    rotated.set()
    thread.join(10)
    assert first == [{"_user_id": "staff-session"}]  # read before the key changed, as Flask would have
    assert opened(app, cookie) == {}
