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
    assert [(line.code, line.units) for line in procedure_lines(minutes, electro)] == expected


def test_lines_describe_the_code():
    initial, additional = procedure_lines(30, True)
    assert "with electrical stimulation, initial 15 minutes" in initial.description
    assert "each additional 15 minutes" in additional.description


def test_claim_codes_read_the_note():
    content = blank_note()
    content["treatment"]["contact_minutes"] = 25
    content["treatment"]["electro"] = True
    content["assessment"]["diagnoses"] = ["M54.41", "M54.50"]
    claim = claim_codes(content)
    assert [(p.code, p.units) for p in claim["procedures"]] == [("97813", 1), ("97814", 1)]
    assert [d.code for d in claim["diagnoses"]] == ["M54.41", "M54.50"]
    assert claim_codes(blank_note()) == {"procedures": [], "diagnoses": []}
