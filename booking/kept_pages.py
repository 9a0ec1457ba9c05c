"""Calendar pages kept per process: the desk's day and week, and a practitioner's day.

Rendering a busy day (ten columns of visits, and the same day as a list for phones) was nearly
all of such a request's cost, and the page changes far less often than it is asked for. So each
process keeps the pages it rendered, a few dozen at most, under everything they depend on:

- what the database holds: the settings stamp and every practitioner's calendar stamp
  (operations.desk.calendars_version), renewed in the same transaction as any change a
  calendar shows, whichever process makes it;
- who asks: the staff member's account, role, practitioner and name (their menu, what they
  may open and book): one person's copy is never another's;
- the address: the page and what its query chose (the date as it resolves, whose calendar);
- the clock: a page records the moments it would change at (free times that stop being
  bookable) and is used again only while no such moment has passed.

Never kept: a page showing a message (shown once), or one naming a patient being booked for.
What differs per request is put into a kept page when it is served: this session's CSRF token
(it is per session, and signed with the time) and the waitlist beside the desk's day (it
depends on the clock and the waitlist, which the stamps do not cover).
"""

from __future__ import annotations

import re
import secrets
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, request, session
from flask_login import current_user

from booking.csrf_tokens import csrf_token

PAGES_KEPT = 32  # per process: a day and a week for a few desks and practitioners, over a few dates

# Stand-ins, in a page as kept, for the parts each request writes: random per process, so no
# text a page shows (a patient's name) can be taken for one.
_MARKS = f"kept-{secrets.token_hex(16)}"


def mark(name: str) -> str:
    """The stand-in for a part of a page written for each request (`fills` of serve)."""
    return f"{_MARKS}-{name}"


CSRF_MARK = mark("csrf")  # the session's CSRF token
_ANY_MARK = re.compile(f"({re.escape(_MARKS)}-[a-z]+)".encode())


@dataclass(frozen=True)
class KeptPage:
    # The page as sent, cut at each mark: text and marks in turn (odd places hold the marks).
    # Kept encoded, as joining bytes is nearly free and encoding (or replacing in) a calendar's
    # 100 kB of text is not.
    pieces: tuple[bytes, ...]
    turns: tuple[datetime, ...]  # sorted: the moments at which the page would read differently
    passed: int  # how many of them had come when it was rendered

    def holds_at(self, moment: datetime) -> bool:
        """Would the page read the same if rendered at `moment`? Only if no turn lies between."""
        return bisect_left(self.turns, moment) == self.passed


class KeptPages:
    """A small least-recently-used store of pages, safe to share between a process's threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pages: OrderedDict[Hashable, tuple[Hashable, KeptPage]] = OrderedDict()  # key: (version, page)
        self._lock = threading.Lock()

    def get(self, key: Hashable, moment: datetime) -> KeptPage | None:
        with self._lock:
            _version, page = self._pages.get(key, (None, None))
            if page is None or not page.holds_at(moment):
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: KeptPage, version: Hashable) -> None:
        """Keep `page` under `key`, and drop every page kept under another version of the data:
        never served again, they would only hold what the database no longer does (an erased
        patient's name) in this process's memory until pushed out."""
        with self._lock:
            for stale in [kept for kept, (held_under, _page) in self._pages.items() if held_under != version]:
                del self._pages[stale]
            self._pages[key] = (version, page)
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def kept_pages() -> KeptPages:
    """This app's store (an app is a process; tests run several apps, each with its own)."""
    pages = current_app.extensions.get("kept_calendar_pages")
    if pages is None:
        pages = current_app.extensions.setdefault("kept_calendar_pages", KeptPages(PAGES_KEPT))
    return pages


def _page_key(version: Hashable, address: Hashable) -> tuple | None:
    """What a page depends on besides the clock, or None when this request's page is its own."""
    if "_flashes" in session:  # a message to show once
        return None
    who = current_user  # its plain values: no need of the account's entity
    return (request.endpoint, request.script_root, address, version,
            (who.account_id, who.role, who.practitioner_id, who.name))


# White space holding a line break between a tag and the next tag (a template's indentation) goes.
# A tag (or the doctype) is read whole, its quoted attribute values with it (a '>' or a line break
# in one is the value's), and a <pre>, <textarea>, <script> or <style> with all it holds up to its
# end tag: their text is shown or run as it is written. What follows such an end tag may go as any.
_ATTRIBUTES = r"""(?:[^"'>]|"[^"]*"|'[^']*')*"""
_INDENTATION = re.compile(
    rf"(<(?:(pre|textarea|script|style)(?=[\s/>]){_ATTRIBUTES}>.*?</\2\s*|(?:[a-zA-Z/]|![a-zA-Z]){_ATTRIBUTES})>)(\s*\n\s*(?=<))?",
    re.DOTALL | re.IGNORECASE)


def without_indentation(html: str) -> str:
    """The page with each run of white space between two tags that holds a line break made one
    line break. A browser shows it the same (white space between tags collapses; a line break is
    still white space, so inline elements keep their gap), and a third of a calendar page's bytes,
    sent on every request, were its templates' indentation. Done once, when a page is rendered."""
    return _INDENTATION.sub(lambda found: found.group(1) + ("\n" if found.group(3) else ""), html)


def serve(version: Hashable, address: Hashable | None, moment: datetime,
          render: Callable[[dict], tuple[str, Sequence[datetime]]],
          fills: dict[str, Callable[[], str]] | None = None) -> bytes:
    """The page for this request: kept, or rendered and kept. `address` is what the page's query
    chose (None: never keep it); `render(context)` renders it with `context` added to the
    template's (the CSRF stand-in) and gives the moments it would change at; `fills` maps each
    mark in it to a function writing that part for this request."""
    key = _page_key(version, address) if address is not None else None
    pages = kept_pages()
    page = pages.get(key, moment) if key is not None else None
    if page is None:
        html, turns = render({"csrf_token": lambda: CSRF_MARK})
        turns = tuple(sorted(turns))
        page = KeptPage(tuple(_ANY_MARK.split(without_indentation(html).encode())), turns, bisect_left(turns, moment))
        if key is not None:
            pages.put(key, page, version)
    writers = {mark(name).encode(): fill for name, fill in (fills or {}).items()}
    writers[CSRF_MARK.encode()] = csrf_token
    return b"".join(writers[piece]().encode() if place % 2 else piece for place, piece in enumerate(page.pieces))
