"""The current instant, from the app's configured clock (tests pin it)."""

from datetime import datetime

from flask import current_app


def now() -> datetime:
    """An aware UTC datetime for this moment."""
    return current_app.config["CLOCK"]()
