"""The shipped ICD-10-CM codes for lower back pain visits (booking/data/notes/diagnoses.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from booking.notes import DATA


@dataclass(frozen=True)
class Diagnosis:
    code: str
    title: str


@cache
def all_diagnoses() -> tuple[Diagnosis, ...]:
    """Every shipped diagnosis, in the file's order."""
    data = tomllib.loads((DATA / "diagnoses.toml").read_text(encoding="utf-8"))
    return tuple(Diagnosis(entry["code"], entry["title"]) for entry in data["diagnoses"])


@cache
def _by_code() -> dict[str, Diagnosis]:
    return {diagnosis.code: diagnosis for diagnosis in all_diagnoses()}


def diagnosis(code: str | None) -> Diagnosis | None:
    """The shipped diagnosis with this code (case and spaces forgiven), or None."""
    return _by_code().get((code or "").strip().upper().replace(" ", ""))
