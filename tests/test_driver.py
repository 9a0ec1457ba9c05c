"""Statements sent straight through the driver's cursor (booking/driver.py), on both databases:
they behave as the same statements through SQLAlchemy's engine would, down to what an error
says in the logs.

The clock is Monday 8 March 2027, 08:00 in Los Angeles (tests/conftest.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from booking import driver
from booking.extensions import db
from booking.models import AppointmentEvent, Clinic, TimeOff
from booking.operations import catalogue
from booking.operations.history import PATIENT, _INSERT_LINE, _line
from booking.transaction import write_transaction
from tests.test_desk import TUESDAY_10, book_online

PATIENT_DETAILS = {"name": "Ramona Quillfeather", "email": "ramona.quill@example.com", "phone": "+1 213 555 0199",
                   "birth_date": "1971-11-23"}


def refuse_inserts(database_url: str, table: str) -> None:
    """The database itself refuses every new row of `table` (a trigger), as a full disk or a
    failing check would: a real error from the database, in the middle of a booking."""
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                                       "BEGIN SELECT RAISE(ABORT, 'no room for this row'); END")
        else:
            connection.exec_driver_sql(f"CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql "
                                       "AS $$ BEGIN RAISE EXCEPTION 'no room for this row'; END $$")
            connection.exec_driver_sql(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                                       f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()")
    engine.dispose()


@pytest.mark.parametrize("table", ["patient", "appointment"])
def test_a_booking_the_database_refuses_logs_no_patient_details_or_answers(clinic, database_url, caplog, table):
    """The engine hides a failed statement's values (hide_parameters: they are health data); a
    statement sent straight to the driver must too, or the patient's name, email, phone, date of
    birth and urgent safety answers land in the error log with the traceback."""
    refuse_inserts(database_url, table)
    caplog.set_level(logging.DEBUG)
    response = clinic.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": "ana", "start": TUESDAY_10, "safety": ["night_pain"],
        "patient": PATIENT_DETAILS})
    assert response.status_code == 500, response.get_json()
    assert "no room for this row" in caplog.text  # the failure itself is logged, with its SQL
    logged = caplog.text
    for value in (*PATIENT_DETAILS.values(), "night_pain"):
        assert value not in logged, f"{value!r} is in the log"


def test_a_write_outside_a_transaction_is_refused_not_committed_or_dropped(clinic, clock):
    """Outside a transaction a statement runs on a pooled connection of its own, meant for reads:
    a write there would commit at once on SQLite (its connections are in autocommit mode) and be
    rolled back unseen on PostgreSQL. Neither is a change made through write_transaction."""
    booked = book_online(clinic)
    with clinic.app_context():
        visit = db.session.scalar(sa.text("SELECT id FROM appointment WHERE reference = :r"),
                                  {"r": booked["reference"]})
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(AppointmentEvent))
        db.session.rollback()
        with pytest.raises(RuntimeError, match="write_transaction"):
            driver.run(_INSERT_LINE, _line(PATIENT, "noted", "a stray line", clock.now) | {"appointment_id": visit})
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AppointmentEvent)) == lines


def test_a_value_its_column_refuses_is_a_statement_error_as_through_the_orm(clinic):
    """The column's own check (here a naive datetime, which SQLite could not place in time) is
    SQLAlchemy's StatementError through the ORM (test_app); through the driver too, so whoever
    handles SQLAlchemy's errors handles it, and nothing is written."""
    naive = datetime(2027, 3, 8, 8)
    with clinic.app_context():
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            with write_transaction():
                driver.run(_INSERT_LINE, _line(PATIENT, "noted", "a line", naive) | {"appointment_id": 1})
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AppointmentEvent)) == 0


def test_a_read_from_a_flushs_own_hook_works_as_the_orms_does(clinic):
    """The ORM does not flush again from inside a flush (its before_flush hooks read and write,
    models.renew_diary_stamps among them); a driver statement there must not either, where
    "Session is already flushing" would end the change."""
    read_in_flush = []

    def note_stamp(session, _context, _instances):
        if session is db.session():
            read_in_flush.append(catalogue.current().stamp)

    sa.event.listen(sa.orm.Session, "before_flush", note_stamp)
    try:
        with clinic.app_context():
            with write_transaction():
                db.session.add(TimeOff(practitioner_id=1, starts_at=datetime(2027, 3, 9, 17, tzinfo=timezone.utc),
                                       ends_at=datetime(2027, 3, 9, 18, tzinfo=timezone.utc)))
            stamp = catalogue.current().stamp
    finally:
        sa.event.remove(sa.orm.Session, "before_flush", note_stamp)
    assert read_in_flush == [stamp]


# A table of this test's own, in its throwaway database: no table of the app's has an onupdate yet,
# and the driver promises the columns' own defaults for every INSERT and UPDATE it is given.
_TOUCHED = sa.Table("driver_touched", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("note", sa.String(20)),
                    sa.Column("changed", sa.String(20), default="never", onupdate=lambda: "changed"))


def test_an_update_sets_the_columns_own_onupdate_as_through_the_engine(clinic):
    """An UPDATE through the engine fills a column's Python-side onupdate that it does not set;
    through the driver it had written NULL there."""
    with clinic.app_context():
        _TOUCHED.create(db.engine)
        with write_transaction():
            driver.run(sa.insert(_TOUCHED), {"id": 1, "note": "first"})
        with write_transaction():
            renote = sa.update(_TOUCHED).where(_TOUCHED.c.id == sa.bindparam("row")).values(note=sa.bindparam("note"))
            driver.run(renote, {"row": 1, "note": "second"})
        assert db.session.execute(sa.select(_TOUCHED.c.note, _TOUCHED.c.changed)).one() == ("second", "changed")


def test_in_lists_of_every_length_read_as_through_the_engine(clinic):
    """An IN list's statement is written out and planned once per length of list and kept (driver._list_plan):
    lists of each length, asked for in a mixed order, one of them twice and another in a second
    list of the same statement, read exactly what the engine reads, for lists of plain ids and of
    instants (which the column's type turns into what the database stores)."""
    starts = [datetime(2027, 3, 9, hour, tzinfo=timezone.utc) for hour in range(16, 22)]
    with clinic.app_context():
        with write_transaction():
            for practitioner_id in (1, 2):
                for start in starts[::2]:
                    db.session.add(TimeOff(practitioner_id=practitioner_id, starts_at=start,
                                           ends_at=start.replace(minute=30)))
        asking = (sa.select(TimeOff.practitioner_id, TimeOff.starts_at)
                  .where(TimeOff.practitioner_id.in_(sa.bindparam("who", expanding=True)),
                         TimeOff.starts_at.in_(sa.bindparam("when", expanding=True)))
                  .order_by(TimeOff.practitioner_id, TimeOff.starts_at))
        for who, when in [([1], starts[:3]), ([1, 2], starts), ([], starts), ([2], []), ([1], starts[:3]),
                          ([2, 1], starts[4:]), ([1, 2, 3], starts[:1])]:
            through_engine = [tuple(row) for row in db.session.execute(asking, {"who": who, "when": when})]
            db.session.rollback()
            assert driver.run(asking, {"who": who, "when": when}) == through_engine, (who, when)
        assert len(driver.run(asking, {"who": [1, 2], "when": starts})) == 6  # the rows are there to be read
        kept = driver._driver_form(asking, db.engine.dialect, frozenset({"who", "when"})).list_plans
        assert len(kept) == 6 and all(kept.values())  # each length planned once, and kept


def half_hours_off(first: datetime, *who_and_hour: tuple[int, int]) -> None:
    """Half an hour of time off for each (practitioner, hour) of `first`'s day, committed."""
    with write_transaction():
        for practitioner_id, hour in who_and_hour:
            db.session.add(TimeOff(practitioner_id=practitioner_id, starts_at=first.replace(hour=hour),
                                   ends_at=first.replace(hour=hour, minute=30)))


def test_a_kept_plan_reads_as_through_the_engine_use_after_use(clinic):
    """A statement's values are written out by a plan made on its first use (driver._Plan): values of
    the statement's own (a literal instant, a LIMIT) processed once, given ones processed each time.
    Use after use, with other values each time, it reads exactly what the engine reads."""
    first = datetime(2027, 3, 9, 16, tzinfo=timezone.utc)
    with clinic.app_context():
        half_hours_off(first, (1, 16), (1, 18), (2, 17), (2, 19))
        asking = (sa.select(TimeOff.practitioner_id, TimeOff.starts_at)
                  .where(TimeOff.practitioner_id == sa.bindparam("who"), TimeOff.starts_at >= sa.bindparam("since"),
                         TimeOff.ends_at > first)
                  .order_by(TimeOff.starts_at).limit(2))
        answers = []
        for who, since in [(1, first), (2, first), (1, first.replace(hour=17)), (2, first.replace(hour=20)), (3, first)]:
            through_engine = [tuple(row) for row in db.session.execute(asking, {"who": who, "since": since})]
            db.session.rollback()
            assert driver.run(asking, {"who": who, "since": since}) == through_engine, (who, since)
            answers.append(len(through_engine))
        assert answers == [2, 2, 1, 0, 0]  # rows to read, and the LIMIT holding
        [plan] = driver._driver_form(asking, db.engine.dialect, frozenset({"who", "since"})).plan
        assert plan is not None  # kept, not worked out again by construct_params each time

        # One value in two places; and a value of the statement's own that its column refuses (a
        # naive instant) is refused at every use, as SQLAlchemy refuses it, with no plan kept.
        twice = (sa.select(TimeOff.practitioner_id).where(TimeOff.starts_at >= sa.bindparam("at"),
                                                           TimeOff.ends_at > sa.bindparam("at"))
                 .order_by(TimeOff.starts_at))
        for at in (first, first.replace(hour=17), first.replace(hour=20)):
            assert driver.run(twice, {"at": at}) == [tuple(r) for r in db.session.execute(twice, {"at": at})]
            db.session.rollback()
        refused = sa.select(TimeOff.id).where(TimeOff.starts_at > datetime(2027, 3, 9), TimeOff.practitioner_id ==
                                              sa.bindparam("who"))
        for _ in range(2):
            with pytest.raises(sa.exc.StatementError, match="naive datetime"):
                driver.run(refused, {"who": 1})
        assert driver._driver_form(refused, db.engine.dialect, frozenset({"who"})).plan == [None]


def test_in_lists_named_one_after_the_other_read_as_through_the_engine(clinic):
    """SQLAlchemy writes the values of a list `who` as who_1, who_2...; beside a second list named
    who_1 it names them otherwise (who_1__1). The driver checks its own naming against SQLAlchemy's
    once per length and lets SQLAlchemy write out each use where they differ: that check itself must
    not fail on such names."""
    with clinic.app_context():
        with write_transaction():
            for practitioner_id in (1, 2):
                db.session.add(TimeOff(practitioner_id=practitioner_id, starts_at=datetime(2027, 3, 9, 16, tzinfo=timezone.utc),
                                       ends_at=datetime(2027, 3, 9, 17, tzinfo=timezone.utc)))
        asking = (sa.select(TimeOff.practitioner_id)
                  .where(TimeOff.practitioner_id.in_(sa.bindparam("who", expanding=True)),
                         TimeOff.practitioner_id.in_(sa.bindparam("who_1", expanding=True)))
                  .order_by(TimeOff.practitioner_id))
        for who, also in [([1, 2], [2]), ([1, 2], [1, 2]), ([], [1]), ([2], [])]:
            through_engine = [tuple(row) for row in db.session.execute(asking, {"who": who, "who_1": also})]
            db.session.rollback()
            assert driver.run(asking, {"who": who, "who_1": also}) == through_engine, (who, also)


def test_each_transaction_of_a_request_runs_its_statements_on_its_own_connection(clinic):
    """run() keeps the transaction's connection for its next statements, never past the transaction:
    the second of two changes in one session reads its own unflushed change, on its own connection."""
    phone = sa.select(Clinic.phone)
    with clinic.test_request_context():
        with write_transaction():
            assert driver.run(phone)
        with write_transaction():
            clinic_row = db.session.get(Clinic, 1)
            clinic_row.phone = "+1 213 555 0100"  # not flushed yet: run() flushes it, then reads it back
            assert driver.run(phone) == [("+1 213 555 0100",)]
        db.session.rollback()
        assert driver.run(phone) == [("+1 213 555 0100",)]  # no transaction: a pooled connection of its own


def test_a_statement_after_a_failed_flush_is_refused_as_the_session_refuses_it(clinic):
    """A flush that raised leaves the transaction to be rolled back: the driver's next statement
    does not run on the connection it kept, as the ORM's own would not."""
    with clinic.test_request_context():
        with pytest.raises(sa.exc.PendingRollbackError):
            with write_transaction():
                assert driver.run(sa.select(Clinic.phone))  # the transaction's connection, kept
                db.session.add(Clinic(id=1, name="Twice", timezone="UTC", phone="1", emergency_number="1"))
                with pytest.raises(sa.exc.IntegrityError):
                    db.session.flush()
                driver.run(sa.update(Clinic).values(phone="+1 213 555 0111"))  # refused, not sent
        db.session.rollback()
        assert driver.run(sa.select(Clinic.phone)) != [("+1 213 555 0111",)]


def test_a_statement_asking_for_one_value_twice_is_planned_and_reads_as_through_the_engine(clinic):
    """A UNION whose parts ask for the same window (the slots' and a booking's read of time off and
    visits) names each of those values twice; it is planned once per length of its IN lists like
    any other statement (driver._binds_by_name), and reads exactly what the engine reads."""
    first = datetime(2027, 3, 9, 16, tzinfo=timezone.utc)
    with clinic.app_context():
        half_hours_off(first, (1, 16), (1, 18), (2, 17))
        part = (sa.select(TimeOff.practitioner_id, TimeOff.starts_at)
                .where(TimeOff.practitioner_id.in_(sa.bindparam("who", expanding=True)),
                       TimeOff.starts_at >= sa.bindparam("since")))
        asking = sa.union_all(part, part.where(TimeOff.ends_at > sa.bindparam("since"))).order_by("starts_at")
        for who, since in [([1], first), ([1, 2], first.replace(hour=17)), ([2], first), ([1, 2], first)]:
            through_engine = [tuple(row) for row in db.session.execute(asking, {"who": who, "since": since})]
            db.session.rollback()
            assert driver.run(asking, {"who": who, "since": since}) == through_engine, (who, since)
        assert driver.run(asking, {"who": [1, 2], "since": first})  # the rows are there to be read
        kept = driver._driver_form(asking, db.engine.dialect, frozenset({"who", "since"})).list_plans
        assert set(kept) == {(1,), (2,)} and all(kept.values())


@pytest.mark.parametrize("beside_an_in_list", [True, False])
def test_a_value_written_into_the_sql_is_written_afresh_each_use(clinic, beside_an_in_list):
    """A bind SQLAlchemy writes into the SQL text (literal_execute, such as a LIMIT) is no argument
    a plan could check, so such a statement is never planned: a second use with another value must
    not send the first one's SQL (found in review), beside an IN list or alone (whose compiled text
    holds a placeholder for it, which the database would refuse)."""
    first = datetime(2027, 3, 9, 16, tzinfo=timezone.utc)
    who = sa.bindparam("who", expanding=beside_an_in_list)
    with clinic.app_context():
        half_hours_off(first, (1, 16), (1, 17), (1, 18))
        asking = (sa.select(TimeOff.starts_at)
                  .where(TimeOff.practitioner_id.in_(who) if beside_an_in_list else TimeOff.practitioner_id == who)
                  .order_by(TimeOff.starts_at).limit(sa.bindparam("most", type_=sa.Integer, literal_execute=True)))
        for most in (1, 3, 2):
            given = {"who": [1, 2] if beside_an_in_list else 1, "most": most}
            through_engine = [tuple(row) for row in db.session.execute(asking, given)]
            db.session.rollback()
            assert len(through_engine) == most
            assert driver.run(asking, given) == through_engine, most
