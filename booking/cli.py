"""Flask commands: clinic import/export, the demo clinic, staff accounts, sending emails, retention, backups."""

from __future__ import annotations

import logging
import os
import socket
import sys
import textwrap
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from booking import backup
from booking.clock import now
from booking.extensions import db
from booking.formatting import counted
from booking.models import Clinic
from booking.operations.clinic_file import ClinicFileError, export_clinic_file, import_clinic_file
from booking.models import StaffAccount, StaffRole
from booking.notify import outbox
from booking.notify.smtp import SettingsError, SmtpTransport
from booking.operations import reminders, retention, waitlist
from booking.operations.catalogue import ClinicNotSetUp
from booking.operations.demo import DEMO_CLINIC_NAME, DEMO_STAFF, load_demo
from booking.operations.problems import CannotBook, InvalidInput
from booking.operations import second_factor
from booking.operations.staff import add_staff, find_account, set_password

staff_group = AppGroup("staff", help="Staff accounts.")


@staff_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in StaffRole]), required=True)
@click.option("--practitioner", "practitioner_slug", help="The practitioner's slug, for a practitioner account.")
@click.option("--name", help="Full name (asked for when not given).")
@click.password_option(help="Asked for, twice, when not given.")
def staff_add(email: str, role: str, practitioner_slug: str | None, name: str | None, password: str):
    """Add a staff account that can sign in at /staff/sign-in."""
    name = name or click.prompt("Full name")
    try:
        account = add_staff(email, name, StaffRole(role), password, now(), practitioner_slug)
    except CannotBook as problem:
        click.echo(f"{problem.field}: {problem.message}", err=True)
        sys.exit(1)
    except InvalidInput as invalid:
        for field, message in invalid.problems.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    click.echo(f"Added {account.role.value} {account.email}.")
    click.echo(_how_they_sign_in(account))


def _how_they_sign_in(account: StaffAccount) -> str:
    """What a new account's first sign-in will ask, in words for whoever hands the account over."""
    if second_factor.required(account, db.session.get(Clinic, 1)):
        return (f"{account.email} signs in at /staff/sign-in with the password, then is asked to set up an "
                "authenticator app (a phone app for time-based codes, such as Google Authenticator or FreeOTP): "
                "scan the QR code shown, or type its key, enter the 6-digit code the app shows, and save the "
                "ten recovery codes shown once.")
    return (f"{account.email} signs in at /staff/sign-in with the password alone, and may turn on a second factor "
            "(an authenticator app) from the Second factor link in the staff bar.")


@staff_group.command("set-password")
@click.argument("email")
@click.password_option(help="Asked for, twice, when not given.")
def staff_set_password(email: str, password: str):
    """Give a staff account a new password (a forgotten one); its sessions end, and the audit log
    records it. An admin can do the same at /admin/staff."""
    account = _account_or_exit(email)
    try:
        set_password(account, password, now(), by=None, must_change=None)
    except InvalidInput as invalid:
        for field, message in invalid.problems.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    click.echo(f"{account.email} has a new password, and its sessions have ended. Its second factor, if it has "
               "one, is unchanged.")


@staff_group.command("reset-second-factor")
@click.argument("email")
def staff_reset_second_factor(email: str):
    """Remove an account's second factor (a lost phone, or SECRET_KEY changed): its sessions end,
    the audit log records it, and it sets one up again at the next sign-in if it must have one."""
    account = _account_or_exit(email)
    second_factor.reset(account, now(), by=None)
    click.echo(f"The second factor of {account.email} is reset and its sessions have ended.")
    click.echo(_how_they_sign_in(account))


def _account_or_exit(email: str) -> StaffAccount:
    """The staff account with this email address, or exit 1 saying there is none."""
    account = find_account(email)
    if account is None:
        click.echo(f"There is no staff account with the email address {email}.", err=True)
        sys.exit(1)
    return account


clinic_group = AppGroup("clinic", help="Set up the clinic from a TOML clinic file, or write one out.")


@clinic_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def clinic_import(path: Path):
    """Create or update the clinic, services, practitioners and time off in FILE (by slug)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        click.echo(f"{path}: not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8 and try again.", err=True)
        sys.exit(1)
    try:
        counts = import_clinic_file(text, str(path))
    except ClinicFileError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        click.echo(f"Nothing was imported: {counted(len(error.problems), 'problem')} in {path}.", err=True)
        sys.exit(1)
    click.echo(
        f"Imported {path}: {counts['services']} services, "
        + (f"{counts['rooms']} rooms, " if counts["rooms"] else "")
        + f"{counts['practitioners']} practitioners, {counts['time_off']} time-off entries."
    )
    if counts["kept"]:
        click.echo(f"Not in the file, so kept as they were: {', '.join(counts['kept'])}.")


@clinic_group.command("export")
def clinic_export():
    """Print the clinic as a clinic file (TOML) that imports back to the same data."""
    try:
        click.echo(export_clinic_file(), nl=False)
    except ClinicFileError as error:
        click.echo(error.problems[0], err=True)
        sys.exit(1)


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when a clinic is already set up.")
def demo(if_empty: bool):
    """Load the demo clinic, last week's visits and a week of bookings (never over a real clinic)."""
    clinic = db.session.get(Clinic, 1)
    if clinic is not None and if_empty:
        click.echo("A clinic is already set up; leaving it as it is.")
        if clinic.name == DEMO_CLINIC_NAME:
            _print_demo_sign_ins()
        return
    if clinic is not None and clinic.name != DEMO_CLINIC_NAME:
        click.echo(f"This database holds {clinic.name!r}, not the demo clinic: refusing to overwrite it.", err=True)
        sys.exit(1)
    made = load_demo(now(), current_app.extensions["instruments"])
    click.echo(f"Demo clinic loaded, with {made} bookings from last week to the next.")
    _print_demo_sign_ins()


def _print_demo_sign_ins() -> None:
    """The demo's sign-ins, and what the admin's first sign-in asks (an authenticator app)."""
    base = current_app.config.get("BASE_URL") or ""
    clinic = db.session.get(Clinic, 1)
    click.echo(f"Demo staff (sign in at {base}/staff/sign-in):")
    for email, password, role in DEMO_STAFF:
        account = db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == email))
        note = ""
        if account is not None and second_factor.required(account, clinic):
            note = ("  then a code from your authenticator app" if second_factor.is_on(account.id)
                    else "  then set up an authenticator app (below)")
        click.echo(f"  {role.value:<13} {email}  password: {password}{note}")
    click.echo(
        "The admin (and everyone, if Settings asks it of all staff) needs a second factor. At the first sign-in,\n"
        "after the password, the page asks you to set up an authenticator app:\n"
        "  1. On your phone, open an authenticator app (Google Authenticator, Microsoft Authenticator, FreeOTP...),\n"
        "     add an account and scan the QR code on the page (or type the key shown under it).\n"
        "  2. Type the 6-digit code the app shows into the page and press \"Turn on the second factor\".\n"
        "  3. Save the ten recovery codes shown (each signs in once without the app), then continue.\n"
        "  Next time: the password, then the app's current code.\n"
        "  No phone app at hand? Copy the key from the page and run this, pasting the key when asked:\n"
        "    .venv/bin/python -c \"import pyotp; print(pyotp.TOTP(input('Key: ').replace(' ', '')).now())\"\n"
        "  Start over at any time: .venv/bin/flask --app booking staff reset-second-factor admin@example.com")


outbox_group = AppGroup("outbox", help="Emails waiting to go, and sending them.")


@outbox_group.command("send")
@click.option("--loop", is_flag=True, help="Keep going: send, and queue reminders, every --every seconds.")
@click.option("--every", default=30, show_default=True, type=click.IntRange(1, 3600), help="Seconds between passes.")
@click.option("--dry-run", is_flag=True, help="List what would be sent now; send and change nothing.")
@click.option("--show-text", is_flag=True,
              help="With --dry-run, also print each email's text as the admin's outbox page shows it "
                   "(secret links hidden; one not written yet is written to be read, not kept), "
                   "to read an email without a mail server.")
def outbox_send(loop: bool, every: int, dry_run: bool, show_text: bool):
    """Deliver the emails that are due over SMTP_URL (retrying later ones that fail)."""
    if show_text and not dry_run:
        raise click.UsageError("--show-text only goes with --dry-run: emails that are sent are read in a mail app.")
    if dry_run:
        due = outbox.waiting(now())
        skipping = 0
        for message in due:
            shown = outbox.preview(message, now()) if show_text else None
            skip = shown.no_longer_applies if shown else outbox.no_longer_applies(message, now())
            skipping += bool(skip)
            click.echo(f"#{message.id} {message.kind:<20} to {message.to_address}: "
                       f"{shown.subject if shown else message.title}"
                       + (f" (no longer applies, will be skipped: {skip})" if skip else ""))
            if shown and not skip:
                click.echo(textwrap.indent(shown.text or shown.problem, "    ") + "\n")
        click.echo(f"{counted(len(due), 'message')} due" + (f", {skipping} of them no longer {'applies' if skipping == 1 else 'apply'} and will be skipped"
                                                    if skipping else "") + "; nothing was sent.")
        db.session.rollback()
        return
    url = current_app.config["SMTP_URL"]
    if not url:
        click.echo("SMTP_URL is not set, so emails stay in the outbox: an admin sees them at /admin/outbox, "
                   "and `flask outbox send --dry-run` lists them. Set SMTP_URL=smtp://host:port to send them.")
    try:
        transport = SmtpTransport(url) if url else None
    except SettingsError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    # Each pass is noted under this process's name, for the admin's outbox page (outbox.note_pass).
    heartbeat = {"name": f"{socket.gethostname()}:{os.getpid()}"[:120], "every_seconds": every if loop else None,
                 "mail_server": f"{transport.host}:{transport.port}" if transport else ""}
    if not loop:
        try:
            sent_all = _send_pass(transport, quiet=False, heartbeat=heartbeat)
        except SQLAlchemyError as error:  # busy or unreachable: what was not sent waits for the next pass
            click.echo(f"Stopped: the database failed ({type(error).__name__}); the emails wait for the next pass.",
                       err=True)
            sys.exit(1)
        if not sent_all:
            sys.exit(1)  # so a scheduler (cron, systemd) sees that mail is not going out
        return
    click.echo(f"Sending every {every} seconds, and queueing reminders as they come due (Ctrl+C stops).")
    try:
        while True:
            try:
                _queue_reminders(quiet=True)
                _expire_waitlist(quiet=True)  # before sending: the next people's offers go in this pass
                _send_pass(transport, quiet=True, heartbeat=heartbeat)
            except SQLAlchemyError as error:  # the database restarting: say so, and carry on
                click.echo(f"Database error, trying again in {every} seconds: {type(error).__name__}", err=True)
            except Exception:  # a fault of ours must not stop reminders going out: log it, carry on
                logging.getLogger(__name__).exception("outbox pass failed")
                click.echo(f"The pass failed (the log says why); trying again in {every} seconds.", err=True)
            db.session.remove()
            time.sleep(every)
    except KeyboardInterrupt:
        click.echo("Sender stopped.")


def _send_pass(transport: SmtpTransport | None, *, quiet: bool, heartbeat: dict) -> bool:
    """One pass over the due emails, noted as this sender's heartbeat; False when it stopped early
    because the mail server could not be used."""
    if transport is None:
        outbox.note_pass(now=now(), problem="No mail server is set up for the sender (SMTP_URL).", **heartbeat)
        return True
    with transport:
        report = outbox.deliver(now, transport)
    outbox.note_pass(now=now(), problem=report.server_problem, **heartbeat)
    if report.handled or not quiet:
        click.echo(f"Sent {report.sent}, will retry {report.retrying}, failed {report.failed}, "
                   f"skipped {report.skipped}.")
    if report.server_problem:
        click.echo(f"Stopped early, the rest wait for the next pass: {report.server_problem}", err=True)
    return not report.server_problem


reminders_group = AppGroup("reminders", help="Emails ahead of visits.")


@reminders_group.command("queue")
def reminders_queue():
    """Queue the reminders and progress-check invitations now due (safe to run every few minutes)."""
    try:
        _queue_reminders(quiet=False)
    except SQLAlchemyError as error:  # busy or unreachable: nothing was queued, the next run tries again
        click.echo(f"Nothing was queued: the database failed ({type(error).__name__}).", err=True)
        sys.exit(1)


def _queue_reminders(*, quiet: bool) -> None:
    counts = reminders.queue_due(now())
    if not quiet or any(counts.values()):
        click.echo(f"Queued {counted(counts['reminder'], 'reminder')} and "
                   f"{counted(counts['progress_invitation'], 'progress-check invitation')}.")


waitlist_group = AppGroup("waitlist", help="The waitlist's offers and places.")


@waitlist_group.command("expire")
def waitlist_expire():
    """Close offers that ran out and places whose dates are over, and ask the next people on the
    list (safe to run every few minutes; `outbox send --loop` does it on each pass)."""
    try:
        _expire_waitlist(quiet=False)
    except SQLAlchemyError as error:  # busy or unreachable: nothing changed, the next run tries again
        click.echo(f"Nothing was changed: the database failed ({type(error).__name__}).", err=True)
        sys.exit(1)


def _expire_waitlist(*, quiet: bool) -> None:
    closed = waitlist.expire(now())
    if not quiet or closed.offers or closed.entries:
        click.echo(f"Closed {counted(closed.offers, 'offer')} that ran out and {counted(closed.entries, 'place')} whose dates are over.")


retention_group = AppGroup("retention", help="The clinic's retention period: erase what is past it.")


def _numbers(ids: list[int]) -> str:
    return f" (patient numbers {', '.join(map(str, ids))})" if ids else ""


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would go (numbers and counts, no health data); change nothing.")
def retention_purge(dry_run: bool):
    """Erase patients past the clinic's retention period, and remove expired drafts, sessions,
    links and old emails. Exits 1 if anything could not be done."""
    idle = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    try:
        planned = retention.plan(now(), idle)
        click.echo(f"Retention: {planned.retention_years} years after a patient's last visit "
                   "(the clinic's retention_years setting).")
        if dry_run:
            click.echo(f"Patients past retention, to be erased: {len(planned.patients)}{_numbers(planned.patients)}")
            click.echo(f"Booking drafts past their lifetime: {planned.drafts}")
            click.echo(f"Waitlist places that ended over {retention.PLACES_KEPT.days} days ago: {planned.waitlist_places}")
            click.echo(f"Staff sessions that ended over {retention.SESSIONS_KEPT.days} days ago: {planned.sessions}")
            click.echo(f"Manage links of visits that are over: {planned.manage_links}")
            click.echo(f"Sent, skipped or failed emails over {retention.OUTBOX_KEPT.days} days old: {planned.emails}")
            click.echo("Dry run: nothing was changed.")
            return
        report = retention.purge(now(), idle)
    except ClinicNotSetUp as error:
        click.echo(f"Nothing was purged: {error}.", err=True)
        sys.exit(1)
    except SQLAlchemyError as error:
        click.echo(f"Nothing more was purged: the database failed ({type(error).__name__}).", err=True)
        sys.exit(1)
    click.echo(f"Erased {counted(len(report.erased), 'patient')} past retention{_numbers(report.erased)}, "
               f"with the reason {retention.RETENTION_REASON!r}.")
    removed = report.removed
    click.echo(f"Removed {counted(removed['drafts'], 'booking draft')}, "
               f"{counted(removed['waitlist_places'], 'waitlist place')}, "
               f"{counted(removed['sessions'], 'staff session')}, "
               f"{counted(removed['manage_links'], 'manage link')} and {counted(removed['emails'], 'email')}.")
    if not report.ok:
        for patient_id, problem in report.failed.items():
            click.echo(f"Patient number {patient_id} could not be erased ({problem}); the log says more. "
                       "It is unchanged.", err=True)
        sys.exit(1)


backup_group = AppGroup("backup", help="Back the whole database up to a file, or restore one.")


def _migrations() -> Path:
    return Path(current_app.extensions["migrate"].directory)


@backup_group.command("create")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def backup_create(file: Path, force: bool):
    """Back the database up to FILE (safe while the app is serving)."""
    with _backup_failures("No backup was made"):
        made = backup.create(db.engine, file, force=force,
                             lock_timeout=current_app.config["LOCK_TIMEOUT_SECONDS"])
    click.echo(f"Backed up the database, with {backup.main_counts(made.contents)} (schema revision "
               f"{made.revision}), to {made.path} ({_size(made.size)}).")
    click.echo("Keep a copy away from this server, and try restoring one now and then "
               "(into a scratch database): a backup is only as good as its last restore.")


@contextmanager
def _backup_failures(outcome: str):
    """A refusal or a database failure ends the command with exit 1 and one clear line."""
    try:
        yield
    except backup.BackupError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    except SQLAlchemyError as error:
        click.echo(f"{outcome}: the database failed ({_reason(error)}).", err=True)
        sys.exit(1)


def _reason(error: SQLAlchemyError) -> str:
    """The driver's first line (such as "connection refused"), never the password."""
    lines = str(getattr(error, "orig", None) or "").strip().splitlines()
    first = lines[0] if lines else type(error).__name__
    return backup.without_password(first, db.engine.url)


def _size(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


@backup_group.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the data the database holds (it is lost).")
def backup_restore(file: Path, force: bool):
    """Replace the database with the backup in FILE. Refuses a database that holds any data
    unless --force. Stop the app and the email sender first."""
    with _backup_failures("Nothing was restored"):
        restored = backup.restore(db.engine, file, _migrations(), force=force,
                                  lock_timeout=current_app.config["LOCK_TIMEOUT_SECONDS"])
    replaced = f", in place of {backup.describe(restored.replaced)}" if restored.replaced else ""
    click.echo(f"Restored {restored.path}: the database holds {backup.main_counts(restored.contents)}{replaced}.")
    if restored.needs_upgrade:
        click.echo(f"The backup's schema is at revision {restored.revision} and this code expects "
                   f"{restored.expected}: run `flask --app booking db upgrade` before serving.", err=True)
    else:
        click.echo(f"Its schema is at revision {restored.revision}, as this code expects.")


def register(app: Flask) -> None:
    app.cli.add_command(backup_group)
    app.cli.add_command(retention_group)
    app.cli.add_command(outbox_group)
    app.cli.add_command(reminders_group)
    app.cli.add_command(waitlist_group)
    app.cli.add_command(clinic_group)
    app.cli.add_command(staff_group)
    app.cli.add_command(demo)
