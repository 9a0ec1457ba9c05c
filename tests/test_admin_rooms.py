"""The admin pages for rooms and beds, and the service form's hands-on parts and bed, on both databases.

A room is added, renamed, given more or fewer beds and taken out of use from its page; fewer beds
are refused while a visit still to come lies on a bed that would go. A service says which of its
minutes need the practitioner and whether it takes a bed, checked as the clinic file checks them.
"""

from __future__ import annotations

import tomllib

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, HandsOnPart, Room, Service, StaffRole
from booking.operations import admin as admin_operations
from booking.operations.clinic_file import ClinicFileError, export_clinic_file, import_clinic_file
from tests.test_desk import book_online, submit
from tests.test_emails import set_clinic
from tests.test_staff import ACCOUNTS, csrf_from, login_as, staff  # noqa: F401 (fixtures)

# The test clinic with one community room, and its short treatment needled in its first ten minutes
# on a bed: Ana can start a patient every quarter hour while the others rest.
BEDS_TOML = """\
[[rooms]]
slug = "room-1"
name = "Treatment room 1"
beds = 3

[[services]]
slug = "short"
name = "Short treatment"
minutes = 30
needs_bed = true
hands_on = ["0-10"]
"""

ROOM = {"name": "Treatment room 1", "beds": "3", "is_active": "y"}
NEW_ROOM = {"slug": "community", "name": "Community room", "beds": "6", "is_active": "y"}
SHORT = {"name": "Short treatment", "description": "", "minutes": "30", "buffer_minutes": "0", "is_active": "y",
         "hands_on": ""}


@pytest.fixture
def admin(login_as):  # noqa: F811
    return login_as(StaffRole.ADMIN)


@pytest.fixture
def beds(staff):  # noqa: F811
    with staff.app_context():
        import_clinic_file(BEDS_TOML)
    return staff


def rooms(app) -> dict[str, dict]:
    with app.app_context():
        return {room.slug: admin_operations.room_values(room) | {"translations": room.translations}
                for room in admin_operations.all_rooms()}


def service(app, slug: str) -> dict:
    with app.app_context():
        return admin_operations.service_values(admin_operations.find_service(slug)) | {
            "stored": admin_operations.find_service(slug).hands_on}


def beds_of(app) -> dict[str, tuple[str, int]]:
    """Each visit's room and bed, by reference."""
    with app.app_context():
        return {visit.reference: (visit.room.slug if visit.room else None, visit.bed)
                for visit in db.session.scalars(sa.select(Appointment))}


def exported(app) -> dict:
    """The clinic file as `flask clinic export` writes it, read back."""
    with app.app_context():
        return tomllib.loads(export_clinic_file())


def slots(app, day: str = "2027-03-09") -> list[str]:
    found = app.test_client().get(f"/api/v1/slots?service=short&practitioner=ana&from={day}&days=1").get_json()
    return [slot["start"][11:16] for slot in found["slots"]]


# --- the pages ------------------------------------------------------------------------

@pytest.mark.parametrize("path, heading", [
    ("/admin/rooms", "Rooms"),
    ("/admin/rooms/new", "Add a room"),
    ("/admin/rooms/room-1", "Treatment room 1"),
])
def test_each_rooms_page_opens_for_an_admin(beds, admin, path, heading):
    response = admin.get(path)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.get_data(as_text=True)


def test_the_hub_leads_to_the_rooms_which_list_their_beds(beds, admin):
    assert 'href="/admin/rooms"' in admin.get("/admin").get_data(as_text=True)
    listed = admin.get("/admin/rooms").get_data(as_text=True)
    assert 'href="/admin/rooms/room-1">Treatment room 1</a></td>\n          <td>3</td>\n          <td>In use</td>' in listed


def test_a_clinic_without_rooms_is_told_what_that_means(staff, admin):  # noqa: F811
    listed = admin.get("/admin/rooms").get_data(as_text=True)
    assert "No rooms yet. Until there is one, every service takes only the practitioner" in listed


@pytest.mark.parametrize("path", ["/admin/rooms/nowhere", "/admin/rooms/" + "x" * 5000, "/admin/rooms/Room%201"])
def test_unknown_rooms_are_not_found(beds, admin, path):
    assert admin.get(path).status_code == 404


# --- adding and changing a room ----------------------------------------------------------

def test_an_admin_adds_a_room_which_bookings_then_use(beds, admin):
    response = submit(admin, "/admin/rooms/new", NEW_ROOM | {"name": "  Community room "})
    assert response.status_code == 303 and response.location.endswith("/admin/rooms")
    assert "Community room is added, with 6 beds." in admin.get(response.location).get_data(as_text=True)
    assert rooms(beds)["community"] == {"slug": "community", "name": "Community room", "beds": 6, "is_active": True,
                                        "translations": {}}
    # The catalogue reads the new room at once: the first visit of the day goes to the first room by
    # short name, and the next to the room with fewer visits that day.
    first, second = book_online(beds), book_online(beds, start="2027-03-09T10:15:00-08:00", email="two@example.com")
    assert beds_of(beds) == {first["reference"]: ("community", 1), second["reference"]: ("room-1", 1)}
    assert {"slug": "community", "name": "Community room", "beds": 6} in exported(beds)["rooms"]


@pytest.mark.parametrize("changes, field, message", [
    ({"slug": "room-1"}, "slug", "There is already a room with the short name room-1: choose another"),
    ({"slug": "Room 2"}, "slug", "Short name must be lower-case letters, digits and single hyphens"),
    ({"slug": ""}, "slug", "Enter a short name for web addresses"),
    ({"name": " "}, "name", "Enter the room&#39;s name"),
    ({"name": "R" * 121}, "name", "Room&#39;s name must be 120 characters or fewer"),
    ({"name": "Room\x00"}, "name", "Name has a character that cannot be stored"),
    ({"beds": "0"}, "beds", "Beds must be between 1 and 40 beds"),
    ({"beds": "41"}, "beds", "Beds must be between 1 and 40 beds"),
    ({"beds": "-2"}, "beds", "(it cannot be negative)"),
    ({"beds": "two"}, "beds", "Enter the beds as a whole number of beds, from 1 to 40"),
    ({"beds": ""}, "beds", "Enter the beds as a whole number of beds, from 1 to 40"),
    ({"beds": "9" * 5000}, "beds", "Beds must be between 1 and 40 beds"),
])
def test_a_wrong_new_room_is_refused_with_a_message(beds, admin, changes, field, message):
    before = rooms(beds)
    response = submit(admin, "/admin/rooms/new", NEW_ROOM | changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "There is a problem" in page
    assert f'href="#{field}"' in page and message in page
    assert 'value="Community room"' in page or field == "name"
    assert rooms(beds) == before


def test_an_admin_renames_a_room_in_each_language_and_changes_its_beds(beds, admin):
    set_clinic(beds, languages=["en", "es"])
    page = admin.get("/admin/rooms/room-1").get_data(as_text=True)
    assert 'name="slug"' not in page and "<code>room-1</code>" in page and "Name in Spanish (optional)" in page
    response = submit(admin, "/admin/rooms/room-1", ROOM | {"name": "Quiet room", "beds": "5",
                                                            "name_es": "Sala tranquila"})
    assert response.status_code == 303
    assert "Quiet room is saved, with 5 beds." in admin.get(response.location).get_data(as_text=True)
    assert rooms(beds)["room-1"] == {"slug": "room-1", "name": "Quiet room", "beds": 5, "is_active": True,
                                     "name_es": "Sala tranquila", "translations": {"es": {"name": "Sala tranquila"}}}
    assert 'value="Sala tranquila"' in admin.get("/admin/rooms/room-1").get_data(as_text=True)
    assert exported(beds)["rooms"] == [{"slug": "room-1", "name": "Quiet room", "beds": 5,
                                        "es": {"name": "Sala tranquila"}}]
    # An empty box takes the version away: Spanish readers see the clinic's own name.
    assert submit(admin, "/admin/rooms/room-1", ROOM | {"name_es": ""}).status_code == 303
    assert rooms(beds)["room-1"]["translations"] == {}


def test_fewer_beds_are_refused_while_a_visit_to_come_lies_on_a_bed_that_would_go(beds, admin, clock, login_as):  # noqa: F811
    tuesday = book_online(beds)  # 10:00: bed 1
    tuesday_later = book_online(beds, start="2027-03-09T10:15:00-08:00", email="b@example.com")  # bed 2
    wednesday = book_online(beds, start="2027-03-10T10:00:00-08:00", email="c@example.com")  # bed 1
    with_ben = book_online(beds, start="2027-03-10T10:00:00-08:00", practitioner="ben", email="d@example.com")
    assert beds_of(beds) == {tuesday["reference"]: ("room-1", 1), tuesday_later["reference"]: ("room-1", 2),
                             wednesday["reference"]: ("room-1", 1), with_ben["reference"]: ("room-1", 2)}
    before = rooms(beds)

    refused = submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "1", "name": "Renamed"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'href="#beds"' in page
    assert ("2 booked visits use a bed above bed 1 (the first on Mar 9, 2027, 10:15 AM): keep more beds, "
            "or move those visits from the desk first") in page
    assert 'value="Renamed"' in page and 'value="1"' in page  # what was typed comes back
    assert rooms(beds) == before  # nothing else was saved either

    # Bed 3 is free: it may go.
    assert submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "2"}).status_code == 303
    assert rooms(beds)["room-1"]["beds"] == 2
    # One visit on bed 2 left ahead, said as one.
    clock.advance(days=1, hours=3)  # Tuesday 11:00: Tuesday's visits are over
    admin = login_as(StaffRole.ADMIN)  # signed in again after the idle hours
    page = submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "1"}).get_data(as_text=True)
    assert "1 booked visit uses a bed above bed 1 (the first on Mar 10, 2027, 10:00 AM)" in page
    clock.advance(days=1)  # Wednesday 11:00: every visit is past, and past visits keep the bed they had
    admin = login_as(StaffRole.ADMIN)
    assert submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "1"}).status_code == 303
    assert rooms(beds)["room-1"]["beds"] == 1
    assert beds_of(beds)[with_ben["reference"]] == ("room-1", 2)


def test_a_room_taken_out_of_use_keeps_its_visits_and_comes_back(beds, admin):
    booked = book_online(beds)
    assert "10:15" in slots(beds)
    response = submit(admin, "/admin/rooms/room-1", {"name": "Treatment room 1", "beds": "3"})  # the box unchecked
    assert response.status_code == 303
    said = admin.get(response.location).get_data(as_text=True)
    assert ("Treatment room 1 is saved, with 3 beds. New visits are no longer given a bed in it. 1 booked visit "
            "keeps its bed there: move them from the desk if the room cannot be used.") in said
    assert "No room is in use now, so patients cannot book what needs a bed: Short treatment." in said
    assert "<td>Out of use</td>" in said
    assert slots(beds) == []  # the catalogue re-read the rooms: no bed, no visit that needs one
    assert beds_of(beds)[booked["reference"]] == ("room-1", 1)
    assert rooms(beds)["room-1"]["is_active"] is False
    assert exported(beds)["rooms"] == [{"slug": "room-1", "name": "Treatment room 1", "beds": 3, "active": False}]

    assert submit(admin, "/admin/rooms/room-1", ROOM).status_code == 303
    assert rooms(beds)["room-1"]["is_active"] is True and "10:15" in slots(beds)


def test_rooms_are_never_deleted_and_forms_without_fields_get_messages(beds, admin):
    page = submit(admin, "/admin/rooms/new", {}, page="/admin/rooms").get_data(as_text=True)
    assert "Enter a short name for web addresses" in page and "Enter the room&#39;s name" in page
    assert "delete" not in admin.get("/admin/rooms/room-1").get_data(as_text=True).lower().replace(
        "a room is never deleted", "")


# --- the service form: hands-on parts and a bed --------------------------------------------

def test_the_service_form_explains_hands_on_parts_and_beds(beds, admin):
    page = admin.get("/admin/services/short").get_data(as_text=True)
    assert 'id="hands_on" name="hands_on"' in page and 'value="0-10"' in page
    assert "like 0-10, 35-45" in page and "Leave it empty and the practitioner stays for the whole visit" in page
    assert "visits already booked keep the parts they were booked with" in page
    assert 'id="needs_bed" name="needs_bed" type="checkbox" value="y" checked' in page


def test_an_admin_sets_a_services_hands_on_parts_and_bed(beds, admin):
    response = submit(admin, "/admin/services/short", SHORT | {"hands_on": " 0-10 ,25-30, ", "needs_bed": "y"})
    assert response.status_code == 303
    saved = service(beds, "short")
    assert (saved["stored"], saved["hands_on"], saved["needs_bed"]) == ([[0, 10], [25, 30]], "0-10, 25-30", True)
    written = next(entry for entry in exported(beds)["services"] if entry["slug"] == "short")
    assert (written["hands_on"], written["needs_bed"]) == (["0-10", "25-30"], True)
    # Emptied and unchecked: the practitioner stays for the whole visit, and no bed is taken.
    assert submit(admin, "/admin/services/short", SHORT).status_code == 303
    saved = service(beds, "short")
    assert (saved["stored"], saved["hands_on"], saved["needs_bed"]) == (None, "", False)
    booked = book_online(beds)
    assert beds_of(beds)[booked["reference"]] == (None, None)


def test_a_new_service_with_parts_and_a_bed(beds, admin):
    sent = {"slug": "needling", "name": "Needling", "minutes": "45", "buffer_minutes": "10", "is_active": "y",
            "hands_on": "0-10, 35-45", "needs_bed": "y"}
    assert submit(admin, "/admin/services/new", sent).status_code == 303
    saved = service(beds, "needling")
    assert (saved["stored"], saved["needs_bed"], saved["buffer_minutes"]) == ([[0, 10], [35, 45]], True, 10)


@pytest.mark.parametrize("typed, message", [
    ("0-10, 5-15", 'Hands-on parts: "0-10" and "5-15" overlap: each part must end by the time the next begins'),
    ("0-40", 'Hands-on parts: "0-40" ends after the visit does (30 minutes)'),
    ("ten", 'Hands-on parts: "ten" is not a minute range (write "A-B" in whole minutes from the start, e.g. "0-10")'),
    ("20-30, 0-10", 'Hands-on parts: "0-10" is listed after "20-30" but starts earlier'),
    ("10-10", 'Hands-on parts: "10-10" must end after it starts'),
    ("0-40, ten", 'Hands-on parts: "0-40" ends after the visit does (30 minutes); "ten" is not a minute range'),
    ("0-1," * 60, "Hands-on parts must be 200 characters or fewer"),
    ("0-1\x00", "Hands-on parts (optional) has a character that cannot be stored"),
])
def test_wrong_hands_on_parts_are_refused_on_their_field(beds, admin, typed, message):
    before = service(beds, "short")
    response = submit(admin, "/admin/services/short", SHORT | {"hands_on": typed, "needs_bed": "y", "name": "Renamed"})
    page = response.get_data(as_text=True).replace("&#34;", '"').replace("&quot;", '"')
    assert response.status_code == 200 and 'href="#hands_on"' in page
    assert message in page
    assert service(beds, "short") == before


def test_hands_on_parts_are_checked_against_the_minutes_typed_with_them(beds, admin):
    # A longer visit makes room for a later part; a wrong length gets its own message alone.
    assert submit(admin, "/admin/services/short", SHORT | {"minutes": "45", "hands_on": "0-10, 35-45",
                                                           "needs_bed": "y"}).status_code == 303
    page = submit(admin, "/admin/services/short", SHORT | {"minutes": "lots", "hands_on": "0-10, 35-45",
                                                           "needs_bed": "y"}).get_data(as_text=True)
    assert "Enter the length as a whole number of minutes" in page and 'href="#hands_on"' not in page


def test_a_bed_is_refused_while_no_room_is_in_use(staff, admin):  # noqa: F811
    page = submit(admin, "/admin/services/short", SHORT | {"needs_bed": "y", "name": "Renamed"}).get_data(as_text=True)
    assert 'href="#needs_bed"' in page
    assert ("No room is in use, so a visit that needs a bed could never be booked: add a room with its beds under "
            "Rooms (or put one back in use) first, or uncheck this") in page
    with staff.app_context():
        short = admin_operations.find_service("short")
        assert (short.name, short.needs_bed) == ("Short treatment", False)
    # With a room added, but out of use, still not.
    assert submit(admin, "/admin/rooms/new", NEW_ROOM | {"is_active": ""}).status_code == 303
    assert 'href="#needs_bed"' in submit(admin, "/admin/services/short", SHORT | {"needs_bed": "y"}).get_data(as_text=True)
    assert submit(admin, "/admin/rooms/community", NEW_ROOM).status_code == 303
    assert submit(admin, "/admin/services/short", SHORT | {"needs_bed": "y"}).status_code == 303


def test_changing_a_services_parts_leaves_booked_visits_as_they_were_booked(beds, admin):
    booked = book_online(beds)  # hands on 10:00-10:10, then resting on bed 1
    assert submit(admin, "/admin/services/short", SHORT | {"hands_on": "0-5, 20-30", "needs_bed": "y"}).status_code == 303
    with beds.app_context():
        visit = db.session.scalar(sa.select(Appointment).where(Appointment.reference == booked["reference"]))
        parts = db.session.scalars(sa.select(HandsOnPart).where(HandsOnPart.appointment_id == visit.id)).all()
        assert [(p.starts_at.strftime("%H:%M"), p.ends_at.strftime("%H:%M")) for p in parts] == [("18:00", "18:10")]
        assert (visit.room.slug, visit.bed) == ("room-1", 1)
        assert db.session.scalar(sa.select(Service.hands_on).where(Service.slug == "short")) == [[0, 5], [20, 30]]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Room)) == 1


# --- a service that comes to need a bed -------------------------------------------------

WEDNESDAY_10 = "2027-03-10T10:00:00-08:00"  # Ana and Ben both work


def test_a_service_that_comes_to_need_a_bed_gives_its_visits_already_booked_a_bed(beds, admin):
    """Its patients lie on beds too: left without one, a new booking could be given their bed."""
    assert submit(admin, "/admin/services/short", SHORT).status_code == 303  # no bed, for now
    tuesday = book_online(beds)
    with_ana = book_online(beds, start=WEDNESDAY_10, email="b@example.com")
    with_ben = book_online(beds, start=WEDNESDAY_10, practitioner="ben", email="c@example.com")
    assert set(beds_of(beds).values()) == {(None, None)}

    assert submit(admin, "/admin/services/short", SHORT | {"needs_bed": "y"}).status_code == 303
    assert beds_of(beds) == {tuesday["reference"]: ("room-1", 1), with_ana["reference"]: ("room-1", 1),
                             with_ben["reference"]: ("room-1", 2)}
    # Counted as taken: the room may not lose the bed Ben's patient now lies on.
    page = submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "1"}).get_data(as_text=True)
    assert "1 booked visit uses a bed above bed 1 (the first on Mar 10, 2027, 10:00 AM)" in page


def test_a_service_cannot_come_to_need_a_bed_while_its_booked_visits_could_not_all_have_one(beds, admin):
    assert submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "1"}).status_code == 303
    assert submit(admin, "/admin/services/short", SHORT).status_code == 303
    with_ana = book_online(beds, start=WEDNESDAY_10)
    with_ben = book_online(beds, start=WEDNESDAY_10, practitioner="ben", email="b@example.com")  # one bed for two
    refused = submit(admin, "/admin/services/short", SHORT | {"needs_bed": "y"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'href="#needs_bed"' in page
    assert (f"every bed is taken for Mar 10, 2027, 10:00 AM (reference {with_ben['reference']}, with Ben Test). "
            "Add a bed or a room, or move that visit from the desk, then try again.") in page
    assert service(beds, "short")["needs_bed"] is False  # nothing was saved
    assert beds_of(beds) == {with_ana["reference"]: (None, None), with_ben["reference"]: (None, None)}
    # With a second bed it goes through.
    assert submit(admin, "/admin/rooms/room-1", ROOM | {"beds": "2"}).status_code == 303
    assert submit(admin, "/admin/services/short", SHORT | {"needs_bed": "y"}).status_code == 303
    assert beds_of(beds) == {with_ana["reference"]: ("room-1", 1), with_ben["reference"]: ("room-1", 2)}


def test_a_clinic_file_that_gives_a_service_a_bed_gives_its_booked_visits_beds_or_is_refused(beds, admin):
    assert submit(admin, "/admin/services/short", SHORT).status_code == 303
    with_ana = book_online(beds, start=WEDNESDAY_10)
    with_ben = book_online(beds, start=WEDNESDAY_10, practitioner="ben", email="b@example.com")
    without = {with_ana["reference"]: (None, None), with_ben["reference"]: (None, None)}
    with beds.app_context(), pytest.raises(ClinicFileError) as refused:
        import_clinic_file(BEDS_TOML.replace("beds = 3", "beds = 1"), "beds.toml")
    assert refused.value.problems == [
        f"beds.toml:10: services[0].needs_bed: its visits already booked would each need a bed, and every bed is "
        f"taken at 2027-03-10T10:00 (reference {with_ben['reference']}): add a bed or a room, or move that visit "
        "from the desk first"]
    assert beds_of(beds) == without and rooms(beds)["room-1"]["beds"] == 3  # nothing of the file was written
    with beds.app_context():
        import_clinic_file(BEDS_TOML, "beds.toml")
    assert beds_of(beds) == {with_ana["reference"]: ("room-1", 1), with_ben["reference"]: ("room-1", 2)}
