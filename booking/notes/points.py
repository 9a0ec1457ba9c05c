"""The standard acupuncture points (WHO 2008 locations, 361 channel points) plus a few extra
points used for low back pain, read from booking/data/notes/points.toml."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache

from booking.notes import DATA

EXTRA_CHANNEL = "EX"
# "bl 23", "Bl-23", "BL023" -> channel letters and number; extra points keep their region
# letters ("ex b 2", "EX-B2", "exb2" -> "EX-B2").
_CHANNEL_POINT = re.compile(r"^([A-Z]{2})0*([1-9][0-9]?)$")
_EXTRA_POINT = re.compile(r"^EX(HN|CA|B|UE|LE)0*([1-9][0-9]?)$")


@dataclass(frozen=True)
class Point:
    code: str
    pinyin: str
    channel: str
    channel_name: str


@cache
def _channels() -> tuple[tuple[str, str, tuple[Point, ...]], ...]:
    """(channel code, channel name, points) in shipped order."""
    data = tomllib.loads((DATA / "points.toml").read_text(encoding="utf-8"))
    channels = []
    for entry in data["channels"]:
        code, name = entry["code"], entry["name"]
        if code == EXTRA_CHANNEL:
            points = tuple(Point(extra["code"], extra["pinyin"], code, name) for extra in entry["extra"])
        else:
            points = tuple(
                Point(f"{code}{number}", pinyin, code, name)
                for number, pinyin in enumerate(entry["points"], start=1)
            )
        channels.append((code, name, points))
    return tuple(channels)


@cache
def all_points() -> tuple[Point, ...]:
    """Every shipped point, channel by channel in WHO order, extra points last."""
    return tuple(point for _, _, points in _channels() for point in points)


@cache
def _by_code() -> dict[str, Point]:
    return {point.code: point for point in all_points()}


def by_channel() -> list[tuple[str, list[Point]]]:
    """(channel label, points) groups for a grouped <select>, e.g. ("Bladder (BL)", [...])."""
    return [(f"{name} ({code})", list(points)) for code, name, points in _channels()]


def normalise_code(text: str | None) -> str:
    """The canonical code for what was typed ("bl 23" -> "BL23", "ex b 2" -> "EX-B2"), or the
    typed text upper-cased and stripped when it does not look like a code."""
    squeezed = re.sub(r"[\s\-_.]+", "", (text or "")).upper()
    if match := _EXTRA_POINT.match(squeezed):
        return f"EX-{match[1]}{match[2]}"
    if match := _CHANNEL_POINT.match(squeezed):
        return f"{match[1]}{match[2]}"
    return (text or "").strip().upper()


def point(code: str | None) -> Point | None:
    """The point with this code (typed in any of the forms normalise_code accepts), or None."""
    return _by_code().get(normalise_code(code))


def _folded(text: str) -> str:
    """Lower case without diacritics or spaces, so "Shèn shū" matches "shenshu"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).lower()


def search(text: str | None, limit: int = 20) -> list[Point]:
    """Points whose code or pinyin name starts with the text; code matches first."""
    query = (text or "").strip()
    if not query or limit <= 0:
        return []
    folded = _folded(query)
    code_prefix = re.sub(r"[\s\-_.]+", "", query).upper()
    by_code = [p for p in all_points() if p.code.replace("-", "").startswith(code_prefix)]
    by_name = [p for p in all_points() if _folded(p.pinyin).startswith(folded) and p not in by_code]
    return (by_code + by_name)[:limit]
