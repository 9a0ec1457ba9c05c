"""Instruments as data: items, choices, scores and bands read from a TOML file, scored purely.

No Flask and no database here. A clinic licensed for an instrument we do not ship (the
Oswestry Disability Index, say) adds it by writing one more file.

Wording in other languages lives in the same file, beside the English it translates
(`[items.translations.es]` with text, min_label, max_label; `translations = {es = "..."}` on a
choice; `[translations.es]` with title, intro, notice): `worded("es")` gives the instrument as
a patient reading Spanish sees it, and English wherever the file carries no Spanish (a licensed
instrument's wording may only be translated by its owner). Scoring never reads wording:
answers are the items' keys and the choices' values, the same in every language.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from booking.measures.published import published_problem
from booking.measures.rules import RULE_PARAMS, RULES, RuleResult


class InstrumentError(ValueError):
    """An instrument file that cannot be used, and why."""


def exact(number: Decimal | int | float) -> Decimal:
    """A number as an exact decimal; a float through its shortest form (0.3 -> 0.3, not 0.2999...).

    Stored scores are floats holding one-decimal values, so this gives back the decimal that was stored.
    """
    if isinstance(number, Decimal):
        return number
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise TypeError(f"not a number: {number!r}")
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


# Wording a translation may give: of an item, and of the instrument as a whole.
ITEM_WORDING = ("text", "min_label", "max_label")
INSTRUMENT_WORDING = ("title", "intro", "notice")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    points: Decimal
    translations: Mapping[str, str] = field(default_factory=dict)  # language -> label


@dataclass(frozen=True)
class Item:
    """One question: a whole-number scale (min..max) or a set of choices, each worth points."""

    key: str
    text: str
    min: int | None = None
    max: int | None = None
    min_label: str = ""
    max_label: str = ""
    choices: tuple[Choice, ...] = ()
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language -> ITEM_WORDING

    def worded(self, language: str) -> Item:
        """The item in `language` where its file gives that wording, else as written (English)."""
        given = self.translations.get(language, {})
        choices = tuple(replace(c, label=c.translations.get(language, c.label)) for c in self.choices)
        return replace(self, choices=choices, **{key: given[key] for key in ITEM_WORDING if key in given})

    def points(self, answer) -> Decimal | None:
        """The answer as points for scoring; None when unanswered. Assumes a checked answer."""
        if answer is None or answer == "":
            return None
        if self.choices:
            return next(c.points for c in self.choices if c.value == answer)
        return Decimal(int(str(answer).strip()))

    def problem(self, answer) -> str | None:
        """Why an answer cannot be accepted, or None. An unanswered item is not a problem here."""
        if answer is None or answer == "":
            return None
        if self.choices:
            if answer not in {c.value for c in self.choices}:
                return "Choose one of the answers given"
            return None
        if isinstance(answer, bool) or not isinstance(answer, int | str):
            return f"Choose a number from {self.min} to {self.max}"
        text = str(answer).strip()
        # ASCII digits only: str.isdigit() also passes "²", which int() refuses.
        if not re.fullmatch(r"-?[0-9]+", text) or not self.min <= int(text) <= self.max:
            return f"Choose a number from {self.min} to {self.max}"
        return None


@dataclass(frozen=True)
class Band:
    low: Decimal
    high: Decimal
    label: str


@dataclass(frozen=True)
class ScoreRule:
    key: str
    label: str
    rule: str
    items: tuple[str, ...]
    params: Mapping = field(default_factory=dict)
    meaningful_change: Decimal | None = None  # the smallest change between visits that matters


@dataclass(frozen=True)
class Score:
    key: str
    label: str
    value: Decimal | None  # exact, rounded as the published rule says
    band: str | None
    details: dict

    @property
    def as_float(self) -> float | None:
        """The value for a float column: a few decimals at most, so exact() gives the same decimal back."""
        return None if self.value is None else float(self.value)


@dataclass(frozen=True)
class Instrument:
    key: str
    title: str
    version: str
    licence: str
    items: tuple[Item, ...]
    scores: tuple[ScoreRule, ...]
    bands: tuple[Band, ...] = ()
    notice: str = ""  # a copyright notice to show with the questions, where the licence asks for one
    intro: str = ""  # what to tell the patient before the items, in the instrument's own words
    requires_setting: str = ""  # a clinic setting that must be on before the instrument is used
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language -> INSTRUMENT_WORDING

    def speaks(self, language: str) -> bool:
        """True when the file words every item (and the title) in `language`; English always."""
        return language == "en" or (language in self.translations
                                    and all("text" in item.translations.get(language, {}) for item in self.items))

    def worded(self, language: str) -> Instrument:
        """The instrument as a reader of `language` sees it: the file's wording in that language
        where it has one, English otherwise. Keys, values, points and rules are unchanged."""
        if language == "en":
            return self
        given = self.translations.get(language, {})
        return replace(self, items=tuple(item.worded(language) for item in self.items),
                       **{key: given[key] for key in INSTRUMENT_WORDING if key in given})

    def item(self, key: str) -> Item:
        return next(item for item in self.items if item.key == key)

    def problems(self, answers: Mapping[str, object]) -> dict[str, str]:
        """Item key -> what is wrong with its answer; unknown keys are problems too."""
        known = {item.key: item for item in self.items}
        found = {key: "This is not a question of this form" for key in answers if key not in known}
        for key, item in known.items():
            problem = item.problem(answers.get(key))
            if problem:
                found[key] = problem
        return found

    def band(self, value: Decimal | None) -> str | None:
        if value is None:
            return None
        return next((b.label for b in self.bands if b.low <= value <= b.high), None)

    def score(self, answers: Mapping[str, object]) -> dict[str, Score]:
        """Every score of the instrument for a set of answers that has no problems."""
        problems = self.problems(answers)
        if problems:
            raise InstrumentError(f"cannot score answers with problems: {problems}")
        points = {item.key: item.points(answers.get(item.key)) for item in self.items}
        results = {}
        for rule in self.scores:
            result: RuleResult = RULES[rule.rule](rule.items, points, rule.params)
            results[rule.key] = Score(rule.key, rule.label, result.value, self.band(result.value), result.details)
        return results


Number = Decimal | int | float


def is_meaningful_change(before: Number | None, after: Number | None, threshold: Number | None) -> bool:
    """Did a score move by at least the instrument's threshold between two visits? Exactly the
    threshold counts: 0.3 -> 2.3 is a change of 2.0, compared as decimals, not as floats."""
    if before is None or after is None or threshold is None:
        return False
    return abs(exact(after) - exact(before)) >= exact(threshold)


def parse_instrument(data: Mapping, source: str) -> Instrument:
    """A decoded instrument file -> Instrument, or InstrumentError naming what is wrong."""
    def need(mapping, key, kind, where):
        value = mapping.get(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise InstrumentError(f"{source}: {where}{key} is missing or of the wrong type")
        return value

    items = []
    for index, raw in enumerate(data.get("items", [])):
        where = f"items[{index}]."
        choices = tuple(
            Choice(str(need(c, "value", str, where)), need(c, "label", str, where), exact(need(c, "points", int | float, where)),
                   _wording(c.get("translations", {}), None, f"{source}: {where}choices.translations"))
            for c in raw.get("choices", [])
        )
        if not choices:
            low, high = need(raw, "min", int, where), need(raw, "max", int, where)
            if low >= high:
                raise InstrumentError(f"{source}: {where}min must be below max")
        else:
            low = high = None
        items.append(Item(need(raw, "key", str, where), need(raw, "text", str, where), low, high,
                          raw.get("min_label", ""), raw.get("max_label", ""), choices,
                          _wording(raw.get("translations", {}), ITEM_WORDING, f"{source}: {where}translations")))
    keys = [item.key for item in items]
    if not items or len(set(keys)) != len(keys):
        raise InstrumentError(f"{source}: needs items, each with its own key")

    scores = []
    for index, raw in enumerate(data.get("scores", [])):
        where = f"scores[{index}]."
        rule = need(raw, "rule", str, where)
        if rule not in RULES:
            raise InstrumentError(f"{source}: {where}rule {rule!r} is not one of {sorted(RULES)}")
        scored = tuple(need(raw, "items", list, where))
        params = dict(raw.get("params", {}))
        problem = params_problem(rule, params)
        if problem:
            raise InstrumentError(f"{source}: {where}params.{problem}")
        unknown = [key for key in (*scored, *params.get("psychosocial", ())) if key not in keys]
        if unknown:
            raise InstrumentError(f"{source}: {where}items name unknown items {unknown}")
        threshold = raw.get("meaningful_change")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)
                                      or threshold <= 0):
            raise InstrumentError(f"{source}: {where}meaningful_change must be a number above 0")
        scores.append(ScoreRule(need(raw, "key", str, where), need(raw, "label", str, where), rule, scored,
                                params, None if threshold is None else exact(threshold)))
    if not scores:
        raise InstrumentError(f"{source}: needs at least one [[scores]] table")

    bands = tuple(Band(exact(need(b, "from", int | float, "bands.")), exact(need(b, "to", int | float, "bands.")),
                       need(b, "label", str, "bands.")) for b in data.get("bands", []))
    instrument = Instrument(
        key=need(data, "key", str, ""),
        title=need(data, "title", str, ""),
        version=str(data.get("version", "1")),
        licence=need(data, "licence", str, ""),
        items=tuple(items),
        scores=tuple(scores),
        bands=bands,
        notice=data.get("notice", ""),
        intro=data.get("intro", ""),
        requires_setting=data.get("requires_setting", ""),
        translations=_wording(data.get("translations", {}), INSTRUMENT_WORDING, f"{source}: translations"),
    )
    problem = published_problem(instrument)
    if problem:
        raise InstrumentError(f"{source}: {problem}")
    return instrument


def _wording(raw, keys: tuple[str, ...] | None, where: str) -> dict:
    """A translations table: language -> text (keys None: a choice's label) or language -> {key: text}."""
    if not isinstance(raw, Mapping):
        raise InstrumentError(f"{where} must be a table of languages")
    wording = {}
    for language, given in raw.items():
        if keys is None:
            if not isinstance(given, str):
                raise InstrumentError(f"{where}.{language} must be text")
            wording[language] = given
            continue
        if not isinstance(given, Mapping) or any(k not in keys or not isinstance(v, str) for k, v in given.items()):
            raise InstrumentError(f"{where}.{language} may give only {', '.join(keys)}, as text")
        wording[language] = dict(given)
    return wording


def params_problem(rule: str, params: Mapping) -> str | None:
    """What is wrong with a rule's parameters, or None: unknown names, missing ones, wrong types."""
    allowed = RULE_PARAMS[rule]
    for name, value in params.items():
        if name not in allowed:
            return f"{name} is not a parameter of rule {rule!r}"
        kind, _, least = allowed[name]
        if isinstance(value, bool) or not isinstance(value, kind) or (least is not None and value < least):
            return f"{name} must be {'a whole number' if kind is int else 'a list'}" + (
                f" of at least {least}" if least is not None else "")
    missing = [name for name, (_, required, _) in allowed.items() if required and name not in params]
    return f"{missing[0]} is missing" if missing else None


def load_instrument(path: Path) -> Instrument:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InstrumentError(f"{path}: {error}") from None
    return parse_instrument(data, str(path))


def load_licensed_instruments(folder: Path | None, shipped: Mapping[str, Instrument]) -> dict[str, Instrument]:
    """Instruments a clinic holds a licence for, from its own folder (none when there is no folder).

    A file that cannot be used raises InstrumentError naming the file and the problem: a licensed
    instrument is never scored otherwise than as published, nor left out without anyone noticing.
    """
    if folder is None or not Path(folder).is_dir():
        return {}
    licensed = load_instruments(Path(folder))
    clash = sorted(licensed.keys() & shipped.keys())
    if clash:
        raise InstrumentError(f"{folder}: key {clash[0]!r} is already a shipped instrument's")
    return licensed


def load_instruments(folder: Path) -> dict[str, Instrument]:
    """Every instrument file in a folder, by key."""
    instruments = {}
    for path in sorted(Path(folder).glob("*.toml")):
        instrument = load_instrument(path)
        if instrument.key in instruments:
            raise InstrumentError(f"{path}: key {instrument.key!r} is used by another instrument")
        instruments[instrument.key] = instrument
    return instruments
