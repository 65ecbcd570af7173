"""Typed reads of wire fields that fail with an error naming the field's path.

``path`` is the path of the object holding ``key`` (``""`` at the top level). Requests fail with
a 400 (`invalid_request`); responses pass their own ``fail`` (a 502 from a malformed upstream).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bytespike.errors import GatewayError, invalid_request

Fail = Callable[[str, str], GatewayError]
"""Builds the error for a malformed field from (message, field path)."""
_TYPE_NAMES = {str: "string", dict: "object", bool: "boolean"}


def _path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def required(obj: Any, key: str, kind: type, path: str, fail: Fail = invalid_request) -> Any:
    """``obj[key]``, which must be a ``kind``."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        where = _path(path, key)
        raise fail(f"{where}: field required ({_TYPE_NAMES[kind]})", where)
    return value


def optional(obj: Any, key: str, kind: type, path: str) -> Any:
    """``obj[key]`` when it is a ``kind``; None when absent or null."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is not None and not isinstance(value, kind):
        where = _path(path, key)
        raise invalid_request(f"{where}: must be a {_TYPE_NAMES[kind]}", where)
    return value
