"""The clinic's articles for patients: Markdown files with front matter, read once at start-up.

Clinic staff may edit these files, so the HTML made from them is sanitised. Every article
says who wrote it (a role), who reviewed it, when, when the next review is due, and what
it rests on (sources); a file without these, or that cannot be read, is skipped with a
warning naming it and the field; the app still starts. Adding an article is dropping one
more .md file into the folder. One article links to another as `[words](article:slug)`.

Translations sit in a folder per language beside the English (content/es/<same file name>.md).
A translation states the same review facts as its English article (reviewer, review dates,
sources, readers: only the roles' wording may differ), so a page never claims a review the
translation did not have: one whose facts differ, say because the English was reviewed again
since, is skipped with a warning, and readers of that language get the English meanwhile.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import frontmatter
import markdown
import nh3
import yaml
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from booking.operations.identity import in_history
from booking.safety import same_day_doctor

DEFAULT_FOLDER = Path(__file__).resolve().parent / "content"
AUDIENCES = {"everyone", "first-visit", "urgent"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A link from one article to another, as it stays in the sanitised HTML until shown.
ARTICLE_LINK = re.compile(r'href="article:([^"]*)"')
YEAR = re.compile(r"^\d{4}$")
LANGUAGE_FOLDER = re.compile(r"^[a-z]{2}$")  # content/es/: the Spanish articles
# Words in an article replaced by the clinic's own settings when it is shown.
PLACEHOLDERS = ("{clinic_phone}", "{emergency_number}", "{clinic_name}", "{same_day_doctor}")
ALLOWED_TAGS = {"h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "br", "hr", "code"}
TABLE_OF_CONTENTS_FROM = 4  # headings: shorter pages need no contents list

log = logging.getLogger(__name__)


class PlainYAML(frontmatter.YAMLHandler):
    """Front matter read with every value as text, so a bad date is reported as ours to explain."""

    def load(self, fm, **kwargs):
        return yaml.load(fm, Loader=yaml.BaseLoader) or {}


class ArticleFileError(ValueError):
    """An article file that cannot be published, and why."""


@dataclass(frozen=True)
class Reviewer:
    role: str
    name: str


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    year: str
    url: str | None = None


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    summary: str
    audience: frozenset[str]
    author_role: str
    reviewer: Reviewer
    last_reviewed: date
    next_review: date
    sources: tuple[Source, ...]
    html: str  # sanitised, with placeholders and article: links still in it
    headings: tuple[tuple[str, str], ...]  # (id, text) of each second-level heading
    language: str = "en"

    @property
    def review_facts(self) -> tuple:
        """What a translation must state exactly as its English article does."""
        return (self.slug, self.reviewer.name, self.last_reviewed, self.next_review, self.sources,
                self.audience)

    def body(self, clinic) -> Markup:
        """The article's HTML with the clinic's phone, emergency number and name filled in,
        and links to other articles pointing at their pages."""
        html = ARTICLE_LINK.sub(lambda m: f'href="{escape(url_for("articles.article", slug=m.group(1)))}"',
                                _filled(self.html, clinic, escape))
        return Markup(html)

    def contents(self, clinic) -> tuple[tuple[str, str], ...]:
        """(anchor, heading) for a contents list, on pages with enough headings to need one."""
        if len(self.headings) < TABLE_OF_CONTENTS_FROM:
            return ()
        return tuple((anchor, _filled(text, clinic, str)) for anchor, text in self.headings)

    @property
    def linked_slugs(self) -> tuple[str, ...]:
        """The other articles this one links to, by slug."""
        return tuple(ARTICLE_LINK.findall(self.html))


def _filled(text: str, clinic, quote) -> str:
    """Text with the clinic's own phone, emergency number, name and same-day care in place of the placeholders."""
    values = {
        "{clinic_phone}": clinic.phone if clinic else _("the clinic"),
        "{emergency_number}": clinic.emergency_number if clinic else _("the emergency number"),
        "{clinic_name}": clinic.name if clinic else _("the clinic"),
        # Where to find a doctor the same day depends on the country (booking.safety).
        "{same_day_doctor}": same_day_doctor(clinic.region if clinic else None),
    }
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, str(quote(values[placeholder])))
    return text


def _text(meta: dict, key: str, where: str = "") -> str:
    """A required text field of the front matter, or the error naming it."""
    value = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ArticleFileError(f"front matter needs '{where}{key}' (text)")
    return value.strip()


def _date(meta: dict, key: str) -> date:
    if not isinstance(meta.get(key), str):
        raise ArticleFileError(f"front matter needs '{key}' as a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(meta[key])
    except ValueError:
        raise ArticleFileError(f"{key} {meta[key]!r} is not a date (use YYYY-MM-DD)") from None


def _sources(meta: dict) -> tuple[Source, ...]:
    """The list of what the article rests on: each with a title, publisher and year, maybe a URL."""
    listed = meta.get("sources")
    if not isinstance(listed, list) or not listed:
        raise ArticleFileError("front matter needs 'sources': a list, each with title, publisher and year")
    sources = []
    for number, item in enumerate(listed, start=1):
        where = f"sources[{number}]."
        year = _text(item, "year", where)
        if not YEAR.match(year):
            raise ArticleFileError(f"{where}year {year!r} must be a year such as 2020")
        url = item.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith("https://")):
            raise ArticleFileError(f"{where}url must be an https:// address")
        sources.append(Source(_text(item, "title", where), _text(item, "publisher", where), year, url))
    return tuple(sources)


def read_article(path: Path, language: str = "en") -> Article:
    """One article file -> Article, or ArticleFileError saying what is wrong with it."""
    facts = path.stat()
    return _read_article(path, language, facts.st_mtime_ns, facts.st_size)


@lru_cache(maxsize=512)
def _read_article(path: Path, language: str, _modified_ns: int, _size: int) -> Article:
    """read_article's work, kept per process for a file as it stands (an Article is frozen; a file
    changed since is read afresh): an app reads every article as it starts, and a process that
    starts many apps (the tests) read each again for each."""
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"), handler=PlainYAML())
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        raise ArticleFileError(f"cannot read it: {error}") from None
    meta = post.metadata
    for key in ("title", "slug", "summary"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise ArticleFileError(f"front matter needs a '{key}' (text)")
    if not SLUG.match(meta["slug"]):
        raise ArticleFileError(f"slug {meta['slug']!r} must be lower-case letters, digits and hyphens")
    author_role = _text(meta.get("author"), "role", "author.")
    reviewer = Reviewer(_text(meta.get("reviewer"), "role", "reviewer."), _text(meta.get("reviewer"), "name", "reviewer."))
    reviewed, next_review = _date(meta, "last_reviewed"), _date(meta, "next_review")
    if next_review <= reviewed:
        raise ArticleFileError(f"next_review {next_review} must come after last_reviewed {reviewed}")
    sources = _sources(meta)
    audience = meta.get("audience", ["everyone"])
    if isinstance(audience, str):
        audience = [audience]
    unknown = set(audience) - AUDIENCES
    if not isinstance(audience, list) or unknown:
        raise ArticleFileError(f"audience must be a list of {sorted(AUDIENCES)}; unknown: {sorted(unknown)}")
    if not post.content.strip():
        raise ArticleFileError("the article has no text")

    converter = markdown.Markdown(extensions=["toc", "sane_lists"], extension_configs={"toc": {"toc_depth": "2-3"}})
    html = nh3.clean(
        converter.convert(post.content),
        tags=ALLOWED_TAGS,
        attributes={"h2": {"id"}, "h3": {"id"}, "a": {"href"}},
        url_schemes={"http", "https", "mailto", "tel", "article"},
    )
    headings = tuple((token["id"], token["name"]) for token in converter.toc_tokens)
    return Article(
        slug=meta["slug"],
        title=meta["title"].strip(),
        summary=meta["summary"].strip(),
        audience=frozenset(audience),
        author_role=author_role,
        reviewer=reviewer,
        last_reviewed=reviewed,
        next_review=next_review,
        sources=sources,
        html=html,
        headings=headings,
        language=language,
    )


class ArticleLibrary:
    """Every readable article in a folder, in file-name order, and their translations."""

    def __init__(self, articles: list[Article], translations: dict[str, dict[str, Article]] | None = None):
        self.articles = articles
        self._by_slug = {article.slug: article for article in articles}
        self.translations = translations or {}  # language -> slug -> Article

    @classmethod
    def load(cls, folder: Path) -> ArticleLibrary:
        articles: list[Article] = []
        paths: dict[str, Path] = {}
        for path in sorted(Path(folder).glob("*.md")):
            try:
                article = read_article(path)
            except ArticleFileError as error:
                log.warning("article %s skipped: %s", path, error)
                continue
            if article.slug in paths:
                log.warning("article %s skipped: slug %r is already used by another article", path, article.slug)
                continue
            articles.append(article)
            paths[article.slug] = path
        for article in articles:
            for slug in article.linked_slugs:
                if slug not in paths:
                    log.warning("article %s links to article:%s, which is not an article here", paths[article.slug], slug)
        library = cls(articles)
        for sub in sorted(p for p in Path(folder).iterdir() if p.is_dir() and LANGUAGE_FOLDER.match(p.name)):
            library.translations[sub.name] = library._read_translations(sub)
        return library

    def _read_translations(self, folder: Path) -> dict[str, Article]:
        """The readable translations in a language's folder whose review facts match their English."""
        found: dict[str, Article] = {}
        for path in sorted(folder.glob("*.md")):
            try:
                article = read_article(path, folder.name)
            except ArticleFileError as error:
                log.warning("article %s skipped: %s", path, error)
                continue
            english = self._by_slug.get(article.slug)
            if english is None:
                log.warning("article %s skipped: no article in English has slug %r", path, article.slug)
            elif article.review_facts != english.review_facts:
                log.warning("article %s skipped: its reviewer, review dates, sources or readers differ from the "
                            "English article's; bring it up to date with the English and review it again", path)
            else:
                found[article.slug] = article
        return found

    def worded(self, article: Article, language: str) -> Article:
        """The article in `language` if it has a translation, else as written (English)."""
        return self.translations.get(language, {}).get(article.slug, article)

    def in_language(self, language: str) -> list[Article]:
        """Every article, each in `language` where translated."""
        return [self.worded(article, language) for article in self.articles]

    def get(self, slug: str, language: str = "en") -> Article | None:
        found = self._by_slug.get(slug)
        return self.worded(found, language) if found is not None else None

    def for_booking(self, *, first_visit: bool, urgent_flag: bool, language: str = "en") -> list[Article]:
        """The reading list for a booking. The warning signs (audience "urgent") are on every
        list: first when the safety check or intake raised a flag, otherwise last; between
        them what first-time patients need, then what suits everyone."""
        warning_signs = [a for a in self.articles if "urgent" in a.audience]
        chosen = list(warning_signs) if urgent_flag else []
        for audience in (["first-visit"] if first_visit else []) + ["everyone"]:
            chosen += [a for a in self.articles if audience in a.audience and a not in chosen]
        return [self.worded(a, language) for a in chosen + [a for a in warning_signs if a not in chosen]]

    def for_confirmation(self, appointment, language: str | None = None) -> list[Article]:
        """What the confirmation page and the confirmation email both link to: one rule, so
        the two never differ. Read from the appointment alone (not from the booking's draft),
        in the language of the visit unless another is asked for."""
        return self.for_booking(first_visit=is_first_visit(appointment), urgent_flag=appointment.flag_level is not None,
                                language=language or getattr(appointment, "language", None) or "en")

    def related(self, article: Article, count: int = 3) -> list[Article]:
        """Other articles, those for the same readers first, in the article's language where translated."""
        others = [a for a in self.articles if a.slug != article.slug]
        others.sort(key=lambda a: not (a.audience & article.audience))
        return [self.worded(a, article.language) for a in others[:count]]


def is_first_visit(appointment) -> bool:
    """A visit for new patients, or the patient's first visit on record (cancelled ones aside).
    A booking still waiting for the patient to confirm it was them counts none before it, so
    its page reads as anyone's first booking would."""
    if appointment.service.new_patients_only:
        return True
    return not any(
        other is not appointment and other.holds_time and other.starts_at < appointment.starts_at
        and in_history(appointment, other, as_patient=True)
        for other in appointment.patient.appointments
    )
