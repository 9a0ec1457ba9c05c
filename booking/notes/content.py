"""The content of a treatment note (SOAP, as acupuncturists chart it): a plain JSON-able dict,
parsed and checked from the note form, written back to a form, and shown read-only.

Form fields (werkzeug's ``request.form.to_dict(flat=False)``: name -> list of strings). Fields
not listed here (such as csrf_token) are ignored. An empty field means "not recorded".

| field | kind | stored at | rule |
|---|---|---|---|
| s_pain_now | number | subjective.pain_now | whole number 0-10 |
| s_pain_worst | number | subjective.pain_worst | worst in the last week, 0-10 |
| s_activities | text | subjective.activities | activities hard to do, <= 2,000 chars |
| s_changes | text | subjective.changes | changes since the last visit |
| s_after_effects | text | subjective.after_effects | after-effects of the last treatment |
| s_notes | text | subjective.notes | |
| o_rom_<movement> | one of ROM_GRADES | objective.rom.<movement>.grade | movement: flexion, extension, side_bending_left, side_bending_right, rotation_left, rotation_right |
| o_rom_<movement>_painful | checkbox "on" | objective.rom.<movement>.painful | bool |
| o_slr_<side> | one of SLR_RESULTS | objective.slr.<side>.result | side: left, right |
| o_slr_<side>_angle | number | objective.slr.<side>.angle | degrees 0-90, only with "positive" |
| o_tenderness | several of TENDER_REGIONS | objective.tenderness | |
| o_tenderness_notes | text | objective.tenderness_notes | |
| o_tongue_body | one of TONGUE_BODY | objective.tongue_body | |
| o_tongue_coating | several of TONGUE_COATING | objective.tongue_coating | |
| o_tongue_features | several of TONGUE_FEATURES | objective.tongue_features | |
| o_pulse_<position> | one of PULSE_QUALITIES | objective.pulse.<position> | position: left_cun, left_guan, left_chi, right_cun, right_guan, right_chi |
| o_pulse_rate | number | objective.pulse_rate | beats per minute 20-250 |
| o_pulse_qualities | several of PULSE_QUALITIES | objective.pulse_qualities | overall qualities |
| o_notes | text | objective.notes | |
| a_<pair> | one key of the pair | assessment.principles.<pair> | pair: interior_exterior, cold_heat, deficiency_excess, yin_yang |
| a_patterns | several of PATTERNS | assessment.patterns | |
| a_pattern_notes | text | assessment.pattern_notes | |
| a_diagnoses | several shipped ICD-10-CM codes | assessment.diagnoses | from diagnoses.toml, the primary first, then as sent |
| a_primary_diagnosis | one of the codes ticked, or empty | assessment.diagnoses[0] | empty: the first ticked is primary |
| a_working_diagnosis | text | assessment.working_diagnosis | |
| p_principle | text | plan.principle | treatment principle |
| p_next_visit | text | plan.next_visit | |
| p_review_at | "4, 8" | plan.review_at | visit numbers 1-50, sorted, unique |
| p_notes | text | plan.notes | |
| t_point_code, t_point_side, t_point_technique | repeated rows, in order | treatment.points[] = {code, side, technique} | code: a shipped point; side: POINT_SIDES (empty -> "midline" for GV/CV points, else required); technique: TECHNIQUES or empty |
| t_needles | number | treatment.needles | 0-200 |
| t_retention_minutes | number | treatment.retention_minutes | 0-120 |
| t_electro | checkbox "on" | treatment.electro | bool |
| t_electro_settings | text | treatment.electro_settings | frequency, intensity, pairs |
| t_methods | several of METHODS | treatment.methods | |
| t_method_notes | text | treatment.method_notes | |
| t_contact_minutes | number | treatment.contact_minutes | personal one-on-one contact, 0-240 (billing) |
| t_reinsertions | number | treatment.reinsertions | times needles were re-inserted, 0-20 (billing) |
| t_adverse_type, t_adverse_severity, t_adverse_action | repeated rows, in order | treatment.adverse_events[] = {type, severity, action} | type: ADVERSE_TYPES; severity: SEVERITIES (required with a type); action: text |
| narrative | text | narrative | the note's free narrative, <= 5,000 chars |

Rows: a point row whose code is empty is ignored (a spare row), as is an adverse event row with
nothing in it. The same point on the same side twice is kept once (the first). At most 100 point
rows and 20 adverse event rows are accepted (errors on t_point_code / t_adverse_type). Errors are keyed
by field name; a row's errors by ``<field>.<n>``, n counting the submitted rows from 1, so a
page can link its error summary to the n-th input of that name.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from booking.notes import choices as c
from booking.notes.diagnoses import diagnosis, recorded_diagnosis
from booking.notes.points import normalise_code, point

VERSION = 1
TEXT_LIMIT = 2_000
NARRATIVE_LIMIT = 5_000
REVIEW_VISIT_MAX = 50
# Far more than any visit needs; a bound so a hostile form cannot make parsing slow.
MAX_POINT_ROWS = 100
MAX_ADVERSE_ROWS = 20
# Points on the midline need no side; an empty side there means "midline".
MIDLINE_CHANNELS = {"GV", "CV"}

SECTIONS = {
    "subjective": "Subjective",
    "objective": "Objective",
    "assessment": "Assessment",
    "plan": "Plan",
    "treatment": "Treatment",
    "narrative": "Narrative",
}


@dataclass(frozen=True)
class Field:
    """One single-valued or multi-choice form field and where its value lives in the content."""

    name: str
    path: tuple[str, ...]
    kind: str  # "number", "text", "choice", "several", "flag"
    label: str
    choices: Mapping[str, str] | None = None
    low: int = 0
    high: int = 0
    unit: str = ""
    limit: int = TEXT_LIMIT


def _fields() -> tuple[Field, ...]:
    """Every simple field of the note form, in the order a page shows them."""
    fields = [
        Field("s_pain_now", ("subjective", "pain_now"), "number", "Pain now", low=0, high=10),
        Field("s_pain_worst", ("subjective", "pain_worst"), "number", "Worst pain in the last week", low=0, high=10),
        Field("s_activities", ("subjective", "activities"), "text", "Activities hard to do"),
        Field("s_changes", ("subjective", "changes"), "text", "Changes since the last visit"),
        Field("s_after_effects", ("subjective", "after_effects"), "text", "After-effects of the last treatment"),
        Field("s_notes", ("subjective", "notes"), "text", "Subjective notes"),
    ]
    for movement, name in c.ROM_MOVEMENTS.items():
        fields.append(Field(f"o_rom_{movement}", ("objective", "rom", movement, "grade"), "choice",
                            f"{name} range", c.ROM_GRADES))
        fields.append(Field(f"o_rom_{movement}_painful", ("objective", "rom", movement, "painful"), "flag",
                            f"{name} painful"))
    for side, name in c.LEG_SIDES.items():
        fields.append(Field(f"o_slr_{side}", ("objective", "slr", side, "result"), "choice",
                            f"{name} straight leg raise", c.SLR_RESULTS))
        fields.append(Field(f"o_slr_{side}_angle", ("objective", "slr", side, "angle"), "number",
                            f"{name} straight leg raise angle", low=0, high=90, unit="degrees"))
    fields += [
        Field("o_tenderness", ("objective", "tenderness"), "several", "Tenderness", c.TENDER_REGIONS),
        Field("o_tenderness_notes", ("objective", "tenderness_notes"), "text", "Tenderness notes"),
        Field("o_tongue_body", ("objective", "tongue_body"), "choice", "Tongue body color", c.TONGUE_BODY),
        Field("o_tongue_coating", ("objective", "tongue_coating"), "several", "Tongue coating", c.TONGUE_COATING),
        Field("o_tongue_features", ("objective", "tongue_features"), "several", "Tongue shape and features",
              c.TONGUE_FEATURES),
    ]
    for position, name in c.PULSE_POSITIONS.items():
        fields.append(Field(f"o_pulse_{position}", ("objective", "pulse", position), "choice",
                            f"{name} pulse", c.PULSE_QUALITIES))
    fields += [
        Field("o_pulse_rate", ("objective", "pulse_rate"), "number", "Pulse rate", low=20, high=250,
              unit="beats per minute"),
        Field("o_pulse_qualities", ("objective", "pulse_qualities"), "several", "Pulse qualities",
              c.PULSE_QUALITIES),
        Field("o_notes", ("objective", "notes"), "text", "Objective notes"),
    ]
    for pair, name in c.PRINCIPLE_PAIRS.items():
        fields.append(Field(f"a_{pair}", ("assessment", "principles", pair), "choice", name,
                            c.PRINCIPLE_CHOICES[pair]))
    fields += [
        Field("a_patterns", ("assessment", "patterns"), "several", "Patterns", c.PATTERNS),
        Field("a_pattern_notes", ("assessment", "pattern_notes"), "text", "Pattern notes"),
        Field("a_working_diagnosis", ("assessment", "working_diagnosis"), "text", "Working diagnosis"),
        Field("p_principle", ("plan", "principle"), "text", "Treatment principle"),
        Field("p_next_visit", ("plan", "next_visit"), "text", "Next visit"),
        Field("p_notes", ("plan", "notes"), "text", "Plan notes"),
        Field("t_needles", ("treatment", "needles"), "number", "Needles used", low=0, high=200),
        Field("t_retention_minutes", ("treatment", "retention_minutes"), "number", "Retention time", low=0,
              high=120, unit="minutes"),
        Field("t_electro", ("treatment", "electro"), "flag", "Electroacupuncture"),
        Field("t_electro_settings", ("treatment", "electro_settings"), "text", "Electroacupuncture settings"),
        Field("t_methods", ("treatment", "methods"), "several", "Other methods", c.METHODS),
        Field("t_method_notes", ("treatment", "method_notes"), "text", "Other methods notes"),
        Field("t_contact_minutes", ("treatment", "contact_minutes"), "number", "Personal contact time", low=0,
              high=240, unit="minutes"),
        Field("t_reinsertions", ("treatment", "reinsertions"), "number", "Times needles were re-inserted", low=0,
              high=20),
        Field("narrative", ("narrative",), "text", "Narrative", limit=NARRATIVE_LIMIT),
    ]
    return tuple(fields)


FIELDS = _fields()
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
# Fields that are not in FIELDS because they hold lists of rows or a list typed as text.
DIAGNOSES_FIELD = "a_diagnoses"
PRIMARY_DIAGNOSIS_FIELD = "a_primary_diagnosis"
REVIEW_FIELD = "p_review_at"
POINT_ROW = ("t_point_code", "t_point_side", "t_point_technique")
ADVERSE_ROW = ("t_adverse_type", "t_adverse_severity", "t_adverse_action")
EXTRA_LABELS = {
    DIAGNOSES_FIELD: "Diagnoses (ICD-10-CM)",
    PRIMARY_DIAGNOSIS_FIELD: "Primary diagnosis",
    REVIEW_FIELD: "Review at visits",
    "t_point_code": "Point",
    "t_point_side": "Side",
    "t_point_technique": "Technique",
    "t_adverse_type": "Adverse event",
    "t_adverse_severity": "Severity",
    "t_adverse_action": "Action taken",
}
EXTRA_PATHS = {
    DIAGNOSES_FIELD: ("assessment", "diagnoses"),
    REVIEW_FIELD: ("plan", "review_at"),
    "t_point_code": ("treatment", "points"),
    "t_adverse_type": ("treatment", "adverse_events"),
}


def _empty(field: Field) -> Any:
    """The value a field holds when nothing was recorded."""
    return {"number": None, "text": "", "choice": "", "several": [], "flag": False}[field.kind]


def _set(content: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        content = content.setdefault(key, {})
    content[path[-1]] = value


def _get(content: Mapping, path: tuple[str, ...]) -> Any:
    for key in path:
        content = content[key]
    return content


def blank_note() -> dict:
    """A note with nothing recorded, every key present."""
    content: dict = {"version": VERSION}
    for field in FIELDS:
        _set(content, field.path, _empty(field))
    for path in EXTRA_PATHS.values():
        _set(content, path, [])
    return content


def is_blank(content: Mapping) -> bool:
    """Whether the note records nothing at all (what a signature would lock would be empty)."""
    return {k: v for k, v in content.items() if k != "version"} == {
        k: v for k, v in blank_note().items() if k != "version"}


def has_control_characters(text: str) -> bool:
    """Control characters other than line breaks and tabs, or lone surrogates: never stored."""
    return any(ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


# ---- cleaning single values; each returns (value, error message or None) ----

def _clean_text(raw: str, label: str, limit: int) -> tuple[str, str | None]:
    """Trimmed text with Windows line ends made plain; control characters (other than line
    breaks and tabs) and lone surrogates are refused, as is text over the limit."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if has_control_characters(text):
        return "", f"{label} contains a control character that cannot be saved: remove it and try again."
    if len(text) > limit:
        return "", f"{label} must be {limit:,} characters or fewer (it has {len(text):,})."
    return text, None


def _clean_number(raw: str, field: Field) -> tuple[int | None, str | None]:
    """A whole number in the field's range, or None when empty."""
    text = raw.strip()
    if not text:
        return None, None
    # The length check comes first: int() refuses digit strings over 4,300 characters long.
    if len(text) <= 4 and text.isascii() and text.isdigit() and field.low <= int(text) <= field.high:
        return int(text), None
    unit = f" of {field.unit}" if field.unit else ""
    return None, f"{field.label} must be a whole number{unit} from {field.low} to {field.high}."


def _clean_field(field: Field, values: list[str]) -> tuple[Any, str | None]:
    """The stored value of one simple field from its submitted values."""
    if field.kind == "several":
        picked, unknown = [], []
        for value in values:
            key = value.strip()
            if not key:
                continue
            if key not in field.choices:
                unknown.append(key)
            elif key not in picked:
                picked.append(key)
        if unknown:
            return [], f"{field.label}: choose only from the list ({_quoted(unknown[0])} is not one of its choices)."
        # Stored in the list's order so two notes with the same choices compare equal.
        return [key for key in field.choices if key in picked], None
    if len(values) > 1:
        return _empty(field), f"{field.label} was sent more than once: send one value."
    raw = values[0] if values else ""
    if field.kind == "number":
        return _clean_number(raw, field)
    if field.kind == "text":
        return _clean_text(raw, field.label, field.limit)
    if field.kind == "flag":
        if raw in ("", "on"):
            return raw == "on", None
        return False, f"{field.label} must be ticked or not ticked."
    key = raw.strip()
    if key and key not in field.choices:
        return "", f"{field.label}: choose one of the listed options ({_quoted(key)} is not one of them)."
    return key, None


def _quoted(text: str) -> str:
    """A short, printable echo of what was sent, for an error message."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in text[:40])
    return f'"{shown}…"' if len(text) > 40 else f'"{shown}"'


def _clean_review_at(values: list[str]) -> tuple[list[int], str | None]:
    """Visit numbers typed as "4, 8" (commas or spaces), sorted and unique."""
    message = (f"Review at visits must be visit numbers from 1 to {REVIEW_VISIT_MAX}, "
               "separated by commas (like 4, 8).")
    if len(values) > 1:
        return [], message
    parts = [part for part in re.split(r"[,\s;]+", values[0] if values else "") if part]
    if len(parts) > REVIEW_VISIT_MAX or not all(
            len(part) <= 2 and part.isascii() and part.isdigit() and 1 <= int(part) <= REVIEW_VISIT_MAX
            for part in parts):
        return [], message
    return sorted({int(part) for part in parts}), None


def _clean_diagnoses(values: list[str], primary_values: list[str]) -> tuple[list[str], dict[str, str]]:
    """Shipped ICD-10-CM codes, unique: the primary diagnosis first (the receipt's A), then the
    others in the order sent (the list's order, from a browser). Ticked boxes alone keep no order
    a practitioner chose, so the receipt put M54.50 first when M54.42 was meant (a hands-on trial)."""
    codes: list[str] = []
    for value in values:
        if not value.strip():
            continue
        found = diagnosis(value)
        if found is None:
            return [], {DIAGNOSES_FIELD: f"{_quoted(value.strip())} is not on the diagnosis list: "
                                         "choose a diagnosis from the list."}
        if found.code not in codes:
            codes.append(found.code)
    chosen = (primary_values or [""])[0].strip()
    if not chosen:
        return codes, {}
    primary = diagnosis(chosen)
    if primary is None:
        return codes, {PRIMARY_DIAGNOSIS_FIELD: f"{_quoted(chosen)} is not on the diagnosis list: "
                                                "choose the primary diagnosis from the list."}
    if primary.code not in codes:
        return codes, {PRIMARY_DIAGNOSIS_FIELD: f"Tick {primary.code} under Diagnoses too, or choose another "
                                                "primary diagnosis."}
    return [primary.code, *(code for code in codes if code != primary.code)], {}


def _values(form: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """The strings submitted under a name; a lone string (a flat dict) counts as one value."""
    values = form.get(name, [])
    if isinstance(values, str):
        return [values]
    return [value if isinstance(value, str) else "" for value in values]


def _rows(form: Mapping[str, Sequence[str]], names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The repeated fields zipped into rows; a shorter list is padded with empty strings."""
    columns = [_values(form, name) for name in names]
    count = max(len(column) for column in columns)
    return [tuple(column[i] if i < len(column) else "" for column in columns) for i in range(count)]


def clean_point_row(code: str, side: str, technique: str) -> tuple[dict | None, dict[str, str]]:
    """One prescription row checked: ({code, side, technique}, {}) or (None, errors by column)."""
    errors: dict[str, str] = {}
    found = point(code)
    if found is None:
        typed = normalise_code(code)
        shown = typed if len(typed) <= 12 and typed.isprintable() else _quoted(code.strip())
        errors["t_point_code"] = f"{shown} is not a standard point code: choose a point from the list."
    side = side.strip()
    technique = technique.strip()
    if not side and found is not None and found.channel in MIDLINE_CHANNELS:
        side = "midline"
    if side not in c.POINT_SIDES:
        name = found.code if found else "this point"
        errors["t_point_side"] = f"Choose a side for {name}: left, right, both or midline."
    if technique and technique not in c.TECHNIQUES:
        errors["t_point_technique"] = "Technique must be tonifying, reducing or even (or left empty)."
    if errors:
        return None, errors
    return {"code": found.code, "side": side, "technique": technique}, {}


def _clean_points(form: Mapping[str, Sequence[str]], errors: dict[str, str]) -> list[dict]:
    """The prescription rows, spare rows skipped and repeats of a point on one side collapsed."""
    filled = [(number, row) for number, row in enumerate(_rows(form, POINT_ROW), start=1) if row[0].strip()]
    if len(filled) > MAX_POINT_ROWS:
        errors["t_point_code"] = f"A note can list at most {MAX_POINT_ROWS} points: remove some rows."
        return []
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for number, (code, side, technique) in filled:
        row, row_errors = clean_point_row(code, side, technique)
        for name, message in row_errors.items():
            errors[f"{name}.{number}"] = message
        if row and (row["code"], row["side"]) not in seen:
            seen.add((row["code"], row["side"]))
            rows.append(row)
    return rows


def _clean_adverse_events(form: Mapping[str, Sequence[str]], errors: dict[str, str]) -> list[dict]:
    """The adverse event rows; a row with nothing in it is skipped."""
    rows = _rows(form, ADVERSE_ROW)
    if sum(1 for row in rows if any(value.strip() for value in row)) > MAX_ADVERSE_ROWS:
        errors["t_adverse_type"] = f"A note can list at most {MAX_ADVERSE_ROWS} adverse events: remove some rows."
        return []
    events: list[dict] = []
    for number, (kind, severity, action) in enumerate(rows, start=1):
        kind, severity = kind.strip(), severity.strip()
        action, action_error = _clean_text(action, f"Action taken (adverse event {number})", TEXT_LIMIT)
        if not (kind or severity or action or action_error):
            continue
        if action_error:
            errors[f"t_adverse_action.{number}"] = action_error
        if kind not in c.ADVERSE_TYPES:
            errors[f"t_adverse_type.{number}"] = f"Choose the type of adverse event {number} from the list."
        if severity not in c.SEVERITIES:
            errors[f"t_adverse_severity.{number}"] = f"Choose how severe adverse event {number} was: mild, moderate or severe."
        if kind in c.ADVERSE_TYPES and severity in c.SEVERITIES and not action_error:
            events.append({"type": kind, "severity": severity, "action": action})
    return events


def note_from_form(form: Mapping[str, Sequence[str]]) -> tuple[dict, dict[str, str]]:
    """The note's content from the submitted form, and errors keyed by field name (empty when
    all is well). Fields in error hold their empty value in the content: re-render the form
    from the submitted values, not from this content, so no typing is lost."""
    content = blank_note()
    errors: dict[str, str] = {}
    for field in FIELDS:
        value, error = _clean_field(field, _values(form, field.name))
        if error:
            errors[field.name] = error
        _set(content, field.path, value)
    for side, name in c.LEG_SIDES.items():
        slr = content["objective"]["slr"][side]
        if slr["angle"] is not None and slr["result"] != "positive":
            errors.setdefault(f"o_slr_{side}_angle",
                              f"{name} straight leg raise angle is recorded only when the test is positive.")
            slr["angle"] = None
    review_at, error = _clean_review_at(_values(form, REVIEW_FIELD))
    if error:
        errors[REVIEW_FIELD] = error
    content["plan"]["review_at"] = review_at
    codes, problems = _clean_diagnoses(_values(form, DIAGNOSES_FIELD), _values(form, PRIMARY_DIAGNOSIS_FIELD))
    errors.update(problems)
    content["assessment"]["diagnoses"] = codes
    content["treatment"]["points"] = _clean_points(form, errors)
    content["treatment"]["adverse_events"] = _clean_adverse_events(form, errors)
    return content, errors


def note_to_form(content: Mapping) -> dict[str, list[str]]:
    """The form values that reproduce this content (for re-rendering the form), in the shape
    note_from_form takes: note_from_form(note_to_form(x)) gives x back for any valid x."""
    form: dict[str, list[str]] = {}
    for field in FIELDS:
        value = _get(content, field.path)
        if field.kind == "several":
            form[field.name] = list(value)
        elif field.kind == "flag":
            form[field.name] = ["on"] if value else []
        else:
            form[field.name] = ["" if value is None else str(value)]
    form[DIAGNOSES_FIELD] = list(content["assessment"]["diagnoses"])
    form[PRIMARY_DIAGNOSIS_FIELD] = list(content["assessment"]["diagnoses"][:1]) or [""]
    form[REVIEW_FIELD] = [", ".join(str(n) for n in content["plan"]["review_at"])]
    rows = content["treatment"]["points"]
    for name, key in zip(POINT_ROW, ("code", "side", "technique")):
        form[name] = [row[key] for row in rows]
    events = content["treatment"]["adverse_events"]
    for name, key in zip(ADVERSE_ROW, ("type", "severity", "action")):
        form[name] = [event[key] for event in events]
    return form


def prefilled_subjective(pain_now: int | None, pain_worst: int | None, activities: str | None,
                         changes: str | None, after_effects: str | None) -> dict:
    """A blank note whose subjective section carries what the patient reported (intake or progress
    check); a value that would not pass the form's checks is left out rather than stored."""
    content, _ = note_from_form({
        "s_pain_now": ["" if pain_now is None else str(pain_now)],
        "s_pain_worst": ["" if pain_worst is None else str(pain_worst)],
        "s_activities": [activities or ""],
        "s_changes": [changes or ""],
        "s_after_effects": [after_effects or ""],
    })
    return content


def points_as_prescription(content: Mapping) -> list[dict]:
    """The note's point rows ({code, side, technique}), copied, to start another note from."""
    return [dict(row) for row in content["treatment"]["points"]]


def with_prescription(content: Mapping, rows: Sequence[Mapping[str, str]]) -> dict:
    """A copy of the note whose points are these rows (from a last visit or a named template);
    raises ValueError naming the first bad row. Repeats of a point on one side are kept once."""
    form = {name: [str(row.get(key) or "") for row in rows]
            for name, key in zip(POINT_ROW, ("code", "side", "technique"))}
    errors: dict[str, str] = {}
    points = _clean_points(form, errors)
    if errors:
        raise ValueError(next(iter(errors.values())))
    updated = copy.deepcopy(dict(content))
    updated["treatment"]["points"] = points
    return updated


# ---- read-only view ----

def _label_index() -> dict[tuple[str, str], str]:
    """(group, key) -> label for choice groups, sections, form field names and content keys."""
    index = {(group, key): label for group, entries in c.CHOICE_GROUPS.items() for key, label in entries.items()}
    index.update({("section", key): label for key, label in SECTIONS.items()})
    for field in FIELDS:
        index[("field", field.name)] = field.label
        index[(field.path[0], ".".join(field.path[1:]) or field.path[0])] = field.label
    for name, label in EXTRA_LABELS.items():
        index[("field", name)] = label
    for name, path in EXTRA_PATHS.items():
        index[(path[0], ".".join(path[1:]))] = EXTRA_LABELS[name]
    index[("treatment", "points")] = "Points"
    index[("treatment", "adverse_events")] = "Adverse events"
    return index


LABELS = _label_index()


def label_for(group: str, key: str) -> str:
    """The staff-facing label of a stored key: a choice (group "pattern", "tongue_body", ...), a
    section ("section"), a form field ("field", "s_pain_now") or a content key ("subjective",
    "pain_now"; nested keys joined by dots: ("objective", "rom.flexion.grade")). Raises KeyError
    for an unknown key, so a page never shows a raw key."""
    return LABELS[(group, key)]


def _field_text(field: Field, value: Any) -> str:
    """A stored value as words; empty when nothing was recorded."""
    if field.kind == "several":
        return ", ".join(field.choices[key] for key in value)
    if field.kind == "choice":
        return field.choices[value] if value else ""
    if field.kind == "flag":
        return "Yes" if value else ""
    if field.kind == "number":
        return "" if value is None else f"{value} {field.unit}".strip()
    return value


def _point_text(row: Mapping[str, str]) -> str:
    found = point(row["code"])  # None for a code a later list no longer ships: the code alone then
    parts = [c.POINT_SIDES[row["side"]].lower()] + ([c.TECHNIQUES[row["technique"]].lower()] if row["technique"] else [])
    return f"{found.code} {found.pinyin} ({', '.join(parts)})" if found else f"{row['code']} ({', '.join(parts)})"


def summary(content: Mapping) -> list[tuple[str, list[tuple[str, str]]]]:
    """The note for reading: (section label, [(label, text)]) for each section with anything
    recorded, in form order; nothing recorded is shown as nothing."""
    lines: dict[str, list[tuple[str, str]]] = {key: [] for key in SECTIONS}
    for field in FIELDS:
        text = _field_text(field, _get(content, field.path))
        if text:
            lines[field.path[0]].append((field.label, text))
    assessment = content["assessment"]
    if assessment["diagnoses"]:
        primary = " (primary)" if len(assessment["diagnoses"]) > 1 else ""
        lines["assessment"].append((EXTRA_LABELS[DIAGNOSES_FIELD], "; ".join(
            f"{code} {recorded_diagnosis(code).title}{primary if number == 0 else ''}"
            for number, code in enumerate(assessment["diagnoses"]))))
    if content["plan"]["review_at"]:
        lines["plan"].append((EXTRA_LABELS[REVIEW_FIELD], ", ".join(map(str, content["plan"]["review_at"]))))
    treatment = content["treatment"]
    if treatment["points"]:
        lines["treatment"].insert(0, ("Points", "; ".join(_point_text(row) for row in treatment["points"])))
    for event in treatment["adverse_events"]:
        text = f"{c.ADVERSE_TYPES[event['type']]} ({c.SEVERITIES[event['severity']].lower()})"
        lines["treatment"].append(("Adverse event", f"{text}: {event['action']}" if event["action"] else text))
    return [(SECTIONS[key], entries) for key, entries in lines.items() if entries]
