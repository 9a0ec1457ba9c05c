"""The measures engine: scoring rules checked against tables taken from the published rules.

Pure code: no app, no database. The STarT Back and percentage rules are proven with
made-up instruments of the same shape, since their wording is not ours to ship here.
Scores are exact decimals, rounded half-up as the rules are worked by hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.measures import SHIPPED, InstrumentError, is_meaningful_change, load_instruments, parse_instrument
from booking.measures.rules import half_up

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


# --- the STarT Back rule, on a made-up nine-item instrument of the same shape -------------------

AGREE = [{"value": "agree", "label": "Agree", "points": 1}, {"value": "disagree", "label": "Disagree", "points": 0}]
BOTHER = [
    {"value": v, "label": v, "points": p}
    for v, p in (("not_at_all", 0), ("slightly", 0), ("moderately", 0), ("very_much", 1), ("extremely", 1))
]
NINE_ITEMS = parse_instrument(
    {
        "key": "nine",
        "title": "A made-up nine-item screen",
        "licence": "Made up for the tests.",
        "items": [{"key": f"q{n}", "text": f"Statement {n}", "choices": AGREE} for n in range(1, 9)]
        + [{"key": "q9", "text": "How bothersome?", "choices": BOTHER}],
        "scores": [{"key": "risk", "label": "Risk", "rule": "start_back", "items": [f"q{n}" for n in range(1, 10)]}],
    },
    "test",
)


def screen(agreed: set[int], bother: str = "not_at_all") -> dict:
    answers = {f"q{n}": "agree" if n in agreed else "disagree" for n in range(1, 9)}
    return answers | {"q9": bother}


@pytest.mark.parametrize(
    "answers, total, subscale, risk",
    [
        (screen(set()), 0, 0, "low"),
        (screen({1, 2, 3}), 3, 0, "low"),  # total 3: the top of low
        (screen({5, 6, 7}), 3, 3, "low"),  # total 3 is low whatever the subscale
        (screen({1, 2, 3, 4}), 4, 0, "medium"),  # total 4: the bottom of medium
        (screen({1, 5, 6, 7}), 4, 3, "medium"),  # subscale 3: the top of medium
        (screen({5, 6, 7, 8}), 4, 4, "high"),  # subscale 4: the bottom of high
        (screen({5, 6, 7}, "very_much"), 4, 4, "high"),
        (screen({5, 6, 7}, "moderately"), 3, 3, "low"),  # "moderately" scores nothing
        (screen({1, 2, 3, 4, 5, 6, 7, 8}, "extremely"), 9, 5, "high"),
    ],
)
def test_start_back_rule_at_each_boundary(answers, total, subscale, risk):
    score = NINE_ITEMS.score(answers)["risk"]
    assert (score.value, score.details["psychosocial"], score.details["risk"]) == (D(total), subscale, risk)


def test_start_back_needs_all_nine_answers():
    answers = screen({1, 2, 3, 4, 5})
    del answers["q9"]
    assert NINE_ITEMS.score(answers)["risk"].value is None


def test_a_choice_that_is_not_offered_is_refused():
    assert NINE_ITEMS.problems({"q1": "strongly agree"}) == {"q1": "Choose one of the answers given"}


# --- the percentage rule (as the Oswestry index uses), on a made-up ten-section instrument --------

TEN_SECTIONS = parse_instrument(
    {
        "key": "ten",
        "title": "A made-up ten-section disability index",
        "licence": "Made up for the tests.",
        "items": [{"key": f"s{n}", "text": f"Section {n}", "min": 0, "max": 5} for n in range(1, 11)],
        "scores": [{"key": "index", "label": "Disability", "rule": "percent_of_answered_sections",
                    "items": [f"s{n}" for n in range(1, 11)], "params": {"points_per_section": 5, "max_missing": 1}}],
        "bands": [{"from": 0, "to": 20, "label": "minimal"}, {"from": 20.1, "to": 40, "label": "moderate"},
                  {"from": 40.1, "to": 100, "label": "severe"}],
    },
    "test",
)


@pytest.mark.parametrize(
    "points, percent, band",
    [
        ([2] * 10, "40.0", "moderate"),  # 0 missing: 20 / 50
        ([0] * 10, "0.0", "minimal"),
        ([5] * 10, "100.0", "severe"),
        ([2] * 9, "40.0", "moderate"),  # 1 missing: 18 / 45
        ([3] * 9, "60.0", "severe"),  # 27 / 45
        ([1, 2, 3, 4, 5, 0, 1, 2, 3], "46.7", "severe"),  # 21 / 45
        ([2] * 8, None, None),  # 2 missing: no score
    ],
)
def test_percentage_of_answered_sections(points, percent, band):
    answers = {f"s{n}": value for n, value in enumerate(points, start=1)}
    score = TEN_SECTIONS.score(answers)["index"]
    assert (None if score.value is None else str(score.value), score.band) == (percent, band)
    assert score.details["missing"] == 10 - len(points)


# --- broken instrument files ---------------------------------------------------------------------


def base_file(**changes) -> dict:
    data = {
        "key": "x", "title": "X", "licence": "L",
        "items": [{"key": "a", "text": "A", "min": 0, "max": 10}],
        "scores": [{"key": "a", "label": "A", "rule": "single_item", "items": ["a"]}],
    }
    return data | changes


@pytest.mark.parametrize(
    "data, problem",
    [
        (base_file(scores=[{"key": "a", "label": "A", "rule": "median", "items": ["a"]}]), "rule 'median' is not one of"),
        (base_file(scores=[{"key": "a", "label": "A", "rule": "single_item", "items": ["b"]}]), "unknown items ['b']"),
        (base_file(items=[{"key": "a", "text": "A", "min": 10, "max": 0}]), "min must be below max"),
        (base_file(items=[{"key": "a", "text": "A", "min": 0, "max": 1}] * 2), "each with its own key"),
        (base_file(scores=[]), "needs at least one [[scores]]"),
        (base_file(licence=None), "licence is missing"),
    ],
)
def test_broken_instrument_files_say_what_is_wrong(data, problem):
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, "bad.toml")
    assert problem in str(caught.value) and str(caught.value).startswith("bad.toml: ")


def test_a_licensed_clinic_adds_an_instrument_as_one_more_file(tmp_path):
    for path in SHIPPED.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "disability.toml").write_text(
        'key = "disability"\ntitle = "A licensed index"\nlicence = "Licensed to this clinic."\n'
        'notice = "Copyright its owner; used under licence."\n'
        + "".join(f'[[items]]\nkey = "s{n}"\ntext = "Section {n}"\nmin = 0\nmax = 5\n' for n in range(1, 11))
        + '[[scores]]\nkey = "index"\nlabel = "Disability"\nrule = "percent_of_answered_sections"\n'
        + "items = [" + ", ".join(f'"s{n}"' for n in range(1, 11)) + "]\n"
        + "[scores.params]\npoints_per_section = 5\nmax_missing = 1\n"
    )
    instruments = load_instruments(tmp_path)
    assert set(instruments) == {"nprs", "psfs", "disability"}
    assert instruments["disability"].score({f"s{n}": 1 for n in range(1, 11)})["index"].value == D("20.0")


def test_a_broken_licensed_file_is_skipped_with_a_warning(tmp_path, caplog):
    import logging

    from booking.measures import load_licensed_instruments

    (tmp_path / "good.toml").write_text((SHIPPED / "nprs.toml").read_text().replace('key = "nprs"', 'key = "extra"'))
    (tmp_path / "bad.toml").write_text('key = "bad"\n')
    log = logging.getLogger("tests.instruments")
    with caplog.at_level(logging.WARNING, logger="tests.instruments"):
        found = load_licensed_instruments(tmp_path, log)
    assert set(found) == {"extra"}
    assert "bad.toml" in caplog.text and "skipped" in caplog.text
    assert load_licensed_instruments(tmp_path / "missing", log) == {}
