"""Backups of the whole database to one file, and restoring one (`flask backup create | restore`).

SQLite: SQLite's online backup API (Python's `Connection.backup`) copies a consistent
snapshot while the app keeps serving (WAL mode: readers and writers carry on); the file
written is an ordinary SQLite database (rollback journal, not WAL), so it can be opened with
`sqlite3 FILE`. Restoring copies the backup back through the same API, in one write
transaction on the live file, so the database is either as it was or wholly the backup's.

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot too), and, to restore, the
backup as SQL from `pg_restore` run by `psql` in one transaction that first drops every
table, view, sequence and type of the schema: a failure anywhere rolls back to the database
as it was. Connection details go to these programs as the URL without its password in
--dbname, the password in PGPASSWORD; no message ever shows it.

A backup file is written beside FILE under a temporary name and moved into place only once
complete (readable by its owner alone: it holds health data), so a failed or interrupted
backup never leaves a partial file nor spoils an earlier one. Restoring refuses, before
changing anything, a file that is not a backup of this kind of database, a backup from a
newer version of the app, and, unless forced, a database that holds any data.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Engine

from booking.formatting import listed
from booking.extensions import sqlite_in_memory

SQLITE_HEADER = b"SQLite format 3\x00"
PG_CUSTOM_HEADER = b"PGDMP"  # pg_dump's custom format
VERSION_TABLE = "alembic_version"

# Table names in words for messages ("12 appointments"); others read as their name, pluralised.
TABLE_WORDS = {
    "clinic": ("clinic", "clinics"),
    "time_off": ("time-off entry", "time-off entries"),
    "working_hours": ("working-hours row", "working-hours rows"),
    "practitioner_service": ("practitioner's service", "practitioners' services"),
    "appointment_event": ("appointment history line", "appointment history lines"),
    "audit_entry": ("audit log entry", "audit log entries"),
    "outbox_message": ("email", "emails"),
    "outbox_sender": ("email sender", "email senders"),
    "patient_erasure": ("erasure record", "erasure records"),
    "staff_account": ("staff account", "staff accounts"),
    "staff_session": ("staff session", "staff sessions"),
    "staff_second_factor": ("second factor", "second factors"),
    "staff_recovery_code": ("recovery code", "recovery codes"),
}
MAIN_TABLES = ("patient", "appointment")  # what the success messages name


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message says why, for the person
    at the terminal, and that the database (or the backup file) is unchanged."""


class DatabaseNotEmpty(BackupError):
    def __init__(self, contents: dict[str, int]):
        self.contents = contents
        super().__init__(f"The database holds {describe(contents)}; add --force to replace them with the backup "
                         "(they are lost unless they are in a backup too). Nothing was changed.")


@dataclass
class Created:
    path: Path
    size: int
    revision: str
    contents: dict[str, int] = field(default_factory=dict)


@dataclass
class Restored:
    path: Path
    revision: str  # the database's schema revision now, the backup's
    expected: str  # the revision this code's migrations end at
    replaced: dict[str, int] = field(default_factory=dict)  # what the database held before (--force)
    contents: dict[str, int] = field(default_factory=dict)

    @property
    def needs_upgrade(self) -> bool:
        return self.revision != self.expected


# --- what a database holds ---

def contents(engine: Engine) -> dict[str, int]:
    """Rows in each table of the database's schema that holds any (the migrations' own
    alembic_version aside): empty when nothing but an empty schema is there."""
    counts = {}
    with engine.connect() as connection:
        for name in sorted(sa.inspect(connection).get_table_names()):
            if name == VERSION_TABLE:
                continue
            rows = connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
            if rows:
                counts[name] = rows
    return counts


def describe(counts: dict[str, int]) -> str:
    """'4 patients, 12 appointments, 30 emails and 1 clinic': patients and appointments first,
    then the most numerous."""
    if not counts:
        return "no data"
    first = {table: place for place, table in enumerate(MAIN_TABLES)}
    ordered = sorted(counts.items(), key=lambda item: (first.get(item[0], len(first)), -item[1], item[0]))
    parts = [_in_words(name, number) for name, number in ordered]
    return listed(parts)


def _in_words(table: str, number: int) -> str:
    one, many = TABLE_WORDS.get(table) or _plural(table.replace("_", " "))
    return f"{number} {one if number == 1 else many}"


def _plural(words: str) -> tuple[str, str]:
    if words.endswith("y") and not words.endswith(("ay", "ey", "oy")):
        return words, words[:-1] + "ies"
    return words, words + ("es" if words.endswith(("s", "x", "ch", "sh")) else "s")


def main_counts(counts: dict[str, int]) -> str:
    named = {table: counts.get(table, 0) for table in MAIN_TABLES}
    return " and ".join(_in_words(table, number) for table, number in named.items())


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def expected_revision(migrations: Path) -> str:
    return ScriptDirectory(str(migrations)).get_current_head()


def _check_revision(revision: str | None, migrations: Path, path: Path) -> str:
    """The backup's schema revision, if this code's migrations know it."""
    if not revision:
        raise BackupError(f"{path} holds no schema revision (no alembic_version row), so it is not a backup "
                          "of this app's database. Nothing was changed.")
    try:
        ScriptDirectory(str(migrations)).get_revision(revision)
    except (CommandError, RevisionError):
        raise BackupError(f"{path} is at schema revision {revision}, which this version of the app does not know "
                          f"(it knows up to {expected_revision(migrations)}): it was made by a newer version, so "
                          "restore it with that version. Nothing was changed.") from None
    return revision


# --- the file: written in full beside FILE, then moved into place ---

def _start_file(path: Path, force: bool) -> Path:
    """A new empty file, readable by its owner alone, in FILE's folder, after the checks."""
    if path.is_dir():
        raise BackupError(f"{path} is a folder; give the name of the backup file to write.")
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; add --force to overwrite it, or choose another name.")
    folder = path.parent
    if not folder.is_dir():
        raise BackupError(f"The folder {folder} does not exist.")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".partial")
    except OSError as error:
        raise BackupError(f"Cannot write in {folder}: {error.strerror}.") from None
    os.close(handle)
    return Path(temporary)


def _finish_file(temporary: Path, path: Path, force: bool) -> None:
    """Flush the finished backup to disk and give it its name (replacing FILE only with --force)."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    if force:
        os.replace(temporary, path)
    else:
        try:
            os.link(temporary, path)  # fails, rather than overwrite, if FILE appeared meanwhile
        except FileExistsError:
            raise BackupError(f"{path} already exists; add --force to overwrite it, or choose another name.") from None
        except OSError:  # a file system without hard links
            if path.exists():
                raise BackupError(f"{path} already exists; add --force to overwrite it.") from None
            os.replace(temporary, path)
        temporary.unlink(missing_ok=True)
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def _header(path: Path) -> bytes:
    if not path.exists():
        raise BackupError(f"{path} does not exist. Nothing was changed.")
    if path.is_dir():
        raise BackupError(f"{path} is a folder, not a backup file. Nothing was changed.")
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}. Nothing was changed.") from None


def _kind(header: bytes) -> str | None:
    if header.startswith(SQLITE_HEADER):
        return "sqlite"
    if header.startswith(PG_CUSTOM_HEADER):
        return "postgresql"
    return None


def _wrong_kind(path: Path, header: bytes, wanted: str) -> BackupError:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    found = _kind(header)
    if found:
        return BackupError(f"{path} is a backup of a {names[found]} database, and this app's database is "
                           f"{names[wanted]} (DATABASE_URL): a backup is restored into the same kind of database. "
                           "Nothing was changed.")
    made_by = "`flask --app booking backup create`" + ("" if wanted == "sqlite" else ", in pg_dump's custom format")
    return BackupError(f"{path} is not a backup of a {names[wanted]} database (those are made by {made_by}). "
                       "Nothing was changed.")


# --- the entry points ---

def create(engine: Engine, path: Path, *, force: bool = False, lock_timeout: float = 30) -> Created:
    """Back the database up to FILE; refuses to overwrite FILE unless force. The counts returned
    are taken just before the backup's snapshot (the app may be writing meanwhile)."""
    path = Path(path)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"There is no database at {source} (DATABASE_URL): nothing to back up.")
        if _same_file(path, source):
            raise BackupError(f"{path} is the database itself: give the backup another name.")
    revision = schema_revision(engine)
    if revision is None:
        raise BackupError("The database has no schema yet (run `flask --app booking db upgrade`): "
                          "there is nothing to back up.")
    held = contents(engine)
    temporary = _start_file(path, force)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(source, temporary, lock_timeout)
        else:
            _pg_dump(url, temporary)
        _finish_file(temporary, path, force)
    finally:
        temporary.unlink(missing_ok=True)
    return Created(path=path, size=path.stat().st_size, revision=revision, contents=held)


def restore(engine: Engine, path: Path, migrations: Path, *, force: bool = False,
            lock_timeout: float = 30) -> Restored:
    """Replace the database with the backup in FILE; refuses a database holding any data unless force."""
    path = Path(path)
    url = engine.url
    kind = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"
    header = _header(path)
    if _kind(header) != kind:
        raise _wrong_kind(path, header, kind)
    if kind == "sqlite":
        target = _sqlite_path(url)
        if _same_file(path, target):
            raise BackupError(f"{path} is the database itself. Nothing was changed.")
        _check_revision(_sqlite_backup_revision(path), migrations, path)
    else:
        tools = _pg_tools("pg_restore", "psql")
        _check_revision(_pg_backup_revision(tools["pg_restore"], path), migrations, path)
    held = contents(engine)
    if held and not force:
        raise DatabaseNotEmpty(held)
    engine.dispose()  # no pooled connection of ours holds a lock, or a plan of a table about to go
    if kind == "sqlite":
        _sqlite_restore(path, target, lock_timeout)
    else:
        _pg_restore(tools, url, path)
    engine.dispose()
    now_at = schema_revision(engine)
    return Restored(path=path, revision=now_at or "none", expected=expected_revision(migrations),
                    replaced=held, contents=contents(engine))


# --- SQLite ---

def _sqlite_path(url: URL) -> Path:
    if sqlite_in_memory(url):
        raise BackupError("The database is in memory (DATABASE_URL), so there is nothing on disk to back up "
                          "or restore into.")
    return Path(url.database)


def _same_file(path: Path, database: Path) -> bool:
    """FILE is the database, or its write-ahead log or shared-memory file beside it."""
    names = {database.resolve(), *(database.resolve().with_name(database.name + end) for end in ("-wal", "-shm"))}
    return path.resolve() in names or (path.exists() and database.exists() and path.samefile(database))


def _sqlite_uri(path: Path, mode: str) -> str:
    return f"{path.resolve().as_uri()}?mode={mode}"


def _sqlite_backup(source_path: Path, target_path: Path, lock_timeout: float) -> None:
    try:
        source = sqlite3.connect(_sqlite_uri(source_path, "rw"), uri=True, timeout=lock_timeout)
        try:
            target = sqlite3.connect(target_path)
            try:
                source.backup(target)  # all pages in one step: one consistent snapshot
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
                problem = target.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        raise BackupError(f"The backup failed ({error}); no file was written.") from None
    if problem != "ok":
        raise BackupError(f"The backup failed its check ({problem}); no file was written.")


def _sqlite_backup_revision(path: Path) -> str | None:
    try:
        backup = sqlite3.connect(_sqlite_uri(path, "ro"), uri=True)
        try:
            if backup.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is a damaged SQLite database (its check failed). Nothing was changed.")
            found = backup.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                                   (VERSION_TABLE,)).fetchone()
            if not found:
                raise BackupError(f"{path} is a SQLite database, but not a backup of this app's (it has no "
                                  f"{VERSION_TABLE} table). Nothing was changed.")
            row = backup.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        finally:
            backup.close()
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be read as a SQLite database ({error}). Nothing was changed.") from None
    return row[0] if row else None


def _sqlite_restore(backup_path: Path, target_path: Path, lock_timeout: float) -> None:
    try:
        source = sqlite3.connect(_sqlite_uri(backup_path, "ro"), uri=True)
        try:
            target = sqlite3.connect(target_path, timeout=lock_timeout)
            try:
                # One write transaction on the live file: it is wholly replaced, or not at all.
                # A database in WAL mode stays in WAL mode.
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        raise BackupError(f"The restore failed ({error}); the database is as it was.") from None


# --- PostgreSQL ---

POSTGRES_CLIENT = ("install the PostgreSQL client programs (on Debian and Ubuntu: apt-get install "
                   "postgresql-client), of the server's major version or newer")


def find_program(name: str) -> Path | None:
    """A PostgreSQL program on the PATH, or in the newest of Debian's /usr/lib/postgresql/*/bin."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)

    def version(folder: str) -> tuple:
        number = Path(folder).parent.name
        return tuple(int(part) for part in re.findall(r"\d+", number)) or (0,)

    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        candidate = Path(folder) / name
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _pg_tools(*names: str) -> dict[str, Path]:
    found = {}
    for name in names:
        # psql from pg_restore's own folder when it is there: one version writes and reads the SQL.
        sibling = found[names[0]].parent / name if found else None
        program = sibling if sibling and sibling.exists() else find_program(name)
        if program is None:
            raise BackupError(f"{name} was not found (on the PATH or in /usr/lib/postgresql/*/bin): "
                              f"{POSTGRES_CLIENT}. Nothing was changed.")
        found[name] = program
    return found


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """The URL for --dbname, without the password, and the environment that carries it."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, environment


def without_password(text: str, url: URL) -> str:
    """A program's message, without the password however it got there; its last lines only."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return _last_lines(text)


def _last_lines(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-8:]) or "no message"


def _run(command: list, environment: dict, **options) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([str(part) for part in command], env=environment, capture_output=True,
                              check=False, **options)
    except OSError as error:
        raise BackupError(f"{command[0]} could not be run ({error.strerror}): {POSTGRES_CLIENT}. "
                          "Nothing was changed.") from None


def _pg_dump(url: URL, target: Path) -> None:
    pg_dump = _pg_tools("pg_dump")["pg_dump"]
    dbname, environment = _pg_connection(url)
    done = _run([pg_dump, "--format=custom", "--no-password", f"--file={target}", f"--dbname={dbname}"],
                environment)
    if done.returncode != 0:
        said = without_password(done.stderr.decode(errors="replace"), url)
        advice = f"\nTo fix it, {POSTGRES_CLIENT}." if "version mismatch" in said else ""
        raise BackupError(f"pg_dump failed, so no backup was written:\n{said}{advice}")
    with open(target, "rb") as handle:
        if not handle.read(len(PG_CUSTOM_HEADER)) == PG_CUSTOM_HEADER:
            raise BackupError("pg_dump wrote something other than a custom-format backup; no backup was written.")


def _pg_backup_revision(pg_restore: Path, path: Path) -> str | None:
    """The schema revision in a pg_dump backup, read from its alembic_version data."""
    done = _run([pg_restore, "--data-only", f"--table={VERSION_TABLE}", "--file=-", path], dict(os.environ))
    if done.returncode != 0:
        raise BackupError(f"{path} cannot be read as a PostgreSQL backup:\n"
                          f"{_last_lines(done.stderr.decode(errors='replace'))}\n"
                          "Nothing was changed.")
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and f"{VERSION_TABLE} " in line:
            rows = []
            for row in lines[index + 1:]:
                if row == "\\.":
                    break
                rows.append(row)
            return rows[0].strip() if rows else None
    raise BackupError(f"{path} is a PostgreSQL backup, but not of this app's database (it has no "
                      f"{VERSION_TABLE} table). Nothing was changed.")


# Run in the restore's transaction before the backup's SQL: everything of the schema goes
# (tables, types, functions), except what belongs to an extension (btree_gist's types and
# functions), which stays installed.
DROP_SCHEMA_OBJECTS = r"""
DO $drop$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT c.relname AS name, c.relkind AS kind FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                        AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 1 WHEN 'S' THEN 3 ELSE 2 END
  LOOP
    EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
                   CASE item.kind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                   current_schema(), item.name);
  END LOOP;
  FOR item IN
    SELECT t.typname AS name FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'c', 'r')
       AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                        AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I.%I CASCADE', current_schema(), item.name);
  END LOOP;
  -- The schema's own functions (the triggers' refusals of changes to signed records), which the
  -- backup creates again; an extension's stay.
  FOR item IN
    SELECT p.oid::regprocedure::text AS name FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                        AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.name);
  END LOOP;
END
$drop$;
"""


def _pg_restore(tools: dict[str, Path], url: URL, path: Path) -> None:
    """pg_restore writes the backup as SQL, which goes to psql after BEGIN and the drops; COMMIT
    follows only once pg_restore has written all of it, so a failure anywhere (a damaged file, a
    statement the server refuses) leaves the transaction uncommitted, and the database as it was."""
    dbname, environment = _pg_connection(url)
    # Owners and grants become the restoring role's, the app's; the app sets no comments, and
    # the one on btree_gist (an extension's) could only be set by the extension's owner.
    script = [tools["pg_restore"], "--no-owner", "--no-privileges", "--no-comments", "--file=-", path]
    apply = [tools["psql"], "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", f"--dbname={dbname}"]
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as apply_output:
        try:
            applier = subprocess.Popen([str(part) for part in apply], stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=apply_output, env=environment)
        except OSError as error:
            raise BackupError(f"psql could not be run ({error.strerror}): {POSTGRES_CLIENT}. "
                              "Nothing was changed.") from None
        written = False
        try:
            writer = subprocess.Popen([str(part) for part in script], stdout=subprocess.PIPE, stderr=script_errors,
                                      env=environment)
        except OSError as error:
            applier.stdin.close()
            applier.wait()
            raise BackupError(f"pg_restore could not be run ({error.strerror}): {POSTGRES_CLIENT}. "
                              "Nothing was changed.") from None
        try:
            applier.stdin.write(b"BEGIN;\nSET client_min_messages = warning;\n" + DROP_SCHEMA_OBJECTS.encode())
            while chunk := writer.stdout.read(1 << 16):
                applier.stdin.write(chunk)
            written = writer.wait() == 0
            if written:
                applier.stdin.write(b"\nCOMMIT;\n")
        except BrokenPipeError:  # psql stopped at an error: the transaction is rolled back
            pass
        finally:
            if writer.poll() is None:
                writer.kill()
            writer.wait()
            writer.stdout.close()
            try:
                applier.stdin.close()
            except BrokenPipeError:
                pass
            applier.wait()
        if written and applier.returncode == 0:
            return
        script_errors.seek(0)
        apply_output.seek(0)
        messages = (apply_output.read() + b"\n" + script_errors.read()).decode(errors="replace")
    # The server's CONTEXT and DETAIL lines may quote a row of the backup: health data stays out of logs.
    messages = "\n".join(line for line in messages.splitlines()
                         if not line.startswith(("CONTEXT:", "DETAIL:", "NOTICE:", "LINE ", " ")))
    raise BackupError("The restore failed and was rolled back, so the database is as it was:\n"
                      f"{without_password(messages, url)}")
