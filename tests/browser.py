"""Helpers for the browser tests: a live server, Debian's Chromium through Playwright, axe-core, screenshots."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
_axe = Axe()


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def require_chromium() -> str:
    found = find_chromium()
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI"):
            pytest.fail(message + " - and CI must not skip them")
        pytest.skip(message)
    return found


def _closed_before_sent(app):
    """The app with each answer read whole and closed before the server sends it. Werkzeug's server
    closes an answer only after reading what is left of the request, which raises when the browser
    has dropped the connection (a stylesheet still loading as a test ends): a static file's answer
    was left open, and its ResourceWarning failed the test (once in a CI run)."""
    def serve(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()

    return serve


class LiveServer:
    """The app served by werkzeug in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, _closed_before_sent(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.connections: list[tuple[threading.Thread, socket.socket]] = []  # each browser connection's thread
        serve_connection = self.server.process_request_thread

        def process_request(connection, address):  # as werkzeug's, keeping the thread to wait for
            thread = threading.Thread(target=serve_connection, args=(connection, address), daemon=True)
            self.connections.append((thread, connection))
            thread.start()

        self.server.process_request = process_request

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        """Stop, and wait for every request still being served. One still running held a database
        connection when the test's app closed its pool, and gave it back to the closed pool
        afterwards: only the garbage collector closed it then, and psycopg's warning about it
        failed whichever test was running (once in a CI run)."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        for _thread, connection in self.connections:
            with contextlib.suppress(OSError):  # an idle kept-alive connection reads its end, and its thread ends
                connection.shutdown(socket.SHUT_RD)
        deadline = time.monotonic() + 10
        for thread, _connection in self.connections:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        still = sum(thread.is_alive() for thread, _connection in self.connections)
        if exc[0] is None:  # a test that failed already keeps its own error
            assert not still, f"{still} request(s) still being served 10 s after the test ended"


def assert_accessible(page) -> None:
    """Zero axe-core violations under the WCAG 2.2 AA rule set, and on our pages every piece of
    content inside a landmark (axe's best-practice "region": a screen reader user moving by
    landmarks misses what lies outside them; the back links did, before <main>). An email shown
    with set_content (about:blank) is not a page: the mail app around it has the landmarks."""
    ours = page.url.startswith("http")
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA},
                                      "rules": {"region": {"enabled": ours}}})
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + results.generate_report()


class Screenshots:
    """Saves each page at phone and desktop width under test-artifacts/ (not committed)."""

    def __init__(self, test_name: str):
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def take(self, page, name: str) -> None:
        self.count += 1
        original = page.viewport_size
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}-{label}.png"), full_page=True)
        page.set_viewport_size(original)


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def assert_fits_a_phone(page) -> None:
    """At 390 px wide nothing makes the page scroll sideways (WCAG 1.4.10, reflow)."""
    original = page.viewport_size
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.set_viewport_size(original)
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a phone screen"


def check(page, shots, name):
    """Every page of a journey: no axe violations, a screenshot at both widths, and it fits a phone."""
    # An expectation about the text can pass while the stylesheet is still on its way; axe must
    # judge the page as a person sees it (target sizes, contrast), so wait for it to finish loading.
    page.wait_for_load_state("load")
    assert_accessible(page)
    shots.take(page, name)
    assert_fits_a_phone(page)
