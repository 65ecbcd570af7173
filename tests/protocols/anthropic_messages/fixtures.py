"""Loading the golden wire fixtures of this package (``fixtures/*.json``)."""

from __future__ import annotations

import pathlib
from typing import Any

import orjson

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def names(prefix: str) -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob(f"{prefix}_*.json"))


def load(name: str) -> dict[str, Any]:
    return orjson.loads((FIXTURES / f"{name}.json").read_bytes())
