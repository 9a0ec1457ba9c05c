"""What every HTML page shares: the clinic in templates, date formats, and safe headers."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, abort, request

from booking.clock import now
from booking.extensions import db
from booking.models import Clinic
from booking.operations.availability import load_clinic
from booking.safety import same_day_doctor


def clinic_time(instant: datetime, clinic: Clinic, pattern: str = "%A %-d %B %Y at %H:%M") -> str:
    """An instant as the clinic's wall-clock time, e.g. "Monday 8 March 2027 at 10:00"."""
    return instant.astimezone(clinic.zone).strftime(pattern)


def zone_abbreviation(instant: datetime, clinic: Clinic) -> str:
    """PDT, GMT, CET... at that instant; zones with no letters abbreviation ("-03") read UTC-03."""
    name = instant.astimezone(clinic.zone).tzname() or ""
    return name if name.isalpha() else f"UTC{name}"


def zone_label(clinic: Clinic) -> str:
    """"Los Angeles" for America/Los_Angeles: how people name a zone."""
    return clinic.timezone.rsplit("/", 1)[-1].replace("_", " ")


def asked_day(text: str | None) -> date:
    """A page's ?date=YYYY-MM-DD, or the clinic's today for anything else (far years included)."""
    today = load_clinic().today(now())
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return today
    return day if 1900 <= day.year <= 9000 else today


NUL = "\x00"


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def refuse_nul_characters() -> None:
    """No address, query or API field takes a NUL character, and PostgreSQL refuses it in text (a
    500 if it got that far): answer 400 before any view runs. Forms say so at the field instead
    (JourneyForm.validate), keeping what was typed."""
    json_body = request.get_json(silent=True) if request.is_json else None
    if (NUL in request.path or any(NUL in k or NUL in v for k, v in request.args.items(multi=True))
            or _holds_nul(json_body)):
        abort(400, "The request holds a NUL character, which no field accepts. Remove it and try again.")


def register_page_helpers(app: Flask) -> None:
    @app.context_processor
    def clinic_for_templates():
        return {"clinic": db.session.get(Clinic, 1), "zone_label": zone_label}

    app.jinja_env.globals["same_day_doctor"] = same_day_doctor  # a global, so imported macros see it too

    @app.template_filter("clinic_time")
    def clinic_time_filter(instant: datetime, pattern: str = "%A %-d %B %Y at %H:%M") -> str:
        return clinic_time(instant, db.session.get(Clinic, 1), pattern)

    @app.template_filter("clinic_iso")
    def clinic_iso(instant: datetime) -> str:
        """ISO 8601 with the clinic's offset, as the API writes times."""
        return instant.astimezone(db.session.get(Clinic, 1).zone).isoformat()

    @app.template_filter("zone_name")
    def zone_name(instant: datetime) -> str:
        """The zone's abbreviation at that instant, e.g. PST or PDT."""
        return zone_abbreviation(instant, db.session.get(Clinic, 1))

    @app.template_filter("birth_date")
    def birth_date(iso_date: str) -> str:
        return date.fromisoformat(iso_date).strftime("%-d %B %Y")

    @app.after_request
    def safe_headers(response):
        # Manage links carry a secret in the path: never leak it in a Referer header.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        if response.headers.get("Cache-Control") == "no-store":
            pass  # a page that asked for no copy anywhere (a second factor's key, recovery codes) keeps that
        elif request.blueprint == "clinician":
            # Health data on what may be a shared clinic computer: keep no copy anywhere.
            response.headers["Cache-Control"] = "no-store"
        elif request.blueprint in ("public", "manage", "intake", "auth", "desk", "admin") and request.endpoint != "public.index":
            # Personal details: never in a shared cache. The patient's own browser may keep
            # the page, so that Back works after a form was sent.
            response.headers["Cache-Control"] = "private, no-cache"
        return response
