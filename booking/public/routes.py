"""The patient's booking journey: been here before?, service, practitioner, time, safety check,
details, check, confirm.

Answers are kept on the server in a draft (booking_draft); the browser's session holds
only the draft's random key, so no health data travels in a cookie or a URL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from booking.clock import now
from booking.csrf_tokens import csrf_token
from booking.kept_pages import without_indentation
from booking.extensions import db
from booking.forms import NONE_OF_THESE, ConfirmForm, DetailsForm, SafetyForm, options
from booking.formatting import clinic_time
from booking.i18n import SESSION_KEY as SESSION_LANGUAGE, in_current_language, patient_language
from booking.models import AppointmentStatus, Patient, Practitioner, Service
from booking.operations import drafts
from booking.operations import catalogue
from booking.operations.catalogue import ANY_PRACTITIONER
from booking.operations.availability import (
    bookable_services,
    is_free,
    kept,
    load_clinic,
    load_practitioners,
)
from booking.operations.bookings import AlreadyBooked, EmergencyAnswers, PatientBusy, SlotTaken, book
from booking.tokens import draft_manage_token, hash_token
from booking.operations.problems import CannotBook
from booking.operations.courses import VisitNotFree
from booking.public.forms import FirstVisitForm, PractitionerForm, ServiceForm, TimeForm
from booking.safety import URGENT, classify
from booking.staff_access import staff_signed_in
from booking.time_list import page_key, parse_instant, time_list_context
from booking.public import courses as courses_web

bp = Blueprint("public", __name__)

DRAFT_KEY = "booking"
STEP_ENDPOINTS = {
    "first_visit": "public.first_visit",
    "service": "public.choose_service",
    "practitioner": "public.choose_practitioner",
    "time": "public.choose_time",
    "safety": "public.safety_check",
    "details": "public.your_details",
    None: "public.check_answers",
}
STEP_ORDER = list(STEP_ENDPOINTS)


def current_draft():
    return drafts.find_draft(session.get(DRAFT_KEY), now())


def lost_draft():
    """Back to the first question, saying why. With a draft's key in the session, the booking
    started in this browser has gone (its day without a change passed). Without one, this
    browser holds no booking: its cookie was cleared, or a later step's address was opened
    directly, and the two look the same, so the message is true of both."""
    if session.pop(DRAFT_KEY, None) is not None:
        flash(_("We could not find the booking you started: it may have expired. "
                "Please start again from the first question."), "lost-race")
    elif request.method == "POST":  # an answer or "Confirm booking" sent: say it went nowhere
        flash(_("There is no booking in progress in this browser, so nothing was booked. Please "
                "start from the first question."), "lost-race")
    else:
        flash(_("There is no booking in progress in this browser, so please start from the first "
                "question."), "lost-race")
    return redirect(url_for("public.first_visit"), code=303 if request.method == "POST" else 302)


def next_page(draft):
    """Where to go after answering: the first unanswered question, else Check your answers."""
    return redirect(url_for(STEP_ENDPOINTS[draft.missing_step()]))


def journey_step(step: str, *, plain_on_get: bool = False):
    """Load the draft for a step; send the patient back to the first unanswered earlier step.
    plain_on_get: a GET gets the draft's answers as plain values (drafts.DraftAnswers), for a
    page that shows them and changes nothing."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if plain_on_get and request.method == "GET":
                draft = drafts.find_answers(session.get(DRAFT_KEY), now())
            else:
                draft = current_draft()
            if draft is None:
                if step == "service" and request.method == "GET" and DRAFT_KEY not in session:
                    return redirect(url_for("public.first_visit"))  # not started yet: nothing was lost
                return lost_draft()
            if draft.appointment_id is not None:  # booked: a new booking starts at the first question
                return redirect(url_for("public.first_visit" if step == "service" else "public.confirmation"))
            missing = draft.missing_step()
            if STEP_ORDER.index(missing) < STEP_ORDER.index(step):
                return redirect(url_for(STEP_ENDPOINTS[missing]))
            return view(draft, *args, **kwargs)

        return wrapper

    return decorate


@bp.get("/")
def index():
    """The clinic, its services and practitioners, and "Book a visit"."""
    known = catalogue.current()
    key = _shared_home_page(known)
    pages = current_app.extensions.setdefault("home_pages", {})
    page = pages.get(key) if key else None
    if page is None:
        page = render_template("public/index.html", services=known.bookable_services(),
                               practitioners=known.active_practitioners())
        if key:
            # tuple(): one step, so another thread's page added meanwhile cannot break the loop
            if len(pages) >= HOME_PAGES_KEPT or any(kept[0] != known.stamp for kept in tuple(pages)):
                pages.clear()  # the clinic changed (or an odd mix of languages): start again
            pages[key] = page
    return page


HOME_PAGES_KEPT = 8  # one per language the clinic offers, with room to spare


def _shared_home_page(known) -> tuple | None:
    """What the home page shown to any visitor depends on, when it is the same for all of them:
    the clinic as its settings stamp names it (its name, contacts, services and practitioners: any
    change renews the stamp, whichever process makes it) and the language chosen. None for a page
    of one person's: signed-in staff (their menu), a message waiting to be shown, or an address
    with a query (its links repeat the query). Rendering the page was most of its cost."""
    if request.query_string or session.get("_flashes") or staff_signed_in():
        return None
    return known.stamp, session.get(SESSION_LANGUAGE)


def fitting_services(services, returning: bool) -> list:
    """The visits that fit the answer about having been here before: a returning patient is not
    offered visits for new patients; a new one only those, where the clinic has any."""
    if returning:
        return [s for s in services if not s.new_patients_only]
    return [s for s in services if s.new_patients_only] or list(services)


@bp.route("/book/first-visit", methods=["GET", "POST"])
def first_visit():
    """The first question, asked before the list of visits so that the list offers only what fits."""
    load_clinic()
    draft = current_draft()
    if draft is not None and draft.appointment_id is not None:
        draft = None  # booked already: this is a new booking
    answered = (draft.details or {}).get("returning") if draft is not None else None
    form = FirstVisitForm(data={"returning": None if answered is None else ("yes" if answered else "no")})
    if form.validate_on_submit():
        moment = now()
        if draft is None:
            draft, session[DRAFT_KEY] = drafts.start_draft(moment)
        returning = form.returning.data == "yes"
        changes = {"details": (draft.details or {}) | {"returning": returning}}
        if draft.service is not None and draft.service.slug not in {
                s.slug for s in fitting_services(bookable_services(), returning)}:
            changes |= {"service": None, "starts_at": None}  # that visit is not for them: choose again
        drafts.save(draft, moment, **changes)
        return next_page(draft)
    return render_template("public/first_visit.html", form=form)


@bp.route("/book", methods=["GET", "POST"])
@journey_step("service")
def choose_service(draft):
    returning = draft.details["returning"]
    services = fitting_services(bookable_services(), returning)
    # The only visit that fits starts chosen: Continue goes on, rather than asking to choose it first.
    only = services[0].slug if len(services) == 1 else None
    form = ServiceForm(data={"service": draft.service.slug if draft.service else only})
    form.service.choices = options((s.slug, in_current_language(s, "name")) for s in services)
    if form.validate_on_submit():
        moment = now()
        service = db.session.get(Service, next(s.id for s in services if s.slug == form.service.data))
        changes = {"service": service}
        if draft.service_id != service.id:
            changes["starts_at"] = None  # a different length needs a different time
            if draft.practitioner_choice not in (None, ANY_PRACTITIONER) and not any(
                p.slug == draft.practitioner_choice for p in service.practitioners
            ):
                changes["practitioner_choice"] = None
        drafts.save(draft, moment, **changes)
        return next_page(draft)
    return render_template("public/service.html", form=form, services=services, returning=returning)


@bp.route("/book/practitioner", methods=["GET", "POST"])
@journey_step("practitioner")
def choose_practitioner(draft):
    offering = load_practitioners(draft.service, ANY_PRACTITIONER)
    form = PractitionerForm(data={"practitioner": draft.practitioner_choice})
    form.practitioner.choices = options([(ANY_PRACTITIONER, _("First available")), *((p.slug, p.name) for p in offering)])
    if form.validate_on_submit():
        changes = {"practitioner_choice": form.practitioner.data}
        if form.practitioner.data != draft.practitioner_choice:
            changes["starts_at"] = None
        drafts.save(draft, now(), **changes)
        return next_page(draft)
    return render_template("public/practitioner.html", form=form, draft=draft, practitioners=offering)


@bp.route("/book/time", methods=["GET", "POST"])
@journey_step("time", plain_on_get=True)
def choose_time(draft):
    # The rules and hours only (the page itself reads the clinic's name), with the diaries' stamps.
    clinic, diaries = catalogue.current_with_diaries()
    service = next((s for s in clinic.services if s.id == draft.service_id), None)
    if service is None:  # removed since the draft was read
        return redirect(url_for("public.choose_service"))
    practitioners = clinic.practitioners_for(service, draft.practitioner_choice)
    if request.method == "GET":
        return _time_page(clinic, diaries, service, draft.practitioner_choice, practitioners)
    form = TimeForm()
    if form.validate_on_submit():
        start = parse_instant(form.start.data)
        if start is not None and is_free(clinic, service, practitioners, start, now()):
            drafts.save(draft, now(), starts_at=start, lost_race=False)
            return next_page(draft)
        form.start.errors.append(_("That time is no longer free. Choose another time."))
    return _render_time_page(form, clinic, diaries, service, draft.practitioner_choice, practitioners, now())


TIME_PAGES_KEPT = 64  # a page is some kilobytes; its notice minute makes a new key each minute anyway


def _time_page(clinic, diaries, service, choice: str, practitioners):
    """The time list as a GET shows it, kept by this process for as long as it cannot change.

    What the page shows: the clinic (its settings stamp), the free times (the diary stamps, the
    clinic date and the notice's minute, as offered_slots keeps them), the service and the
    practitioner chosen, the dates asked for and the language. The one part of each person's own,
    the form's CSRF token, is put in as the page is served. A page with anything else of one
    person's is rendered for them alone: a message waiting to be shown (a lost race), a signed-in
    member of staff (their menu), an address with more than the dates asked for."""
    moment = now()
    if session.get("_flashes") or set(request.args) - {"from"} or staff_signed_in():
        return _render_time_page(TimeForm(), clinic, diaries, service, choice, practitioners, moment)
    key = (page_key(clinic, service, practitioners, diaries, moment), choice, request.query_string,
           session.get(SESSION_LANGUAGE))
    # Kept encoded, cut where the token goes: serving it joins bytes.
    parts = kept("time_pages", key, lambda: tuple(
        _render_time_page(TimeForm(), clinic, diaries, service, choice, practitioners, moment)
        .encode().split(csrf_token().encode())), limit=TIME_PAGES_KEPT)
    return csrf_token().encode().join(parts)  # the token of this request (one per request: Flask-WTF keeps it)


def _render_time_page(form, clinic, diaries, service, choice: str, practitioners, moment):
    """The time list page, its indentation taken out (kept or not, so the two are the same)."""
    return without_indentation(render_template(
        "public/time.html",
        form=form,
        service=service,
        practitioner_choice=choice,
        action=url_for("public.choose_time"),
        practitioner_name=practitioners[0].name if choice != ANY_PRACTITIONER else None,
        **time_list_context(clinic, service, practitioners, diaries=diaries, moment=moment),
    ))


@bp.route("/book/safety", methods=["GET", "POST"])
@journey_step("safety")
def safety_check(draft):
    chosen = draft.safety_codes if draft.safety_codes is not None else None
    form = SafetyForm(data={"symptoms": (chosen or [NONE_OF_THESE]) if chosen is not None else []})
    if form.validate_on_submit():
        answers = classify(form.codes)
        if answers.stops_booking:
            drafts.save(draft, now(), safety_codes=None)  # nothing is kept of an emergency answer
            return redirect(url_for("public.emergency"))
        drafts.save(draft, now(), safety_codes=list(answers.urgent))
        if answers.urgent:
            return redirect(url_for("public.urgent"))
        return next_page(draft)
    return render_template("public/safety.html", form=form)


@bp.get("/book/emergency")
def emergency():
    """Emergency care advice: the online booking stops here."""
    return render_template("public/emergency.html", clinic=load_clinic())


@bp.get("/book/urgent")
@journey_step("details")
def urgent(draft):
    """See a doctor within a day; the patient may still book."""
    if not draft.safety_codes:
        return next_page(draft)
    symptoms = [URGENT[code] for code in draft.safety_codes if code in URGENT]
    next_url = url_for(STEP_ENDPOINTS[draft.missing_step()])
    return render_template("public/urgent.html", symptoms=symptoms, next_url=next_url)


@bp.route("/book/details", methods=["GET", "POST"])
@journey_step("details")
def your_details(draft):
    clinic = load_clinic()
    saved = draft.details or {}
    born = date.fromisoformat(saved["birth_date"]) if saved.get("birth_date") else None
    form = DetailsForm(
        data={
            "name": saved.get("name"),
            "email": saved.get("email"),
            "phone": saved.get("phone"),
            "birth_day": born.day if born else None,
            "birth_month": born.month if born else None,
            "birth_year": born.year if born else None,
        },
        today=clinic.today(now()),
        locale=str(get_locale()),
    )
    if form.validate_on_submit():
        drafts.save(draft, now(), details=form.answers() | {"returning": saved["returning"]})
        return next_page(draft)
    return render_template("public/details.html", form=form)


@bp.route("/book/check", methods=["GET", "POST"])
@journey_step(None)
def check_answers(draft):
    clinic = load_clinic()
    form = ConfirmForm()
    problem = visit_type_problem(draft)
    course = courses_web.course_of(draft)
    if course is not None and not course.get("starts"):
        return redirect(url_for("public.course_times"))
    if form.validate_on_submit() and problem is None:
        try:
            # The visit keeps the language the patient booked in: its emails and reminders follow it.
            wanted = replace(drafts.booking_request(draft), language=patient_language())
            if course is not None:
                courses_web.book(draft, course, wanted, session[DRAFT_KEY])
            else:
                book(wanted, now(), draft=draft, draft_key=session[DRAFT_KEY])
        except VisitNotFree as lost:
            return courses_web.lost_race(draft, course, lost)
        except (SlotTaken, AlreadyBooked):
            return _lost_race(draft, clinic)  # which sends a second press to the booking it made
        except EmergencyAnswers:
            return redirect(url_for("public.emergency"))
        except PatientBusy as error:  # not a lost race: the time is free, the patient is not
            problem = error
        except CannotBook as error:
            if error.field == "start":
                return _lost_race(draft, clinic)
            problem = error
        else:
            return redirect(url_for("public.confirmation"), code=303)
    practitioner = None
    if draft.practitioner_choice != ANY_PRACTITIONER:
        practitioner = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == draft.practitioner_choice))
    return render_template(
        "public/check.html",
        form=form,
        draft=draft,
        practitioner=practitioner,
        urgent=[URGENT[c] for c in draft.safety_codes if c in URGENT],
        problem=problem,
        course_starts=courses_web.chosen_starts(course) if course else None,
        changeable_online=draft.starts_at - timedelta(hours=clinic.cancellation_notice_hours) >= now(),
    )


def visit_type_problem(draft) -> CannotBook | None:
    """A visit that does not fit what the patient said about having been here before, or a
    returning patient the clinic cannot find: told what to do rather than booked as someone new."""
    returning = draft.details.get("returning", False)
    if draft.service.slug not in {s.slug for s in fitting_services(bookable_services(), returning)}:
        if returning:
            message = _("You said you have been to the clinic before, but '%(service)s' is for new patients. "
                        "Choose another visit, or change your answer.", service=in_current_language(draft.service, "name"))
        else:
            message = _("You said this is your first visit, so '%(service)s' is not for you yet. "
                        "Choose a visit for new patients, or change your answer about having been before.",
                        service=in_current_language(draft.service, "name"))
        return CannotBook("service", message)
    if returning and not _on_file(draft.details):
        return CannotBook("returning", _(
            "We could not find an earlier visit for %(email)s with this date of birth. Check your email "
            "address and date of birth, call the clinic at %(phone)s, or change your answer and book a "
            "first visit.", email=draft.details["email"], phone=load_clinic().phone))
    return None


def _on_file(details: dict) -> bool:
    """Whether the clinic has a patient with this email address and date of birth."""
    return db.session.scalar(sa.select(Patient.id).where(
        Patient.email == details["email"], Patient.born_on == date.fromisoformat(details["birth_date"]))) is not None


def _lost_race(draft, clinic):
    """Back to the time list with a clear message; every other answer stays."""
    db.session.expire_all()
    draft = current_draft()
    if draft.appointment_id is not None:  # a double click: the first press booked it
        return redirect(url_for("public.confirmation"), code=303)
    lost = clinic_time(draft.starts_at, clinic, get_locale())
    drafts.save(draft, now(), starts_at=None, lost_race=True)
    flash(_("Sorry, %(time)s was booked by someone else a moment ago. "
            "Choose another time: your other answers are saved.", time=lost), "lost-race")
    return redirect(url_for("public.choose_time"), code=303)


@bp.get("/book/confirmation")
def confirmation():
    """The booked visit, its reference, what happens next, and what to read.

    The manage link is made again from the draft's key in the patient's session on every
    load (tokens.draft_manage_token): the database keeps only hashes, so no stored value
    opens the visit, yet a reload shows the same working link. Sealing the token with a key
    from SECRET_KEY would also keep it out of a dump, but a dump plus the settings would
    open it again; this way only the patient's browser can.
    """
    draft = current_draft()
    if draft is None or draft.appointment is None:
        abort(404)
    appointment = draft.appointment
    token = draft_manage_token(session[DRAFT_KEY], appointment.reference)
    if appointment.status is AppointmentStatus.CANCELLED or appointment.manage_token_hash != hash_token(token):
        # Moved or cancelled since: this page's links no longer work, so it shows none.
        return render_template("public/booking_changed.html", appointment=appointment)
    clinic = load_clinic()
    manage_url = current_app.config["BASE_URL"] + url_for("manage.show", token=token)
    return render_template(
        "public/confirmation.html",
        appointment=appointment,
        manage_url=manage_url,
        token=token,
        changeable_online=appointment.can_change_online(now(), clinic.cancellation_notice_hours),
        articles=current_app.extensions["articles"].for_confirmation(appointment),
        said_returning=bool((draft.details or {}).get("returning")),
    )


@bp.get("/healthz")
def healthz():
    """200 when the database answers; 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "not answering"}, 503
    return {"status": "ok", "database": "ok"}
