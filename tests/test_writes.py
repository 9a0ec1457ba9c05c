"""The one way to write (booking/transaction.py), on both databases: a change that waits too
long for a lock answers "busy, try again" with nothing changed; nested changes commit once;
a change made from a stale view of a visit is refused; and no code commits any other way.

The clock is Monday 8 March 2027, 08:00 in Los Angeles (tests/conftest.py).
"""

from __future__ import annotations

import ast
import re
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import begin_as_writer, db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Intake,
    OutboxMessage,
    OutboxStatus,
    Service,
    StaffAccount,
    StaffRole,
)
from booking.operations import bookings, desk, drafts, intakes
from booking.operations.bookings import LOCK_PRACTITIONER
from booking.operations.problems import CannotBook, VisitCancelled
from booking.transaction import Busy, locked, takes_advisory_locks, write_transaction
from tests.conftest import app_config, close_database
from tests.mail import MailServer
from tests.test_desk import TUESDAY_10, book_online, count
from tests.test_staff import ACCOUNTS, csrf_from, login_as, sign_in, staff  # noqa: F401 (fixtures)

PACKAGE = Path(__file__).resolve().parent.parent / "booking"
LOCK_WAIT = 0.5  # seconds: short, so a held lock is given up on quickly


@pytest.fixture
def impatient(clinic, database_url, clock):
    """A second app on the clinic's database whose changes wait only LOCK_WAIT for a lock."""
    app = create_app(app_config(database_url, CLOCK=clock, LOCK_TIMEOUT_SECONDS=LOCK_WAIT))
    yield app
    close_database(app)


class HeldLock:
    """Another process's change in progress, from a connection of its own: on SQLite it holds
    the database's write lock; on PostgreSQL a visit's row lock and a practitioner's booking lock."""

    def __init__(self, database_url: str):
        self.database_url = database_url

    def __enter__(self):
        if self.database_url.startswith("sqlite"):
            self.connection = sqlite3.connect(self.database_url.removeprefix("sqlite:///"), isolation_level=None,
                                              check_same_thread=False)  # released from a timer thread too
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            self.engine = sa.create_engine(self.database_url)
            self.connection = self.engine.connect()
            self.connection.begin()
        return self

    def row(self, appointment_id: int) -> None:
        if not self.database_url.startswith("sqlite"):
            self.connection.execute(sa.text("SELECT id FROM appointment WHERE id = :id FOR UPDATE"),
                                    {"id": appointment_id})

    def practitioner(self, practitioner_id: int) -> None:
        if not self.database_url.startswith("sqlite"):
            self.connection.execute(sa.text("SELECT pg_advisory_xact_lock(:namespace, :id)"),
                                    {"namespace": LOCK_PRACTITIONER, "id": practitioner_id})

    def __exit__(self, *_):
        if self.database_url.startswith("sqlite"):
            self.connection.execute("ROLLBACK")
            self.connection.close()
        else:
            self.connection.rollback()
            self.connection.close()
            self.engine.dispose()


def snapshot(app, reference: str) -> tuple:
    """What a change to the visit would alter: its status and time, its history, the outbox."""
    with app.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        return (visit.status, visit.starts_at, visit.sequence, len(visit.history),
                db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)))


def visit_id(app, reference: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == reference))


def test_a_cancel_that_waits_too_long_for_the_lock_is_busy_and_changes_nothing(impatient, database_url, clock):
    booked = book_online(impatient)
    before = snapshot(impatient, booked["reference"])
    appointment_id = visit_id(impatient, booked["reference"])
    with HeldLock(database_url) as held:
        held.row(appointment_id)
        with impatient.app_context(), pytest.raises(Busy):
            bookings.cancel(appointment_id, "", clock())
    assert snapshot(impatient, booked["reference"]) == before
    with impatient.app_context():  # once the other change is over, the same cancel goes through
        bookings.cancel(appointment_id, "", clock())
    assert snapshot(impatient, booked["reference"])[0] is AppointmentStatus.CANCELLED


def test_the_api_answers_503_busy_with_retry_after_and_books_nothing(impatient, database_url):
    booked_before = count(impatient, Appointment)
    with impatient.app_context():
        ana = db.session.scalar(sa.text("SELECT id FROM practitioner WHERE slug = 'ana'"))
    with HeldLock(database_url) as held:
        held.practitioner(ana)
        response = impatient.test_client().post("/api/v1/bookings", json={
            "service": "short", "practitioner": "ana", "start": TUESDAY_10, "safety": [],
            "patient": {"name": "Pat Waiting", "email": "wait@example.com", "phone": "213 555 0142",
                        "birth_date": "1980-04-02"},
        })
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"error": "busy", "message": Busy.message}
    assert count(impatient, Appointment) == booked_before
    assert book_online(impatient)["start"].startswith("2027-03-09T10:00")  # free, and bookable once the lock is gone


def test_the_desk_sees_a_busy_page_that_keeps_its_typing_by_going_back(impatient, database_url, staff):  # noqa: F811
    booked = book_online(impatient)
    appointment_id = visit_id(impatient, booked["reference"])
    client = impatient.test_client()
    assert sign_in(client, ACCOUNTS[StaffRole.RECEPTIONIST]).status_code == 303
    before = snapshot(impatient, booked["reference"])
    form = csrf_from(client.get(f"/desk/appointments/{appointment_id}/cancel").get_data(as_text=True))
    with HeldLock(database_url) as held:
        held.row(appointment_id)
        response = client.post(f"/desk/appointments/{appointment_id}/cancel",
                               data={"csrf_token": form, "reason": "patient"})
    text = response.get_data(as_text=True)
    assert response.status_code == 503, text
    assert response.headers["Retry-After"] == "5"
    assert "busy for a moment, and nothing was changed" in text
    assert "what you typed is still in the form" in text
    assert snapshot(impatient, booked["reference"]) == before


def test_a_booking_that_waits_for_another_change_goes_through_once_it_ends(impatient, database_url):
    """A writer meeting another's lock waits for it (in small steps on SQLite, not SQLite's own
    back-off), books once it is released, and leaves the connection's busy timeout as it was."""
    with impatient.app_context():
        ana = db.session.scalar(sa.text("SELECT id FROM practitioner WHERE slug = 'ana'"))
    held = HeldLock(database_url).__enter__()
    held.practitioner(ana)
    released = threading.Timer(LOCK_WAIT / 3, held.__exit__)  # the other change ends while this one waits
    released.start()
    try:
        booked = book_online(impatient)
    finally:
        released.join()
    assert booked["start"].startswith("2027-03-09T10:00")


@pytest.mark.parametrize("held_for", [0.005, 0.1])  # inside the quick tries, and past them into SQLite's own
def test_a_sqlite_writer_takes_the_lock_once_it_is_free_and_keeps_its_busy_timeout(tmp_path, held_for):
    path = tmp_path / "locks.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA busy_timeout = 2000")
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(held_for, lambda: holder.execute("COMMIT"))
    released.start()
    begin_as_writer(writer, 2)
    released.join()
    assert writer.in_transaction and writer.execute("PRAGMA busy_timeout").fetchone() == (2000,)
    writer.execute("COMMIT")
    holder.execute("BEGIN IMMEDIATE")  # held past the timeout: "database is locked", as SQLite's own wait ends
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        begin_as_writer(writer, 0.05)
    assert not writer.in_transaction and writer.execute("PRAGMA busy_timeout").fetchone() == (50,)
    holder.execute("ROLLBACK")
    writer.close()  # any other error of the driver's is SQLAlchemy's too, for the handlers of its errors
    with pytest.raises(sa.exc.DBAPIError):
        begin_as_writer(writer, 1)
    holder.close()


def test_a_change_made_from_a_stale_view_of_the_visit_is_refused(staff, clock):  # noqa: F811
    """The desk opened the visit; the patient moved it before the desk pressed cancel."""
    booked = book_online(staff)
    appointment_id = visit_id(staff, booked["reference"])
    with staff.app_context():
        seen_by_desk = db.session.get(Appointment, appointment_id).sequence
        bookings.move(appointment_id, datetime.fromisoformat("2027-03-09T11:00:00-08:00"), clock())
    before = snapshot(staff, booked["reference"])
    with staff.app_context():
        receptionist = db.session.scalar(sa.select(StaffAccount).where(
            StaffAccount.email == ACCOUNTS[StaffRole.RECEPTIONIST]))
        with pytest.raises(CannotBook, match="changed a moment ago"):
            desk.cancel(receptionist, appointment_id, "Patient asked", clock(), patient_asked=True, seen=seen_by_desk)
        with pytest.raises(CannotBook, match="changed a moment ago"):
            desk.move(receptionist, appointment_id, db.session.get(Appointment, appointment_id).practitioner,
                      datetime.fromisoformat("2027-03-09T14:00:00-08:00"), clock(), seen=seen_by_desk)
    assert snapshot(staff, booked["reference"]) == before


def test_a_second_cancel_is_told_it_is_already_cancelled_and_sends_nothing(clinic, clock):
    booked = book_online(clinic)
    appointment_id = visit_id(clinic, booked["reference"])
    with clinic.app_context():
        bookings.cancel(appointment_id, "", clock())
    before = snapshot(clinic, booked["reference"])
    with clinic.app_context(), pytest.raises(CannotBook, match="already cancelled"):
        bookings.cancel(appointment_id, "", clock())
    assert snapshot(clinic, booked["reference"]) == before


def test_nested_changes_commit_once_and_an_error_inside_undoes_them_all(clinic, clock):
    booked = book_online(clinic)
    appointment_id = visit_id(clinic, booked["reference"])
    before = snapshot(clinic, booked["reference"])
    with clinic.app_context(), pytest.raises(RuntimeError, match="after the cancel"):
        with write_transaction():
            bookings.cancel(appointment_id, "", clock())  # its own block joins this one: no commit yet
            raise RuntimeError("after the cancel")
    assert snapshot(clinic, booked["reference"]) == before
    with clinic.app_context():
        with write_transaction():
            bookings.cancel(appointment_id, "", clock())
            assert db.session().in_transaction()  # still open: only the outer block commits
    assert snapshot(clinic, booked["reference"])[0] is AppointmentStatus.CANCELLED


def test_locked_is_only_for_changes(clinic):
    with clinic.app_context(), pytest.raises(RuntimeError, match="outside write_transaction"):
        locked(Appointment, 1)


def test_advisory_locks_are_taken_on_postgresql_only_and_only_inside_a_change(clinic, database_url):
    """SQLite's writer holds the whole database's lock, so a change there takes no advisory lock and
    works out no lock key (a booking hashed the patient's email for nothing); PostgreSQL takes them.
    Asking outside a change is a mistake either way, as for locked()."""
    with clinic.app_context():
        with pytest.raises(RuntimeError, match="outside write_transaction"):
            takes_advisory_locks()
        with write_transaction():
            assert takes_advisory_locks() is database_url.startswith("postgresql")
            with write_transaction():  # a change inside another asks the same
                assert takes_advisory_locks() is database_url.startswith("postgresql")


# --- one way to write -------------------------------------------------------------------

def _calls(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            found.append((ast.unparse(node.func), node.lineno))
    return found


# Writes that deliberately go apart from the request's transaction, each with its reason.
WRITES_APART = {
    # A staff session's "last seen" time is stamped on a short connection of its own, so that
    # merely opening a page never restarts the page's reading transaction.
    ("booking/operations/staff.py", "db.engine.begin"),
}


def test_nothing_commits_except_through_write_transaction():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative == "booking/transaction.py":
            continue
        for call, line in _calls(ast.parse(path.read_text(), relative)):
            if call.endswith(".commit") or call.endswith("begin_write_transaction") or (
                    call.endswith("engine.begin") and (relative, call) not in WRITES_APART):
                offenders.append(f"{relative}:{line}: {call}()")
    assert offenders == [], "write through booking.transaction.write_transaction instead:\n" + "\n".join(offenders)


def test_a_cancel_sent_from_a_page_opened_before_the_patient_moved_is_refused(staff, clock, login_as):  # noqa: F811
    """The receptionist opens the cancel page; the patient moves the visit online; the page's
    Cancel is then pressed. The desk is told the visit changed, and nothing else happens."""
    desk_client = login_as(StaffRole.RECEPTIONIST)
    booked = book_online(staff)
    appointment_id = visit_id(staff, booked["reference"])
    path = f"/desk/appointments/{appointment_id}/cancel"
    page = desk_client.get(path).get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"|type="hidden" name="seen" value="(\d+)"', page)
    assert seen, "the cancel page carries the visit's version"
    with staff.app_context():
        bookings.move(appointment_id, datetime.fromisoformat("2027-03-09T11:00:00-08:00"), clock())
    before = snapshot(staff, booked["reference"])
    response = desk_client.post(path, data={"csrf_token": csrf_from(page), "seen": seen.group(1) or seen.group(2),
                                            "reason": "patient"})
    assert response.status_code == 303
    assert "changed a moment ago" in desk_client.get(response.location).get_data(as_text=True)
    assert snapshot(staff, booked["reference"]) == before


def test_a_second_press_of_confirm_that_waited_for_the_first_books_nothing_more(clinic, clock):
    """"First available": the first press books Ana at 10:00; a second press that was already on
    its way would find Ben free at 10:00 too. Read under the draft's lock, it books nothing."""
    with clinic.app_context():
        draft, key = drafts.start_draft(clock())
        drafts.save(draft, clock(), service=db.session.scalar(sa.select(Service).where(Service.slug == "short")),
                    practitioner_choice="any", starts_at=datetime.fromisoformat(TUESDAY_10), safety_codes=[],
                    details={"name": "Pat Twice", "email": "twice@example.com", "phone": "213 555 0142",
                             "birth_date": "1980-04-02", "returning": True})
        request = drafts.booking_request(draft)
        bookings.book(request, clock(), draft=draft, draft_key=key)
        with pytest.raises(bookings.AlreadyBooked):
            bookings.book(request, clock(), draft=draft, draft_key=key)
    assert count(clinic, Appointment) == 1
    assert count(clinic, OutboxMessage) == 1


def test_intake_answers_sent_after_the_visit_was_cancelled_are_not_kept(clinic, clock):
    booked = book_online(clinic, safety=())
    with clinic.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booked["reference"]))
        with clinic.app_context():  # another request cancels while this one has the visit in hand
            bookings.cancel(visit.id, "", clock())
        with pytest.raises(VisitCancelled):
            intakes.save_step(visit, "episode", {"weeks_ago": 2}, clock())
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 0


def test_a_stale_mark_button_does_not_undo_a_colleagues_mark(staff, clock, login_as):  # noqa: F811
    """Two receptionists have the visit open; one marks it arrived, then completed. The other's
    page still offers "Mark arrived": pressing it says what happened and changes nothing."""
    booked = book_online(staff, start="2027-03-08T10:00:00-08:00")
    appointment_id = visit_id(staff, booked["reference"])
    clock.advance(hours=2, minutes=45)  # 10:45: the visit has begun and ended
    desk_client = login_as(StaffRole.RECEPTIONIST)
    page = desk_client.get(f"/desk/appointments/{appointment_id}").get_data(as_text=True)
    assert 'name="was" value="booked"' in page
    with staff.app_context():
        colleague = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == ACCOUNTS[StaffRole.ADMIN]))
        desk.mark(colleague, appointment_id, AppointmentStatus.ARRIVED, clock())
        desk.mark(colleague, appointment_id, AppointmentStatus.COMPLETED, clock())
    before = snapshot(staff, booked["reference"])
    response = desk_client.post(f"/desk/appointments/{appointment_id}/status/arrived",
                                data={"csrf_token": csrf_from(page), "was": "booked"})
    assert response.status_code == 303
    assert "was marked completed a moment ago" in desk_client.get(response.location).get_data(as_text=True)
    assert snapshot(staff, booked["reference"]) == before
    assert before[0] is AppointmentStatus.COMPLETED


def test_a_send_pass_that_meets_a_held_lock_stops_and_keeps_the_email_for_the_next(impatient, database_url):
    """The sender cannot claim emails while another change holds the outbox: it says so and exits
    1 (cron notices), the email stays queued, not failed, and the next pass delivers it once."""
    book_online(impatient)
    server = MailServer().start()
    try:
        impatient.config["SMTP_URL"] = server.url
        with HeldLock(database_url) as held:
            if not database_url.startswith("sqlite"):
                held.connection.execute(sa.text("LOCK TABLE outbox_message IN EXCLUSIVE MODE"))
            stopped = impatient.test_cli_runner().invoke(args=["outbox", "send"])
        assert stopped.exit_code == 1, stopped.output
        assert isinstance(stopped.exception, SystemExit), stopped.exception  # a clear line, not a crash
        assert "busy" in stopped.output or "database failed" in stopped.output, stopped.output
        with impatient.app_context():
            assert db.session.scalars(sa.select(OutboxMessage.status)).all() == [OutboxStatus.QUEUED]
        sent = impatient.test_cli_runner().invoke(args=["outbox", "send"])
        assert sent.exit_code == 0, sent.output
        assert len(server.to("pat@example.com")) == 1
    finally:
        server.stop()
