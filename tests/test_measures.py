"""The measures engine: scoring rules checked against tables taken from the published rules.

Pure code: no app, no database. The STarT Back and Oswestry rules are proven with
made-up files of the same shape, since their wording is not ours to ship here.
Scores are exact decimals, rounded half-up as the rules are worked by hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.measures import (
    SHIPPED,
    InstrumentError,
    is_meaningful_change,
    load_instruments,
    load_licensed_instruments,
    parse_instrument,
)
from booking.measures.rules import half_up
from tests.instruments import BOTHER_POINTS, KEELE_KEYS, START_BACK_TOML

SHIPPED_INSTRUMENTS = load_instruments(SHIPPED)
NPRS = SHIPPED_INSTRUMENTS["nprs"]
PSFS = SHIPPED_INSTRUMENTS["psfs"]
D = Decimal


def test_the_shipped_instruments():
    assert set(SHIPPED_INSTRUMENTS) == {"nprs", "psfs"}
    assert [s.key for s in NPRS.scores] == ["pain_now", "pain_average", "pain_worst"]
    assert [s.meaningful_change for s in (*NPRS.scores, *PSFS.scores)] == [D(2)] * 4


# --- rounding: half-up from the exact quotient, never through a binary float ---------------------


@pytest.mark.parametrize(
    "numerator, denominator, decimals, rounded",
    [
        (17, 4, 1, "4.3"),  # 4.25: round(4.25, 1) in float gives 4.2
        (D("4.35"), 1, 1, "4.4"),  # 4.35 is 4.3499999... as a float, which rounds to 4.3
        (D("4.25"), 1, 1, "4.3"),
        (D("4.2499999999999999999999999999999"), 1, 1, "4.2"),
        (D("4.249"), 1, 1, "4.2"),
        (D("4.05"), 1, 1, "4.1"),
        (13, 3, 1, "4.3"),  # 4.333...
        (14, 3, 1, "4.7"),  # 4.666...
        (5, 1, 1, "5.0"),
        (0, 3, 1, "0.0"),
        (D("2.5"), 1, 0, "3"),  # round(2.5) in Python gives 2
        (D("-4.25"), 1, 1, "-4.3"),  # a tie moves away from zero
        (2, 3, 2, "0.67"),
    ],
)
def test_half_up_rounds_the_exact_quotient(numerator, denominator, decimals, rounded):
    assert str(half_up(numerator, denominator, decimals)) == rounded


# --- Numeric Pain Rating Scale: 0 none, 1-3 mild, 4-6 moderate, 7-10 severe --------------------


@pytest.mark.parametrize(
    "rating, band",
    [(0, "none"), (1, "mild"), (3, "mild"), (4, "moderate"), (6, "moderate"), (7, "severe"), (10, "severe")],
)
def test_nprs_bands(rating, band):
    scores = NPRS.score({"pain_now": rating, "pain_average": "5", "pain_worst": 9})
    assert scores["pain_now"].value == D(rating) and scores["pain_now"].band == band
    assert scores["pain_average"].value == D(5) and scores["pain_average"].band == "moderate"
    assert scores["pain_worst"].band == "severe"


def test_an_unanswered_rating_has_no_score():
    assert NPRS.score({"pain_now": 4})["pain_worst"].value is None
    assert NPRS.score({"pain_now": 4})["pain_worst"].band is None


@pytest.mark.parametrize("answer", [11, -1, "seven", "4.5", True, 3.5])
def test_nprs_refuses_answers_off_the_scale(answer):
    assert NPRS.problems({"pain_now": answer}) == {"pain_now": "Choose a number from 0 to 10"}
    with pytest.raises(InstrumentError):
        NPRS.score({"pain_now": answer})


def test_answers_to_questions_the_form_does_not_have_are_refused():
    assert NPRS.problems({"pain_tomorrow": 3}) == {"pain_tomorrow": "This is not a question of this form"}


# --- Patient-Specific Functional Scale: the mean of 1 to 5 rated activities, half-up to 0.1 ------


@pytest.mark.parametrize(
    "ratings, mean",
    [
        ([7], "7.0"),  # one activity
        ([0], "0.0"),
        ([3, 6], "4.5"),
        ([2, 4, 7], "4.3"),  # 13 / 3 = 4.333
        ([2, 4, 8], "4.7"),  # 14 / 3 = 4.667
        ([4, 4, 5, 4], "4.3"),  # 17 / 4 = 4.25: half-up, where a float rounds to 4.2
        ([1, 1, 2, 1], "1.3"),  # 1.25
        ([4, 5, 5, 5], "4.8"),  # 4.75
        ([0, 10, 5, 5], "5.0"),
        ([1, 2, 3, 4, 6], "3.2"),  # five activities
        ([10, 10, 10, 10, 9], "9.8"),
        ([10, 10, 10, 10, 10], "10.0"),
        ([], None),
    ],
)
def test_psfs_mean_of_the_activities_rated(ratings, mean):
    answers = {f"activity_{n}": rating for n, rating in enumerate(ratings, start=1)}
    score = PSFS.score(answers)["psfs"]
    assert (None if score.value is None else str(score.value)) == mean
    assert score.as_float == (None if mean is None else float(mean))
    assert score.details == {"answered": len(ratings)}


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=5))
def test_psfs_mean_is_the_exact_mean_rounded_half_up(ratings):
    # Integer arithmetic only: floor(10 x sum / n + 1/2) = (20 x sum + n) // 2n tenths.
    tenths = (20 * sum(ratings) + len(ratings)) // (2 * len(ratings))
    answers = {f"activity_{n}": rating for n, rating in enumerate(ratings, start=1)}
    assert PSFS.score(answers)["psfs"].value == D(tenths) / 10
    assert D(repr(PSFS.score(answers)["psfs"].as_float)) == D(tenths) / 10  # stored as a float, read back exactly


def test_psfs_takes_at_most_five_activities():
    assert PSFS.problems({f"activity_{n}": 5 for n in range(1, 7)}) == {"activity_6": "This is not a question of this form"}


# --- a meaningful change: the threshold or more, compared exactly ---------------------------------


@pytest.mark.parametrize(
    "before, after, meaningful",
    [
        (5, 3, True),  # pain down 2 points
        (3, 5, True),
        (5, 4, False),
        (0.3, 2.3, True),  # 2.0 exactly; as floats 2.3 - 0.3 is 1.9999999999999998
        (2.3, 0.3, True),
        (0.4, 2.3, False),  # 1.9
        (D("4.3"), D("6.3"), True),
        (4.5, 6.4, False),
        (4.5, 6.5, True),
        (1.1, 3.1, True),
        (7.7, 9.7, True),
        (None, 3, False),
        (3, None, False),
    ],
)
def test_a_change_of_exactly_the_threshold_is_meaningful(before, after, meaningful):
    assert 2.3 - 0.3 < 2  # why the comparison cannot be made in floats
    assert is_meaningful_change(before, after, D(2)) is meaningful
    assert is_meaningful_change(before, after, 2) is meaningful


def test_no_threshold_means_no_meaningful_change():
    assert is_meaningful_change(1, 9, None) is False


# --- STarT Back: a made-up file in Keele's shape (the real wording is Keele's) --------------------

AGREE = [{"value": "agree", "label": "Agree", "points": 1}, {"value": "disagree", "label": "Disagree", "points": 0}]


def bother(points=BOTHER_POINTS) -> list[dict]:
    return [{"value": v, "label": v, "points": p} for v, p in points]


def start_back_file(items=None, score_items=None, psychosocial=None, **changes) -> dict:
    """A made-up STarT Back file, as a clinic's licensed one is shaped; `changes` override top-level keys."""
    items = items if items is not None else (
        [{"key": key, "text": f"Made-up statement {n}", "choices": AGREE} for n, key in enumerate(KEELE_KEYS[:8], 1)]
        + [{"key": "bothersome", "text": "How bothersome?", "choices": bother()}]
    )
    return {
        "key": "start_back", "title": "A few more questions", "licence": "Made up for the tests.",
        "items": items,
        "scores": [{"key": "risk", "label": "Risk", "rule": "start_back",
                    "items": score_items or [item["key"] for item in items],
                    "params": {"psychosocial": psychosocial or KEELE_KEYS[4:]}}],
    } | changes


START_BACK = parse_instrument(start_back_file(), "start_back.toml")


def screen(agreed: set[int], bothersome: str = "not_at_all") -> dict:
    answers = {key: "agree" if n in agreed else "disagree" for n, key in enumerate(KEELE_KEYS[:8], start=1)}
    return answers | {"bothersome": bothersome}


@pytest.mark.parametrize(
    "answers, total, subscale, risk",
    [
        (screen(set()), 0, 0, "low"),
        (screen({1, 2, 3}), 3, 0, "low"),  # total 3: the top of low
        (screen({5, 6, 7}), 3, 3, "low"),  # total 3 is low whatever the subscale
        (screen({1, 2, 3, 4}), 4, 0, "medium"),  # total 4: the bottom of medium
        (screen({1, 5, 6, 7}), 4, 3, "medium"),  # subscale 3: the top of medium
        (screen({1, 2, 3, 4, 5, 6, 7}), 7, 3, "medium"),  # a high total with subscale 3 is still medium
        (screen({5, 6, 7, 8}), 4, 4, "high"),  # subscale 4: the bottom of high
        (screen({5, 6, 7}, "very_much"), 4, 4, "high"),  # item 9 counts in the subscale
        (screen({5, 6, 7}, "extremely"), 4, 4, "high"),
        (screen({5, 6, 7}, "moderately"), 3, 3, "low"),  # "moderately" scores nothing
        (screen({5, 6, 7}, "slightly"), 3, 3, "low"),
        (screen({1, 2, 3, 4}, "extremely"), 5, 1, "medium"),
        (screen({1, 2, 3, 4, 5, 6, 7, 8}, "extremely"), 9, 5, "high"),
    ],
)
def test_start_back_totals_subscale_and_risk_at_each_boundary(answers, total, subscale, risk):
    score = START_BACK.score(answers)["risk"]
    assert (score.value, score.details["psychosocial"], score.details["risk"]) == (D(total), subscale, risk)


def test_start_back_needs_all_nine_answers():
    answers = screen({1, 2, 3, 4, 5})
    del answers["bothersome"]
    assert START_BACK.score(answers)["risk"].value is None


def test_a_choice_that_is_not_offered_is_refused():
    assert START_BACK.problems({"leg_pain": "strongly agree"}) == {"leg_pain": "Choose one of the answers given"}


def reordered(first: str, second: str) -> list[dict]:
    items = start_back_file()["items"]
    order = list(KEELE_KEYS)
    i, j = order.index(first), order.index(second)
    order[i], order[j] = order[j], order[i]
    return [next(item for item in items if item["key"] == key) for key in order]


def with_choices(key: str, choices: list[dict]) -> list[dict]:
    return [item | {"choices": choices} if item["key"] == key else item for item in start_back_file()["items"]]


@pytest.mark.parametrize(
    "data, problem",
    [
        (start_back_file(items=reordered("fear", "worry")),
         "the items must be Keele's nine in Keele's order (leg_pain, shoulder_neck, walking, dressing, fear, worry, "
         "catastrophising, low_mood, bothersome); found leg_pain, shoulder_neck, walking, dressing, worry, fear,"),
        (start_back_file(items=start_back_file()["items"][:8], psychosocial=KEELE_KEYS[4:8]),
         "STarT Back has nine items; this file has 8"),
        (start_back_file(items=start_back_file()["items"] + [{"key": "extra", "text": "E", "choices": AGREE}]),
         "STarT Back has nine items; this file has 10"),
        (start_back_file(items=with_choices("bothersome", bother([*BOTHER_POINTS[:2], ("moderately", 1),
                                                                    *BOTHER_POINTS[3:]]))),
         "item 9 must score 1 only for 'very much' and 'extremely'"),
        (start_back_file(items=with_choices("bothersome", bother([*BOTHER_POINTS[:3], ("very_much", 0),
                                                                    ("extremely", 1)]))),
         "item 9 must score 1 only for 'very much' and 'extremely'"),
        (start_back_file(items=with_choices("bothersome", bother([*BOTHER_POINTS[:4], ("extremely", 2)]))),
         "item 9 must score 1 only for 'very much' and 'extremely'"),
        (start_back_file(items=with_choices("bothersome", bother(BOTHER_POINTS[1:]))),
         "item 9 must offer not_at_all, slightly, moderately, very_much, extremely, in that order"),
        (start_back_file(items=with_choices("fear", list(reversed(AGREE)))),
         "item 5 (fear) must score agree = 1 and disagree = 0, in that order"),
        (start_back_file(items=with_choices("walking", [AGREE[0] | {"points": 2}, AGREE[1]])),
         "item 3 (walking) must score agree = 1 and disagree = 0, in that order"),
        (start_back_file(psychosocial=KEELE_KEYS[3:8]),
         "the psychosocial subscale must name items 5-9 (fear, worry, catastrophising, low_mood, bothersome)"),
        (start_back_file(psychosocial=KEELE_KEYS[4:8]),
         "the psychosocial subscale must name items 5-9"),
        (start_back_file(score_items=list(reversed(KEELE_KEYS))), "the score must list the nine items in Keele's order"),
        (start_back_file(scores=[{"key": "total", "label": "T", "rule": "percent_of_answered_sections",
                                  "items": KEELE_KEYS, "params": {"points_per_section": 1}}]),
         "the STarT Back file must have one score, with rule 'start_back'"),
        (start_back_file(key="screen", items=start_back_file()["items"][:8], psychosocial=KEELE_KEYS[4:8]),
         "STarT Back has nine items"),  # the rule is checked whatever the file's key
    ],
)
def test_a_start_back_file_that_differs_from_keeles_is_refused(data, problem):
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, "start_back.toml")
    assert str(caught.value).startswith(f"start_back.toml: {problem}")


# --- Oswestry: a made-up ten-section file (the real one is licensed through Mapi Research Trust) ---

SECTIONS = [f"section_{n}" for n in range(1, 11)]
STATEMENTS = [{"value": f"s{p}", "label": f"Statement worth {p}", "points": p} for p in range(6)]


def oswestry_file(items=None, **params) -> dict:
    items = items if items is not None else [{"key": key, "text": f"Section {n}", "choices": STATEMENTS}
                                            for n, key in enumerate(SECTIONS, start=1)]
    return {
        "key": "oswestry", "title": "A made-up disability index", "licence": "Made up for the tests.",
        "items": items,
        "scores": [{"key": "index", "label": "Disability", "rule": "percent_of_answered_sections",
                    "items": [item["key"] for item in items],
                    "params": {"points_per_section": 5, "max_missing": 1} | params}],
        "bands": [{"from": 0, "to": 20, "label": "minimal"}, {"from": 20.1, "to": 40, "label": "moderate"},
                  {"from": 40.1, "to": 100, "label": "severe"}],
    }


OSWESTRY = parse_instrument(oswestry_file(), "oswestry.toml")
OSWESTRY_WHOLE = parse_instrument(oswestry_file(decimals=0), "oswestry.toml")


@pytest.mark.parametrize(
    "points, percent, whole, band",
    [
        ([2] * 10, "40.0", "40", "moderate"),  # nothing missing: 20 / 50
        ([0] * 10, "0.0", "0", "minimal"),
        ([5] * 10, "100.0", "100", "severe"),
        ([1, 2, 3, 4, 5, 0, 1, 2, 3, 4], "50.0", "50", "severe"),  # 25 / 50
        ([2] * 9, "40.0", "40", "moderate"),  # one missing: 18 / 45
        ([3] * 9, "60.0", "60", "severe"),  # 27 / 45
        ([1, 2, 3, 4, 5, 0, 1, 2, 3], "46.7", "47", "severe"),  # 21 / 45 = 46.666...
        ([1, 1, 1, 1, 1, 1, 1, 1, 0], "17.8", "18", "minimal"),  # 8 / 45 = 17.777...
        ([1, 1, 1, 1, 1, 0, 0, 0, 0], "11.1", "11", "minimal"),  # 5 / 45 = 11.111...
        ([2] * 8, None, None, None),  # two missing: no score
        ([], None, None, None),
    ],
)
def test_oswestry_percentage_of_answered_sections(points, percent, whole, band):
    answers = {key: f"s{value}" for key, value in zip(SECTIONS, points)}
    score = OSWESTRY.score(answers)["index"]
    assert (None if score.value is None else str(score.value), score.band) == (percent, band)
    assert score.details["missing"] == 10 - len(points)
    rounded = OSWESTRY_WHOLE.score(answers)["index"].value
    assert (None if rounded is None else str(rounded)) == whole


def test_the_percentage_rule_rounds_half_up():
    # A made-up four-point index: 1 / (4 x 10) x 100 = 2.5 exactly, which rounds up to 3.
    data = oswestry_file(decimals=0, points_per_section=4) | {"key": "four_point"}
    data["items"] = [{"key": key, "text": key, "min": 0, "max": 4} for key in SECTIONS]
    index = parse_instrument(data, "four.toml")
    assert index.score({key: 1 if key == "section_1" else 0 for key in SECTIONS})["index"].value == D(3)


@pytest.mark.parametrize(
    "data, problem",
    [
        (oswestry_file(items=oswestry_file()["items"][:9]), "the Oswestry index has ten sections; this file has 9"),
        (oswestry_file(items=[{"key": key, "text": key, "choices": STATEMENTS[:5]} for key in SECTIONS]),
         "section 1 (section_1) must be scored 0-5"),
        (oswestry_file(items=[{"key": key, "text": key, "min": 0, "max": 10 if key == "section_4" else 5}
                              for key in SECTIONS]),
         "section 4 (section_4) must be scored 0-5"),
        (oswestry_file(max_missing=2), "the Oswestry score must have points_per_section = 5 and max_missing = 1"),
        (oswestry_file(points_per_section=6), "the Oswestry score must have points_per_section = 5"),
        (oswestry_file() | {"scores": [{"key": "index", "label": "D", "rule": "mean_of_answered", "items": SECTIONS}]},
         "the Oswestry file must have one score, rule 'percent_of_answered_sections' over all ten sections"),
    ],
)
def test_an_oswestry_file_that_differs_from_the_published_rule_is_refused(data, problem):
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, "oswestry.toml")
    assert str(caught.value).startswith(f"oswestry.toml: {problem}")


def test_oswestry_sections_may_be_a_zero_to_five_scale():
    data = oswestry_file(items=[{"key": key, "text": key, "min": 0, "max": 5} for key in SECTIONS])
    assert parse_instrument(data, "oswestry.toml").score({key: 1 for key in SECTIONS})["index"].value == D("20.0")


# --- broken instrument files ---------------------------------------------------------------------


def base_file(**changes) -> dict:
    data = {
        "key": "x", "title": "X", "licence": "L",
        "items": [{"key": "a", "text": "A", "min": 0, "max": 10}],
        "scores": [{"key": "a", "label": "A", "rule": "single_item", "items": ["a"]}],
    }
    return data | changes


def one_score(**changes) -> list[dict]:
    return [{"key": "a", "label": "A", "rule": "single_item", "items": ["a"]} | changes]


@pytest.mark.parametrize(
    "data, problem",
    [
        (base_file(scores=one_score(rule="median")), "scores[0].rule 'median' is not one of"),
        (base_file(scores=one_score(items=["b"])), "scores[0].items name unknown items ['b']"),
        (base_file(items=[{"key": "a", "text": "A", "min": 10, "max": 0}]), "items[0].min must be below max"),
        (base_file(items=[{"key": "a", "text": "A", "min": 0, "max": 1}] * 2), "needs items, each with its own key"),
        (base_file(scores=[]), "needs at least one [[scores]]"),
        (base_file(licence=None), "licence is missing"),
        (base_file(scores=one_score(params={"weight": 2})), "scores[0].params.weight is not a parameter of rule 'single_item'"),
        (base_file(scores=one_score(rule="percent_of_answered_sections")), "scores[0].params.points_per_section is missing"),
        (base_file(scores=one_score(rule="percent_of_answered_sections", params={"points_per_section": 0})),
         "scores[0].params.points_per_section must be a whole number of at least 1"),
        (base_file(scores=one_score(rule="percent_of_answered_sections", params={"points_per_section": 5, "decimals": 0.5})),
         "scores[0].params.decimals must be a whole number"),
        (base_file(scores=one_score(rule="mean_of_answered", params={"min_answered": 0})),
         "scores[0].params.min_answered must be a whole number of at least 1"),
        (base_file(scores=one_score(meaningful_change=-2)), "scores[0].meaningful_change must be a number above 0"),
        (base_file(bands=[{"from": 0, "label": "none"}]), "bands.to is missing"),
    ],
)
def test_broken_instrument_files_say_what_is_wrong(data, problem):
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, "bad.toml")
    assert str(caught.value).startswith(f"bad.toml: {problem}")


# --- licensed files, from the clinic's own folder ------------------------------------------------

def test_a_licensed_clinic_adds_an_instrument_as_one_more_file(tmp_path):
    (tmp_path / "start_back.toml").write_text(START_BACK_TOML)
    licensed = load_licensed_instruments(tmp_path, SHIPPED_INSTRUMENTS)
    assert set(licensed) == {"start_back"}
    [score] = licensed["start_back"].score(screen({5, 6, 7}, "very_much")).values()
    assert (score.value, score.details) == (D(4), {"psychosocial": 4, "risk": "high"})


def test_a_licensed_file_not_as_published_is_refused_naming_the_file_and_the_problem(tmp_path):
    (tmp_path / "start_back.toml").write_text(START_BACK_TOML.replace(
        'value = "moderately"\nlabel = "moderately"\npoints = 0', 'value = "moderately"\nlabel = "moderately"\npoints = 1'))
    with pytest.raises(InstrumentError) as caught:
        load_licensed_instruments(tmp_path, SHIPPED_INSTRUMENTS)
    assert str(caught.value) == f"{tmp_path / 'start_back.toml'}: item 9 must score 1 only for 'very much' and 'extremely'"


def test_a_licensed_file_may_not_replace_a_shipped_instrument(tmp_path):
    (tmp_path / "pain.toml").write_text((SHIPPED / "nprs.toml").read_text())
    with pytest.raises(InstrumentError, match="key 'nprs' is already a shipped instrument's"):
        load_licensed_instruments(tmp_path, SHIPPED_INSTRUMENTS)


def test_an_unreadable_licensed_file_is_refused_too(tmp_path):
    (tmp_path / "broken.toml").write_text('key = "broken"\ntitle = [')
    with pytest.raises(InstrumentError, match="broken.toml: "):
        load_licensed_instruments(tmp_path, SHIPPED_INSTRUMENTS)


def test_no_licensed_folder_means_no_licensed_instruments(tmp_path):
    assert load_licensed_instruments(tmp_path / "missing", SHIPPED_INSTRUMENTS) == {}
    assert load_licensed_instruments(None, SHIPPED_INSTRUMENTS) == {}


# --- wording in other languages: beside the English, never in the scoring ----------------------------


def test_the_shipped_instruments_speak_spanish_and_score_the_same_in_it():
    for instrument in (NPRS, PSFS):
        spanish = instrument.worded("es")
        assert instrument.speaks("es") and spanish.title != instrument.title
        assert all(es.text != en.text and es.min_label and es.max_label != en.max_label
                   for es, en in zip(spanish.items, instrument.items))
        assert [i.key for i in spanish.items] == [i.key for i in instrument.items] and spanish.scores == instrument.scores
    assert NPRS.worded("es").item("pain_now").text == "¿Qué tan fuerte es su dolor de espalda en este momento?"
    answers = {"pain_now": 6, "pain_average": 4, "pain_worst": 8}
    assert NPRS.worded("es").score(answers) == NPRS.score(answers)
    assert NPRS.worded("fr").item("pain_now").text == NPRS.item("pain_now").text  # no French: English


def test_a_licensed_file_without_spanish_stays_in_its_english():
    import tomllib

    screen = parse_instrument(tomllib.loads(START_BACK_TOML), "start_back.toml")
    assert not screen.speaks("es") and screen.worded("es") == screen


def test_a_licensed_file_may_carry_its_owners_translation():
    import tomllib

    data = tomllib.loads(START_BACK_TOML)
    data["translations"] = {"es": {"title": "Unas preguntas más", "intro": "En las últimas dos semanas:"}}
    for n, item in enumerate(data["items"], start=1):
        item["translations"] = {"es": {"text": f"Afirmación inventada {n}"}}
        for choice in item["choices"]:
            choice["translations"] = {"es": choice["label"].upper()}
    screen = parse_instrument(data, "start_back.toml")
    spanish = screen.worded("es")
    assert screen.speaks("es") and spanish.title == "Unas preguntas más" and spanish.notice == screen.notice
    assert spanish.items[0].text == "Afirmación inventada 1" and spanish.items[0].choices[0].label == "AGREE"
    assert [c.value for c in spanish.items[0].choices] == ["agree", "disagree"]  # answers stay codes
    assert spanish.score({key: "agree" for key in KEELE_KEYS[:8]} | {"bothersome": "extremely"}) == screen.score(
        {key: "agree" for key in KEELE_KEYS[:8]} | {"bothersome": "extremely"})


@pytest.mark.parametrize("translations, problem", [
    ({"es": {"txt": "Hola"}}, "items[0].translations.es may give only text, min_label, max_label"),
    ({"es": "Hola"}, "items[0].translations.es may give only text"),
    ("es", "items[0].translations must be a table of languages"),
])
def test_a_translation_that_is_not_wording_is_refused(translations, problem):
    import tomllib

    data = tomllib.loads((SHIPPED / "nprs.toml").read_text())
    data["items"][0]["translations"] = translations
    with pytest.raises(InstrumentError) as refused:
        parse_instrument(data, "nprs.toml")
    assert problem in str(refused.value)
