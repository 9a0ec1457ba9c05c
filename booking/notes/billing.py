"""CPT acupuncture codes for a visit, from the personal one-on-one contact time and whether
electrical stimulation was used, for the superbill.

The acupuncture codes are timed in 15-minute units of personal (face-to-face) contact, not
needle retention time. Units follow the CMS "8-minute rule" for timed codes (Medicare Claims
Processing Manual, chapter 5, section 20.2): a unit counts once at least 8 minutes of its 15
are spent, so 8-22 minutes bill 1 unit, 23-37 minutes 2, 38-52 minutes 3, and under 8 none.
The first unit is the initial code (once per visit); every further unit is the add-on code.
A visit that used electrical stimulation is billed with the electro pair throughout: the note
records electroacupuncture for the visit, not per 15 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from booking.notes.diagnoses import Diagnosis, diagnosis

UNIT_MINUTES = 15
MINIMUM_MINUTES = 8  # more than half of a 15-minute unit

INITIAL = {False: "97810", True: "97813"}
ADDITIONAL = {False: "97811", True: "97814"}
DESCRIPTIONS = {
    "97810": "Acupuncture, without electrical stimulation, initial 15 minutes of personal one-on-one contact",
    "97811": "Acupuncture, without electrical stimulation, each additional 15 minutes of personal one-on-one "
             "contact, with re-insertion of needles",
    "97813": "Acupuncture, with electrical stimulation, initial 15 minutes of personal one-on-one contact",
    "97814": "Acupuncture, with electrical stimulation, each additional 15 minutes of personal one-on-one "
             "contact, with re-insertion of needles",
}


@dataclass(frozen=True)
class ProcedureLine:
    code: str
    units: int
    description: str


def billable_units(contact_minutes: int | None) -> int:
    """15-minute units by the 8-minute rule; 0 when the time is missing or under 8 minutes."""
    if contact_minutes is None or contact_minutes < MINIMUM_MINUTES:
        return 0
    whole, rest = divmod(contact_minutes, UNIT_MINUTES)
    return whole + (1 if rest >= MINIMUM_MINUTES else 0)


def procedure_lines(contact_minutes: int | None, electro: bool) -> list[ProcedureLine]:
    """The initial code (1 unit) and, when more time was spent, the add-on code with its units."""
    units = billable_units(contact_minutes)
    if units == 0:
        return []
    lines = [ProcedureLine(INITIAL[electro], 1, DESCRIPTIONS[INITIAL[electro]])]
    if units > 1:
        lines.append(ProcedureLine(ADDITIONAL[electro], units - 1, DESCRIPTIONS[ADDITIONAL[electro]]))
    return lines


def claim_codes(content: Mapping) -> dict[str, list]:
    """The superbill's codes for a note: procedures (ProcedureLine) and diagnoses (Diagnosis),
    diagnoses in the order the practitioner chose them."""
    treatment = content["treatment"]
    diagnoses: list[Diagnosis] = [found for code in content["assessment"]["diagnoses"]
                                  if (found := diagnosis(code)) is not None]
    return {
        "procedures": procedure_lines(treatment["contact_minutes"], bool(treatment["electro"])),
        "diagnoses": diagnoses,
    }
