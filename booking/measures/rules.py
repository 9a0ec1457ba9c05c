"""Scoring rules: small pure functions from an instrument's answers to a number.

Each rule takes the item keys it scores, the answers (item key -> number; missing
means unanswered) and the rule's parameters from the instrument file, and returns a
RuleResult. None as the value means "no score" (too few answers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuleResult:
    value: float | None
    details: dict = field(default_factory=dict)  # e.g. a subscale, a risk group, items used


Answers = Mapping[str, float]


def answered(items: Sequence[str], answers: Answers) -> list[float]:
    return [answers[item] for item in items if answers.get(item) is not None]


def single_item(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """The answer itself (e.g. a 0-10 pain rating)."""
    [item] = items
    value = answers.get(item)
    return RuleResult(None if value is None else float(value))


def mean_of_answered(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """The mean of the items answered, to one decimal (the Patient-Specific Functional Scale)."""
    values = answered(items, answers)
    if len(values) < params.get("min_answered", 1):
        return RuleResult(None, {"answered": len(values)})
    return RuleResult(round(sum(values) / len(values), 1), {"answered": len(values)})


def percent_of_answered_sections(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """sum / (points per section x sections answered) x 100, with at most `max_missing`
    sections unanswered, else no score (the rule the Oswestry Disability Index uses)."""
    values = answered(items, answers)
    missing = len(items) - len(values)
    if missing > params.get("max_missing", 0) or not values:
        return RuleResult(None, {"missing": missing})
    percent = sum(values) / (params["points_per_section"] * len(values)) * 100
    return RuleResult(round(percent, 1), {"missing": missing})


def start_back(items: Sequence[str], answers: Answers, params: Mapping) -> RuleResult:
    """The STarT Back rule: nine items scored 0/1 (the instrument file maps each choice to
    its point); total 0-9, psychosocial subscale = items 5-9 (0-5).
    Risk: total 0-3 low; total 4+ with subscale 0-3 medium; subscale 4+ high.
    All nine must be answered."""
    if len(items) != 9:
        raise ValueError("the STarT Back rule scores exactly nine items")
    values = answered(items, answers)
    if len(values) != 9:
        return RuleResult(None, {"answered": len(values)})
    total = int(sum(answers[item] for item in items))
    subscale = int(sum(answers[item] for item in items[4:]))
    if total <= 3:
        risk = "low"
    elif subscale <= 3:
        risk = "medium"
    else:
        risk = "high"
    return RuleResult(float(total), {"psychosocial": subscale, "risk": risk})


RULES: dict[str, Callable[[Sequence[str], Answers, Mapping], RuleResult]] = {
    "single_item": single_item,
    "mean_of_answered": mean_of_answered,
    "percent_of_answered_sections": percent_of_answered_sections,
    "start_back": start_back,
}
