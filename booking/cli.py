"""Flask commands: clinic import/export and the demo clinic."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from booking.clock import now
from booking.extensions import db
from booking.models import Clinic
from booking.operations.clinic_file import ClinicFileError, export_clinic_file, import_clinic_file
from booking.operations.demo import DEMO_CLINIC_NAME, load_demo

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
        click.echo(f"Nothing was imported: {len(error.problems)} problem(s) in {path}.", err=True)
        sys.exit(1)
    click.echo(
        f"Imported {path}: {counts['services']} services, {counts['practitioners']} practitioners, "
        f"{counts['time_off']} time-off entries."
    )


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
    """Load the demo clinic and a week of bookings (never over a real clinic)."""
    clinic = db.session.get(Clinic, 1)
    if clinic is not None and if_empty:
        click.echo("A clinic is already set up; leaving it as it is.")
        return
    if clinic is not None and clinic.name != DEMO_CLINIC_NAME:
        click.echo(f"This database holds {clinic.name!r}, not the demo clinic: refusing to overwrite it.", err=True)
        sys.exit(1)
    made = load_demo(now())
    click.echo(f"Demo clinic loaded, with {made} bookings over the next week.")


def register(app: Flask) -> None:
    app.cli.add_command(clinic_group)
    app.cli.add_command(demo)
