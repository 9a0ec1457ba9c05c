"""The clinic's articles: a list, and one page each."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from booking.articles import ArticleLibrary

bp = Blueprint("articles", __name__, url_prefix="/articles")


def library() -> ArticleLibrary:
    return current_app.extensions["articles"]


@bp.get("")
def index():
    return render_template("articles/index.html", articles=library().articles)


@bp.get("/<slug>")
def article(slug: str):
    found = library().get(slug)
    if found is None:
        # A mistyped or old link: say so, and offer everything there is.
        return render_template("articles/not_found.html", articles=library().articles), 404
    return render_template("articles/article.html", article=found, related=library().related(found))
