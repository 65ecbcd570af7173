"""Control directives that tests embed in a prompt to steer the simulator.

A directive is written ``[[sim:key=value,key2=value2]]`` or ``[[sim:flag]]`` inside the text of
the caller's final turn. Because it is plain prompt text it survives the gateway's protocol
translation, so a gateway test can inject a fault from any client protocol. The ``x-sim-*``
request headers and `SimulatorConfig` give the pacing defaults a directive can override.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from bytespike.simulator.config import SimulatorConfig

DIRECTIVE_MARK = "[[sim:"
"""Cheap substring test before the regular expression runs (the hot path has no directive)."""

_DIRECTIVE_RE = re.compile(r"\[\[sim:([^\]]*)\]\]")

HEADER_LATENCY_MS = b"x-sim-latency-ms"
HEADER_CHUNK_DELAY_MS = b"x-sim-chunk-delay-ms"
HEADER_CHUNKS = b"x-sim-chunks"
HEADER_WORDS = b"x-sim-words"


_T = TypeVar("_T")


class DirectiveError(ValueError):
    """A directive or ``x-sim-*`` header that cannot be honoured; answered with a 400."""


@dataclass(frozen=True, slots=True)
class Directives:
    """What the caller asked the simulator to do, beyond answering normally."""

    error: int | None = None
    """Answer with this HTTP status in the vendor's error envelope instead of a reply."""
    error_body: int | None = None
    """Answer HTTP 200 whose JSON body is a vendor error object carrying this status."""
    drop_after: int | None = None
    """Cut the connection after this many content deltas (non-stream: mid-body)."""
    midstream_error: int | None = None
    """Send the vendor's in-band error frame after this many content deltas."""
    hang: bool = False
    """Never answer (until the client goes away); for timeout tests."""
    latency_ms: float | None = None
    chunk_delay_ms: float | None = None
    chunks: int | None = None
    words: int | None = None
    """Exact length of the reply text in words (0 = no text)."""
    tool: bool = False
    """Call a tool even when the final turn is a tool result."""
    no_tool: bool = False
    """Answer in text even though tools are offered."""
    parallel: int | None = None
    """Number of tool calls in the turn (tools are used round-robin)."""
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    """Emit a thinking part and report this many reasoning tokens."""
    input: int | None = None
    """Uncached input tokens to report instead of the body-size estimate."""
    stop: str | None = None
    """Finish with the stop-sequence reason, naming this sequence."""
    max_tokens_stop: bool = False
    """Finish with the max-tokens reason."""
    mode: str | None = None
    """Serve only this call mode, like a model that cannot stream (``whole``) or only streams
    (``stream``); a call in the other mode is the vendor's 400."""


NO_DIRECTIVES = Directives()


@dataclass(frozen=True, slots=True)
class Pacing:
    """Timing and size of one answer after config, headers and directives are merged."""

    latency_ms: float
    chunk_delay_ms: float
    chunks: int | None
    words: int | None


def _int_at_least(minimum: int) -> Callable[[str | None], int]:
    def parse(raw: str | None) -> int:
        if raw is None:
            raise DirectiveError("needs a value")
        try:
            value = int(raw)
        except ValueError:
            raise DirectiveError(f"expects an integer, got {raw!r}") from None
        if value < minimum:
            raise DirectiveError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _milliseconds(raw: str | None) -> float:
    if raw is None:
        raise DirectiveError("needs a value")
    try:
        value = float(raw)
    except ValueError:
        raise DirectiveError(f"expects a number of milliseconds, got {raw!r}") from None
    if not value >= 0:
        raise DirectiveError(f"must be >= 0, got {raw}")
    return value


def _http_error_status(raw: str | None) -> int:
    status = _int_at_least(400)(raw)
    if status > 599:
        raise DirectiveError(f"must be an HTTP error status 400-599, got {status}")
    return status


def _optional_error_status(raw: str | None) -> int:
    return 500 if raw is None else _http_error_status(raw)


def _mode(raw: str | None) -> str:
    if raw not in ("whole", "stream"):
        raise DirectiveError(f"must be 'whole' or 'stream', got {raw!r}")
    return raw


def _flag(raw: str | None) -> bool:
    if raw is not None:
        raise DirectiveError("is a flag and takes no value")
    return True


def _text(raw: str | None) -> str:
    if not raw:
        raise DirectiveError("needs a non-empty value")
    return raw


_PARSERS: dict[str, Callable[[str | None], object]] = {
    "error": _http_error_status,
    "error_body": _optional_error_status,
    "drop_after": _int_at_least(0),
    "midstream_error": _int_at_least(0),
    "hang": _flag,
    "latency_ms": _milliseconds,
    "chunk_delay_ms": _milliseconds,
    "chunks": _int_at_least(1),
    "words": _int_at_least(0),
    "tool": _flag,
    "no_tool": _flag,
    "parallel": _int_at_least(1),
    "cache_read": _int_at_least(0),
    "cache_write": _int_at_least(0),
    "reasoning": _int_at_least(0),
    "input": _int_at_least(0),
    "stop": _text,
    "max_tokens_stop": _flag,
    "mode": _mode,
}
"""Every directive key the simulator knows; an unknown key is a 400, never silently ignored."""

DIRECTIVE_KEYS = frozenset(_PARSERS)


def parse_directives(text: str) -> tuple[Directives, str]:
    """Read every ``[[sim:…]]`` block in ``text``; return them merged and the text without them.

    Later blocks override earlier ones key by key. Raises `DirectiveError` for an unknown key
    or a bad value.
    """
    if DIRECTIVE_MARK not in text:
        return NO_DIRECTIVES, text
    values: dict[str, object] = {}
    for match in _DIRECTIVE_RE.finditer(text):
        for item in match.group(1).split(","):
            item = item.strip()
            if not item:
                continue
            key, has_value, raw = item.partition("=")
            key = key.strip()
            parser = _PARSERS.get(key)
            if parser is None:
                known = ", ".join(sorted(_PARSERS))
                raise DirectiveError(f"unknown simulator directive {key!r} (known: {known})")
            try:
                values[key] = parser(raw.strip() if has_value else None)
            except DirectiveError as exc:
                raise DirectiveError(f"simulator directive {key!r} {exc}") from None
    remaining = " ".join(_DIRECTIVE_RE.sub(" ", text).split())
    return Directives(**values), remaining  # type: ignore[arg-type]


def _header_value(
    headers: Mapping[bytes, bytes], name: bytes, parse: Callable[[str | None], _T]
) -> _T | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return parse(raw.decode("latin-1").strip())
    except DirectiveError as exc:
        raise DirectiveError(f"header {name.decode()} {exc}") from None


def resolve_pacing(config: SimulatorConfig, headers: Mapping[bytes, bytes], directives: Directives) -> Pacing:
    """Merge pacing: a directive beats an ``x-sim-*`` header, which beats the config."""
    latency = directives.latency_ms
    if latency is None:
        latency = _header_value(headers, HEADER_LATENCY_MS, _milliseconds)
    chunk_delay = directives.chunk_delay_ms
    if chunk_delay is None:
        chunk_delay = _header_value(headers, HEADER_CHUNK_DELAY_MS, _milliseconds)
    chunks = directives.chunks
    if chunks is None:
        chunks = _header_value(headers, HEADER_CHUNKS, _int_at_least(1))
    words = directives.words
    if words is None:
        words = _header_value(headers, HEADER_WORDS, _int_at_least(0))
    return Pacing(
        latency_ms=config.latency_ms if latency is None else latency,
        chunk_delay_ms=config.chunk_delay_ms if chunk_delay is None else chunk_delay,
        chunks=config.chunks if chunks is None else chunks,
        words=words,
    )
