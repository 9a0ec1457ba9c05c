"""A staff form sent after its sender's session ended, carried through signing in again.

A session ends after STAFF_IDLE_MINUTES without activity, or STAFF_SESSION_HOURS after signing
in. A practitioner who spent longer than that on a treatment note, or a receptionist called away
half-way through a phone booking, pressed Save and met the sign-in page: what they had typed was
gone. Now the sign-in page that answers such a form holds it, sealed, in a hidden field. Each
step of signing in passes it on. Once the same account is signed in again, a page offers to send
it again, with a new CSRF token, to where it was going. So does a form refused only because its
CSRF token had expired (WTF_CSRF_TIME_LIMIT is shorter than a session can last).

It is carried only when all of these hold:
- one of this site's pages made it: its CSRF token is this session's (checked before the view,
  or on the CSRF error path, csrf_tokens.given_to_this_session), and web.refuse_cross_site_forms
  has already turned away any form another site made the browser send;
- the signed cookie still names the session, so whose it was is known: someone else signing in
  on that browser (a shared desk computer) is not offered another's typing;
- it is a plain form sent as the next page, not a file or a script's request (the note's
  autosave says "Not saved" in the page, where the words still are).
A password it held is left out, and typed again: no page ever holds one.

The hidden field is sealed (booking.sealing: encrypted and authenticated), not only signed: what
was typed is health data, and the page may sit on a shared computer. It opens only with a random
key kept in this browser's cookie session, so it is tied to this browser, and that key is
dropped as the form is sent again or left (through /staff/send-again), so it is sent once. It
lasts no longer than a session may (STAFF_SESSION_HOURS). Nothing is stored on the server, and nothing of the
form is in an address, a cookie or a log.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app, request, session

from booking.auth.next_page import same_site_path
from booking.clock import now
from booking.csrf_tokens import field_name
from booking.operations import staff
from booking.sealing import Unsealable, seal, unseal
from booking.staff_access import STAFF_SESSION_KEY

FIELD = "carried_form"  # the hidden field that holds it on the sign-in steps' pages
KEYS = "staff_carried_forms"  # in the cookie session: the keys that open this browser's held forms
KEYS_KEPT = 4  # forms from as many tabs at once
_PURPOSE = "a staff form carried through signing in again"
_FORMAT = 1
# A password (a new account's, a changed one) is never held in a page: it is typed again.
_PASSWORD = re.compile("password", re.IGNORECASE)


@dataclass(frozen=True)
class CarriedForm:
    to: str  # the path (and query) the form was sent to
    account_id: int  # whose session it was
    account_name: str  # theirs, for "Sign in again as ..."
    fields: tuple[tuple[str, str], ...]  # every name and value but the old CSRF token (each name's values in order)
    sealed: str  # all of the above, sealed: what the hidden field holds
    key: str  # what opens it, kept in this browser's cookie session
    session_times: tuple[datetime, datetime] | None = None  # its session's start and last use (as first carried)
    passwords_left_out: bool = False  # a password it held is not carried: typed again


def _sent_as_the_next_page() -> bool:
    """A form the browser sent to show the answer as its next page, not a script's request (the
    note's autosave): browsers say so in Sec-Fetch-Mode (since 2020-2023); an older one by asking
    for JSON back or not."""
    mode = request.headers.get("Sec-Fetch-Mode")
    return mode == "navigate" if mode else request.accept_mimetypes.best != "application/json"


def from_refused_request() -> CarriedForm | None:
    """The form this request sent, sealed and its key kept in the cookie session, when it may be
    carried over (see above); None otherwise."""
    if (request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded"
            or not _sent_as_the_next_page()):
        return None  # (no form of ours sends a file: multipart is not carried)
    token = session.get(STAFF_SESSION_KEY)
    owner = staff.session_owner(token) if isinstance(token, str) and token else None
    if (held := from_sign_in_step()) is not None:  # the offer page, sent after the session ended again
        same = owner is not None and owner[0] == held.account_id
        return replace(held, session_times=tuple(owner[2:])) if same else held  # the same form, not one inside it
    to = same_site_path(request.full_path if request.query_string else request.path)
    if owner is None or to is None:
        return None
    sent = [(name, value) for name, value in request.form.items(multi=True) if name not in (field_name(), FIELD)]
    fields = tuple((name, value) for name, value in sent if not _PASSWORD.search(name))
    if not fields:
        return None
    account_id, name, *session_times = owner
    key = secrets.token_urlsafe(24)
    left_out = len(fields) < len(sent)
    held = {"v": _FORMAT, "to": to, "for": account_id, "name": name, "at": int(now().timestamp()),
            "fields": [list(field) for field in fields], "left_out": left_out}
    packed = base64.urlsafe_b64encode(zlib.compress(json.dumps(held).encode())).decode()
    sealed = seal(packed, secret_key=current_app.secret_key, purpose=_PURPOSE, context=key)
    session[KEYS] = [*keys(), key][-KEYS_KEPT:]
    return CarriedForm(to, account_id, name, fields, sealed, key, tuple(session_times), left_out)


def from_sign_in_step() -> CarriedForm | None:
    """The form a sign-in step's page passed on, if a key this browser holds opens it and it is
    not too old; None otherwise."""
    sealed = request.form.get(FIELD)
    if not sealed:
        return None
    for key in keys():
        held = _opened(sealed, key)
        if held is not None:
            return held
    return None


def let_go(carried: CarriedForm) -> None:
    """The form is being sent again, or is not this account's to send: its key goes, so no page
    that held it offers it again (Back, a reload, a second press), and nothing is sent twice."""
    session[KEYS] = [key for key in keys() if key != carried.key]


def keys() -> list[str]:
    """The keys to this browser's carried forms (a new cookie session at sign-in keeps them)."""
    kept = session.get(KEYS)
    return [key for key in kept if isinstance(key, str)] if isinstance(kept, list) else []


def _opened(sealed: str, key: str) -> CarriedForm | None:
    """The form, if this key opens the seal (under the app's key or a fallback), in a format this
    version reads, and from no longer ago than a session may last."""
    config = current_app.config
    for secret in (current_app.secret_key, *(config.get("SECRET_KEY_FALLBACKS") or ())):
        try:
            packed = unseal(sealed, secret_key=secret, purpose=_PURPOSE, context=key)
        except Unsealable:
            continue
        try:
            held = json.loads(zlib.decompress(base64.urlsafe_b64decode(packed)))
            if held["v"] != _FORMAT:
                return None
            age = now().timestamp() - held["at"]
            fields = tuple((str(name), str(value)) for name, value in held["fields"])
            carried = CarriedForm(str(held["to"]), int(held["for"]), str(held["name"]), fields, sealed, key,
                                  passwords_left_out=bool(held["left_out"]))
        except (ValueError, KeyError, TypeError, binascii.Error, zlib.error):
            return None  # sealed by this app, so only ever an older format
        if not 0 <= age <= timedelta(hours=config["STAFF_SESSION_HOURS"]).total_seconds():
            return None
        return carried
    return None
