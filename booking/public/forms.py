"""Forms of the patient's booking journey that only the journey uses; the safety check,
details and confirm forms it shares with other pages are in booking.forms."""

from __future__ import annotations

from wtforms import StringField

from booking.forms import Choice, JourneyForm


class ServiceForm(JourneyForm):
    service = Choice("What kind of visit do you need?", message="Select the kind of visit you need")


class PractitionerForm(JourneyForm):
    practitioner = Choice("Who would you like to see?", message="Select a practitioner, or the first available")


class TimeForm(JourneyForm):
    start = StringField("Time")  # the value of the time button pressed; checked against free times
