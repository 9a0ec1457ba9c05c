"""This request's CSRF token for a kept page, as Flask-WTF's generate_csrf() makes it, faster.

A kept page (the booking journey's time list, the staff calendars) costs little but the parts
written for each request, and the CSRF token was the largest of them: generate_csrf() builds its
signing serializer again on every call. This one keeps the serializer and its signer per secret
and otherwise does exactly what it does: the same secret (WTF_CSRF_SECRET_KEY, else SECRET_KEY),
salt, session key and token format, so Flask-WTF's own check (validate_csrf, with its time limit)
takes the token as one of its own, and the same one-token-per-request cache in `g`, so the page's
token and any form's are one.
"""

from __future__ import annotations

import hmac
import time
from functools import lru_cache

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

SALT = "wtf-csrf-token"  # Flask-WTF's


@lru_cache(maxsize=4)
def _signing(secret_key: str) -> tuple[URLSafeTimedSerializer, TimestampSigner]:
    """The serializer generate_csrf() would build for this secret, and the signer its dumps() would
    make: neither keeps any state between uses (the signer reads the clock as it signs)."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
    return serializer, serializer.make_signer(SALT)


def field_name() -> str:
    """The form field (and session key) the CSRF token goes in."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def given_to_this_session(token: object) -> bool:
    """Whether a token was made for this cookie session, however long ago: one refused only for its
    age, not one from another session (someone else signed in since) or made up."""
    config = current_app.config
    raw = session.get(field_name())
    secret = config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
    if not (isinstance(token, str) and isinstance(raw, str) and isinstance(secret, str) and secret):
        return False
    try:
        made_for = _signing(secret)[0].loads(token)  # its signature only: no max_age, so any age
    except BadData:
        return False
    return isinstance(made_for, str) and hmac.compare_digest(made_for, raw)


def csrf_token() -> str:
    """generate_csrf() with the app's own settings (its secret and field name), for this request."""
    config = current_app.config
    field = field_name()
    token = g.get(field)
    if token is not None:
        return token
    secret = config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
    raw = session.get(field)
    if not isinstance(raw, str) or not field or not isinstance(secret, str) or not secret:
        # A session with no token yet, or anything out of the ordinary: Flask-WTF's own way.
        return generate_csrf()
    limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
    # A token handed out again is up to a minute old: only where that is a small part of its life.
    token = _signed(secret, raw, reuse=limit is None or limit >= 60 * REUSE_SECONDS)
    setattr(g, field, token)
    return token


# A session's token signed less than a minute ago is handed out again rather than signed anew: it
# is as good as a new one (Flask-WTF checks its signature, and that it is younger than
# WTF_CSRF_TIME_LIMIT, hours), and someone moving through pages, a patient choosing a time or the
# desk going from day to day, asks for one with every page. Kept per secret and session token.
REUSE_SECONDS = 60
SIGNED_KEPT = 4096
_recently_signed: dict[tuple[str, str], tuple[int, str]] = {}


def _signed(secret: str, raw: str, *, reuse: bool) -> str:
    now = int(time.time())
    kept = _recently_signed.get((secret, raw)) if reuse else None
    if kept is not None and 0 <= now - kept[0] < REUSE_SECONDS:
        return kept[1]
    serializer, signer = _signing(secret)
    token = signer.sign(serializer.dump_payload(raw)).decode()  # what serializer.dumps(raw) does
    if len(_recently_signed) >= SIGNED_KEPT:
        _recently_signed.clear()
    _recently_signed[secret, raw] = (now, token)
    return token
