"""Migration 0032: the indexes on columns most rows leave empty (a visit's room, its course, an
email's place on the waitlist) keep only the rows that fill them, and the reads that ask for those
rows still go through them on both databases."""

from datetime import datetime, timezone

import flask_migrate
import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, OutboxMessage
from booking.operations.beds import _BEDS_TAKEN

PARTIAL = {"ix_appointment_room_starts": "room_id", "ix_appointment_course_id": "course_id",
           "ix_outbox_message_waitlist_entry_id": "waitlist_entry_id"}
SOON = datetime(2027, 3, 8, tzinfo=timezone.utc)

# Each read that needs one of them, with its values, and the index it must use.
READS = [
    (_BEDS_TAKEN, {"rooms": [1, 2], "window_end": SOON, "earliest_start": SOON, "window_start": SOON,
                   "ignoring": 0}, "ix_appointment_room_starts"),
    (sa.select(Appointment.id).where(Appointment.starts_at >= SOON, Appointment.room_id.is_not(None)), {},
     "ix_appointment_room_starts"),
    (sa.select(Appointment.id).where(Appointment.course_id == 7), {}, "ix_appointment_course_id"),
    (sa.select(OutboxMessage.id).where(OutboxMessage.waitlist_entry_id == 3), {},
     "ix_outbox_message_waitlist_entry_id"),
]


def _index_definitions(postgres: bool) -> dict[str, str]:
    if postgres:
        rows = db.session.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_%'"))
    else:
        rows = db.session.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    return {name: definition for name, definition in rows if name in PARTIAL}


def _plan(statement, values: dict, postgres: bool) -> str:
    """The database's plan for the statement, sent as SQLAlchemy would send it (IN lists written out)."""
    state = statement.compile(dialect=db.engine.dialect).construct_expanded_state(values)
    sent = {name: state.processors[name](value) if name in state.processors else value
            for name, value in state.parameters.items()}
    with db.engine.connect() as connection:
        if postgres:  # a nearly empty table is cheaper to scan: ask whether the index can be used at all
            connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + state.statement,
                                          tuple(sent[name] for name in state.positiontup) if state.positiontup
                                          else sent)
        return "\n".join(" ".join(map(str, row)) for row in rows)


def test_the_emptiable_columns_indexes_keep_only_the_rows_that_fill_them(clinic, database_url):
    postgres = database_url.startswith("postgresql")
    with clinic.app_context():
        definitions = _index_definitions(postgres)
        assert set(definitions) == set(PARTIAL)
        for name, column in PARTIAL.items():
            assert f"WHERE ({column} IS NOT NULL)" in definitions[name] if postgres \
                else f"WHERE {column} IS NOT NULL" in definitions[name], definitions[name]


@pytest.mark.parametrize("statement, values, index", READS, ids=["beds taken", "desk beds", "course", "waitlist"])
def test_the_reads_that_ask_for_those_rows_use_them(clinic, database_url, statement, values, index):
    with clinic.app_context():
        plan = _plan(statement, values, database_url.startswith("postgresql"))
        assert index in plan


def test_the_migration_goes_down_and_up_again(clinic, database_url):
    postgres = database_url.startswith("postgresql")
    with clinic.app_context():
        flask_migrate.downgrade(revision="0031")
        whole = _index_definitions(postgres)
        assert set(whole) == set(PARTIAL) and not any("IS NOT NULL" in definition for definition in whole.values())
        flask_migrate.upgrade()
        assert len(_index_definitions(postgres)) == 3
