"""Settings, read from the environment once when the app is made."""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path


def utc_now() -> datetime:
    """The real clock; tests replace config["CLOCK"] to pin time."""
    return datetime.now(timezone.utc)


def _development_secret(instance_path: Path) -> str:
    """A random key kept in instance/ so a developer's sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def from_environment(instance_path: Path, *, debug: bool) -> dict:
    """Settings from environment variables, with defaults fit for a developer's machine."""
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'booking.sqlite'}"
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants psycopg named.
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            database_url = "postgresql+psycopg://" + database_url[len(prefix):]
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or (_development_secret(instance_path) if debug else None),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SMTP_URL": env.get("SMTP_URL"),
        "MAIL_FROM": env.get("MAIL_FROM", "Clinic bookings <bookings@localhost>"),
        "BASE_URL": (env.get("BASE_URL") or ("http://127.0.0.1:5000" if debug else "")).rstrip("/"),
        # How many reverse proxies stand in front of the app (their X-Forwarded-For is trusted).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # memory:// counts in each process alone: with several workers or hosts use redis://host:6379.
        # Redis unreachable: each process counts in memory until it is back (booking.rate_limits),
        # rather than letting every request through or refusing them all.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "API_READ_LIMIT": env.get("API_READ_LIMIT", "300 per minute"),
        "API_BOOKING_LIMIT": env.get("API_BOOKING_LIMIT", "30 per minute"),
        # How long a change waits for each lock another change holds (SQLite's write lock, or a
        # PostgreSQL row or advisory lock) before giving up with "busy, try again". A move can wait
        # on two locks, so twice this stays inside gunicorn's 30-second worker timeout.
        "LOCK_TIMEOUT_SECONDS": float(env.get("LOCK_TIMEOUT_SECONDS") or env.get("SQLITE_BUSY_TIMEOUT_SECONDS") or "10"),
        "CLOCK": utc_now,
        "STAFF_IDLE_MINUTES": int(env.get("STAFF_IDLE_MINUTES", "30")),
        "STAFF_SESSION_HOURS": int(env.get("STAFF_SESSION_HOURS", "12")),  # from sign-in, however busy
        # Failed sign-ins (wrong password, unknown account, wrong code) allowed per account typed,
        # and per network address (more: a clinic's staff often share one), in the rate limits' storage.
        "STAFF_SIGN_IN_LIMIT": env.get("STAFF_SIGN_IN_LIMIT", "5 per 15 minutes"),
        "STAFF_SIGN_IN_ADDRESS_LIMIT": env.get("STAFF_SIGN_IN_ADDRESS_LIMIT", "50 per 15 minutes"),
        # Staff passwords: Argon2id with this argon2-cffi profile (argon2.profiles). A hash made
        # with other parameters is made again at its next sign-in. Not an environment setting: a
        # clinic has no reason to weaken it; the tests choose CHEAPEST (hashing is not what most
        # of them test, and it was a third of the suite's time), and test_staff checks this one.
        "PASSWORD_HASH_PROFILE": "RFC_9106_LOW_MEMORY",
        "REMEMBER_COOKIE_DURATION": 0,  # no "remember me": a staff session lives on the server only
        # Instrument files the clinic is licensed to use (e.g. STarT Back), beside the shipped ones.
        "LICENSED_INSTRUMENTS": env.get("LICENSED_INSTRUMENTS") or str(instance_path / "instruments"),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("BASE_URL", "").startswith("https://"),
        "MAX_CONTENT_LENGTH": 256 * 1024,  # no form or API body needs more
        "WTF_CSRF_TIME_LIMIT": 4 * 3600,  # a patient may pause mid-booking for a while
        # Flask-WTF's strict check refuses every HTTPS form that names no same-site Referer, and our
        # pages send none (Referrer-Policy: no-referrer, for the manage links' secrets): every staff
        # form failed over HTTPS. web.refuse_cross_site_forms does its job from Sec-Fetch-Site and Origin.
        "WTF_CSRF_SSL_STRICT": False,
    }
