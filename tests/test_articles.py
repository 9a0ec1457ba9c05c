"""The clinic's articles: the files themselves, loading and sanitising, and the pages."""

from __future__ import annotations

import logging
import re
import shutil

import pytest

from booking import create_app
from booking.articles import DEFAULT_FOLDER, ArticleLibrary, read_article
from booking.extensions import db
from booking.models import Clinic
from tests.conftest import app_config, close_database
from tests.mail import text_of
from tests.test_booking_journey import DETAILS, MONDAY_10, MONDAY_14, PatientBrowser
from tests.test_emails import mail, send  # noqa: F401 (mail is a fixture)

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


def words_of(path) -> str:
    return " ".join(prose(path).split())


def test_the_evidence_is_stated_as_the_guidelines_state_it():
    text = words_of(DEFAULT_FOLDER / "02-acupuncture-and-back-pain.md")
    # Cochrane 2020: chronic pain, measured straight after a course, against usual care and sham.
    assert "33 trials with more than 8,000 people whose back pain was chronic" in text
    assert "Measured straight after a course of treatment" in text
    assert "about 10 points less pain on a 0 to 100 scale than people who had usual care" in text
    assert "certainty of this evidence was low" in text and "below the usual threshold for a clinically important change" in text
    assert "Compared with sham (pretend) needling, acupuncture made little or no clinically important difference" in text
    assert '"do not offer acupuncture" for managing low back pain, with or without sciatica' in text
    assert "American College of Physicians (2017)" in text and "first options for chronic low back pain" in text
    assert "evidence for acupuncture to be of low quality" in text
    assert "some people feel real relief" in text and "the guidelines disagree" in text
    assert "does not replace seeing a doctor" in text
    for effect in ("bruise or a little bleeding", "after a few percent of treatments", "drowsy",
                   "flaring up for a day or two", "more likely at a first treatment",
                   "fewer than 1 in 10,000 treatments, according to the British Acupuncture Council"):
        assert effect in text


def test_exercise_comes_first_and_no_single_cause_is_claimed():
    text = words_of(DEFAULT_FOLDER / "01-lower-back-pain-causes.md")
    assert "## Most back pain has no single cause that can be found" in text
    assert "NICE's first recommendation for managing low back pain is an exercise program" in text


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_no_claim_outruns_the_evidence(path):
    """The source pages' unsupported claims stay out: trigger-point mechanisms, fixed hour
    ranges for relief, treatment on days in a row, and strain as the usual cause."""
    text = words_of(path).lower()
    for claim in ("trigger point", "hours of", "days in a row", "consecutive", "most common cause",
                  "caused by strained", "white blood cell"):
        assert claim not in text
    assert not re.search(r"\b\d+ (to|-) \d+ hours\b", text)


def test_how_often_is_marked_as_practice_not_evidence():
    text = words_of(DEFAULT_FOLDER / "03-your-first-visits.md")
    assert "No study has settled the best schedule, so what follows is common practice rather than evidence" in text


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_american_english_for_a_us_clinic(path):
    text = words_of(path).lower()
    for british in ("trousers", "programme", "fibres", "colour", "physiotherap", "gp ", "a&e", "999", "111",
                    "haemophilia", "cancelling", "toilet paper", "practise "):
        assert british not in text


# Clinical brief section 1, each red flag as the article words it, in the section for its level.
EMERGENCY_SIGNS = [
    "in **both** legs that is new or getting worse",
    "numbness or tingling around your genitals, your buttocks or your inner thighs",
    "numbness when you wipe",
    "you can't feel when your bladder is full",
    "can't control your bladder or bowels",
    "new problems with sex since the back pain began",
    "chest pain",
    "after a serious accident",
    "sudden, severe pain in your back or your belly, and you feel faint, dizzy or clammy",
]
URGENT_SIGNS = [
    "a fever, or you have chills",
    "losing weight and do not know why",
    "a lump, a swelling or a change in the shape of your back",
    "worse at night",
    "between your shoulder blades",
    "you have had cancer, and this back pain is new",
    "weakness in one leg or foot that is getting worse, or a foot that drops",
    "a weakened immune system",
    "you inject drugs",
    "minor fall or lift, and you have osteoporosis or take steroids long-term",
]


def test_warning_signs_match_the_safety_check_level_by_level():
    text = words_of(DEFAULT_FOLDER / "04-back-pain-warning-signs.md").lower()
    emergency = text[text.index("## call {emergency_number}"):text.index("## see a doctor within 24 hours")]
    urgent = text[text.index("## see a doctor within 24 hours"):text.index("## let us know")]
    assert "or go to the emergency room now" in emergency
    assert "contact {same_day_doctor}, within 24 hours at most" in urgent  # where depends on the region
    assert [sign for sign in EMERGENCY_SIGNS if sign.lower() not in emergency] == []
    assert [sign for sign in URGENT_SIGNS if sign.lower() not in urgent] == []


# --- loading, sanitising, and what goes wrong -------------------------------------------------


def write(folder, name, text):
    (folder / name).write_text(text)
    return folder / name


REVIEW = (
    "author:\n  role: Licensed acupuncturist\n"
    "reviewer:\n  role: Clinical director\n  name: Dr Test\n"
    "next_review: 2027-11-01\n"
    "sources:\n  - title: A guideline\n    publisher: NICE\n    year: 2016\n    url: https://example.org/ng59\n"
)
GOOD = f"---\ntitle: Sixth\nslug: sixth\nsummary: A new one.\naudience: [everyone]\nlast_reviewed: 2026-11-01\n{REVIEW}---\n"


def test_article_html_is_sanitised(tmp_path):
    body = (
        "## Safe\n\n<script>alert('x')</script>\n\n<p onclick=\"steal()\">Hello</p>\n\n"
        "[bad](javascript:alert(1)) [good](https://example.org)\n\n<iframe src=\"https://evil.test\"></iframe>\n"
    )
    article = read_article(write(tmp_path, "a.md", GOOD + body))
    assert "<script" not in article.html and "alert('x')" not in article.html
    assert "onclick" not in article.html and "javascript:" not in article.html and "<iframe" not in article.html
    assert 'href="https://example.org"' in article.html and '<h2 id="safe">Safe</h2>' in article.html


def without(field: str) -> str:
    """The good front matter with one line (and anything indented under it) left out."""
    kept, skipping = [], False
    for line in GOOD.strip("-\n").splitlines():
        if line.startswith(field):
            skipping = True
            continue
        if skipping and line.startswith(" "):
            continue
        skipping = False
        kept.append(line)
    return "\n".join(kept) + "\n"


def changed(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.strip("-\n").replace(old, new) + "\n"


@pytest.mark.parametrize(
    "front, problem",
    [
        (without("title:"), "needs a 'title'"),
        (changed("last_reviewed: 2026-11-01", "last_reviewed: 2026-13-45"), "last_reviewed '2026-13-45' is not a date"),
        (without("last_reviewed:"), "needs 'last_reviewed'"),
        (without("next_review:"), "needs 'next_review'"),
        (changed("next_review: 2027-11-01", "next_review: 2026-10-01"), "next_review 2026-10-01 must come after"),
        (without("author:"), "needs 'author.role'"),
        (changed("  role: Licensed acupuncturist\n", ""), "needs 'author.role'"),
        (without("reviewer:"), "needs 'reviewer.role'"),
        (changed("  name: Dr Test\n", ""), "needs 'reviewer.name'"),
        (without("sources:"), "needs 'sources'"),
        (changed("    publisher: NICE\n", ""), "needs 'sources[1].publisher'"),
        (changed("    year: 2016\n", "    year: recent\n"), "sources[1].year 'recent' must be a year"),
        (changed("https://example.org/ng59", "javascript:alert(1)"), "sources[1].url must be an https:// address"),
        (changed("slug: sixth", "slug: Not A Slug"), "lower-case"),
        (changed("audience: [everyone]", "audience: [everybody]"), "unknown: ['everybody']"),
        ("title: [unclosed\n", "cannot read it"),
    ],
)
def test_a_malformed_file_is_skipped_with_a_warning_naming_it_and_the_field(tmp_path, caplog, front, problem):
    write(tmp_path, "01-good.md", GOOD + "Some text.\n")
    bad = write(tmp_path, "02-bad.md", f"---\n{front}---\nText.\n")
    with caplog.at_level(logging.WARNING, logger="booking.articles"):
        library = ArticleLibrary.load(tmp_path)
    assert [a.slug for a in library.articles] == ["sixth"]
    [record] = caplog.records
    assert str(bad) in record.getMessage() and problem in record.getMessage()


def test_a_link_to_an_article_that_does_not_exist_is_reported(tmp_path, caplog):
    write(tmp_path, "01.md", GOOD + "See [sleep](article:sleeping) and [the guideline](https://example.org).\n")
    with caplog.at_level(logging.WARNING, logger="booking.articles"):
        library = ArticleLibrary.load(tmp_path)
    assert [a.slug for a in library.articles] == ["sixth"]  # published: one broken link is no reason to hide it
    [record] = caplog.records
    assert str(tmp_path / "01.md") in record.getMessage() and "article:sleeping" in record.getMessage()


def test_a_second_article_with_the_same_slug_is_skipped(tmp_path, caplog):
    write(tmp_path, "01.md", GOOD + "One.\n")
    write(tmp_path, "02.md", GOOD + "Two.\n")
    with caplog.at_level(logging.WARNING, logger="booking.articles"):
        assert len(ArticleLibrary.load(tmp_path).articles) == 1
    assert "already used" in caplog.text


@pytest.mark.parametrize(
    "first_visit, urgent, expected",
    [
        (True, False, ["your-first-visits", "before-your-appointment", "lower-back-pain-causes",
                       "acupuncture-and-back-pain", "back-pain-warning-signs"]),
        (False, False, ["lower-back-pain-causes", "acupuncture-and-back-pain", "back-pain-warning-signs"]),
        (False, True, ["back-pain-warning-signs", "lower-back-pain-causes", "acupuncture-and-back-pain"]),
        (True, True, ["back-pain-warning-signs", "your-first-visits", "before-your-appointment",
                      "lower-back-pain-causes", "acupuncture-and-back-pain"]),
    ],
)
def test_which_articles_a_booking_gets_warning_signs_always(first_visit, urgent, expected):
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
    assert "Last reviewed December 3, 2026" in page and "General information, not medical advice" in page
    assert page.count('class="related"') == 1 and 'href="/book"' in page
    assert "{clinic_phone}" not in page and "{emergency_number}" not in page and "article:" not in page


def test_an_article_page_shows_who_reviewed_it_and_its_sources(client):
    page = client.get("/articles/acupuncture-and-back-pain").get_data(as_text=True)
    reviewed = page[page.index('aria-labelledby="reviewed-title"'):page.index('aria-labelledby="sources-title"')]
    assert '<h2 id="reviewed-title">Reviewed</h2>' in reviewed
    assert "<dt>Written by</dt><dd>Licensed acupuncturist</dd>" in reviewed
    assert "<dt>Reviewed by</dt><dd>Amara Okafor, L.Ac., DAOM, Clinical director</dd>" in reviewed
    assert '<time datetime="2026-12-03">December 3, 2026</time>' in reviewed
    assert '<time datetime="2027-12-03">December 3, 2027</time>' in reviewed
    sources = page[page.index('aria-labelledby="sources-title"'):]
    assert '<h2 id="sources-title">Sources</h2>' in sources
    assert ('<a href="https://doi.org/10.1002/14651858.CD013814"><cite>Acupuncture for chronic nonspecific low back '
            "pain</cite></a>.\n              Cochrane Database of Systematic Reviews, 2020.") in sources
    assert sources.count("<li>") >= 5


def test_every_link_between_articles_leads_to_an_article(client):
    """Each article links to others through the article route, and every such link opens one."""
    linked = set()
    for slug in SLUGS:
        page = client.get(f"/articles/{slug}").get_data(as_text=True)
        body = page[page.index('class="article__body"'):page.index('aria-labelledby="reviewed-title"')]
        targets = re.findall(r'href="(/[^"#]*)"', body)
        assert targets, f"{slug} links to no other article"
        for target in targets:
            assert target.startswith("/articles/") and target != f"/articles/{slug}"
            response = client.get(target)
            assert response.status_code == 200, f"{slug} links to {target}, which answers {response.status_code}"
            linked.add(target)
    assert "/articles/back-pain-warning-signs" in linked


def test_clinic_settings_fill_the_articles_placeholders(clinic):
    page = clinic.test_client().get("/articles/back-pain-warning-signs").get_data(as_text=True)
    assert '<h2 id="call-emergency_number-or-go-to-the-emergency-room-now">Call 911 or go to the emergency room now</h2>' in page
    assert '<a href="#call-emergency_number-or-go-to-the-emergency-room-now">Call 911 or go to the emergency room now</a>' in page
    assert "call the clinic at +1 213 555 0100 to move your appointment" in page
    assert "Contact your own doctor or an urgent care center today, within 24 hours at most" in page
    with clinic.app_context():
        db.session.get(Clinic, 1).region = "GB"
        db.session.commit()
    page = clinic.test_client().get("/articles/back-pain-warning-signs").get_data(as_text=True)
    assert "Contact your GP, or NHS 111, within 24 hours at most" in page


def test_long_articles_get_a_table_of_contents(client):
    long_page = client.get("/articles/acupuncture-and-back-pain").get_data(as_text=True)
    assert "Contents" in long_page and 'href="#what-the-research-shows"' in long_page


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


# --- the confirmation: page and email from one rule --------------------------------------------------


def reading_on_the_page(patient) -> list[str]:
    page = patient.get("/book/confirmation").get_data(as_text=True)
    reading = page[page.index("Reading before your visit"):]
    return re.findall(r'href="/articles/([a-z0-9-]+)"', reading)


def reading_in_the_email(message) -> list[str]:
    return re.findall(r"/articles/([a-z0-9-]+)>", text_of(message))


@pytest.mark.parametrize(
    "service, returning, symptoms, booked_before, first",
    [
        ("consult", "no", ["none"], False, ["your-first-visits", "before-your-appointment"]),
        ("short", "yes", ["back_lump"], False, ["back-pain-warning-signs", "your-first-visits"]),
        ("short", "yes", ["none"], True, ["lower-back-pain-causes", "acupuncture-and-back-pain"]),
    ],
    ids=["new-patient", "urgent-flag", "returning-patient"],
)
def test_the_confirmation_page_and_email_list_the_same_articles_with_the_warning_signs(
    clinic, mail, service, returning, symptoms, booked_before, first  # noqa: F811
):
    if booked_before:  # the same patient's earlier visit, on record
        earlier = PatientBrowser(clinic)
        earlier.book_until_check(service="consult", start=MONDAY_10, details=DETAILS | {"returning": "no"})
        assert earlier.confirm().location.endswith("/book/confirmation")
    patient = PatientBrowser(clinic)
    patient.book_until_check(service=service, start=MONDAY_14, symptoms=symptoms,
                             details=DETAILS | {"returning": returning})
    assert patient.confirm().location.endswith("/book/confirmation")
    send(clinic, mail)
    [email] = [m for m in mail.received if m["Subject"].startswith("Booking confirmed") and "2:00 PM" in m["Subject"]]
    on_page, in_email = reading_on_the_page(patient), reading_in_the_email(email)
    assert on_page == in_email
    assert on_page[:2] == first and "back-pain-warning-signs" in on_page


# --- in Spanish -------------------------------------------------------------------------------

SPANISH = sorted((DEFAULT_FOLDER / "es").glob("*.md"))


def test_every_article_has_a_spanish_version_with_the_same_review_facts():
    """Reviewer, review dates, sources and readers are the English article's, word for word:
    a translation never claims a review it did not have."""
    assert [path.name for path in SPANISH] == [path.name for path in SHIPPED]
    for english_path, spanish_path in zip(SHIPPED, SPANISH):
        english, spanish = read_article(english_path), read_article(spanish_path, "es")
        assert spanish.review_facts == english.review_facts, spanish_path.name
        assert spanish.title != english.title and spanish.html != english.html
        assert spanish.linked_slugs == english.linked_slugs  # the same links, to the same articles


@pytest.mark.parametrize("path", SPANISH, ids=lambda p: p.name)
def test_each_spanish_article_is_a_readable_length_and_says_it_is_not_medical_advice(path):
    words = len(prose(path).split())
    assert 400 <= words <= 850, f"{path.name}: {words} words"
    assert "Esta página es información general, no un consejo médico" in prose(path)


def test_the_spanish_warning_signs_keep_the_safety_checks_emergency_advice():
    text = " ".join(prose(DEFAULT_FOLDER / "es" / "04-back-pain-warning-signs.md").split())
    assert "## Llame al {emergency_number} o vaya ahora mismo a la sala de emergencias" in prose(
        DEFAULT_FOLDER / "es" / "04-back-pain-warning-signs.md")
    for symptom in ("**las dos** piernas", "genitales, las nalgas", "vejiga", "dolor en el pecho",
                    "accidente grave", "dolor fuerte y repentino", "Vea a un médico en las próximas 24 horas",
                    "entre los omóplatos", "ha tenido cáncer", "osteoporosis", "no maneje usted mismo"):
        assert symptom in text, symptom


def test_a_patient_reading_spanish_gets_the_spanish_articles(clinic):
    from tests.test_languages import offer_spanish

    offer_spanish(clinic)
    client = clinic.test_client()
    client.get("/articles?language=es")
    listing = client.get("/articles").get_data(as_text=True)
    assert '<html lang="es">' in listing and "Lecturas para pacientes" in listing
    assert "Dolor lumbar: causas frecuentes y qué ayuda" in listing and "<li lang=" not in listing
    page = client.get("/articles/back-pain-warning-signs").get_data(as_text=True)
    assert "Llame al 911 o vaya ahora mismo a la sala de emergencias" in page
    assert "llame a la clínica al +1 213 555 0100" in page and "su médico o un centro de atención de urgencia" in page
    assert "Revisado por última vez el 3 de diciembre de 2026" in page
    assert "<dt>Revisado por</dt><dd>Amara Okafor, L.Ac., DAOM, Directora clínica</dd>" in page
    assert '<ol lang="en">' in page  # the sources are in English, and say so
    assert "not-translated" not in page and 'href="/articles/lower-back-pain-causes"' in page


def test_an_article_without_a_translation_is_shown_in_english_with_a_note_in_spanish(clinic, tmp_path):
    from tests.test_languages import offer_spanish

    folder = tmp_path / "articles"
    shutil.copytree(DEFAULT_FOLDER, folder)
    (folder / "es" / "02-acupuncture-and-back-pain.md").unlink()
    clinic.extensions["articles"] = ArticleLibrary.load(folder)  # as a clinic's own folder would be read at start-up
    offer_spanish(clinic)
    client = clinic.test_client()
    client.get("/articles?language=es")
    page = client.get("/articles/acupuncture-and-back-pain").get_data(as_text=True)
    assert "Este artículo todavía no está traducido al español, así que se muestra en inglés." in page
    assert '<article class="article" lang="en">' in page and "What the research shows" in page
    listing = client.get("/articles").get_data(as_text=True)
    assert '<li lang="en">' in listing and "Dolor lumbar: causas frecuentes" in listing
    assert "not-translated" not in client.get("/articles/lower-back-pain-causes").get_data(as_text=True)


def test_a_translation_whose_review_facts_differ_is_skipped_with_a_warning(tmp_path, caplog):
    write(tmp_path, "01.md", GOOD + "In English.\n")
    (tmp_path / "es").mkdir()
    stale = write(tmp_path / "es", "01.md", GOOD.replace("last_reviewed: 2026-11-01", "last_reviewed: 2025-11-01")
                  .replace("title: Sixth", "title: Sexto") + "En español.\n")
    with caplog.at_level(logging.WARNING, logger="booking.articles"):
        library = ArticleLibrary.load(tmp_path)
    assert library.get("sixth", "es").language == "en" and library.get("sixth", "es").title == "Sixth"
    [record] = caplog.records
    assert str(stale) in record.getMessage() and "review dates" in record.getMessage()

    stale.write_text(GOOD.replace("title: Sixth", "title: Sexto") + "En español.\n")  # brought up to date
    assert ArticleLibrary.load(tmp_path).get("sixth", "es").title == "Sexto"


def test_the_confirmation_lists_the_articles_in_the_language_of_the_visit():
    library = ArticleLibrary.load(DEFAULT_FOLDER)
    spanish = library.for_booking(first_visit=True, urgent_flag=True, language="es")
    assert [a.slug for a in spanish] == [a.slug for a in library.for_booking(first_visit=True, urgent_flag=True)]
    assert {a.language for a in spanish} == {"es"}
    assert spanish[0].title == "Señales de alarma del dolor de espalda: cuándo buscar ayuda urgente"
