"""The practitioner's calendar feed on both databases: the link's page, the feed itself read by
two iCalendar parsers, what it leaves out, and the ways a link stops working.

The clock is Monday 8 March 2027, 08:00 in Los Angeles. Ana works weekdays 09:00-12:30
and 13:30-17:00; Ben works Monday and Wednesday 10:00-16:00. The practitioner account
is Ana's.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Practitioner, StaffAccount, StaffRole
from booking.notify.calendar import initials
from tests.conftest import app_config, close_database
from tests.test_booking_journey import text
from tests.test_desk import book_online
from tests.test_staff import ACCOUNTS, csrf_from, login_as, staff  # noqa: F401 (fixtures)

UTC = timezone.utc
TUESDAY_10 = "2027-03-09T10:00:00-08:00"


@pytest.fixture
def practitioner(login_as):  # noqa: F811
    return login_as(StaffRole.PRACTITIONER)


def post_button(client, path: str, page: str = "/clinician/calendar-feed"):
    """Press a button on a staff page, with the CSRF token from that page."""
    return client.post(path, data={"csrf_token": csrf_from(text(client.get(page)))})


def make_link(client) -> str:
    """Ana presses "Create my calendar link"; gives the feed's path from the address shown once."""
    response = post_button(client, "/clinician/calendar-feed/new")
    assert response.status_code == 200
    url = re.search(r'id="feed-url" type="text" value="([^"]+)"', text(response)).group(1)
    assert url.startswith("http://clinic.test/feeds/") and url.endswith(".ics")
    return url.removeprefix("http://clinic.test")


def fetch(app, path: str):
    """A calendar app's request: a fresh client, so no cookie of any sign-in."""
    return app.test_client().get(path)


def change(app, booking: dict, *, status: AppointmentStatus | None = None, starts_at: datetime | None = None) -> None:
    """Set a visit's status or time directly, as the desk would have over the weeks."""
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booking["reference"]))
        if starts_at is not None:
            appointment.move_to(starts_at)
        if status is AppointmentStatus.CANCELLED:
            appointment.cancel(appointment.starts_at, "")
        elif status is not None:
            appointment.status = status
        db.session.commit()


def events_by_uid(body: bytes) -> dict[str, icalendar.Event]:
    return {str(event["UID"]): event for event in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def uid(booking: dict) -> str:
    return f"appointment-{booking['reference']}@clinic-booking"


# --- the feed ----------------------------------------------------------------------------

def test_the_feed_lists_each_visit_by_initials_and_service_for_both_parsers(staff, practitioner):  # noqa: F811
    jane = book_online(staff, start=TUESDAY_10, name="Jane  Smith", email="jane.smith@example.com",
                       phone="+1 213 555 0177", safety=["night_pain"])
    anne = book_online(staff, start="2027-03-09T13:30:00-08:00", name="anne-marie o'brien-lee",
                       email="anne@example.com", phone="213 555 0188")
    ivan = book_online(staff, start="2027-03-10T09:00:00-08:00", name="Иван Петров", email="ivan@example.com")
    cancelled = book_online(staff, start="2027-03-11T09:00:00-08:00", name="Carl Cancel", email="carl@example.com")
    change(staff, cancelled, status=AppointmentStatus.CANCELLED)
    bens = book_online(staff, start="2027-03-10T10:00:00-08:00", practitioner="ben", name="Bea Ben",
                       email="bea@example.com")

    response = fetch(staff, make_link(practitioner))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    body = response.data

    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["X-WR-CALNAME"]) == "Test Clinic: Ana Test"
    assert str(calendar["X-WR-TIMEZONE"]) == "America/Los_Angeles"
    assert calendar.decoded("REFRESH-INTERVAL") == timedelta(minutes=15)
    events = events_by_uid(body)
    assert list(events) == [uid(jane), uid(anne), uid(ivan)]  # in time order; none cancelled, none of Ben's
    assert [str(event["SUMMARY"]) for event in events.values()] == [
        "J.S. · Short treatment", "A.O. · Short treatment", "И.П. · Short treatment"]
    first = events[uid(jane)]
    assert first.decoded("DTSTART") == datetime(2027, 3, 9, 18, 0, tzinfo=UTC)
    assert first.decoded("DTEND") == datetime(2027, 3, 9, 18, 30, tzinfo=UTC)
    assert int(first["SEQUENCE"]) == 0 and str(first["STATUS"]) == "CONFIRMED"
    assert str(first["LOCATION"]) == "Test Clinic"
    assert "DESCRIPTION" not in first and "URL" not in first

    parsed = vobject.readOne(body.decode())
    assert parsed.x_wr_calname.value == "Test Clinic: Ana Test"
    assert [(e.uid.value, e.summary.value, e.dtstart.value) for e in parsed.vevent_list] == [
        (uid(jane), "J.S. · Short treatment", datetime(2027, 3, 9, 18, 0, tzinfo=UTC)),
        (uid(anne), "A.O. · Short treatment", datetime(2027, 3, 9, 21, 30, tzinfo=UTC)),
        (uid(ivan), "И.П. · Short treatment", datetime(2027, 3, 10, 17, 0, tzinfo=UTC)),
    ]

    # Initials and service only: no name, contact detail, flag or link anywhere in the file.
    unfolded = body.decode().replace("\r\n ", "").lower()
    for word in ("jane", "smith", "jane.smith@example.com", "555 0177", "anne-marie", "brien", "иван", "петров",
                 "night", "urgent", "flag", "manage", "carl", "bea ben", cancelled["reference"].lower(),
                 bens["reference"].lower()):
        assert word not in unfolded, word


def test_the_feed_keeps_30_days_back_and_every_visit_ahead_whatever_its_status(staff, practitioner):  # noqa: F811
    def visit(name: str, starts_at: datetime, status=AppointmentStatus.BOOKED) -> dict:
        booking = book_online(staff, start=TUESDAY_10, name=name, email=f"{name.split()[0].lower()}@example.com")
        change(staff, booking, starts_at=starts_at, status=status)
        return booking

    # The window opens at the clinic's midnight 30 days back (Saturday 6 February, 08:00 UTC).
    too_old = visit("Old Timer", datetime(2027, 2, 6, 7, 15, tzinfo=UTC), AppointmentStatus.COMPLETED)
    oldest = visit("Ok Old", datetime(2027, 2, 6, 8, 0, tzinfo=UTC), AppointmentStatus.COMPLETED)
    missed = visit("No Show", datetime(2027, 3, 1, 17, 0, tzinfo=UTC), AppointmentStatus.NO_SHOW)
    arrived = visit("Here Now", datetime(2027, 3, 8, 16, 0, tzinfo=UTC), AppointmentStatus.ARRIVED)
    far = visit("Far Ahead", datetime(2028, 6, 1, 17, 0, tzinfo=UTC))  # the desk books two years ahead
    beyond = visit("Too Far", datetime(2029, 3, 9, 17, 0, tzinfo=UTC))

    events = events_by_uid(fetch(staff, make_link(practitioner)).data)
    assert list(events) == [uid(oldest), uid(missed), uid(arrived), uid(far)]
    assert uid(too_old) not in events and uid(beyond) not in events
    assert int(events[uid(far)]["SEQUENCE"]) == 1  # moved once: calendar apps replace the event they had
    assert {str(event["STATUS"]) for event in events.values()} == {"CONFIRMED"}


def test_a_head_request_answers_like_a_get_without_the_body(staff, practitioner):  # noqa: F811
    path = make_link(practitioner)
    response = staff.test_client().head(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar" and response.data == b""


def test_the_feed_costs_the_same_queries_for_one_visit_or_eight(staff, practitioner, count_queries):  # noqa: F811
    path = make_link(practitioner)

    def queries() -> int:
        with count_queries() as counted:
            assert fetch(staff, path).status_code == 200
        return counted.total

    book_online(staff, start="2027-03-09T09:00:00-08:00", name="Ann One", email="ann@example.com")
    one = queries()
    for hour in ("09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "13:30"):
        book_online(staff, start=f"2027-03-09T{hour}:00-08:00", name=f"Pat {hour}",
                    email=f"p{hour[:2]}{hour[3:]}@example.com")
    assert queries() == one
    assert len(events_by_uid(fetch(staff, path).data)) == 8


def test_the_app_itself_never_logs_the_token(staff, practitioner, caplog):  # noqa: F811
    path = make_link(practitioner)
    token = path.removeprefix("/feeds/").removesuffix(".ics")
    with caplog.at_level(logging.DEBUG):
        assert fetch(staff, path).status_code == 200
        assert fetch(staff, path.replace(token, token[::-1])).status_code == 404
    assert token not in caplog.text and token[::-1] not in caplog.text


def test_the_feed_is_rate_limited_like_the_api(database_url, staff, practitioner):  # noqa: F811
    path = make_link(practitioner)
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True, API_READ_LIMIT="3 per minute"))
    statuses = [fetch(limited, path).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    close_database(limited)


# --- how a link stops working ---------------------------------------------------------------

def test_unknown_stopped_renewed_and_tampered_links_get_the_same_plain_404(staff, practitioner):  # noqa: F811
    book_online(staff)
    first = make_link(practitioner)
    token = first.removeprefix("/feeds/").removesuffix(".ics")
    never = fetch(staff, "/feeds/" + "A" * 43 + ".ics")
    assert never.status_code == 404

    tampered = fetch(staff, first.replace(token, ("B" if token[0] != "B" else "C") + token[1:]))
    second = make_link(practitioner)  # "Make a new link (the old one stops working)"
    renewed = fetch(staff, first)
    assert fetch(staff, second).status_code == 200
    assert post_button(practitioner, "/clinician/calendar-feed/stop").status_code == 303
    stopped = fetch(staff, second)
    manage_token = fetch(staff, "/feeds/" + book_online(staff, start="2027-03-09T11:00:00-08:00",
                                                        email="m@example.com")["manage_url"].rsplit("/", 1)[1] + ".ics")
    for refused in (tampered, renewed, stopped, manage_token):
        assert (refused.status_code, refused.data) == (404, never.data)
        assert "Set-Cookie" not in refused.headers


def test_deactivating_the_practitioners_account_stops_their_feed(staff, practitioner, login_as):  # noqa: F811
    path = make_link(practitioner)
    admin = login_as(StaffRole.ADMIN)
    with staff.app_context():
        account_id = db.session.scalar(sa.select(StaffAccount.id).where(
            StaffAccount.email == ACCOUNTS[StaffRole.PRACTITIONER]))
    assert post_button(admin, f"/admin/staff/{account_id}/deactivate", page="/admin/staff").status_code == 303
    assert fetch(staff, path).status_code == 404
    assert post_button(admin, f"/admin/staff/{account_id}/reactivate", page="/admin/staff").status_code == 303
    assert fetch(staff, path).status_code == 200  # the link was never stopped, only its owner's account


# --- the pages -------------------------------------------------------------------------------

def test_the_link_is_shown_once_and_only_its_hash_is_kept(staff, practitioner):  # noqa: F811
    page = text(practitioner.get("/clinician"))
    assert 'href="/clinician/calendar-feed"' in page

    before = practitioner.get("/clinician/calendar-feed")
    assert before.headers["Cache-Control"] == "no-store"
    assert "initials and the service only" in text(before) and "Create my calendar link" in text(before)
    assert "Stop the link" not in text(before)

    made = post_button(practitioner, "/clinician/calendar-feed/new")
    assert made.headers["Cache-Control"] == "no-store"
    path = re.search(r'value="http://clinic\.test(/feeds/[^"]+)"', text(made)).group(1)
    token = path.removeprefix("/feeds/").removesuffix(".ics")
    assert f'href="webcal://clinic.test{path}"' in text(made)
    assert "iPhone" in text(made) and "Android" in text(made)

    after = text(practitioner.get("/clinician/calendar-feed"))
    assert token not in after
    assert "You have a calendar link" in after and "Make a new link (the old one stops working)" in after
    assert "Stop the link" in after and "Create my calendar link" not in after
    with staff.app_context():
        stored = db.session.scalar(sa.select(Practitioner.feed_token_hash).where(Practitioner.slug == "ana"))
    assert len(token) == 43 and token not in stored and len(stored) == 64

    stopped = post_button(practitioner, "/clinician/calendar-feed/stop")
    assert stopped.status_code == 303 and stopped.location.endswith("/clinician/calendar-feed")
    assert "Your calendar link is stopped" in text(practitioner.get("/clinician/calendar-feed"))
    with staff.app_context():
        assert db.session.scalar(sa.select(Practitioner.feed_token_hash).where(Practitioner.slug == "ana")) is None


def test_the_buttons_need_the_forms_csrf_token(staff, practitioner):  # noqa: F811
    assert practitioner.post("/clinician/calendar-feed/new").status_code == 400
    with staff.app_context():
        assert db.session.scalar(sa.select(Practitioner.feed_token_hash).where(Practitioner.slug == "ana")) is None


def test_receptionists_and_admins_have_no_calendar_link_of_their_own(staff, login_as):  # noqa: F811
    for role in (StaffRole.RECEPTIONIST, StaffRole.ADMIN):
        client = login_as(role)
        assert client.get("/clinician/calendar-feed").status_code == 403
        token = csrf_from(text(client.get("/desk")))
        for action in ("new", "stop"):
            assert client.post(f"/clinician/calendar-feed/{action}", data={"csrf_token": token}).status_code == 403
    assert staff.test_client().get("/clinician/calendar-feed").status_code == 302  # to sign in


def test_an_admin_sees_and_stops_a_practitioners_link(staff, practitioner, login_as):  # noqa: F811
    admin = login_as(StaffRole.ADMIN)
    assert "Ana Test has no calendar link" in text(admin.get("/admin/practitioners/ana"))
    path = make_link(practitioner)
    page = text(admin.get("/admin/practitioners/ana"))
    assert "Ana Test has an active calendar link" in page
    stopped = post_button(admin, "/admin/practitioners/ana/calendar-link/stop", page="/admin/practitioners/ana")
    assert stopped.status_code == 303 and stopped.location.endswith("/admin/practitioners/ana")
    page = text(admin.get("/admin/practitioners/ana"))
    assert "Calendar link stopped for Ana Test." in page and "Ana Test has no calendar link" in page
    assert fetch(staff, path).status_code == 404
    assert post_button(admin, "/admin/practitioners/nobody/calendar-link/stop",
                       page="/admin/practitioners/ana").status_code == 404


# --- initials ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("Jane Smith", "J.S."),
    ("  jane   smith ", "J.S."),
    ("Madonna", "M."),
    ("Mary Jane van der Berg", "M.B."),
    ("Anne-Marie Smith-Jones", "A.S."),
    ("d'Arcy O'Neil", "D.O."),
    ("Алексей Иванов", "А.И."),
    ("Ελένη Παπαδοπούλου", "Ε.Π."),
    ("山田 太郎", "山.太."),
    ("e\u0301mile zola", "É.Z."),  # a decomposed accent counts as one letter
    ("- 42", ""),
])
def test_initials_are_the_first_and_last_names_first_letters(name, expected):
    assert initials(name) == expected
