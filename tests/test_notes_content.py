"""The treatment note's content: parsing and checking the note form, writing it back, views."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.notes import choices
from booking.notes.content import (
    ADVERSE_ROW, DIAGNOSES_FIELD, PRIMARY_DIAGNOSIS_FIELD, FIELDS, POINT_ROW, REVIEW_FIELD, blank_note, label_for, note_from_form,
    note_to_form, points_as_prescription, prefilled_subjective, summary, with_prescription,
)


def test_blank_note_round_trips_through_the_form():
    content, errors = note_from_form(note_to_form(blank_note()))
    assert errors == {}
    assert content == blank_note()
    assert note_from_form({}) == (blank_note(), {})


FULL_FORM = {
    "s_pain_now": [" 6 "], "s_pain_worst": ["8"], "s_activities": ["  Gardening\r\nLifting the toddler "],
    "s_changes": ["Sleeps better"], "s_after_effects": ["Tired the evening after"], "s_notes": [""],
    "o_rom_flexion": ["reduced_moderately"], "o_rom_flexion_painful": ["on"], "o_rom_extension": ["full"],
    "o_slr_left": ["positive"], "o_slr_left_angle": ["45"], "o_slr_right": ["negative"],
    "o_tenderness": ["sacroiliac_left", "lumbar_midline", "lumbar_midline"], "o_tenderness_notes": ["L4-L5"],
    "o_tongue_body": ["pale"], "o_tongue_coating": ["thin_white", "greasy"], "o_tongue_features": ["tooth_marked"],
    "o_pulse_left_chi": ["deep"], "o_pulse_right_chi": ["weak"], "o_pulse_rate": ["64"],
    "o_pulse_qualities": ["deep", "slow"],
    "a_interior_exterior": ["interior"], "a_cold_heat": ["cold"], "a_deficiency_excess": ["deficiency"],
    "a_yin_yang": [""], "a_patterns": ["kidney_yang_deficiency", "bladder_channel"],
    "a_diagnoses": ["M54.42", "m54.50", "M54.42"], "a_working_diagnosis": ["Chronic LBP with left sciatica"],
    "p_principle": ["Warm Kidney yang, move Bladder channel"], "p_next_visit": ["1 week"],
    "p_review_at": ["8, 4 4"],
    "t_point_code": ["bl 23", "BL23", "gv4", "", "GB30", "BL40"],
    "t_point_side": ["both", "both", "", "left", "left", "both"],
    "t_point_technique": ["tonifying", "reducing", "tonifying", "", "even", ""],
    "t_needles": ["12"], "t_retention_minutes": ["25"], "t_electro": ["on"],
    "t_electro_settings": ["2/100 Hz dense-disperse, BL23-BL25 both sides"], "t_methods": ["moxibustion"],
    "t_contact_minutes": ["35"],
    "t_adverse_type": ["", "bruising"], "t_adverse_severity": ["", "mild"], "t_adverse_action": ["", "Pressure, advised"],
    "narrative": ["First visit after intake."],
    "csrf_token": ["ignored"],
}


def test_a_full_form_is_cleaned_into_content():
    content, errors = note_from_form(FULL_FORM)
    assert errors == {}
    assert content["subjective"]["pain_now"] == 6
    assert content["subjective"]["activities"] == "Gardening\nLifting the toddler"
    assert content["objective"]["rom"]["flexion"] == {"grade": "reduced_moderately", "painful": True}
    assert content["objective"]["rom"]["rotation_left"] == {"grade": "", "painful": False}
    assert content["objective"]["slr"]["left"] == {"result": "positive", "angle": 45}
    assert content["objective"]["tenderness"] == ["lumbar_midline", "sacroiliac_left"]
    assert content["objective"]["pulse"]["left_chi"] == "deep"
    assert content["assessment"]["principles"] == {
        "interior_exterior": "interior", "cold_heat": "cold", "deficiency_excess": "deficiency", "yin_yang": ""}
    assert content["assessment"]["diagnoses"] == ["M54.42", "M54.50"]
    assert content["plan"]["review_at"] == [4, 8]
    # Repeats of a point on one side are kept once (the first row); the empty spare row is skipped.
    assert content["treatment"]["points"] == [
        {"code": "BL23", "side": "both", "technique": "tonifying"},
        {"code": "GV4", "side": "midline", "technique": "tonifying"},
        {"code": "GB30", "side": "left", "technique": "even"},
        {"code": "BL40", "side": "both", "technique": ""},
    ]
    assert content["treatment"]["adverse_events"] == [
        {"type": "bruising", "severity": "mild", "action": "Pressure, advised"}]
    assert content["treatment"]["electro"] is True and content["treatment"]["contact_minutes"] == 35
    assert json.loads(json.dumps(content)) == content
    assert note_from_form(note_to_form(content)) == (content, {})


LONG = "x" * 2001
ERROR_CASES = [
    ({"s_pain_now": ["11"]}, "s_pain_now", "Pain now must be a whole number from 0 to 10."),
    ({"s_pain_now": ["-1"]}, "s_pain_now", "Pain now must be a whole number from 0 to 10."),
    ({"s_pain_worst": ["6.5"]}, "s_pain_worst", "Worst pain in the last week must be a whole number from 0 to 10."),
    ({"s_pain_now": ["٥"]}, "s_pain_now", "Pain now must be a whole number from 0 to 10."),
    ({"t_retention_minutes": ["121"]}, "t_retention_minutes",
     "Retention time must be a whole number of minutes from 0 to 120."),
    ({"o_pulse_rate": ["12"]}, "o_pulse_rate",
     "Pulse rate must be a whole number of beats per minute from 20 to 250."),
    ({"t_needles": ["201"]}, "t_needles", "Needles used must be a whole number from 0 to 200."),
    ({"t_contact_minutes": ["lots"]}, "t_contact_minutes",
     "Personal contact time must be a whole number of minutes from 0 to 240."),
    ({"o_slr_left_angle": ["91"]}, "o_slr_left_angle",
     "Left straight leg raise angle must be a whole number of degrees from 0 to 90."),
    ({"o_slr_right": [""], "o_slr_right_angle": ["40"]}, "o_slr_right_angle",
     "Right straight leg raise angle is recorded only when the test is positive."),
    ({"s_activities": ["Walking\x00"]}, "s_activities",
     "Activities hard to do contains a control character that cannot be saved: remove it and try again."),
    ({"s_changes": [LONG]}, "s_changes", "Changes since the last visit must be 2,000 characters or fewer (it has 2,001)."),
    ({"narrative": ["y" * 5001]}, "narrative", "Narrative must be 5,000 characters or fewer (it has 5,001)."),
    ({"o_tongue_coating": ["purple", "thin_white"]}, "o_tongue_coating",
     'Tongue coating: choose only from the list ("purple" is not one of its choices).'),
    ({"o_tongue_body": ["green"]}, "o_tongue_body",
     'Tongue body color: choose one of the listed options ("green" is not one of them).'),
    ({"a_yin_yang": ["heat"]}, "a_yin_yang", 'Yin or yang: choose one of the listed options ("heat" is not one of them).'),
    ({"s_pain_now": ["3", "4"]}, "s_pain_now", "Pain now was sent more than once: send one value."),
    ({"t_electro": ["yes"]}, "t_electro", "Electroacupuncture must be ticked or not ticked."),
    ({REVIEW_FIELD: ["4, 51"]}, REVIEW_FIELD,
     "Review at visits must be visit numbers from 1 to 50, separated by commas (like 4, 8)."),
    ({REVIEW_FIELD: ["four"]}, REVIEW_FIELD,
     "Review at visits must be visit numbers from 1 to 50, separated by commas (like 4, 8)."),
    ({REVIEW_FIELD: ["4", "8"]}, REVIEW_FIELD,
     "Review at visits must be visit numbers from 1 to 50, separated by commas (like 4, 8)."),
    ({DIAGNOSES_FIELD: ["M54.5"]}, DIAGNOSES_FIELD,
     '"M54.5" is not on the diagnosis list: choose a diagnosis from the list.'),
    ({PRIMARY_DIAGNOSIS_FIELD: ["M54.42"]}, PRIMARY_DIAGNOSIS_FIELD,
     "Tick M54.42 under Diagnoses too, or choose another primary diagnosis."),
    ({PRIMARY_DIAGNOSIS_FIELD: ["M99.99"]}, PRIMARY_DIAGNOSIS_FIELD,
     '"M99.99" is not on the diagnosis list: choose the primary diagnosis from the list.'),
    ({"t_point_code": ["", "bl99"], "t_point_side": ["both", "left"]}, "t_point_code.2",
     "BL99 is not a standard point code: choose a point from the list."),
    ({"t_point_code": ["BL23"], "t_point_side": [""]}, "t_point_side.1",
     "Choose a side for BL23: left, right, both or midline."),
    ({"t_point_code": ["BL23"], "t_point_side": ["up"]}, "t_point_side.1",
     "Choose a side for BL23: left, right, both or midline."),
    ({"t_point_code": ["BL23"], "t_point_side": ["both"], "t_point_technique": ["strong"]}, "t_point_technique.1",
     "Technique must be tonifying, reducing or even (or left empty)."),
    ({"t_adverse_type": ["", "bruising"], "t_adverse_severity": ["", ""]}, "t_adverse_severity.2",
     "Choose how severe adverse event 2 was: mild, moderate or severe."),
    ({"t_adverse_severity": ["mild"], "t_adverse_action": ["Rested"]}, "t_adverse_type.1",
     "Choose the type of adverse event 1 from the list."),
    ({"t_adverse_type": ["sneezing"], "t_adverse_severity": ["mild"]}, "t_adverse_type.1",
     "Choose the type of adverse event 1 from the list."),
    ({"s_pain_now": ["9" * 5000]}, "s_pain_now", "Pain now must be a whole number from 0 to 10."),
    ({REVIEW_FIELD: ["4, " + "9" * 5000]}, REVIEW_FIELD,
     "Review at visits must be visit numbers from 1 to 50, separated by commas (like 4, 8)."),
    ({"t_point_code": ["GB30"] * 101, "t_point_side": ["left"] * 101}, "t_point_code",
     "A note can list at most 100 points: remove some rows."),
    ({"t_adverse_type": ["bruising"] * 21, "t_adverse_severity": ["mild"] * 21}, "t_adverse_type",
     "A note can list at most 20 adverse events: remove some rows."),
    ({"t_point_code": ["x" * 300], "t_point_side": ["left"]}, "t_point_code.1",
     f'"{"x" * 40}…" is not a standard point code: choose a point from the list.'),
    ({"t_adverse_type": ["bruising"], "t_adverse_severity": ["mild"], "t_adverse_action": ["a\x1bb"]},
     "t_adverse_action.1",
     "Action taken (adverse event 1) contains a control character that cannot be saved: remove it and try again."),
]


@pytest.mark.parametrize("form, field, message", ERROR_CASES)
def test_bad_input_gets_a_specific_message_and_stores_nothing(form, field, message):
    content, errors = note_from_form(form)
    assert errors == {field: message}
    # Nothing was valid in these forms apart from the refused value: nothing at all is stored.
    assert content == blank_note()


def test_an_angle_with_a_negative_test_is_refused_and_the_result_kept():
    content, errors = note_from_form({"o_slr_right": ["negative"], "o_slr_right_angle": ["40"]})
    assert errors == {"o_slr_right_angle": "Right straight leg raise angle is recorded only when the test is positive."}
    assert content["objective"]["slr"]["right"] == {"result": "negative", "angle": None}


def test_a_flat_dict_counts_each_string_as_one_value():
    content, errors = note_from_form({"s_pain_now": "4", "t_point_code": "BL23", "t_point_side": "both"})
    assert errors == {}
    assert content["subjective"]["pain_now"] == 4 and content["treatment"]["points"][0]["code"] == "BL23"


def test_a_bad_point_row_does_not_drop_the_good_ones():
    content, errors = note_from_form({"t_point_code": ["BL23", "BL99"], "t_point_side": ["both", "left"]})
    assert list(errors) == ["t_point_code.2"]
    assert content["treatment"]["points"] == [{"code": "BL23", "side": "both", "technique": ""}]


def test_the_same_point_on_different_sides_stays_twice():
    content, _ = note_from_form({"t_point_code": ["GB30", "GB30"], "t_point_side": ["left", "right"]})
    assert [row["side"] for row in content["treatment"]["points"]] == ["left", "right"]


def test_prescription_loads_from_last_visit_into_a_new_note():
    last, _ = note_from_form(FULL_FORM)
    rows = points_as_prescription(last)
    rows[0]["side"] = "left"  # a copy: the last visit's note is not changed
    assert last["treatment"]["points"][0]["side"] == "both"
    new = with_prescription(prefilled_subjective(4, 7, "Gardening", "", None), rows)
    assert [row["code"] for row in new["treatment"]["points"]] == ["BL23", "GV4", "GB30", "BL40"]
    assert new["subjective"]["pain_now"] == 4 and new["subjective"]["activities"] == "Gardening"
    assert new["objective"] == blank_note()["objective"]
    # The form rendered from it parses back to the same note.
    assert note_from_form(note_to_form(new)) == (new, {})


def test_with_prescription_refuses_a_bad_row_and_leaves_the_note_alone():
    note = blank_note()
    with pytest.raises(ValueError, match="BL99 is not a standard point code"):
        with_prescription(note, [{"code": "BL99", "side": "left", "technique": ""}])
    assert note == blank_note()


def test_prefilled_subjective_drops_values_that_would_not_pass():
    content = prefilled_subjective(12, 3, "x" * 3000, " Better ", None)
    assert content["subjective"]["pain_now"] is None and content["subjective"]["pain_worst"] == 3
    assert content["subjective"]["activities"] == "" and content["subjective"]["changes"] == "Better"


def test_the_primary_diagnosis_goes_first_and_the_others_follow_as_sent():
    """Ticked boxes come in the list's order whatever the practitioner meant: a hands-on trial ticked M54.42
    then M54.50, and the receipt put M54.50 first. The primary diagnosis chosen goes first."""
    ticked = {DIAGNOSES_FIELD: ["M54.50", "M54.41", "M54.42"]}
    assert note_from_form(ticked)[0]["assessment"]["diagnoses"] == ["M54.50", "M54.41", "M54.42"]
    content, errors = note_from_form(ticked | {PRIMARY_DIAGNOSIS_FIELD: [" m54.42 "]})
    assert errors == {} and content["assessment"]["diagnoses"] == ["M54.42", "M54.50", "M54.41"]
    assert note_to_form(content)[PRIMARY_DIAGNOSIS_FIELD] == ["M54.42"]
    assert note_from_form(note_to_form(content)) == (content, {})
    assert dict(dict(summary(content))["Assessment"])["Diagnoses (ICD-10-CM)"].startswith(
        "M54.42 Lumbago with sciatica, left side (primary); M54.50 Low back pain, unspecified; M54.41")
    assert note_from_form(ticked | {PRIMARY_DIAGNOSIS_FIELD: [""]})[0]["assessment"]["diagnoses"][0] == "M54.50"


def test_summary_uses_labels_never_raw_keys():
    content, _ = note_from_form(FULL_FORM)
    sections = dict(summary(content))
    assert list(sections) == ["Subjective", "Objective", "Assessment", "Plan", "Treatment", "Narrative"]
    objective = dict(sections["Objective"])
    assert objective["Flexion range"] == "Reduced moderately"
    assert objective["Tongue coating"] == "Thin white, Greasy"
    assert objective["Left straight leg raise angle"] == "45 degrees"
    treatment = dict(sections["Treatment"])
    assert treatment["Points"].startswith("BL23 Shenshu (both, tonifying); GV4 Mingmen (midline, tonifying)")
    assert treatment["Adverse event"] == "Bruising (mild): Pressure, advised"
    assert dict(sections["Assessment"])["Diagnoses (ICD-10-CM)"].startswith(
        "M54.42 Lumbago with sciatica, left side (primary)")
    assert summary(blank_note()) == []
    text = json.dumps(summary(content))
    for key in ("reduced_moderately", "thin_white", "kidney_yang_deficiency", "sacroiliac_left"):
        assert key not in text


def test_every_key_has_a_label():
    for group, entries in choices.CHOICE_GROUPS.items():
        for key in entries:
            assert label_for(group, key)
    for field in FIELDS:
        assert label_for("field", field.name)
        assert label_for(field.path[0], ".".join(field.path[1:]) or field.path[0])
    for name in (DIAGNOSES_FIELD, REVIEW_FIELD, *POINT_ROW, *ADVERSE_ROW):
        assert label_for("field", name)
    assert label_for("objective", "rom.flexion.grade") == "Flexion range"
    assert label_for("pattern", "cold_damp_bi") == "Cold-Damp painful obstruction (bi)"
    with pytest.raises(KeyError):
        label_for("pattern", "made_up")


FIELD_NAMES = [field.name for field in FIELDS] + [DIAGNOSES_FIELD, REVIEW_FIELD, *POINT_ROW, *ADVERSE_ROW]
PLAUSIBLE = st.sampled_from(
    ["", "on", "7", "45", "4, 8", "BL23", "gv 4", "EX-B2", "M54.50", "left", "both", "tonifying", "mild",
     "bruising", "positive", "pale", "greasy", "deep", "interior", "kidney_yang_deficiency", "cupping"])
VALUES = st.lists(st.one_of(st.text(max_size=30), PLAUSIBLE), max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES))
def test_any_form_parses_without_raising_and_its_content_reparses_to_itself(form):
    content, errors = note_from_form(form)
    assert all(isinstance(message, str) and message for message in errors.values())
    assert json.loads(json.dumps(content)) == content
    assert note_from_form(note_to_form(content)) == (content, {})
    summary(content)
