"""The practitioner's calendar feed: an iCalendar file their phone's calendar subscribes to.

No sign-in, no cookies and so no CSRF: the secret token in the address is the key, as
with a patient's manage link. Unknown, stopped and tampered tokens all get the same 404,
which says nothing, and nothing here writes the address to a log.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort

from booking.clock import now
from booking.rate_limits import limited
from booking.notify.calendar import practitioner_feed
from booking.operations import feeds
from booking.operations.availability import load_clinic

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


@bp.get("/<token>.ics")
@limited("API_READ_LIMIT")  # a feed is a read like the API's, fetched every few minutes
def calendar(token: str):
    """The practitioner's visits from 30 days back, as "J.S. · Follow-up" events."""
    practitioner = feeds.practitioner_for(token)
    if practitioner is None:
        abort(404)
    clinic, instant = load_clinic(), now()
    body = practitioner_feed(practitioner, feeds.feed_appointments(practitioner, clinic, instant), clinic, now=instant)
    # Patients' initials and times: no shared cache keeps a copy, and search engines stay away.
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})
