"""The shipped point and diagnosis lists: counts, well-known names, well-formed codes."""

import re
from collections import Counter

import pytest

from booking.notes.diagnoses import all_diagnoses, diagnosis
from booking.notes.points import all_points, by_channel, normalise_code, point, search

WHO_COUNTS = {"LU": 11, "LI": 20, "ST": 45, "SP": 21, "HT": 9, "SI": 19, "BL": 67, "KI": 27,
              "PC": 9, "TE": 23, "GB": 44, "LR": 14, "GV": 28, "CV": 24}


def test_channel_points_are_the_361_of_who_2008_in_order():
    counts = Counter(p.channel for p in all_points() if p.channel != "EX")
    assert counts == WHO_COUNTS
    assert sum(counts.values()) == 361
    channel_order = list(dict.fromkeys(p.channel for p in all_points()))
    assert channel_order == [*WHO_COUNTS, "EX"]


@pytest.mark.parametrize("code, pinyin", [
    ("LI4", "Hegu"), ("ST36", "Zusanli"), ("SP6", "Sanyinjiao"), ("BL23", "Shenshu"),
    ("BL40", "Weizhong"), ("BL25", "Dachangshu"), ("BL60", "Kunlun"), ("GB30", "Huantiao"),
    ("GB34", "Yanglingquan"), ("KI3", "Taixi"), ("GV4", "Mingmen"), ("LR3", "Taichong"),
    ("SI3", "Houxi"), ("LU7", "Lieque"), ("PC6", "Neiguan"), ("TE5", "Waiguan"), ("HT7", "Shenmen"),
    ("CV4", "Guanyuan"), ("GV20", "Baihui"), ("BL67", "Zhiyin"), ("KI27", "Shufu"), ("GB44", "Zuqiaoyin"),
    ("ST45", "Lidui"), ("LR14", "Qimen"), ("CV24", "Chengjiang"), ("GV28", "Yinjiao"), ("BL52", "Zhishi"),
    ("EX-HN3", "Yintang"), ("EX-B2", "Jiaji"), ("EX-B7", "Yaoyan"), ("EX-B8", "Shiqizhui"),
    ("EX-UE7", "Yaotongdian"),
])
def test_well_known_points_have_their_standard_names(code, pinyin):
    assert point(code).pinyin == pinyin


def test_channel_names_are_plain_english():
    assert [label for label, _ in by_channel()][:3] == ["Lung (LU)", "Large Intestine (LI)", "Stomach (ST)"]
    assert point("TE5").channel_name == "Triple Energizer"
    assert point("EX-B2").channel_name == "Extra points"
    assert sum(len(points) for _, points in by_channel()) == len(all_points())


def test_every_code_is_unique_and_normalises_to_itself():
    codes = [p.code for p in all_points()]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert normalise_code(code) == code
        assert normalise_code(code.lower().replace("-", " ")) == code


@pytest.mark.parametrize("typed, code", [
    ("bl 23", "BL23"), ("Bl-23", "BL23"), (" bl023 ", "BL23"), ("ex b 2", "EX-B2"), ("EX-B2", "EX-B2"),
    ("exhn3", "EX-HN3"), ("gv4", "GV4"), ("hello", "HELLO"), ("", ""),
])
def test_normalise_code_accepts_what_people_type(typed, code):
    assert normalise_code(typed) == code


def test_unknown_codes_are_not_points():
    assert point("BL68") is None and point("BL0") is None and point("XX1") is None and point(None) is None


def test_search_matches_code_prefix_then_pinyin_prefix_ignoring_case_and_tones():
    assert [p.code for p in search("bl2", 3)] == ["BL2", "BL20", "BL21"]
    assert [p.code for p in search("Shèn shū")] == ["BL23"]
    assert "GB34" in [p.code for p in search("yangling")]
    assert search("", 5) == [] and search("zzz") == []
    assert len(search("s", 4)) == 4


def test_diagnoses_are_well_formed_unique_icd10cm_codes():
    codes = [d.code for d in all_diagnoses()]
    assert len(codes) == len(set(codes))
    for d in all_diagnoses():
        assert re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", d.code), d.code
        assert d.title and d.title == d.title.strip()
    # FY2025 split M51.36/M51.37 into six-character codes; the retired parents must not be billed.
    assert "M51.36" not in codes and "M51.37" not in codes and "M54.5" not in codes
    assert diagnosis(" m54.50 ").title == "Low back pain, unspecified"
    assert diagnosis("M99.99") is None


def test_the_notes_package_stays_pure():
    """Pages and operations build on it; it must not reach for Flask, the database or the clock."""
    import ast
    from pathlib import Path

    import booking.notes

    for source in Path(booking.notes.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                root = name.split(".")[0]
                assert root not in {"flask", "flask_babel", "sqlalchemy", "datetime", "time"}, (source.name, name)
                assert not name.startswith(("booking.clock", "booking.models", "booking.operations")), name
