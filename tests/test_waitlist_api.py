"""POST /api/v1/waitlist on both databases: a place with its secret link, and every refusal named."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import OutboxMessage, WaitlistEntry

PLACE = {"service": "short", "practitioner": "any", "from": "2027-03-09", "to": "2027-03-20",
         "weekdays": ["tue", "thu"], "parts_of_day": ["morning"], "safety": ["fever"],
         "patient": {"name": "Api Waiter", "email": "api.waiter@example.com", "phone": "213 555 0170",
                     "birth_date": "1971-06-01"}}


def test_a_place_is_made_and_its_link_opens_it(clinic):
    response = clinic.test_client().post("/api/v1/waitlist", json=PLACE)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["manage_url"].startswith("http://clinic.test/waitlist/")
    assert (body["from"], body["to"], body["practitioner"]) == ("2027-03-09", "2027-03-20", "any")
    page = clinic.test_client().get(body["manage_url"].removeprefix("http://clinic.test"))
    assert page.status_code == 200 and "Your place on the waitlist" in page.get_data(as_text=True)
    with clinic.app_context():
        [entry] = db.session.scalars(sa.select(WaitlistEntry)).all()
        assert (entry.joined_via, entry.weekdays, entry.parts_of_day, entry.safety_answers) == (
            "api", [1, 3], ["morning"], ["fever"])


def test_every_problem_is_named_in_one_answer_the_dates_order_too(clinic):
    body = PLACE | {"from": "2027-03-20", "to": "2027-03-10", "patient": PLACE["patient"] | {"name": " "}}
    response = clinic.test_client().post("/api/v1/waitlist", json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"to", "patient.name"}  # both at once, not the dates after the name is fixed
    assert errors["to"] == "The last day must be on or after the first day."
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_joining_again_is_409_already_waiting_with_no_link_and_no_second_place(clinic):
    client = clinic.test_client()
    assert client.post("/api/v1/waitlist", json=PLACE).status_code == 201
    again = client.post("/api/v1/waitlist", json=PLACE | {"practitioner": "ana", "to": "2027-03-25"})
    assert again.status_code == 409
    assert again.get_json() == {"error": "already_waiting", "message": (
        "You already have a place on the waitlist for this visit. We have emailed its link to you again: open it "
        "to see, change or leave your place.")}
    with clinic.app_context():
        [entry] = db.session.scalars(sa.select(WaitlistEntry)).all()
        assert (entry.practitioner_id, entry.last_day.isoformat()) == (None, "2027-03-20")  # unchanged
        assert [m.kind for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))] == [
            "waitlist_joined", "waitlist_joined"]  # the link, sent again


@pytest.mark.parametrize("changes, status, field", [
    ({"practioner": "ana"}, 422, "practioner"),  # a misspelt key is refused by name
    ({"from": "2027-02-30"}, 422, "from"),
    ({"to": "2027-03-01"}, 422, "to"),  # before "from"
    ({"weekdays": ["monday"]}, 422, "weekdays"),
    ({"parts_of_day": "morning"}, 422, "parts_of_day"),
    ({"safety": None}, 422, "safety"),
    ({"patient": {"name": "X"}}, 422, "patient.email"),
    ({"patient": PLACE["patient"] | {"name": "Api \u202eretiaW"}}, 422, "patient.name"),  # a hidden override
])
def test_each_bad_field_is_named_and_nothing_is_written(clinic, changes, status, field):
    response = clinic.test_client().post("/api/v1/waitlist", json=PLACE | changes)
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["errors"]
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_an_emergency_answer_gets_the_advice_and_no_place(clinic):
    response = clinic.test_client().post("/api/v1/waitlist", json=PLACE | {"safety": ["chest_pain"]})
    assert response.status_code == 422 and response.get_json()["error"] == "emergency"
    assert "Call 911" in response.get_json()["advice"]
    assert clinic.test_client().post("/api/v1/waitlist", data="{").status_code == 400


@pytest.mark.parametrize("change, field", [({"service": "massage"}, "service"), ({"practitioner": "nobody"}, "practitioner")])
def test_an_unknown_service_or_practitioner_is_404_as_for_a_booking(clinic, change, field):
    response = clinic.test_client().post("/api/v1/waitlist", json=PLACE | change)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"] == "not_found" and response.get_json()["field"] == field


def test_a_place_with_none_of_its_days_is_refused_and_one_on_days_nobody_works_is_told(clinic):
    client = clinic.test_client()
    refused = client.post("/api/v1/waitlist", json=PLACE | {"from": "2027-03-09", "to": "2027-03-09", "weekdays": ["thu"]})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"weekdays": (
        "None of the dates from Mar 9, 2027 to Mar 9, 2027 falls on the days of the week chosen, so no time could "
        "be offered. Choose other days of the week, or other dates.")}
    kept = client.post("/api/v1/waitlist", json=PLACE | {"practitioner": "ben"})  # Tuesday and Thursday mornings
    assert kept.status_code == 201
    assert kept.get_json()["notice"].startswith("As the clinic's hours stand, Ben Test does not work on the days")
    plain = client.post("/api/v1/waitlist", json=PLACE | {"patient": PLACE["patient"] | {"email": "two@example.com"}})
    assert plain.status_code == 201 and plain.get_json()["notice"] is None
    with clinic.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 2
