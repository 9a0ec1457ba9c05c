"""Secrets given out once (manage links, staff sessions, calendar feeds): only their hash is kept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def draft_manage_token(draft_key: str, reference: str) -> str:
    """The manage link's token of a visit booked online, made from the booking draft's key.

    The key lives only in the patient's session cookie (the database holds its hash), so
    the confirmation page can make the same link again on every reload while the database
    holds nothing that opens the visit. HMAC keeps the key from being read back out of a
    link; the reference makes each visit's token its own (43 characters, as new_token()'s).
    """
    digest = hmac.new(draft_key.encode(), f"manage-link:{reference}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
