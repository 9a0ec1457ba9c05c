"""Scoring rules: small pure functions from an instrument's answers to a number.

Each rule takes the item keys it scores, the answers (item key -> points; missing means
unanswered) and the rule's parameters from the instrument file, and returns a RuleResult.
None as the value means "no score" (too few answers).

Points are exact decimals and every division is rounded half-up from the exact quotient,
as the published rules are worked by hand: a PSFS mean of 4.25 is 4.3, never a binary
float's 4.2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True)
class RuleResult:
    value: Decimal | None
    details: dict = field(default_factory=dict)  # e.g. a subscale, a risk group, items used


Answers = Mapping[str, Decimal]


def half_up(numerator: Decimal | int, denominator: Decimal | int, decimals: int = 1) -> Decimal:
    """numerator / denominator rounded half-up (a tie moves away from zero) to `decimals` places.

    Worked on the exact fraction, so no intermediate rounding can tip a result over a tie.
    """
    exact = Fraction(numerator) / Fraction(denominator)
    whole = math.floor(abs(exact) * 10**decimals + Fraction(1, 2))
    return Decimal(-whole if exact < 0 else whole).scaleb(-decimals)


def answered(items: Sequence[str], answers: Answers) -> list[Decimal]:
    return [answers[item] for item in items if answers.get(item) is not None]


def single_item(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """The answer itself (e.g. a 0-10 pain rating)."""
    [item] = items
    return RuleResult(answers.get(item))


def mean_of_answered(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """The mean of the items answered, half-up to one decimal (the Patient-Specific Functional Scale)."""
    values = answered(items, answers)
    if len(values) < params.get("min_answered", 1):
        return RuleResult(None, {"answered": len(values)})
    return RuleResult(half_up(sum(values), len(values), 1), {"answered": len(values)})


def percent_of_answered_sections(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """sum / (points per section x sections answered) x 100, half-up to `decimals` places (default 1),
    with at most `max_missing` sections unanswered, else no score (the Oswestry Disability Index rule)."""
    values = answered(items, answers)
    missing = len(items) - len(values)
    if missing > params.get("max_missing", 0) or not values:
        return RuleResult(None, {"missing": missing})
    percent = half_up(sum(values) * 100, params["points_per_section"] * len(values), params.get("decimals", 1))
    return RuleResult(percent, {"missing": missing})


def start_back(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """The STarT Back rule: nine items scored 0/1 (the instrument file maps each choice to
    its point); total 0-9, psychosocial subscale = the items `psychosocial` names, Keele's
    items 5-9 (0-5). Risk: total 0-3 low; total 4+ with subscale 0-3 medium; subscale 4+ high.
    All nine must be answered."""
    if len(items) != 9:
        raise ValueError("the STarT Back rule scores exactly nine items")
    values = answered(items, answers)
    if len(values) != 9:
        return RuleResult(None, {"answered": len(values)})
    total = int(sum(values))
    subscale = int(sum(answers[item] for item in params["psychosocial"]))
    if total <= 3:
        risk = "low"
    elif subscale <= 3:
        risk = "medium"
    else:
        risk = "high"
    return RuleResult(Decimal(total), {"psychosocial": subscale, "risk": risk})


# What each rule's [scores.params] may hold: name -> (type, required, smallest allowed).
RULE_PARAMS: dict[str, dict[str, tuple[type, bool, int | None]]] = {
    "single_item": {},
    "mean_of_answered": {"min_answered": (int, False, 1)},
    "percent_of_answered_sections": {"points_per_section": (int, True, 1), "max_missing": (int, False, 0),
                                     "decimals": (int, False, 0)},
    "start_back": {"psychosocial": (list, True, None)},
}

RULES: dict[str, Callable[[Sequence[str], Answers, Mapping], RuleResult]] = {
    "single_item": single_item,
    "mean_of_answered": mean_of_answered,
    "percent_of_answered_sections": percent_of_answered_sections,
    "start_back": start_back,
}
