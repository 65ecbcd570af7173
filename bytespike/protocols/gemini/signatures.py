"""Thought signatures: which may be sent to Gemini, the sentinel, and carrying foreign ones.

Gemini's ``thoughtSignature`` (base64) may sit on any part and must come back byte-exact; Gemini 3
rejects a model turn whose function calls lack one (protocols.md §4.7). Signatures issued by
other vendors are never sent to Gemini. For history Gemini did not produce, Google documents the
sentinel `SKIP_SIGNATURE_SENTINEL` (https://ai.google.dev/gemini-api/docs/thought-signatures#faqs).

A Gemini *client* talking to another vendor gets that vendor's thinking signature wrapped in a
``thoughtSignature`` (`wrap_foreign_signature`): the SDK echoes it back with the history, and
`unwrap_signature` restores it (with its protocol) so it reaches its own vendor again.
"""

from __future__ import annotations

import base64
import binascii

SKIP_SIGNATURE_SENTINEL = "skip_thought_signature_validator"
"""Documented value that makes Gemini skip validating a function call's signature (§4.7)."""

_WRAP_MAGIC = b"bytespike-signature\x00"
_REDACTED = b"r"
_PLAIN = b"-"


def wrap_foreign_signature(protocol: str, signature: str, *, redacted: bool = False) -> str:
    """A ``thoughtSignature`` value carrying ``signature`` issued by ``protocol``."""
    flag = _REDACTED if redacted else _PLAIN
    raw = _WRAP_MAGIC + protocol.encode() + b"\x00" + flag + signature.encode()
    return base64.b64encode(raw).decode()


def unwrap_signature(value: str) -> tuple[str | None, str, bool] | None:
    """(issuing protocol, signature, redacted) of a wrapped value; None for a Gemini signature."""
    # The SDK re-encodes bytes fields as URL-safe base64 (pydantic ser_json_bytes="base64").
    if len(value) < 28:
        return None
    try:
        raw = base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_WRAP_MAGIC):
        return None
    protocol, sep, rest = raw[len(_WRAP_MAGIC) :].partition(b"\x00")
    if not sep or not rest:
        return None
    try:
        return protocol.decode() or None, rest[1:].decode(), rest[:1] == _REDACTED
    except UnicodeDecodeError:
        return None
