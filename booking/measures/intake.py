"""What the practitioner needs to see first, derived from the intake answers. Pure: no app, no clock.

The rules follow the clinical brief (shared/clinical.md, sections 2 to 4): duration bands,
the nerve-root pattern, acupuncture precautions and risk factors, plus the scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from booking.measures.instrument import Instrument

FORM_VERSION = "2026-12"  # separate weakness, fainting, antiplatelets and lymphoedema questions

# Duration of the episode: acute under 4 weeks, subacute 4 to 12 weeks, chronic over 12 weeks.
ACUTE_BEFORE = timedelta(weeks=4)
CHRONIC_AFTER = timedelta(weeks=12)
NO_IMPROVEMENT_AFTER = timedelta(weeks=4)

# What each band means, to state beside it (the practitioner should not have to remember).
DURATION_BANDS = {"acute": "under 4 weeks", "subacute": "4 to 12 weeks", "chronic": "over 12 weeks"}

PRECAUTIONS = {
    "pregnant": "Pregnant, or might be",
    "blood_thinners": "Takes blood thinners",
    "antiplatelets": "Takes antiplatelet medicines (for example clopidogrel or daily aspirin)",
    "bleeding_disorder": "Bleeding disorder",
    "implanted_device": "Pacemaker, defibrillator or other implanted electrical device (no electroacupuncture)",
    "needle_fear": "Afraid of needles",
    "fainting": "Has fainted before, or faints easily (treat lying down)",
    "lymphoedema": "Lymphedema or lymph nodes removed (ask which limb; no needling of that limb)",
    "metal_allergy": "Metal allergy (for example nickel)",
    "skin_problem": "Skin infection or broken skin on the lower back",
    "epilepsy": "Epilepsy",
    "diabetes": "Diabetes",
    "weak_immunity": "Weakened immune system (for example chemotherapy or long-term steroids)",
}

# The same, in two or three words, for lists where a practitioner scans many visits at once.
PRECAUTIONS_SHORT = {
    "pregnant": "pregnant",
    "blood_thinners": "blood thinners",
    "antiplatelets": "antiplatelets",
    "bleeding_disorder": "bleeding disorder",
    "implanted_device": "implanted device (no electroacupuncture)",
    "needle_fear": "needle fear",
    "fainting": "faints",
    "lymphoedema": "lymphedema (not that limb)",
    "metal_allergy": "metal allergy",
    "skin_problem": "skin problem on the back",
    "epilepsy": "epilepsy",
    "diabetes": "diabetes",
    "weak_immunity": "weak immunity",
}

RISK_FACTORS = {
    "cancer_history": "History of cancer",
    "steroids": "Long-term steroid use",
    "osteoporosis": "Osteoporosis",
    "recent_infection": "Recent infection",
    "age_new_episode": "Under 20 or over 50 with a first episode",
    "both_legs_longstanding": "Long-standing, unchanged symptoms in both legs",
    "no_improvement": "No improvement after 4 weeks or more",
}


# What the patient may have noticed after their last treatment, asked in the progress check.
AFTER_EFFECTS = {
    "bruising": "Bruising or a little bleeding where the needles were",
    "soreness": "Soreness where the needles were",
    "tiredness": "Feeling tired or sleepy afterwards",
    "flare_up": "Back pain worse for a day or two",
    "faint": "Feeling faint, or fainting",
    "other": "Something else",
}

# Leg symptoms are "new or getting worse" or "unchanged": only the first is a red flag.
LEGS_CHANGING = "new_or_worse"
LEGS_UNCHANGED = "unchanged"


@dataclass(frozen=True)
class DerivedFacts:
    duration_band: str | None = None  # acute, subacute or chronic
    duration_days: int | None = None
    nerve_root_pattern: bool = False
    emergency_flags: list[str] = field(default_factory=list)  # safety-check codes the answers raise, by level
    urgent_flags: list[str] = field(default_factory=list)
    precautions: list[str] = field(default_factory=list)  # keys of PRECAUTIONS
    risk_factors: list[str] = field(default_factory=list)  # keys of RISK_FACTORS
    pain_now: int | None = None
    pain_average: int | None = None
    pain_worst: int | None = None
    psfs_score: float | None = None
    start_back_total: int | None = None
    start_back_psychosocial: int | None = None
    start_back_risk: str | None = None


def episode_start(answers: Mapping, today: date) -> date | None:
    """When the episode began: the date given, or today less the weeks given."""
    episode = answers.get("episode", {})
    if episode.get("started_on"):
        return date.fromisoformat(episode["started_on"])
    if episode.get("weeks_ago") is not None:
        return today - timedelta(weeks=int(episode["weeks_ago"]))
    return None


def duration_band(days: int) -> str:
    if timedelta(days=days) < ACUTE_BEFORE:
        return "acute"
    if timedelta(days=days) <= CHRONIC_AFTER:
        return "subacute"
    return "chronic"


def has_nerve_root_pattern(where: Mapping) -> bool:
    """Pain below the knee with numbness, tingling or weakness in the same leg."""
    legs = legs_affected(where)
    if not set(where.get("spreads", [])) & {"below_knee", "foot"} or not legs:
        return False
    side = where.get("side")
    return side in ("both", "centre") or side in legs


def legs_affected(where: Mapping) -> set[str]:
    """Which legs have numbness, tingling or weakness: a subset of {"left", "right"}."""
    sides = set()
    for answer in (where.get("leg_symptoms", "no"), where.get("leg_weakness", "no")):
        sides |= {"left", "right"} if answer == "both" else {answer} & {"left", "right"}
    return sides


def red_flags(answers: Mapping) -> dict[str, str]:
    """The safety-check codes that intake answers (complete or not) point to, each with its level.

    - Numbness, tingling or weakness in both legs that is new or getting worse: emergency
      (possible cauda equina). Answers from before the question on change count as new.
    - Weakness in a leg that is getting worse (foot drop): urgent.
    - Cancer at any time, with a first episode of back pain: urgent (NICE: see a doctor within 24 hours).
    """
    flags = {}
    where = answers.get("where", {})
    changing = where.get("legs_changing", LEGS_CHANGING)
    if legs_affected(where) == {"left", "right"} and changing == LEGS_CHANGING:
        flags["both_legs"] = "emergency"
    elif where.get("leg_weakness", "no") != "no" and changing == LEGS_CHANGING:
        flags["worsening_weakness"] = "urgent"
    if ("cancer_history" in answers.get("health", {}).get("risk_factors", [])
            and answers.get("history", {}).get("previous_episodes") == "no"):
        flags["cancer_new_pain"] = "urgent"
    return flags


# The page whose answer raises each flag, for the patient who chose an answer by mistake.
FLAG_STEPS = {"both_legs": "where", "worsening_weakness": "where", "cancer_new_pain": "health"}


def most_serious(flags: Mapping[str, str]) -> str:
    """The code of the most severe flag (an emergency before an urgent one)."""
    return min(flags, key=lambda code: flags[code] != "emergency")


def age_on(born_on: date, day: date) -> int:
    return day.year - born_on.year - ((day.month, day.day) < (born_on.month, born_on.day))


def precaution_keys(health: Mapping) -> list[str]:
    """Keys of PRECAUTIONS that the intake's health answers name, in the order the practitioner
    reads them: blood thinners and antiplatelets (answered yes or not sure) first."""
    precautions = [key for key in PRECAUTIONS if key in health.get("precautions", [])]
    if health.get("antiplatelets") in ("yes", "not_sure") and "antiplatelets" not in precautions:
        precautions.insert(0, "antiplatelets")
    if health.get("blood_thinners") in ("yes", "not_sure") and "blood_thinners" not in precautions:
        precautions.insert(0, "blood_thinners")
    return precautions


def derive(answers: Mapping, *, born_on: date, today: date, instruments: Mapping[str, Instrument]) -> DerivedFacts:
    """The facts a practitioner reads first, from a complete set of intake answers."""
    start = episode_start(answers, today)
    days = (today - start).days if start else None
    health = answers.get("health", {})

    precautions = precaution_keys(health)

    risks = [key for key in ("cancer_history", "steroids", "osteoporosis", "recent_infection")
             if key in health.get("risk_factors", [])]
    age = age_on(born_on, today)
    new_episode = answers.get("history", {}).get("previous_episodes") == "no"
    if new_episode and (age < 20 or age > 50):  # NICE CKS: over 50 is the threshold for cancer
        risks.append("age_new_episode")
    where = answers.get("where", {})
    if legs_affected(where) == {"left", "right"} and where.get("legs_changing") == LEGS_UNCHANGED:
        risks.append("both_legs_longstanding")
    if days is not None and timedelta(days=days) >= NO_IMPROVEMENT_AFTER and health.get("improving") == "no":
        risks.append("no_improvement")

    flags = red_flags(answers)
    ratings = answers.get("pain", {})
    pain = instruments["nprs"].score({k: ratings.get(k) for k in ("pain_now", "pain_average", "pain_worst")})
    activities = answers.get("activities", {}).get("activities", [])
    psfs = instruments["psfs"].score({f"activity_{n}": a["rating"] for n, a in enumerate(activities, start=1)})

    def whole(score):
        return None if score.value is None else int(score.value)

    screen = {}
    if "screening" in answers and "start_back" in instruments:
        [result] = instruments["start_back"].score(answers["screening"]).values()
        screen = {"start_back_total": whole(result), "start_back_psychosocial": result.details.get("psychosocial"),
                  "start_back_risk": result.details.get("risk")}

    return DerivedFacts(
        duration_band=duration_band(days) if days is not None else None,
        duration_days=days,
        nerve_root_pattern=has_nerve_root_pattern(answers.get("where", {})),
        emergency_flags=[code for code, level in flags.items() if level == "emergency"],
        urgent_flags=[code for code, level in flags.items() if level == "urgent"],
        precautions=precautions,
        risk_factors=risks,
        pain_now=whole(pain["pain_now"]),
        pain_average=whole(pain["pain_average"]),
        pain_worst=whole(pain["pain_worst"]),
        psfs_score=psfs["psfs"].as_float,
        **screen,
    )
