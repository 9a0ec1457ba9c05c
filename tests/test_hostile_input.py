"""Hostile input at every form and every JSON API endpoint, generated with Hypothesis (issue #20).

Whatever arrives (NUL, lone surrogates and other bytes that are not UTF-8, right-to-left marks,
emoji, digits such as "²", very long text, SQL and HTML metacharacters, impossible dates, numbers
such as 1e309, -0 and NaN, odd JSON types, deep nesting, wrong content types, missing and extra
fields), the app must:
- never answer 5xx;
- change no table when it refuses (every row of every table is compared before and after);
- keep every record whole when it accepts (the checks in `assert_whole_records`), and still show
  the page it sends the visitor on to.

Each case reaches its form the way a person would (the patient's journey step by step, staff
signed in with their own CSRF token), reads the form's fields from the page itself, and then sends
a mix of the page's own values, other offered values and hostile text. The route table below must
name every endpoint that accepts a POST and every API endpoint: a new one without a case here fails
`test_every_writing_route_and_api_route_has_a_hostile_input_case`.

Budget: the "default" Hypothesis profile (make test) draws a few examples per case; the "fuzz"
profile (make fuzz) a dozen times as many. Besides, the sharpest values (NUL, a lone surrogate, "²",
huge numbers, 1e309, 0000-00-00, long text) go into every field of every form and API body on every
run, whatever is drawn.
"""

from __future__ import annotations

import itertools

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from itertools import count
from typing import Callable
from urllib.parse import quote, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from booking import create_app
from booking.extensions import db
from booking.models import (Appointment, IdentityCheck, OutboxMessage, Patient, Practitioner, PrescriptionTemplate, Room,
                            StaffRole, TimeOff, TreatmentNote)
from booking.notes.content import note_from_form
from booking.operations import feeds
from booking.operations.bookings import cancel
from booking.operations.clinic_file import import_clinic_file
from booking.operations.staff import add_staff, deactivate
from booking.scheduling import UTC
from booking.tokens import hash_token
from tests.test_booking_journey import PatientBrowser
from tests.test_intake import ANSWERS as INTAKE_ANSWERS
from tests.test_intake import STEPS as INTAKE_STEPS
from tests.conftest import CLINIC_TOML, DATABASES, Clock, app_config, close_database, fresh_database
from tests.test_staff import ACCOUNTS, AUTHENTICATORS, PASSWORD, csrf_from, enrol, sign_in

# Drawn examples per case: 4 under "default" (each case runs on both databases, and the sharpest
# values always go in besides, so the file stays within about two minutes); a hundredth of the
# profile's count under "fuzz" (50 per case: an hour or so, as each example sends several requests).
EXAMPLES = 4 if settings().max_examples <= 100 else settings().max_examples // 100
# No shrinking: each example costs several requests, and a hostile value shown as drawn is plain enough.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# --- hostile values -------------------------------------------------------------------------

HOSTILE_TEXT = [
    "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202e\u200f", "\ufeff", "\u2028", "🦴🔥", "👩‍⚕️",
    "²", "٣", "１２", "Ⅻ", "𝟗", "٠٠:٠٠", "09:00-²2:00",
    "'; DROP TABLE patient; --", "' OR '1'='1", '"><script>alert(1)</script>', "{{7*7}}", "%s%n%x", "\\",
    "../../etc/passwd", "0000-00-00", "9999-12-31", "0001-01-01", "2027-02-30", "2027-03-09T25:00",
    "2027-03-09T10:00:00+99:00", "9999-12-31T23:59:59+14:00", "1e309", "-1e309", "-0", "NaN", "inf", "-1",
    "2147483648", "9" * 30, "0x10", "", " ", "\t", "\r\n", "A" * 5000, "ß" * 2000, "y", "on", "true",
    "[]", "{}", "null", "any", "none",
]
# Bigger than MAX_CONTENT_LENGTH: a 413, never a 500, and nothing written.
TOO_BIG = "B" * 300_000

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=12),
    st.lists(st.one_of(st.sampled_from(HOSTILE_TEXT[:30]), st.text(max_size=4)), min_size=2, max_size=4).map("".join),
)
hostile_name = st.one_of(st.sampled_from(["csrf_token", "start", "service", "practitioner", "symptoms", "code",
                                          "__proto__", "constructor", "a[b]", ""]), hostile_text)


def as_bytes(text: str) -> bytes:
    """UTF-8, except that lone surrogates pass through as the invalid bytes a broken client sends."""
    return text.encode("utf-8", "surrogatepass")


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode([(as_bytes(k), as_bytes(v)) for k, v in pairs]).encode("ascii")


def path_part(text: str) -> str:
    return quote(as_bytes(text), safe="")


# --- reading a form from its page -----------------------------------------------------------

@dataclass
class Field:
    name: str
    kind: str  # text, hidden, radio, checkbox, select, textarea, ...
    values: list[str] = field(default_factory=list)  # offered values (radio, checkbox, select)
    current: list[str] = field(default_factory=list)  # what the page sends as it stands


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)


class FormReader(HTMLParser):
    """Every <form> of a page with its fields, as a browser would send them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: Field | None = None
        self._option: str | None = None
        self._textarea: Field | None = None

    def _field(self, name: str, kind: str) -> Field | None:
        if not self.forms:
            return None
        return self.forms[-1].fields.setdefault(name, Field(name, kind))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or "", (a.get("method") or "get").lower()))
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            found = self._field(a["name"], kind)
            if found is None:
                return
            value = a.get("value") or ("on" if kind in ("radio", "checkbox") else "")
            if kind in ("radio", "checkbox"):
                found.values.append(value)
                if "checked" in a:
                    found.current.append(value)
            else:
                found.current = [value]
        elif tag == "select" and a.get("name"):
            self._select = self._field(a["name"], "select")
        elif tag == "option" and self._select is not None:
            self._option = a.get("value")
            if self._option is not None:
                self._select.values.append(self._option)
                if "selected" in a:
                    self._select.current = [self._option]
        elif tag == "textarea" and a.get("name"):
            self._textarea = self._field(a["name"], "textarea")
            if self._textarea is not None:
                self._textarea.current = [""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.current = [self._textarea.current[0] + data]

    def handle_endtag(self, tag):
        if tag == "select":
            if self._select is not None and not self._select.current and self._select.values:
                self._select.current = [self._select.values[0]]
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_for(page: str, page_path: str, post_path: str) -> Form:
    """The POST form on `page` that is sent to `post_path` (an empty action posts to the page itself)."""
    reader = FormReader()
    reader.feed(page)
    target = urlsplit(post_path).path
    for form in reader.forms:
        if form.method != "post":
            continue
        action = urlsplit(form.action).path if form.action else urlsplit(page_path).path
        if action == target:
            return form
    raise AssertionError(f"no form on {page_path} posts to {target}")


# --- the state of the whole database --------------------------------------------------------

# Columns that record when something was last looked at, not a change the request made.
TOUCHED_ON_READ = {("staff_session", "last_seen_at"), ("booking_draft", "updated_at")}


def snapshot(app) -> dict[str, Counter]:
    """Every row of every table, so that any change at all shows."""
    tables = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.c if (table.name, c.name) not in TOUCHED_ON_READ]
            rows = db.session.execute(sa.select(*columns)).all()
            tables[table.name] = Counter(repr(tuple(row)) for row in rows)
        db.session.remove()
    return tables


def changed_tables(before, after) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def stored_strings(app):
    """(table, column, value) for every stored string (JSON columns included, as their text)."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, (dict, list)):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str):
                        yield table.name, column, value
        db.session.remove()


def assert_whole_records(app) -> None:
    """What an accepted request must leave: records whole, and nothing stored that PostgreSQL could
    not hold (a NUL) or that is not text at all (a lone surrogate)."""
    for table, column, value in stored_strings(app):
        assert "\x00" not in value, f"{table}.{column} holds a NUL character"
        assert not re.search("[\ud800-\udfff]", value), f"{table}.{column} holds a lone surrogate"
    with app.app_context():
        without_history = db.session.scalars(
            sa.select(Appointment.reference).where(~Appointment.history.any())).all()
        assert without_history == [], "appointments written without their history line"
        nameless = db.session.scalars(sa.select(Patient.id).where(sa.func.trim(Patient.name) == "")).all()
        assert nameless == [], "patients written without a name"
        db.session.remove()


def assert_answered_properly(world, response, before, *, accepts_with_200=False) -> set[str]:
    """No 5xx; a refusal changes nothing; an acceptance leaves whole records and a page that opens."""
    status = response.status_code
    assert status < 500, f"{status}: {response.get_data(as_text=True)[:2000]}"
    after = snapshot(world.app)
    changed = changed_tables(before, after)
    refused = status >= 400 or (status == 200 and not accepts_with_200)
    if status in (403, 404):
        changed -= {"audit_entry"}  # a member of staff refused a record: that refusal is audited, on purpose
    if refused:
        assert changed == set(), f"refused with {status} but changed {sorted(changed)}"
    if changed:
        assert_whole_records(world.app)
    if status in (301, 302, 303) and world.follow_client is not None:
        location = urlsplit(response.location)
        onward = world.follow_client.get(location.path + (f"?{location.query}" if location.query else ""))
        assert onward.status_code < 500, f"the page after the answer failed: {onward.status_code}"
    return changed


# --- the world each case runs in ------------------------------------------------------------

class World:
    """The test clinic with its staff, and helpers that make what a form needs (a fresh visit...)."""

    def __init__(self, app, clock, authenticator):
        self.app, self.clock, self.authenticator = app, clock, authenticator
        self._clients: dict[StaffRole, object] = {}
        self._numbers = count(1)
        self._booked: list[int] = []
        self.follow_client = None

    def sign_in(self, role: StaffRole):
        """A new browser signed in with that role (the admin with the code of their phone app)."""
        AUTHENTICATORS[ACCOUNTS[StaffRole.ADMIN]] = self.authenticator  # other tests' accounts may have replaced it
        client = self.app.test_client()
        assert sign_in(client, ACCOUNTS[role]).status_code == 303
        return client

    def staff(self, role: StaffRole):
        """The signed-in browser of that role, shared by the examples of this database."""
        if role not in self._clients:
            self._clients[role] = self.sign_in(role)
        return self._clients[role]

    def today(self):
        return self.clock.now.astimezone(UTC).date()

    def free_start(self, service="short", practitioner="ana", days_ahead=2) -> str:
        """A free start, at least `days_ahead` days on (so outside the cancellation notice)."""
        query = {"service": service, "practitioner": practitioner, "days": "7",
                 "from": (self.today() + timedelta(days=days_ahead)).isoformat()}
        for week in range(5):
            found = self.app.test_client().get("/api/v1/slots?" + urlencode(query)).get_json().get("slots")
            if found:
                return found[0]["start"]
            if week == 3:
                self._free_the_diary()  # long fuzz runs use up the month: give back what earlier examples booked
                query["from"] = (self.today() + timedelta(days=days_ahead)).isoformat()
            else:
                query["from"] = (datetime.fromisoformat(query["from"]) + timedelta(days=7)).date().isoformat()
        raise AssertionError("no free start left for the test")

    def _free_the_diary(self) -> None:
        with self.app.app_context():
            for appointment_id in self._booked:
                try:
                    cancel(appointment_id, "test clean-up", self.clock.now)
                except Exception:  # noqa: BLE001 - already cancelled, moved or erased by the example itself
                    db.session.rollback()
            db.session.remove()
        self._booked.clear()

    def book(self, service="short", practitioner="ana", days_ahead=2, email: str | None = None) -> dict:
        """A visit booked through the API (a new patient's unless `email` names an earlier one): its
        reference, token and row ids."""
        number = next(self._numbers)
        response = self.app.test_client().post("/api/v1/bookings", json={
            "service": service, "practitioner": practitioner, "safety": [],
            "start": self.free_start(service, practitioner, days_ahead),
            "patient": {"name": f"Hostile Test {number}", "email": email or f"hostile{number}@example.com",
                        "phone": "213 555 0100", "birth_date": "1980-01-01"},
        })
        assert response.status_code == 201, response.get_json()
        made = response.get_json()
        with self.app.app_context():
            appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == made["reference"]))
            made |= {"id": appointment.id, "patient_id": appointment.patient_id,
                     "token": made["manage_url"].rsplit("/", 1)[1]}
            db.session.remove()
        self._booked.append(made["id"])
        return made

    def add(self, row):
        with self.app.app_context():
            db.session.add(row)
            db.session.commit()
            row_id = row.id
            db.session.remove()
        return row_id


@pytest.fixture(scope="module", params=DATABASES)
def world(request, tmp_path_factory):
    """One clinic with its staff per database, shared by every case of this file: signing staff in
    (Argon2) and copying a database for each case would cost more than the cases themselves. So the
    cases that change the clinic's set-up run last, and each example makes its own visit."""
    clock = Clock(datetime(2027, 3, 8, 16, 0, tzinfo=UTC))  # Monday 08:00 in Los Angeles
    with fresh_database(request, request.param, tmp_path_factory.mktemp("hostile")) as url:
        app = create_app(app_config(url, CLOCK=clock))
        with app.app_context():
            import_clinic_file(CLINIC_TOML, "test_clinic.toml")
        with app.test_request_context():
            for role, email in ACCOUNTS.items():
                add_staff(email, role.value.title(), role, PASSWORD, clock.now, "ana" if role is StaffRole.PRACTITIONER else None)
        yield World(app, clock, enrol(app, ACCOUNTS[StaffRole.ADMIN]))
        close_database(app)


# --- the forms --------------------------------------------------------------------------------

@dataclass
class Target:
    """A form to send: who sends it, the page it sits on, and where it posts."""

    client: object
    page: str
    post: str | None = None  # default: the page itself
    query: dict[str, str] = field(default_factory=dict)  # the post's query string, also fuzzed
    hints: dict[str, list[str]] = field(default_factory=dict)  # valid values the page does not show
    accepts_with_200: bool = False  # a success that shows its answer at once (a new link, once)
    rewind_clock: bool = False  # the set-up moved the clinic's clock on: put it back after the example
    form_optional: bool = False  # the page may offer no form for this (hostile) address: send fields of our own


def patient_at(world, step: str) -> Target:
    """A patient's browser at a step of the booking journey, reached by answering the steps before."""
    patient = PatientBrowser(world.app)
    start = world.free_start(days_ahead=1)
    answers = [("/book/first-visit", {"returning": "yes"}), ("/book", {"service": "short"}),
               ("/book/practitioner", {"practitioner": "ana"}),
               ("/book/time", {"start": start}), ("/book/safety", {"symptoms": "none"}),
               ("/book/details", {"name": "Pat Hostile", "email": "pat.hostile@example.com",
                                  "phone": "213 555 0142", "birth_day": "17", "birth_month": "5",
                                  "birth_year": "1980", "returning": "yes"}),
               ("/book/check", {})]
    for path, answer in answers:
        if path == step:
            return Target(patient.client, path, hints={"start": [start], "service": ["short", "consult"], "returning": ["yes", "no"],
                                                       "practitioner": ["ana", "ben", "any"]})
        response = patient.submit(path, answer)
        assert response.status_code == 302, (path, response.get_data(as_text=True)[:500])
    raise AssertionError(step)


def patient_at_course(world, step: str) -> Target:
    """A patient's browser on a course page: every question answered, then "Book a course"
    (and for the times page, how often and how many)."""
    target = patient_at(world, "/book/check")
    patient = PatientBrowser(world.app)
    patient.client = target.client
    hints = {"how_often": ["7", "14"], "count": ["2", "3"]}
    if step == "/book/course/times":
        response = patient.submit("/book/course", {"how_often": "7", "count": "2"})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return Target(target.client, step, hints=hints)


def course_booked(world) -> dict:
    """The first visit of a course of two, a week apart, booked through the API: as World.book."""
    for days_ahead in range(2, 12):
        number = next(world._numbers)
        response = world.app.test_client().post("/api/v1/bookings", json={
            "service": "short", "practitioner": "ana", "safety": [], "start": world.free_start(days_ahead=days_ahead),
            "repeat": {"every_days": 7, "count": 2},
            "patient": {"name": f"Hostile Course {number}", "email": f"course{number}@example.com",
                        "phone": "213 555 0100", "birth_date": "1980-01-01"}})
        if response.status_code == 201:
            break
    assert response.status_code == 201, response.get_json()
    made = response.get_json()["visits"][0]
    with world.app.app_context():
        booked = db.session.scalars(sa.select(Appointment).where(Appointment.course_id.is_not(None),
                                                                  Appointment.patient.has(email=f"course{number}@example.com"))).all()
        made |= {"id": booked[0].id, "patient_id": booked[0].patient_id, "token": made["manage_url"].rsplit("/", 1)[1]}
        world._booked.extend(visit.id for visit in booked)
        db.session.remove()
    return made


def manage_target(path_after_token: str, make_booking=None, **target):
    def make(world) -> Target:
        booked = (make_booking or World.book)(world)
        return Target(PatientBrowser(world.app).client, f"/manage/{booked['token']}{path_after_token}", **target)
    return make


def confirm_move(world) -> Target:
    booked = world.book()
    other = world.free_start(days_ahead=3)
    page = f"/manage/{booked['token']}/reschedule/confirm"
    return Target(PatientBrowser(world.app).client, page + "?" + urlencode({"start": other}), post=page,
                  query={"start": other})


def progress(world) -> Target:
    """A return visit's progress check: a first visit whose intake was sent; the clock moved on to
    just after that visit; a second visit booked."""
    first = world.book(days_ahead=1)
    patient = PatientBrowser(world.app)
    intake = f"/manage/{first['token']}/intake"
    for step in INTAKE_STEPS:
        assert patient.submit(f"{intake}/{step}", INTAKE_ANSWERS[step]).status_code == 303
    assert patient.submit(f"{intake}/check").status_code == 303
    world.clock.now = datetime.fromisoformat(first["end"]).astimezone(UTC) + timedelta(minutes=1)  # rewound after
    with world.app.app_context():
        email = db.session.scalar(sa.select(Patient.email).where(Patient.id == first["patient_id"]))
        db.session.remove()
    response = world.app.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "safety": [], "start": world.free_start(days_ahead=1),
        "patient": {"name": "Hostile Return", "email": email, "phone": "213 555 0100", "birth_date": "1980-01-01"}})
    assert response.status_code == 201, response.get_json()
    token = response.get_json()["manage_url"].rsplit("/", 1)[1]
    return Target(patient.client, f"/manage/{token}/progress", rewind_clock=True)


def choose(data, strategy, plain, label: str):
    """A drawn value when Hypothesis drives the case; the plain one in the fixed-value test."""
    return plain if data is None else data.draw(strategy, label=label)


def intake_step(world, data=None) -> Target:
    booked = world.book()
    step = choose(data, st.sampled_from(INTAKE_STEPS), "where", "step")
    sent_to = choose(data, st.one_of(st.just(step), hostile_text), step, "sent to step")
    patient = PatientBrowser(world.app)
    path = f"/manage/{booked['token']}/intake/"
    for earlier in INTAKE_STEPS[: INTAKE_STEPS.index(step)]:  # the questions are asked in order
        assert patient.submit(path + earlier, INTAKE_ANSWERS[earlier]).status_code == 303
    return Target(patient.client, path + step, post=path + path_part(sent_to), form_optional=True)


def intake_check(world) -> Target:
    booked = world.book()
    patient = PatientBrowser(world.app)
    intake = f"/manage/{booked['token']}/intake"
    for step in INTAKE_STEPS:
        assert patient.submit(f"{intake}/{step}", INTAKE_ANSWERS[step]).status_code == 303
    return Target(patient.client, f"{intake}/check")


def manage_consent(world) -> Target:
    """The consent page of a new booking; its patient's name is a valid signature."""
    booked = world.book()
    with world.app.app_context():
        name = db.session.scalar(sa.select(Patient.name).where(Patient.id == booked["patient_id"]))
        db.session.remove()
    return Target(PatientBrowser(world.app).client, f"/manage/{booked['token']}/consent",
                  hints={"signed_name": [name, name.upper()]})


def consent_in_person(world) -> Target:
    booked = world.book()
    page = f"/clinician/visits/{booked['id']}"
    return Target(world.staff(PRACTITIONER), page, post=f"{page}/consent/in-person", hints={"confirm": ["yes"]})


NOTE_HINTS = {"action": ["save", "sign", "add_point", "remove_point_1", "apply_template", "save_template"],
              "template_name": ["Kidney back"], "add_point_code": ["BL23", "GV4"], "revision": ["0", "1"],
              "t_point_code": ["BL23"], "t_point_side": ["both"], "s_pain_now": ["3"], "narrative": ["Eased"]}


def ana_id(world) -> int:
    with world.app.app_context():
        found = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana"))
        db.session.remove()
    return found


def write_note(world) -> Target:
    """A new visit's note page, with one of Ana's prescriptions to start from."""
    booked = world.book()
    world.add(PrescriptionTemplate(practitioner_id=ana_id(world), name=f"Hostile {next(world._numbers)}",
                                   points=[{"code": "BL23", "side": "both", "technique": ""}],
                                   created_at=world.clock.now))
    return Target(world.staff(PRACTITIONER), f"/clinician/visits/{booked['id']}/note", hints=NOTE_HINTS)


def autosave_note(world) -> Target:
    """The script's autosave: the page holds no form posting there, so the note's own fields are hints."""
    booked = world.book()
    page = f"/clinician/visits/{booked['id']}/note"
    return Target(world.staff(PRACTITIONER), page, post=f"{page}/draft", hints=NOTE_HINTS, form_optional=True,
                  accepts_with_200=True)


def add_addendum(world) -> Target:
    """A visit whose note is signed (written straight into the table: the clock is before the visit)."""
    booked = world.book()
    world.add(TreatmentNote(appointment_id=booked["id"], patient_id=booked["patient_id"],
                            content=note_from_form({"narrative": ["Signed words"]})[0], revision=1,
                            created_at=world.clock.now, updated_at=world.clock.now, written_by="Practitioner",
                            signed_at=world.clock.now, signed_by="Practitioner"))
    page = f"/clinician/visits/{booked['id']}/note"
    return Target(world.staff(PRACTITIONER), page, post=f"{page}/addendum",
                  hints={"addendum": ["A later finding"]})


def delete_prescription(world) -> Target:
    booked = world.book()
    template = world.add(PrescriptionTemplate(practitioner_id=ana_id(world), name=f"Hostile {next(world._numbers)}",
                                              points=[], created_at=world.clock.now))
    return Target(world.staff(PRACTITIONER), f"/clinician/visits/{booked['id']}/note",
                  post=f"/clinician/prescriptions/{template}/delete", hints={"visit": [str(booked["id"])]})


def booked_again(world) -> dict:
    """A second visit booked online with an earlier patient's email and birth date, with another
    practitioner: whether it was the same person waits for the patient's confirmation link or the desk."""
    first = world.book()
    with world.app.app_context():
        email = db.session.scalar(sa.select(Patient.email).where(Patient.id == first["patient_id"]))
        db.session.remove()
    return world.book(practitioner="ben", email=email, days_ahead=3)


def identity_confirm(world) -> Target:
    booked = booked_again(world)
    token = f"hostile-identity-{booked['reference']}"
    world.add(IdentityCheck(appointment_id=booked["id"], token_hash=hash_token(token), created_at=world.clock.now,
                            expires_at=world.clock.now + timedelta(days=7)))
    return Target(world.app.test_client(), f"/confirm-booking/{token}")


def sign_in_page(world) -> Target:
    return Target(world.app.test_client(), "/staff/sign-in",
                  hints={"email": [ACCOUNTS[StaffRole.RECEPTIONIST], ACCOUNTS[StaffRole.ADMIN]], "password": [PASSWORD]})


def code_page(world) -> Target:
    client = world.app.test_client()
    response = sign_in(client, ACCOUNTS[StaffRole.ADMIN], code=False)
    assert response.status_code == 303 and "/staff/sign-in/code" in response.location
    return Target(client, "/staff/sign-in/code", hints={"code": ["000000", "123456"]})


def sign_out(world) -> Target:
    return Target(world.sign_in(StaffRole.RECEPTIONIST), "/desk", post="/staff/sign-out")


def desk(path_for: Callable[[World], tuple[str, str | None]], role=StaffRole.RECEPTIONIST, **target):
    """A staff form: `path_for(world)` gives the page and (when elsewhere) the path it posts to."""
    def make(world) -> Target:
        page, post = path_for(world)
        return Target(world.staff(role), page, post=post, **target)
    return make


def desk_book(world, data=None) -> Target:
    start = world.free_start(days_ahead=1)
    query = {"practitioner": "ana", "start": start}
    if choose(data, st.booleans(), True, "new patient"):
        query["patient"] = "new"
    return Target(world.staff(StaffRole.RECEPTIONIST), "/desk/book?" + urlencode(query), post="/desk/book",
                  query=query, hints={"service": ["short", "consult"], "symptoms": ["none", "fever"],
                                      "how_often": ["7", "14"], "count": ["2", "3"]})


def desk_mark(world, data=None) -> Target:
    booked = world.book(days_ahead=0)
    status = choose(data, st.one_of(st.sampled_from(["arrived", "no_show", "completed", "booked", "cancelled"]),
                                    hostile_text), "arrived", "status")
    page = f"/desk/appointments/{booked['id']}"
    return Target(world.staff(StaffRole.RECEPTIONIST), page, post=f"{page}/status/{path_part(status)}",
                  form_optional=True)


def desk_move(world) -> Target:
    booked = world.book()
    day = (world.today() + timedelta(days=3)).isoformat()
    query = {"date": day, "practitioner": "ana"}
    path = f"/desk/appointments/{booked['id']}/move"
    return Target(world.staff(StaffRole.RECEPTIONIST), path + "?" + urlencode(query), post=path, query=query)


def remove_time_off(world) -> Target:
    with world.app.app_context():
        ana = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana"))
        db.session.remove()
    start = datetime.combine(world.today() + timedelta(days=20), time(17), tzinfo=UTC) + timedelta(
        minutes=next(world._numbers))  # each example's own, as two of one practitioner may not be the same
    time_off_id = world.add(TimeOff(practitioner_id=ana, reason="Hostile test",
                                    starts_at=start, ends_at=start + timedelta(hours=8)))
    removal = f"/desk/practitioners/ana/time-off/{time_off_id}/remove"
    return Target(world.staff(StaffRole.RECEPTIONIST), removal, post=removal)  # the confirmation page's form


def spare_account(world, action: str, email: str | None = None) -> int:
    """A new receptionist's account, in the state where the admin's page offers `action` on it."""
    email = email or f"spare{next(world._numbers)}@example.org"
    with world.app.test_request_context():
        account_id = add_staff(email, "Spare Account", StaffRole.RECEPTIONIST, PASSWORD, world.clock.now, None).id
        if action == "reactivate":
            deactivate(account_id, world.clock.now)
        db.session.remove()
    if action == "second-factor/reset":
        enrol(world.app, email)
    return account_id


NEW_PASSWORD = "a new long passphrase"


def own_password(world) -> Target:
    """A spare receptionist's own Password page: a change ends only that account's other sessions."""
    email = f"spare{next(world._numbers)}@example.org"
    spare_account(world, "password", email)
    client = world.app.test_client()
    assert sign_in(client, email).status_code == 303
    return Target(client, "/staff/password", hints={"current_password": [PASSWORD], "new_password": [NEW_PASSWORD],
                                                    "new_password_again": [NEW_PASSWORD]})


def admin_sets_password(world) -> Target:
    page = f"/admin/staff/{spare_account(world, 'password')}/password"
    return Target(world.staff(StaffRole.ADMIN), page, hints={"password": [NEW_PASSWORD]})


def admin_on_account(action: str):
    def make(world) -> Target:
        return Target(world.staff(StaffRole.ADMIN), "/admin/staff",
                      post=f"/admin/staff/{spare_account(world, action)}/{action}")
    return make


def send_again(world) -> Target:
    booked = world.book()
    with world.app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.appointment_id == booked["id"]))
        db.session.remove()
    return Target(world.staff(StaffRole.ADMIN), f"/admin/outbox/{message}", post=f"/admin/outbox/{message}/send-again")


def erase(world) -> Target:
    booked = world.book()
    return Target(world.staff(StaffRole.ADMIN), f"/admin/patients/{booked['patient_id']}/erase",
                  hints={"reason": ["Asked by the patient"]})


def erase_waiting(world) -> Target:
    entry_id, _ = waitlist_place(world)
    return Target(world.staff(StaffRole.ADMIN), f"/admin/patients/waitlist/{entry_id}/erase",
                  hints={"reason": ["Asked by the caller"]})


def appointment_page(action: str, page_suffix: str = "", make_booking=World.book):
    def make(world) -> Target:
        booked = make_booking(world)
        page = f"/desk/appointments/{booked['id']}"
        return Target(world.staff(StaffRole.RECEPTIONIST), page + page_suffix, post=f"{page}/{action}")
    return make


def with_calendar_link(world, target: Target) -> Target:
    """Ana's calendar link made first, so that the page offers to stop it."""
    with world.app.app_context():
        feeds.issue(db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana")))
        db.session.remove()
    return target


VALID_WAITLIST = {"service": "short", "practitioner": "any", "from": "2027-03-09", "to": "2027-03-31",
                  "weekdays": ["tue"], "parts_of_day": ["morning"], "safety": [],
                  "patient": {"name": "Wait Hostile", "email": "wait.hostile@example.com", "phone": "213 555 0100",
                              "birth_date": "1980-01-01"}}
WAITLIST_HINTS = {"service": ["short", "consult"], "practitioner": ["ana", "ben", "any"], "symptoms": ["none", "fever"],
                  "first_day": ["2027-03-09"], "last_day": ["2027-03-20"], "weekdays": ["1"], "parts_of_day": ["evening"]}


_WAITING_PEOPLE = itertools.count(1)


def fresh_waitlist() -> dict:
    """VALID_WAITLIST for someone new: one person waits in one place for a visit, and joining again
    emails them their link (a write with a 422, on purpose), so each body is a new person's."""
    person = VALID_WAITLIST["patient"] | {"email": f"wait.hostile{next(_WAITING_PEOPLE)}@example.com"}
    return VALID_WAITLIST | {"patient": person}


def waitlist_place(world) -> tuple[int, str]:
    """A place on the waitlist made through the API: its id and its secret link's token."""
    response = world.app.test_client().post("/api/v1/waitlist", json=fresh_waitlist())
    assert response.status_code == 201, response.get_json()
    token = response.get_json()["manage_url"].rsplit("/", 1)[1]
    with world.app.app_context():
        from booking.operations.waitlist import opened_by

        entry_id = opened_by(token).id
        db.session.remove()
    return entry_id, token


def waitlist_page(suffix: str = "", post_suffix: str | None = None):
    def make(world) -> Target:
        _, token = waitlist_place(world)
        page = f"/waitlist/{token}"
        return Target(PatientBrowser(world.app).client, page + suffix,
                      post=page + post_suffix if post_suffix is not None else None, hints=WAITLIST_HINTS)
    return make


def waitlist_visit(world) -> Target:
    """The "Manage your visit" button of a place booked from an offer; a waiting place has no form for it."""
    _, token = waitlist_place(world)
    return Target(PatientBrowser(world.app).client, f"/waitlist/{token}", post=f"/waitlist/{token}/visit",
                  form_optional=True)


def waitlist_offer(world) -> Target:
    from booking.models import OfferState, WaitlistOffer

    entry_id, token = waitlist_place(world)
    start = datetime.fromisoformat(world.free_start(days_ahead=1))
    with world.app.app_context():
        ana = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana"))
        db.session.remove()
    offer_id = world.add(WaitlistOffer(entry_id=entry_id, practitioner_id=ana, starts_at=start, sent_at=world.clock.now,
                                       expires_at=world.clock.now + timedelta(hours=4), state=OfferState.OPEN))
    return Target(PatientBrowser(world.app).client, f"/waitlist/{token}/offers/{offer_id}")


def waitlist_decline(world) -> Target:
    """"No thanks", the offer page's second form."""
    offered = waitlist_offer(world)
    return Target(offered.client, offered.page, post=offered.page + "/decline")


def desk_waitlist_offer(world) -> Target:
    entry_id, _ = waitlist_place(world)
    day = datetime.fromisoformat(world.free_start(days_ahead=1)).date().isoformat()
    return Target(world.staff(StaffRole.RECEPTIONIST), f"/desk/waitlist?date={day}",
                  post=f"/desk/waitlist/{entry_id}/offer", form_optional=True)


def desk_waitlist_remove(world) -> Target:
    entry_id, _ = waitlist_place(world)
    day = datetime.fromisoformat(world.free_start(days_ahead=1)).date().isoformat()
    return Target(world.staff(StaffRole.RECEPTIONIST), f"/desk/waitlist?date={day}",
                  post=f"/desk/waitlist/{entry_id}/remove", form_optional=True)


ADMIN, PRACTITIONER = StaffRole.ADMIN, StaffRole.PRACTITIONER


def edit_room(world) -> Target:
    """A room of its own for each example, with a few beds, on the page that changes it."""
    slug = f"room-{next(world._numbers)}"
    world.add(Room(slug=slug, name="Hostile room", beds=3))
    return Target(world.staff(ADMIN), f"/admin/rooms/{slug}", hints={"beds": ["1", "2", "40"]})

# endpoint -> how to reach its form; a case taking `data` draws part of its own set-up. The cases that
# change the clinic's hours and settings come last, as later cases need free times to book.
FORMS: dict[str, Callable] = {
    "public.first_visit": lambda w: patient_at(w, "/book/first-visit"),
    "public.choose_service": lambda w: patient_at(w, "/book"),
    "public.choose_practitioner": lambda w: patient_at(w, "/book/practitioner"),
    "public.choose_time": lambda w: patient_at(w, "/book/time"),
    "public.safety_check": lambda w: patient_at(w, "/book/safety"),
    "public.your_details": lambda w: patient_at(w, "/book/details"),
    "public.check_answers": lambda w: patient_at(w, "/book/check"),
    "manage.cancel_visit": manage_target("/cancel"),
    "public.choose_course": lambda w: patient_at_course(w, "/book/course"),
    "public.course_times": lambda w: patient_at_course(w, "/book/course/times"),
    "manage.cancel_rest_of_course": manage_target("/cancel-course", make_booking=course_booked),
    "manage.reschedule": manage_target("/reschedule"),
    "manage.confirm_move": confirm_move,
    "manage.recheck": manage_target("/safety-check"),
    "manage.progress": progress,
    "manage.consent_form": manage_consent,
    "intake.question": intake_step,
    "intake.check": intake_check,
    "identity.confirm": identity_confirm,
    "auth.sign_in": sign_in_page,
    "auth.enter_code": code_page,
    "auth.set_up_second_factor": desk(lambda w: ("/staff/second-factor/set-up", None), hints={"code": ["000000"]}),
    "auth.sign_out": sign_out,
    "auth.password": own_password,
    # No page holds its form unless a session has ended (test_carried_forms): a seal of no key
    # this browser holds, or no seal, must only lead back to the start page.
    "auth.send_again": lambda w: Target(w.staff(StaffRole.RECEPTIONIST), "/desk", post="/staff/send-again",
                                        hints={"carried_form": ["g1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                                                "not sealed", ""]}, form_optional=True),
    "desk.book": desk_book,
    "desk.cancel": appointment_page("cancel", "/cancel"),
    "desk.cancel_rest_of_course": appointment_page("cancel-course", "/cancel-course", make_booking=course_booked),
    "desk.confirm_identity": appointment_page("confirm-identity", make_booking=booked_again),
    "desk.email_questions": appointment_page("email-questions"),
    "desk.mark": desk_mark,
    "desk.move": desk_move,
    "desk.patients": desk(lambda w: ("/desk/patients", None)),
    "desk.remove_time_off": remove_time_off,
    "clinician.new_calendar_link": desk(lambda w: ("/clinician/calendar-feed", "/clinician/calendar-feed/new"),
                                        PRACTITIONER, accepts_with_200=True),
    "clinician.consent_in_person": consent_in_person,
    "clinician.write_note": write_note,
    "clinician.autosave_note": autosave_note,
    "clinician.add_addendum": add_addendum,
    "clinician.delete_prescription": delete_prescription,
    "admin.consent_text": desk(lambda w: ("/admin/consent", None), ADMIN),
    "clinician.stop_calendar_link": lambda w: with_calendar_link(w, Target(
        w.staff(PRACTITIONER), "/clinician/calendar-feed", post="/clinician/calendar-feed/stop")),
    "admin.stop_calendar_link": lambda w: with_calendar_link(w, Target(
        w.staff(ADMIN), "/admin/practitioners/ana", post="/admin/practitioners/ana/calendar-link/stop")),
    "admin.staff_accounts": desk(lambda w: ("/admin/staff", None), ADMIN,
                                 hints={"role": ["receptionist", "practitioner", "admin"]}),
    "admin.deactivate": admin_on_account("deactivate"),
    "admin.reactivate": admin_on_account("reactivate"),
    "admin.reset_second_factor": admin_on_account("second-factor/reset"),
    "admin.set_password": admin_sets_password,
    "admin.send_again": send_again,
    "rights.erase": erase,
    "rights.erase_waiting": erase_waiting,
    "waitlist.join": lambda w: Target(PatientBrowser(w.app).client, "/waitlist/join?service=short&practitioner=ana",
                                      post="/waitlist/join", hints=WAITLIST_HINTS),
    "waitlist.show": waitlist_page(),
    "waitlist.leave": waitlist_page("/leave"),
    "waitlist.visit": waitlist_visit,
    "waitlist.offer": waitlist_offer,
    "waitlist.decline_offer": waitlist_decline,
    "desk_waitlist.add": desk(lambda w: ("/desk/waitlist/add", None), hints=WAITLIST_HINTS),
    "desk_waitlist.offer": desk_waitlist_offer,
    "desk_waitlist.remove": desk_waitlist_remove,
    # from here on, cases that change the clinic's set-up (hours, services, settings)
    "desk.hours": desk(lambda w: ("/desk/practitioners/ana/hours", None)),
    "desk.time_off": desk(lambda w: ("/desk/practitioners/ana/time-off", None)),
    "admin.settings": desk(lambda w: ("/admin/settings", None), ADMIN),
    "admin.add_service": desk(lambda w: ("/admin/services/new", None), ADMIN),
    "admin.edit_service": desk(lambda w: ("/admin/services/short", None), ADMIN,
                               hints={"hands_on": ["0-10", "0-10, 20-30", "0-5, 40-50"]}),
    "admin.add_room": desk(lambda w: ("/admin/rooms/new", None), ADMIN, hints={"beds": ["1", "3", "40"]}),
    "admin.edit_room": edit_room,
    "admin.add_practitioner": desk(lambda w: ("/admin/practitioners/new", None), ADMIN),
    "admin.edit_practitioner": desk(lambda w: ("/admin/practitioners/ben", None), ADMIN),
}
TAKES_DATA = {"intake.question", "desk.book", "desk.mark"}
CHANGING_SET_UP = ["desk.hours", "desk.time_off", "admin.settings", "admin.add_service", "admin.edit_service",
                   "admin.add_room", "admin.edit_room", "admin.add_practitioner", "admin.edit_practitioner"]
LEAVING_SET_UP = [endpoint for endpoint in FORMS if endpoint not in CHANGING_SET_UP]

# The JSON API: each has a test of its own below.
API = {"api.create_booking", "api.slots", "api.services", "api.practitioners", "api.openapi",
       "api.join_waitlist"}


def test_every_writing_route_and_api_route_has_a_hostile_input_case(world):
    writing = {rule.endpoint for rule in world.app.url_map.iter_rules()
               if rule.methods & {"POST", "PUT", "PATCH", "DELETE"} or rule.endpoint.startswith("api.")}
    covered = FORMS.keys() | API
    assert writing - covered == set(), "a new form or API route needs a hostile-input case here"
    assert covered - writing == set(), "cases here name routes that no longer exist (or no longer take a POST)"


@st.composite
def filled_in(draw, form: Form, hints: dict[str, list[str]]):
    """The form's fields, each kept as the page had it, set to another offered or known value,
    replaced by hostile text, repeated, or left out; and sometimes hostile extra fields."""
    pairs: list[tuple[str, str]] = []
    for name, found in form.fields.items():
        if name == "csrf_token":
            continue
        known = list(dict.fromkeys(found.current + found.values + hints.get(name, [])))
        choice = draw(st.sampled_from(["keep", "known", "hostile", "many", "leave out"]), label=name)
        if choice == "keep" and found.current:
            pairs += [(name, value) for value in found.current]
        elif choice == "known" and known:
            pairs.append((name, draw(st.sampled_from(known))))
        elif choice == "many":
            pairs += [(name, value) for value in draw(st.lists(st.one_of(st.sampled_from(known or [""]), hostile_text),
                                                               min_size=2, max_size=4))]
        elif choice != "leave out":
            pairs.append((name, draw(hostile_text)))
    for name, values in hints.items():  # fields the page does not show (a code, a password)
        if name not in form.fields and draw(st.booleans()):
            pairs.append((name, draw(st.one_of(st.sampled_from(values), hostile_text))))
    pairs += draw(st.lists(st.tuples(hostile_name, hostile_text), max_size=2))
    return pairs


# --- the JSON API ----------------------------------------------------------------------------

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.sampled_from([0, -0.0, 1e308, 2**63, -(2**63) - 1, 10**40]), hostile_text,
)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(hostile_text, inner, max_size=3)),
                          max_leaves=8)


def nested(depth: int):
    value = []
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def hostile_booking(draw, valid: dict):
    """A valid booking with some of its fields (anywhere in it) replaced, dropped or added to."""
    body = json.loads(json.dumps(valid))
    for holder in (body["patient"], body):  # the patient's fields first: the patient may then be replaced whole
        for key in list(holder):
            choice = draw(st.sampled_from(["keep", "keep", "keep", "hostile text", "odd type", "leave out"]), label=key)
            if choice == "hostile text":
                holder[key] = draw(hostile_text)
            elif choice == "odd type":
                holder[key] = draw(st.one_of(json_value, st.sampled_from([nested(40), nested(5), [[["fever"]]],
                                                                           {"$gt": ""}, ["fever", 1], [None]])))
            elif choice == "leave out":
                del holder[key]
    body.update(draw(st.dictionaries(hostile_text, json_value, max_size=2), label="extra keys"))
    return body


def raw_json(value) -> bytes:
    """JSON text with surrogates and NaN/Infinity kept as a careless client writes them."""
    return as_bytes(json.dumps(value, ensure_ascii=False, allow_nan=True))


@FUZZ
@given(data=st.data())
def test_the_booking_api_answers_hostile_bodies_without_a_5xx_or_a_partial_write(world, data):
    world.follow_client = None
    valid = {"service": "short", "practitioner": "ana", "start": world.free_start(days_ahead=1), "safety": [],
             "patient": {"name": "Pat Api", "email": "pat.api@example.com", "phone": "213 555 0100",
                         "birth_date": "1980-01-01"}}
    if data.draw(st.booleans(), label="a course"):  # the repeat's numbers are fuzzed like every other field
        valid["repeat"] = {"every_days": 7, "count": 2}
    body = data.draw(hostile_booking(valid), label="body")
    how = data.draw(st.sampled_from(["json"] * 6 + ["text/plain", "form", "none", "raw", "bytes"]), label="sent as")
    client = world.app.test_client()
    if how == "json":
        payload, kind = raw_json(body), "application/json"
    elif how == "text/plain":
        payload, kind = raw_json(body), "text/plain"
    elif how == "form":
        payload, kind = form_body([("service", "short"), ("start", valid["start"])]), "application/x-www-form-urlencoded"
    elif how == "none":
        payload, kind = raw_json(body), None
    elif how == "raw":
        payload = data.draw(st.sampled_from([b"{", b"NaN", b"1e309", b'{"service": 1e309}', b"[" * 100_000,
                                             b'{"a":' * 5000, b"\xff\xfe", b"", b"null", b"9" * 5000,
                                             b'{"service": "short", "service": "consult"}']))
        kind = "application/json"
    else:
        payload, kind = data.draw(st.binary(max_size=64)), "application/json"
    before = snapshot(world.app)
    headers = {"Content-Type": kind} if kind else {}
    response = client.post("/api/v1/bookings", data=payload, headers=headers)
    assert_answered_properly(world, response, before)
    assert response.is_json, "the API answers in JSON, whatever it was sent"
    if response.status_code == 201:
        made = response.get_json()
        with world.app.app_context():
            appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == made["reference"]))
            assert appointment is not None and appointment.patient is not None and appointment.history
            assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.appointment_id == appointment.id)) >= 1
            db.session.remove()
        world._booked.append(appointment.id)


query_value = st.one_of(st.sampled_from(["short", "consult", "ana", "ben", "any", "7", "31", "2027-03-10"]), hostile_text)


@pytest.mark.parametrize("path", ["/api/v1/slots", "/api/v1/services", "/api/v1/practitioners", "/api/v1/openapi.json"])
@FUZZ
@given(data=st.data())
def test_the_reading_api_answers_hostile_query_strings_with_json_and_writes_nothing(world, path, data):
    world.follow_client = None
    names = ["service", "practitioner", "from", "days"]
    pairs = []
    for name in names:
        choice = data.draw(st.sampled_from(["valid", "hostile", "leave out", "twice"]), label=name)
        if choice == "valid":
            pairs.append((name, {"service": "short", "practitioner": "any", "from": world.today().isoformat(),
                                 "days": "7"}[name]))
        elif choice == "hostile":
            pairs.append((name, data.draw(query_value)))
        elif choice == "twice":
            pairs += [(name, data.draw(query_value)), (name, data.draw(query_value))]
    pairs += data.draw(st.lists(st.tuples(hostile_name, hostile_text), max_size=2), label="extra")
    before = snapshot(world.app)
    response = world.app.test_client().get(path + "?" + urlencode([(as_bytes(k), as_bytes(v)) for k, v in pairs]))
    assert_answered_properly(world, response, before, accepts_with_200=True)
    assert changed_tables(before, snapshot(world.app)) == set(), "reading the API wrote something"
    assert response.is_json


# --- every form ---

def generated_form_case(world, endpoint, data):
    make = FORMS[endpoint]
    clock_before = world.clock.now
    target = make(world, data) if endpoint in TAKES_DATA else make(world)
    try:
        send_hostile_form(world, target, data)
    finally:
        if target.rewind_clock:
            world.clock.now = clock_before


def send_hostile_form(world, target: Target, data) -> None:
    world.follow_client = target.client
    page = target.client.get(target.page)
    assert page.status_code == 200, (target.page, page.status_code)
    html = page.get_data(as_text=True)
    post = target.post or urlsplit(target.page).path
    try:
        form = form_for(html, target.page, post)
    except AssertionError:
        if not target.form_optional:
            raise
        form = Form(post, "post")
    pairs = data.draw(filled_in(form, target.hints), label="fields")
    token = csrf_from(html)
    token_choice = data.draw(st.sampled_from(["own"] * 8 + ["hostile", "missing"]), label="csrf")
    if token_choice == "own":
        pairs.append(("csrf_token", token))
    elif token_choice == "hostile":
        pairs.append(("csrf_token", data.draw(hostile_text)))
    query = {name: data.draw(st.one_of(st.just(value), hostile_text), label=f"query {name}")
             for name, value in target.query.items()}
    if query:
        post += "?" + urlencode([(as_bytes(k), as_bytes(v)) for k, v in query.items()])
    body = form_body(pairs)
    if data.draw(st.integers(0, 19), label="too big") == 0:
        body += b"&padding=" + TOO_BIG.encode()
    before = snapshot(world.app)
    response = target.client.post(post, data=body, content_type="application/x-www-form-urlencoded")
    changed = assert_answered_properly(world, response, before, accepts_with_200=target.accepts_with_200)
    if token_choice != "own":  # staff forms answer 400; the patient's re-show the page with a message
        assert changed == set(), f"a form without its own CSRF token changed {sorted(changed)}"


# --- pages read with hostile query strings (filters, dates, "before" cursors, next=) -------------

QUERY_NAMES = ["date", "practitioner", "start", "patient", "before", "status", "since", "until", "staff", "action",
               "next", "from", "days", "service", "text"]
query_text = st.one_of(st.sampled_from(["2027-03-10", "ana", "any", "1", "0", "-1", "9" * 20, "2147483648",
                                        "2027-03-09T10:00:00-08:00", "new", "print", "failed", "/desk"]), hostile_text)
# Pages with an address of their own: the desk's booking and moving pages read most from the query.
PAGES_WITH_ARGUMENTS = {"desk.book": "/desk/book", "desk.move": "/desk/appointments/{appointment_id}/move",
                        "public.choose_time": "/book/time", "manage.reschedule": "/manage/{token}/reschedule"}


def readable_pages() -> list[str]:
    from booking import create_app as make_app  # the url_map only: no database is opened

    rules = make_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).url_map.iter_rules()
    plain = {rule.endpoint for rule in rules if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"}
    return sorted(plain | PAGES_WITH_ARGUMENTS.keys())


@pytest.mark.parametrize("endpoint", readable_pages())
@settings(FUZZ, max_examples=max(2, EXAMPLES // 2))
@given(data=st.data())
def test_a_page_answers_hostile_query_strings_without_a_5xx_or_a_write(world, endpoint, data):
    """Every page without an address of its own, read by the person it is for (an admin reads all
    staff pages) with generated query strings: never a 5xx, and nothing written but the audit log."""
    rule = next((r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint), None)
    if endpoint.split(".")[0] in ("desk", "clinician", "admin", "rights", "auth"):
        client = world.staff(StaffRole.PRACTITIONER if endpoint.startswith("clinician.") else StaffRole.ADMIN)
    elif endpoint == "public.choose_time":
        client = patient_at(world, "/book/time").client
    else:
        client = world.app.test_client()
    path = PAGES_WITH_ARGUMENTS.get(endpoint, rule.rule if rule else "")
    if "{" in path:
        booked = world.book()
        path = path.format(appointment_id=booked["id"], token=booked["token"])
    names = data.draw(st.lists(st.one_of(st.sampled_from(QUERY_NAMES), hostile_name), max_size=5), label="names")
    pairs = [(name, data.draw(query_text, label=name)) for name in names]
    world.follow_client = None
    before = snapshot(world.app)
    response = client.get(path + "?" + urlencode([(as_bytes(k), as_bytes(v)) for k, v in pairs]))
    assert response.status_code < 500, f"{response.status_code}: {response.get_data(as_text=True)[:2000]}"
    changed = changed_tables(before, snapshot(world.app)) - {"audit_entry"}  # staff reading records is audited
    assert changed == set(), f"reading {path} changed {sorted(changed)}"


# --- the sharpest values in every field at once, always (the generated cases above draw only some) ---

SHARPEST = ["a\x00b", "x\ud800y", "²", "9" * 30, "1e309", "0000-00-00", "A" * 5000, "\u202e🦴'\"<>"]


def sharpest_form_case(world, endpoint):
    clock_before = world.clock.now
    target = FORMS[endpoint](world)
    try:
        send_sharpest_values(world, target)
    finally:
        if target.rewind_clock:  # else the shared staff sessions would time out
            world.clock.now = clock_before


def send_sharpest_values(world, target: Target) -> None:
    world.follow_client = target.client
    html = target.client.get(target.page).get_data(as_text=True)
    post = target.post or urlsplit(target.page).path
    try:
        names = [name for name in form_for(html, target.page, post).fields if name != "csrf_token"]
    except AssertionError:
        assert target.form_optional
        names = []
    names += [name for name in target.hints if name not in names]
    for value in SHARPEST:
        body = form_body([(name, value) for name in names] + [("csrf_token", csrf_from(html))])
        before = snapshot(world.app)
        response = target.client.post(post, data=body, content_type="application/x-www-form-urlencoded")
        assert_answered_properly(world, response, before, accepts_with_200=target.accepts_with_200)


VALID_BOOKING = {"service": "short", "practitioner": "ana", "safety": [],
                 "patient": {"name": "Pat Api", "email": "pat.api@example.com", "phone": "213 555 0100",
                             "birth_date": "1980-01-01"}}


def sharpest_bodies(valid, place: str):
    """(value, body) for each of the sharpest values put at `place` ("patient.email", "extra key")
    of a fresh copy of the valid body `valid()` makes."""
    for value in SHARPEST + [1e308, 2**70, -0.0, True, None, [], {}, nested(40), ["\x00"], {"\x00": 1}]:
        body = json.loads(json.dumps(valid()))
        if place == "extra key":
            body[value if isinstance(value, str) else "extra"] = value
        elif place.startswith("patient."):
            body["patient"][place.split(".")[1]] = value
        else:
            body[place] = value
        yield value, body


@pytest.mark.parametrize("place", ["service", "practitioner", "start", "safety", "patient", "patient.name",
                                   "patient.email", "patient.phone", "patient.birth_date", "extra key"])
def test_the_booking_api_with_the_sharpest_values_in_each_field_answers_without_a_5xx_or_a_write(world, place):
    world.follow_client = None
    for value, body in sharpest_bodies(lambda: VALID_BOOKING | {"start": world.free_start(days_ahead=1)}, place):
        before = snapshot(world.app)
        response = world.app.test_client().post("/api/v1/bookings", data=raw_json(body),
                                                content_type="application/json")
        assert_answered_properly(world, response, before)
        assert response.status_code in (201, 400, 404, 409, 413, 422), (value, response.get_json())
        if response.status_code == 201:
            world._booked.append(-1)  # (nothing to give back: the clean-up skips what it cannot cancel)


@pytest.mark.parametrize("name", ["service", "practitioner", "from", "days"])
def test_the_slots_api_with_the_sharpest_value_in_each_parameter_answers_without_a_5xx(world, name):
    for value in SHARPEST + ["-0", "NaN", "9999-12-31", "0", "32"]:
        query = {"service": "short", "practitioner": "any", "days": "7"} | {name: value}
        response = world.app.test_client().get("/api/v1/slots?" + urlencode(
            [(as_bytes(k), as_bytes(v)) for k, v in query.items()]))
        assert response.status_code in (200, 400, 404, 422), (value, response.get_json())
        assert response.is_json


# --- the tests, in this order: the world is shared, and the last ones change the clinic's set-up ---

@pytest.mark.parametrize("endpoint", LEAVING_SET_UP)
def test_a_form_with_the_sharpest_value_in_every_field_answers_without_a_5xx_or_a_partial_write(world, endpoint):
    sharpest_form_case(world, endpoint)


@pytest.mark.parametrize("endpoint", LEAVING_SET_UP)
@FUZZ
@given(data=st.data())
def test_a_form_answers_hostile_input_without_a_5xx_or_a_partial_write(world, endpoint, data):
    generated_form_case(world, endpoint, data)


@pytest.mark.parametrize("endpoint", CHANGING_SET_UP)
def test_a_set_up_form_with_the_sharpest_value_in_every_field_answers_without_a_5xx_or_a_partial_write(world, endpoint):
    sharpest_form_case(world, endpoint)


@pytest.mark.parametrize("endpoint", CHANGING_SET_UP)
@FUZZ
@given(data=st.data())
def test_a_set_up_form_answers_hostile_input_without_a_5xx_or_a_partial_write(world, endpoint, data):
    generated_form_case(world, endpoint, data)


@FUZZ
@given(data=st.data())
def test_the_waitlist_api_answers_hostile_bodies_without_a_5xx_or_a_partial_write(world, data):
    world.follow_client = None
    body = data.draw(hostile_booking(fresh_waitlist()), label="body")
    before = snapshot(world.app)
    response = world.app.test_client().post("/api/v1/waitlist", data=raw_json(body), content_type="application/json")
    assert_answered_properly(world, response, before)
    assert response.is_json and response.status_code in (201, 400, 404, 413, 422), response.get_json()


@pytest.mark.parametrize("place", ["service", "practitioner", "from", "to", "weekdays", "parts_of_day", "safety",
                                   "patient", "patient.birth_date", "extra key"])
def test_the_waitlist_api_with_the_sharpest_values_in_each_field_answers_without_a_5xx(world, place):
    world.follow_client = None
    for value, body in sharpest_bodies(fresh_waitlist, place):
        before = snapshot(world.app)
        response = world.app.test_client().post("/api/v1/waitlist", data=raw_json(body),
                                                content_type="application/json")
        assert_answered_properly(world, response, before)
        assert response.status_code in (201, 400, 404, 413, 422), (value, response.get_json())
