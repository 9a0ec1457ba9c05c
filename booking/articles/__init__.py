"""The clinic's articles for patients: Markdown files with front matter, read once at start-up.

Clinic staff may edit these files, so the HTML made from them is sanitised. A file that
cannot be read is skipped with a warning naming it and the problem; the app still starts.
Adding an article is dropping one more .md file into the folder.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import frontmatter
import markdown
import nh3
import yaml
from markupsafe import Markup, escape

DEFAULT_FOLDER = Path(__file__).resolve().parent / "content"
AUDIENCES = {"everyone", "first-visit", "urgent"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words in an article replaced by the clinic's own settings when it is shown.
PLACEHOLDERS = ("{clinic_phone}", "{emergency_number}", "{clinic_name}")
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
class Article:
    slug: str
    title: str
    summary: str
    audience: frozenset[str]
    last_reviewed: date
    html: str  # sanitised, with placeholders still in it
    headings: tuple[tuple[str, str], ...]  # (id, text) of each second-level heading

    def body(self, clinic) -> Markup:
        """The article's HTML with the clinic's phone, emergency number and name filled in."""
        values = {
            "{clinic_phone}": clinic.phone if clinic else "the clinic",
            "{emergency_number}": clinic.emergency_number if clinic else "the emergency number",
            "{clinic_name}": clinic.name if clinic else "the clinic",
        }
        html = self.html
        for placeholder in PLACEHOLDERS:
            html = html.replace(placeholder, str(escape(values[placeholder])))
        return Markup(html)

    @property
    def table_of_contents(self) -> tuple[tuple[str, str], ...]:
        return self.headings if len(self.headings) >= TABLE_OF_CONTENTS_FROM else ()


def read_article(path: Path) -> Article:
    """One article file -> Article, or ArticleFileError saying what is wrong with it."""
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
    if not isinstance(meta.get("last_reviewed"), str):
        raise ArticleFileError("front matter needs 'last_reviewed' as a date (YYYY-MM-DD)")
    try:
        reviewed = date.fromisoformat(meta["last_reviewed"])
    except ValueError:
        raise ArticleFileError(f"last_reviewed {meta['last_reviewed']!r} is not a date (use YYYY-MM-DD)") from None
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
        url_schemes={"http", "https", "mailto", "tel"},
    )
    headings = tuple((token["id"], token["name"]) for token in converter.toc_tokens)
    return Article(
        slug=meta["slug"],
        title=meta["title"].strip(),
        summary=meta["summary"].strip(),
        audience=frozenset(audience),
        last_reviewed=reviewed,
        html=html,
        headings=headings,
    )


class ArticleLibrary:
    """Every readable article in a folder, in file-name order."""

    def __init__(self, articles: list[Article]):
        self.articles = articles
        self._by_slug = {article.slug: article for article in articles}

    @classmethod
    def load(cls, folder: Path) -> ArticleLibrary:
        articles: list[Article] = []
        for path in sorted(Path(folder).glob("*.md")):
            try:
                article = read_article(path)
            except ArticleFileError as error:
                log.warning("article %s skipped: %s", path, error)
                continue
            if any(a.slug == article.slug for a in articles):
                log.warning("article %s skipped: slug %r is already used by another article", path, article.slug)
                continue
            articles.append(article)
        return cls(articles)

    def get(self, slug: str) -> Article | None:
        return self._by_slug.get(slug)

    def for_booking(self, *, first_visit: bool, urgent_flag: bool) -> list[Article]:
        """The reading list for a booking: warning signs first when something urgent was
        raised, then what first-time patients need, then what suits everyone."""
        wanted = (["urgent"] if urgent_flag else []) + (["first-visit"] if first_visit else []) + ["everyone"]
        chosen: list[Article] = []
        for audience in wanted:
            chosen += [a for a in self.articles if audience in a.audience and a not in chosen]
        return chosen

    def related(self, article: Article, count: int = 3) -> list[Article]:
        """Other articles, those for the same readers first."""
        others = [a for a in self.articles if a.slug != article.slug]
        others.sort(key=lambda a: not (a.audience & article.audience))
        return others[:count]
