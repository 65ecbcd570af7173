"""API-key secrets: generation, the HMAC lookup digest and the AES-GCM reveal copy.

A secret is ``sk-byts-`` + 43 base62 characters from the OS CSPRNG (256 bits). At rest we keep
only HMAC-SHA256(server secret, key) for lookup and an AES-256-GCM encryption of the key (for
owner-initiated reveal), both derived from the server secret with HKDF so the two uses never
share key material. Never the plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_PREFIX = "sk-byts-"
BODY_LENGTH = 43
_ALPHABET = string.ascii_letters + string.digits
_VALID_CHARS = frozenset(_ALPHABET + "-_")


def generate_secret() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(BODY_LENGTH))


def is_well_formed(secret: str) -> bool:
    """Cheap shape check before any lookup: prefix, sane length, url-safe characters."""
    body = secret[len(KEY_PREFIX) :]
    return secret.startswith(KEY_PREFIX) and 16 <= len(body) <= 200 and all(c in _VALID_CHARS for c in body)


def mask(secret: str) -> str:
    """The display form: prefix, first 4 and last 4 characters of the body."""
    body = secret[len(KEY_PREFIX) :]
    return f"{KEY_PREFIX}{body[:4]}…{body[-4:]}"


def hkdf_sha256(secret: bytes, *, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869), 32 bytes of output: one extract, one expand block.

    Written with the stdlib's HMAC so that deriving keys does not load the `cryptography`
    package (8.5 MiB) into every worker; a test checks it against cryptography's HKDF byte for
    byte."""
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _derive(server_secret: str, purpose: bytes) -> bytes:
    return hkdf_sha256(server_secret.encode(), salt=b"bytespike-keys", info=purpose)


class KeySealer:
    """Digests and encrypts key secrets with material derived from the server secret."""

    def __init__(self, server_secret: str) -> None:
        self._mac_key = _derive(server_secret, b"lookup-hmac")
        self._aead_key = _derive(server_secret, b"reveal-aes-gcm")
        self._aead_cipher: AESGCM | None = None

    @property
    def _aead(self) -> AESGCM:
        # Imported on first use: only creating or revealing a key needs it, never a request.
        if self._aead_cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead_cipher = AESGCM(self._aead_key)
        return self._aead_cipher

    def lookup_hash(self, secret: str) -> str:
        return hmac.new(self._mac_key, secret.encode(), hashlib.sha256).hexdigest()

    def seal(self, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), b"api-key")

    def unseal(self, blob: bytes) -> str:
        """The secret sealed in ``blob``; ValueError when it was not sealed with this server secret."""
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(blob[:12], blob[12:], b"api-key").decode()
        except InvalidTag as exc:
            raise ValueError("not sealed with this server secret, or altered") from exc
