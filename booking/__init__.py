"""Booking and intake service for clinics that treat lower back pain with acupuncture."""

from __future__ import annotations

from pathlib import Path

from datetime import timedelta

from flask import Flask
from sqlalchemy.engine import make_url
from jinja2 import BytecodeCache
from werkzeug.middleware.proxy_fix import ProxyFix

from booking.config import from_environment
from booking import rate_limits
from booking.extensions import configure_sqlite, csrf, db, login_manager, migrate, sqlite_in_memory
from booking.measures import SHIPPED, InstrumentError, load_instruments, load_licensed_instruments

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, whichever app in it renders them first. Jinja checks
    each against its source's checksum, so an edited template is compiled afresh. A served
    process has one app and gains nothing; a process that makes many (the tests make one per
    test) no longer parses every template again for each."""

    def __init__(self):
        self._kept: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if (code := self._kept.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._kept[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def create_app(config: dict | None = None) -> Flask:
    """Make the app: settings from the environment, then `config` overrides (tests use it)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.jinja_options = {**app.jinja_options, "bytecode_cache": COMPILED_TEMPLATES}
    app.config.update(from_environment(Path(app.instance_path), debug=app.debug))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY is not set. Set it to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if not app.config.get("BASE_URL") and not app.testing:
        raise RuntimeError("BASE_URL is not set: links sent to patients need it, e.g. https://book.example-clinic.com")
    # Before the database is touched: a licensed instrument file not as published stops the start.
    app.extensions["instruments"] = _load_instruments(app.config.get("LICENSED_INSTRUMENTS"))
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    _init_database(app)
    csrf.init_app(app)
    rate_limits.init_app(app)
    _init_staff_sessions(app)
    from booking import i18n

    i18n.init_app(app)

    from booking.web import refuse_nul_characters

    app.before_request(refuse_nul_characters)

    from booking import cli
    from booking.admin.routes import bp as admin_bp
    from booking.api.routes import bp as api_bp
    from booking.auth.routes import bp as auth_bp
    from booking.clinician.routes import bp as clinician_bp
    from booking.desk.routes import bp as desk_bp
    from booking.articles import DEFAULT_FOLDER, ArticleLibrary
    from booking.articles.routes import bp as articles_bp
    from booking.errors import register_error_pages
    from booking.feeds.routes import bp as feeds_bp
    import booking.courses.routes  # noqa: F401 (adds the course pages to the public, manage and desk blueprints)
    from booking.waitlist.routes import bp as waitlist_bp
    from booking.waitlist.desk_routes import bp as desk_waitlist_bp
    from booking.identity.routes import bp as identity_bp
    from booking.intake.routes import bp as intake_bp
    from booking.manage.routes import bp as manage_bp
    from booking.public.routes import bp as public_bp
    from booking.rights.routes import bp as rights_bp
    from booking.web import refuse_cross_site_forms, register_page_helpers

    app.extensions["articles"] = ArticleLibrary.load(app.config.get("ARTICLES_FOLDER", DEFAULT_FOLDER))
    app.register_blueprint(public_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(identity_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(clinician_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(rights_bp)
    app.register_blueprint(articles_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(waitlist_bp)
    app.register_blueprint(desk_waitlist_bp)
    csrf.exempt(api_bp)  # the API uses no cookies, so there is nothing to forge
    # The patient's pages check CSRF in each form instead, so that a stale token
    # re-shows the page with everything typed still there (see JourneyForm).
    csrf.exempt(public_bp)
    csrf.exempt(manage_bp)
    csrf.exempt(intake_bp)
    csrf.exempt(waitlist_bp)
    register_error_pages(app)
    refuse_cross_site_forms(app)
    register_page_helpers(app)
    cli.register(app)
    return app


class InstrumentRefused(SystemExit):
    """A licensed instrument file the app will not start with: exits with the reason, no traceback."""


def _load_instruments(licensed_folder: str | None) -> dict:
    """The shipped instruments and the clinic's licensed ones; a licensed file that is not as
    published stops the start with its name and problem, rather than being scored otherwise."""
    shipped = load_instruments(SHIPPED)
    try:
        return shipped | load_licensed_instruments(licensed_folder, shipped)
    except InstrumentError as error:
        raise InstrumentRefused(
            f"Licensed instrument refused: {error}\n"
            f"Correct the file, or take it out of the LICENSED_INSTRUMENTS folder ({licensed_folder}); "
            "the service does not start with it."
        ) from None


def _init_database(app: Flask) -> None:
    """Bind SQLAlchemy and Flask-Migrate; on SQLite switch on WAL and IMMEDIATE writes."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    is_sqlite = uri.startswith("sqlite")
    if is_sqlite:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # hide_parameters: a failed statement is logged without its values, which may be health data.
    lock_timeout_ms = int(app.config["LOCK_TIMEOUT_SECONDS"] * 1000)
    engine_options = {"hide_parameters": True}
    if not is_sqlite:
        engine_options |= {
            "pool_pre_ping": True,
            # A writer waiting longer than this for a row or advisory lock gives up (transaction.Busy).
            "connect_args": {"options": f"-c lock_timeout={lock_timeout_ms}"},
        }
    elif not sqlite_in_memory(make_url(uri)):  # (in memory there is one connection, and no such option)
        # The connection used last is handed out again. Each SQLite connection keeps its own page
        # cache and drops all of it when it finds the database written by another since it last
        # read: handed out in turn, a process's connections dropped their caches at almost every
        # request after any write, its own included.
        engine_options["pool_use_lifo"] = True
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True)
    if is_sqlite:
        with app.app_context():
            configure_sqlite(db.engine, app.config["LOCK_TIMEOUT_SECONDS"])


def _init_staff_sessions(app: Flask) -> None:
    """Flask-Login over server-side sessions: the cookie names a session row, which sign-out ends."""
    from flask import current_app, flash, redirect, request
    from flask_login import login_url

    from booking.clock import now
    from booking.operations.staff import signed_in
    from booking.staff_access import signed_out_here, staff_signed_in, when_sessions_end
    from booking.auth.carried import from_refused_request
    from booking.auth.routes import carry_over

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"

    @login_manager.unauthorized_handler
    def ask_to_sign_in():
        """As Flask-Login's own (a message, then the sign-in page, back here after), saying why: this
        browser's staff signed out, or else the session may have run out."""
        carried = from_refused_request()
        if carried is not None:  # what they typed is kept through signing in again
            return carry_over(carried)
        sent = "" if request.method == "GET" else ", so what you sent was not saved"
        flash("You have signed out. Sign in again to see that page." if signed_out_here() else (
            "Sign in to see that page. If you were signed in, your session ended "
            f"{when_sessions_end(current_app.config)}, or was ended by a sign-out elsewhere or a new password"
            f"{sent}."), "message")
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    login_manager.session_protection = None  # server-side sessions, ended at sign-out, do this job
    idle = timedelta(minutes=app.config["STAFF_IDLE_MINUTES"])
    lifetime = timedelta(hours=app.config["STAFF_SESSION_HOURS"])  # however busy, a session ends then

    @login_manager.user_loader
    def load_staff(token: str):
        return signed_in(token, now(), idle, lifetime)

    @app.before_request
    def identify_staff_first():
        """Look the session up before any write lock is taken (it may note activity on its own).
        A request whose signed session names no staff session (the API, a patient) has nobody to
        look up (staff_access.staff_signed_in)."""
        _ = staff_signed_in()
