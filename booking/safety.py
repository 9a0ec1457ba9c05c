"""The pre-booking safety check: which answers stop an online booking, which flag it.

Pure data and pure functions, shared by the API, the booking pages and the desk's phone
booking. The wording is read by the patient on screen and read out by a receptionist on the
phone, so each line is a plain statement in the second person. The codes are part of the API:
never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass

# Answers that need emergency care now: the online booking stops.
EMERGENCY = {
    "both_legs": "Pain, tingling, numbness or weakness in both legs that is new or getting worse",
    "saddle_numbness": (
        "Numbness or tingling around your genitals, buttocks or inner thighs, "
        "for example you can't feel the toilet paper when you wipe"
    ),
    "bladder_bowel": (
        "New trouble peeing, you can't feel when your bladder is full, "
        "or you are losing control of your bladder or bowels"
    ),
    "sexual_dysfunction": (
        "In the last two weeks, new numbness of your genitals, "
        "or new trouble getting an erection or reaching orgasm"
    ),
    "chest_pain": "Chest pain",
    "serious_accident": "The pain began after a serious accident or fall, such as a car crash or a fall from a height",
    "aortic_symptoms": "Sudden, severe pain in your back or belly, and you feel faint, dizzy, or cold and sweaty",
}

# Answers that need a doctor within a day: booking may go on, and the practitioner is told.
URGENT = {
    "fever": "A high temperature, or feeling feverish, along with the back pain",
    "weight_loss": "Losing weight without knowing why",
    "back_lump": "A lump, swelling or change in the shape of your back",
    "night_pain": "Pain that rest does not ease, or that is worse at night",
    "between_shoulders": "Pain between the shoulder blades",
    "cancer_new_pain": "You have had cancer, and this back pain is new",
    "worsening_weakness": "Weakness in one leg or foot that is getting worse, or a foot that drops or catches when you walk",
    "infection_risk": (
        "A weakened immune system (for example from chemotherapy, long-term steroids or HIV), "
        "or you inject drugs"
    ),
    "fragility_fracture": (
        "The pain began after a minor fall or lift, and you have osteoporosis (thin bones) "
        "or take steroids long term"
    ),
}

# How the one question is laid out: groups of related answers under a plain heading, so a long
# list reads in parts. Every code is in exactly one group; the order is the order on screen.
GROUPS = (
    ("Legs, bladder, bowels and genitals",
     ("both_legs", "worsening_weakness", "saddle_numbness", "bladder_bowel", "sexual_dysfunction")),
    ("How the pain started and how it feels",
     ("serious_accident", "fragility_fracture", "aortic_symptoms", "chest_pain", "night_pain",
      "between_shoulders")),
    ("General health",
     ("fever", "weight_loss", "back_lump", "cancer_new_pain", "infection_risk")),
)


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
    """What to tell someone whose answers need emergency care, in one short paragraph.

    It names no cause: the same words must fit a nerve problem, chest pain and a possible
    aortic aneurysm, and the last two need an ambulance rather than a drive.
    """
    return (
        f"Call {emergency_number} or go to the nearest emergency department now. "
        "These symptoms can be a sign of a serious problem that needs care today, "
        "and acupuncture is not the right first step. With chest pain, or if you feel faint, "
        f"call {emergency_number} for an ambulance rather than drive yourself. "
        "Online booking cannot continue; "
        f"if you have questions about your visit, phone the clinic on {clinic_phone}."
    )


def urgent_advice(emergency_number: str, region: str | None) -> str:
    """What to tell someone whose answers need a doctor within a day, in one short paragraph."""
    return (
        f"See a doctor within 24 hours: contact {same_day_doctor(region)}. Along with back pain, "
        "these symptoms need checking soon, before or alongside acupuncture. "
        f"If they get worse quickly, call {emergency_number}."
    )


def same_day_doctor(region: str | None) -> str:
    """Who can see someone within a day where the clinic is, to follow "Contact ...".

    region: the clinic's ISO country code ("US", "GB"); any other gets a plain "a doctor".
    """
    return {
        "US": "your own doctor or an urgent care center today",
        "GB": "your GP, or NHS 111",
    }.get((region or "").upper(), "a doctor")
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
