"""What a kept page does for each request, and once when it is kept: this request's CSRF token
(booking.csrf_tokens, Flask-WTF's token made faster) and the indentation taken out of a page."""

from __future__ import annotations

import threading
import time

import pytest
from flask import g, session
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import ValidationError

from booking import create_app
from booking import csrf_tokens
from booking.csrf_tokens import csrf_token
from booking.kept_pages import without_indentation
from tests.conftest import app_config, close_database


def both_in_one_second() -> tuple[str, str]:
    """Ours and Flask-WTF's token for this request, made within one second (a token carries it)."""
    for _ in range(5):
        second = int(time.time())
        g.pop("csrf_token", None)
        csrf_tokens._recently_signed.clear()  # signed now, not handed out again from an earlier request
        ours = csrf_token()
        g.pop("csrf_token", None)
        theirs = generate_csrf()
        if int(time.time()) == second:
            return ours, theirs
    raise AssertionError("the clock never stayed within one second")


def test_the_token_is_flask_wtfs_own_and_its_check_takes_it(app):
    with app.test_request_context():
        generate_csrf()  # the session's raw token, as the page's first form would make it
        ours, theirs = both_in_one_second()
        assert ours == theirs
        validate_csrf(ours)
        with pytest.raises(ValidationError, match="expired"):
            validate_csrf(ours, time_limit=-1)  # signed with the time, and the time limit applies
        session["csrf_token"] = "another session's raw token"
        with pytest.raises(ValidationError, match="do not match"):
            validate_csrf(ours)


def test_one_token_a_request_shared_with_the_forms(app):
    with app.test_request_context():
        first = csrf_token()  # no raw token in the session yet: made and kept there, as Flask-WTF does
        assert session["csrf_token"] and csrf_token() == first and generate_csrf() == first
        validate_csrf(first)


def test_a_sessions_token_signed_within_the_minute_is_handed_out_again_and_still_checks(app):
    with app.test_request_context():
        generate_csrf()
        first = csrf_token()
        g.pop("csrf_token")  # the next request of the same session
        assert csrf_token() == first
        validate_csrf(first)
        mine = session["csrf_token"]
        session["csrf_token"] = "another session's raw token"
        g.pop("csrf_token")
        theirs = csrf_token()
        assert theirs != first
        validate_csrf(theirs)
        session["csrf_token"] = mine
        signed_at, token = csrf_tokens._recently_signed[app.secret_key, mine]
        csrf_tokens._recently_signed[app.secret_key, mine] = (signed_at - csrf_tokens.REUSE_SECONDS, token)
        g.pop("csrf_token")
        renewed = csrf_token()  # a minute on: signed again, with the time it is signed at
        validate_csrf(renewed)
        assert csrf_tokens._recently_signed[app.secret_key, mine][0] >= signed_at


def test_with_a_short_time_limit_every_request_gets_a_token_signed_now(database_url):
    """A token handed out again may be a minute old: with a limit of a few minutes that would be a
    good part of its life, so each request's token is signed as it is asked for."""
    app = create_app(app_config(database_url, WTF_CSRF_TIME_LIMIT=120))
    try:
        with app.test_request_context():
            generate_csrf()
            g.pop("csrf_token")
            csrf_token()
            raw = session["csrf_token"]
            signed_at, token = csrf_tokens._recently_signed[app.secret_key, raw]
            csrf_tokens._recently_signed[app.secret_key, raw] = (signed_at, "a token signed long ago")
            g.pop("csrf_token")
            validate_csrf(csrf_token())
    finally:
        close_database(app)


def test_a_csrf_secret_of_its_own_signs_the_token(database_url):
    app = create_app(app_config(database_url, WTF_CSRF_SECRET_KEY="a secret for CSRF tokens only"))
    try:
        with app.test_request_context():
            token = csrf_token()
            validate_csrf(token)
            URLSafeTimedSerializer("a secret for CSRF tokens only", salt="wtf-csrf-token").loads(token)
            with pytest.raises(BadSignature):
                URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").loads(token)
            ours, theirs = both_in_one_second()
            assert ours == theirs
    finally:
        close_database(app)


def test_indentation_between_tags_becomes_one_line_break():
    page = ('<main>\n    <h1>Times</h1>\n\n    <ul>\n      <li><a href="/a">A</a></li>\n      '
            '<li>B</li>\n    </ul>\n</main>\n')
    assert without_indentation(page) == '<main>\n<h1>Times</h1>\n<ul>\n<li><a href="/a">A</a></li>\n<li>B</li>\n</ul>\n</main>\n'


def test_what_a_browser_would_show_differently_is_left_alone():
    kept_as_written = [
        '<p>\n  Text after a tag keeps its space\n  </p>',  # text beside a tag, not between two
        '<span>a</span> <span>b</span>',  # a gap with no line break
        '<pre>\n  <b>code</b>\n    <i>indented</i>\n</pre>',
        '<TEXTAREA name="note">\n  <typed>\n    text\n</TEXTAREA>',
        '<input value="two\n   lines">',
        # An attribute's value may hold a '>' and a line break ahead of a '<': not a tag's edge.
        '<input title="a >\n   <b" value="x">',
        "<a data-shape='>\n  <'>y</a>",
        # A script's or a style's text is not HTML: indentation in a script's string is the string's.
        '<script>\n  const row = `<tr>\n    <td>`;\n</script>',
        '<SCRIPT type="text/template">\n<li>\n  <b>x</b>\n</li>\n</SCRIPT>',
        '<style>\n  /* <b>\n  <i> */\n</style>',
    ]
    for html in kept_as_written:
        assert without_indentation(html) == html
    assert without_indentation('<div>\n  <pre> x\n  <b>y</b></pre>\n  <p>z</p>\n</div>') == \
        '<div>\n<pre> x\n  <b>y</b></pre>\n<p>z</p>\n</div>'
    assert without_indentation('<span>a</span>\n   <span>b</span>') == '<span>a</span>\n<span>b</span>'  # still a gap
    assert without_indentation('<div>\n  <script>\n  a = "<p>\\n  <p>"\n</script>\n  <p title="1 > 0">\n    <b>z</b>\n</div>') == \
        '<div>\n<script>\n  a = "<p>\\n  <p>"\n</script>\n<p title="1 > 0">\n<b>z</b>\n</div>'


def test_each_app_signs_with_its_own_secret_kept_apart_and_threads_share_the_kept_signer(app, database_url):
    """The signer is kept per secret in the process, which may hold apps of several secrets (the
    tests' do; a secret rotated into SECRET_KEY, the old one in SECRET_KEY_FALLBACKS): each app's
    token is signed with its own secret only, and threads (gunicorn --threads) using one signer at
    once each get a token their own session's check takes."""
    rotated = create_app(app_config(database_url, SECRET_KEY="a secret rotated in",
                                    SECRET_KEY_FALLBACKS=["tests-only-secret"]))
    try:
        with app.test_request_context():
            theirs = csrf_token()
        with rotated.test_request_context():
            ours = csrf_token()
            validate_csrf(ours)
            with pytest.raises(ValidationError, match="invalid"):
                validate_csrf(theirs)  # a token of the old secret: refused, as Flask-WTF refuses it
        with pytest.raises(BadSignature):
            URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").loads(ours)
    finally:
        close_database(rotated)
    refused = []

    def many_tokens():
        for _ in range(50):
            with app.test_request_context():
                token = csrf_token()
                try:
                    validate_csrf(token)
                except ValidationError as error:
                    refused.append(error)

    threads = [threading.Thread(target=many_tokens) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not refused
