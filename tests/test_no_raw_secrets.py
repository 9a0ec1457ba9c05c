"""No raw secret at rest: after a day of demo activity, nothing stored in the database opens a
booking, a calendar feed or a place on the waitlist.

The day: `flask demo`, a patient joining the waitlist, bookings online (one with an urgent answer, so the clinic is alerted)
and through the API, the patient's move and cancellation, the desk's booking, move,
cancellation and questions email, an intake sent, a practitioner's calendar link made,
reminders and progress-check invitations queued, and the outbox sending it all to a real
SMTP server on 127.0.0.1 (one attempt failing first). Then every text and JSON column of
every table, found by reflecting the database, is read; every token-shaped run in it is
tried as a manage link and as a calendar feed, and its hash is looked for among the stored
values. Two real tokens are planted first, so a scan that could not find one would fail.

Both databases.
"""

from __future__ import annotations

import json
import logging
import re

import icalendar
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, AppointmentEvent, AppointmentStatus, ManageLink, OutboxMessage
from booking.operations.demo import DEMO_STAFF
from booking.tokens import hash_token, new_token
from tests.mail import MailServer, calendar_of, text_of
from tests.test_booking_journey import DETAILS, PatientBrowser, text
from tests.test_clinician import send_intake
from tests.test_desk import book_online
from tests.test_emails import link_in, mail, send  # noqa: F401 (the mail fixture)
from tests.test_staff import csrf_from, sign_in, staff  # noqa: F401 (fixtures)

TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_-]{20,}")  # URL-safe base64 runs, as every token here is
TOKEN_LENGTH = len(new_token())
HEX = re.compile(r"[0-9a-f]+")
LINK = re.compile(r"http://clinic\.test(/manage/[A-Za-z0-9_-]+)")
WAITLIST = re.compile(r"http://clinic\.test(/waitlist/[A-Za-z0-9_-]+)")
PASSWORDS = {role.value: (email, password) for email, password, role in DEMO_STAFF}


def free_starts(client, service: str, practitioner: str, day: str) -> list[str]:
    """The free starts in the week from `day` (the demo's bookings fill days at random)."""
    found = client.get(f"/api/v1/slots?service={service}&practitioner={practitioner}&from={day}&days=7").get_json()
    assert found["slots"], found
    return [slot["start"] for slot in found["slots"]]


def staff_client(app, role: str):
    client = app.test_client()
    assert sign_in(client, *PASSWORDS[role]).status_code == 303
    return client


def post_from(client, path: str, data: dict, page: str | None = None):
    """A staff form sent as a browser would: with the CSRF token of the page it sits on."""
    token = csrf_from(text(client.get(page or path)))
    return client.post(path, data={"csrf_token": token, **data})


def appointment_id(app, reference: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == reference))


def a_day_of_demo_activity(app, clock, mail) -> dict:  # noqa: F811
    """Everything a clinic does in a day, through its pages, API and commands; gives the live
    secrets handed out (each shown once: none of them may be stored)."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    api, handed_out = app.test_client(), {}

    # Online, with an urgent answer: the booking stands and the clinic is alerted.
    online = PatientBrowser(app)
    start = free_starts(api, "first-visit", "mei-lin", "2027-03-10")[0]
    online.book_until_check("first-visit", "mei-lin", start, symptoms=("night_pain",),
                            details=DETAILS | {"email": "online@example.com", "returning": "no"})
    assert online.confirm().status_code == 303
    page = text(online.get("/book/confirmation"))
    [first_link] = set(LINK.findall(page))
    assert first_link in text(online.get("/book/confirmation"))  # a reload shows the same link
    assert online.get(first_link).status_code == 200
    handed_out["online"] = first_link
    send_intake(app, {"manage_url": "http://clinic.test" + first_link})

    # Through the API, then moved by the patient; another booked and cancelled by the patient.
    def book_by_api(name: str, day: str) -> dict:
        response = api.post("/api/v1/bookings", json={
            "service": "first-visit", "practitioner": "daniel-ortiz", "start": free_starts(api, "first-visit",
                                                                                       "daniel-ortiz", day)[0],
            "safety": [], "patient": {"name": name, "email": f"{name.split()[0].lower()}@example.com", "phone": "213 555 0177",
                        "birth_date": "1970-02-03"}})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    moving = book_by_api("Mo Ving", "2027-03-10")
    old = moving["manage_url"].removeprefix("http://clinic.test")
    later = free_starts(api, "first-visit", "daniel-ortiz", "2027-03-10")[-1]
    patient = PatientBrowser(app)
    moved = patient.submit(f"{old}/reschedule/confirm?start={later}", {"start": later})
    assert moved.status_code == 303
    new = moved.location.removeprefix("http://clinic.test")
    assert patient.get(old).status_code == 404 and patient.get(new).status_code == 200
    handed_out |= {"api": old, "moved": new}
    cancelling = book_by_api("Can Celling", "2027-03-10")
    cancel_path = cancelling["manage_url"].removeprefix("http://clinic.test")
    assert patient.submit(f"{cancel_path}/cancel", {"reason": "Feeling better"}).status_code == 303
    handed_out["cancelled"] = cancel_path

    # A patient joins the waitlist through the API (its link handed out once); the desk's cancellation
    # below may offer them its time; the emails about the place carry links made as they go.
    joined = api.post("/api/v1/waitlist", json={
        "service": "follow-up", "practitioner": "any", "from": "2027-03-08", "to": "2027-03-20", "safety": [],
        "patient": {"name": "Wai Ting", "email": "waiting@example.com", "phone": "213 555 0188",
                    "birth_date": "1966-06-06"}})
    assert joined.status_code == 201, joined.get_json()
    handed_out["waitlist"] = joined.get_json()["manage_url"].removeprefix("http://clinic.test")
    assert api.get(handed_out["waitlist"]).status_code == 200

    # The desk books a caller, moves the API booking back, cancels a demo visit, emails questions.
    desk = staff_client(app, "receptionist")
    target = f"/desk/book?practitioner=mei-lin&start={free_starts(api, 'first-visit', 'mei-lin', '2027-03-10')[-1]}"
    booked = post_from(desk, f"{target}&patient=new", {
        "service": "first-visit", "symptoms": "none", "name": "Desk Caller", "email": "caller@example.com",
        "phone": "213 555 0199", "birth_day": "3", "birth_month": "5", "birth_year": "1975"})
    assert booked.status_code == 303, text(booked)
    caller_id = int(re.search(r"/appointments/(\d+)", booked.location).group(1))
    moving_id = appointment_id(app, moving["reference"])
    back = free_starts(api, "first-visit", "daniel-ortiz", "2027-03-09")[0]
    assert post_from(desk, f"/desk/appointments/{moving_id}/move?date={back[:10]}",
                     {"practitioner": "daniel-ortiz", "start": back}).status_code == 303
    with app.app_context():
        demo_visit = db.session.scalar(sa.select(Appointment.id).where(
            Appointment.status == AppointmentStatus.BOOKED, Appointment.booked_via == "desk",
            Appointment.id != caller_id, Appointment.starts_at > clock()).order_by(Appointment.starts_at.desc()))
    assert post_from(desk, f"/desk/appointments/{demo_visit}/cancel", {"reason": "patient"}).status_code == 303
    assert post_from(desk, f"/desk/appointments/{caller_id}/email-questions", {},
                     page=f"/desk/appointments/{caller_id}").status_code == 303

    # The practitioner makes a calendar link, shown once, and a calendar app reads it.
    practitioner = staff_client(app, "practitioner")
    made = post_from(practitioner, "/clinician/calendar-feed/new", {}, page="/clinician/calendar-feed")
    feed = re.search(r'id="feed-url" type="text" value="http://clinic\.test([^"]+)"', text(made)).group(1)
    assert app.test_client().get(feed).status_code == 200
    handed_out["feed"] = feed

    # The outbox: one pass while the mail server is down (each attempt makes a link), then for real.
    down = MailServer()
    assert "will retry" in send(app, down, stops_early=True)
    clock.advance(minutes=1)
    assert "Sent " in send(app, mail)
    # A day on: reminders and progress-check invitations are queued and sent.
    clock.advance(days=1)
    assert runner.invoke(args=["reminders", "queue"]).exit_code == 0
    send(app, mail)
    kinds = {message.kind for message in _all(app, OutboxMessage)}
    assert {"confirmation", "moved", "cancelled", "intake_invitation", "reminder", "safety_alert"} <= kinds, kinds
    links = [link for message in mail.received for link in LINK.findall(text_of(message))]
    assert links and all(b"/manage/" not in (calendar_of(message) or b"") for message in mail.received)
    handed_out["emailed"] = links[-1]
    assert app.test_client().get(links[-1]).status_code == 200  # links made when sent do work
    [place_link, *_] = [link for message in mail.to("waiting@example.com") for link in WAITLIST.findall(text_of(message))]
    handed_out["emailed place"] = place_link
    assert app.test_client().get(place_link).status_code == 200
    return handed_out


def _all(app, model) -> list:
    with app.app_context():
        rows = db.session.scalars(sa.select(model)).all()
        db.session.expunge_all()
        return rows


def stored_texts(app) -> list[str]:
    """Every text, VARCHAR and JSON value in every table, found by reflecting the database."""
    with app.app_context():
        metadata = sa.MetaData()
        metadata.reflect(bind=db.engine)
        values, columns = [], []
        for table in metadata.sorted_tables:
            readable = [column for column in table.columns if isinstance(column.type, (sa.String, sa.JSON))]
            columns += [f"{table.name}.{column.name}" for column in readable]
            for row in db.session.execute(sa.select(*readable)) if readable else ():
                values += [value if isinstance(value, str) else json.dumps(value) for value in row if value is not None]
        db.session.rollback()
    # The reflection found the columns secrets could hide in (and the outbox's text).
    assert {"outbox_message.text_body", "appointment_event.detail", "booking_draft.details", "audit_entry.address",
            "staff_session.token_hash", "manage_link.token_hash"} <= set(columns), columns
    return values


def token_shaped(values: list[str]) -> set[str]:
    """Every URL-safe run of 20 characters or more, and inside a longer run (one not made of hex
    digits alone, as a hash is) every stretch a token's length, in case one was glued to more."""
    found = set()
    for value in values:
        for run in TOKEN_SHAPED.findall(value):
            found.add(run)
            if len(run) > TOKEN_LENGTH and not HEX.fullmatch(run):
                found.update(run[i:i + TOKEN_LENGTH] for i in range(len(run) - TOKEN_LENGTH + 1))
    return found


def what_opens(app, values: list[str]) -> set[tuple[str, str]]:
    """Each stored run that opens a manage page, a feed or a place on the waitlist, or whose hash is stored (a link that
    has expired, or a staff session or draft key), with what it opened."""
    stored, client, opened = set(values), app.test_client(), set()
    for candidate in sorted(token_shaped(values)):
        if client.get(f"/manage/{candidate}").status_code != 404:
            opened.add(("manage page", candidate))
        if client.get(f"/feeds/{candidate}.ics").status_code != 404:
            opened.add(("calendar feed", candidate))
        if client.get(f"/waitlist/{candidate}").status_code != 404:
            opened.add(("waitlist place", candidate))
        if hash_token(candidate) in stored:
            opened.add(("a stored hash", candidate))
    return opened


def plant(app, manage_token: str, feed_token: str) -> None:
    """Put two live tokens where a careless change could: a history line, and glued to an email's end."""
    with app.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED,
                                                               Appointment.booked_via == "online"))
        db.session.add(ManageLink(appointment=visit, token_hash=hash_token(manage_token), created_at=visit.created_at))
        db.session.add(AppointmentEvent(appointment=visit, at=visit.created_at, actor="Test", action="planted",
                                        detail=f"A careless line: {manage_token}"))
        message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.html_body.is_not(None))
                                    .order_by(OutboxMessage.id))
        message.html_body += "zz" + feed_token
        db.session.commit()


def test_after_a_day_of_demo_activity_no_stored_value_opens_a_booking_or_a_feed(app, clock, mail, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    handed_out = a_day_of_demo_activity(app, clock, mail)

    secrets_given = [path.removeprefix("/manage/").removeprefix("/feeds/").removeprefix("/waitlist/").removesuffix(".ics")
                     for path in handed_out.values()]
    # Nor in what the app logged (the test's own mail server logs what it receives: not ours).
    logged = "\n".join(logging.Formatter().format(record) for record in caplog.records if record.name != "mail.log")
    assert not [secret for secret in secrets_given if secret in logged]

    values = stored_texts(app)
    assert not [secret for secret in secrets_given if any(secret in value for value in values)]

    planted_link, planted_feed = new_token(), handed_out["feed"].removeprefix("/feeds/").removesuffix(".ics")
    plant(app, planted_link, planted_feed)
    values = stored_texts(app)
    assert what_opens(app, values) == {
        ("manage page", planted_link), ("a stored hash", planted_link),
        ("calendar feed", planted_feed), ("a stored hash", planted_feed),
    }


def test_the_migration_clears_raw_tokens_the_old_outbox_and_drafts_kept(staff, mail, clock):  # noqa: F811
    import flask_migrate

    book_online(staff, email="waiting@example.com")  # its confirmation waits in the outbox,
    patient = PatientBrowser(staff)
    patient.book_until_check()
    assert patient.confirm().status_code == 303
    mail.busy.add("waiting@example.com")  # written by a first attempt the mail server put off
    send(staff, mail)
    mail.busy.clear()
    with staff.app_context():
        db.session.rollback()
        flask_migrate.downgrade(revision="0015")  # the later migrations first,
        flask_migrate.downgrade(revision="-1")  # then this one
        # As the old code left them: raw tokens with the waiting email and the booked draft, the
        # link in the calendar file's notes.
        [(message_id, stored)] = db.session.execute(sa.text("SELECT id, calendar FROM outbox_message "
                                                            "WHERE to_address = 'waiting@example.com'")).all()
        old = icalendar.Calendar.from_ical(stored)
        [event] = old.walk("VEVENT")
        event["DESCRIPTION"] = icalendar.vText(
            "Reference X. To change or cancel: http://clinic.test/manage/LINK-SENT-WITH-THE-EMAIL or phone 555.")
        db.session.execute(sa.text("UPDATE outbox_message SET link_token = :token, calendar = :calendar WHERE id = :id"),
                           {"token": new_token(), "calendar": old.to_ical().decode(), "id": message_id})
        db.session.execute(sa.text("UPDATE booking_draft SET manage_token = :token"), {"token": new_token()})
        db.session.commit()
        flask_migrate.upgrade()
        metadata = sa.MetaData()
        metadata.reflect(bind=db.engine)
        assert "link_token" not in metadata.tables["outbox_message"].c
        assert "manage_token" not in metadata.tables["booking_draft"].c
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(metadata.tables["booking_draft"]))
        calendar = db.session.scalar(sa.select(OutboxMessage.calendar).where(OutboxMessage.id == message_id))
        notes = str(icalendar.Calendar.from_ical(calendar).walk("VEVENT")[0]["DESCRIPTION"])
        assert notes == "Reference X. To change or cancel, use the link in your booking email or phone 555."
        db.session.rollback()
    clock.advance(minutes=1)
    send(staff, mail)  # the waiting email still gets a working link, made as it goes
    [sent] = mail.to("waiting@example.com")
    assert staff.test_client().get(link_in(sent)).status_code == 200
    assert b"/manage/" not in calendar_of(sent)
    assert patient.get("/book/confirmation").status_code == 404  # the booked draft went with its token
