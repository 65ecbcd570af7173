"""Validating a wire body against an official SDK's request TypedDicts with pydantic.

The SDKs type many arrays as ``Iterable[...]``, which pydantic validates lazily (the items are
checked only when the result is iterated), so `validate` walks the whole result: without that a
message with a wrong role or a block missing a required key would pass."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, get_type_hints

from pydantic import TypeAdapter, ValidationError


@cache
def adapter(kind: Any) -> TypeAdapter[Any]:
    """A (cached: building one takes ~0.1 s) TypeAdapter for an SDK TypedDict."""
    return TypeAdapter(kind)


@cache
def field_names(kind: Any) -> frozenset[str]:
    """The top-level keys an SDK TypedDict declares (pydantic ignores unknown ones)."""
    return frozenset(get_type_hints(kind))


def _drain(value: Any) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _drain(item)
    elif isinstance(value, list | tuple | Iterator):  # Iterator: pydantic_core's ValidatorIterator
        for item in value:
            _drain(item)


def validate(adapter: TypeAdapter[Any], body: dict[str, Any], what: str) -> None:
    """Raise AssertionError naming the first error when ``body`` is not a valid ``what``."""
    try:
        _drain(adapter.validate_python(body))
    except ValidationError as exc:  # the block unions give hundreds of lines: keep the gist
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise AssertionError(
            f"not a valid {what} ({exc.error_count()} errors; first at {where}: {first['msg']}): {body}"
        ) from None
