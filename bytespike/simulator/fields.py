"""Reading fields of vendor request bodies and headers, with the vendor-style complaint.

The vendor modules decode only what decides the simulated answer; these readers turn a missing
field or a wrong type into a clear 400 naming the field instead of a crash.
"""

from __future__ import annotations

from collections.abc import Mapping


class BadRequest(ValueError):
    """The request body is not what the vendor accepts; answered with a 400 in its shape."""


def require_str(payload: Mapping[str, object], field: str) -> str:
    value = payload.get(field)
    if value is None:
        raise BadRequest(f"{field}: Field required")
    if not isinstance(value, str):
        raise BadRequest(f"{field}: Input should be a valid string")
    return value


def require_list(payload: Mapping[str, object], field: str) -> list[object]:
    value = payload.get(field)
    if value is None:
        raise BadRequest(f"{field}: Field required")
    if not isinstance(value, list):
        raise BadRequest(f"{field}: Input should be a valid list")
    return value


def optional_int(payload: Mapping[str, object], field: str) -> int | None:
    value = payload.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{field}: Input should be a valid integer")
    return value


def optional_dict(payload: Mapping[str, object], field: str) -> dict[str, object]:
    """``payload[field]`` when it is an object, else an empty dict (for optional sub-objects)."""
    value = payload.get(field)
    return value if isinstance(value, dict) else {}


def dict_items(value: object, field: str) -> list[dict[str, object]]:
    """A list of objects; anything else is a `BadRequest` naming ``field``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadRequest(f"{field}: Input should be a list of objects")
    return value


def string_list(value: object, field: str) -> tuple[str, ...]:
    """A string or list of strings (stop sequences) as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise BadRequest(f"{field}: Input should be a list of strings")


def text_of_parts(content: object, text_types: tuple[str, ...]) -> list[str]:
    """Texts of a string-or-list-of-parts content whose part ``type`` is in ``text_types``."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    texts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") in text_types:
            text = part.get("text")
            if isinstance(text, str):
                texts.append(text)
    return texts


def bearer_token(value: bytes | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, if that is what it holds."""
    if not value:
        return None
    scheme, _, token = value.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
