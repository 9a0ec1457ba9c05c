"""Sealing a small secret that must stay usable (a TOTP key) so that a database dump alone
cannot open it: authenticated encryption under a key derived from SECRET_KEY.

The standard library has no block cipher, so this is a well-known construction built from
HMAC-SHA256 alone:

- keys: HKDF-SHA256 (RFC 5869) from SECRET_KEY, with a purpose label, gives an encryption
  key and a separate MAC key;
- encryption: HMAC-SHA256 as a pseudorandom function in counter mode (a keystream block is
  HMAC(enc_key, nonce || counter), as in NIST SP 800-108's counter mode), XORed with the
  plaintext, under a fresh random 16-byte nonce for each seal;
- authentication: encrypt-then-MAC, HMAC-SHA256(mac_key, version || nonce || context ||
  ciphertext), checked in constant time before anything is decrypted. The context (here the
  account's id) binds a sealed value to its row: copied onto another account it does not open.

Changing SECRET_KEY makes every sealed value unopenable (see the README: second factors are
then reset with `flask staff reset-second-factor`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

VERSION = b"s1"
NONCE_BYTES = 16
TAG_BYTES = 32


class Unsealable(ValueError):
    """The sealed text was not made with this key and context, or was changed since."""


def hkdf_sha256(secret: bytes, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """RFC 5869: extract then expand."""
    pseudorandom_key = hmac.new(salt or b"\x00" * 32, secret, hashlib.sha256).digest()
    output, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(pseudorandom_key, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
    return output[:length]


def _keys(secret_key: str, purpose: str) -> tuple[bytes, bytes]:
    material = hkdf_sha256(secret_key.encode(), b"booking sealing v1: " + purpose.encode(), 64)
    return material[:32], material[32:]


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
              for counter in range(-(-length // 32)))
    return b"".join(blocks)[:length]


def _tag(key: bytes, nonce: bytes, context: bytes, ciphertext: bytes) -> bytes:
    message = VERSION + nonce + len(context).to_bytes(4, "big") + context + ciphertext
    return hmac.new(key, message, hashlib.sha256).digest()


def seal(plaintext: str, *, secret_key: str, purpose: str, context: str) -> str:
    """The plaintext encrypted and authenticated, as printable text for a database column."""
    enc_key, mac_key = _keys(secret_key, purpose)
    nonce = secrets.token_bytes(NONCE_BYTES)
    data = plaintext.encode()
    ciphertext = bytes(a ^ b for a, b in zip(data, _keystream(enc_key, nonce, len(data)), strict=True))
    tag = _tag(mac_key, nonce, context.encode(), ciphertext)
    return VERSION.decode() + "." + base64.urlsafe_b64encode(nonce + ciphertext + tag).decode().rstrip("=")


def unseal(sealed: str, *, secret_key: str, purpose: str, context: str) -> str:
    """The plaintext of seal()'s output; Unsealable for another key or context, or any change."""
    version, _, body = (sealed or "").partition(".")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise Unsealable("not sealed text") from None
    if version.encode() != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
        raise Unsealable("not sealed text")
    nonce, ciphertext, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    enc_key, mac_key = _keys(secret_key, purpose)
    if not hmac.compare_digest(tag, _tag(mac_key, nonce, context.encode(), ciphertext)):
        raise Unsealable("sealed with another key or for another record, or changed")
    data = bytes(a ^ b for a, b in zip(ciphertext, _keystream(enc_key, nonce, len(ciphertext)), strict=True))
    return data.decode()
