"""The pre-booking safety check: which answers stop an online booking, which flag it.

Pure data and one pure function, shared by the API and the booking pages.
"""

from __future__ import annotations

from dataclasses import dataclass

# Answers that need emergency care now: the online booking stops.
EMERGENCY = {
    "both_legs": "Pain, tingling, weakness or numbness in both legs",
    "saddle_numbness": "Numbness or tingling around the genitals, buttocks or inner thighs",
    "bladder_bowel": "New trouble passing urine, or losing control of your bladder or bowels",
    "sexual_dysfunction": "New sexual problems since the back pain began (in the last two weeks)",
    "chest_pain": "Chest pain",
    "serious_accident": "The pain began after a serious accident or fall",
}

# Answers that need a doctor within a day: booking may go on, and the practitioner is told.
URGENT = {
    "fever": "A high temperature, or feeling feverish, along with the back pain",
    "weight_loss": "Losing weight without knowing why",
    "back_lump": "A lump, swelling or change in the shape of your back",
    "night_pain": "Pain that rest does not ease, or that is worse at night",
    "between_shoulders": "Pain between the shoulder blades",
}


@dataclass(frozen=True)
class SafetyAnswers:
    """A patient's ticked codes, sorted into what they mean for the booking."""

    emergency: tuple[str, ...]
    urgent: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def stops_booking(self) -> bool:
        return bool(self.emergency)


def classify(codes: list[str]) -> SafetyAnswers:
    """Sort ticked codes into emergency, urgent and unknown, keeping each code once."""
    unique = list(dict.fromkeys(codes))
    return SafetyAnswers(
        emergency=tuple(c for c in unique if c in EMERGENCY),
        urgent=tuple(c for c in unique if c in URGENT),
        unknown=tuple(c for c in unique if c not in EMERGENCY and c not in URGENT),
    )


def has_emergency_answer(codes) -> bool:
    """True when a list of answers, however else malformed, includes an emergency code."""
    return isinstance(codes, list) and any(isinstance(c, str) and c in EMERGENCY for c in codes)


def emergency_advice(emergency_number: str, clinic_phone: str) -> str:
    """What to tell someone whose answers need emergency care, in one short paragraph."""
    return (
        f"Call {emergency_number} or go to the nearest emergency department now. "
        "These symptoms can mean a nerve or other problem that needs care today, "
        "and acupuncture is not the right first step. Online booking cannot continue; "
        f"if you have questions about your visit, phone the clinic on {clinic_phone}."
    )


# --- flags raised for a visit ------------------------------------------------------------

LEVELS = ("urgent", "emergency")  # least to most severe

# Where a patient can give an emergency or urgent answer for a visit, as staff read it.
SIGNAL_SOURCES = {
    "booking": "the safety check when booking",
    "intake": "the back-pain questions",
    "progress_check": "the progress check",
    "recheck": "a fresh check of the safety questions",
}


def most_severe(levels) -> str | None:
    """The most severe of some levels ("emergency" over "urgent"), ignoring None; None if there are none."""
    known = [level for level in levels if level in LEVELS]
    return max(known, key=LEVELS.index) if known else None


def levels_of(codes) -> dict[str, str]:
    """Each known safety-check code among `codes`, with its level."""
    return {code: "emergency" if code in EMERGENCY else "urgent" for code in codes if code in EMERGENCY or code in URGENT}


def care_card_context(codes) -> dict[str, list[str]]:
    """What a care card tells the patient they answered: the emergency and urgent answers among
    `codes`, in the patient's words."""
    levels = levels_of(codes)
    return {
        "emergency_answers": [EMERGENCY[code] for code, level in levels.items() if level == "emergency"],
        "urgent_answers": [URGENT[code] for code, level in levels.items() if level == "urgent"],
    }
