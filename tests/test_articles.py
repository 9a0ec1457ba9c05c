"""The clinic's articles: the files themselves, loading and sanitising, and the pages."""

from __future__ import annotations

import logging
import re
import shutil

import pytest

from booking import create_app
from booking.articles import DEFAULT_FOLDER, ArticleLibrary, read_article
from tests.conftest import app_config, close_database

SHIPPED = sorted(DEFAULT_FOLDER.glob("*.md"))
SLUGS = [
    "lower-back-pain-causes",
    "acupuncture-and-back-pain",
    "your-first-visits",
    "back-pain-warning-signs",
    "before-your-appointment",
]


def prose(path) -> str:
    return path.read_text().split("---", 2)[2]


# --- the shipped articles ---------------------------------------------------------------------


def test_five_articles_ship_in_the_briefs_order():
    assert [read_article(path).slug for path in SHIPPED] == SLUGS


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_article_is_a_readable_length_with_no_numbers_or_promises_of_its_own(path):
    words = len(prose(path).split())
    assert 400 <= words <= 800, f"{path.name} has {words} words"
    text = prose(path).lower()
    assert not re.search(r"\d{3}[ .-]\d{3,4}", text), "phone numbers come from the clinic's settings"
    assert not re.search(r"\b(cure[sd]?|guarantee[sd]?|miracle)\b", text)
    assert "general information, not medical advice" in text


def test_the_evidence_is_stated_as_the_guidelines_state_it():
    text = " ".join(prose(DEFAULT_FOLDER / "02-acupuncture-and-back-pain.md").split())
    assert "NICE guideline on low back pain (2016, updated 2020) does not recommend acupuncture" in text
    assert "American College of Physicians (2017)" in text
    assert "33 trials with more than 8,000 people" in text and "about 10 points on a scale of 0 to 100" in text
    assert "fewer than 1 in 10,000 treatments" in text
    assert "complement to medical care, not a replacement" in text


def test_warning_signs_cover_every_safety_check_symptom():
    from booking.safety import EMERGENCY, URGENT

    text = " ".join(prose(DEFAULT_FOLDER / "04-back-pain-warning-signs.md").lower().split())
    for words in ("both** legs", "genitals", "bladder or bowels", "sexual problems", "chest pain",
                  "serious accident", "high temperature", "losing weight", "lump", "worse at night",
                  "shoulder blades"):
        assert words in text
    assert len(EMERGENCY) + len(URGENT) == 11  # one line above for each code


# --- loading, sanitising, and what goes wrong -------------------------------------------------


def write(folder, name, text):
    (folder / name).write_text(text)
    return folder / name


GOOD = "---\ntitle: Sixth\nslug: sixth\nsummary: A new one.\naudience: [everyone]\nlast_reviewed: 2026-11-01\n---\n"


def test_article_html_is_sanitised(tmp_path):
    body = (
        "## Safe\n\n<script>alert('x')</script>\n\n<p onclick=\"steal()\">Hello</p>\n\n"
        "[bad](javascript:alert(1)) [good](https://example.org)\n\n<iframe src=\"https://evil.test\"></iframe>\n"
    )
    article = read_article(write(tmp_path, "a.md", GOOD + body))
    assert "<script" not in article.html and "alert('x')" not in article.html
    assert "onclick" not in article.html and "javascript:" not in article.html and "<iframe" not in article.html
    assert 'href="https://example.org"' in article.html and '<h2 id="safe">Safe</h2>' in article.html


@pytest.mark.parametrize(
    "front, problem",
    [
        ("slug: x-y\nsummary: s\nlast_reviewed: 2026-01-01\n", "needs a 'title'"),
        ("title: T\nslug: x-y\nsummary: s\nlast_reviewed: 2026-13-45\n", "last_reviewed"),
        ("title: T\nslug: x-y\nsummary: s\n", "last_reviewed"),
        ("title: T\nslug: Not A Slug\nsummary: s\nlast_reviewed: 2026-01-01\n", "lower-case"),
        ("title: T\nslug: x-y\nsummary: s\nlast_reviewed: 2026-01-01\naudience: [everybody]\n", "unknown: ['everybody']"),
        ("title: [unclosed\n", "cannot read it"),
    ],
)
def test_a_malformed_file_is_skipped_with_a_warning_naming_it(tmp_path, caplog, front, problem):
    write(tmp_path, "01-good.md", GOOD + "Some text.\n")
    bad = write(tmp_path, "02-bad.md", f"---\n{front}---\nText.\n")
    with caplog.at_level(logging.WARNING, logger="booking.articles"):
        library = ArticleLibrary.load(tmp_path)
    assert [a.slug for a in library.articles] == ["sixth"]
    [record] = caplog.records
    assert str(bad) in record.getMessage() and problem in record.getMessage()


def test_a_second_article_with_the_same_slug_is_skipped(tmp_path, caplog):
    write(tmp_path, "01.md", GOOD + "One.\n")
    write(tmp_path, "02.md", GOOD + "Two.\n")
    with caplog.at_level(logging.WARNING, logger="booking.articles"):
        assert len(ArticleLibrary.load(tmp_path).articles) == 1
    assert "already used" in caplog.text


@pytest.mark.parametrize(
    "first_visit, urgent, expected",
    [
        (True, False, ["your-first-visits", "before-your-appointment", "lower-back-pain-causes", "acupuncture-and-back-pain"]),
        (False, False, ["lower-back-pain-causes", "acupuncture-and-back-pain"]),
        (False, True, ["back-pain-warning-signs", "lower-back-pain-causes", "acupuncture-and-back-pain"]),
        (True, True, ["back-pain-warning-signs", "your-first-visits", "before-your-appointment",
                      "lower-back-pain-causes", "acupuncture-and-back-pain"]),
    ],
)
def test_which_articles_a_booking_gets(first_visit, urgent, expected):
    library = ArticleLibrary.load(DEFAULT_FOLDER)
    assert [a.slug for a in library.for_booking(first_visit=first_visit, urgent_flag=urgent)] == expected


# --- the pages ------------------------------------------------------------------------------------


def test_the_list_shows_every_article_with_its_summary(client):
    page = client.get("/articles").get_data(as_text=True)
    library = ArticleLibrary.load(DEFAULT_FOLDER)
    for article in library.articles:
        assert f'href="/articles/{article.slug}"' in page and article.summary in page


@pytest.mark.parametrize("slug", SLUGS)
def test_each_article_page(clinic, slug):
    response = clinic.test_client().get(f"/articles/{slug}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Last reviewed 21 November 2026" in page and "General information, not medical advice" in page
    assert page.count('class="related"') == 1 and 'href="/book"' in page
    assert "{clinic_phone}" not in page and "{emergency_number}" not in page


def test_clinic_settings_fill_the_articles_placeholders(clinic):
    page = clinic.test_client().get("/articles/back-pain-warning-signs").get_data(as_text=True)
    assert "Call 911 or go to your nearest emergency department" in page
    assert "contact the clinic on +1 213 555 0100" in page


def test_long_articles_get_a_table_of_contents(client):
    long_page = client.get("/articles/acupuncture-and-back-pain").get_data(as_text=True)
    assert "Contents" in long_page and 'href="#what-the-research-says"' in long_page


def test_an_unknown_article_is_a_404_that_lists_the_articles(client):
    response = client.get("/articles/acupuncture-cures-everything")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Article not found" in page
    assert all(f'href="/articles/{slug}"' in page for slug in SLUGS)


def test_a_sixth_article_is_one_more_file_in_the_folder(database_url, tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(DEFAULT_FOLDER, folder)
    write(folder, "06-sleeping-with-back-pain.md", GOOD.replace("slug: sixth", "slug: sleeping-with-back-pain")
          .replace("title: Sixth", "title: Sleeping with back pain") + "## Positions\n\nTry a pillow between your knees.\n")
    write(folder, "07-broken.md", "---\ntitle: Broken\n---\nNo slug, no date.\n")
    app = create_app(app_config(database_url, ARTICLES_FOLDER=folder))
    client = app.test_client()
    assert "Sleeping with back pain" in client.get("/articles").get_data(as_text=True)
    assert "pillow between your knees" in client.get("/articles/sleeping-with-back-pain").get_data(as_text=True)
    assert client.get("/articles/lower-back-pain-causes").status_code == 200
    close_database(app)
