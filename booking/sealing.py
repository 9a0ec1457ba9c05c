"""Sealing a small secret that must stay usable (a TOTP key), so that a database dump alone cannot
open it: AES-256-GCM (the `cryptography` library) under a key derived from SECRET_KEY.

- The key comes from SECRET_KEY through HKDF-SHA256 with a label naming its purpose, so a
  sealed value is useless to anything else that derives keys from SECRET_KEY.
- Each seal has a fresh random 96-bit nonce (GCM's own size); the record it belongs to (the
  account's id) is bound as associated data, so a sealed key copied onto another account's
  row does not open.
- Stored as "g1." and URL-safe base64 of nonce + ciphertext + tag: printable, versioned.

Changing SECRET_KEY makes every sealed value unopenable (the README says what to do then:
second factors are reset with `flask staff reset-second-factor`).
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "g1"
NONCE_BYTES = 12
TAG_BYTES = 16


class Unsealable(ValueError):
    """The sealed text was not made with this key and context, or was changed since."""


def _cipher(secret_key: str, purpose: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=f"booking sealing {VERSION}: {purpose}".encode()).derive(secret_key.encode())
    return AESGCM(key)


def seal(plaintext: str, *, secret_key: str, purpose: str, context: str) -> str:
    """The plaintext encrypted and authenticated, as printable text for a database column."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _cipher(secret_key, purpose).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{VERSION}." + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(sealed: str, *, secret_key: str, purpose: str, context: str) -> str:
    """The plaintext of seal()'s output; Unsealable for another key, purpose or context, or any change."""
    version, _, body = (sealed or "").partition(".")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        raise Unsealable("not sealed text") from None
    if version != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
        raise Unsealable("not sealed text")
    try:
        data = _cipher(secret_key, purpose).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
    except InvalidTag:
        raise Unsealable("sealed with another key or for another record, or changed") from None
    return data.decode()
