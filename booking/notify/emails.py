"""The emails the clinic sends to patients, written from templates.

Each kind of email is one template, templates/emails/<kind>.txt, written twice: once as the
plain-text part, where links read "text: <URL>" and headings are plain lines, and once as
Markdown for the HTML part (links, tel: links for phone numbers, headings), turned into
HTML and sanitised. The template names each link, phone number and heading through a helper
(see _PlainText and _Markdown), so the two parts always say the same words and neither
shows the other's marks.

A patient's email speaks the language of their appointment (Appointment.language), in the
clinic's country, whoever causes it: the patient, the desk or a command queueing reminders.
Staff alerts stay English. Every time is in the clinic's zone with the zone named ("Tue,
Mar 16, 2027, 9:00 AM PDT"), so nobody comes at the wrong hour when their phone is set to
another zone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import markdown
import nh3
from flask import current_app, render_template, url_for
from flask_babel import get_locale
from markupsafe import Markup

from booking.formatting import date_text, email_time, tel_uri
from booking.i18n import speaking
from booking.models import Appointment, Clinic, WaitlistEntry
from booking.notify.calendar import visits_calendar

# Stands in the stored bodies where the message's secret link goes; the sender makes a new
# token for each attempt and puts it there only in what it hands to the mail server
# (URL-safe, so url_for leaves it as it is).
LINK_PLACEHOLDER = "LINK-SENT-WITH-THE-EMAIL"
# Where a link made only as the email is sent goes (operations.identity: confirming a booking).
IDENTITY_LINK_PLACEHOLDER = "IDENTITY-LINK-MADE-WHEN-SENT"
# A course's confirmation links to each of its visits: this prefix and the visit's reference stand
# where that visit's own link goes, made as the email is sent like the one above.
VISIT_LINK_PREFIX = "VISIT-LINK-MADE-WHEN-SENT-"
VISIT_LINK = re.compile(VISIT_LINK_PREFIX + r"([A-Z0-9]{4,12})")


def visit_link_placeholder(appointment: Appointment) -> str:
    return VISIT_LINK_PREFIX + appointment.reference
# Where the secret link to a place on the waitlist goes, made as the email is sent (WaitlistLink).
WAITLIST_LINK_PLACEHOLDER = "WAITLIST-LINK-MADE-WHEN-SENT"

HTML_TAGS = {"p", "a", "ul", "ol", "li", "strong", "em", "h2", "h3", "br", "hr"}


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    calendar: bytes | None = None


@contextmanager
def _on_the_site():
    """Build links as the public site's (BASE_URL), also from commands run outside a request."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        yield


def _external(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _markdown_without_html() -> markdown.Markdown:
    """Markdown that shows HTML in the text (a patient's name, say) as text, never as markup."""
    converter = markdown.Markdown()
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


# Building a converter costs as much as a short email's conversion, and a booking writes its
# email while it holds the write lock: each thread keeps one, reset before each use (a converter
# is not safe to share between threads).
_converters = threading.local()


def _to_html(markdown_text: str) -> str:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = _markdown_without_html()
    return converter.reset().convert(markdown_text)


def _html(markdown_text: str, clinic: Clinic) -> str:
    """The text as sanitised HTML inside the emails' layout."""
    body = nh3.clean(_to_html(markdown_text), tags=HTML_TAGS, attributes={"a": {"href"}})
    return render_template("emails/layout.html", body=Markup(body), clinic=clinic, tel_uri=tel_uri)


def _one_line(value) -> str:
    """A value from outside (a name, say) on one line: it cannot add lines to the email."""
    return " ".join(str(value).split())


# Characters that mean something to Markdown; a backslash makes each mean itself.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!>])")


def _markdown_literal(value) -> str:
    """A value from outside as Markdown that shows it as it is: never a link, heading or markup."""
    text = _one_line(value).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


class _PlainText:
    """How the template's links, phone numbers and headings read in the plain-text part."""

    t = staticmethod(_one_line)

    @staticmethod
    def link(text, url: str) -> str:
        return f"{_one_line(text)}: <{url}>"

    @staticmethod
    def phone(number) -> str:
        return _one_line(number)

    @staticmethod
    def heading(title) -> str:
        return _one_line(title)

    # A new line inside a list item ("Where:" and the address under it).
    line_break = "\n  "


class _Markdown:
    """The same, as Markdown for the HTML part: every value from outside shown as it is."""

    t = staticmethod(_markdown_literal)

    @staticmethod
    def link(text, url: str) -> str:
        return f"[{_markdown_literal(text)}]({url})"

    @staticmethod
    def phone(number) -> str:
        uri = tel_uri(str(number))
        return f"[{_markdown_literal(number)}]({uri})" if uri else _markdown_literal(number)

    @staticmethod
    def heading(title) -> str:
        return f"## {_markdown_literal(title)}"

    line_break = "  \n  "  # two spaces: Markdown's hard line break


# Emails to the clinic's staff: English, whatever the patient speaks.
STAFF_KINDS = {"safety_alert"}


def compose(kind: str, appointment: Appointment, clinic: Clinic, now: datetime, **context) -> Email:
    """The email of this kind about this appointment, with LINK_PLACEHOLDER for its secret link.

    Kinds: confirmation, course_confirmation (context: visits, every visit of the course), moved (context: was_at,
    was_with: the old time and practitioner), cancelled (context: by_clinic), course_cancelled (context: visits,
    every visit cancelled with the rest of a course, and by_clinic), reminder, progress_invitation,
    intake_invitation, identity_check (context: link_days, placeholder, and for a course visits), and
    safety_alert to the clinic (context: level, given_in). `context` may also carry `questions`: "intake", "progress" or None, the questions the patient still has
    to answer for this visit.
    """
    language = "en" if kind in STAFF_KINDS else appointment.language
    with _on_the_site(), speaking(language):
        locale = get_locale()

        def when(instant: datetime) -> str:
            return email_time(instant, clinic, locale)

        values = {
            "appointment": appointment,
            "clinic": clinic,
            "when": when(appointment.starts_at),
            "email_time": when,
            "change_until": when(appointment.change_deadline(clinic.cancellation_notice_hours)),
            "changeable_online": appointment.can_change_online(now, clinic.cancellation_notice_hours),
            "manage_url": _external("manage.show", token=LINK_PLACEHOLDER),
            "intake_url": _external("intake.start", token=LINK_PLACEHOLDER),
            "progress_url": _external("manage.progress", token=LINK_PLACEHOLDER),
            # Booking again carries on in the language this visit was booked in.
            "book_url": _external("public.choose_service", language=appointment.language
                                  if len(clinic.languages or []) > 1 else None),
            "recheck_url": _external("manage.recheck", token=LINK_PLACEHOLDER),
            "desk_url": _external("desk.appointment", appointment_id=appointment.id),
            # A course's confirmation is its first visit's: the same reading and the same consent.
            "articles": _reading_list(appointment) if kind in CONFIRMATIONS else [],
            "consent_url": _external("manage.consent_form", token=LINK_PLACEHOLDER),
            "consent_needed": kind in CONFIRMATIONS and _needs_consent(appointment),
            "questions": None,
            "visit_manage_url": lambda visit: _external("manage.show", token=visit_link_placeholder(visit)),
            **context,
        }
        calendar = None
        if kind in CALENDAR_KINDS:  # a course's emails carry every visit they tell of, one VEVENT each
            calendar = visits_calendar(context.get("visits") or [appointment], clinic, stamped_at=now,
                                       organizer=current_app.config["MAIL_FROM"])
        return _written(kind, values, clinic, calendar)


def compose_waitlist(kind: str, entry: WaitlistEntry, clinic: Clinic, **context) -> Email:
    """The email of this kind about a place on the waitlist, in the patient's language, with
    WAITLIST_LINK_PLACEHOLDER for its secret link. Kinds: waitlist_joined, waitlist_offer
    (context: offer, when, until)."""
    with _on_the_site(), speaking(entry.language):
        locale = get_locale()
        offer = context.get("offer")
        values = {
            "entry": entry,
            "clinic": clinic,
            "email_time": lambda instant: email_time(instant, clinic, locale),
            "email_day": lambda day: date_text(day, locale, "weekday_year"),
            "entry_url": _external("waitlist.show", token=WAITLIST_LINK_PLACEHOLDER),
            "offer_url": _external("waitlist.offer", token=WAITLIST_LINK_PLACEHOLDER, offer_id=offer.id) if offer else None,
            **context,
        }
        return _written(kind, values, clinic, None)


def _written(kind: str, values: dict, clinic: Clinic, calendar: bytes | None) -> Email:
    """The template emails/<kind>.txt written as the plain-text part and as the HTML part."""
    template = f"emails/{kind}.txt"
    subject, text = _split(render_template(template, **_writer(_PlainText), **values))
    _, markdown_text = _split(render_template(template, **_writer(_Markdown), **values))
    return Email(subject=subject, text=text, html=_html(markdown_text, clinic), calendar=calendar)


def _writer(style) -> dict:
    """The helpers a template writes with, in one style (plain text or Markdown)."""
    return {"t": style.t, "link": style.link, "phone": style.phone, "heading": style.heading,
            "line_break": style.line_break}


def _split(rendered: str) -> tuple[str, str]:
    """The template's first line ("Subject: ...") and the body after it."""
    subject, _, body = rendered.strip().partition("\n")
    return _one_line(subject.removeprefix("Subject: ")), body.lstrip("\n") + "\n"


# Emails that change what the patient's calendar should show carry an .ics file.
CALENDAR_KINDS = {"confirmation", "course_confirmation", "moved", "cancelled", "course_cancelled"}
CONFIRMATIONS = {"confirmation", "course_confirmation"}


# Whether a confirmation asks for the consent, as the confirmation page does (no consent covers the
# visit): operations.consent answers, and puts its check here as it is imported, since the emails
# may not import the operations that queue them (tests/test_layers.py). Without it, none asks.
CONSENT_NEEDED: list[Callable[[Appointment], bool]] = []


def _needs_consent(appointment: Appointment) -> bool:
    return any(needed(appointment) for needed in CONSENT_NEEDED)


def _reading_list(appointment: Appointment) -> list[tuple[str, str]]:
    """The clinic's articles for this booking: the confirmation page's list, by the same rule."""
    chosen = current_app.extensions["articles"].for_confirmation(appointment)
    return [(article.title, _external("articles.article", slug=article.slug)) for article in chosen]


def with_links(body: str, links: dict[str, str] | None) -> str:
    """A stored body with its secret links (tokens by placeholder) put in, as the patient receives it."""
    for placeholder, token in (links or {}).items():
        body = body.replace(placeholder, token)
    return body


def link_hidden(body: str) -> str:
    """A stored body as staff may read it: the secret link stays hidden."""
    return VISIT_LINK.sub("(the patient's secret link)", body.replace(LINK_PLACEHOLDER, "(the patient's secret link)")
                          .replace(IDENTITY_LINK_PLACEHOLDER, "(the patient's confirmation link)")
                          .replace(WAITLIST_LINK_PLACEHOLDER, "(the patient's waitlist link)"))
