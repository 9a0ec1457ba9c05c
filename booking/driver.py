"""Statements sent straight through the database driver's cursor, for the few hot paths where
SQLAlchemy's execution layer costs many times what the database does.

A booking's read of the one wanted time takes SQLite 3 microseconds and SQLAlchemy's execution
around it 70; each stamp read, 1 and 17. Here a Core statement is compiled once per process (as
SQLAlchemy would, with its dialect, its casts and its column types' own bind and result
processing), and each use only binds the values, runs the SQL on the driver's cursor and reads the
rows back. Only plain Core SELECTs, INSERTs (with RETURNING for the new row's id) and UPDATEs
come here; nothing that the ORM's unit of work or events must see.

Errors are raised as SQLAlchemy's own (DBAPIError and its kinds, IntegrityError for a constraint),
a connection the server dropped is taken out of the pool, and every statement is passed to
extensions.DRIVER_STATEMENT_LISTENERS, so whoever counts the engine's statements counts these.
"""

from __future__ import annotations

import enum
import functools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa

from booking.extensions import DRIVER_STATEMENT_LISTENERS, db


@dataclass(frozen=True)
class _DriverForm:
    compiled: sa.sql.compiler.Compiled
    expanding: bool  # has a list parameter (IN), whose placeholders are written per use
    lists: tuple  # the names of those parameters
    binders: dict  # bind name -> the column type's bind processor (None when the driver takes the value as is)
    readers: tuple  # per returned column, its type's result processor or None
    defaults: tuple  # (column key, default): an INSERT's Python-side defaults not given, an UPDATE's onupdates
    list_keys: tuple = ()  # the keys the IN lists are given under, in the order of `lists`
    expansions: dict = field(default_factory=dict)  # IN lists' lengths -> (SQL, order, processors), see _expanded
    list_plans: dict = field(default_factory=dict)  # IN lists' lengths -> (SQL, _Plan) or False, see _list_plan
    plan: list = field(default_factory=list)  # [] until first used, then [its _Plan, or None where there is none]


class _Plan(NamedTuple):
    """How a statement's values are written out for the driver, worked out on its first use: per
    placeholder, in the driver's order, the given value's key and its column's bind processor, or
    (no key) a value of the statement's own, processed once. construct_params and then processing
    every value by name took a booking's statements longer than SQLite took to run them."""

    names: tuple  # the placeholders' names, in the driver's order
    steps: tuple  # per placeholder (given key or None, bind processor or None, the processed value of the statement's own)


_KEPT_CONNECTION = "driver_connection"  # session.info: (the transaction, its connection)


def run(statement, params: dict | None = None) -> list[tuple]:
    """The statement's rows (an INSERT's RETURNING, an UPDATE's none), on the request's transaction
    when one has begun, after the session's own changes are flushed, so a read sees them and a write
    is part of the change; otherwise (reads only) on a pooled connection of its own, which goes back
    to the pool, rolled back, at once."""
    sessions = db.session.registry  # asked without making the request's session: it may never need one
    if sessions.has() and (transaction := (session := sessions()).get_transaction()) is not None:
        # As the ORM's own execute: its changes flushed first (nothing to do, and cheap, when there
        # are none), but never again from inside a flush, whose hooks may read (models.py).
        session._autoflush()
        return on_connection(_transaction_connection(session, transaction), statement, params)
    if isinstance(statement, sa.sql.dml.UpdateBase):
        # The pooled connection would commit it at once on SQLite (autocommit) and roll it back
        # unseen on PostgreSQL: either way not a change made through write_transaction.
        raise RuntimeError("a driver INSERT or UPDATE outside write_transaction()")
    engine = db.engine
    pooled = engine.raw_connection()
    try:
        return _execute(pooled, engine.dialect, statement, params or {}, invalidate=pooled.invalidate,
                        hide_parameters=engine.hide_parameters)
    finally:
        pooled.close()  # back to the pool, which rolls back whatever the driver began


def connection_of(session) -> sa.Connection:
    """The connection of the session's transaction (begun if it has none), as run() uses it."""
    if isinstance(session, sa.orm.scoped_session):
        session = session()
    transaction = session.get_transaction()
    return session.connection() if transaction is None else _transaction_connection(session, transaction)


def _transaction_connection(session, transaction) -> sa.Connection:
    """The transaction's connection, asked of the session once per transaction: a booking's ten
    statements asked it ten times, through the session's bind lookup each time. Asked again once
    the transaction failed (a flush that raised), so the session refuses as it would."""
    kept = session.info.get(_KEPT_CONNECTION)
    if kept is None or kept[0] is not transaction or \
            not (session.get_nested_transaction() or transaction).is_active:
        kept = session.info[_KEPT_CONNECTION] = (transaction, session.connection())
    return kept[1]


def on_connection(connection: sa.Connection, statement, params: dict | None = None) -> list[tuple]:
    """As run(), on this connection's transaction, with nothing flushed first (for a flush's own hooks)."""
    return _execute(connection.connection, connection.dialect, statement, params or {},
                    invalidate=connection.invalidate, hide_parameters=connection.engine.hide_parameters)


def _execute(pooled, dialect, statement, params: dict, *, invalidate, hide_parameters: bool) -> list[tuple]:
    form = _driver_form(statement, dialect, frozenset(params))
    given = {**{key: default.arg(None) if default.is_callable else default.arg for key, default in form.defaults},
             **params}
    plan = form.plan[0] if form.plan else _planned(form, given)
    if plan is not None:
        sql, order, values, more_binders = form.compiled.string, plan.names, None, None
    elif form.expanding and (listed := _list_plan(form, given)) is not None:
        (sql, plan), given = listed  # the lists' items are given under their placeholders' names
        order, values, more_binders = plan.names, None, None
    elif form.expanding:  # IN (...) written for this many values, with names of its own for each
        sql, order, values, more_binders = _expanded(form, given)
    else:
        sql, order, values, more_binders = (form.compiled.string, form.compiled.positiontup,
                                            form.compiled.construct_params(given), {})
    try:
        if plan is not None:
            listed = [bound if key is None else given[key] if binder is None else binder(given[key])
                      for key, binder, bound in plan.steps]
            arguments = tuple(listed) if form.compiled.positional else dict(zip(order, listed))
        else:
            bound = {name: _bound(value, form.binders.get(name) or more_binders.get(name))
                     for name, value in values.items()}
            arguments = tuple(bound[name] for name in order) if form.compiled.positional else bound
    except Exception as error:  # a column's own check of a value: SQLAlchemy's StatementError, as through the ORM
        raise sa.exc.DBAPIError.instance(sql, given if values is None else values, error, dialect.loaded_dbapi.Error,
                                         hide_parameters=hide_parameters) from error
    cursor = None
    try:
        for listener in DRIVER_STATEMENT_LISTENERS:
            listener(sql)
        cursor = pooled.dbapi_connection.cursor()
        cursor.execute(sql, arguments)
        rows = cursor.fetchall() if cursor.description else []
        cursor.close()
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy's own execution would: the error wrapped as its DBAPIError (of the same
        # kind), and a connection the server dropped taken out of the pool, not handed out again.
        # Its values stay out of the message when the engine hides them (they are health data).
        dropped = dialect.is_disconnect(error, pooled.dbapi_connection, cursor)
        if dropped:
            invalidate(error)
        raise sa.exc.DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error,
                                         hide_parameters=hide_parameters, connection_invalidated=dropped) from error
    return [tuple(read(value) if read else value for read, value in zip(form.readers, row)) for row in rows]


def _planned(form: _DriverForm, given: dict) -> _Plan | None:
    """The statement's _Plan, kept in its form, when it can have one: not with IN lists (written out
    per use), escaped names or values the statement computes per use; and only when, for these
    first values, it picks exactly what construct_params picks (a given value by its key, then by
    its name; otherwise the statement's own)."""
    compiled, plan = form.compiled, None
    names = compiled.positiontup if compiled.positional else tuple(compiled.bind_names.values())
    by_name = _binds_by_name(compiled)
    if not form.expanding and not compiled.escaped_bind_names and by_name is not None \
            and set(names) == set(by_name) and not any(bind.callable for bind in by_name.values()):
        keys = [by_name[name].key if by_name[name].key in given else name if name in given else None
                for name in names]
        values = compiled.construct_params(given)
        own = [by_name[name].value for name, key in zip(names, keys) if key is None]
        if all(values[name] is (given[key] if key is not None else by_name[name].value)
               for name, key in zip(names, keys)) and all(_unchanging(value) for value in own):
            try:
                plan = _Plan(names, tuple(
                    (key, form.binders.get(name), None if key is not None else _bound(by_name[name].value,
                                                                                       form.binders.get(name)))
                    for name, key in zip(names, keys)))
            except Exception:  # a value of the statement's own its column refuses: said at each use, as before
                plan = None
    form.plan.append(plan)
    return plan


def _binds_by_name(compiled) -> dict | None:
    """Each placeholder's name -> its bind parameter, or None when two binds of one name could take
    different values (other keys, or values of the statement's own), which a plan by name cannot
    tell apart. One name used twice alike is common: a UNION's parts asking for the same window."""
    by_name = {}
    for bind, name in compiled.bind_names.items():
        seen = by_name.setdefault(name, bind)
        if seen is not bind and (seen.key != bind.key or seen.callable or bind.callable or seen.value is not bind.value):
            return None
    return by_name


def _unchanging(value) -> bool:
    """Whether a statement's own value can be processed once and kept: not a list or a dict, which
    the statement's maker could change between uses."""
    return value is None or isinstance(value, str | bytes | int | float | bool | datetime | date | time | Decimal
                                      | enum.Enum | uuid.UUID)


def _list_plan(form: _DriverForm, given: dict) -> tuple | None:
    """((the SQL with its IN lists written out, its _Plan), the given values with each list's items
    under their placeholders' names) for a statement with IN lists, or None when it has no plan
    for lists of these lengths. Like a statement's _Plan, one is made per lengths on first use
    and kept only when it picks what SQLAlchemy's expansion picks; every later use then skips
    construct_params, which was most of such a statement's Python (a booking's read of its
    practitioner's diary and its stamp renewal, every slots window)."""
    lists = [given.get(key) for key in form.list_keys]
    if not all(type(items) in (list, tuple) for items in lists):
        return None
    flat = dict(given)
    for name, items in zip(form.lists, lists):
        flat.update((f"{name}_{number}", item) for number, item in enumerate(items, 1))
    counts = tuple(map(len, lists))
    done = form.list_plans.get(counts)
    if done is None:
        done = _planned_for_lists(form, given, flat)
        if done is not None:  # None: these first values were refused, so try again with the next
            form.list_plans[counts] = done
    return (done, flat) if done else None


def _planned_for_lists(form: _DriverForm, given: dict, flat: dict) -> tuple | bool | None:
    """(SQL, _Plan) for lists of these lengths, or False where SQLAlchemy's expansion of these first
    values comes out otherwise than the plan (names it writes differently, values it computes), or
    where the SQL itself holds a value (a literal_execute bind, written into the text, such as a
    LIMIT) or a list has no type (whose items SQLAlchemy writes out by what they are, so one
    length may be written two ways). None when a column refuses one of these values."""
    compiled = form.compiled
    by_name = _binds_by_name(compiled)
    if compiled.escaped_bind_names or by_name is None or any(bind.callable for bind in by_name.values()) \
            or compiled.literal_execute_params \
            or any(isinstance(by_name[name].type, sa.types.NullType) for name in form.lists if name in by_name):
        return False
    state = compiled.construct_expanded_state(given)
    names = tuple(state.positiontup if compiled.positional else state.parameters)
    items = flat.keys() - given.keys()
    steps = []
    try:
        for name in names:
            binder = form.binders.get(name) or state.processors.get(name)
            bind = by_name.get(name)
            if name in items:
                steps.append((name, binder, None))
            elif bind is None or (bind.key not in given and name not in given and not _unchanging(bind.value)):
                return False
            else:
                key = bind.key if bind.key in given else name if name in given else None
                steps.append((key, binder, None if key is not None else _bound(bind.value, binder)))
        planned = [bound if key is None else flat[key] if binder is None else binder(flat[key])
                   for key, binder, bound in steps]
        expected = [_bound(state.parameters[name], form.binders.get(name) or state.processors.get(name))
                    for name in names]
    except Exception:  # a value its column refuses: said at each use, by the way without a plan
        return None
    return (state.statement, _Plan(names, tuple(steps))) if planned == expected else False


def _expanded(form: _DriverForm, given: dict) -> tuple:
    """The statement with its IN lists written out for these values, as construct_expanded_state
    writes it; the SQL, the order and the processors depend only on how many values each list
    has, so they are worked out once per count (SQLAlchemy's own work for that was a third of
    each such statement's time). Each value goes under the name SQLAlchemy gives it, name_1,
    name_2...; a statement whose expansion does not come out that way is expanded each time."""
    values = form.compiled.construct_params(given)
    counts = tuple(len(values[name]) for name in form.lists)
    done = form.expansions.get(counts)
    if done is None:
        state = form.compiled.construct_expanded_state(given)
        done = form.expansions[counts] = (
            (state.statement, state.positiontup, state.processors)
            if _written_out(form, dict(values)) == state.parameters else False)
    if done is False:
        state = form.compiled.construct_expanded_state(given)
        return state.statement, state.positiontup, state.parameters, state.processors
    return done[0], done[1], _written_out(form, values), done[2]


def _written_out(form: _DriverForm, values: dict) -> dict:
    """construct_params' values with each IN list's items under their own names, in place. Every
    list is taken out before any is written: one list's item names may be another list's name
    (`who` writes who_1 beside a list who_1), and then they come out unlike SQLAlchemy's, which
    the check in _expanded sees."""
    lists = [(name, values.pop(name)) for name in form.lists]
    for name, items in lists:
        values.update((f"{name}_{number}", item) for number, item in enumerate(items, 1))
    return values


def _bound(value, binder):
    return binder(value) if binder is not None else value


@functools.lru_cache(maxsize=64)
def _driver_form(statement, dialect, given: frozenset) -> _DriverForm:
    """A statement as the driver takes it, for this set of given values (an INSERT names only the
    columns it is given, and those with a default)."""
    table = statement.table if isinstance(statement, sa.Insert) else None
    defaults = tuple((column.key, column.default) for column in (table.c if table is not None else ())
                     if column.key not in given and column.default is not None
                     and (column.default.is_scalar or column.default.is_callable))
    compiled = statement.compile(dialect=dialect,
                                 column_keys=sorted(given | {key for key, _ in defaults}) if table is not None else None)
    if isinstance(statement, sa.Update):  # the columns it does not set whose Python-side onupdate SQLAlchemy fills
        defaults = tuple((column.key, column.onupdate) for column in compiled.update_prefetch)
    binders = {compiled.bind_names[bind]: bind.type.dialect_impl(dialect).bind_processor(dialect)
               for bind in compiled.binds.values()}
    returned = statement.exported_columns if isinstance(statement, (sa.Insert, sa.Update)) else statement.selected_columns
    readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned)
    list_binds = {compiled.bind_names[bind]: bind.key for bind in compiled.post_compile_params}
    lists = tuple(sorted(list_binds))
    # A literal_execute bind (written into the SQL, such as a LIMIT on some databases) is written out
    # per use as an IN list is, never planned (_planned_for_lists).
    return _DriverForm(compiled, bool(lists or compiled.literal_execute_params), lists, binders, readers, defaults,
                       list_keys=tuple(list_binds[name] for name in lists))
