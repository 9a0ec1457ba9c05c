"""The front desk through its pages: calendar, phone bookings, moves, cancellations,
arrivals, hours, time off and patients, on both databases.

The clock is Monday 8 March 2027, 08:00 in Los Angeles. Ana works weekdays
09:00-12:30 and 13:30-17:00; Ben works Monday and Wednesday 10:00-16:00.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.desk.wording import time_off_when
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Patient,
    Practitioner,
    Service,
    StaffRole,
    TimeOff,
    WorkingHours,
)
from booking.scheduling import UTC
from booking.transaction import write_transaction
from tests.test_staff import csrf_from, login_as, staff  # noqa: F401 (fixtures)

TUESDAY_10 = "2027-03-09T10:00:00-08:00"


def book_online(app, start=TUESDAY_10, practitioner="ana", name="Pat Caller", email="pat@example.com",
                phone="213 555 0142", birth_date="1980-04-02", safety=()) -> dict:
    response = app.test_client().post("/api/v1/bookings", json={
        "service": "short", "practitioner": practitioner, "start": start, "safety": list(safety),
        "patient": {"name": name, "email": email, "phone": phone, "birth_date": birth_date},
    })
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def appointment(app, reference: str) -> Appointment:
    with app.app_context():
        found = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        found.practitioner, found.patient, list(found.history)  # noqa: B018 (load before the context closes)
        db.session.expunge(found)
        return found


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def submit(client, path: str, data: dict, page: str | None = None):
    """Post a staff form the way a browser would: with the CSRF token from the page it sits on."""
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def grid_of(page: str) -> str:
    """The calendar grid of a desk page's HTML (desktop widths)."""
    return page[page.index('<table class="calendar'):page.index("</table>")]


def stack_of(page: str) -> str:
    """The phone's list of the same columns, one after another (below 40em wide), or "" if none."""
    return page[page.index('<div class="calendar-stack">'):page.index('<ul class="legend"')] if "calendar-stack" in page else ""


def new_caller(name: str, symptoms: str = "none", **more) -> dict:
    """The booking form filled in for a new patient, as a receptionist would on the phone."""
    return {"service": "short", "symptoms": symptoms, "name": name, "email": f"{name.split()[0].lower()}@example.com",
            "phone": "213 555 0199", "birth_day": "3", "birth_month": "5", "birth_year": "1975", **more}


@pytest.fixture
def desk(login_as):  # noqa: F811
    return login_as(StaffRole.RECEPTIONIST)


# --- the calendar -----------------------------------------------------------------------

def test_the_day_view_shows_columns_hours_blocks_and_flags(staff, desk):  # noqa: F811
    book_online(staff, safety=["night_pain"])
    page = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    assert "Tuesday, March 9, 2027" in page
    assert ">9:00 AM</th>" in page and ">09:00<" not in page  # rows read in the clinic's locale (en_US)
    assert page.index("Ana Test") < page.index("Ben Test")  # a column each
    assert "Pat Caller" in page and "Short treatment" in page and "Urgent flag" in page
    assert "Questions: not started" in page
    assert 'href="/desk/book?practitioner=ana&amp;start=2027-03-09T09:00:00-08:00"' in page
    assert "start=2027-03-09T10:00:00-08:00" not in page  # the booked time offers no "Book"
    assert 'class="cell cell--closed" rowspan=' in page  # Ben does not work on Tuesdays


def test_calendar_pages_cost_the_same_queries_for_ten_practitioners_and_300_appointments(
        staff, desk, count_queries):  # noqa: F811
    book_online(staff)
    pages = ("/desk?date=2027-03-09", "/desk?date=2027-03-09&practitioner=ana", "/desk/week?date=2027-03-09",
             "/desk/week?date=2027-03-09&practitioner=ana")

    def queries_per_page() -> list[tuple[int, int]]:
        """Each page's statements rendered, then kept (booking.kept_pages)."""
        # The first request after a settings change (practitioners added) reads the catalogue again.
        assert staff.test_client().get("/").status_code == 200
        counts = []
        for path in pages:
            for _ in range(2):
                with count_queries() as counted:
                    assert desk.get(path).status_code == 200
                counts.append(counted.total)
        return list(zip(counts[::2], counts[1::2], strict=True))

    small = queries_per_page()
    # A kept page asks for the session (with the clinic's second-factor setting), the stamps and (the desk's
    # day) the waitlist.
    assert [kept for _rendered, kept in small] == [3, 3, 2, 2]
    with staff.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == "short"))
        week = [date(2027, 3, 8) + timedelta(days=n) for n in range(5)]
        for number in range(10):
            practitioner = Practitioner(slug=f"p{number}", name=f"Practitioner {number:02d}", services=[service])
            practitioner.hours = [WorkingHours(weekday=d.weekday(), start_time=time(8), end_time=time(18)) for d in week]
            db.session.add(practitioner)
            for slot in range(30):  # 10 x 30 = 300 appointments that week, 6 a day each
                day, minute = week[slot % 5], 8 * 60 + (slot // 5) * 60
                start = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=UTC) + timedelta(hours=8)
                patient = Patient(name=f"Patient {number}-{slot}", email=f"p{number}-{slot}@example.com",
                                  phone="213 555 0100", born_on=date(1970, 1, 1), created_at=start)
                db.session.add(Appointment(
                    reference=f"R{number:02d}{slot:03d}", practitioner=practitioner, service=service, patient=patient,
                    starts_at=start, ends_at=start + timedelta(minutes=30), occupied_until=start + timedelta(minutes=30),
                    safety_flags=["fever"] if slot % 7 == 0 else [], manage_token_hash=f"{number:02d}{slot:03d}".ljust(64, "0"),
                    created_at=start, status=AppointmentStatus.BOOKED))
        db.session.commit()
    assert queries_per_page() == small
    page = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    assert page.count('class="block block--booked"') == 61  # 60 made here, one booked online
    assert "Patient 9-29" in desk.get("/desk/week?date=2027-03-09").get_data(as_text=True)


def test_the_week_views_show_one_practitioner_or_everyone(staff, desk):  # noqa: F811
    book_online(staff)
    book_online(staff, start="2027-03-10T11:00:00-08:00", practitioner="ben", name="Bea Wednesday", email="bea@example.com")
    everyone = desk.get("/desk/week?date=2027-03-10").get_data(as_text=True)
    assert "Everyone: week of March 8, 2027" in everyone
    assert "Pat Caller" in everyone and "Bea Wednesday" in everyone and "Not working" in everyone
    ana = desk.get("/desk/week?date=2027-03-10&practitioner=ana").get_data(as_text=True)
    assert "Ana Test: week of March 8, 2027" in ana and "Pat Caller" in ana and "Bea Wednesday" not in ana
    assert "Mon, Mar 8" in ana and "Sun, Mar 14" in ana


# --- booking for a caller ---------------------------------------------------------------

def test_book_a_new_caller_inside_the_online_notice_window(staff, desk):  # noqa: F811
    target = "/desk/book?practitioner=ana&start=2027-03-08T09:30:00-08:00"  # 90 minutes away: too soon online
    assert "Who is the appointment for?" in desk.get(target).get_data(as_text=True)
    form = f"{target}&patient=new"
    empty = submit(desk, form, {"service": "short", "symptoms": "none"})
    text = empty.get_data(as_text=True)
    assert "Enter the patient&#39;s full name" in text and "Enter the patient&#39;s email address" in text
    assert count(staff, Appointment) == 0
    done = submit(desk, form, new_caller("Carla Caller"))
    assert done.status_code == 303
    detail = desk.get(done.location).get_data(as_text=True)
    assert "Carla Caller" in detail and "Monday, March 8, 2027, 9:30 AM to 10:00 AM" in detail
    assert re.search(r"<strong>Booked</strong> by Receptionist: Short treatment, Mar 8, 2027, 9:30 AM with Ana Test, "
                     r"booked by the clinic", detail)
    with staff.app_context():
        assert db.session.scalar(sa.select(Appointment.booked_via)) == "desk"


def test_book_an_existing_patient_found_by_phone_number(staff, desk):  # noqa: F811
    book_online(staff)
    target = "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00"
    results = submit(desk, target, {"text": "555-0142"}).get_data(as_text=True)
    link = re.search(r'href="(/desk/book\?[^"]*patient=\d+[^"]*)"', results).group(1).replace("&amp;", "&")
    page = desk.get(link).get_data(as_text=True)
    assert "Pat Caller" in page and "Choose a different patient" in page
    # A returning caller is not offered the consultation for new patients (it was offered, then refused).
    assert 'value="consult"' not in page and 'value="short"' in page
    assert 'value="consult"' in desk.get(f"{target}&patient=new").get_data(as_text=True)
    assert submit(desk, link, {"service": "short", "symptoms": "fever"}).status_code == 303
    assert count(staff, Patient) == 1 and count(staff, Appointment) == 2
    day = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    assert grid_of(day).count('block__name">Pat Caller') == 2 and "Urgent flag" in grid_of(day)
    assert stack_of(day).count('block__name">Pat Caller') == 2  # and the phone's list of the same day


@pytest.mark.parametrize("start, message", [
    ("2027-03-08T07:00:00-08:00", "Mar 8, 2027, 7:00 AM with Ana Test has already passed. Choose a time from now on."),
    ("2029-03-08T10:00:00-08:00", "The desk books up to 730 days ahead, until Mar 7, 2029, and Mar 8, 2029 is later "
                                  "than that. Choose an earlier date."),
    ("2027-03-09T12:40:00-08:00", "cannot be booked for this visit: a visit starts on the calendar&#39;s"),
    # on the steps, but a 30-minute visit at 12:15 runs into the 12:30 break: said so
    ("2027-03-09T12:15:00-08:00", "Short treatment takes 30 minutes, and Ana Test&#39;s hours end at 12:30 PM."),
])
@pytest.mark.parametrize("course", [{}, {"how_often": "7", "count": "3"}], ids=["one visit", "a course"])
def test_the_desk_cannot_book_the_past_or_off_the_grid(staff, desk, start, message, course):  # noqa: F811
    """A course is refused at its first visit for the same reason, in the same words (a course whose
    first visit ran past the hours was said to be off the calendar's steps)."""
    target = f"/desk/book?practitioner=ana&start={start.replace('+', '%2B')}&patient=new"
    response = submit(desk, target, new_caller("Late Caller") | course)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert "/api/" not in response.get_data(as_text=True)  # the API's words are not the desk's
    assert count(staff, Appointment) == 0 and count(staff, Patient) == 0


def test_a_taken_time_offers_others_and_keeps_the_typing(staff, desk):  # noqa: F811
    book_online(staff)
    target = "/desk/book?practitioner=ana&start=2027-03-09T10:00:00-08:00&patient=new"
    response = submit(desk, target, new_caller("Second Caller"))
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "Free times nearby" in text and 'value="Second Caller"' in text
    # Held since before the page was opened: not said to have gone "a moment ago" (a hands-on trial).
    assert "Mar 9, 2027, 10:00 AM with Ana Test is not free: another visit holds it." in text
    assert "a moment ago" not in text
    assert count(staff, Appointment) == 1


def test_a_callers_name_with_a_hidden_character_is_refused_beside_the_field(staff, desk):  # noqa: F811
    target = "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new"
    response = submit(desk, target, new_caller("Zero\u200bWidth Caller"))
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("Full name must not include hidden characters") == 2  # summary, field
    assert count(staff, Appointment) == 0 and count(staff, Patient) == 0


def test_emergency_answers_stop_a_phone_booking(staff, desk):  # noqa: F811
    target = "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new"
    response = submit(desk, target, new_caller("Urgent Caller", symptoms="saddle_numbness"))
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Call 911" in text and "Nothing was booked" in text
    assert 'value="Urgent Caller"' in text
    assert count(staff, Appointment) == 0


def test_a_practitioner_books_and_changes_only_their_own_calendar(staff, login_as):  # noqa: F811
    ana = login_as(StaffRole.PRACTITIONER)  # the practitioner account belongs to Ana
    bens = book_online(staff, start="2027-03-10T11:00:00-08:00", practitioner="ben")
    assert ana.get("/desk/book?practitioner=ben&start=2027-03-10T12:00:00-08:00&patient=new").status_code == 403
    token = csrf_from(ana.get("/desk").get_data(as_text=True))
    tampered = ana.post("/desk/book?practitioner=ben&start=2027-03-10T12:00:00-08:00&patient=new",
                        data={"csrf_token": token, "service": "short", "symptoms": "none"})
    assert tampered.status_code == 403
    bens_id = appointment(staff, bens["reference"]).id
    assert ana.get(f"/desk/appointments/{bens_id}").status_code == 403
    assert ana.post(f"/desk/appointments/{bens_id}/cancel", data={"csrf_token": token, "reason": "patient"}).status_code == 403
    assert ana.post(f"/desk/appointments/{bens_id}/status/no_show", data={"csrf_token": token}).status_code == 403
    assert appointment(staff, bens["reference"]).status is AppointmentStatus.BOOKED
    day = ana.get("/desk?date=2027-03-10").get_data(as_text=True)
    assert "Pat Caller" not in day and "Booked" in day  # another practitioner's patient stays private
    bens_patient = appointment(staff, bens["reference"]).patient.id
    tampered_patient = ana.get(f"/desk/book?practitioner=ana&start=2027-03-10T12:00:00-08:00&patient={bens_patient}")
    assert "Pat Caller" not in tampered_patient.get_data(as_text=True)  # asked who is calling instead
    assert "Pat Caller" not in ana.get(f"/desk?patient={bens_patient}").get_data(as_text=True)


# --- moving, cancelling, arrivals --------------------------------------------------------

def test_move_to_another_practitioner_and_day_keeps_the_patients_link(staff, desk):  # noqa: F811
    made = book_online(staff)
    moved_id = appointment(staff, made["reference"]).id
    page = desk.get(f"/desk/appointments/{moved_id}/move?practitioner=ben&date=2027-03-10").get_data(as_text=True)
    assert "Free times with Ben Test on Wednesday, March 10<" in page  # this year: no year said
    later = desk.get(f"/desk/appointments/{moved_id}/move?practitioner=ben&date=2030-01-01").get_data(as_text=True)
    assert "Free times with Ben Test on Tuesday, January 1, 2030<" in later  # it was left out (a hands-on trial)
    response = submit(desk, f"/desk/appointments/{moved_id}/move?practitioner=ben&date=2027-03-10",
                      {"practitioner": "ben", "start": "2027-03-10T10:00:00-08:00"})
    assert response.status_code == 303
    moved = appointment(staff, made["reference"])
    assert moved.practitioner.slug == "ben" and moved.starts_at == datetime(2027, 3, 10, 18, tzinfo=UTC)
    assert staff.test_client().get(made["manage_url"].replace("http://clinic.test", "")).status_code == 200
    assert [(e.action, e.actor, e.detail) for e in moved.history][-1] == (
        "moved", "Receptionist", "From Mar 9, 2027, 10:00 AM with Ana Test to Mar 10, 2027, 10:00 AM with Ben Test")


def test_a_move_onto_a_taken_time_changes_nothing(staff, desk):  # noqa: F811
    first = book_online(staff)
    book_online(staff, start="2027-03-09T11:00:00-08:00", name="Other", email="other@example.com")
    first_id = appointment(staff, first["reference"]).id
    response = submit(desk, f"/desk/appointments/{first_id}/move?date=2027-03-09",
                      {"practitioner": "ana", "start": "2027-03-09T11:00:00-08:00"})
    assert response.status_code == 200 and "That time is not free: another visit holds it" in response.get_data(as_text=True)
    unchanged = appointment(staff, first["reference"])
    assert unchanged.starts_at == datetime(2027, 3, 9, 18, tzinfo=UTC) and len(unchanged.history) == 1


def test_cancel_needs_a_reason_and_frees_the_time(staff, desk):  # noqa: F811
    made = book_online(staff)
    path = f"/desk/appointments/{appointment(staff, made['reference']).id}/cancel"
    assert "Select why the appointment is being cancelled" in submit(desk, path, {}).get_data(as_text=True)
    assert "Say what the other reason is" in submit(desk, path, {"reason": "other"}).get_data(as_text=True)
    assert appointment(staff, made["reference"]).status is AppointmentStatus.BOOKED
    assert submit(desk, path, {"reason": "patient", "note": "Called on Monday"}).status_code == 303
    cancelled = appointment(staff, made["reference"])
    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.history[-1].detail == "The patient asked to cancel: Called on Monday"
    slots = staff.test_client().get("/api/v1/slots?service=short&practitioner=ana&from=2027-03-09&days=1").get_json()
    assert TUESDAY_10 in [slot["start"] for slot in slots["slots"]]
    again = submit(desk, path, {"reason": "patient"}, page=f"/desk/appointments/{cancelled.id}")
    assert again.status_code == 303 and "already cancelled" in desk.get(again.location).get_data(as_text=True)


def test_arrived_completed_and_no_show_follow_the_clock(staff, desk):  # noqa: F811
    today = appointment(staff, book_online(staff, start="2027-03-08T10:00:00-08:00")["reference"])
    tomorrow = appointment(staff, book_online(staff, name="Tom Tomorrow", email="tom@example.com")["reference"])

    def mark(appointment_id, status):
        response = submit(desk, f"/desk/appointments/{appointment_id}/status/{status}", {},
                          page=f"/desk/appointments/{appointment_id}")
        return desk.get(response.location).get_data(as_text=True) if response.status_code == 303 else response.status_code

    assert "only on the day of their appointment" in mark(tomorrow.id, "arrived")
    assert "only once its start time has passed" in mark(today.id, "no_show")
    assert "is marked arrived" in mark(today.id, "arrived")
    assert "only once its start time has passed" in mark(today.id, "completed")
    assert "is marked booked" in mark(today.id, "booked")  # undo
    for _ in range(6):  # two and a half hours on, the desk busy all the while (idle sessions end)
        staff.config["CLOCK"].advance(minutes=25)
        assert desk.get("/desk").status_code == 200
    assert "is marked no-show" in mark(today.id, "no_show")
    assert "is marked arrived" in mark(today.id, "arrived")  # came late after all
    assert "is marked completed" in mark(today.id, "completed")
    assert mark(today.id, "cancelled") == 404 and mark(today.id, "bogus") == 404
    history = [(e.action, e.detail) for e in appointment(staff, today.reference).history]
    assert history[1:] == [("arrived", "Booked → Arrived"), ("reopened", "Arrived → Booked"),
                           ("no-show", "Booked → No-show"), ("arrived", "No-show → Arrived"),
                           ("completed", "Arrived → Completed")]


# --- hours and time off ---------------------------------------------------------------

def hours_of(app, slug: str) -> list[tuple]:
    with app.app_context():
        return [(h.weekday, h.start_time, h.end_time) for h in db.session.scalars(
            sa.select(WorkingHours).join(Practitioner).where(Practitioner.slug == slug)
            .order_by(WorkingHours.weekday, WorkingHours.start_time))]


@pytest.mark.parametrize("monday, message", [
    ("18:00-09:00", "Monday: 18:00-09:00 ends before it starts; hours cannot run past midnight"),
    ("9-5", "Monday: 9-5 is not a period of time; write it like 9:00 AM–12:30 PM or 09:00-12:30"),
    ("09:00-12:00, 11:00-13:00", "Monday: 9:00 AM–12:00 PM overlaps the period starting at 11:00 AM"),
    ("9am-12pm, 11:30am-1pm", "Monday: 9:00 AM–12:00 PM overlaps the period starting at 11:30 AM"),
    ("from nine", "Monday: write each period as start-end, like 9:00 AM–12:30 PM"),
])
def test_bad_hours_are_refused_and_change_nothing(staff, desk, monday, message):  # noqa: F811
    before = hours_of(staff, "ana")
    response = submit(desk, "/desk/practitioners/ana/hours", {"mon": monday, "tue": "09:00-17:00"})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert f'">{monday}</textarea>' in response.get_data(as_text=True)  # the typing is kept
    assert hours_of(staff, "ana") == before


def test_new_hours_move_the_calendar_and_list_displaced_appointments(staff, desk):  # noqa: F811
    made = book_online(staff)  # Tuesday 10:00 with Ana
    form = {"mon": "09:00-12:30, 13:30-17:00", "tue": "13:00-18:00", "wed": "", "thu": "", "fri": "",
            "sat": "10:00-14:00", "sun": ""}
    response = submit(desk, "/desk/practitioners/ana/hours", form)
    page = desk.get(response.location).get_data(as_text=True)
    assert "1 booked appointment now falls outside them" in page
    assert "Booked outside working hours or in time off" in page and "Mar 9, 2027, 10:00 AM: Pat Caller" in page
    assert (1, time(13), time(18)) in hours_of(staff, "ana") and (5, time(10), time(14)) in hours_of(staff, "ana")
    assert not [h for h in hours_of(staff, "ana") if h[0] in (2, 3, 4)]  # emptied days are days off
    day = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    assert "start=2027-03-09T17:30:00-08:00" in day and "start=2027-03-09T09:00:00-08:00" not in day
    assert "Outside working hours" in day
    assert appointment(staff, made["reference"]).status is AppointmentStatus.BOOKED


def test_time_off_is_checked_shaded_listed_and_removable(staff, desk):  # noqa: F811
    book_online(staff)
    path = "/desk/practitioners/ana/time-off"
    backwards = submit(desk, path, {"start_date": "2027-03-10", "end_date": "2027-03-09"})
    assert "Time off must end after it starts" in backwards.get_data(as_text=True)
    bad = submit(desk, path, {"start_date": "next week", "end_date": "2027-03-09", "start_time": "25:00"})
    # The example is written as the date box shows dates here, not as 2027-03-15 (a hands-on trial).
    assert "Enter the first day as a date, like 3/15/2027" in bad.get_data(as_text=True)
    assert "Enter the last day" in submit(desk, path, {"start_date": "2027-03-09"}).get_data(as_text=True)
    impossible = submit(desk, path, {"start_date": "15/3/2027", "end_date": "2027-03-09"})  # day first: not here
    assert ("The first day must be a real date, like 3/15/2027: 15/3/2027 does not exist"
            in impossible.get_data(as_text=True))
    for typed in ("3/12/27", "2027-3-15"):  # not shaped as a date here: the example, not "does not exist"
        said = submit(desk, path, {"start_date": typed, "end_date": "2027-03-09"}).get_data(as_text=True)
        assert "Enter the first day as a date, like 3/15/2027" in said and "does not exist" not in said
    assert count(staff, TimeOff) == 0
    typed = submit(desk, path, {"start_date": "3/12/2027", "end_date": "3/12/2027"})  # a browser's plain text box
    assert typed.status_code == 303 and count(staff, TimeOff) == 1
    with staff.app_context():
        db.session.execute(sa.delete(TimeOff))
        db.session.commit()
    added = submit(desk, path, {"start_date": "2027-03-09", "end_date": "2027-03-09", "reason": "Training"})
    page = desk.get(added.location).get_data(as_text=True)
    assert "now falls in time off" in page and "Mar 9, 2027, 10:00 AM: Pat Caller" in page
    assert '<td data-label="When">Tue, Mar 9 (all day)</td>' in page and "Training" in page and "End of" not in page
    day = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    assert "Time off" in day and "start=2027-03-09T09:00:00-08:00" not in day
    assert "During time off" in day and "Outside working hours" not in day  # a clash to resolve, named as one
    for week in ("/desk/week?date=2027-03-09", "/desk/week?date=2027-03-09&practitioner=ana"):
        assert "During time off" in desk.get(week).get_data(as_text=True)
    removal = re.search(r'href="(/desk/practitioners/ana/time-off/\d+/remove)"', page).group(1)
    asked = desk.get(removal)  # the first step only asks
    assert asked.status_code == 200 and count(staff, TimeOff) == 1
    assert "<h1>Remove time off for Ana Test?</h1>" in asked.get_data(as_text=True)
    assert "<dd>Tue, Mar 9 (all day)</dd>" in asked.get_data(as_text=True)
    assert ">Keep</a>" in asked.get_data(as_text=True)
    assert submit(desk, removal, {}).status_code == 303
    assert count(staff, TimeOff) == 0
    # Two spans over the same day: removing one leaves the other, and the desk is told so (it was
    # told the hours were open again, a hands-on trial).
    submit(desk, path, {"start_date": "2027-03-09", "end_date": "2027-03-09", "reason": "Training"})
    submit(desk, path, {"start_date": "2027-03-09", "end_date": "2027-03-09", "start_time": "10:00",
                        "end_time": "11:00", "reason": "Course"})
    assert count(staff, TimeOff) == 2
    page = desk.get(path).get_data(as_text=True)
    removal = re.findall(r'href="(/desk/practitioners/ana/time-off/\d+/remove)"', page)[0]
    said = desk.get(submit(desk, removal, {}).location).get_data(as_text=True)
    assert "Other time off still covers some of those hours" in said and "open for booking again" not in said
    removal = re.search(r'href="(/desk/practitioners/ana/time-off/\d+/remove)"', said).group(1)
    said = desk.get(submit(desk, removal, {}).location).get_data(as_text=True)
    assert "Time off removed; those hours are open for booking again." in said and count(staff, TimeOff) == 0
    assert "start=2027-03-09T09:00:00-08:00" in desk.get("/desk?date=2027-03-09").get_data(as_text=True)


def test_a_practitioner_edits_only_their_own_time_off_and_never_hours(staff, login_as):  # noqa: F811
    ana = login_as(StaffRole.PRACTITIONER)
    assert submit(ana, "/desk/practitioners/ana/time-off",
                  {"start_date": "2027-03-12", "end_date": "2027-03-12"}).status_code == 303
    assert ana.get("/desk/practitioners/ben/time-off").status_code == 403
    token = csrf_from(ana.get("/desk").get_data(as_text=True))
    assert ana.post("/desk/practitioners/ana/hours", data={"csrf_token": token, "mon": "09:00-10:00"}).status_code == 403
    with staff.app_context():
        bens = TimeOff(practitioner_id=db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ben")),
                       starts_at=datetime(2027, 3, 15, tzinfo=UTC), ends_at=datetime(2027, 3, 16, tzinfo=UTC))
        db.session.add(bens)
        db.session.commit()
        bens_id = bens.id
    # Ben's time off through Ana's address: not found; through Ben's: not allowed.
    assert ana.post(f"/desk/practitioners/ana/time-off/{bens_id}/remove", data={"csrf_token": token}).status_code == 404
    assert ana.post(f"/desk/practitioners/ben/time-off/{bens_id}/remove", data={"csrf_token": token}).status_code == 403
    assert count(staff, TimeOff) == 2


# --- patients -------------------------------------------------------------------------

@pytest.mark.parametrize("search", [
    {"text": "pat cal"}, {"text": "PAT@example"}, {"text": "(213) 555-0142"}, {"text": "", "born_on": "1980-04-02"},
])
def test_find_a_patient_by_name_email_phone_or_birth_date(staff, desk, search):  # noqa: F811
    book_online(staff)
    book_online(staff, start="2027-03-09T11:00:00-08:00", name="Someone Else", email="else@example.com",
                phone="415 000 9999", birth_date="1990-01-01")
    response = submit(desk, "/desk/patients", search)
    text = response.get_data(as_text=True)
    assert "1 patient found" in text and "Pat Caller" in text and "Someone Else" not in text
    assert response.request.url.endswith("/desk/patients")  # searched with a POST: nothing typed lands in a URL


def test_an_empty_search_asks_for_something_to_find(desk):
    assert "Enter part of a name" in submit(desk, "/desk/patients", {"text": "  "}).get_data(as_text=True)


def test_the_patient_page_lists_visits_and_a_practitioner_sees_only_their_patients(staff, desk, login_as):  # noqa: F811
    book_online(staff)
    bens = book_online(staff, start="2027-03-10T11:00:00-08:00", practitioner="ben", name="Bea Ben", email="bea@example.com")
    pat = appointment(staff, book_online(staff, start="2027-03-10T10:00:00-08:00")["reference"])
    page = desk.get(f"/desk/patients/{pat.patient.id}").get_data(as_text=True)
    assert "213 555 0142" in page and "pat@example.com" in page and page.count("Short treatment") == 2
    ana = login_as(StaffRole.PRACTITIONER)
    assert ana.get(f"/desk/patients/{pat.patient.id}").status_code == 200
    assert ana.get(f"/desk/patients/{appointment(staff, bens['reference']).patient.id}").status_code == 404
    assert "Bea Ben" not in submit(ana, "/desk/patients", {"text": "example.com"}).get_data(as_text=True)


def test_the_history_names_the_patients_own_changes_too(staff, desk):  # noqa: F811
    made = book_online(staff)
    manage = made["manage_url"].replace("http://clinic.test", "")
    patient = staff.test_client()
    token = csrf_from(patient.get(f"{manage}/cancel").get_data(as_text=True))
    assert patient.post(f"{manage}/cancel", data={"csrf_token": token, "reason": "Feeling better"}).status_code == 303
    history = appointment(staff, made["reference"]).history
    assert [(e.action, e.actor) for e in history] == [("booked", "Patient"), ("cancelled", "Patient")]
    assert history[0].detail.endswith("booked through the booking API") and history[1].detail == "Feeling better"


# --- what a first review by a fresh pair of eyes found --------------------------------

def test_a_visit_marked_completed_stays_a_record_it_is_not_cancelled_or_moved(staff, desk):  # noqa: F811
    made = appointment(staff, book_online(staff, start="2027-03-08T10:00:00-08:00")["reference"])
    for _ in range(6):
        staff.config["CLOCK"].advance(minutes=25)
        desk.get("/desk")
    detail = f"/desk/appointments/{made.id}"
    assert submit(desk, f"{detail}/status/completed", {}, page=detail).status_code == 303
    page = desk.get(detail).get_data(as_text=True)
    assert "Undo: back to arrived" in page and "Cancel appointment" not in page and "Move appointment" not in page
    token = csrf_from(page)
    refused = desk.post(f"{detail}/cancel", data={"csrf_token": token, "reason": "patient"})
    assert refused.status_code == 303 and "Undo the mark first" in desk.get(refused.location).get_data(as_text=True)
    desk.post(f"{detail}/move?date=2027-03-09", data={"csrf_token": token, "practitioner": "ana",
                                                      "start": "2027-03-09T11:00:00-08:00"})
    kept = appointment(staff, made.reference)
    assert kept.status is AppointmentStatus.COMPLETED and kept.starts_at == made.starts_at


@pytest.mark.parametrize("path", ["/desk/appointments/99999999999999999999999", "/desk/patients/99999999999999999999999",
                                  "/desk/appointments/99999999999999999999999/cancel"])
def test_ids_too_large_for_any_record_are_not_found(desk, path):
    assert desk.get(path).status_code == 404


def test_enormous_patient_ids_in_links_are_ignored(desk):
    assert desk.get("/desk?patient=99999999999999999999999").status_code == 200
    page = desk.get("/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=99999999999999999999999")
    assert "Who is the appointment for?" in page.get_data(as_text=True)


def test_a_visit_too_long_for_the_gap_says_so_rather_than_taken(staff, desk):  # noqa: F811
    book_online(staff)  # Tuesday 10:00 with Ana
    response = submit(desk, "/desk/book?practitioner=ana&start=2027-03-09T09:30:00-08:00&patient=new",
                      new_caller("Long Visit", service="consult"))
    assert response.status_code == 200
    # What does fit then is named: the short treatment ends as the 10:00 visit begins.
    assert ("Consultation takes 60 minutes and 15 to clear up, and Ana Test is not free that long from 9:30 AM. "
            "Short treatment (30 minutes) would fit then; otherwise choose another time."
            in response.get_data(as_text=True))
    assert count(staff, Appointment) == 1


def test_what_fits_instead_leaves_out_a_visit_for_new_patients_when_the_caller_has_been_before(staff, desk):  # noqa: F811
    """Ana also offers a 15-minute talk for new patients. At 9:45, before her 10:00 visit, it fits
    where the short treatment does not: named to a new caller, not to Pat, who has booked before."""
    book_online(staff)  # Pat Caller, Tuesday 10:00 with Ana
    with staff.app_context(), write_transaction():
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        ana.services.append(Service(slug="intro", name="Introductory talk", minutes=15, new_patients_only=True))
    start = "/desk/book?practitioner=ana&start=2027-03-09T09:45:00-08:00&patient=new"
    new = submit(desk, start, new_caller("New Person")).get_data(as_text=True)
    assert ("Short treatment takes 30 minutes, and Ana Test is not free that long from 9:45 AM. Introductory talk "
            "(15 minutes) would fit then; otherwise choose another time.") in html.unescape(new)
    returning = submit(desk, start, new_caller("Pat Caller", email="pat@example.com", birth_day="2", birth_month="4",
                                               birth_year="1980")).get_data(as_text=True)
    assert ("Short treatment takes 30 minutes, and Ana Test is not free that long from 9:45 AM. Choose another "
            "time.") in html.unescape(returning)
    assert count(staff, Appointment) == 1


def test_a_free_time_too_short_for_any_visit_offers_no_book_and_a_visit_past_the_hours_says_so(staff, desk):  # noqa: F811
    """A hands-on trial was offered "Book" at 1:45 PM with hours ending at 2:00 and no service
    shorter than 20 minutes, then refused in general words. Ana's morning ends at 12:30 and her
    shortest visit takes 30 minutes; Ben's day ends at 4:00 PM."""
    def offered(page: str) -> set[str]:
        return set(re.findall(r'start=2027-03-0[89]T(\d\d:\d\d)', page))

    tuesday = offered(desk.get("/desk?date=2027-03-09").get_data(as_text=True))
    assert {"12:00", "16:30", "13:30"} <= tuesday and not {"12:15", "16:45"} & tuesday
    week = offered(desk.get("/desk/week?date=2027-03-09&practitioner=ana").get_data(as_text=True))
    assert "12:00" in week and "12:15" not in week
    response = submit(desk, "/desk/book?practitioner=ana&start=2027-03-09T12:00:00-08:00&patient=new",
                      new_caller("Long Visit", service="consult"))
    assert ("Consultation takes 60 minutes, and Ana Test's hours end at 12:30 PM. Short treatment (30 minutes) "
            "would fit then; otherwise choose another time.") in html.unescape(response.get_data(as_text=True))
    # Nothing Ana offers fits at 12:15: no "shorter visit" is advised when there is none.
    response = submit(desk, "/desk/book?practitioner=ana&start=2027-03-09T12:15:00-08:00&patient=new",
                      new_caller("Long Visit", service="short"))
    assert ("Short treatment takes 30 minutes, and Ana Test's hours end at 12:30 PM. Choose another time."
            in html.unescape(response.get_data(as_text=True)))
    assert count(staff, Appointment) == 0


def test_a_new_patient_whose_details_belong_to_someone_else_is_not_filed_under_them(staff, desk):  # noqa: F811
    book_online(staff)
    response = submit(desk, "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new", new_caller(
        "Completely Different", email="pat@example.com", birth_day="2", birth_month="4", birth_year="1980"))
    assert "This email address and date of birth belong to Pat Caller" in response.get_data(as_text=True)
    assert count(staff, Appointment) == 1


def test_the_nearby_times_book_with_what_was_typed(staff, desk):  # noqa: F811
    book_online(staff)
    taken = submit(desk, "/desk/book?practitioner=ana&start=2027-03-09T10:00:00-08:00&patient=new",
                   new_caller("Second Caller")).get_data(as_text=True)
    instead = re.search(r'formaction="([^"]+)"', taken).group(1).replace("&amp;", "&")
    booked = desk.post(instead, data={"csrf_token": csrf_from(taken), **new_caller("Second Caller")})
    assert booked.status_code == 303 and count(staff, Appointment) == 2


def test_sign_in_returns_to_the_page_asked_for(staff):  # noqa: F811
    from tests.test_staff import ACCOUNTS, PASSWORD

    client = staff.test_client()
    asked = client.get("/desk/week?date=2027-03-10")
    assert asked.status_code == 302
    sign_in_page = client.get(asked.location)
    assert "session ended after 30 minutes without activity" in sign_in_page.get_data(as_text=True)
    token = csrf_from(sign_in_page.get_data(as_text=True))
    done = client.post(asked.location, data={"csrf_token": token, "email": ACCOUNTS[StaffRole.RECEPTIONIST],
                                             "password": PASSWORD})
    assert done.status_code == 303 and done.location == "/desk/week?date=2027-03-10"
    other = staff.test_client()
    token = csrf_from(other.get("/staff/sign-in").get_data(as_text=True))
    away = other.post("/staff/sign-in?next=//evil.example/", data={
        "csrf_token": token, "email": ACCOUNTS[StaffRole.RECEPTIONIST], "password": PASSWORD})
    assert away.location == "/desk"


def test_a_form_sent_after_the_session_ended_leads_to_a_page_after_signing_in_not_a_405(staff, desk):  # noqa: F811
    """A desk left open past the idle limit: its cookie still holds the CSRF token, so pressing
    "Mark arrived" is sent to sign in with the form's address as ?next=, an address only POST
    opens. Signing in went there and showed "Method Not Allowed"; it goes to a page instead."""
    from tests.test_staff import ACCOUNTS, PASSWORD

    visit = appointment(staff, book_online(staff, start="2027-03-08T10:00:00-08:00")["reference"])
    page = desk.get(f"/desk/appointments/{visit.id}").get_data(as_text=True)
    staff.config["CLOCK"].advance(minutes=31)  # the receptionist stepped away
    sent = desk.post(f"/desk/appointments/{visit.id}/status/arrived", data={"csrf_token": csrf_from(page)})
    assert sent.status_code == 302 and "/staff/sign-in?next=" in sent.location
    sign_in_page = desk.get(sent.location).get_data(as_text=True)
    assert "so what you sent was not saved" in sign_in_page
    done = desk.post(sent.location, data={"csrf_token": csrf_from(sign_in_page),
                                          "email": ACCOUNTS[StaffRole.RECEPTIONIST], "password": PASSWORD})
    assert done.status_code == 303
    assert desk.get(done.location).status_code == 200
    assert appointment(staff, visit.reference).status is AppointmentStatus.BOOKED  # the form was not saved


def test_search_words_in_any_order_and_wildcards_are_plain_characters(staff, desk):  # noqa: F811
    book_online(staff)
    assert "1 patient found" in submit(desk, "/desk/patients", {"text": "Caller Pat"}).get_data(as_text=True)
    # Last name first, with a comma, as a desk often types it: it found nobody (a hands-on trial).
    assert "1 patient found" in submit(desk, "/desk/patients", {"text": "Caller, Pat"}).get_data(as_text=True)
    assert "0 patients found" in submit(desk, "/desk/patients", {"text": "%"}).get_data(as_text=True)
    assert "Enter part of a name, email address or phone number" in submit(
        desk, "/desk/patients", {"text": " , ; "}).get_data(as_text=True)  # it found everyone (a trial)


def test_hours_accept_one_digit_hours_and_time_off_needs_a_real_near_date(staff, desk):  # noqa: F811
    submit(desk, "/desk/practitioners/ben/hours", {"mon": "9:00-12:00", "tue": "", "wed": "", "thu": "", "fri": "",
                                                   "sat": "", "sun": ""})
    assert hours_of(staff, "ben") == [(0, time(9), time(12))]
    path = "/desk/practitioners/ana/time-off"
    assert "2027-02-30 does not exist" in submit(desk, path, {"start_date": "2027-02-30", "end_date": "2027-03-01"}
                                                  ).get_data(as_text=True)
    assert "within the next three years" in submit(desk, path, {"start_date": "8999-12-30", "end_date": "8999-12-31"}
                                                   ).get_data(as_text=True)
    assert "Enter a last day in the next few years" in submit(
        desk, path, {"start_date": "2027-03-10", "end_date": "9999-12-31"}).get_data(as_text=True)
    assert count(staff, TimeOff) == 0


@pytest.mark.parametrize("region, where", [("US", "Contact your own doctor or an urgent care center today."),
                                           ("GB", "Contact your GP, or NHS 111.")])
def test_an_urgent_phone_booking_gives_the_receptionist_words_for_the_caller(staff, desk, region, where):  # noqa: F811
    with staff.app_context():
        db.session.get(Clinic, 1).region = region
        db.session.commit()
    target = "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new"
    response = submit(desk, target, new_caller("Weak Caller", symptoms="worsening_weakness"))
    assert response.status_code == 303
    page = desk.get(response.location).get_data(as_text=True).replace("&#34;", '"')
    assert f'Tell the caller: "Some of your answers need a doctor within 24 hours, before this visit. {where}' in page
    with staff.app_context():
        assert db.session.scalar(sa.select(Appointment.safety_flags)) == ["worsening_weakness"]


def test_aortic_symptoms_stop_a_phone_booking_and_the_card_says_ambulance(staff, desk):  # noqa: F811
    target = "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new"
    response = submit(desk, target, new_caller("Faint Caller", symptoms="aortic_symptoms"))
    text = " ".join(response.get_data(as_text=True).split())
    assert response.status_code == 422 and "Nothing was booked" in text
    assert "if they feel faint, dizzy or cold and sweaty, they should call" in text
    assert count(staff, Appointment) == 0


def test_the_safety_questions_speak_to_the_receptionist(desk):
    target = "/desk/book?practitioner=ana&start=2027-03-09T11:00:00-08:00&patient=new"
    page = desk.get(target).get_data(as_text=True)
    assert "Ask the caller: do any of these apply to them now?" in page
    assert '<legend class="choices-group__legend">General health</legend>' in page
    unanswered = new_caller("Quiet Caller") | {"symptoms": []}
    assert "Ask the caller each question" in submit(desk, target, unanswered).get_data(as_text=True)
    both = new_caller("Quiet Caller") | {"symptoms": ["none", "fever"]}
    assert "applies to the caller" in submit(desk, target, both).get_data(as_text=True)


# --- the clinic's locale, one column at a time, and plain refusals -----------------------

ROW_LABEL = re.compile(r'<th scope="row" class="calendar__time">([^<]+)</th>')


def shift(app, reference: str, minutes: int) -> None:
    """Move a visit off the grid's step, as hours or a step changed after booking can leave one."""
    with app.app_context():
        found = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        moved = timedelta(minutes=minutes)
        found.starts_at, found.ends_at, found.occupied_until = (
            found.starts_at + moved, found.ends_at + moved, found.occupied_until + moved)
        db.session.commit()


def test_a_visit_off_the_step_shows_in_its_regular_row_and_adds_none(staff, desk):  # noqa: F811
    made = book_online(staff)  # Tuesday 10:00-10:30 with Ana
    shift(staff, made["reference"], 35)  # now 10:35-11:05
    day = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    rows = ROW_LABEL.findall(day)
    assert rows[0] == "9:00 AM" and "10:30 AM" in rows and "10:35 AM" not in rows and "11:05 AM" not in rows
    assert all(re.fullmatch(r"\d{1,2}:(00|15|30|45) [AP]M", row) for row in rows)  # only the 15-minute steps
    assert "block--off-row" in day and "10:35 AM–11:05 AM" in day and "Pat Caller" in day
    after_row = day[day.index(">10:30 AM</th>"):day.index(">10:45 AM</th>")]
    assert "Pat Caller" in after_row  # the card sits in the 10:30 row


def test_a_uk_clinic_reads_the_desk_in_its_own_24_hour_clock(staff, desk):  # noqa: F811
    with staff.app_context():
        db.session.get(Clinic, 1).locale = "en_GB"
        db.session.commit()
    book_online(staff)
    day = desk.get("/desk?date=2027-03-09").get_data(as_text=True)
    assert "Tuesday, 9 March 2027" in day and ROW_LABEL.findall(day)[0] == "09:00"
    assert "10:00–10:30" in day and " AM" not in day
    hours = desk.get("/desk/practitioners/ana/hours").get_data(as_text=True)
    assert 'rows="2">09:00–12:30\n13:30–17:00</textarea>' in hours


def test_hours_read_in_the_clinics_locale_and_accept_what_people_type(staff, desk):  # noqa: F811
    page = desk.get("/desk/practitioners/ana/hours").get_data(as_text=True)
    assert 'id="mon" name="mon" rows="2">9:00 AM–12:30 PM\n1:30 PM–5:00 PM</textarea>' in page  # a period a line
    unchanged = hours_of(staff, "ana")
    form = {key: "" for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    form |= {"mon": "9:00 AM–12:30 PM\r\n1:30 PM–5:00 PM\r\n", "tue": "09:00-12:30, 13:30-17:00",
             "wed": "9am-12:30pm, 1:30pm-5pm", "thu": "9:00 a.m. to 12:30 p.m., 1:30 p.m. to 5:00 p.m.",
             "fri": "9 AM-12:30 PM, 13:30-17:00"}
    assert submit(desk, "/desk/practitioners/ana/hours", form).status_code == 303
    assert hours_of(staff, "ana") == unchanged


def test_a_phone_shows_one_practitioner_at_a_time(staff, desk):  # noqa: F811
    book_online(staff)  # Tuesday 10:00 with Ana
    everyone = desk.get("/desk?date=2027-03-08").get_data(as_text=True)
    assert '<strong aria-current="page">Everyone</strong>' in everyone
    assert 'href="/desk?date=2027-03-08&amp;practitioner=ben"' in everyone
    ben = desk.get("/desk?date=2027-03-08&practitioner=ben").get_data(as_text=True)
    assert '<strong aria-current="page">Ben Test</strong>' in ben and 'href="/desk?date=2027-03-08">Everyone' in ben
    assert "practitioner=ben&amp;start=" in ben and "practitioner=ana&amp;start=" not in ben
    assert 'href="/desk?date=2027-03-09&amp;practitioner=ben"' in ben  # the next day keeps the choice
    assert "Pat Caller" not in desk.get("/desk?date=2027-03-09&practitioner=ben").get_data(as_text=True)
    assert "Pat Caller" in desk.get("/desk?date=2027-03-09&practitioner=ana").get_data(as_text=True)
    unknown = desk.get("/desk?date=2027-03-08&practitioner=nobody").get_data(as_text=True)
    assert "practitioner=ana&amp;start=" in unknown and "practitioner=ben&amp;start=" in unknown


def test_removing_time_off_asks_first_and_keep_changes_nothing(staff, desk):  # noqa: F811
    path = "/desk/practitioners/ana/time-off"
    submit(desk, path, {"start_date": "2027-12-24", "end_date": "2027-12-28", "reason": "Holiday"})
    page = desk.get(path).get_data(as_text=True)
    removal = re.search(r'href="(/desk/practitioners/ana/time-off/\d+/remove)"', page).group(1)
    asked = desk.get(removal).get_data(as_text=True)
    assert "Remove time off for Ana Test?" in asked and "Holiday" in asked
    assert "<dd>Fri, Dec 24 – Tue, Dec 28 (all day)</dd>" in asked
    keep = re.search(r'href="([^"]+)">Keep</a>', asked).group(1)
    assert keep == path and count(staff, TimeOff) == 1
    assert desk.post(removal, data={}).status_code == 400  # no token: not a confirmation
    assert count(staff, TimeOff) == 1
    assert submit(desk, removal, {}).status_code == 303 and count(staff, TimeOff) == 0


def test_a_refusal_says_whose_page_it_is_and_where_to_go(staff, login_as):  # noqa: F811
    receptionist = login_as(StaffRole.RECEPTIONIST)
    refused = receptionist.get("/admin/settings")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "This page is for admins." in text and "You are signed in as a receptionist." in text
    assert '<a href="/desk">Go to the calendar</a>' in text and "Forbidden" not in text
    ana = login_as(StaffRole.PRACTITIONER)
    other = ana.get("/desk/book?practitioner=ben&start=2027-03-10T12:00:00-08:00&patient=new")
    text = other.get_data(as_text=True)
    assert other.status_code == 403
    assert "book, change and add time off only in your own" in text and "You are signed in as a practitioner." in text
    assert '<a href="/clinician">Go to your day</a>' in text


def test_titles_and_messages_read_well_for_a_name_that_ends_in_a_full_stop(staff, desk):  # noqa: F811
    with staff.app_context():
        db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana")).name = "Mei Lin, L.Ac."
        db.session.commit()
    made = book_online(staff, name="Jo Smith Jr.")  # Tuesday 10:00 with Mei Lin
    appointment_id = appointment(staff, made["reference"]).id
    pages = {path: desk.get(path).get_data(as_text=True) for path in (
        "/desk/practitioners/ana/hours", "/desk/practitioners/ana/time-off", "/desk/week?date=2027-03-09&practitioner=ana",
        f"/desk/appointments/{appointment_id}/cancel", f"/desk/appointments/{appointment_id}/move")}
    saved = submit(desk, "/desk/practitioners/ana/hours", {"mon": "9:00-17:00", "tue": "9:00-17:00"})
    pages["saved"] = desk.get(saved.location).get_data(as_text=True)
    assert "<h1>Working hours: Mei Lin, L.Ac.</h1>" in pages["/desk/practitioners/ana/hours"]
    assert "<h1>Time off: Mei Lin, L.Ac.</h1>" in pages["/desk/practitioners/ana/time-off"]
    assert "Appointments of Mei Lin, L.Ac., week of March 8, 2027" in pages["/desk/week?date=2027-03-09&practitioner=ana"]
    assert "<h1>Cancel the appointment of Jo Smith Jr.</h1>" in pages[f"/desk/appointments/{appointment_id}/cancel"]
    assert "<h1>Move the appointment of Jo Smith Jr.</h1>" in pages[f"/desk/appointments/{appointment_id}/move"]
    assert "Working hours saved for Mei Lin, L.Ac.</p>" in pages["saved"]
    for path, page in pages.items():
        assert ".'s" not in page and "L.Ac.." not in page and "Jr.." not in page, path


PATIENT_FOOTER = ("Reading for patients", "Questions about a booking?", "In an emergency, call")


@pytest.mark.parametrize("role, paths", [
    (StaffRole.RECEPTIONIST, ("/desk", "/desk/week", "/desk/practitioners/ana/hours", "/desk/patients", "/desk/nowhere")),
    (StaffRole.PRACTITIONER, ("/clinician",)),
    (StaffRole.ADMIN, ("/admin", "/admin/settings")),
])
def test_staff_pages_carry_the_staff_footer_not_the_patients(staff, login_as, role, paths):  # noqa: F811
    client = login_as(role)
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        footer = page[page.index('<footer class="site-footer">'):]
        assert "Pages for the staff of Test Clinic." in footer, path
        assert not [words for words in PATIENT_FOOTER if words in footer], path


def test_patient_pages_and_the_sign_in_page_each_keep_their_own_footer(staff):  # noqa: F811
    client = staff.test_client()
    for path in ("/", "/articles", "/no-such-page"):  # a patient's 404 is a patient page too
        page = client.get(path).get_data(as_text=True)
        assert all(words in page for words in PATIENT_FOOTER) and "Pages for the staff" not in page, path
    sign_in_page = client.get("/staff/sign-in").get_data(as_text=True)
    assert "Pages for the staff of Test Clinic." in sign_in_page
    assert not [words for words in PATIENT_FOOTER if words in sign_in_page]


LA = ZoneInfo("America/Los_Angeles")


def local(day: str, clock: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=LA)


@pytest.mark.parametrize("starts, ends, locale, words", [
    (local("2027-12-24"), local("2027-12-25"), "en_US", "Fri, Dec 24 (all day)"),
    (local("2027-12-24"), local("2027-12-29"), "en_US", "Fri, Dec 24 – Tue, Dec 28 (all day)"),
    (local("2027-12-24"), local("2027-12-24", "12:00"), "en_US", "Fri, Dec 24 until 12:00 PM"),
    (local("2027-12-24", "14:00"), local("2027-12-25"), "en_US", "Fri, Dec 24 from 2:00 PM"),
    (local("2027-12-24", "09:00"), local("2027-12-24", "12:30"), "en_US", "Fri, Dec 24, 9:00 AM–12:30 PM"),
    (local("2027-12-24"), local("2027-12-27", "12:00"), "en_US", "Fri, Dec 24 – Mon, Dec 27 until 12:00 PM"),
    (local("2027-12-24", "14:00"), local("2027-12-28"), "en_US", "Fri, Dec 24 from 2:00 PM – Mon, Dec 27"),
    (local("2027-12-30"), local("2028-01-04"), "en_US", "Thu, Dec 30, 2027 – Mon, Jan 3, 2028 (all day)"),
    (local("2028-02-01"), local("2028-02-02"), "en_US", "Tue, Feb 1, 2028 (all day)"),
    (local("2027-12-24"), local("2027-12-29"), "en_GB", "Fri 24 Dec – Tue 28 Dec (all day)"),
    (local("2027-12-24"), local("2027-12-24", "12:00"), "en_GB", "Fri 24 Dec until 12:00"),
])
def test_time_off_reads_as_people_say_it(starts, ends, locale, words):
    assert time_off_when(starts, ends, locale, date(2027, 3, 8)) == words


OWN_CALENDAR_ONLY_WORDS = "book, change and add time off only in your own"


def test_a_practitioner_gets_the_same_answer_for_another_practitioners_visit_and_for_none(staff, login_as):  # noqa: F811
    """/clinician/visits/ID answers 404 for both; the desk's pages answered 403 for another practitioner's
    visit. The same answer for an id that names no visit, so the answer tells nothing of which ids exist."""
    bens = book_online(staff, start="2027-03-08T10:00:00-08:00", practitioner="ben", name="Bo Bens",
                       email="bo@example.com")
    with staff.app_context():
        other = db.session.scalar(sa.select(Appointment.id).where(Appointment.reference == bens["reference"]))
    ana = login_as(StaffRole.PRACTITIONER)
    token = csrf_from(ana.get("/desk").get_data(as_text=True))
    answers = {}
    for visit in (other, other + 1000, 2147483647):
        for path in ("", "/cancel", "/move", "/cancel-course"):
            response = ana.get(f"/desk/appointments/{visit}{path}")
            answers.setdefault(("GET", path), set()).add((response.status_code, OWN_CALENDAR_ONLY_WORDS in response.get_data(as_text=True)))
        for path in ("/status/arrived", "/status/booked", "/email-questions", "/confirm-identity", "/cancel", "/move",
                     "/cancel-course"):
            response = ana.post(f"/desk/appointments/{visit}{path}", data={"csrf_token": token, "reason": "x"})
            answers.setdefault(("POST", path), set()).add((response.status_code, OWN_CALENDAR_ONLY_WORDS in response.get_data(as_text=True)))
    assert {key: len(found) for key, found in answers.items()} == dict.fromkeys(answers, 1), answers
    assert all(status == 403 for found in answers.values() for status, _words in found), answers
    desk = login_as(StaffRole.RECEPTIONIST)  # who runs the desk is told plainly that no such visit exists
    assert desk.get("/desk/appointments/2147483647").status_code == 404
