"""What the practitioner needs to see first, derived from the intake answers. Pure: no app, no clock.

The rules follow the clinical brief (shared/clinical.md, sections 2 to 4): duration bands,
the nerve-root pattern, acupuncture precautions and risk factors, plus the scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from booking.measures.instrument import Instrument

FORM_VERSION = "2026-11"

# Duration of the episode: acute under 4 weeks, subacute 4 to 12 weeks, chronic over 12 weeks.
ACUTE_BEFORE = timedelta(weeks=4)
CHRONIC_AFTER = timedelta(weeks=12)
NO_IMPROVEMENT_AFTER = timedelta(weeks=4)

# What each band means, to state beside it (the practitioner should not have to remember).
DURATION_BANDS = {"acute": "under 4 weeks", "subacute": "4 to 12 weeks", "chronic": "over 12 weeks"}

PRECAUTIONS = {
    "pregnant": "Pregnant, or might be",
    "blood_thinners": "Takes blood thinners",
    "bleeding_disorder": "Bleeding disorder",
    "implanted_device": "Pacemaker, defibrillator or other implanted electrical device (no electroacupuncture)",
    "needle_fear": "Afraid of needles, or has fainted with needles",
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
    "bleeding_disorder": "bleeding disorder",
    "implanted_device": "implanted device (no electroacupuncture)",
    "needle_fear": "needle fear",
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
    "age_new_episode": "Under 20 or over 55 with a new episode",
    "no_improvement": "No improvement after 4 weeks or more",
}


@dataclass(frozen=True)
class DerivedFacts:
    duration_band: str | None = None  # acute, subacute or chronic
    duration_days: int | None = None
    nerve_root_pattern: bool = False
    emergency_flags: list[str] = field(default_factory=list)  # safety-check codes raised by the answers
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
    spreads = set(where.get("spreads", []))
    leg = where.get("leg_symptoms", "no")
    if not spreads & {"below_knee", "foot"} or leg == "no":
        return False
    side = where.get("side")
    return side in ("both", "centre") or leg == "both" or leg == side


def age_on(born_on: date, day: date) -> int:
    return day.year - born_on.year - ((day.month, day.day) < (born_on.month, born_on.day))


def derive(answers: Mapping, *, born_on: date, today: date, instruments: Mapping[str, Instrument]) -> DerivedFacts:
    """The facts a practitioner reads first, from a complete set of intake answers."""
    start = episode_start(answers, today)
    days = (today - start).days if start else None
    health = answers.get("health", {})

    precautions = [key for key in PRECAUTIONS if key in health.get("precautions", [])]
    if health.get("blood_thinners") in ("yes", "not_sure") and "blood_thinners" not in precautions:
        precautions.insert(0, "blood_thinners")

    risks = [key for key in ("cancer_history", "steroids", "osteoporosis", "recent_infection")
             if key in health.get("risk_factors", [])]
    age = age_on(born_on, today)
    new_episode = answers.get("history", {}).get("previous_episodes") == "no"
    if new_episode and (age < 20 or age > 55):
        risks.append("age_new_episode")
    if days is not None and timedelta(days=days) >= NO_IMPROVEMENT_AFTER and health.get("improving") == "no":
        risks.append("no_improvement")

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
        # Symptoms in both legs are an emergency sign (clinical brief, section 1).
        emergency_flags=["both_legs"] if answers.get("where", {}).get("leg_symptoms") == "both" else [],
        precautions=precautions,
        risk_factors=risks,
        pain_now=whole(pain["pain_now"]),
        pain_average=whole(pain["pain_average"]),
        pain_worst=whole(pain["pain_worst"]),
        psfs_score=psfs["psfs"].value,
        **screen,
    )
