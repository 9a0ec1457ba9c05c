"""The structured choices of a treatment note: stored key -> staff-facing label, in display order.
Keys are what the note's JSON holds; labels are what pages show. Keys never change once shipped."""

from __future__ import annotations

ROM_MOVEMENTS = {
    "flexion": "Flexion",
    "extension": "Extension",
    "side_bending_left": "Side bending left",
    "side_bending_right": "Side bending right",
    "rotation_left": "Rotation left",
    "rotation_right": "Rotation right",
}
ROM_GRADES = {
    "full": "Full",
    "reduced_little": "Reduced a little",
    "reduced_moderately": "Reduced moderately",
    "reduced_markedly": "Reduced markedly",
    "not_tested": "Not tested",
}
LEG_SIDES = {"left": "Left", "right": "Right"}
SLR_RESULTS = {"negative": "Negative", "positive": "Positive", "not_tested": "Not tested"}
TENDER_REGIONS = {
    "lumbar_midline": "Lumbar midline",
    "paraspinal_left": "Left paraspinal",
    "paraspinal_right": "Right paraspinal",
    "gluteal_left": "Left gluteal",
    "gluteal_right": "Right gluteal",
    "sacroiliac_left": "Left sacroiliac",
    "sacroiliac_right": "Right sacroiliac",
}
TONGUE_BODY = {
    "pale": "Pale",
    "pale_red": "Pale red (normal)",
    "red": "Red",
    "deep_red": "Deep red",
    "purple": "Purple",
    "bluish_purple": "Bluish-purple",
}
TONGUE_COATING = {
    "thin_white": "Thin white",
    "thick_white": "Thick white",
    "thin_yellow": "Thin yellow",
    "thick_yellow": "Thick yellow",
    "greasy": "Greasy",
    "dry": "Dry",
    "peeled": "Peeled or none",
}
TONGUE_FEATURES = {
    "normal": "Normal",
    "swollen": "Swollen",
    "thin": "Thin",
    "tooth_marked": "Tooth-marked",
    "cracked": "Cracked",
    "stiff": "Stiff",
    "deviated": "Deviated",
    "red_tip": "Red tip",
    "purple_spots": "Purple spots",
}
PULSE_POSITIONS = {
    "left_cun": "Left cun",
    "left_guan": "Left guan",
    "left_chi": "Left chi",
    "right_cun": "Right cun",
    "right_guan": "Right guan",
    "right_chi": "Right chi",
}
PULSE_QUALITIES = {
    "floating": "Floating",
    "deep": "Deep",
    "slow": "Slow",
    "rapid": "Rapid",
    "empty": "Empty (deficient)",
    "full": "Full (excess)",
    "slippery": "Slippery",
    "choppy": "Choppy",
    "wiry": "Wiry",
    "tight": "Tight",
    "thin": "Thin",
    "weak": "Weak",
    "soggy": "Soggy",
    "knotted": "Knotted",
    "intermittent": "Intermittent",
    "hurried": "Hurried",
    "moderate": "Moderate (normal)",
}
# The eight principles as four pairs; each pair holds one of its two keys, or none.
PRINCIPLE_PAIRS = {
    "interior_exterior": "Interior or exterior",
    "cold_heat": "Cold or heat",
    "deficiency_excess": "Deficiency or excess",
    "yin_yang": "Yin or yang",
}
PRINCIPLE_CHOICES = {
    "interior_exterior": {"interior": "Interior", "exterior": "Exterior"},
    "cold_heat": {"cold": "Cold", "heat": "Heat"},
    "deficiency_excess": {"deficiency": "Deficiency", "excess": "Excess"},
    "yin_yang": {"yin": "Yin", "yang": "Yang"},
}
PATTERNS = {
    "kidney_yang_deficiency": "Kidney yang deficiency",
    "kidney_yin_deficiency": "Kidney yin deficiency",
    "kidney_qi_not_firm": "Kidney qi deficiency (Kidney qi not firm)",
    "qi_blood_stagnation": "Qi and Blood stagnation",
    "cold_damp_bi": "Cold-Damp painful obstruction (bi)",
    "damp_heat": "Damp-Heat",
    "liver_qi_stagnation": "Liver Qi stagnation",
    "wind_cold_damp": "Wind-Cold-Damp",
    "bladder_channel": "Bladder channel",
    "gallbladder_channel": "Gallbladder channel",
    "governor_vessel_channel": "Governor Vessel (Du) channel",
    "other": "Other",
}
TECHNIQUES = {"tonifying": "Tonifying", "reducing": "Reducing", "even": "Even"}
POINT_SIDES = {"left": "Left", "right": "Right", "both": "Both", "midline": "Midline"}
METHODS = {
    "cupping": "Cupping",
    "moxibustion": "Moxibustion",
    "heat_lamp": "Heat lamp (TDP)",
    "gua_sha": "Gua sha",
    "tui_na": "Tui na",
    "ear_seeds": "Ear seeds",
}
ADVERSE_TYPES = {
    "bruising": "Bruising",
    "bleeding": "Bleeding",
    "soreness": "Soreness at the needle site",
    "fainting": "Fainting or near fainting",
    "flare_up": "Short flare-up of pain",
    "stuck_needle": "Stuck needle",
    "forgotten_needle": "Forgotten needle",
    "burn": "Burn (moxibustion or heat)",
    "other": "Other",
}
SEVERITIES = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}

# Groups for label_for(group, key), so pages never show a stored key.
CHOICE_GROUPS: dict[str, dict[str, str]] = {
    "rom_movement": ROM_MOVEMENTS,
    "rom_grade": ROM_GRADES,
    "leg_side": LEG_SIDES,
    "slr_result": SLR_RESULTS,
    "tender_region": TENDER_REGIONS,
    "tongue_body": TONGUE_BODY,
    "tongue_coating": TONGUE_COATING,
    "tongue_feature": TONGUE_FEATURES,
    "pulse_position": PULSE_POSITIONS,
    "pulse_quality": PULSE_QUALITIES,
    "principle_pair": PRINCIPLE_PAIRS,
    "principle": {key: label for pair in PRINCIPLE_CHOICES.values() for key, label in pair.items()},
    "pattern": PATTERNS,
    "technique": TECHNIQUES,
    "point_side": POINT_SIDES,
    "method": METHODS,
    "adverse_type": ADVERSE_TYPES,
    "severity": SEVERITIES,
}
