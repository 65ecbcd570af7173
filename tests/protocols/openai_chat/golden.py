"""Golden wire fixtures of this package (``fixtures/*.json``), hand-written from the OpenAI and
DeepSeek API references and the openai SDK's types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).parent / "fixtures"


def names(prefix: str) -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob(f"{prefix}_*.json"))


def load(name: str) -> dict[str, Any]:
    return orjson.loads((FIXTURES / f"{name}.json").read_bytes())


def sse_of(chunks: list[Any]) -> bytes:
    """A recorded stream: each chunk object as a ``data:`` frame, strings verbatim (``[DONE]``,
    ``: comment``)."""
    out = []
    for chunk in chunks:
        if isinstance(chunk, str):
            out.append((chunk if chunk.startswith(":") else f"data: {chunk}").encode() + b"\n\n")
        else:
            out.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
    return b"".join(out)
