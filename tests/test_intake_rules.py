"""The facts derived from intake answers: duration bands, nerve-root pattern, precautions, risk factors."""

from __future__ import annotations

from datetime import date

import pytest

from booking.measures import SHIPPED, load_instruments
from booking.measures.intake import FLAG_STEPS, derive, duration_band, has_nerve_root_pattern, most_serious, red_flags

INSTRUMENTS = load_instruments(SHIPPED)
TODAY = date(2027, 3, 8)


def answers(**changes) -> dict:
    base = {
        "episode": {"started_on": None, "weeks_ago": 2, "how": "lifting"},
        "where": {"side": "left", "spreads": [], "leg_symptoms": "no"},
        "history": {"previous_episodes": "yes"},
        "health": {"blood_thinners": "no", "precautions": [], "risk_factors": [], "improving": "yes"},
        "pain": {"pain_now": 6, "pain_average": 5, "pain_worst": 8},
        "activities": {"activities": [{"name": "Gardening", "rating": 3}]},
    }
    for step, values in changes.items():
        base[step] = base[step] | values
    return base


def facts(born_on=date(1980, 5, 17), **changes):
    return derive(answers(**changes), born_on=born_on, today=TODAY, instruments=INSTRUMENTS)


@pytest.mark.parametrize(
    "days, band",
    [(0, "acute"), (27, "acute"), (28, "subacute"), (84, "subacute"), (85, "chronic"), (400, "chronic")],
)
def test_duration_bands_acute_under_4_weeks_subacute_to_12_chronic_after(days, band):
    assert duration_band(days) == band


def test_duration_from_a_date_or_from_weeks_ago():
    assert facts(episode={"started_on": "2027-01-01", "weeks_ago": None}).duration_days == 66
    assert facts(episode={"weeks_ago": 13}).duration_band == "chronic"


@pytest.mark.parametrize(
    "side, spreads, leg, pattern",
    [
        ("left", ["below_knee"], "left", True),
        ("left", ["foot"], "both", True),
        ("right", ["below_knee"], "left", False),  # numbness in the other leg
        ("centre", ["foot"], "right", True),
        ("both", ["thigh"], "both", False),  # does not reach below the knee
        ("left", ["below_knee"], "no", False),
        ("left", [], "left", False),
    ],
)
def test_nerve_root_pattern_needs_pain_below_the_knee_and_numbness_in_that_leg(side, spreads, leg, pattern):
    assert has_nerve_root_pattern({"side": side, "spreads": spreads, "leg_symptoms": leg}) is pattern


def test_weakness_asked_on_its_own_counts_towards_the_nerve_root_pattern():
    assert has_nerve_root_pattern({"side": "right", "spreads": ["foot"], "leg_symptoms": "no", "leg_weakness": "right"})
    assert not has_nerve_root_pattern({"side": "right", "spreads": ["foot"], "leg_symptoms": "no", "leg_weakness": "left"})


def test_precautions_in_the_order_a_practitioner_reads_them():
    found = facts(health={"blood_thinners": "yes", "precautions": ["metal_allergy", "pregnant"]}).precautions
    assert found == ["blood_thinners", "pregnant", "metal_allergy"]
    assert facts().precautions == []


@pytest.mark.parametrize(
    "born_on, previous, flagged",
    [
        (date(2008, 1, 1), "no", True),  # 19, new episode
        (date(2007, 3, 8), "no", False),  # 20 today
        (date(1976, 3, 9), "no", False),  # 50 (51 tomorrow): not over 50
        (date(1976, 3, 8), "no", True),  # 51 today (NICE CKS: over 50 replaces over 55)
        (date(1960, 1, 1), "no", True),  # 67, new episode
        (date(1960, 1, 1), "yes", False),  # 67, but not a new episode
    ],
)
def test_age_under_20_or_over_50_with_a_first_episode(born_on, previous, flagged):
    found = facts(born_on=born_on, history={"previous_episodes": previous}).risk_factors
    assert ("age_new_episode" in found) is flagged


def test_other_risk_factors():
    found = facts(health={"risk_factors": ["osteoporosis", "cancer_history"], "improving": "no"},
                  episode={"weeks_ago": 5}).risk_factors
    assert found == ["cancer_history", "osteoporosis", "no_improvement"]
    assert "no_improvement" not in facts(health={"improving": "no"}, episode={"weeks_ago": 3}).risk_factors


def test_scores_are_derived_with_the_measures_engine():
    derived = facts(activities={"activities": [{"name": "Gardening", "rating": 3}, {"name": "Driving", "rating": 6}]})
    assert (derived.pain_now, derived.pain_average, derived.pain_worst, derived.psfs_score) == (6, 5, 8, 4.5)


NEW = {"legs_changing": "new_or_worse"}
STEADY = {"legs_changing": "unchanged"}


@pytest.mark.parametrize(
    "where, expected",
    [
        ({"leg_symptoms": "both"} | NEW, {"both_legs": "emergency"}),
        ({"leg_weakness": "both"} | NEW, {"both_legs": "emergency"}),
        ({"leg_symptoms": "left", "leg_weakness": "right"} | NEW, {"both_legs": "emergency"}),  # one each: both legs
        ({"leg_symptoms": "both"}, {"both_legs": "emergency"}),  # answered before the question on change: as new
        ({"leg_symptoms": "both"} | STEADY, {}),  # long-standing and unchanged: a risk factor instead
        ({"leg_weakness": "left"} | NEW, {"worsening_weakness": "urgent"}),  # foot drop
        ({"leg_weakness": "left"} | STEADY, {}),
        ({"leg_symptoms": "left"} | NEW, {}),  # numbness in one leg: the nerve-root pattern, not a red flag
        ({"leg_symptoms": "no", "leg_weakness": "no", "legs_changing": None}, {}),
    ],
)
def test_red_flags_from_the_legs(where, expected):
    assert red_flags(answers(where=where)) == expected


def test_cancer_with_a_first_episode_is_urgent_whatever_the_page_order():
    cancer = {"risk_factors": ["cancer_history"]}
    assert red_flags(answers(health=cancer, history={"previous_episodes": "no"})) == {"cancer_new_pain": "urgent"}
    assert red_flags(answers(health=cancer, history={"previous_episodes": "yes"})) == {}
    assert red_flags({"health": cancer}) == {}  # the history page is not answered yet: nothing to say
    assert red_flags({}) == {}


def test_flags_are_derived_by_level_and_long_standing_symptoms_in_both_legs_are_a_risk_factor():
    derived = facts(where={"leg_symptoms": "both"} | NEW, health={"risk_factors": ["cancer_history"]},
                    history={"previous_episodes": "no"})
    assert (derived.emergency_flags, derived.urgent_flags) == (["both_legs"], ["cancer_new_pain"])
    steady = facts(where={"leg_symptoms": "both"} | STEADY)
    assert (steady.emergency_flags, steady.urgent_flags) == ([], [])
    assert "both_legs_longstanding" in steady.risk_factors


def test_antiplatelets_fainting_and_lymphoedema_are_precautions():
    found = facts(health={"antiplatelets": "not_sure", "precautions": ["lymphoedema", "fainting", "needle_fear"]})
    assert found.precautions == ["antiplatelets", "needle_fear", "fainting", "lymphoedema"]


def test_every_flag_the_intake_raises_names_the_page_to_change_it_on():
    raised = {**red_flags(answers(where={"leg_symptoms": "both"} | NEW)),
              **red_flags(answers(where={"leg_weakness": "left"} | NEW)),
              **red_flags(answers(health={"risk_factors": ["cancer_history"]}, history={"previous_episodes": "no"}))}
    assert set(raised) == set(FLAG_STEPS)
    assert most_serious({"cancer_new_pain": "urgent", "both_legs": "emergency"}) == "both_legs"
