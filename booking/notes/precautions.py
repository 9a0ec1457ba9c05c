"""What a treatment note records, read against the precautions the patient told us of (the intake's,
booking/measures/intake.py): each clash is a caution the note page shows beside its buttons, and
signing a note with one takes a tick that it was checked. A caution does not refuse the note: it
records what was done, and the practitioner may have had a reason (the point needled on the other
side from the broken skin, say); it makes sure that was a choice.

Pure: the note's content (booking/notes/content.py) and the precaution keys in, sentences out.
"""

from __future__ import annotations

from collections.abc import Iterable

from booking.formatting import listed
from booking.notes import points as note_points
from booking.notes.choices import METHODS

# Points avoided in pregnancy: LI4 and SP6, BL60 and BL67, GB21, the sacral foramina points
# (BL31-BL34) and the lower abdomen's (CV3-CV7).
AVOIDED_IN_PREGNANCY = frozenset({"LI4", "SP6", "BL60", "BL67", "GB21", "BL31", "BL32", "BL33", "BL34",
                                  "CV3", "CV4", "CV5", "CV6", "CV7"})
# Points on the lower back and sacrum, where a skin infection or broken skin the patient told us of lies.
ON_THE_LOWER_BACK = frozenset({
    *(f"BL{number}" for number in (*range(22, 35), *range(51, 55))),
    "GV2", "GV3", "GV4", "GV5", "EX-B2", "EX-B5", "EX-B6", "EX-B7", "EX-B8", "EX-B9"})
# Methods that bruise, or may break the skin: a caution with blood thinners or a bleeding disorder.
BRUISING_METHODS = ("cupping", "gua_sha")
# Methods that heat the skin: a caution where sensation may be dulled (diabetes).
HEATING_METHODS = ("moxibustion", "heat_lamp")

TOLD_US = {
    "pregnant": "this patient told us they are pregnant or might be",
    "implanted_device": "this patient told us of a pacemaker, defibrillator or other implanted electrical device",
    "blood_thinners": "this patient takes blood thinners",
    "antiplatelets": "this patient takes antiplatelet medicines",
    "bleeding_disorder": "this patient has a bleeding disorder",
    "skin_problem": "this patient told us of a skin infection or broken skin on the lower back",
    "diabetes": "this patient has diabetes",
}


def cautions(content: dict, precautions: Iterable[str]) -> list[str]:
    """Each thing the note records that a precaution of the patient's speaks against, as a sentence
    for the practitioner; none when nothing clashes."""
    told = set(precautions)
    treatment = content.get("treatment") or {}
    codes = [row.get("code", "") for row in treatment.get("points") or []]
    methods = [method for method in treatment.get("methods") or [] if method in METHODS]
    electro = bool(treatment.get("electro"))
    found = []
    if electro and "implanted_device" in told:
        found.append(f"Electroacupuncture is recorded, and {TOLD_US['implanted_device']}: electroacupuncture is not "
                     "used with one.")
    if "pregnant" in told:
        avoided = _named(code for code in codes if code in AVOIDED_IN_PREGNANCY)
        if avoided:
            found.append(f"{listed(avoided)} {'is a point' if len(avoided) == 1 else 'are points'} avoided in "
                         f"pregnancy, and {TOLD_US['pregnant']}.")
        if electro:
            found.append(f"Electroacupuncture is recorded, and {TOLD_US['pregnant']}.")
    bruising = [METHODS[method] for method in methods if method in BRUISING_METHODS]
    for key in ("blood_thinners", "antiplatelets", "bleeding_disorder"):
        if bruising and key in told:
            found.append(f"{listed(bruising)} {'is' if len(bruising) == 1 else 'are'} recorded, and {TOLD_US[key]}: "
                         f"{'it bruises' if len(bruising) == 1 else 'they bruise'} and may bleed.")
    if "skin_problem" in told:
        on_back = _named(code for code in codes if code in ON_THE_LOWER_BACK)
        if on_back:
            found.append(f"{listed(on_back)} {'is' if len(on_back) == 1 else 'are'} on the lower back, and "
                         f"{TOLD_US['skin_problem']}: no needle goes through broken or infected skin.")
    heating = [METHODS[method] for method in methods if method in HEATING_METHODS]
    if heating and "diabetes" in told:
        found.append(f"{listed(heating)} {'is' if len(heating) == 1 else 'are'} recorded, and {TOLD_US['diabetes']}: "
                     "dulled feeling in the skin can let heat burn it.")
    return found


def _named(codes: Iterable[str]) -> list[str]:
    """['LI4 Hegu', 'SP6 Sanyinjiao']: each point once, in the note's order, with its name."""
    return [f"{code} {found.pinyin}" if (found := note_points.point(code)) else code for code in dict.fromkeys(codes)]
