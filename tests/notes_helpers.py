"""Treatment notes written the way the note page writes them (operations.notes), for the tests of
what shows a note: the visit page, the desk, the patient's data and the superbill."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, StaffAccount
from booking.notes.content import note_from_form
from booking.operations import notes

ANA = "ana@example.org"

# Words that appear only in the note, so a page holding them shows the note's words.
PRINCIPLE = "Tonify Kidney qi, move Blood in the lower back"
NARRATIVE = "Patient dozed through retention; warmed the lumbar area with a heat lamp"


def note_form(**changes) -> dict[str, list[str]]:
    """A full note's form: BL23 both sides tonifying, GV4, BL40 reducing; 38 minutes with electro."""
    form = {
        "s_pain_now": ["6"], "s_pain_worst": ["8"], "o_tongue_body": ["pale"], "o_pulse_rate": ["68"],
        "a_diagnoses": ["M54.50", "M54.41"], "a_working_diagnosis": ["Non-specific low back pain"],
        "p_principle": [PRINCIPLE], "p_next_visit": ["In one week"], "p_review_at": ["4, 8"],
        "t_point_code": ["BL23", "GV4", "BL40"], "t_point_side": ["both", "", "left"],
        "t_point_technique": ["tonifying", "", "reducing"],
        "t_needles": ["5"], "t_retention_minutes": ["25"], "t_electro": ["on"],
        "t_electro_settings": ["2 Hz, BL23 to BL25 pair"], "t_contact_minutes": ["38"],
        "t_adverse_type": ["bruising"], "t_adverse_severity": ["mild"], "t_adverse_action": ["Pressed the site"],
        "narrative": [NARRATIVE],
    }
    form.update({key: value if isinstance(value, list) else [value] for key, value in changes.items()})
    return form


def content(**changes) -> dict:
    found, errors = note_from_form(note_form(**changes))
    assert not errors, errors
    return found


def _account(email: str = ANA) -> StaffAccount:
    return db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == email))


def write_note(app, visit: int, signed: bool = True, addenda=(), status: str | None = "completed", **changes) -> None:
    """Ana writes the visit's note (and signs it, an hour into the visit), then any addenda."""
    with app.app_context():
        appointment = db.session.get(Appointment, visit)
        at = appointment.starts_at + timedelta(hours=1)
        if status:
            appointment.status = AppointmentStatus(status)
            db.session.commit()
        account = _account()
        if signed:
            notes.sign(account, visit, content(**changes), 0, at)
        else:
            notes.save_draft(account, visit, content(**changes), 0, at)
        for text in addenda:
            notes.add_addendum(account, visit, text, at + timedelta(hours=1))
