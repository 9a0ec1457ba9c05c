"""Where to go after signing in: the page asked for (?next=), only if it is a path on this site.

Anything a browser could read as another site is refused, not repaired: browsers drop tabs
and newlines from addresses and read a backslash as a slash, so "/\t/evil.example" and
"/\\evil.example" both mean //evil.example to them; a newline in a Location header is
refused by the server (it was a 500). The caller sends a refused value to the role's start page.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

LONGEST = 2000
# Percent-encoded slashes, backslashes and control characters: a server or browser that decodes
# them once more would see a path that starts //, or a tab or newline.
ENCODED_DANGER = re.compile(r"%(?:2f|5c|[01][0-9a-f]|7f)", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable_ascii(text: str) -> bool:
    """Every character printable ASCII, without space: no control characters (tabs, newlines,
    CRs, NUL), no Unicode look-alikes or invisible characters."""
    return all(0x21 <= ord(character) <= 0x7E for character in text)


def same_site_path(value: str | None) -> str | None:
    """`value` if it is a path (with an optional query) on this site, else None."""
    if not value or len(value) > LONGEST or not _printable_ascii(value):
        return None
    decoded = value
    for _ in range(4):  # every layer of percent-encoding that a later decode could peel off
        if "\\" in decoded or ENCODED_DANGER.search(decoded) or CONTROL.search(decoded):
            return None
        if not decoded.startswith("/") or decoded.startswith("//"):
            return None
        once_more = unquote(decoded)
        if once_more == decoded:
            break
        decoded = once_more
    else:
        return None  # encoded more deeply than any real link is
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return value
