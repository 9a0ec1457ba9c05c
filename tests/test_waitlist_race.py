"""Patients offered the same freed time press "Book it" at the same instant, against real gunicorn
with several worker processes, on SQLite and PostgreSQL: exactly one books it, the others are
told kindly that it has gone and stay on the waitlist, and no two visits overlap."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, OfferState, Practitioner, WaitlistEntry, WaitlistOffer, WaitlistState
from booking.operations import waitlist
from booking.operations.availability import load_clinic
from booking.operations.bookings import PatientDetails
from booking.operations.clinic_file import import_clinic_file
from booking.scheduling import TimeRange, wall_clock_instant
from tests import servers
from tests.conftest import CLINIC_TOML, app_config, close_database
from tests.test_staff import csrf_from

UTC = timezone.utc
ROUNDS = 3  # one day each, ana's: each day's first free time is offered to the first three who want that day


class Browser:
    """A patient's browser: its own cookies, so its own session and CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def open(self, path: str, form: dict | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                return response.status, response.read().decode(), response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 is the answer itself: where it leads is read from Location


def offered_days(app, count: int) -> list[date]:
    """Weekdays ahead on which ana has free times, as the served app (real clock) sees them."""
    with app.app_context():
        today = load_clinic().today(datetime.now(UTC))
    days = [today + timedelta(days=n) for n in range(2, 20)]
    return [day for day in days if day.weekday() < 5][:count]


@pytest.fixture
def setup(database_url):
    """The app as the test sets the clinic up through it (the served one runs in gunicorn)."""
    setup = create_app(app_config(database_url))
    with setup.app_context():
        import_clinic_file(CLINIC_TOML)
    try:
        yield setup
    finally:
        close_database(setup)


@pytest.mark.slow
def test_of_three_patients_confirming_one_offered_time_at_once_exactly_one_books_it(setup, database_url, tmp_path):
    places: dict[int, list[tuple[int, str]]] = {}  # round -> (entry id, secret link) of each offered
    with setup.app_context():
        ana = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana"))
        for round_number, day in enumerate(offered_days(setup, ROUNDS)):
            joined = [waitlist.join(waitlist.JoinRequest(
                waitlist.Wishes("short", "ana", day, day),
                PatientDetails(f"Racer {round_number}-{n}", f"racer{round_number}.{n}@example.com", "213 555 0100",
                               date(1980, 1, 1))), datetime.now(UTC)) for n in range(3)]
            zone = load_clinic().zone
            whole_day = TimeRange(wall_clock_instant(day, time(0), zone), wall_clock_instant(day + timedelta(days=1), time(0), zone))
            assert waitlist.offer_freed_times([waitlist.Change(ana, opened=(whole_day,))], datetime.now(UTC)) == 3
            places[round_number] = [(j.entry_id, j.token) for j in joined]
        offered = {o.entry_id: o for o in db.session.scalars(sa.select(WaitlistOffer))}
        for contenders in places.values():  # each day's three share one time
            assert len({offered[entry_id].starts_at for entry_id, _ in contenders}) == 1

    with servers.gunicorn(database_url, tmp_path) as base:
        for contenders in places.values():
            browsers = []
            for entry_id, token in contenders:
                browser = Browser(base)
                path = f"/waitlist/{token}/offers/{offered[entry_id].id}"
                status, page, _ = browser.open(path)
                assert status == 200 and "Book it" in page
                browsers.append((browser, path, csrf_from(page)))
            release = threading.Barrier(len(browsers), timeout=30)

            def press(contender):
                browser, path, csrf = contender
                release.wait()
                return browser.open(path, {"csrf_token": csrf})

            with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
                answers = list(pool.map(press, browsers))
            assert sorted(status for status, _, _ in answers) == [303, 409, 409], [a[:1] for a in answers]
            for status, page, location in answers:
                if status == 303:
                    assert "/manage/" in location
                else:
                    assert "this time has gone" in page and "You are still on the waitlist" in page

    with setup.app_context():
        db.session.expire_all()
        entries = list(db.session.scalars(sa.select(WaitlistEntry)))
        assert sorted(e.state.value for e in entries) == ["booked"] * ROUNDS + ["waiting"] * (2 * ROUNDS)
        states = [o.state for o in db.session.scalars(sa.select(WaitlistOffer))]
        assert sorted(s.value for s in states) == sorted(["booked"] * ROUNDS + ["gone"] * (2 * ROUNDS))
        visits = list(db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)))
        assert len(visits) == ROUNDS
        assert all(a.occupied_until <= b.starts_at for a, b in zip(visits, visits[1:]))
        assert all(e.appointment_id is not None for e in entries if e.state is WaitlistState.BOOKED)
        assert OfferState.OPEN not in states

