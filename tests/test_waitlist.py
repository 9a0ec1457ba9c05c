"""The waitlist's operations on both databases: joining with the booking's safety check, offers
when time frees up (first to join first, a few at a time, never inside the minimum notice),
taking an offer with the booking's no-overlap guarantee, losing one kindly, expiry, leaving;
and the emails, read from a real SMTP server."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking.notify import outbox
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    OfferState,
    OutboxMessage,
    OutboxStatus,
    Practitioner,
    TimeOff,
    WaitlistEntry,
    WaitlistLink,
    WaitlistOffer,
    WaitlistState,
    WorkingHours,
)
from booking.operations import bookings, waitlist
from booking.operations.history import PATIENT
from booking.operations.problems import CannotBook, InvalidInput
from booking.scheduling import UTC, wall_clock_instant
from booking.tokens import hash_token
from booking.transaction import write_transaction
from tests.mail import text_of
from tests.test_emails import mail, send  # noqa: F401 (fixture)

TUESDAY = date(2027, 3, 9)
TUESDAY_10 = datetime(2027, 3, 9, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles


def details(n: int = 1) -> bookings.PatientDetails:
    return bookings.PatientDetails(f"Wait Er{n}", f"wait{n}@example.com", "213 555 0142", date(1980, 4, 2))


def wishes(**changes) -> waitlist.Wishes:
    values = {"service": "short", "practitioner": "ana", "first_day": TUESDAY, "last_day": TUESDAY + timedelta(days=7),
              "weekdays": (), "parts_of_day": ()}
    return waitlist.Wishes(**(values | changes))


def join(app, n: int = 1, *, safety=(), **changes) -> waitlist.Joined:
    with app.app_context():
        return waitlist.join(waitlist.JoinRequest(wishes(**changes), details(n), tuple(safety)), app.config["CLOCK"]())


def local(day: date, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return wall_clock_instant(day, time(hour, minute), ZoneInfo("America/Los_Angeles"))


def only_ten_oclock_on_tuesday(app) -> int:
    """Ana's Tuesday holds one bookable 30-minute time, 10:00, and it is booked; returns that visit's id."""
    with app.app_context(), write_transaction():
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        db.session.add_all([TimeOff(practitioner=ana, starts_at=local(TUESDAY, 9), ends_at=local(TUESDAY, 10)),
                            TimeOff(practitioner=ana, starts_at=local(TUESDAY, 10, 30), ends_at=local(TUESDAY, 17))])
    with app.app_context():
        booked = bookings.book(bookings.BookingRequest("short", "ana", TUESDAY_10, details(99)), app.config["CLOCK"]())
        return booked.appointment.id


def cancel(app, appointment_id: int) -> None:
    with app.app_context():
        bookings.cancel(appointment_id, "", app.config["CLOCK"]())


def offers(app) -> list[tuple[str, str, datetime]]:
    """(patient's email, state, start) of every offer, oldest first."""
    with app.app_context():
        return [(o.entry.email, o.state.value, o.starts_at) for o in
                db.session.scalars(sa.select(WaitlistOffer).order_by(WaitlistOffer.id))]


def entry_state(app, entry_id: int) -> WaitlistState:
    with app.app_context():
        return db.session.get(WaitlistEntry, entry_id).state


def offer_id_of(app, entry_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(WaitlistOffer.id).where(WaitlistOffer.entry_id == entry_id))


# --- joining -------------------------------------------------------------------------------------

def test_joining_keeps_the_place_with_only_the_links_hash_and_the_urgent_answers(clinic):
    joined = join(clinic, safety=["night_pain"], weekdays=(1, 3), parts_of_day=("evening", "morning"))
    with clinic.app_context():
        entry = db.session.get(WaitlistEntry, joined.entry_id)
        assert entry.link_hash == hash_token(joined.token) and joined.token not in str(entry.__dict__)
        assert entry.safety_answers == ["night_pain"] and entry.state is WaitlistState.WAITING
        assert entry.weekdays == [1, 3] and entry.parts_of_day == ["morning", "evening"]  # in the day's order
        assert waitlist.opened_by(joined.token).id == entry.id
        assert waitlist.opened_by(joined.token + "x") is None


def test_an_emergency_answer_joins_nobody_as_it_books_nobody(clinic):
    with pytest.raises(bookings.EmergencyAnswers):
        join(clinic, safety=["saddle_numbness", "fever"])
    with pytest.raises(CannotBook, match="unknown safety codes: made_up"):
        join(clinic, safety=["made_up"])
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


@pytest.mark.parametrize("changes, field", [
    ({"service": "nothing"}, "service"),
    ({"practitioner": "ben", "service": "consult"}, "practitioner"),  # Ben does not offer it
    ({"first_day": date(2027, 3, 7)}, "first_day"),  # yesterday
    ({"last_day": date(2027, 3, 8)}, "last_day"),  # before the first day
    ({"last_day": date(2027, 5, 1)}, "last_day"),  # past the booking horizon
    ({"weekdays": (7,)}, "weekdays"),
    ({"parts_of_day": ("night",)}, "parts_of_day"),
    # Dates that hold none of the days of the week asked for: no time could ever suit the place.
    ({"first_day": TUESDAY, "last_day": TUESDAY, "weekdays": (3,)}, "weekdays"),  # no Thursday in one Tuesday
    ({"first_day": TUESDAY, "last_day": TUESDAY + timedelta(days=4), "weekdays": (0, 6)}, "weekdays"),
])
def test_a_place_asking_for_what_cannot_be_booked_is_refused_and_nothing_is_written(clinic, changes, field):
    with pytest.raises(InvalidInput) as refused:
        join(clinic, **changes)
    assert field in refused.value.problems
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_dates_without_the_days_asked_for_are_refused_in_words_and_a_change_to_them_too(clinic, clock):
    with pytest.raises(InvalidInput) as refused:
        join(clinic, first_day=TUESDAY, last_day=TUESDAY + timedelta(days=2), weekdays=(0, 4))
    assert refused.value.problems == {"weekdays": (
        "None of the dates from Mar 9, 2027 to Mar 11, 2027 falls on the days of the week chosen, so no time "
        "could be offered. Choose other days of the week, or other dates.")}
    joined = join(clinic, weekdays=(1,))
    with clinic.app_context():
        with pytest.raises(InvalidInput) as refused:
            waitlist.change(joined.entry_id, wishes(first_day=TUESDAY + timedelta(days=1),
                                                   last_day=TUESDAY + timedelta(days=2), weekdays=(1,)), clock())
        assert list(refused.value.problems) == ["weekdays"]
        db.session.rollback()
        assert db.session.get(WaitlistEntry, joined.entry_id).first_day == TUESDAY  # the place as it was


@pytest.mark.parametrize("changes, notice", [
    ({"practitioner": "ben", "weekdays": (1, 3)},  # Ben works Mondays and Wednesdays
     "As the clinic's hours stand, Ben Test does not work on the days chosen: their working days are Monday and "
     "Wednesday. The place is kept, and a time is offered if their hours change; or choose other days, or anyone."),
    ({"practitioner": "ben", "last_day": TUESDAY}, "Ben Test does not work"),  # one Tuesday
    ({"parts_of_day": ("evening",)},  # her last visit of 30 minutes starts at 16:30
     "As the clinic's hours stand, Ana Test works on those days, but has no time for a visit of 30 minutes in the "
     "parts of the day chosen. The place is kept, and a time is offered if their hours change; or choose other times "
     "of day, or anyone."),
    ({"practitioner": "any", "weekdays": (5, 6)},
     "As the clinic's hours stand, nobody who offers this visit works on the days and at the times chosen. The "
     "place is kept, and a time is offered if the hours change; or choose other days or times."),
    ({"practitioner": "ben"}, None),
    ({"parts_of_day": ("morning",), "weekdays": (1,)}, None),
])
def test_a_place_on_days_and_times_nobody_works_is_kept_and_the_person_told(clinic, changes, notice):
    """New hours are offered to the places they suit (below), so such a place is not refused; but
    until the hours change no time will come, and the person is told so."""
    joined = join(clinic, **changes)
    assert (joined.notice is None) if notice is None else notice in joined.notice
    with clinic.app_context():
        entry = db.session.get(WaitlistEntry, joined.entry_id)
        assert entry.state is WaitlistState.WAITING
        assert waitlist.unworked_notice(entry, clinic.config["CLOCK"]().date()) == joined.notice


def test_a_practitioner_with_no_hours_is_named_as_such_for_a_place(clinic, clock):
    joined = join(clinic, practitioner="ben")
    with clinic.app_context(), write_transaction():
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        ben.hours.clear()
    with clinic.app_context():
        assert waitlist.unworked_notice(db.session.get(WaitlistEntry, joined.entry_id), clock().date()) == (
            "Ben Test has no working hours at the moment. The place is kept, and a time is offered if that changes; "
            "or choose anyone.")
        # Once its dates are over, a place is told nothing of hours.
        assert waitlist.unworked_notice(db.session.get(WaitlistEntry, joined.entry_id), date(2027, 3, 17)) is None


def test_a_place_whose_remaining_dates_hold_none_of_its_days_is_told_so(clinic):
    """Mondays only, until Thursday 11 March: on the Tuesday, no Monday is left in it."""
    joined = join(clinic, weekdays=(0,), first_day=date(2027, 3, 8), last_day=date(2027, 3, 11))
    with clinic.app_context():
        entry = db.session.get(WaitlistEntry, joined.entry_id)
        assert joined.notice is None and waitlist.unworked_notice(entry, date(2027, 3, 8)) is None
        assert waitlist.unworked_notice(entry, date(2027, 3, 9)) == (
            "None of the place's remaining dates falls on the days of the week chosen, so no time will be offered. "
            "Change the days of the week or the dates.")


# --- offers when time frees up -------------------------------------------------------------------

def test_a_cancellation_offers_its_time_to_the_first_few_who_joined_and_not_to_those_it_does_not_suit(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    for n in range(1, 6):
        join(clinic, n)
        clock.advance(minutes=1)
    join(clinic, 6, parts_of_day=("afternoon",))  # wants afternoons only
    join(clinic, 7, practitioner="ben")  # Ben has no Tuesday hours
    cancel(clinic, visit)
    assert offers(clinic) == [(f"wait{n}@example.com", "open", TUESDAY_10) for n in (1, 2, 3)]


def test_a_time_the_person_already_has_a_visit_at_is_not_offered_to_them(clinic, clock):
    """An offer of a time its person could not take (they have another visit then, which their
    booking would refuse) held it from the next people until it ran out. Wait Er1 has a visit with
    Ben at 10:15 on Tuesday; Ana's 10:00 goes to Wait Er2, the list's free times leave it out for
    Wait Er1, and the desk cannot offer it to them."""
    visit = only_ten_oclock_on_tuesday(clinic)
    with clinic.app_context(), write_transaction():
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        db.session.add(WorkingHours(practitioner=ben, weekday=TUESDAY.weekday(), start_time=time(10),
                                    end_time=time(12)))
    with clinic.app_context():
        bookings.book(bookings.BookingRequest("short", "ben", TUESDAY_10 + timedelta(minutes=15), details(1)), clock())
    first = join(clinic, 1)
    clock.advance(minutes=1)
    second = join(clinic, 2)
    cancel(clinic, visit)
    assert offers(clinic) == [("wait2@example.com", "open", TUESDAY_10)]
    with clinic.app_context():
        entry = db.session.get(WaitlistEntry, first.entry_id)
        assert TUESDAY_10 not in [freed.start for freed in waitlist.free_now(entry, clock())]
        assert TUESDAY_10 in [freed.start for freed in waitlist.free_now(db.session.get(WaitlistEntry, second.entry_id),
                                                                          clock())]
        ana = db.session.scalar(sa.select(Practitioner.id).where(Practitioner.slug == "ana"))
        with pytest.raises(CannotBook, match="Wait Er1 already has a visit at that time, so could not take it: offer them another time"):
            waitlist.offer_directly(first.entry_id, ana, TUESDAY_10, clock(), by=PATIENT)
    assert offers(clinic) == [("wait2@example.com", "open", TUESDAY_10)]  # nothing written by the refusal


def test_a_time_inside_the_minimum_notice_is_never_offered(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    join(clinic)
    clock.now = TUESDAY_10 - timedelta(hours=1, minutes=59)  # the clinic asks two hours' notice
    cancel(clinic, visit)
    assert offers(clinic) == []


def test_the_first_to_confirm_books_and_a_later_confirmation_is_told_kindly_and_stays_on_the_list(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    first, second = join(clinic, 1), join(clinic, 2)
    cancel(clinic, visit)
    with clinic.app_context():
        booked = waitlist.confirm(second.entry_id, offer_id_of(clinic, second.entry_id), clock())
        assert booked.appointment.starts_at == TUESDAY_10 and booked.appointment.booked_via == "waitlist"
        with pytest.raises(waitlist.OfferGone, match="You are still on the waitlist"):
            waitlist.confirm(first.entry_id, offer_id_of(clinic, first.entry_id), clock())
    assert entry_state(clinic, second.entry_id) is WaitlistState.BOOKED
    assert entry_state(clinic, first.entry_id) is WaitlistState.WAITING
    assert sorted(state for _, state, _ in offers(clinic)) == ["booked", "gone"]
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.starts_at == TUESDAY_10, Appointment.cancelled_at.is_(None))) == 1


def test_an_offer_that_ran_out_cannot_be_booked_and_the_next_person_is_asked(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    ids = [join(clinic, n).entry_id for n in range(1, 5)]
    cancel(clinic, visit)
    clock.advance(hours=4)  # the clinic's default: an offer holds four hours
    with clinic.app_context():
        with pytest.raises(waitlist.OfferGone):
            waitlist.confirm(ids[0], offer_id_of(clinic, ids[0]), clock())
        assert waitlist.expire(clock()) == waitlist.Expired(offers=3, entries=0)
    assert [(email, state) for email, state, _ in offers(clinic)] == [
        ("wait1@example.com", "expired"), ("wait2@example.com", "expired"), ("wait3@example.com", "expired"),
        ("wait4@example.com", "open")]
    assert all(entry_state(clinic, entry_id) is WaitlistState.WAITING for entry_id in ids)


def test_an_offer_runs_out_at_the_minimum_notice_before_its_time(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    join(clinic)
    clock.now = TUESDAY_10 - timedelta(hours=3)
    cancel(clinic, visit)
    with clinic.app_context():
        assert db.session.scalar(sa.select(WaitlistOffer.expires_at)) == TUESDAY_10 - timedelta(hours=2)


def test_a_place_ends_when_its_dates_are_over(clinic, clock):
    joined = join(clinic, last_day=TUESDAY)
    clock.now = local(TUESDAY + timedelta(days=1), 0, 1)
    with clinic.app_context():
        assert waitlist.expire(clock()) == waitlist.Expired(offers=0, entries=1)
    assert entry_state(clinic, joined.entry_id) is WaitlistState.EXPIRED
    with clinic.app_context():
        assert waitlist.opened_by(joined.token) is None


def test_leaving_withdraws_the_offer_and_asks_the_next_person(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    ids = [join(clinic, n).entry_id for n in range(1, 5)]
    cancel(clinic, visit)
    with clinic.app_context():
        waitlist.leave(ids[0], clock())
    assert [(email, state) for email, state, _ in offers(clinic)] == [
        ("wait1@example.com", "withdrawn"), ("wait2@example.com", "open"), ("wait3@example.com", "open"),
        ("wait4@example.com", "open")]


def test_no_thanks_on_an_offer_asks_the_next_person_at_once_and_keeps_the_place(clinic, clock):
    """A trial found no way to turn an offer down: the time waited hours for it to run out."""
    from tests.test_booking_journey import PatientBrowser

    visit = only_ten_oclock_on_tuesday(clinic)
    places = [join(clinic, n) for n in range(1, 5)]
    cancel(clinic, visit)
    with clinic.app_context():
        offer_id = db.session.scalar(sa.select(WaitlistOffer.id).where(WaitlistOffer.entry_id == places[0].entry_id))
    patient = PatientBrowser(clinic)
    page = patient.get(f"/waitlist/{places[0].token}/offers/{offer_id}").get_data(as_text=True)
    assert "No thanks" in page and "you keep your place" in page
    offered = f"/waitlist/{places[0].token}/offers/{offer_id}"
    said_no = patient.submit(f"{offered}/decline", {"csrf_token": patient.token(offered)}, token=False)
    assert said_no.status_code == 303 and said_no.location.endswith(f"/waitlist/{places[0].token}")
    assert "so it goes to the next person. You stay on the waitlist" in patient.get(said_no.location).get_data(as_text=True)
    assert [(email, state) for email, state, _ in offers(clinic)] == [
        ("wait1@example.com", "withdrawn"), ("wait2@example.com", "open"), ("wait3@example.com", "open"),
        ("wait4@example.com", "open")]
    assert entry_state(clinic, places[0].entry_id) is WaitlistState.WAITING
    # Pressed again (a second tab): nothing more happens, and the offer's page says it has gone.
    again = patient.submit(f"{offered}/decline", {"csrf_token": patient.token(f"/waitlist/{places[0].token}")},
                           token=False)
    assert again.status_code == 303 and again.location.endswith(f"/offers/{offer_id}")
    closed = patient.get(again.location)
    assert closed.status_code == 409 and len(offers(clinic)) == 4
    assert "This offer is closed: you said no to it" in closed.get_data(as_text=True)  # not "someone else booked it"


def test_a_change_keeps_the_place_in_the_queue_and_drops_offers_it_no_longer_wants(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    joined = join(clinic)
    cancel(clinic, visit)
    with clinic.app_context():
        waitlist.change(joined.entry_id, wishes(parts_of_day=("afternoon",)), clock())
        entry = db.session.get(WaitlistEntry, joined.entry_id)
        assert entry.parts_of_day == ["afternoon"] and entry.state is WaitlistState.WAITING
    assert [state for _, state, _ in offers(clinic)] == ["withdrawn"]


def test_a_move_offers_the_time_it_left(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    join(clinic)
    with clinic.app_context():
        bookings.move(visit, local(date(2027, 3, 10), 9), clock())
    assert offers(clinic) == [("wait1@example.com", "open", TUESDAY_10)]


def test_new_hours_and_removed_time_off_are_offered(clinic, clock):
    from booking.models import StaffRole
    from booking.operations import desk
    from booking.operations.staff import add_staff

    only_ten_oclock_on_tuesday(clinic)
    join(clinic, 1, practitioner="ben", first_day=TUESDAY, last_day=TUESDAY)
    join(clinic, 2, first_day=TUESDAY, last_day=TUESDAY, parts_of_day=("afternoon",))
    with clinic.app_context():
        account = add_staff("desk.wait@example.org", "Desk", StaffRole.RECEPTIONIST, "correct horse battery", clock())
        ben = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ben"))
        desk.set_hours(account, ben, {1: [(time(13, 0), time(15, 0))]}, clock())  # Tuesdays now
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        afternoon = db.session.scalar(sa.select(TimeOff.id).where(TimeOff.starts_at == local(TUESDAY, 10, 30)))
        desk.remove_time_off(account, ana, afternoon, clock())
    assert offers(clinic) == [("wait1@example.com", "open", local(TUESDAY, 13)),
                              ("wait2@example.com", "open", local(TUESDAY, 12))]  # noon: the afternoon begins


def test_a_time_is_not_offered_back_to_the_person_whose_visit_just_left_it(clinic, clock):
    """Wait Er1 waits for a short treatment and has one booked, Tuesday 10:00 with Ana (the only time
    that day). Moving it to Wednesday freed Tuesday 10:00, which the list offered to Wait Er1: the very
    time they had just left. It goes to the next person; so does the time a cancellation gives up."""
    with clinic.app_context(), write_transaction():
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        db.session.add_all([TimeOff(practitioner=ana, starts_at=local(TUESDAY, 9), ends_at=local(TUESDAY, 10)),
                            TimeOff(practitioner=ana, starts_at=local(TUESDAY, 10, 30), ends_at=local(TUESDAY, 17))])
    with clinic.app_context():
        visit = bookings.book(bookings.BookingRequest("short", "ana", TUESDAY_10, details(1)), clock()).appointment.id
    join(clinic, 1)
    clock.advance(minutes=1)
    join(clinic, 2)
    with clinic.app_context():
        bookings.move(visit, local(TUESDAY + timedelta(days=1), 10), clock())
    assert offers(clinic) == [("wait2@example.com", "open", TUESDAY_10)]
    with clinic.app_context():
        other = bookings.book(bookings.BookingRequest("short", "ana", local(TUESDAY + timedelta(days=2), 10),
                                                      details(3)), clock()).appointment.id
    join(clinic, 3, first_day=TUESDAY + timedelta(days=2), last_day=TUESDAY + timedelta(days=2))
    cancel(clinic, other)  # their own cancelled time, and nobody else asks for that day
    assert [offer for offer in offers(clinic) if offer[0] == "wait3@example.com"] == []


# --- emails --------------------------------------------------------------------------------------

def test_the_joined_and_offer_emails_carry_links_made_as_they_are_sent(clinic, clock, mail):  # noqa: F811
    visit = only_ten_oclock_on_tuesday(clinic)
    joined = join(clinic)
    cancel(clinic, visit)
    send(clinic, mail)
    with clinic.app_context():  # the words kept as they were sent hold a placeholder, never a link
        stored = " ".join(m.text_body + m.html_body for m in db.session.scalars(sa.select(OutboxMessage))
                          if m.is_written)  # the cancelled visit's confirmation was skipped unwritten
        assert joined.token not in stored and "WAITLIST-LINK-MADE-WHEN-SENT" in stored
    [joined_email, offer_email] = [m for m in mail.to("wait1@example.com")]
    assert joined_email["Subject"] == "You are on the waitlist of Test Clinic"
    assert "between Tue, Mar 9, 2027 and Tue, Mar 16, 2027" in text_of(joined_email)
    assert offer_email["Subject"] == "A time has freed up: Tue, Mar 9, 2027, 10:00 AM PST"
    place = re.search(r"<http://clinic\.test(/waitlist/[A-Za-z0-9_-]+)>", text_of(joined_email)).group(1)
    offered = re.search(r"<http://clinic\.test(/waitlist/[A-Za-z0-9_-]+/offers/\d+)>", text_of(offer_email)).group(1)
    client = clinic.test_client()
    assert "Your place on the waitlist" in client.get(place).get_data(as_text=True)
    page = client.get(offered).get_data(as_text=True)
    assert "Book it" in page and "Ana Test" in page
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistLink)) == 2
        assert OfferState.OPEN is db.session.scalar(sa.select(WaitlistOffer.state))


def test_a_place_left_while_its_email_is_being_written_is_not_told_it_joined(clinic, clock, mail):  # noqa: F811
    """The sender looked (the place was waiting) and wrote the "joined" email; the person left before
    it went. A trial saw it sent 24 ms after the place ended, with a link to a place no longer there."""
    joined = join(clinic)
    with clinic.app_context():
        [claimed] = outbox.claim(clock(), "a-sender")
        message = db.session.get(OutboxMessage, claimed)
        assert outbox.stale_because(message, clock()) is None  # as the sender finds it first
        written = outbox.email_of(message, clock())
        db.session.rollback()
    person = clinic.test_client()  # leaves through the place's own page
    page = person.get(f"/waitlist/{joined.token}/leave").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert person.post(f"/waitlist/{joined.token}/leave", data={"csrf_token": token}).status_code == 303
    assert entry_state(clinic, joined.entry_id) is WaitlistState.LEFT

    with clinic.app_context():
        report = outbox.SendReport()
        assert outbox._prepare_attempt(claimed, "a-sender", clock(), written, report) is None  # nothing to send
        message = db.session.get(OutboxMessage, claimed)
        assert (message.status, message.last_error) == (OutboxStatus.SKIPPED, "The place is no longer on the waitlist.")
        assert not message.is_written and report.skipped == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistLink)) == 0  # no link was made
    send(clinic, mail)
    assert mail.received == []


def test_a_place_for_one_day_names_that_day_rather_than_a_range(clinic, clock, mail):  # noqa: F811
    joined = join(clinic, first_day=TUESDAY, last_day=TUESDAY)
    with pytest.raises(waitlist.AlreadyWaiting):  # joining again sends the link once more
        join(clinic, first_day=TUESDAY, last_day=TUESDAY)
    send(clinic, mail)
    first, again = [text_of(m) for m in mail.to("wait1@example.com")]
    assert "for a time on Tue, Mar 9, 2027." in first and "between" not in first
    assert "for a time on Tue, Mar 9, 2027, so nothing was changed" in again and "between" not in again
    leave = clinic.test_client().get(f"/waitlist/{joined.token}/leave").get_data(as_text=True)
    assert "You are waiting for Short treatment on March 9, 2027. If you leave" in " ".join(leave.split())


def test_the_expire_command_closes_what_ran_out_and_says_how_much(clinic, clock):
    visit = only_ten_oclock_on_tuesday(clinic)
    join(clinic)
    cancel(clinic, visit)
    clock.advance(hours=5)
    result = clinic.test_cli_runner().invoke(args=["waitlist", "expire"])
    assert result.exit_code == 0 and result.output == "Closed 1 offer that ran out and 0 places whose dates are over.\n"


def test_erasing_a_patient_takes_their_places_on_the_waitlist_and_blanks_the_emails(clinic, clock):
    from booking.operations.patient_data import ERASED_EMAIL, Who, erase

    visit = only_ten_oclock_on_tuesday(clinic)  # booked by details(99)
    with clinic.app_context():
        place = waitlist.join(waitlist.JoinRequest(wishes(), details(99)), clock())
        other = waitlist.join(waitlist.JoinRequest(wishes(), details(1)), clock())
        patient_id = db.session.get(Appointment, visit).patient_id
        erase(patient_id, "Asked to be forgotten", clock(), Who("Admin", "admin"))
        assert db.session.get(WaitlistEntry, place.entry_id) is None
        assert db.session.get(WaitlistEntry, other.entry_id) is not None  # someone else's place stays
        left = [(m.to_address, m.subject, m.text_body, m.context) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_joined").order_by(OutboxMessage.id))]
        # Theirs is blanked; the other, not yet written, keeps what writing it needs.
        assert left == [("", ERASED_EMAIL, "", None), (details(1).email, None, None, {})]


def test_the_retention_purge_removes_places_that_ended_a_month_ago_with_their_offers_and_links(clinic, clock):
    """Someone who left the list may never have visited: their name, contact details and safety
    answers go PLACES_KEPT after the place ended; a place still waiting, or ended lately, stays."""
    from booking.operations import retention

    visit = only_ten_oclock_on_tuesday(clinic)
    gone, recent, waiting = (join(clinic, n, safety=("night_pain",)) for n in (1, 2, 3))
    cancel(clinic, visit)  # offers to all three
    with clinic.app_context():
        waitlist.leave(gone.entry_id, clock())
    clock.advance(days=20)
    with clinic.app_context():
        waitlist.leave(recent.entry_id, clock())
    clock.advance(days=11)  # the first ended 31 days ago, the second 11
    idle = timedelta(minutes=clinic.config["STAFF_IDLE_MINUTES"])
    with clinic.app_context():
        assert retention.plan(clock(), idle).waitlist_places == 1
        assert retention.purge(clock(), idle).removed["waitlist_places"] == 1
        assert db.session.get(WaitlistEntry, gone.entry_id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistOffer)
                                 .where(WaitlistOffer.entry_id == gone.entry_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistLink)
                                 .where(WaitlistLink.entry_id == gone.entry_id)) == 0
        assert {db.session.get(WaitlistEntry, kept.entry_id).state for kept in (recent, waiting)} == {
            WaitlistState.LEFT, WaitlistState.WAITING}
        emails = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_address == "wait1@example.com")))
        assert emails and all(message.waitlist_entry_id is None for message in emails)  # kept for the outbox page


JOIN_FORM = {"service": "short", "practitioner": "ana", "first_day": "2027-03-09", "last_day": "2027-03-20",
             "name": "Nora Page", "email": "nora@example.com", "phone": "213 555 0151", "birth_month": "7",
             "birth_day": "9", "birth_year": "1969"}


def test_an_emergency_answer_on_the_join_page_gives_the_advice_there_and_keeps_the_typing(clinic):
    from tests.test_booking_journey import PatientBrowser

    patient = PatientBrowser(clinic)
    response = patient.submit("/waitlist/join", JOIN_FORM | {"symptoms": ["saddle_numbness"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Call 911 or go to the emergency department now" in page and "We have not put you on the waitlist" in page
    assert "change your answers below" in page and 'value="Nora Page"' in page and 'value="2027-03-20"' in page
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0
    assert patient.submit("/waitlist/join", JOIN_FORM | {"symptoms": ["none"]}).status_code == 303  # corrected


def test_the_emergency_advice_comes_at_once_whatever_else_is_wrong_on_the_join_page(clinic):
    """A hands-on trial ticked an emergency answer with the last day before the first: only the
    date's error showed, and the advice came once the date was right."""
    from tests.test_booking_journey import PatientBrowser

    patient = PatientBrowser(clinic)
    response = patient.submit("/waitlist/join", JOIN_FORM | {"symptoms": ["saddle_numbness"], "last_day": "2027-03-01",
                                                             "email": "not an email"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Call 911 or go to the emergency department now" in page and "We have not put you on the waitlist" in page
    assert 'class="error-summary"' not in page  # the advice is what the page says first
    assert page.index("Call 911") < page.index("The last day must be on or after the first day")  # beside its field
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_the_waitlist_pages_speak_the_language_the_patient_chose(clinic):
    from tests.test_booking_journey import PatientBrowser

    with clinic.app_context():
        from booking.models import Clinic
        db.session.get(Clinic, 1).languages = ["en", "es"]
        db.session.commit()
    patient = PatientBrowser(clinic)
    patient.get("/waitlist/join?language=es")
    assert "Unirse a la lista de espera" in patient.get("/waitlist/join").get_data(as_text=True)


def test_a_patient_the_clinic_knows_cannot_wait_for_a_visit_for_new_patients(clinic, clock):
    """They could never book it: the booking would refuse them, so they are told when joining."""
    only_ten_oclock_on_tuesday(clinic)  # booked by details(99)
    with clinic.app_context():
        with pytest.raises(CannotBook) as refused:
            waitlist.join(waitlist.JoinRequest(wishes(service="consult"), details(99)), clock())
        assert refused.value.field == "service" and "for patients new to the clinic" in refused.value.message
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0
        waitlist.join(waitlist.JoinRequest(wishes(service="consult"), details(5)), clock())  # someone new may
        waitlist.join(waitlist.JoinRequest(wishes(), details(99)), clock())  # and they may wait for a follow-up


# --- only freed times are offered (gap W1) -------------------------------------------------------

def test_a_cancellation_offers_the_time_it_freed_not_the_times_free_all_along(clinic, clock):
    """Ana's Tuesday has free times from 9:00; the 10:00 visit's time is the one offered, as itself."""
    with clinic.app_context():
        visit = bookings.book(bookings.BookingRequest("short", "ana", TUESDAY_10, details(99)), clock()).appointment.id
    join(clinic, 1)
    join(clinic, 2, parts_of_day=("afternoon",))  # the freed time is a morning one
    cancel(clinic, visit)
    assert offers(clinic) == [("wait1@example.com", "open", TUESDAY_10)]


def test_new_hours_offer_only_the_periods_they_add(clinic, clock):
    from booking.models import StaffRole
    from booking.operations import desk
    from booking.operations.staff import add_staff

    join(clinic, 1)  # any time with Ana: her Tuesday mornings were free all along
    join(clinic, 2, parts_of_day=("evening",))
    with clinic.app_context():
        account = add_staff("desk.hours@example.org", "Desk", StaffRole.RECEPTIONIST, "correct horse battery", clock())
        ana = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == "ana"))
        weekly = {day: [(time(9, 0), time(12, 30)), (time(13, 30), time(17, 0))] for day in range(5)}
        desk.set_hours(account, ana, weekly | {1: [(time(9, 0), time(12, 30)), (time(13, 30), time(18, 0))]}, clock())
    # Only 17:00-18:00 on Tuesdays is new: 16:45 could not be booked before (it ran past 17:00), so it is news
    # for the first place; the evening place is offered 17:00. No morning time, free all along, is offered.
    assert offers(clinic) == [("wait1@example.com", "open", local(TUESDAY, 16, 45)),
                              ("wait2@example.com", "open", local(TUESDAY, 17))]


def test_joining_again_for_the_same_visit_sends_the_link_again_and_makes_no_second_place(clinic, clock):
    first = join(clinic, 1)
    with pytest.raises(waitlist.AlreadyWaiting, match="emailed its link to you again"):
        join(clinic, 1, practitioner="any")  # same person, same visit
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 1
        kinds = [(m.kind, m.waitlist_entry_id, outbox.email_of(m, clock()).subject) for m in
                 db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]
        assert kinds == [("waitlist_joined", first.entry_id, "You are on the waitlist of Test Clinic"),
                         ("waitlist_joined", first.entry_id, "Your place on the waitlist of Test Clinic")]
        waitlist.join(waitlist.JoinRequest(wishes(service="consult"), details(1)), clock())  # another visit may wait


def test_a_place_cannot_be_changed_into_a_second_place_for_a_visit_the_person_waits_for(clinic, clock):
    kept = join(clinic, 1)
    other = join(clinic, 1, service="consult")  # one place per visit: two visits, two places
    with clinic.app_context():
        with pytest.raises(CannotBook) as refused:
            waitlist.change(other.entry_id, wishes(), clock())  # consult -> short, which they wait for already
        assert refused.value.field == "service" and "already have a place" in refused.value.message
        assert db.session.get(WaitlistEntry, other.entry_id).service.slug == "consult"  # nothing changed
        waitlist.change(kept.entry_id, wishes(practitioner="any"), clock())  # their own place, same visit


def test_a_booking_from_an_offer_stands_when_offering_the_withdrawn_times_onward_fails(clinic, clock, monkeypatch):
    """Offering a person's other times onward is its own transaction after the booking's commit; a
    failure there (a lock waited on too long, here made to happen) loses only that news."""
    from booking.transaction import Busy

    visit = only_ten_oclock_on_tuesday(clinic)
    first = join(clinic, 1)
    cancel(clinic, visit)
    with clinic.app_context(), write_transaction():  # a second open offer of theirs, as the desk makes
        db.session.add(WaitlistOffer(entry_id=first.entry_id, practitioner_id=db.session.get(
            WaitlistOffer, offer_id_of(clinic, first.entry_id)).practitioner_id, starts_at=TUESDAY_10 + timedelta(
            days=1), state=OfferState.OPEN, sent_at=clock(), expires_at=clock() + timedelta(hours=4)))

    def busy(*_args):
        raise Busy()
    monkeypatch.setattr(waitlist, "_offer_again", busy)
    with clinic.app_context():
        offer_id = db.session.scalar(sa.select(sa.func.min(WaitlistOffer.id)))
        booked = waitlist.confirm(first.entry_id, offer_id, clock())
        assert db.session.get(Appointment, booked.appointment.id).status is AppointmentStatus.BOOKED
    assert entry_state(clinic, first.entry_id) is WaitlistState.BOOKED
    assert sorted(state for _, state, _ in offers(clinic)) == ["booked", "withdrawn"]


def test_booking_from_an_offer_ends_every_place_of_that_person_for_that_visit(clinic, clock):
    """Two places of one person for one visit (joined before that was refused): taking one offer ends
    both, and the other's offer is withdrawn in the same commit; they cannot take two times."""
    visit = only_ten_oclock_on_tuesday(clinic)
    first = join(clinic, 1)
    with clinic.app_context(), write_transaction():
        copy = db.session.get(WaitlistEntry, first.entry_id)
        twin = WaitlistEntry(**{column: getattr(copy, column) for column in (
            "service_id", "practitioner_id", "first_day", "last_day", "weekdays", "parts_of_day", "name", "email",
            "phone", "born_on", "language", "safety_answers", "safety_checked_at", "joined_via", "joined_at")},
            link_hash="0" * 64, state=WaitlistState.WAITING)
        db.session.add(twin)
        db.session.flush()
        twin_id = twin.id
    cancel(clinic, visit)
    assert [email for email, _, _ in offers(clinic)] == ["wait1@example.com", "wait1@example.com"]
    with clinic.app_context():
        booked = waitlist.confirm(first.entry_id, offer_id_of(clinic, first.entry_id), clock()).appointment.id
    assert entry_state(clinic, twin_id) is WaitlistState.BOOKED
    with clinic.app_context():
        assert db.session.get(WaitlistEntry, twin_id).appointment_id == booked
        with pytest.raises(waitlist.OfferGone):
            waitlist.confirm(twin_id, offer_id_of(clinic, twin_id), clock())
    assert sorted(state for _, state, _ in offers(clinic)) == ["booked", "withdrawn"]
