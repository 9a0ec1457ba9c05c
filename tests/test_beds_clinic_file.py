"""The clinic file against what is already stored for beds, on both databases: a service that
leaves hands_on out keeps its stored parts, so they must still fit the minutes the file gives; and
a room the file gives fewer beds may not lose one that a visit still to come is booked on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Service
from booking.operations.clinic_file import ClinicFileError, import_clinic_file
from tests.test_beds_booking import TUESDAY, clinic, client, starts  # noqa: F401 (fixtures)

SHORTER_NEEDLING = """\
# The needling is shorter now; hands_on is left out, so its parts would stay 0-10 and 35-45.
[[services]]
slug = "needles"
name = "Needling"
minutes = 30
"""


def stored(app, slug: str) -> tuple:
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
        return service.minutes, service.hands_on


def test_kept_hands_on_parts_that_no_longer_fit_the_minutes_are_refused_on_the_line(clinic, client):  # noqa: F811
    before = starts(client, TUESDAY)
    with clinic.app_context(), pytest.raises(ClinicFileError) as refused:
        import_clinic_file(SHORTER_NEEDLING, "shorter.toml")
    assert refused.value.problems == [
        "shorter.toml:5: services[0].minutes: the service keeps its hands-on parts 0-10, 35-45 (hands_on is left "
        "out), and they do not fit in 30 minutes: give hands_on for the new length, or hands_on = [] for none"]
    assert stored(clinic, "needles") == (45, [[0, 10], [35, 45]])
    assert starts(client, TUESDAY) == before  # every page that reads the services still works

    # Given with the new length, or cleared, the change goes through; a longer visit keeps its parts.
    with clinic.app_context():
        import_clinic_file(SHORTER_NEEDLING + 'hands_on = ["0-10", "20-30"]\n')
    assert stored(clinic, "needles") == (30, [[0, 10], [20, 30]])
    with clinic.app_context():
        import_clinic_file(SHORTER_NEEDLING.replace("minutes = 30", "minutes = 50"))
    assert stored(clinic, "needles") == (50, [[0, 10], [20, 30]])
    with clinic.app_context():
        import_clinic_file(SHORTER_NEEDLING.replace("minutes = 30", "minutes = 20") + "hands_on = []\n")
    assert stored(clinic, "needles") == (20, None)
    assert starts(client, TUESDAY)
