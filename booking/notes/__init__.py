"""Treatment notes (issue #18): shipped point and diagnosis lists, the SOAP note's content,
and the billing codes it implies. Pure: no Flask, no SQLAlchemy, no clock."""

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "notes"
