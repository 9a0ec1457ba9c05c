"""The desk with beds, through its pages on both databases: one practitioner's overlapping visits
(one patient rests while the next is needled) each drawn in a lane of their own, hands-on rows
apart from resting ones, the time a rest leaves free bookable from the grid; the rooms view of the
day (a column per bed); and the room and bed on a visit's page and on My day.

The clock is Monday 8 March 2027, 08:00 in Los Angeles. The test clinic gets a needling service
(45 minutes and 15 to turn the bed over; hands on for minutes 0-10 and 35-45) that Ana and Ben
offer, and two rooms: the community room with three beds and treatment room 1 with one.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, Room, StaffRole
from booking.operations.clinic_file import import_clinic_file
from tests.conftest import CLINIC_TOML
from tests.test_desk import book_online, grid_of, submit
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

DAY = "2027-03-10"  # a Wednesday: Ana works 09:00-12:30 and 13:30-17:00, Ben 10:00-16:00
NEEDLING = '''
[[services]]
slug = "needling"
name = "Needling treatment"
minutes = 45
buffer_minutes = 15
needs_bed = true
hands_on = ["0-10", "35-45"]
'''
ROOMS = '''
[[rooms]]
slug = "room-1"
name = "Treatment room 1"
beds = 1

[[rooms]]
slug = "community-room"
name = "Community room"
beds = 3
'''
BEDS_CLINIC = (CLINIC_TOML
               .replace('[[practitioners]]', NEEDLING + ROOMS + '\n[[practitioners]]', 1)
               .replace('services = ["consult", "short"]', 'services = ["consult", "short", "needling"]')
               .replace('services = ["short"]', 'services = ["short", "needling"]'))


@pytest.fixture
def beds(staff):  # noqa: F811
    """The test clinic with its rooms and the needling service."""
    with staff.app_context():
        import_clinic_file(BEDS_CLINIC, "beds_clinic.toml")
    return staff


@pytest.fixture
def desk(login_as):  # noqa: F811
    return login_as(StaffRole.RECEPTIONIST)


def needling(app, hour: int, minute: int = 0, practitioner: str = "ana", name: str = "Pat Resting") -> dict:
    """A needling visit booked through the API (bookings.book: its parts and its bed)."""
    email = re.sub(r"\W", "", name.lower()) + "@example.com"
    response = app.test_client().post("/api/v1/bookings", json={
        "service": "needling", "practitioner": practitioner, "start": f"{DAY}T{hour:02d}:{minute:02d}:00-08:00",
        "safety": [], "patient": {"name": name, "email": email, "phone": "213 555 0142", "birth_date": "1980-04-02"},
    })
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def book_href(practitioner: str, hour: int, minute: int) -> str:
    return f'href="/desk/book?practitioner={practitioner}&amp;start={DAY}T{hour:02d}:{minute:02d}:00-08:00"'


def visit_id(app, reference: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == reference))


def test_the_time_a_resting_patient_leaves_is_bookable_from_the_grid_and_both_visits_stay_in_view(beds, desk):
    needling(beds, 9, 0, name="Pat Resting")
    day = grid_of(desk.get(f"/desk?date={DAY}").get_data(as_text=True))
    # 09:00-09:10 hands on, 09:10-09:35 resting: the 09:15 row leaves Ana free, in a lane beside the visit.
    assert book_href("ana", 9, 15) in day
    assert book_href("ana", 9, 0) not in day and book_href("ana", 9, 30) not in day
    assert '<th scope="col" colspan="2">' in day  # Ana's column: the visit's lane and the one beside it
    assert "cell--resting" in day and ">Resting<" in day and "Busy" in day
    assert "Hands-on 9:00 AM–9:10 AM, 9:35 AM–9:45 AM; resting between" in day
    assert "Community room" in day  # the fewest visits that day, then by slug: the community room first

    # The receptionist follows that link and books a second patient while the first rests.
    form = f"/desk/book?practitioner=ana&start={DAY}T09:15:00-08:00&patient=new"
    response = submit(desk, form, {"service": "needling", "symptoms": "none", "name": "Quinn Needled",
                                   "email": "quinn@example.com", "phone": "213 555 0199", "birth_day": "3",
                                   "birth_month": "5", "birth_year": "1975"})
    assert response.status_code == 303, response.get_data(as_text=True)

    page = desk.get(f"/desk?date={DAY}").get_data(as_text=True)
    day = grid_of(page)
    assert day.count('class="block block--booked"') == 2  # each visit its own card: neither drawn over the other
    assert day.index("Pat Resting") < day.index("Quinn Needled")
    assert '<th scope="col" colspan="3">' in day  # two visits in the 09:15 and 09:30 rows, and a lane beside
    assert book_href("ana", 9, 15) not in day and book_href("ana", 10, 0) in day
    assert "Treatment room 1" in day  # the second took the other room (it had none that day)
    stack = page[page.index('<div class="calendar-stack">'):page.index('<ul class="legend"')]
    assert stack.count('class="visit-block visit-block--booked"') == 2 and "Resting" in stack
    ana_week = desk.get(f"/desk/week?date={DAY}&practitioner=ana").get_data(as_text=True)
    assert "Pat Resting" in ana_week and "Quinn Needled" in ana_week and "cell--resting" in ana_week


def test_the_rooms_view_puts_each_visit_on_its_bed_with_its_practitioner(beds, desk):
    first = needling(beds, 9, 0, name="Pat Resting")
    needling(beds, 9, 15, name="Quinn Needled")
    needling(beds, 10, 0, practitioner="ben", name="Ruth Benson")
    day = desk.get(f"/desk?date={DAY}").get_data(as_text=True)
    assert f'href="/desk/rooms?date={DAY}"' in day and "Rooms on this day" in day
    page = desk.get(f"/desk/rooms?date={DAY}").get_data(as_text=True)
    assert "Rooms" in page and "Wednesday, March 10, 2027" in page
    table = page[page.index('<table class="calendar'):page.index("</table>")]
    assert '<th scope="colgroup" colspan="3">Community room</th>' in table and '<th scope="col">Treatment room 1</th>' in table
    assert table.count("Bed 1<span") == 2 and "Bed 3<span" in table
    for patient, practitioner in (("Pat Resting", "Ana Test"), ("Quinn Needled", "Ana Test"), ("Ruth Benson", "Ben Test")):
        card = table[table.rindex("<a", 0, table.index(patient)):table.index("</a>", table.index(patient))]
        assert f"with {practitioner}" in card and "Needling treatment" in card
    assert f'href="/desk/appointments/{visit_id(beds, first["reference"])}"' in table
    assert "Turning over" in table  # each visit's bed time runs on through its buffer
    # 09:00 community room bed 1 (Pat), 09:15 room 1 (Quinn), 10:00: the community room had one visit,
    # room 1 one too, so the first by slug, its lowest free bed: bed 1 again, Pat's having been turned over.
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
    ten = next(row for row in rows if ">10:00 AM</th>" in row)
    assert "Ruth Benson" in ten and ten.index("Ruth Benson") < ten.index("cell--buffer")


def test_a_practitioner_sees_the_rooms_but_not_others_patients(beds, login_as):  # noqa: F811
    needling(beds, 9, 0, name="Pat Resting")
    needling(beds, 10, 0, practitioner="ben", name="Ruth Benson")
    ana = login_as(StaffRole.PRACTITIONER)
    page = ana.get(f"/desk/rooms?date={DAY}").get_data(as_text=True)
    assert "Pat Resting" in page and "Ruth Benson" not in page and "Booked with Ben Test" in page


def test_the_visit_page_and_my_day_name_the_room_and_bed(beds, desk, login_as):  # noqa: F811
    first = needling(beds, 9, 0, name="Pat Resting")
    second = needling(beds, 9, 15, name="Quinn Needled")
    third = needling(beds, 10, 0, name="Sam Third")  # the community room again (both rooms have one): bed 1
    needling(beds, 10, 15, practitioner="ben", name="Tess Fourth")  # Ana's 10:00 patient is on bed 1: bed 2
    with beds.app_context():
        beds_of = dict(db.session.execute(sa.select(Appointment.reference, Appointment.bed)).all())
    assert beds_of[third["reference"]] == 1
    page = desk.get(f"/desk/appointments/{visit_id(beds, first['reference'])}").get_data(as_text=True)
    assert "<dt>Room</dt><dd>Community room, bed 1</dd>" in page
    assert "9:00 AM to 9:10 AM and 9:35 AM to 9:45 AM" in page and "Ana Test is free to see another patient" in page
    page = desk.get(f"/desk/appointments/{visit_id(beds, second['reference'])}").get_data(as_text=True)
    assert "<dt>Room</dt><dd>Treatment room 1</dd>" in page  # a room of one bed by its name alone
    rooms = desk.get(f"/desk/rooms?date={DAY}").get_data(as_text=True)
    assert "Tess Fourth" in rooms
    my_day = login_as(StaffRole.PRACTITIONER).get(f"/clinician?date={DAY}").get_data(as_text=True)
    assert "Pat Resting" in my_day and "Quinn Needled" in my_day
    assert "Community room, bed 1 · Hands-on 9:00 AM–9:10 AM, 9:35 AM–9:45 AM; resting between" in my_day
    assert "Treatment room 1 · Hands-on 9:15 AM–9:25 AM, 9:50 AM–10:00 AM" in my_day


def test_a_clinic_without_rooms_says_so_and_offers_no_rooms_link(staff, desk):  # noqa: F811
    book_online(staff)
    assert "Rooms on this day" not in desk.get(f"/desk?date={DAY}").get_data(as_text=True)
    page = desk.get(f"/desk/rooms?date={DAY}")
    assert page.status_code == 200
    assert "This clinic has no rooms set up" in page.get_data(as_text=True)
    assert desk.get("/desk/rooms?date=not-a-date").status_code == 200  # today's, as the day view does


def test_the_rooms_view_costs_the_same_queries_for_two_visits_or_eight_and_is_kept_until_any_calendar_changes(
        beds, desk, count_queries):
    needling(beds, 9, 0, name="Pat Resting")
    needling(beds, 9, 15, name="Quinn Needled")
    path = f"/desk/rooms?date={DAY}"

    def rendered() -> int:
        beds.extensions.pop("kept_calendar_pages", None)
        with count_queries() as counted:
            assert desk.get(path).status_code == 200
        return counted.total

    two = rendered()
    for n, (hour, minute) in enumerate([(11, 0), (11, 15), (13, 30), (13, 45), (14, 30), (14, 45)]):
        needling(beds, hour, minute, practitioner="ana" if n % 2 else "ben", name=f"Patient Number{n}")
    assert rendered() == two
    with count_queries() as counted:
        kept = desk.get(path).get_data(as_text=True)
    assert counted.total == 2 and "Patient Number5" in kept  # the page as kept: the session and the stamps
    # Ben's calendar changes: the rooms page, which shows everyone's visits, is rendered again.
    needling(beds, 15, 15, practitioner="ben", name="Late Arrival")
    assert "Late Arrival" in desk.get(path).get_data(as_text=True)


def test_a_room_out_of_use_keeps_its_visits_in_view(beds, desk):
    needling(beds, 9, 15, name="Quinn Needled")
    needling(beds, 9, 0, name="Pat Resting")
    with beds.app_context():
        room = db.session.scalar(sa.select(Room).where(Room.slug == "room-1"))
        room.is_active = False
        db.session.commit()
    page = desk.get(f"/desk/rooms?date={DAY}").get_data(as_text=True)
    assert "Treatment room 1 (no longer in use)" in page
    assert "Pat Resting" in page and "Quinn Needled" in page
    later = desk.get("/desk/rooms?date=2027-03-11").get_data(as_text=True)  # no visit in it that day
    assert "Treatment room 1" not in later and "Community room" in later


def refused_at_the_desk(desk, hour: int, minute: int) -> str:
    """The page after the desk books a new patient's needling visit with Ana at that time, which
    must be refused: the form comes back (200) with its message."""
    form = f"/desk/book?practitioner=ana&start={DAY}T{hour:02d}:{minute:02d}:00-08:00&patient=new"
    response = submit(desk, form, {"service": "needling", "symptoms": "none", "name": "Quinn Needled",
                                   "email": "quinn@example.com", "phone": "213 555 0199", "birth_day": "3",
                                   "birth_month": "5", "birth_year": "1975"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_desk_booking_whose_later_part_meets_another_patients_says_so(beds, desk):
    """Ana is free at 09:00, but a needling visit then would need her again at 09:35-09:45, when
    she takes out Pat's needles: the desk is told that, not that the time was just taken."""
    needling(beds, 9, 30, name="Pat Resting")  # hands on 09:30-09:40 and 10:05-10:15
    page = refused_at_the_desk(desk, 9, 0)
    # What does fit at 9:00 is named: the short treatment, which needs no later part.
    assert ("Needling treatment needs Ana Test&#39;s hands at 9:00 AM–9:10 AM, 9:35 AM–9:45 AM, and they are "
            "with another patient for part of that. Short treatment (30 minutes) would fit then; otherwise choose "
            "a time when each part is free, or another practitioner.") in page
    assert "taken a moment ago" not in page


def test_a_desk_booking_when_every_bed_is_taken_says_so(beds, desk):
    """Ana is free at 10:30, but both beds the clinic keeps in use hold Ben's resting patients until
    11:00 and 11:15: the desk is told the beds are taken, not that the time was just taken."""
    with beds.app_context():
        import_clinic_file(ROOMS.replace("beds = 3", "beds = 1"), "fewer_beds.toml")  # two beds in all
    needling(beds, 10, 0, practitioner="ben", name="Pat Resting")
    needling(beds, 10, 15, practitioner="ben", name="Sam Resting")
    page = refused_at_the_desk(desk, 10, 30)
    assert ("Every bed is taken for part of 10:30 AM–11:30 AM (the visit and the bed&#39;s turnover). "
            "Short treatment (30 minutes) or Consultation (60 minutes) would fit then; otherwise choose another "
            "time.") in page  # what needs no bed: Quinn is a new patient, so the consultation is theirs too
    assert "taken a moment ago" not in page and "Quinn Needled" in page  # what was typed stays
    with beds.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 2


def test_a_move_page_and_the_slots_api_for_a_day_already_past_say_no_times_not_a_500(beds, desk):
    """The free beds were read from now back to the end of a day wholly past: "TimeRange ends
    before it starts", a 500 on the desk's Previous day and on the API's `from` (a hands-on trial)."""
    visit = visit_id(beds, needling(beds, 9)["reference"])
    for day in ("2027-03-05", "2027-03-07", "2027-03-08"):  # before the pinned Monday 8 March 08:00, and that day
        page = desk.get(f"/desk/appointments/{visit}/move?practitioner=ana&date={day}")
        assert page.status_code == 200, day
        answer = beds.test_client().get("/api/v1/slots", query_string={
            "service": "needling", "practitioner": "any", "from": day, "days": 1})
        assert answer.status_code == 200, answer.get_json()
        if day != "2027-03-08":
            assert answer.get_json()["slots"] == []
    past = beds.test_client().get("/api/v1/slots", query_string={
        "service": "needling", "practitioner": "ana", "from": "2027-03-01", "days": 9})
    assert past.status_code == 200 and past.get_json()["slots"]  # reaches past today: only times to come
    assert all(slot["start"] >= "2027-03-08T10:00" for slot in past.get_json()["slots"])
