"""Licensed instruments checked against their published scoring when their file is loaded. Pure.

We may not ship the wording of the STarT Back Screening Tool or the Oswestry Disability
Index, but a clinic's file of either must score exactly as published. A file that differs
is refused with the reason, never scored differently. Items are known by their keys, which
follow Keele's numbering and name what each item asks (the wording itself stays Keele's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from booking.measures.instrument import Instrument, Item

# Keele's nine items, in Keele's order: leg pain, shoulder or neck pain, walking, dressing,
# then the psychosocial five (fear, worry, catastrophising, low mood, bothersomeness).
START_BACK_ITEMS = ("leg_pain", "shoulder_neck", "walking", "dressing",
                    "fear", "worry", "catastrophising", "low_mood", "bothersome")
PSYCHOSOCIAL = START_BACK_ITEMS[4:]
AGREE_DISAGREE = (("agree", 1), ("disagree", 0))
BOTHERSOME = (("not_at_all", 0), ("slightly", 0), ("moderately", 0), ("very_much", 1), ("extremely", 1))

OSWESTRY_SECTIONS = 10
OSWESTRY_POINTS = tuple(range(6))  # each section scored 0-5


def published_problem(instrument: Instrument) -> str | None:
    """Why an instrument file does not score as its published instrument does, or None."""
    rules = [score.rule for score in instrument.scores]
    if instrument.key == "start_back" and rules != ["start_back"]:
        return "the STarT Back file must have one score, with rule 'start_back'"
    if "start_back" in rules:
        return start_back_problem(instrument)
    if instrument.key == "oswestry":
        return oswestry_problem(instrument)
    return None


def _choices(item: Item) -> tuple[tuple[str, int], ...]:
    return tuple((choice.value, choice.points) for choice in item.choices)


def start_back_problem(instrument: Instrument) -> str | None:
    """Keele's nine items in Keele's order, items 1-8 agree = 1 / disagree = 0, item 9 scoring 1
    only for "very much" and "extremely", and the psychosocial subscale naming items 5-9."""
    keys = tuple(item.key for item in instrument.items)
    if len(keys) != 9:
        return f"STarT Back has nine items; this file has {len(keys)}"
    if keys != START_BACK_ITEMS:
        return f"the items must be Keele's nine in Keele's order ({', '.join(START_BACK_ITEMS)}); found {', '.join(keys)}"
    [score] = instrument.scores
    if score.items != START_BACK_ITEMS:
        return "the score must list the nine items in Keele's order"
    for number, item in enumerate(instrument.items[:8], start=1):
        if _choices(item) != AGREE_DISAGREE:
            return f"item {number} ({item.key}) must score agree = 1 and disagree = 0, in that order"
    bothersome = instrument.items[8]
    if [value for value, _ in _choices(bothersome)] != [value for value, _ in BOTHERSOME]:
        return f"item 9 must offer {', '.join(value for value, _ in BOTHERSOME)}, in that order"
    if _choices(bothersome) != BOTHERSOME:
        return "item 9 must score 1 only for 'very much' and 'extremely'"
    if tuple(score.params["psychosocial"]) != PSYCHOSOCIAL:
        return f"the psychosocial subscale must name items 5-9 ({', '.join(PSYCHOSOCIAL)})"
    return None


def oswestry_problem(instrument: Instrument) -> str | None:
    """Ten sections, each scored 0-5 (a 0-5 scale or six statements worth 0 to 5), and the score
    sum / (5 x sections answered) x 100 over all ten with at most one section missing."""
    if len(instrument.items) != OSWESTRY_SECTIONS:
        return f"the Oswestry index has ten sections; this file has {len(instrument.items)}"
    for number, item in enumerate(instrument.items, start=1):
        scale = (item.min, item.max) == (0, 5) and not item.choices
        statements = tuple(points for _, points in _choices(item)) == OSWESTRY_POINTS
        if not (scale or statements):
            return f"section {number} ({item.key}) must be scored 0-5"
    keys = tuple(item.key for item in instrument.items)
    if [(s.rule, s.items) for s in instrument.scores] != [("percent_of_answered_sections", keys)]:
        return "the Oswestry file must have one score, rule 'percent_of_answered_sections' over all ten sections"
    params = instrument.scores[0].params
    if params.get("points_per_section") != 5 or params.get("max_missing", 0) != 1:
        return "the Oswestry score must have points_per_section = 5 and max_missing = 1"
    return None
