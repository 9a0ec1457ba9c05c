"""`make bench`: how long the busiest reads take, on a demo clinic in a throwaway SQLite file.

Prints timings and SQL statement counts; it asserts nothing, since speed on a shared
machine varies. Compare numbers between runs on the same machine.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import flask_migrate
import pyotp
import sqlalchemy as sa
from sqlalchemy import event

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, Practitioner, ProgressCheck
from booking.operations.demo import DEMO_STAFF, load_demo

NOW = datetime(2027, 3, 8, 16, 0, tzinfo=timezone.utc)
ROUNDS = 30


def measure(client, url: str, engine) -> tuple[list[float], int]:
    statements = 0

    def count(*_args):
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    event.remove(engine, "before_cursor_execute", count)
    return timings, statements // ROUNDS


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}",
        "RATELIMIT_ENABLED": False,
        "CLOCK": lambda: NOW,
    })
    with app.app_context():
        flask_migrate.upgrade()
        made = load_demo(NOW, app.extensions["instruments"], days=31, seed=1)
        engine = db.engine
    client = app.test_client()
    desk = app.test_client()
    practitioner = app.test_client()
    admin = app.test_client()
    csrf = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
    for signed, who in ((desk, "desk"), (practitioner, "mei"), (admin, "admin")):
        email, password, _role = next(entry for entry in DEMO_STAFF if entry[0].startswith(who))
        token = csrf.search(signed.get("/staff/sign-in").get_data(as_text=True)).group(1)
        answer = signed.post("/staff/sign-in", data={"csrf_token": token, "email": email, "password": password})
        if "/second-factor/set-up" in answer.headers.get("Location", ""):  # the admin: the app, as a person would
            page = signed.get(answer.headers["Location"]).get_data(as_text=True)
            key = re.search(r'<p class="secret-key"><code>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
            signed.post(answer.headers["Location"], data={"csrf_token": csrf.search(page).group(1),
                                                          "code": pyotp.TOTP(key).at(NOW)})
    with app.app_context():  # Mei's latest return visit with a progress check: the longest record to read
        visit = db.session.scalar(
            sa.select(Appointment.id).join(Practitioner).join(ProgressCheck)
            .where(Practitioner.slug == "mei-lin").order_by(Appointment.starts_at.desc()).limit(1))
    print(f"demo clinic with {made} bookings over 31 days; {ROUNDS} rounds each\n")
    print(f"{'request':<70} {'median ms':>9} {'p95 ms':>8} {'queries':>8}")
    for url in (
        "/api/v1/slots?service=follow-up&practitioner=mei-lin&days=1",
        "/api/v1/slots?service=follow-up&practitioner=mei-lin&days=31",
        "/api/v1/slots?service=follow-up&practitioner=any&days=31",
        "/api/v1/services",
    ):
        timings, queries = measure(client, url, engine)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(f"{url:<70} {statistics.median(timings):>9.1f} {p95:>8.1f} {queries:>8}")
    pages = [(desk, url) for url in ("/desk?date=2027-03-09", "/desk/week?date=2027-03-09",
                                     "/desk/week?date=2027-03-09&practitioner=mei-lin")]
    pages += [(practitioner, "/clinician?date=2027-03-09"), (practitioner, f"/clinician/visits/{visit}")]
    pages += [(admin, "/admin/outbox")]  # a page of 100 of the demo's confirmations
    for signed, url in pages:
        timings, queries = measure(signed, url, engine)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(f"{url:<70} {statistics.median(timings):>9.1f} {p95:>8.1f} {queries:>8}")


if __name__ == "__main__":
    main()
