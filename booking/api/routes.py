"""JSON API v1: services, practitioners, free slots and bookings. No cookies, so no CSRF."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from booking.api.openapi import document_text
from booking.errors import api_message
from booking.api.schemas import WEEKDAY_NAMES, InvalidInput, LanguageQuery, SlotQuery, WaitlistBody, read, read_booking
from booking.clock import now
from booking.rate_limits import limited
from booking.i18n import offered_languages, speaking
from booking.operations.availability import (
    Slot,
    answer_key,
    kept,
    offered_slots,
    load_clinic,
)
from booking.operations import catalogue
from booking.operations.bookings import EmergencyAnswers, SlotTaken, book
from booking.operations import waitlist
from booking.operations.courses import VisitNotFree, book_course, plan_course
from booking.operations.problems import CannotBook, NotFound
from booking.operations.problems import InvalidInput as OperationProblems
from booking.safety import emergency_advice, has_emergency_answer, urgent_advice
from booking.web import why_not_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _slot_json(slot: Slot, zone) -> dict:
    return {
        "start": slot.start.astimezone(zone).isoformat(),
        "end": slot.end.astimezone(zone).isoformat(),
        "practitioner": slot.practitioner,
    }


def _error(status: int, code: str, message: str, **extra):
    return jsonify({"error": code, "message": message, **extra}), status


def _asked_language(known) -> str:
    """?language=es: the clinic's texts in one of its languages (their own where it wrote no
    version); the clinic's first language when not asked."""
    asked = read(LanguageQuery, request.args.to_dict(), languages=list(known.languages))
    return asked.language or known.languages[0]


@bp.get("/services")
@limited("API_READ_LIMIT")
def services():
    """Bookable services, in the clinic's order."""
    known = catalogue.current()
    language, own = _asked_language(known), known.languages[0]
    rows = known.bookable_services()
    return jsonify(
        {
            "language": language,
            "services": [
                {
                    "slug": s.slug,
                    "name": s.text("name", language, own),
                    "description": s.text("description", language, own),
                    "minutes": s.minutes,
                    "new_patients_only": s.new_patients_only,
                }
                for s in rows
            ]
        }
    )


@bp.get("/practitioners")
@limited("API_READ_LIMIT")
def practitioners():
    """Practitioners and the services each offers."""
    known = catalogue.current()
    language, own = _asked_language(known), known.languages[0]
    active_services = {s.slug for s in known.services if s.is_active}
    return jsonify(
        {
            "language": language,
            "practitioners": [
                {"slug": p.slug, "name": p.name, "bio": p.text("bio", language, own),
                 "services": [slug for slug in p.service_slugs if slug in active_services]}
                for p in known.active_practitioners()
            ]
        }
    )


@bp.get("/slots")
@limited("API_READ_LIMIT")
def slots():
    """Free starts for a service over 1-31 clinic dates."""
    query = read(SlotQuery, request.args.to_dict())
    # The clinic's rules, services and practitioners, and the diaries' stamps: one statement.
    known, diaries = catalogue.current_with_diaries()
    service = known.service(query.service)
    chosen = known.practitioners_for(service, query.practitioner)
    moment = now()
    today = known.today(moment)
    first_day = query.first_day or today
    last_day = today + timedelta(days=known.max_advance_days)
    if not today - timedelta(days=366) <= first_day <= last_day:
        raise InvalidInput({"from": f"must be between a year ago and {last_day.isoformat()}, the last date open for booking"})
    # The answer's JSON is kept as the free times are (a week of everyone's is over a thousand slots).
    key = answer_key(known, service, chosen, first_day, query.days, moment, diaries)
    body = kept("slots_json", key, lambda: current_app.json.dumps({
        "timezone": known.timezone,
        "slots": [_slot_json(s, known.zone) for s in offered_slots(known, service, chosen, first_day, query.days,
                                                                   moment, diaries)],
    }, separators=(",", ":")))
    return current_app.response_class(body + "\n", mimetype="application/json")


@bp.get("/openapi.json")
@limited("API_READ_LIMIT")
def openapi():
    """This API as an OpenAPI 3.1 document, generated from the models that check its requests."""
    return Response(document_text(), mimetype="application/json")


def _language_asked(body, offered: list[str]) -> str:
    """The language the body asks for where the clinic offers it, else the clinic's first."""
    asked = body.get("language") if isinstance(body, dict) else None
    return asked if isinstance(asked, str) and asked in offered else offered[0]


def _patients_body():
    """(body, None), or (None, the answer) when the body is not JSON or has an emergency answer:
    that advice comes first, as it matters more than any typo elsewhere. The advice is for the
    caller to pass on to the patient, in the patient's language where the body says one the
    clinic offers (read before the rest)."""
    body = request.get_json(silent=True)
    if body is None:
        return None, _error(400, "invalid_json", why_not_json())
    if isinstance(body, dict) and has_emergency_answer(body.get("safety")):
        advice = _emergency_advice(body, load_clinic())
        return None, _error(422, "emergency", advice, advice=advice)
    return body, None


def _emergency_advice(body, clinic) -> str:
    with speaking(_language_asked(body, offered_languages(clinic))):
        return emergency_advice(clinic.emergency_number, clinic.phone)


@bp.post("/bookings")
@limited("API_BOOKING_LIMIT")
def create_booking():
    """Book a free start for a patient who has passed the safety check."""
    body, refusal = _patients_body()
    if refusal is not None:
        return refusal
    moment = now()
    booking_request, repeat = _read_booking_body(body, moment)
    if repeat is not None:
        clinic = load_clinic()
        return _book_course(booking_request, repeat, moment, clinic, _emergency_advice(body, clinic))
    try:
        result = book(booking_request, moment)
    except EmergencyAnswers:
        advice = _emergency_advice(body, load_clinic())
        return _error(422, "emergency", advice, advice=advice)
    except SlotTaken as taken:
        return _error(
            409,
            "slot_taken",
            "that time was just taken; choose one of the alternatives or ask /api/v1/slots again",
            alternatives=[_slot_json(s, catalogue.as_last_read().zone) for s in taken.alternatives],
        )
    zone = catalogue.as_last_read().zone  # as the booking read it, under its lock
    made = result.booked  # plain values: the answer reads nothing from the database again
    manage_path = url_for("manage.show", token=result.manage_token)
    booked = {
        "reference": made.reference,
        "start": made.starts_at.astimezone(zone).isoformat(),
        "end": made.ends_at.astimezone(zone).isoformat(),
        "practitioner": made.practitioner,
        "service": made.service,
        "manage_url": current_app.config["BASE_URL"] + manage_path,
    }
    if made.safety_flags:  # urgent answers: the caller passes this on to the patient
        clinic = load_clinic()
        with speaking(made.language):
            booked["advice"] = urgent_advice(clinic.emergency_number, clinic.region)
    return jsonify(booked), 201


def _read_booking_body(body, moment):
    """The booking and its repeat, read with the clinic's settings (its date, its languages) as this
    process last read them: a single booking reads them again under its lock (bookings.book), so
    the stamp read that would make sure of them here is spared. A refusal, or a course (whose
    visits read no language again), is decided on the settings as they are now."""
    kept = catalogue.as_last_read()
    try:
        read = read_booking(body, kept.today(moment), list(kept.languages))
    except InvalidInput:
        known = catalogue.current()
        if known is kept:  # the copy was current: the refusal stands
            raise
    else:
        _booking, repeat = read
        if repeat is None:
            return read
        known = catalogue.current()
        if known is kept:
            return read
    return read_booking(body, known.today(moment), list(known.languages))  # read with the new settings


REPEAT_FIELDS = ("every_days", "weekdays", "count")


def _book_course(booking_request, repeat, moment, clinic, advice):
    """A course: every visit at the pattern's time, all booked or none (409 lists those not free)."""
    zone, emergency_number, region = clinic.zone, clinic.emergency_number, clinic.region
    try:
        plan = plan_course(booking_request.service, booking_request.practitioner, booking_request.start, repeat,
                           moment)
    except CannotBook as problem:  # errors name the JSON path: the repeat's own fields are inside "repeat"
        field = f"repeat.{problem.field}" if problem.field in REPEAT_FIELDS else problem.field
        return jsonify({"error": "invalid", "errors": {field: problem.message}}), 422
    not_free = [{"number": p.number, "start": p.wanted.astimezone(zone).isoformat() if p.wanted else None,
                 "alternatives": [_slot_json(Slot(alt, alt + timedelta(minutes=plan.service_of(p.number).minutes),
                                                  plan.practitioner.slug), zone) for alt in p.alternatives]}
                for p in plan.proposals if not p.is_free]
    if not not_free:
        try:
            result = book_course(booking_request, repeat, [p.wanted for p in plan.proposals], moment)
        except EmergencyAnswers:
            return _error(422, "emergency", advice, advice=advice)
        except VisitNotFree as lost:
            not_free = [{"number": lost.number, "start": lost.start.astimezone(zone).isoformat(),
                         "alternatives": [_slot_json(s, zone) for s in lost.alternatives]}]
    if not_free:
        return _error(409, "course_not_free", "some visits of the course are not free, so nothing was booked; "
                      "choose another start or repeat, or book those visits at one of their alternatives",
                      visits=not_free)
    visits = [{"reference": made.reference, "start": made.starts_at.astimezone(zone).isoformat(),
               "end": made.ends_at.astimezone(zone).isoformat(), "practitioner": made.practitioner,
               "service": made.service,
               "manage_url": current_app.config["BASE_URL"] + url_for("manage.show", token=token)}
              for made, token in zip(result.booked, result.manage_tokens)]
    pattern = ({"weekdays": [WEEKDAY_NAMES[day] for day in repeat.weekdays]} if repeat.weekdays
               else {"every_days": repeat.every_days})
    answer = {"course": pattern | {"count": repeat.count}, "visits": visits}
    if result.booked[0].safety_flags:
        with speaking(result.booked[0].language):
            answer["advice"] = urgent_advice(emergency_number, region)
    return jsonify(answer), 201


@bp.post("/waitlist")
@limited("API_BOOKING_LIMIT")
def join_waitlist():
    """Put a patient who has passed the safety check on the waitlist; 201 with their secret link."""
    body, refusal = _patients_body()
    if refusal is not None:
        return refusal
    moment, clinic = now(), load_clinic()
    offered = offered_languages(clinic)
    with speaking(_language_asked(body, offered)):  # the operation's messages, in the patient's language
        try:
            request_ = read(WaitlistBody, body, today=clinic.today(moment), languages=offered).join_request()
        except InvalidInput as invalid:  # with what the dates that could be read have wrong: one round
            raise InvalidInput(_with_date_problems(invalid.errors, body, moment)) from None
        # An unknown service or practitioner is 404 not_found, as for a booking (the document says so).
        known = catalogue.current()
        known.practitioners_for(known.service(request_.wishes.service), request_.wishes.practitioner)
        try:
            joined = waitlist.join(request_, moment)
        except waitlist.AlreadyWaiting as already:  # a conflict with what is there, not a field to fix
            return _error(409, "already_waiting", already.message)
        except OperationProblems as invalid:  # named as the body names them
            return jsonify({"error": "invalid", "errors": {WAITLIST_NAMES.get(key, key): message
                                                           for key, message in invalid.problems.items()}}), 422
    return jsonify({"manage_url": current_app.config["BASE_URL"] + url_for("waitlist.show", token=joined.token),
                    "service": request_.wishes.service, "practitioner": request_.wishes.practitioner,
                    "from": request_.wishes.first_day.isoformat(), "to": request_.wishes.last_day.isoformat(),
                    "notice": joined.notice}), 201


WAITLIST_NAMES = {"first_day": "from", "last_day": "to"}  # the operation's names for the body's


def _with_date_problems(errors: dict[str, str], body: dict, moment) -> dict[str, str]:
    """A refused waitlist body's errors and what is wrong with its dates that parsed (the last before
    the first, past the horizon...), so every problem is named at once."""
    if not isinstance(body, dict):
        return errors

    def day(key: str):
        try:
            return date.fromisoformat(body.get(key)) if isinstance(body.get(key), str) else None
        except ValueError:
            return None
    dated = waitlist.problems_before_joining(None, None, day("from"), day("to"), moment)
    return {WAITLIST_NAMES.get(key, key): message for key, message in dated.items()} | errors


@bp.errorhandler(InvalidInput)
def invalid_input(error: InvalidInput):
    return jsonify({"error": "invalid", "errors": error.errors}), 422


@bp.errorhandler(CannotBook)
def cannot_book(error: CannotBook):
    return jsonify({"error": "invalid", "errors": {error.field: error.message}}), 422


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    return _error(404, "not_found", error.message, field=error.field)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Every other HTTP error from the API as JSON, never an HTML page."""
    return _error(error.code or 500, error.name.lower().replace(" ", "_"), api_message(error))
