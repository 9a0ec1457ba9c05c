"""Informed consent to treatment: the clinic's consent text in versions, and each patient's consent.

Versions: the text (Markdown, one per patient language) is never changed in place. An admin's
save that changes any language makes the next version; until the first save or signature, the
text shipped in booking/data/consent/ is shown, and the first signature stores it as version 1.
Every consent points at the version the patient read, in the language they read it in.

When consent is needed: a visit needs it until a consent covers it. A consent given for a
visit covers that visit, and every other visit of the same patient that had not ended when it
was given, so a patient agrees once (normally before their first visit), not at every visit.
A visit booked online that still waits for the patient to confirm it was them
(operations.identity) is covered only by its own consent: until then the booking may not be
theirs. Patients from before this feature, without one on file, are asked at their next visit.

Signing online: the patient types their full name; it must match the booked name as a person
would accept it (the rule in `same_name`). Signing again, or once a consent covers the visit,
stores nothing new. A practitioner may record a consent taken in person instead.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import markdown
import nh3
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from booking.extensions import db
from booking.i18n import offered_languages
from booking.measures.intake import precaution_keys
from booking.models import (Appointment, AppointmentStatus, AuditEntry, Clinic, ConsentRecord, ConsentVersion,
                            StaffAccount, StaffRole)
from booking.notify import emails
from booking.operations.clinical import may_read_visit
from booking.operations.permissions import NotAllowed, NotVisible
from booking.operations.problems import InvalidInput, RequestProblem
from booking.operations.safety_signals import lock_visit
from booking.questionnaire import ASKED_PRECAUTIONS
from booking.safety import URGENT
from booking.transaction import advisory_lock, locked, write_transaction

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "consent"
SHIPPED_BY = "Shipped text"  # who "made" version 1 when the first signature stored the shipped text
LOCK_CONSENT_VERSIONS = 4  # pg_advisory_xact_lock namespace (1, 2: bookings.py; 3: reminders.py)
TEXT_LIMIT = 20_000  # characters per language: a page, not a book
NAME_LIMIT = 120  # as the patient's name is stored
# Markdown the text may use: headings, paragraphs, lists, emphasis and links; anything else is dropped.
ALLOWED_TAGS = {"h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a", "br"}
# The medicine precautions are asked as their own questions, so the patient's words for them are here.
ASKED_MEDICINES = {
    "blood_thinners": _l("I take a blood thinner, or I am not sure"),
    "antiplatelets": _l("I take an antiplatelet medicine, such as clopidogrel or daily aspirin, or I am not sure"),
}


# A visit consent can still be given for: ahead, or the patient has arrived for it (not cancelled,
# missed or over, when a consent "given now" would misstate the record).
SIGNABLE = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


class ConsentProblem(RequestProblem):
    """A signature that cannot be kept; `field` names the input to fix. Nothing was stored."""


# --- the text ---------------------------------------------------------------------------------

@cache
def shipped_texts() -> dict[str, str]:
    """The default consent text, by language, as shipped with the service."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(SHIPPED.glob("*.md"))}


def render(text: str) -> Markup:
    """The Markdown as HTML, sanitised as the articles are: an admin's text cannot add scripts,
    styles or attributes, only the tags in ALLOWED_TAGS."""
    html = nh3.clean(markdown.markdown(text, extensions=["sane_lists"]), tags=ALLOWED_TAGS,
                     attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto", "tel"})
    return Markup(html)  # noqa: S704 (sanitised just above)


def current_version() -> ConsentVersion | None:
    return db.session.scalar(sa.select(ConsentVersion).order_by(ConsentVersion.number.desc()).limit(1))


def versions() -> list[ConsentVersion]:
    """Every saved version, newest first."""
    return list(db.session.scalars(sa.select(ConsentVersion).order_by(ConsentVersion.number.desc())))


def find_version(version_id: int) -> ConsentVersion | None:
    return db.session.get(ConsentVersion, version_id)


def text_in(texts: dict[str, str], language: str) -> tuple[str, str]:
    """The text in the language asked for, else in English: (language shown, Markdown)."""
    if texts.get(language, "").strip():
        return language, texts[language]
    return "en", texts.get("en") or next(iter(texts.values()))


@dataclass(frozen=True)
class ShownText:
    """The consent text a patient is shown: which version (None: the shipped text, not saved
    yet), in which language, as HTML."""

    version_id: int | None
    language: str
    html: Markup

    @property
    def version_key(self) -> str:
        """What the form carries back, "3:en": the signature is refused if the text changed
        meanwhile, and keeps the language read even if the visit's changed in another tab."""
        return f"{self.version_id if self.version_id is not None else 'shipped'}:{self.language}"


def texts_of(version_id: int | None) -> dict[str, str]:
    """Every language's text of a saved version, or of the shipped text (None)."""
    return find_version(version_id).texts if version_id is not None else shipped_texts()


def text_to_show(language: str) -> ShownText:
    version = current_version()
    shown, text = text_in(version.texts if version else shipped_texts(), language)
    return ShownText(version.id if version else None, shown, render(text))


def _languages(clinic: Clinic) -> list[str]:
    """The languages the text is kept in: the clinic's patient languages, English always first."""
    return ["en", *[language for language in offered_languages(clinic) if language != "en"]]


def editable_texts(clinic: Clinic) -> dict[str, str]:
    """What the admin's form starts from: the current version, or the shipped text."""
    version = current_version()
    texts = version.texts if version else shipped_texts()
    return {language: texts.get(language, shipped_texts().get(language, "")) for language in _languages(clinic)}


def save_version(texts: dict[str, str], account: StaffAccount, now: datetime) -> ConsentVersion | None:
    """Store the texts as the next version, unless they are the current ones (then None).
    Each of the clinic's languages needs a text; line endings are made one kind, so a
    browser's CRLF is not a change."""
    if account.role is not StaffRole.ADMIN:
        raise NotAllowed()
    clinic = db.session.get(Clinic, 1)
    cleaned = {language: (texts.get(language) or "").replace("\r\n", "\n").strip() + "\n"
               for language in _languages(clinic)}
    problems = {}
    for language, text in cleaned.items():
        if not text.strip():
            problems[language] = "Write the consent text in this language: patients who chose it read it here."
        elif len(text) > TEXT_LIMIT:
            problems[language] = f"Shorten the text to {TEXT_LIMIT:,} characters or fewer (it has {len(text):,})."
        elif "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            problems[language] = "The text holds characters that are not text: type or paste it again."
    if problems:
        raise InvalidInput(problems)
    with write_transaction():
        advisory_lock(LOCK_CONSENT_VERSIONS, 0)
        current = current_version()
        if current is not None and {k: v for k, v in current.texts.items() if k in cleaned} == cleaned:
            return None
        return _new_version(cleaned, account.id, account.name, now, current)


def _new_version(texts: dict[str, str], staff_id: int | None, by: str, now: datetime,
                 current: ConsentVersion | None) -> ConsentVersion:
    version = ConsentVersion(number=(current.number + 1) if current else 1, texts=texts, created_at=now,
                             staff_id=staff_id, created_by=by)
    db.session.add(version)
    db.session.flush()
    return version


# --- whether a visit is covered -----------------------------------------------------------------

def _covers(record_appointment_id: int, given_at: datetime, signed_on_confirmed: bool,
            appointment: Appointment) -> bool:
    """Does a consent cover this visit? Its own visit's always. Another's only when both visits
    are the patient's for sure: a booking still waiting for the patient to confirm it was them may
    have been made by someone else, so its consent neither borrows nor lends."""
    if record_appointment_id == appointment.id:
        return True
    return signed_on_confirmed and not appointment.identity_pending and given_at < appointment.ends_at


# The visit a consent was signed on is the patient's for sure (operations.identity).
_SIGNED_ON_CONFIRMED = (sa.select(Appointment.identity_confirmed_at.is_not(None))
                        .where(Appointment.id == ConsentRecord.appointment_id).scalar_subquery())


def covering(appointment: Appointment) -> ConsentRecord | None:
    """The consent that covers this visit (its own first), or None: one query."""
    rows = db.session.execute(
        sa.select(ConsentRecord, _SIGNED_ON_CONFIRMED).where(ConsentRecord.patient_id == appointment.patient_id)
        .order_by(ConsentRecord.given_at, ConsentRecord.id)).all()
    found = [record for record, confirmed in rows
             if _covers(record.appointment_id, record.given_at, bool(confirmed), appointment)]
    own = [r for r in found if r.appointment_id == appointment.id]
    return (own or found or [None])[0]


def load_status(appointments) -> None:
    """Set `consent_on_file` on each visit, for lists: one query however many visits."""
    appointments = list(appointments)
    if not appointments:
        return
    given = defaultdict(list)
    rows = db.session.execute(
        sa.select(ConsentRecord.patient_id, ConsentRecord.appointment_id, ConsentRecord.given_at, _SIGNED_ON_CONFIRMED)
        .where(ConsentRecord.patient_id.in_({a.patient_id for a in appointments})))
    for patient_id, appointment_id, given_at, confirmed in rows:
        given[patient_id].append((appointment_id, given_at, bool(confirmed)))
    for appointment in appointments:
        appointment.consent_on_file = any(_covers(appointment_id, given_at, confirmed, appointment)
                                          for appointment_id, given_at, confirmed in given[appointment.patient_id])


def needs_consent(appointment: Appointment) -> bool:
    """Whether the patient should be asked: a visit ahead (or arrived for) that no consent covers."""
    if appointment.status not in SIGNABLE:
        return False
    if appointment.consent_on_file is None:
        load_status([appointment])
    return not appointment.consent_on_file


emails.CONSENT_NEEDED.append(needs_consent)  # a confirmation email asks for it as the page does


# --- what the patient told us -------------------------------------------------------------------

def reported_precautions(appointment: Appointment) -> list[str]:
    """What this visit's patient told us that the practitioner takes into account, in their own
    words: the precautions from the intake's health page (read the way the practitioner's list
    is derived, even before the intake is sent), then urgent answers to the safety questions."""
    health = (appointment.intake.answers.get("health", {}) if appointment.intake is not None else {})
    keys = precaution_keys(health)  # as the practitioner's list is derived, even before the intake is sent
    words = [str(ASKED_MEDICINES.get(key) or ASKED_PRECAUTIONS[key]) for key in keys]
    return words + [str(URGENT[code]) for code in appointment.safety_answers or [] if code in URGENT]


# --- signing -------------------------------------------------------------------------------------

# Letters that do not come apart into a base letter and an accent, written as people type them
# on a keyboard without them: "Łukasz" is signed "Lukasz", "Søren" "Soren".
FOLDED_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ß": "ss",
                                "ı": "i"})


def _words(name: str) -> list[str]:
    """A name's words as a person compares them: accents, case, apostrophes and punctuation
    between parts do not count ("O'Brien" reads as "obrien", "García-Ruiz" as "garcia ruiz")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(FOLDED_LETTERS))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    letters = "".join("" if c in "'’‘`" else c for c in letters)
    return "".join(" " if c in "-.,‐–—" or c.isspace() else c for c in letters).split()


def same_name(typed: str, booked: str) -> bool:
    """The typed signature is the booked name as a person would accept it: the same letters with
    or without spaces and hyphens ("Mary-Jane", "Maryjane"), or the same words in any order with a
    middle name or second surname more or fewer ("Caller, Pat"; "José García" for "José García
    Ruiz"), but at least two of them when the booked name has two. The secret link is what proves
    who signs; this only catches a slip, such as a name typed into the wrong box."""
    typed_words, booked_words = _words(typed), _words(booked)
    if not typed_words:
        return False
    if "".join(typed_words) == "".join(booked_words):
        return True
    typed_set, booked_set = set(typed_words), set(booked_words)
    return (len(typed_set) >= min(2, len(booked_set))
            and (typed_set <= booked_set or booked_set <= typed_set))


def booked_names(appointment: Appointment) -> list[str]:
    """The names a signature may match: the patient's, and the name typed with a booking that
    waits for identity confirmation (kept beside the booking, operations.identity)."""
    names = [appointment.patient.name]
    if appointment.booked_as and appointment.booked_as.get("name"):
        names.append(appointment.booked_as["name"])
    return names


def check_signature(appointment: Appointment, typed: str | None) -> str:
    """The typed name, trimmed, or ConsentProblem saying what to fix."""
    typed = " ".join((typed or "").split())
    if not typed:
        raise ConsentProblem("signed_name", _("Type your full name to sign."))
    if len(typed) > NAME_LIMIT or "\x00" in typed or any(0xD800 <= ord(c) <= 0xDFFF for c in typed):
        raise ConsentProblem("signed_name", _("Type your full name as it is on your booking, in %(limit)s characters "
                                              "or fewer.", limit=NAME_LIMIT))
    if not any(same_name(typed, name) for name in booked_names(appointment)):
        raise ConsentProblem("signed_name", _(
            "The name you typed is not the name on this booking. Type your full name as it is on the booking: "
            "%(name)s. If that name is wrong, call the clinic.", name=booked_names(appointment)[-1]))
    return typed


def sign_online(appointment: Appointment, typed: str | None, seen_version: str, now: datetime) -> ConsentRecord:
    """Keep the patient's consent for this visit, with the version they read, or raise
    ConsentProblem (nothing stored). Signing again returns the consent already on file."""
    typed = check_signature(appointment, typed)
    with write_transaction():
        appointment = lock_visit(appointment)
        existing = covering(appointment)
        if existing is not None:
            return existing
        if appointment.status not in SIGNABLE:
            raise ConsentProblem("signed_name", _("This visit is no longer booked, so there is nothing to sign. "
                                                  "Call the clinic if you have questions."))
        advisory_lock(LOCK_CONSENT_VERSIONS, 0)
        version = current_version()
        seen, _colon, seen_language = (seen_version or "").partition(":")
        if (str(version.id) if version else "shipped") != seen:
            raise ConsentProblem("signed_name", _(
                "The clinic has just updated this text. Please read it again below, then sign."))
        if version is None:  # the first signature keeps the shipped text, word for word
            version = _new_version(shipped_texts(), None, SHIPPED_BY, now, None)
        # The language the page showed (a switch in another tab changes the visit's, not what was read).
        language, _text = text_in(version.texts, seen_language or appointment.language)
        record = ConsentRecord(appointment_id=appointment.id, patient_id=appointment.patient_id,
                               version_id=version.id, language=language, given_at=now, how="online",
                               signed_name=typed)
        db.session.add(record)
    return record


def record_in_person(account: StaffAccount, appointment_id: int, now: datetime,
                     seen_version: str | None = None) -> ConsentRecord:
    """The patient's practitioner records that the patient gave consent in person, to the text
    they went through: `seen_version` ("3:en", from the page that showed it) when they read it
    here, refused if the clinic changed the text meanwhile; else the current text. Nothing new
    is stored once a consent covers the visit."""
    if account.role is not StaffRole.PRACTITIONER:
        raise NotAllowed()
    with write_transaction():
        appointment = locked(Appointment, appointment_id)
        if appointment is None or not may_read_visit(account, appointment):
            raise NotVisible()
        existing = covering(appointment)
        if existing is not None:
            return existing
        if appointment.status not in SIGNABLE:
            raise ConsentProblem("confirm", f"This visit is marked {appointment.status.label.lower()}, so no consent can "
                                            "be recorded for it now: record it at the patient's next visit.")
        advisory_lock(LOCK_CONSENT_VERSIONS, 0)
        version = current_version()
        seen, _colon, seen_language = (seen_version or "").partition(":")
        if seen_version and (str(version.id) if version else "shipped") != seen:
            raise ConsentProblem("confirm", "The clinic changed the consent text after you opened this page, so nothing "
                                            "was recorded. Go through the text shown now with the patient, then record "
                                            "their consent again.")
        version = version or _new_version(shipped_texts(), None, SHIPPED_BY, now, None)
        language, _text = text_in(version.texts, seen_language or appointment.language)
        record = ConsentRecord(appointment_id=appointment.id, patient_id=appointment.patient_id,
                               version_id=version.id, language=language, given_at=now, how="in_person",
                               staff_id=account.id, recorded_by=account.name)
        db.session.add(record)
    return record


# --- staff reading a signed consent ---------------------------------------------------------------

def open_signed(account: StaffAccount, appointment_id: int, address: str, now: datetime,
                shown: bool = True) -> tuple[Appointment, ConsentRecord | None]:
    """The visit and the consent covering it, for its practitioner or an admin, with the look
    written to the audit log first (as an intake's is). No consent: None, and nothing logged."""
    with write_transaction():
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or not may_read_visit(account, appointment):
            raise NotVisible()
        record = covering(appointment)
        if record is not None and shown:
            db.session.add(AuditEntry(
                at=now, staff_id=account.id, staff_name=account.name, staff_role=account.role.value,
                action="consent", appointment_id=record.appointment_id, patient_id=appointment.patient_id,
                address=address[:64]))
    return appointment, record
