"""Treatment notes' rules on both databases, through booking.operations.notes: who may write and
read, drafts that refuse a stale page, signing that locks (in the database too), signed addenda,
the audit row of every look, named prescriptions, the status lists see, the insurer's receipt's
timing and the erasure. The pages are tested in test_notes_pages.py.

The clock is Monday 8 March 2027, 08:00 in Los Angeles; visits are Ana's unless said otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from booking.extensions import db
from booking.models import (Appointment, AppointmentStatus, AuditEntry, NoteAddendum, PrescriptionTemplate,
                            StaffAccount, StaffRole, TreatmentNote)
from booking.notes.content import blank_note, note_from_form
from booking.operations import notes
from booking.operations.permissions import NotAllowed, NotVisible
from tests.test_clinician import appointment_id, send_intake
from tests.test_desk import TUESDAY_10, book_online
from tests.test_staff import ACCOUNTS, staff  # noqa: F401 (fixture)

WRITTEN = {"s_pain_now": ["6"], "a_diagnoses": ["M54.50"], "p_principle": ["Warm the Kidney, move qi in the Bladder channel"],
           "t_point_code": ["BL23", "GB30"], "t_point_side": ["both", "left"], "t_point_technique": ["tonifying", "even"],
           "t_contact_minutes": ["25"]}


def written(**changes) -> dict:
    content, errors = note_from_form(WRITTEN | changes)
    assert not errors, errors
    return content


def account(app, role: StaffRole) -> StaffAccount:
    return db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == ACCOUNTS[role]))


def other_practitioner(app) -> StaffAccount:
    """Ben's practitioner account: a practitioner who is not this visit's."""
    from booking.models import Practitioner
    from booking.operations.staff import add_staff
    ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
    add_staff("ben@example.org", "Ben Test", StaffRole.PRACTITIONER, "a long enough password 1", now_of(app), ben.slug)
    return db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == "ben@example.org"))


def now_of(app):
    from booking.clock import now
    return now()


@pytest.fixture
def visit(staff):  # noqa: F811
    """Ana's Tuesday 10:00 visit, as an id."""
    return appointment_id(staff, book_online(staff))


def test_the_practitioner_saves_a_draft_and_a_stale_page_writes_nothing(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        note = notes.save_draft(ana, visit, written(), 0, clock())
        assert (note.revision, note.written_by, note.is_signed) == (1, ana.name, False)
        notes.save_draft(ana, visit, written(s_pain_now=["5"]), 1, clock())
        # A second tab opened at revision 1 saves after the first tab's save: refused, nothing written.
        with pytest.raises(notes.NoteChanged):
            notes.save_draft(ana, visit, written(s_pain_now=["2"]), 1, clock())
        # A first save from a page opened before another page's first save is stale too.
        with pytest.raises(notes.NoteChanged):
            notes.save_draft(ana, visit, written(s_pain_now=["3"]), 0, clock())
        db.session.expire_all()
        saved = db.session.scalar(sa.select(TreatmentNote))
        assert saved.revision == 2 and saved.content["subjective"]["pain_now"] == 5


def test_only_the_visits_own_practitioner_writes_and_an_admin_only_reads(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ben, admin = other_practitioner(staff), account(staff, StaffRole.ADMIN)
        desk = account(staff, StaffRole.RECEPTIONIST)
        with pytest.raises(NotVisible):
            notes.save_draft(ben, visit, written(), 0, clock())
        with pytest.raises(NotVisible):
            notes.open_note(ben, visit, "127.0.0.1", clock())
        with pytest.raises(NotVisible):
            notes.open_note(desk, visit, "127.0.0.1", clock())
        with pytest.raises(NotAllowed):
            notes.save_draft(admin, visit, written(), 0, clock())
        page = notes.open_note(admin, visit, "127.0.0.1", clock())
        assert page.note is None and page.writable is False
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TreatmentNote)) == 0


def test_every_look_is_audited_before_it_happens_and_a_head_request_is_not(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        notes.open_note(ana, visit, "192.0.2.7", clock())
        notes.open_note(ana, visit, "192.0.2.7", clock(), shown=False)
        rows = db.session.execute(sa.select(AuditEntry.staff_name, AuditEntry.action, AuditEntry.appointment_id,
                                            AuditEntry.address)).all()
        assert rows == [(ana.name, "note", visit, "192.0.2.7")]


def test_signing_locks_the_note_and_the_database_refuses_changes_too(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        with pytest.raises(notes.NoteProblem, match="once the visit has begun"):
            notes.sign(ana, visit, written(), 0, clock())  # Tuesday's visit, on Monday
        clock.advance(days=1, hours=2, minutes=30)  # Tuesday 10:30
        with pytest.raises(notes.NoteProblem, match="says nothing yet"):
            notes.sign(ana, visit, blank_note(), 0, clock())
        note = notes.sign(ana, visit, written(), 0, clock())
        assert (note.signed_by, note.signed_at, note.revision) == (ana.name, clock(), 1)
        with pytest.raises(notes.NoteProblem, match="no longer changes"):
            notes.save_draft(ana, visit, written(s_pain_now=["1"]), 1, clock())
        with pytest.raises(notes.NoteProblem, match="no longer changes"):
            notes.sign(ana, visit, written(s_pain_now=["1"]), 1, clock())
        # Whatever the code above it does, the database keeps the signed words.
        for change in ({"content": blank_note()}, {"signed_by": "Someone Else"}, {"signed_at": None}):
            with pytest.raises((IntegrityError, DBAPIError)):
                db.session.execute(sa.update(TreatmentNote).values(**change))
                db.session.flush()
            db.session.rollback()
        db.session.expire_all()
        kept = db.session.scalar(sa.select(TreatmentNote))
        assert kept.content == written() and kept.signed_by == ana.name


def test_addenda_are_signed_added_only_to_a_signed_note_and_never_changed(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        with pytest.raises(notes.NoteProblem, match="Only a signed note takes addenda"):
            notes.add_addendum(ana, visit, "Forgot to say", clock())
        notes.save_draft(ana, visit, written(), 0, clock())
        with pytest.raises(notes.NoteProblem, match="Only a signed note takes addenda"):
            notes.add_addendum(ana, visit, "Forgot to say", clock())
        clock.advance(days=1, hours=3)
        notes.sign(ana, visit, written(), 1, clock())
        for text, message in (("  ", "Write the addendum"), ("x" * 5001, "5,000 characters or fewer"),
                              ("bad\x00byte", "characters that are not text")):
            with pytest.raises(notes.NoteProblem, match=message):
                notes.add_addendum(ana, visit, text, clock())
        with pytest.raises(NotVisible):
            notes.add_addendum(other_practitioner(staff), visit, "Not mine", clock())
        clock.advance(hours=5)
        added = notes.add_addendum(ana, visit, "  Patient phoned: soreness gone by evening.\r\n", clock())
        assert (added.text, added.signed_by, added.signed_at) == (
            "Patient phoned: soreness gone by evening.", ana.name, clock())
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(sa.update(NoteAddendum).values(text="Changed later"))
            db.session.flush()
        db.session.rollback()
        assert [a.text for a in db.session.scalars(sa.select(NoteAddendum))] == [
            "Patient phoned: soreness gone by evening."]


def test_no_note_for_a_missed_or_cancelled_visit(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        db.session.get(Appointment, visit).status = AppointmentStatus.NO_SHOW
        db.session.commit()
        with pytest.raises(notes.NoteProblem, match="marked no-show"):
            notes.save_draft(ana, visit, written(), 0, clock())
        db.session.get(Appointment, visit).status = AppointmentStatus.CANCELLED
        db.session.commit()
        with pytest.raises(NotVisible):  # a cancelled visit is no longer the practitioner's to read
            notes.save_draft(ana, visit, written(), 0, clock())


def test_a_new_note_starts_from_the_intake_and_the_last_signed_notes_points(staff, clock):  # noqa: F811
    first = book_online(staff)
    send_intake(staff, first)
    first_id = appointment_id(staff, first)
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        page = notes.open_note(ana, first_id, "127.0.0.1", clock())
        intake = page.appointment.intake
        assert page.note is None and page.previous is None and page.writable
        assert page.content["subjective"]["pain_now"] == intake.pain_now
        assert page.content["treatment"]["points"] == []
        clock.advance(days=1, hours=3)
        notes.sign(ana, first_id, written(), 0, clock())
    second = book_online(staff, start=(clock() + timedelta(days=7)).isoformat())
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        page = notes.open_note(ana, appointment_id(staff, second), "127.0.0.1", clock())
        assert page.previous.appointment_id == first_id
        assert [(p["code"], p["side"]) for p in page.content["treatment"]["points"]] == [("BL23", "both"), ("GB30", "left")]


def test_lists_see_the_state_of_each_note_and_nothing_of_its_words(staff, clock, count_queries):  # noqa: F811
    ids = [appointment_id(staff, book_online(staff, start=start))
           for start in (TUESDAY_10, "2027-03-09T11:00:00-08:00", "2027-03-09T12:00:00-08:00")]
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        notes.save_draft(ana, ids[0], written(), 0, clock())
        clock.advance(days=1, hours=4)
        notes.sign(ana, ids[1], written(), 0, clock())
        visits = [db.session.get(Appointment, i) for i in ids]
        with count_queries() as queries:
            notes.load_status(visits)
        assert queries.total == 1
        assert [v.note_state for v in visits] == ["draft", "signed", None]


def test_named_prescriptions_are_the_practitioners_own(staff, clock):  # noqa: F811
    rows = written()["treatment"]["points"]
    with staff.test_request_context():
        ana, ben = account(staff, StaffRole.PRACTITIONER), other_practitioner(staff)
        saved = notes.save_template(ana, "  Kidney   back ", rows, clock())
        assert saved.name == "Kidney back"
        again = notes.save_template(ana, "kidney BACK", rows[:1], clock())  # the same name replaces the points
        assert again.id == saved.id and [p["code"] for p in again.points] == ["BL23"]
        for name, message in (("", "Name the prescription"), ("n" * 81, "80 characters or fewer")):
            with pytest.raises(notes.NoteProblem, match=message):
                notes.save_template(ana, name, rows, clock())
        with pytest.raises(notes.NoteProblem, match="at least one point"):
            notes.save_template(ana, "Empty", [], clock())
        with pytest.raises(NotVisible):
            notes.delete_template(ben, saved.id)
        with pytest.raises(NotAllowed):
            notes.save_template(account(staff, StaffRole.ADMIN), "Admin's", rows, clock())
        assert [t.name for t in notes.templates_of(ana.practitioner_id)] == ["Kidney back"]
        assert notes.delete_template(ana, saved.id) == "Kidney back"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PrescriptionTemplate)) == 0


def test_the_receipt_waits_for_the_visit_to_end_and_the_note_to_be_signed(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        appointment = db.session.get(Appointment, visit)
        clock.advance(days=1, hours=2, minutes=10)  # during Tuesday's 10:00 visit
        notes.save_draft(ana, visit, written(t_electro=["on"]), 0, clock())
        assert notes.superbill(appointment, clock()) is None  # a draft
        notes.sign(ana, visit, written(t_electro=["on"]), 1, clock())
        db.session.expire_all()
        appointment = db.session.get(Appointment, visit)
        assert notes.superbill(appointment, clock()) is None  # the visit is not over
        clock.advance(hours=1)
        assert notes.superbill(appointment, clock()) is None  # over, but never marked arrived
        appointment.status = AppointmentStatus.COMPLETED
        db.session.commit()
        bill = notes.superbill(db.session.get(Appointment, visit), clock())
        assert [(line.code, line.units) for line in bill.claim["procedures"]] == [("97813", 1), ("97814", 1)]
        assert [d.code for d in bill.claim["diagnoses"]] == ["M54.50"]


def test_an_erasure_takes_the_notes_and_their_addenda(staff, visit, clock):  # noqa: F811
    with staff.test_request_context():
        ana = account(staff, StaffRole.PRACTITIONER)
        clock.advance(days=1, hours=3)
        notes.sign(ana, visit, written(), 0, clock())
        notes.add_addendum(ana, visit, "Later words", clock())
        from booking.transaction import write_transaction
        with write_transaction():
            assert notes.erase_for([visit]) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TreatmentNote)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NoteAddendum)) == 0
