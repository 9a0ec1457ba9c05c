"""Which language a page speaks and how its dates read: Flask-Babel, set from the clinic.

Two settings of the clinic decide it: `locale` (en_US, en_GB...: how dates, times and numbers
read) and `languages` (what patients may choose, the first being the default). Patient pages
speak the patient's choice, kept in their session (so the booking draft keeps it) and copied
onto the appointment when they book, so emails and reminders for that visit follow it. Staff
pages stay English. Either way the clinic's country stays: a Spanish-speaking patient of a
Los Angeles clinic reads es_US dates; one of a London clinic reads Spanish with the clinic's
24-hour clock.

Catalogs: booking/translations/<language>/LC_MESSAGES/messages.po, compiled to .mo by
`make install` (see the README's "Languages" section for extract/update/compile).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from flask import Flask, g, has_request_context, redirect, request, session
from flask_babel import Babel, force_locale, get_locale, refresh
from markupsafe import Markup

from booking.extensions import db

TRANSLATIONS = Path(__file__).parent / "translations"
SESSION_KEY = "language"
# Pages a patient reads: they speak the patient's language. Everything else is for staff.
PATIENT_BLUEPRINTS = frozenset({"public", "manage", "intake", "identity", "articles", "waitlist"})
# How each offered language names itself on the switcher.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}

babel = Babel()


def _clinic():
    from booking.models import Clinic

    return db.session.get(Clinic, 1)


@lru_cache(maxsize=64)  # a handful of pairs, asked for by every page and history line: Babel parses both each time
def format_locale(language: str, clinic_locale: str) -> str:
    """The locale for a language in the clinic's country: ("es", "en_US") -> "es_US"; the
    language alone where Babel knows no such pairing (Spanish as written in Britain: "es")."""
    language = (language or "en").split("_")[0]
    territory = Locale.parse(clinic_locale).territory if clinic_locale else None
    if territory:
        try:
            return str(Locale(language, territory))
        except UnknownLocaleError:
            pass
    return language


def spoken_locale(clinic) -> str:
    """The locale being spoken (the page's, in the patient's or the staff member's language), or the
    clinic's English outside a request: for dates and weekdays written into an operation's messages."""
    spoken = get_locale()
    return str(spoken) if spoken else format_locale("en", clinic.locale)


def catalog_languages() -> list[str]:
    """The languages patient pages can speak: English (the words in the code) and each language
    with a catalog in booking/translations, in that order."""
    found = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    return ["en", *(language for language in found if language != "en")]


def language_name(code: str) -> str:
    """How a staff page names a patients' language: "es" -> "Spanish"."""
    return Locale.parse(code).get_display_name("en")


def offered_languages(clinic) -> list[str]:
    return list(clinic.languages or ["en"]) if clinic is not None else ["en"]


def patient_language() -> str:
    """The language this patient chose, if the clinic offers it; else, on the pages of a visit or
    a place on the waitlist (opened by its secret link), the language it was made in; else the
    clinic's first."""
    offered = offered_languages(_clinic())
    chosen = session.get(SESSION_KEY) or g.get("link_language")
    return chosen if chosen in offered else offered[0]


def speak_the_language_of(opened, keep: Callable[[str], None]) -> None:
    """The pages a secret link opens (a visit's, a place's on the waitlist) speak the language it was
    made in (`opened.language`), unless this browser chose one; a choice made here (the switcher
    leads to a GET) becomes its language, kept by `keep(language)`, so its later emails follow
    the patient's switch."""
    g.link_language = opened.language
    chosen = session.get(SESSION_KEY)
    if (request.method == "GET" and chosen and chosen != opened.language
            and chosen in offered_languages(_clinic())):
        keep(chosen)
        opened.language = chosen
    refresh()  # in case anything asked for the page's locale before the link's language was known


def is_patient_page() -> bool:
    if not has_request_context():  # a command, the outbox sender, a test's app context: English
        return False
    return request.blueprint in PATIENT_BLUEPRINTS or request.endpoint in (None, "static") and not _staff_signed_in()


def _staff_signed_in() -> bool:
    from booking.staff_access import staff_signed_in  # here: staff_access reads the models, which read this

    return staff_signed_in()


def select_locale() -> str:
    clinic = _clinic()
    clinic_locale = clinic.locale if clinic is not None else "en_US"
    language = patient_language() if is_patient_page() else "en"
    return format_locale(language, clinic_locale)


def select_timezone() -> str | None:
    clinic = _clinic()
    return clinic.timezone if clinic is not None else None


def speaking(language: str):
    """A context in which gettext and formatting speak `language` in the clinic's country, e.g.
    to write a patient's email in the language of their appointment."""
    clinic = _clinic()
    return force_locale(format_locale(language, clinic.locale if clinic is not None else "en_US"))


def take_language_choice():
    """A patient page opened with ?language=es: remember the choice and show the same page
    without it (so the address stays clean and a reload does not choose again)."""
    if request.method != "GET" or "language" not in request.args or request.blueprint not in PATIENT_BLUEPRINTS:
        return None
    chosen = request.args["language"]
    if chosen in offered_languages(_clinic()):
        session[SESSION_KEY] = chosen
    rest = [(key, value) for key, value in request.args.items(multi=True) if key != "language"]
    return redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)


def language_links() -> list[dict]:
    """The other languages this patient could switch to, for the switcher on every patient page."""
    if request.blueprint not in PATIENT_BLUEPRINTS:  # not on staff or error pages: it could not take
        return []
    clinic = _clinic()
    offered = offered_languages(clinic)
    if len(offered) < 2:
        return []
    current = patient_language()
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "language"]
    return [
        {"code": code, "name": LANGUAGE_NAMES.get(code, code),
         "href": request.path + "?" + urlencode(args + [("language", code)])}
        for code in offered if code != current
    ]


def current_language() -> str:
    """The language being spoken now: the patient page's, or the email's (speaking()); English on
    staff pages and outside a request."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


def in_current_language(item, field: str):
    """A text the clinic wrote (a service's name, its directions...) in the language being spoken,
    or the clinic's own where it has written no version in it (models.InLanguages). Patient pages,
    their emails and calendar files use this; staff pages show the clinic's own text."""
    return item.text(field, current_language(), offered_languages(_clinic())[0])


def fallback_language(item, field: str) -> str | None:
    """The language of a clinic text shown in place of a version the page's language lacks (the
    clinic's own, e.g. "en"), or None when it is in the page's language: the element holding it
    says lang= so a screen reader speaks it as written (WCAG 3.1.2, language of parts)."""
    spoken, own = current_language(), offered_languages(_clinic())[0]
    if spoken == own or item.text(field, spoken, own) != getattr(item, field):
        return None
    return own


def lang_attribute(item, field: str) -> Markup:
    """` lang="en"` for the element holding a clinic text shown in fallback, else nothing."""
    language = fallback_language(item, field)
    return Markup(' lang="%s"') % language if language else Markup("")


def init_app(app: Flask) -> None:
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        if not po.with_suffix(".mo").exists():  # pages and emails would fall back to English unsaid
            app.logger.warning("%s has no compiled catalog next to it: patients who chose %s would read "
                               "English. Run `make install` (or pybabel compile -d booking/translations).",
                               po, po.parent.parent.name)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.before_request(take_language_choice)
    app.jinja_env.globals["language_links"] = language_links
    app.jinja_env.globals["is_patient_page"] = is_patient_page  # base.html: the patients' footer or the staff's
    app.jinja_env.globals["page_language"] = lambda: (get_locale() or Locale("en")).language
    # `{{ service | translated("name") }}`: the clinic's text in the page's or email's language.
    app.add_template_filter(in_current_language, "translated")
    app.jinja_env.globals["lang_attribute"] = lang_attribute
    app.jinja_env.globals["language_name"] = language_name  # staff pages name a language in English
