"""The measures engine: scoring rules checked against tables taken from the published rules.

Pure code: no app, no database. The STarT Back and percentage rules are proven with
made-up instruments of the same shape, since their wording is not ours to ship here.
"""

from __future__ import annotations

import pytest

from booking.measures import SHIPPED, InstrumentError, is_meaningful_change, load_instruments, parse_instrument

SHIPPED_INSTRUMENTS = load_instruments(SHIPPED)
NPRS = SHIPPED_INSTRUMENTS["nprs"]
PSFS = SHIPPED_INSTRUMENTS["psfs"]


def test_the_shipped_instruments():
    assert set(SHIPPED_INSTRUMENTS) == {"nprs", "psfs"}
    assert [s.key for s in NPRS.scores] == ["pain_now", "pain_average", "pain_worst"]


# --- Numeric Pain Rating Scale: 0 none, 1-3 mild, 4-6 moderate, 7-10 severe --------------------


@pytest.mark.parametrize(
    "rating, band",
    [(0, "none"), (1, "mild"), (3, "mild"), (4, "moderate"), (6, "moderate"), (7, "severe"), (10, "severe")],
)
def test_nprs_bands(rating, band):
    scores = NPRS.score({"pain_now": rating, "pain_average": 5, "pain_worst": 9})
    assert scores["pain_now"].value == rating and scores["pain_now"].band == band
    assert scores["pain_average"].band == "moderate" and scores["pain_worst"].band == "severe"


def test_an_unanswered_rating_has_no_score():
    assert NPRS.score({"pain_now": 4})["pain_worst"].value is None


@pytest.mark.parametrize("answer", [11, -1, "seven", "4.5", True, 3.5])
def test_nprs_refuses_answers_off_the_scale(answer):
    assert NPRS.problems({"pain_now": answer}) == {"pain_now": "Choose a number from 0 to 10"}
    with pytest.raises(InstrumentError):
        NPRS.score({"pain_now": answer})


def test_answers_to_questions_the_form_does_not_have_are_refused():
    assert NPRS.problems({"pain_tomorrow": 3}) == {"pain_tomorrow": "This is not a question of this form"}


# --- Patient-Specific Functional Scale: the mean of 1 to 5 rated activities ---------------------


@pytest.mark.parametrize(
    "ratings, mean",
    [
        ([5], 5.0),
        ([3, 6], 4.5),
        ([2, 4, 7], 4.3),  # 13 / 3 = 4.33
        ([0, 10, 5, 5], 5.0),
        ([1, 2, 3, 4, 6], 3.2),
        ([10, 10, 10, 10, 9], 9.8),
        ([], None),
    ],
)
def test_psfs_mean_of_the_activities_rated(ratings, mean):
    answers = {f"activity_{n}": rating for n, rating in enumerate(ratings, start=1)}
    assert PSFS.score(answers)["psfs"].value == mean


def test_psfs_takes_at_most_five_activities():
    assert PSFS.problems({f"activity_{n}": 5 for n in range(1, 7)}) == {"activity_6": "This is not a question of this form"}


@pytest.mark.parametrize(
    "before, after, threshold, meaningful",
    [(5, 3, 2, True), (5, 4, 2, False), (3, 5, 2, True), (4.5, 6.4, 2, False), (4.5, 6.5, 2, True), (None, 3, 2, False)],
)
def test_meaningful_change_is_two_points_either_way(before, after, threshold, meaningful):
    assert is_meaningful_change(before, after, threshold) is meaningful


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
    assert (score.value, score.details["psychosocial"], score.details["risk"]) == (total, subscale, risk)


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
        ([2] * 10, 40.0, "moderate"),  # 0 missing: 20 / 50
        ([0] * 10, 0.0, "minimal"),
        ([5] * 10, 100.0, "severe"),
        ([2] * 9, 40.0, "moderate"),  # 1 missing: 18 / 45
        ([3] * 9, 60.0, "severe"),  # 27 / 45
        ([1, 2, 3, 4, 5, 0, 1, 2, 3], 46.7, "severe"),  # 21 / 45
        ([2] * 8, None, None),  # 2 missing: no score
    ],
)
def test_percentage_of_answered_sections(points, percent, band):
    answers = {f"s{n}": value for n, value in enumerate(points, start=1)}
    score = TEN_SECTIONS.score(answers)["index"]
    assert (score.value, score.band) == (percent, band)
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
    assert instruments["disability"].score({f"s{n}": 1 for n in range(1, 11)})["index"].value == 20.0


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
