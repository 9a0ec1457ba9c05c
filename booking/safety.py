"""The pre-booking safety check: which answers stop an online booking, which flag it.

Pure data and pure functions, shared by the API, the booking pages and the desk's phone
booking. The words are marked for translation and read in the page's language when shown
(Wording); the codes stay as they are. The wording is read by the patient on screen and read out by a receptionist on the
phone, so each line is a plain statement in the second person. The codes are part of the API:
never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import escape


class Wording(str):
    """A patient-facing line that *is* its English (compares, hashes, serialises and searches as
    English: API answers, staff pages, stored data and tests all see the same text) but *reads*
    in the page's language wherever it is shown: str(), f-strings and templates translate it."""

    __slots__ = ()

    def __str__(self) -> str:
        return _(str.__str__(self))

    def __html__(self):
        return escape(str(self))


def _l(text: str) -> Wording:
    """Mark a line for translation (extracted as `_l`), translated when shown (see Wording)."""
    return Wording(text)

# Answers that need emergency care now: the online booking stops.
EMERGENCY = {
    "both_legs": _l("Pain, tingling, numbness or weakness in both legs that is new or getting worse"),
    "saddle_numbness": _l(
        "Numbness or tingling around your genitals, buttocks or inner thighs, "
        "for example you can't feel the toilet paper when you wipe"
    ),
    "bladder_bowel": _l(
        "New trouble peeing, you can't feel when your bladder is full, "
        "or you are losing control of your bladder or bowels"
    ),
    "sexual_dysfunction": _l(
        "In the last two weeks, new numbness of your genitals, "
        "or new trouble getting an erection or reaching orgasm"
    ),
    "chest_pain": _l("Chest pain"),
    "serious_accident": _l("The pain began after a serious accident or fall, such as a car crash or a fall from a height"),
    "aortic_symptoms": _l("Sudden, severe pain in your back or belly, and you feel faint, dizzy, or cold and sweaty"),
}

# Answers that need a doctor within a day: booking may go on, and the practitioner is told.
URGENT = {
    "fever": _l("A high temperature, or feeling feverish, along with the back pain"),
    "weight_loss": _l("Losing weight without knowing why"),
    "back_lump": _l("A lump, swelling or change in the shape of your back"),
    "night_pain": _l("Pain that rest does not ease, or that is worse at night"),
    "between_shoulders": _l("Pain between the shoulder blades"),
    "cancer_new_pain": _l("You have had cancer, and this back pain is new"),
    "worsening_weakness": _l("Weakness in one leg or foot that is getting worse, or a foot that drops or catches when you walk"),
    "infection_risk": _l(
        "A weakened immune system (for example from chemotherapy, long-term steroids or HIV), "
        "or you inject drugs"
    ),
    "fragility_fracture": _l(
        "The pain began after a minor fall or lift, and you have osteoporosis (thin bones) "
        "or take steroids long term"
    ),
}

# How the one question is laid out: groups of related answers under a plain heading, so a long
# list reads in parts. Every code is in exactly one group; the order is the order on screen.
GROUPS = (
    (_l("Legs, bladder, bowels and genitals"),
     ("both_legs", "worsening_weakness", "saddle_numbness", "bladder_bowel", "sexual_dysfunction")),
    (_l("How the pain started and how it feels"),
     ("serious_accident", "fragility_fracture", "aortic_symptoms", "chest_pain", "night_pain",
      "between_shoulders")),
    (_l("General health"),
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
    """What to tell someone whose answers need emergency care, in one short paragraph, in the
    language of the moment (the API's is the booking's, else the clinic's first).

    It names no cause: the same words must fit a nerve problem, chest pain and a possible
    aortic aneurysm, and the last two need an ambulance rather than a drive.
    """
    return _(
        "Call %(emergency)s or go to the nearest emergency department now. "
        "These symptoms can be a sign of a serious problem that needs care today, "
        "and acupuncture is not the right first step. With chest pain, or if you feel faint, "
        "call %(emergency)s for an ambulance rather than drive yourself. "
        "Online booking cannot continue; "
        "if you have questions about your visit, call the clinic at %(phone)s.",
        emergency=emergency_number, phone=clinic_phone,
    )


def urgent_advice(emergency_number: str, region: str | None) -> str:
    """What to tell someone whose answers need a doctor within a day, in one short paragraph."""
    return _(
        "See a doctor within 24 hours: contact %(doctor)s. Along with back pain, "
        "these symptoms need checking soon, before or alongside acupuncture. "
        "If they get worse quickly, call %(emergency)s.",
        doctor=same_day_doctor(region), emergency=emergency_number,
    )


def same_day_doctor(region: str | None) -> str:
    """Who can see someone within a day where the clinic is, to follow "Contact ...", in the
    language of the moment.

    region: the clinic's ISO country code ("US", "GB"); any other gets a plain "a doctor".
    """
    region = (region or "").upper()
    if region == "US":
        return _("your own doctor or an urgent care center today")
    if region == "GB":
        return _("your GP, or NHS 111")
    return _("a doctor")


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
