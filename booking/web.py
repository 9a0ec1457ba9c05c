"""What every HTML page shares: the clinic in templates, date formats, and safe headers."""

from __future__ import annotations

import codecs
import io
import json
import math
import re
import time
from datetime import date, datetime

from flask import Flask, Request, abort, current_app, g, has_request_context, request
from flask_babel import get_locale
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property

from booking.clock import now
from booking.extensions import db
from booking.forms import page_date_order
from booking.formatting import (birth_date, tel_uri, clinic_time, counted, date_text, end_sentence, time_range, time_text,
                                zone_abbreviation, zone_label)
from booking.models import Clinic
from booking.operations.availability import load_clinic
from booking.safety import same_day_doctor


def asked_day(text: str | None, today: date | None = None) -> date:
    """A page's ?date=YYYY-MM-DD, or the clinic's today for anything else (far years included).
    `today`: the clinic's date now, when the caller has it (from the catalogue, with no query)."""
    today = today or load_clinic().today(now())
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return today
    return day if 1900 <= day.year <= 9000 else today


# No body the app accepts nests deeper than a few levels; far deeper ones would exhaust Python's
# recursion while being read or checked (a 500), so they are refused as not JSON at all (400).
JSON_DEPTH_LIMIT = 32


def _nesting_depth(value) -> int:
    deepest, waiting = 0, [(value, 1)]
    while waiting:  # no recursion here, whatever the depth
        item, depth = waiting.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            waiting.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            waiting.extend((child, depth + 1) for child in item)
    return deepest


class NestedTooDeeply(ValueError):
    """A JSON body nested deeper than JSON_DEPTH_LIMIT."""


class NotAJSONNumber(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, but JSON has no such numbers."""


class NumberTooLarge(ValueError):
    """A number beyond what a float holds (1e400), which Python reads as infinity."""


class RepeatedKey(ValueError):
    """An object naming one key twice: Python's json keeps the last, silently."""


def _refuse_constant(name: str):
    raise NotAJSONNumber(name)


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent, refused when too large for a float: 1e400 read as
    inf, past the NaN and Infinity check (found in review)."""
    value = float(text)
    if not math.isfinite(value):
        raise NumberTooLarge(f"{text[:20]}{'...' if len(text) > 20 else ''}")
    return value


def _object_without_repeats(pairs: list) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen = set()
        raise RepeatedKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return found


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing with a ValueError (which request.get_json turns into None when
    silent, or a 400) bodies nested more than JSON_DEPTH_LIMIT deep, NaN and Infinity, which
    are not JSON (RFC 8259) and which no field of ours can hold, and an object naming a key twice
    ("practitioner" twice booked whichever came last, with no word said)."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, parse_constant=_refuse_constant, parse_float=_finite,
                                  object_pairs_hook=_object_without_repeats, **kwargs)
        except RecursionError:
            raise NestedTooDeeply() from None
        if _nesting_depth(value) > JSON_DEPTH_LIMIT:
            raise NestedTooDeeply()
        return value


def why_not_json() -> str:
    """Why the request's body is not the JSON object an API call takes, in words its sender can act
    on; read again only on that error path, after request.get_json(silent=True) gave None."""
    if not request.is_json:
        return "send the body as JSON, with Content-Type: application/json"
    data = request.get_data()
    if not data.removeprefix(codecs.BOM_UTF8).strip(b" \t\r\n"):  # JSON's own whitespace
        return "the body is empty: send a JSON object"
    try:
        value = current_app.json.loads(data)
    except UnicodeDecodeError:
        return "the body is not UTF-8 text (nor UTF-16 or UTF-32): send it as UTF-8"
    except json.JSONDecodeError as error:
        return f"the body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
    except NestedTooDeeply:
        return f"the body is nested more than {JSON_DEPTH_LIMIT} levels deep: no request needs that many"
    except NotAJSONNumber as error:
        return f"the body is not valid JSON: {error} is not a JSON number"
    except NumberTooLarge as error:
        return f"the body has a number too large to read: {error}"
    except RepeatedKey as error:
        return f"the body names {json.dumps(str(error))} more than once in one object: name each key once"
    except ValueError as error:  # such as a number of thousands of digits, which Python will not read
        return f"the body could not be read as JSON: {str(error).split(';')[0]}"
    return "the body is JSON null: send a JSON object" if value is None else "the body could not be read as JSON"


NUL = "\x00"
# A JSON string may spell half of a UTF-16 pair ("\\ud800"), and Python reads it as a lone surrogate:
# no database can store that (the driver's UTF-8 encoding fails, a 500), and it is not text at all.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _may_hold_nul_or_surrogate(body: bytes) -> bool:
    """False when a JSON body cannot hold either once read, without reading it: plain ASCII (so no
    surrogate spelled in UTF-8 bytes) with no zero byte (so no raw NUL, and UTF-8 rather than UTF-16
    or UTF-32, which json.loads also reads) and no \\u escape. Most bodies are such, and walking
    every string of them twice was a good part of a booking's time outside its lock."""
    return not body.isascii() or b"\x00" in body or b"\\u" in body


def _holds(value, found) -> bool:
    """True when any string in a JSON value, keys included, matches `found`."""
    if isinstance(value, str):
        return found(value)
    if isinstance(value, dict):
        return any(_holds(k, found) or _holds(v, found) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds(item, found) for item in value)
    return False


def refuse_nul_characters() -> None:
    """No address, query or API field takes a NUL character, and PostgreSQL refuses it in text (a
    500 if it got that far): answer 400 before any view runs. Forms say so at the field instead
    (JourneyForm.validate), keeping what was typed. The same for a JSON string holding a lone
    surrogate (forms and queries cannot: Werkzeug decodes them with replacement characters)."""
    json_body = request.get_json(silent=True) if request.is_json and _may_hold_nul_or_surrogate(request.get_data()) \
        else None
    if (NUL in request.path or any(NUL in k or NUL in v for k, v in request.args.items(multi=True))
            or _holds(json_body, lambda text: NUL in text)):
        abort(400, "The request holds a NUL character, which no field accepts. Remove it and try again.")
    if _holds(json_body, lambda text: LONE_SURROGATE.search(text) is not None):
        abort(400, "The request holds half of a UTF-16 surrogate pair (such as \\ud800), which is not a "
                   "character. Send whole characters and try again.")


class SessionCookieSecureOverHttps(SecureCookieSessionInterface):
    """The session cookie is marked Secure on every response to an HTTPS request, not only when
    SESSION_COOKIE_SECURE is set (BASE_URL starting https://), so a clinic whose proxy speaks
    HTTPS never has its staff or patients' cookies sent over plain HTTP."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def get_signing_serializer(self, app: Flask):
        """Made once for the app's keys rather than for every request: itsdangerous tries its JSON
        serializer out as it makes one, which cost more than opening the session itself."""
        return self._made_for(app)[1]

    def _made_for(self, app: Flask) -> tuple:
        """(keys, their serializer, the cookies verified with it), as one value: a request still
        verifying with the old keys' serializer while another thread meets new keys keeps what it
        verified beside the old serializer, never among the new keys' cookies."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self.__dict__.get("made_for")
        if made is None or made[0] != keys:
            # Cookies checked with other keys prove nothing under these: a new, empty keeping.
            made = self.made_for = (keys, super().get_signing_serializer(app), {})
        return made

    @property
    def verified(self) -> dict:
        """The cookies verified with the current keys: text -> (signing time, values or their JSON)."""
        return self.__dict__["made_for"][2] if "made_for" in self.__dict__ else {}

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        """Flask's own, except that a cookie already verified by this process is not verified and
        decoded again on each request: a browser sends the same cookie until its session changes.
        What is kept is the cookie's text, its signing time and its values (or their JSON), so its
        age is checked against the session lifetime as Flask checks it, and every request gets
        values of its own."""
        if request.path.startswith(COOKIELESS_PATHS):
            return None  # Flask's null session: read as empty, refused if written
        _, serializer, verified = self._made_for(app)  # one read: this serializer and its own cookies
        cookie = request.cookies.get(self.get_cookie_name(app)) if serializer is not None else None
        if not cookie:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = verified.get(cookie)
        if known is not None and 0 <= int(time.time()) - known[0] <= max_age:  # as itsdangerous ages it
            _, values = known
            # Plain values are shared safely; a list (the messages to flash) is read anew, so that
            # what one request appends to it is not in the next one's session.
            return self.session_class(dict(values) if isinstance(values, dict) else self.serializer.loads(values))
        try:
            data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if len(verified) >= VERIFIED_COOKIES_KEPT:
            verified.clear()
        plain = all(isinstance(value, str | int | float | bool | None) for value in data.values())
        verified[cookie] = (int(signed_at.timestamp()), dict(data) if plain else self.serializer.dumps(data))
        return self.session_class(data)


# The JSON API and the calendar feeds take no cookies (design.md): a session cookie sent with them
# is not read, so no request there acts as a signed-in browser's (which is why they need no CSRF
# token), and none is opened and saved for nothing, about a twentieth of a booking POST's CPU.
COOKIELESS_PATHS = ("/api/", "/feeds/")

VERIFIED_COOKIES_KEPT = 4096  # a few hundred bytes each; past it, start again


def _page_locale():
    return get_locale() or "en_US"


def _page_clinic() -> Clinic:
    """The clinic row, looked up once per page: a calendar's filters ask for it hundreds of times,
    and even the session's identity map costs at that count. Within a request it is the same
    object the session holds, so a change committed during the request is still seen."""
    if "page_clinic" not in g:
        g.page_clinic = db.session.get(Clinic, 1)
    return g.page_clinic


# On every answer unless its view set its own.
SAFE_HEADERS = (
    ("Referrer-Policy", "no-referrer"),  # manage links carry a secret in the path: never in a Referer
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
)


FROM_ANOTHER_SITE = "The form was sent from another site."  # the CSRFError's own words, for errors.py


def refuse_cross_site_forms(app: Flask) -> None:
    """A form another site made the browser send is refused, over HTTP and HTTPS alike, before any
    view reads it: the browser says where it came from in Sec-Fetch-Site (since 2020-2023) or, for
    a form, in Origin ("null" says nothing), scheme included: a plain-HTTP page of this host
    (a network attacker's) may not send an HTTPS form. The CSRF token (staff pages, the patients'
    forms) is the check that needs neither; this is the one Flask-WTF's strict Referer check was
    meant to add on HTTPS. The API takes no cookies: any site may call it."""

    @app.before_request
    def same_site_forms_only():
        asked = request._get_current_object()
        if asked.method in ("GET", "HEAD", "OPTIONS") or asked.blueprint == "api":
            return
        site = asked.headers.get("Sec-Fetch-Site")
        origin = asked.headers.get("Origin")
        if (site and site not in ("same-origin", "none")) or (
                origin and origin != "null" and origin != f"{asked.scheme}://{asked.host}"):
            raise CSRFError(FROM_ANOTHER_SITE)


class BoundedRequest(Request):
    """Flask's request, refusing with a 413 a body sent in chunks (with no Content-Length) that is
    longer than MAX_CONTENT_LENGTH. Werkzeug stops reading such a body at the limit and hands on
    what it read as if it were all of it, so an API booking one byte too long was read cut short
    and answered "not valid JSON", and a form's fields past the limit were silently dropped."""

    @cached_property
    def stream(self):
        limit, raw = self.max_content_length, self.environ.get("wsgi.input")
        if self.content_length is not None or limit is None or raw is None or \
                not self.environ.get("wsgi.input_terminated"):
            return Request.stream.fget(self)  # werkzeug's own: the length is known (and checked)
        chunks, taken = [], 0
        while taken <= limit:  # one byte past the limit is enough to know
            chunk = raw.read(limit + 1 - taken)
            if not chunk:
                break
            chunks.append(chunk)
            taken += len(chunk)
        if taken > limit:
            raise RequestEntityTooLarge()
        return io.BytesIO(b"".join(chunks))


def register_page_helpers(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.session_interface = SessionCookieSecureOverHttps()
    app.json = BoundedJSONProvider(app)
    @app.context_processor
    def clinic_for_templates():
        return {"clinic": _page_clinic(), "zone_label": zone_label}

    app.jinja_env.globals["same_day_doctor"] = same_day_doctor  # a global, so imported macros see it too
    app.jinja_env.globals["tel_uri"] = tel_uri
    app.jinja_env.globals["page_date_order"] = page_date_order  # the three date boxes' order (_forms.html)

    # Dates and times in the page's locale (booking.i18n): `appointment.starts_at | clinic_time`
    # ("Monday, March 8, 2027 at 3:45 PM"), `| clinic_time("medium")`, `| clinic_time("time")`;
    # a date: `day | date_text("weekday")`; a wall-clock time: `hours.start_time | clock`.
    # The styles are booking.formatting's.
    @app.template_filter("clinic_time")
    def clinic_time_filter(instant: datetime, style: str = "long") -> str:
        return clinic_time(instant, _page_clinic(), _page_locale(), style)

    @app.template_filter("date_text")
    def date_text_filter(day: date, style: str = "full") -> str:
        return date_text(day, _page_locale(), style)

    @app.template_filter("clock")
    def clock_filter(wall_clock) -> str:
        return time_text(wall_clock, _page_locale())

    @app.template_filter("time_range")
    def time_range_filter(start, end) -> str:
        return time_range(start, end, _page_locale())

    @app.template_filter("clinic_date")
    def clinic_date(instant: datetime) -> date:
        """The clinic's calendar date at that instant (for date_text, or .isoformat() in a link)."""
        return instant.astimezone(_page_clinic().zone).date()

    @app.template_filter("clinic_iso")
    def clinic_iso(instant: datetime) -> str:
        """ISO 8601 with the clinic's offset, as the API writes times."""
        return instant.astimezone(_page_clinic().zone).isoformat()

    @app.template_filter("zone_name")
    def zone_name(instant: datetime) -> str:
        """The zone's abbreviation at that instant, e.g. PST or PDT."""
        return zone_abbreviation(instant, _page_clinic())

    app.add_template_filter(lambda iso: birth_date(iso, _page_locale()), "birth_date")
    # `{{ practitioner.name | sentence_end }}` where a sentence ends on a name ("Mei Lin, L.Ac.").
    app.add_template_filter(end_sentence, "sentence_end")
    app.add_template_filter(counted, "counted")  # staff pages: `{{ n | counted("appointment") }}`

    @app.after_request
    def safe_headers(response):
        headers, asked = response.headers, request._get_current_object()  # one proxy lookup, not six
        # Each added unless the view set its own: one look at the headers there are, then appends
        # (werkzeug's setdefault reads every header again for each one).
        present = {name.lower() for name in headers.keys()}
        headers.extend(header for header in SAFE_HEADERS if header[0].lower() not in present)
        if asked.is_secure and "strict-transport-security" not in present:
            # Over HTTPS (directly, or through a proxy TRUSTED_PROXIES trusts), browsers then refuse
            # plain HTTP to this host for a year, so no cookie or link goes unencrypted.
            headers.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if "cache-control" in present and headers.get("Cache-Control") == "no-store":
            pass  # a page that asked for no copy anywhere (a second factor's key, recovery codes) keeps that
        elif asked.blueprint in ("clinician", "rights"):
            # Health data on what may be a shared clinic computer: keep no copy anywhere.
            headers["Cache-Control"] = "no-store"
        elif asked.blueprint in ("public", "manage", "intake", "identity", "auth", "desk", "admin") and asked.endpoint != "public.index":
            # Personal details: never in a shared cache. The patient's own browser may keep
            # the page, so that Back works after a form was sent.
            headers["Cache-Control"] = "private, no-cache"
        return response
