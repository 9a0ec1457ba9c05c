"""CPT acupuncture codes and units by the 8-minute rule."""

import pytest

from booking.notes.billing import claim_codes, procedure_lines
from booking.notes.content import blank_note


@pytest.mark.parametrize("minutes, electro, expected", [
    (None, False, []),
    (0, False, []),
    (7, False, []),
    (7, True, []),
    (8, False, [("97810", 1)]),
    (8, True, [("97813", 1)]),
    (15, False, [("97810", 1)]),
    (22, False, [("97810", 1)]),
    (23, False, [("97810", 1), ("97811", 1)]),
    (23, True, [("97813", 1), ("97814", 1)]),
    (30, False, [("97810", 1), ("97811", 1)]),
    (37, False, [("97810", 1), ("97811", 1)]),
    (38, False, [("97810", 1), ("97811", 2)]),
    (38, True, [("97813", 1), ("97814", 2)]),
    (60, True, [("97813", 1), ("97814", 3)]),
])
def test_units_follow_the_8_minute_rule(minutes, electro, expected):
    # Needles re-inserted as often as needed: the time alone decides the units.
    assert [(line.code, line.units) for line in procedure_lines(minutes, electro, reinsertions=5)] == expected


@pytest.mark.parametrize("minutes, reinsertions, expected", [
    (38, None, [("97810", 1)]),  # not recorded: no add-on unit is claimed
    (38, 0, [("97810", 1)]),  # 25 minutes more with the same needles in: still one unit
    (38, 1, [("97810", 1), ("97811", 1)]),
    (38, 2, [("97810", 1), ("97811", 2)]),
    (38, 4, [("97810", 1), ("97811", 2)]),  # re-insertions beyond the time claim nothing more
])
def test_each_add_on_unit_needs_a_re_insertion(minutes, reinsertions, expected):
    assert [(line.code, line.units) for line in procedure_lines(minutes, False, reinsertions)] == expected


def test_lines_describe_the_code():
    initial, additional = procedure_lines(30, True, 1)
    assert "with electrical stimulation, initial 15 minutes" in initial.description
    assert "each additional 15 minutes" in additional.description


def test_claim_codes_read_the_note():
    content = blank_note()
    content["treatment"]["contact_minutes"] = 25
    content["treatment"]["electro"] = True
    content["treatment"]["reinsertions"] = 1
    content["assessment"]["diagnoses"] = ["M54.41", "M54.50"]
    claim = claim_codes(content)
    assert [(p.code, p.units) for p in claim["procedures"]] == [("97813", 1), ("97814", 1)]
    assert [d.code for d in claim["diagnoses"]] == ["M54.41", "M54.50"]
    assert claim_codes(blank_note()) == {"procedures": [], "diagnoses": []}


def test_a_code_no_longer_shipped_still_reads_and_stays_on_the_receipt():
    """Code sets change every October: a signed note keeps the codes it recorded, and reading it
    (or its receipt) never depends on today's list still holding them."""
    from booking.notes.content import summary

    note = blank_note()
    note["assessment"]["diagnoses"] = ["M54.50", "M54.5"]  # M54.5 was split into M54.50-M54.59 in 2021
    note["treatment"]["points"] = [{"code": "XX99", "side": "left", "technique": ""}]
    assert [d.code for d in claim_codes(note)["diagnoses"]] == ["M54.50", "M54.5"]
    read = dict(dict(summary(note))["Assessment"]) | dict(dict(summary(note))["Treatment"])
    assert "M54.5 (not in the current list of codes)" in " ".join(read.values())
    assert "XX99 (left)" in " ".join(read.values())
