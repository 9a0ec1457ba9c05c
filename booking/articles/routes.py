"""The clinic's articles: a list, and one page each."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import get_locale

from booking.articles import ArticleLibrary

bp = Blueprint("articles", __name__, url_prefix="/articles")


def library() -> ArticleLibrary:
    return current_app.extensions["articles"]


def reader_language() -> str:
    """The patient's language (booking.i18n), in which the articles are shown where translated."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.get("")
def index():
    return render_template("articles/index.html", articles=library().in_language(reader_language()))


@bp.get("/<slug>")
def article(slug: str):
    found = library().get(slug, reader_language())
    if found is None:
        # A mistyped or old link: say so, and offer everything there is.
        return render_template("articles/not_found.html", articles=library().in_language(reader_language())), 404
    return render_template("articles/article.html", article=found, related=library().related(found))
