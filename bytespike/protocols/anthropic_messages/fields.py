"""Typed reads of Anthropic body fields: a wrong type is a 400 naming the field's path.

Paths use the caller's positions in brackets (``messages[2].content[0].source.data``), the same
form `Degradations` reports. `leftovers` keeps what a decoder did not map, so the encoder can
put it back verbatim when the request or response goes to Anthropic again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bytespike.errors import invalid_request


def req_str(d: dict[str, Any], key: str, path: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise invalid_request(f"{path}.{key}: field required (string)", f"{path}.{key}")
    return value


def req_dict(d: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = d.get(key)
    if not isinstance(value, dict):
        raise invalid_request(f"{path}.{key}: field required (object)", f"{path}.{key}")
    return value


def opt_str(d: dict[str, Any], key: str, path: str) -> str | None:
    value = d.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid_request(f"{path}: must be a string", path)
    return value


def opt_bool(d: dict[str, Any], key: str, path: str) -> bool | None:
    value = d.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid_request(f"{path}: must be a boolean", path)
    return value


def opt_int(d: dict[str, Any], key: str, path: str, *, minimum: int = 0) -> int | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise invalid_request(f"{path}: must be an integer ≥ {minimum}", path)
    return value


def opt_number(d: dict[str, Any], key: str, path: str) -> float | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid_request(f"{path}: must be a number", path)
    return value


def opt_list(d: dict[str, Any], key: str, path: str) -> list[Any] | None:
    value = d.get(key)
    if value is not None and not isinstance(value, list):
        raise invalid_request(f"{path}: must be an array", path)
    return value


def leftovers(d: dict[str, Any], consumed: Iterable[str]) -> dict[str, Any]:
    """The keys of ``d`` a decoder did not map into the canonical model."""
    taken = set(consumed)
    return {k: v for k, v in d.items() if k not in taken}


def with_leftovers(out: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """``out`` plus the decoder's leftovers; mapped fields win over leftovers."""
    if extra:
        for k, v in extra.items():
            out.setdefault(k, v)
    return out
