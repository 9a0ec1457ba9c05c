"""A staff form sent after its sender's session ended, carried through signing in again.

A session ends after STAFF_IDLE_MINUTES without activity, or STAFF_SESSION_HOURS after signing
in. A practitioner who spent longer than that on a treatment note, or a receptionist called away
half-way through a phone booking, pressed Save and met the sign-in page: what they had typed was
gone. Now the sign-in page that answers such a form holds it, signed, in a hidden field. Each
step of signing in passes it on. Once the same account is signed in again, a page offers to send
it again, with a new CSRF token, to where it was going. Nothing is stored: the values stay in the
page, as they were in the form (never in an address, a cookie or a log).

It is carried only when all of these hold:
- one of this site's pages sent it (Sec-Fetch-Site, or in older browsers the Origin or Referer):
  a form that another site made the browser send is never offered as the person's own;
- the signed cookie still names the ended session, so whose it was is known: someone else
  signing in on that browser (a shared desk computer) is not offered another's typing;
- it is a plain form sent as the next page, not a file or a script's request (the note's
  autosave says "Not saved" in the page, where the words still are).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, request, session
from itsdangerous import BadSignature, URLSafeSerializer

from booking.auth.next_page import same_site_path
from booking.operations import staff
from booking.staff_access import STAFF_SESSION_KEY

FIELD = "carried_form"  # the hidden field that holds it on the sign-in steps' pages
_SALT = "booking.auth.carried"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class CarriedForm:
    to: str  # the path (and query) the form was sent to
    account_id: int  # whose session had ended
    account_name: str  # theirs, for "Sign in again as ..."
    fields: tuple[tuple[str, str], ...]  # every name and value, in order, but the old CSRF token
    sealed: str  # all of the above, signed: what the hidden field holds


def _serializer() -> URLSafeSerializer:
    """Signed with the app's key (its fallbacks still accepted, as for the session cookie)."""
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeSerializer(keys, salt=_SALT)


def _sent_by_a_page_of_this_site() -> bool:
    """A form that one of this site's pages sent as the browser's next page: not another site's,
    and not a script's request. Browsers say both in Sec-Fetch-Site and Sec-Fetch-Mode (since
    2020-2023); an older one is judged by what it asks for back, then by its Origin or Referer
    (our pages send no Referer, so those browsers mostly go without)."""
    site, mode = request.headers.get("Sec-Fetch-Site"), request.headers.get("Sec-Fetch-Mode")
    if site or mode:
        return site == "same-origin" and mode == "navigate"
    if request.accept_mimetypes.best == "application/json":
        return False
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.host
    return urlsplit(request.referrer or "").netloc == request.host


def from_refused_request() -> CarriedForm | None:
    """The form this request sent, when it may be carried over (see above); None otherwise."""
    if (request.method != "POST" or request.mimetype not in _FORM_TYPES or request.files
            or not _sent_by_a_page_of_this_site()):
        return None
    token = session.get(STAFF_SESSION_KEY)
    owner = staff.session_owner(token) if isinstance(token, str) and token else None
    to = same_site_path(request.full_path if request.query_string else request.path)
    if owner is None or to is None:
        return None
    fields = tuple((name, value) for name, value in request.form.items(multi=True) if name != "csrf_token")
    if not fields:
        return None
    (account_id, name) = owner
    sealed = _serializer().dumps({"to": to, "for": account_id, "name": name,
                                  "fields": [list(field) for field in fields]})
    return CarriedForm(to, account_id, name, fields, sealed)


def from_sign_in_step() -> CarriedForm | None:
    """The form a sign-in step's page passed on, if its signature holds; None otherwise."""
    sealed = request.form.get(FIELD)
    if not sealed:
        return None
    try:
        held = _serializer().loads(sealed)
    except BadSignature:
        return None
    return CarriedForm(held["to"], held["for"], held["name"], tuple((name, value) for name, value in held["fields"]),
                       sealed)
