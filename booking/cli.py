"""Flask commands: clinic import/export and the demo clinic."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from booking.clock import now
from booking.extensions import db
from booking.models import Clinic
from booking.operations.clinic_file import ClinicFileError, export_clinic_file, import_clinic_file
from booking.operations.demo import load_demo

clinic_group = AppGroup("clinic", help="Set up the clinic from a TOML clinic file, or write one out.")


@clinic_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def clinic_import(path: Path):
    """Create or update the clinic, services, practitioners and time off in FILE (by slug)."""
    try:
        counts = import_clinic_file(path.read_text(encoding="utf-8"), str(path))
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
    """Load the demo clinic and a week of bookings."""
    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)):
        click.echo("A clinic is already set up; leaving it as it is.")
        return
    made = load_demo(now())
    click.echo(f"Demo clinic loaded, with {made} bookings over the next week.")


def register(app: Flask) -> None:
    app.cli.add_command(clinic_group)
    app.cli.add_command(demo)
