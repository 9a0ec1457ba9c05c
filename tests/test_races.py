"""Two people change one visit at the same instant: one winner, the other told kindly.

Every racing pair runs against real gunicorn with several single-threaded worker processes
(so the requests really run side by side, in different processes) on SQLite and on
PostgreSQL. Each race is released by a barrier and repeated a few rounds, to give the
interleavings a chance. After each round the visit's own record is the judge:

- no answer is a 5xx, and the one that lost names what happened;
- the visit's history reads as the changes done one after the other, each valid when it
  was made (never a cancelled visit moved or marked, never a move "from" a time it had left);
- exactly one email per real change, in the same order, and the calendar SEQUENCE counts
  the changes (a lost update would leave it short).

The served app reads the real clock. The clinic's zone is chosen so that it is about midday
there now, and it opens every day: so there is always a free time later today (the desk can
mark a patient arrived only on the day), whenever the tests run. Patients may change a visit
online until it starts (cancellation_notice_hours = 0), so a patient's cancel and the desk's
"arrived" can meet on the same visit.
"""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.clock import now
from booking.extensions import db
from booking.models import Appointment, AppointmentEvent, BookingDraft, OutboxMessage, StaffRole
from booking.operations.clinic_file import import_clinic_file
from booking.operations.staff import add_staff
from tests import servers
from tests.conftest import DATABASES, app_config, close_database, fresh_database
from tests.test_booking_journey import put_on_file

UTC = timezone.utc
WORKERS = 4
ROUNDS = 3
CONFIRMERS = 6  # patients pressing "Confirm booking" for the same time, per round
DESK_EMAIL = "desk@example.org"
PASSWORD = "correct horse battery"
DETAILS = {  # the journey's "Your details", for a patient who has been before (a follow-up visit)
    "phone": "+1 213 555 0142",
    "birth_day": "17",
    "birth_month": "5",
    "birth_year": "1980",
    "returning": "yes",
}
LOST_RACE = "was booked by someone else a moment ago"
EMAILED = ("cancelled", "moved")  # the changes that each send the patient one email and bump SEQUENCE


def midday_zone(instant: datetime) -> str:
    """A fixed-offset IANA zone in which `instant` falls between 11:30 and 12:30.
    (Etc/GMT signs are the POSIX way round: Etc/GMT+6 is six hours behind UTC.)"""
    ahead = max(-12, min(14, round(12 - instant.hour - instant.minute / 60)))
    return "Etc/GMT" if ahead == 0 else f"Etc/GMT{-ahead:+d}"


def clinic_file(instant: datetime) -> str:
    every_day = "\n".join(f'{day} = ["09:00-17:00"]' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    return f"""\
[clinic]
name = "Race Clinic"
timezone = "{midday_zone(instant)}"
phone = "+1 213 555 0100"
emergency_number = "911"
slot_step_minutes = 15
min_notice_hours = 1
max_advance_days = 30
cancellation_notice_hours = 0
region = "US"
alert_email = "alerts@clinic.example.com"

[[services]]
slug = "short"
name = "Short treatment"
minutes = 30

[[practitioners]]
slug = "ana"
name = "Ana Test"
services = ["short"]
[practitioners.hours]
{every_day}
"""


# --- a browser over real HTTP --------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str | None  # the path a redirect points to
    text: str


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test reads every redirect itself


class Browser:
    """One person's browser: its own cookie jar (session, CSRF, flashes); redirects not followed."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _KeepRedirects())

    def open(self, path: str, form: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, None, response.read().decode())
        except urllib.error.HTTPError as error:
            location = error.headers.get("Location")
            if location and location.startswith("http"):
                location = urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()
            return Answer(error.code, location, error.read().decode())

    def get(self, path: str) -> Answer:
        return self.open(path)

    def post(self, path: str, form: dict) -> Answer:
        return self.open(path, form)

    def token(self, path: str) -> str:
        """The CSRF token of the form on `path` (valid for this browser's session)."""
        page = self.get(path)
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
        assert page.status == 200 and found, f"no form on {path}: {page.status} {page.text[:300]}"
        return found.group(1)

    def landing(self, answer: Answer) -> Answer:
        """Where an answer leaves the person: the page it redirects to, or itself."""
        return self.get(answer.location) if answer.status in (302, 303) and answer.location else answer


def at_once(*actions):
    """Run the actions in their own threads, released together by a barrier; their results in order.
    Each is one request, so with single-threaded workers they land in different processes."""
    release = threading.Barrier(len(actions), timeout=30)

    def run(action):
        release.wait()
        return action()

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(run, actions))


# --- the served clinic ---------------------------------------------------------------------------


@dataclass
class Visit:
    """One appointment as its record reads now: what happened to it, in order."""

    status: str
    starts_at: datetime
    sequence: int
    changes: list[str]  # history actions after "booked", oldest first
    details: list[str]  # their history details, in the same order
    emails: list[str]  # outbox kinds after the confirmation, oldest first


@dataclass
class ServedClinic:
    base: str
    checker: object  # an app on the same database, for reading records
    folder: object
    desk: Browser
    free_today: list[str] = field(default_factory=list)  # free starts later today, ISO with offset
    free_later: list[str] = field(default_factory=list)  # free starts from tomorrow
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def take(self, today: bool = False) -> str:
        return (self.free_today if today else self.free_later).pop(0)

    def book(self, start: str) -> tuple[str, int]:
        """Book `start` through the API for a new patient; the manage path and the appointment id."""
        number = next(self.numbers)
        payload = {"service": "short", "practitioner": "ana", "start": start, "safety": [],
                   "patient": {"name": f"Race Patient {number}", "email": f"race{number}@example.com",
                               "phone": "+1 213 555 0100", "birth_date": "1980-01-01"}}
        request = urllib.request.Request(f"{self.base}/api/v1/bookings", data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
            booked = json.load(response)
        with self.checker.app_context():
            appointment_id = db.session.scalar(
                sa.select(Appointment.id).where(Appointment.reference == booked["reference"]))
            db.session.remove()
        return urllib.parse.urlsplit(booked["manage_url"]).path, appointment_id

    def visit(self, appointment_id: int) -> Visit:
        with self.checker.app_context():
            appointment = db.session.get(Appointment, appointment_id)
            history = db.session.scalars(sa.select(AppointmentEvent).where(
                AppointmentEvent.appointment_id == appointment_id).order_by(AppointmentEvent.id)).all()
            emails = db.session.scalars(sa.select(OutboxMessage.kind).where(
                OutboxMessage.appointment_id == appointment_id).order_by(OutboxMessage.id)).all()
            assert [e.action for e in history[:1]] == ["booked"] and emails[:1] == ["confirmation"]
            visit = Visit(appointment.status.value, appointment.starts_at, appointment.sequence,
                          [e.action for e in history[1:]], [e.detail for e in history[1:]], list(emails[1:]))
            db.session.remove()
        return visit

    def server_errors(self) -> str:
        """The error lines gunicorn has logged so far, to show with a failed assertion."""
        logs = "".join(path.read_text() for path in self.folder.glob("gunicorn-*.log"))
        return "\n".join(line for line in logs.splitlines() if "Error" in line or "error" in line)[-3000:]


def free_starts(base: str, zone_today: str) -> tuple[list[str], list[str]]:
    """Ana's free starts on the hour and half hour (30-minute visits, so none overlap): today's, and later ones."""
    with urllib.request.urlopen(f"{base}/api/v1/slots?service=short&practitioner=ana&days=31", timeout=60) as answer:
        slots = [slot["start"] for slot in json.load(answer)["slots"]]
    on_the_half_hour = [start for start in slots if start[14:16] in ("00", "30")]
    today = [start for start in on_the_half_hour if start[:10] == zone_today]
    return today, [start for start in on_the_half_hour if start[:10] > zone_today]


@pytest.fixture(scope="module", params=DATABASES)
def clinic(request, tmp_path_factory):
    """The clinic on a fresh database of each kind, served by gunicorn, and a receptionist signed in."""
    folder = tmp_path_factory.mktemp(f"races-{request.param}")
    with fresh_database(request, request.param, folder) as url:
        setup = create_app(app_config(url))
        with setup.test_request_context():
            import_clinic_file(clinic_file(now()), "races.toml")
            add_staff(DESK_EMAIL, "Dana Desk", StaffRole.RECEPTIONIST, PASSWORD, now())
            zone_today = now().astimezone(ZoneInfo(midday_zone(now()))).date().isoformat()
        close_database(setup)
        env = {"API_BOOKING_LIMIT": "1000 per minute", "API_READ_LIMIT": "1000 per minute"}
        with servers.gunicorn(url, folder, workers=WORKERS, threads=1, env=env) as base:
            desk = Browser(base)
            signed_in = desk.post("/staff/sign-in", {"email": DESK_EMAIL, "password": PASSWORD,
                                                     "csrf_token": desk.token("/staff/sign-in")})
            assert signed_in.status == 303 and signed_in.location.endswith("/desk"), signed_in
            checker = create_app(app_config(url))
            served = ServedClinic(base, checker, folder, desk)
            served.free_today, served.free_later = free_starts(base, zone_today)
            assert len(served.free_today) >= ROUNDS, served.free_today
            try:
                yield served
            finally:
                close_database(checker)


# --- what every race must leave behind -----------------------------------------------------------


def assert_no_server_error(clinic: ServedClinic, *answers: Answer) -> None:
    statuses = [answer.status for answer in answers]
    assert all(status < 500 for status in statuses), f"{statuses}\n{clinic.server_errors()}"


def assert_one_story(visit: Visit, allowed: set[tuple[str, ...]]) -> None:
    """The visit's changes are one of the allowed serial orders; one email per change, in order;
    SEQUENCE counts the changes; the status is what the last change made it."""
    changes = tuple(visit.changes)
    assert changes in allowed, f"history {changes} (details {visit.details}), emails {visit.emails}"
    assert visit.emails == [change for change in changes if change in EMAILED], (
        f"emails {visit.emails} for history {changes}")
    assert visit.sequence == sum(change in EMAILED for change in changes), (
        f"SEQUENCE {visit.sequence} after {changes}")
    last = {"cancelled": "cancelled", "moved": "booked", "arrived": "arrived"}[changes[-1]]
    assert visit.status == last, f"status {visit.status} after {changes}"


# --- the races -----------------------------------------------------------------------------------


def test_a_double_click_on_cancel_cancels_once(clinic):
    for _ in range(ROUNDS):
        manage, visit_id = clinic.book(clinic.take())
        patient = Browser(clinic.base)
        form = {"csrf_token": patient.token(f"{manage}/cancel"), "reason": "Double click"}
        answers = at_once(*[lambda: patient.post(f"{manage}/cancel", form)] * 2)

        assert_no_server_error(clinic, *answers)
        assert_one_story(clinic.visit(visit_id), {("cancelled",)})
        for answer in answers:
            page = patient.landing(answer)
            assert page.status < 500 and "This appointment is cancelled" in page.text, (answer.status, page.status)


def test_a_patient_cancelling_while_moving_the_same_visit(clinic):
    """Phone and laptop, one manage link: the visit is cancelled, or moved (and perhaps then
    cancelled: a cancellation does not depend on the time), never moved after it was cancelled.
    A refused move says the visit is cancelled, not that the new time was taken."""
    for _ in range(ROUNDS):
        manage, visit_id = clinic.book(clinic.take())
        target = clinic.take()
        phone, laptop = Browser(clinic.base), Browser(clinic.base)
        cancel_form = {"csrf_token": phone.token(f"{manage}/cancel"), "reason": ""}
        confirm = f"{manage}/reschedule/confirm?start={urllib.parse.quote(target)}"
        move_form = {"csrf_token": laptop.token(confirm), "start": target}
        cancelled, moved = at_once(lambda: phone.post(f"{manage}/cancel", cancel_form),
                                   lambda: laptop.post(f"{manage}/reschedule/confirm", move_form))

        assert_no_server_error(clinic, cancelled, moved)
        visit = clinic.visit(visit_id)
        assert_one_story(visit, {("cancelled",), ("moved",), ("moved", "cancelled")})
        if visit.changes == ["cancelled"]:
            told = laptop.landing(moved)
            assert told.status < 500 and "This appointment is cancelled" in told.text, (moved, told.status)
            assert "Your visit is unchanged" not in told.text, "the move was refused as if the time were taken"
        if "moved" in visit.changes:
            assert visit.starts_at == datetime.fromisoformat(target)


def test_two_moves_of_one_visit_to_different_times(clinic):
    """Two devices move the same visit to two different free times: one move wins; the other
    device confirmed "from <the old time>", which is no longer where the visit is, so it is
    refused (its link was replaced by the winner's), not applied as a second move."""
    for _ in range(ROUNDS):
        start = clinic.take()
        manage, visit_id = clinic.book(start)
        targets = [clinic.take(), clinic.take()]
        devices = [Browser(clinic.base), Browser(clinic.base)]
        forms = []
        for device, target in zip(devices, targets):
            confirm = f"{manage}/reschedule/confirm?start={urllib.parse.quote(target)}"
            forms.append({"csrf_token": device.token(confirm), "start": target})
        answers = at_once(*[lambda d=d, f=f: d.post(f"{manage}/reschedule/confirm", f)
                            for d, f in zip(devices, forms)])

        assert_no_server_error(clinic, *answers)
        visit = clinic.visit(visit_id)
        assert_one_story(visit, {("moved",)})
        [winner] = [i for i, answer in enumerate(answers)
                    if answer.location and answer.location.startswith("/manage/")
                    and not answer.location.startswith(manage)]
        assert visit.starts_at == datetime.fromisoformat(targets[winner])
        loser = answers[1 - winner]
        told = devices[1 - winner].landing(loser)
        assert told.status < 500, (loser, told.status)


def test_the_desk_marking_arrived_while_the_patient_cancels(clinic):
    """A visit later today: the patient cancels from the link as the desk marks them arrived.
    One of the two happens; the other is refused and says why."""
    for _ in range(ROUNDS):
        manage, visit_id = clinic.book(clinic.take(today=True))
        patient = Browser(clinic.base)
        cancel_form = {"csrf_token": patient.token(f"{manage}/cancel"), "reason": ""}
        desk_page = f"/desk/appointments/{visit_id}"
        mark_form = {"csrf_token": clinic.desk.token(desk_page)}
        cancelled, marked = at_once(lambda: patient.post(f"{manage}/cancel", cancel_form),
                                    lambda: clinic.desk.post(f"{desk_page}/status/arrived", mark_form))

        assert_no_server_error(clinic, cancelled, marked)
        visit = clinic.visit(visit_id)
        assert_one_story(visit, {("cancelled",), ("arrived",)})
        if visit.changes == ["cancelled"]:
            told = clinic.desk.landing(marked)
            assert told.status < 500 and "cancelled" in told.text and "is marked arrived." not in told.text, (
                told.text[:500])
        else:
            told = patient.landing(cancelled)
            assert told.status < 500 and "Your appointment has been cancelled" not in told.text


def test_the_desk_cancelling_while_the_patient_moves(clinic):
    """The desk cancels (the clinic is closed) as the patient moves the visit: cancelled; or
    moved, with the desk told the visit changed under it (its cancel was meant for the time it
    saw); or moved and then cancelled when the desk's page was read after the move. Never moved
    after the cancellation."""
    for _ in range(ROUNDS):
        manage, visit_id = clinic.book(clinic.take())
        target = clinic.take()
        patient = Browser(clinic.base)
        confirm = f"{manage}/reschedule/confirm?start={urllib.parse.quote(target)}"
        move_form = {"csrf_token": patient.token(confirm), "start": target}
        cancel_page = f"/desk/appointments/{visit_id}/cancel"
        cancel_form = {"csrf_token": clinic.desk.token(cancel_page), "reason": "clinic", "note": ""}
        moved, cancelled = at_once(lambda: patient.post(f"{manage}/reschedule/confirm", move_form),
                                   lambda: clinic.desk.post(cancel_page, cancel_form))

        assert_no_server_error(clinic, moved, cancelled)
        visit = clinic.visit(visit_id)
        assert_one_story(visit, {("cancelled",), ("moved",), ("moved", "cancelled")})
        if visit.changes == ["cancelled"]:
            told = patient.landing(moved)
            assert told.status < 500 and "This appointment is cancelled" in told.text, (moved, told.status)
            assert "Your visit is unchanged" not in told.text, "the move was refused as if the time were taken"
        if visit.changes == ["moved"]:
            told = clinic.desk.landing(cancelled)
            assert told.status < 500 and "changed a moment ago" in told.text, told.text[:500]


def test_the_desk_moving_while_the_patient_cancels(clinic):
    """The desk moves the visit as the patient cancels it: cancelled; or moved, with the patient
    told the visit changed a moment ago; or moved and then cancelled (the desk's move keeps the
    patient's link). Never moved after the cancellation."""
    for _ in range(ROUNDS):
        start = clinic.take()
        manage, visit_id = clinic.book(start)
        target = clinic.take()
        patient = Browser(clinic.base)
        cancel_form = {"csrf_token": patient.token(f"{manage}/cancel"), "reason": ""}
        move_page = f"/desk/appointments/{visit_id}/move?practitioner=ana&date={target[:10]}"
        move_form = {"csrf_token": clinic.desk.token(move_page), "practitioner": "ana", "start": target}
        cancelled, moved = at_once(lambda: patient.post(f"{manage}/cancel", cancel_form),
                                   lambda: clinic.desk.post(move_page, move_form))

        assert_no_server_error(clinic, cancelled, moved)
        visit = clinic.visit(visit_id)
        assert_one_story(visit, {("cancelled",), ("moved",), ("moved", "cancelled")})
        if visit.changes == ["cancelled"]:
            told = clinic.desk.landing(moved)
            assert told.status < 500 and "cancelled" in told.text and "Moved to" not in told.text, told.text[:500]
        if visit.changes == ["moved"]:
            told = patient.landing(cancelled)
            assert told.status < 500 and "changed a moment ago" in told.text, told.text[:500]


def test_many_patients_confirming_the_same_time_on_the_web(clinic):
    """Several patients, each in their own browser, press "Confirm booking" for the same time:
    one books it; the others go back to the time list, told it was booked by someone else,
    with every other answer kept. Never a 500."""
    for _ in range(ROUNDS):
        start = clinic.take()
        patients = [Browser(clinic.base) for _ in range(CONFIRMERS)]
        emails = [f"web{next(clinic.numbers)}@example.com" for _ in patients]
        for email in emails:  # returning patients, on the clinic's records (a follow-up is for them)
            put_on_file(clinic.checker, DETAILS | {"name": f"Web Patient {email.split('@')[0]}", "email": email})
        with ThreadPoolExecutor(max_workers=CONFIRMERS) as pool:
            tokens = list(pool.map(lambda pair: reach_check(*pair, start), zip(patients, emails)))
        answers = at_once(*[lambda p=p, t=t: p.post("/book/check", {"csrf_token": t})
                            for p, t in zip(patients, tokens)])

        assert_no_server_error(clinic, *answers)
        places = sorted(answer.location for answer in answers)
        assert places == ["/book/confirmation"] + ["/book/time"] * (CONFIRMERS - 1), (
            [(a.status, a.location) for a in answers])
        losers = [(p, e) for p, e, a in zip(patients, emails, answers) if a.location == "/book/time"]
        for patient, _ in losers:
            page = patient.get("/book/time")
            assert page.status == 200 and LOST_RACE in page.text
            assert f'value="{start}"' not in page.text  # the lost time is no longer offered
        with clinic.checker.app_context():
            booked = db.session.scalars(sa.select(Appointment).where(
                Appointment.starts_at == datetime.fromisoformat(start))).all()
            assert len(booked) == 1
            confirmations = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                OutboxMessage.appointment_id == booked[0].id))
            assert confirmations == 1
            drafts = {d.details.get("email"): d for d in db.session.scalars(sa.select(BookingDraft)).all()
                      if d.details}
            for _, email in losers:
                kept = drafts[email]
                assert kept.starts_at is None and kept.lost_race and kept.safety_codes == []
                assert kept.details["phone"] == DETAILS["phone"] and kept.appointment_id is None
            db.session.remove()
        # and a loser books another time without answering anything again
        patient, email = losers[0]
        other = clinic.take()
        token = patient.token("/book/time")
        assert patient.post("/book/time", {"csrf_token": token, "start": other}).location == "/book/check"
        assert patient.post("/book/check", {"csrf_token": token}).location == "/book/confirmation"


def reach_check(patient: Browser, email: str, start: str) -> str:
    """Walk the booking journey up to "Check your answers" for `start`; the CSRF token for confirming."""
    token = patient.token("/book/first-visit")
    steps = [("/book/first-visit", {"returning": "yes"}), ("/book", {"service": "short"}),
             ("/book/practitioner", {"practitioner": "ana"}),
             ("/book/time", {"start": start}), ("/book/safety", {"symptoms": ["none"]}),
             ("/book/details", DETAILS | {"name": f"Web Patient {email.split('@')[0]}", "email": email})]
    for path, form in steps:
        answer = patient.post(path, form | {"csrf_token": token})
        assert answer.status in (302, 303), (path, answer.status, answer.text[:500])
    assert answer.location == "/book/check", answer.location
    return token
